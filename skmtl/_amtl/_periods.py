"""Per-task activation periods: the optional ``on_check`` hook of the AMTL loop.

``run_amtl(on_check=...)`` lets its caller (the task monitor of the estimators)
change, at every epoch check, how often each task node is activated: period 1
is every time (the default), ``k > 1`` about once for every ``k`` activations
of a full-rate task, 0 never again.  After its reply, a task with a period
``k > 1`` waits, "parked", until ``(k - 1) A`` more updates have been applied,
``A`` being the number of full-rate tasks (so that it is not starved when few
tasks remain, nor held back by tasks that no longer run); on the synchronous
schedule it joins one round in ``k``.  A task that is never
activated again keeps its block of V, so it stays in the trace norm.
The engine only uses this class when a hook is given, so its default path is
untouched.
"""

import numpy as np


class ActivationPeriods:
    """Which tasks may be activated, and when.

    Examples
    --------
    >>> from collections import deque
    >>> from skmtl._amtl._periods import ActivationPeriods
    >>> periods, blocked = ActivationPeriods(3), deque([0, 1, 2])
    >>> periods.set([1, 2, 0], blocked, outstanding={})
    >>> list(blocked), periods.active.tolist()
    ([0, 1], [True, True, False])
    """

    def __init__(self, n_tasks):
        self.n_tasks = int(n_tasks)
        self.periods = np.ones(self.n_tasks, dtype=np.int64)
        self.parked = {}  # task -> version from which it may run again
        self.next_round = np.zeros(self.n_tasks, dtype=np.int64)  # 'sync' only
        self.round = 0

    @property
    def active(self):
        """Tasks that will still be activated (period > 0)."""
        return self.periods > 0

    def set(self, periods, blocked, outstanding):
        """Adopt new periods; drop deactivated tasks from the queues."""
        new = np.asarray(periods, dtype=np.int64).reshape(self.n_tasks)
        if np.any(new < 0):
            raise ValueError("Activation periods must be >= 0 (0: never).")
        for t in range(self.n_tasks):
            if new[t] == 0:
                if t in blocked:
                    blocked.remove(t)
                self.parked.pop(t, None)
            elif self.periods[t] == 0 and not (
                t in outstanding or t in blocked or t in self.parked
            ):
                blocked.append(t)  # reactivated
        self.periods = new

    def requeue(self, t, version, blocked):
        """After task ``t``'s reply: queue it again, park it, or drop it."""
        period = self.periods[t]
        if period == 1:
            blocked.append(t)
        elif period > 1:
            full_rate = max(int(np.sum(self.periods == 1)), 1)
            self.parked[t] = version + (int(period) - 1) * full_rate

    def wake(self, version, blocked, outstanding):
        """Queue the parked tasks that are due; False when nothing can run.

        When no task is running or queued, the earliest parked one is woken at
        once: V only advances through updates, so waiting would never end.
        """
        due = sorted((v, t) for t, v in self.parked.items() if v <= version)
        if not due and not outstanding and not blocked and self.parked:
            due = [min((v, t) for t, v in self.parked.items())]
        for _, t in due:
            del self.parked[t]
            blocked.append(t)
        return bool(outstanding or blocked)

    def round_tasks(self):
        """The tasks of the next synchronous round (empty: none is active)."""
        active = np.flatnonzero(self.active)
        if active.size == 0:
            return []
        r = max(self.round, int(self.next_round[active].min()))
        due = active[self.next_round[active] <= r]
        self.next_round[due] = r + self.periods[due]
        self.round = r + 1
        return due.tolist()

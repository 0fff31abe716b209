"""When tasks are activated and their replies applied: the two schedules.

``'async'`` (:class:`AsyncSchedule`) is AMTL: whenever a task's reply arrives,
the central node applies its KM update and the task is activated again,
without waiting for the others, under back-pressure: a task is reactivated
only when no outstanding read could end up more than ``max_staleness``
versions old, even if every other outstanding task wrote first; otherwise it
waits (blocked).  ``'sync'`` (:class:`SyncSchedule`) is the paper's SMTL
baseline: each round activates every task on the same prox, waits for all
replies and applies them in task order (with relaxation 1: proximal gradient).

Both own the per-task activation periods of the ``on_check`` hook
(:class:`~skmtl._amtl._periods.ActivationPeriods`) and the KM update rule
(relaxation, the paper's dynamic step), and report each applied update to the
checker.
"""

from collections import deque

from ._periods import ActivationPeriods


class Schedule:
    """What both schedules share: activation, the KM update, the periods.

    Parameters
    ----------
    cfg : AMTLConfig
        Relaxation, dynamic step, staleness cap.
    central : CentralNode
        Where the updates are written.
    backend : Backend
        Where the task steps run.
    record : callable(t, sq, staleness, round_trip, relaxation)
        Told of every applied update (:meth:`Checker.record`).
    delays : callable(t) -> delay
        The delay of each activation (:class:`~skmtl._amtl._delays.DelaySource`).
    periods : bool
        Whether activation periods may be set (an ``on_check`` hook is given).
    """

    def __init__(self, cfg, central, backend, record, delays, periods=False):
        T = central.V.shape[1]
        self.n_tasks = T
        self.central, self.backend = central, backend
        self.record, self.delays = record, delays
        self.relaxation = cfg.relaxation
        self.max_staleness = cfg.max_staleness
        self.dynamic = cfg.dynamic_step
        self.dyn_state = self.dynamic.new_state(T) if self.dynamic else None
        self.periods = ActivationPeriods(T) if periods else None
        self.outstanding = {}  # task -> lower bound of the version it reads
        self.blocked = deque()

    @property
    def active(self):
        """Mask of the tasks still activated (None: every task, always)."""
        return None if self.periods is None else self.periods.active

    def set_periods(self, periods):
        self.periods.set(periods, self.blocked, self.outstanding)

    def activate(self, t):
        self.outstanding[t] = self.central.prox_version
        self.backend.activate(t, self.delays(t))

    def apply(self, reply, staleness):
        """The KM update of the reply's task, with its relaxation."""
        t, rate = reply.task, self.relaxation
        if self.dynamic:
            measure = (
                staleness if self.dynamic.measure == "staleness" else reply.round_trip
            )
            self.dynamic.record(self.dyn_state, t, measure)
            rate = self.dynamic.relaxation(self.dyn_state, t, self.relaxation)
        sq = self.central.write(t, reply.z, reply.zb, rate)
        self.record(t, sq, staleness, reply.round_trip, rate)


class AsyncSchedule(Schedule):
    """AMTL: apply each reply when it arrives; back-pressure caps staleness."""

    def start(self):
        self.blocked.extend(range(self.n_tasks))
        self._activate_ready()

    def _may_activate(self):
        central = self.central
        oldest = min(self.outstanding.values(), default=central.prox_version)
        oldest = min(oldest, central.prox_version)
        return central.version + len(self.outstanding) <= oldest + self.max_staleness

    def _activate_ready(self):
        while self.blocked and self._may_activate():
            self.activate(self.blocked.popleft())

    def receive(self, replies):
        """Apply the replies; True (the central node changed)."""
        for reply in replies:
            self.apply(reply, self.central.version - reply.version)
            del self.outstanding[reply.task]
            if self.periods is None:
                self.blocked.append(reply.task)
            else:
                self.periods.requeue(reply.task, self.central.version, self.blocked)
        return True

    def resume(self):
        """Activate what back-pressure allows; False when no task is left."""
        if self.periods is not None and not self.periods.wake(
            self.central.version, self.blocked, self.outstanding
        ):
            return False
        self._activate_ready()
        return True


class SyncSchedule(Schedule):
    """SMTL: rounds of every (active) task on the same prox."""

    def start(self):
        self.round_replies = []
        self.round_size = self._start_round()

    def _start_round(self):
        periods = self.periods
        tasks = range(self.n_tasks) if periods is None else periods.round_tasks()
        for t in tasks:
            self.activate(t)
        return len(tasks)

    def receive(self, replies):
        """Collect replies; apply the round once complete (then True)."""
        self.round_replies.extend(replies)
        if len(self.round_replies) < self.round_size:
            return False
        base = self.central.version
        for reply in sorted(self.round_replies, key=lambda r: r.task):
            self.apply(reply, base - reply.version)
        self.round_replies = []
        self.outstanding.clear()
        return True

    def resume(self):
        """Start the next round; False when no task is active."""
        self.round_size = self._start_round()
        return self.round_size > 0


def make_schedule(cfg, central, backend, record, delays, periods=False):
    cls = SyncSchedule if cfg.synchronous else AsyncSchedule
    return cls(cfg, central, backend, record, delays, periods)

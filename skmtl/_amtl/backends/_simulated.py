"""Simulated-clock backend: a seeded discrete-event simulation in virtual time.

Each activation of task ``t`` reads the prox when it starts (virtual time
``now``), and its reply arrives at ``now + compute_time[t] + delay``.  Replies
are delivered in order of arrival (ties: in order of activation), so the
asynchronous algorithm, its staleness and its timeline are reproduced exactly
and deterministically, much faster than real time.  Central-node work takes no
virtual time.  ``max_time`` is on the virtual clock: a reply that would
arrive after it is not applied.
"""

import heapq

import numpy as np

from ._base import Backend, Reply


class SimulatedBackend(Backend):
    """Discrete-event simulation of the task nodes.

    Parameters
    ----------
    compute_time : float or array-like of shape (n_tasks,), default=0.0
        Virtual seconds that one forward step of each task takes.
    """

    name = "simulated"
    deterministic = True

    def __init__(self, compute_time=0.0):
        super().__init__()
        self.compute_time = compute_time

    def start(self, datafit, step, read):
        super().start(datafit, step, read)
        ct = np.broadcast_to(
            np.asarray(self.compute_time, dtype=float), (datafit.n_tasks,)
        )
        if np.any(ct < 0) or not np.all(np.isfinite(ct)):
            raise ValueError(
                f"compute_time must be finite and >= 0; got {self.compute_time}."
            )
        self._compute = ct
        self._clock = 0.0
        self._heap = []
        self._seq = 0

    def activate(self, task, delay):
        read = self.read(task)
        z, zb = self.step(self.datafit, task, read)
        duration = self._compute[task] + delay
        reply = Reply(task, z, zb, read.version, duration)
        heapq.heappush(self._heap, (self._clock + duration, self._seq, reply))
        self._seq += 1

    def next_replies(self, timeout=None):
        if timeout is not None and self._heap[0][0] > self._clock + timeout:
            self._clock += max(timeout, 0.0)  # virtual time runs out first
            return []
        arrival, _, reply = heapq.heappop(self._heap)
        self._clock = arrival
        return [reply]

    def now(self):
        return self._clock

    def close(self):
        self._heap = []
        super().close()

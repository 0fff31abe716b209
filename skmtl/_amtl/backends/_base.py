"""The backend interface: where a task's forward step runs, when its answer arrives.

The central loop (:func:`skmtl._amtl._engine.run_amtl`) is the same for every
backend.  It calls :meth:`Backend.activate` to ask task ``t`` for one forward
step (with the network delay sampled for that round trip) and
:meth:`Backend.next_replies` to wait for answers, at most for the time left
before ``max_time`` (an empty list means that time is up).  A backend reads the task's
prox column through the ``read`` callable it was started with, at the moment
its task node starts the activation, and runs the task step (forward or
Douglas-Rachford) where the task's data live.  Lifecycle (as joblib's
backends): ``start`` creates workers lazily, ``close`` always runs (in a
``finally``) and tears everything down.
"""

import heapq
import inspect
import itertools
import time
from abc import ABC, abstractmethod
from numbers import Real
from typing import NamedTuple

import numpy as np


class Reply(NamedTuple):
    """A task node's answer: the forward step and where it came from."""

    task: int
    z: np.ndarray
    zb: float | None
    version: int  # version of V that the read prox column was computed from
    round_trip: float  # seconds (virtual for the simulated backend)


class DelayedReplies:
    """Replies held back until their injected network delay has passed.

    A heap ordered by due time (ties: in order of arrival), shared by the
    backends whose replies arrive in real time (threading, Dask).
    """

    def __init__(self):
        self._heap = []
        self._seq = itertools.count()

    def __len__(self):
        return len(self._heap)

    def push(self, ready_at, reply):
        heapq.heappush(self._heap, (ready_at, next(self._seq), reply))

    def pop_due(self, now):
        """Every reply due at ``now``, in order."""
        due = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        return due

    def next_due(self):
        """When the next held reply is due (None: none is held)."""
        return self._heap[0][0] if self._heap else None


def wait_seconds(now, *deadlines, poll=None):
    """Seconds to wait until the earliest of ``deadlines`` (None ignored),
    at most ``poll``; 0 when one has passed."""
    times = [t for t in deadlines if t is not None]
    if poll is not None:
        times.append(now + poll)
    return max(min(times) - now, 0.0) if times else None


def check_task_timeout(task_timeout):
    """``task_timeout`` as a float, or None; a clear error otherwise."""
    if task_timeout is None:
        return None
    if (
        isinstance(task_timeout, bool)
        or not isinstance(task_timeout, Real)
        or not task_timeout > 0
        or task_timeout != task_timeout
    ):
        raise ValueError(
            f"task_timeout must be None or a number of seconds > 0; got "
            f"{task_timeout!r}."
        )
    return float(task_timeout)


class Backend(ABC):
    """Base class of the AMTL backends.

    Attributes
    ----------
    deterministic : bool
        Whether a run is reproducible bit for bit for a fixed random state.
    events : list of dict
        Notable events during the run (e.g. a worker lost), for diagnostics.
    task_timeout : float or None
        Seconds a task step may take before the backend gives up on it
        (threads: an error naming the task; Dask: the node is re-created
        elsewhere), and that a user's delay callable may take to return.
        None waits forever.  :func:`make_backend` sets it from the
        estimators' ``task_timeout``.
    samples_delays : bool
        Whether :meth:`activate` accepts a delay to be drawn by the task node
        (a callable returning seconds) rather than a number: the threading
        backend draws it in its worker thread, never in the central one.
    """

    name = None
    deterministic = False
    task_timeout = 60.0
    samples_delays = False

    def __init__(self):
        self.events = []
        self._started = False

    def __repr__(self):
        # The constructor parameters (stored under their own names), as
        # scikit-learn prints estimators: an estimator holding a backend gets a
        # stable repr (and stable test ids), without a memory address.
        params = inspect.signature(type(self).__init__).parameters
        args = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in params
            if name != "self" and hasattr(self, name)
        )
        return f"{type(self).__name__}({args})"

    def start(self, datafit, step, read):
        """Prepare the task nodes; called once per fit.

        ``step`` is a :class:`~skmtl._amtl._nodes.TaskStep`: what a task node
        computes from a read, ``step(datafit, t, read) -> (z, zb)``.
        ``read(t)`` returns the task's :class:`~skmtl._amtl._nodes.Read`.
        """
        self.datafit = datafit
        self.step = step
        self.read = read
        self._started = True

    @abstractmethod
    def activate(self, task, delay):
        """Ask ``task`` for one forward step; its reply is delayed ``delay`` s.

        ``delay`` is a number of seconds, or (only when ``samples_delays``)
        a callable drawing it, called where the task step runs.
        """

    def activate_many(self, tasks, delays):
        """:meth:`activate` each task in turn with its delay."""
        for task, delay in zip(tasks, delays, strict=True):
            self.activate(task, delay)

    @abstractmethod
    def next_replies(self, timeout=None):
        """Wait for replies and return every one available (in order).

        Waits at most ``timeout`` seconds on the backend's clock (None: until
        a reply comes) and returns an empty list when that time has passed
        with no reply: the engine passes the time left before ``max_time``,
        so a fit stops on time even while every task waits for a straggler.
        """

    def now(self):
        """The backend's clock in seconds."""
        return time.perf_counter()

    def close(self):
        """Stop every worker; must be safe to call more than once.

        Also drops the references to the fit (data-fit, task step, central
        node), so that a closed backend holds no training data and pickles.
        """
        self._started = False
        for name in ("datafit", "step", "read"):
            self.__dict__.pop(name, None)

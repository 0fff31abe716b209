"""The backend interface: where a task's forward step runs, when its answer arrives.

The central loop (:func:`skmtl._amtl._engine.run_amtl`) is the same for every
backend.  It calls :meth:`Backend.activate` to ask task ``t`` for one forward
step (with the network delay sampled for that round trip) and
:meth:`Backend.next_replies` to wait for answers.  A backend reads the task's
prox column through the ``read`` callable it was started with, at the moment
its task node starts the activation, and runs the task step (forward or
Douglas-Rachford) where the task's data live.  Lifecycle (as joblib's
backends): ``start`` creates workers lazily, ``close`` always runs (in a
``finally``) and tears everything down.
"""

import inspect
import time
from abc import ABC, abstractmethod
from typing import NamedTuple

import numpy as np


class Reply(NamedTuple):
    """A task node's answer: the forward step and where it came from."""

    task: int
    z: np.ndarray
    zb: float | None
    version: int  # version of V that the read prox column was computed from
    round_trip: float  # seconds (virtual for the simulated backend)


class Backend(ABC):
    """Base class of the AMTL backends.

    Attributes
    ----------
    deterministic : bool
        Whether a run is reproducible bit for bit for a fixed random state.
    events : list of dict
        Notable events during the run (e.g. a worker lost), for diagnostics.
    """

    name = None
    deterministic = False

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

        ``step`` is a :class:`~skmtl._amtl._update.TaskStep`: what a task node
        computes from a read, ``step(datafit, t, read) -> (z, zb)``.
        ``read(t)`` returns the task's :class:`~skmtl._amtl._central.Read`.
        """
        self.datafit = datafit
        self.step = step
        self.read = read
        self._started = True

    @abstractmethod
    def activate(self, task, delay):
        """Ask ``task`` for one forward step; its reply is delayed ``delay`` s."""

    @abstractmethod
    def next_replies(self):
        """Block until at least one reply is available and return them all."""

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

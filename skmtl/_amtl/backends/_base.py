"""The backend interface: where a task's forward step runs, when its answer arrives.

The central loop (:func:`skmtl._amtl._engine.run_amtl`) is the same for every
backend.  It calls :meth:`Backend.activate` to ask task ``t`` for one forward
step (with the network delay sampled for that round trip) and
:meth:`Backend.next_replies` to wait for answers.  A backend reads the task's
prox column through the ``read`` callable it was started with, at the moment
its task node starts the activation, and runs the forward step where the task's
data live.  Lifecycle (as joblib's backends): ``start`` creates workers lazily,
``close`` always runs (in a ``finally``) and tears everything down.
"""

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

    def start(self, datafit, step_size, read):
        """Prepare the task nodes for the data-fit; called once per fit."""
        self.datafit = datafit
        self.step_size = step_size
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
        """Stop every worker; must be safe to call more than once."""
        self._started = False

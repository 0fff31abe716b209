"""Network delay models for the task nodes' round trips.

A delay model returns, for one activation of task ``t``, the extra time in
seconds that the round trip to the central node takes.  The engine samples it
once per activation, so AMTL and SMTL see the same model on every backend:
the threading backend holds the reply back for that long, the simulated
backend advances its virtual clock, the sequential backend sleeps.
:class:`DelaySource` decides where a draw runs, so that a user's callable can
never freeze the central loop.
"""

import functools
import queue
import threading
from numbers import Real

import numpy as np


class DelayModel:
    """Offset plus a random jitter, per task.

    ``delay_t = offset_t + jitter``, with the jitter drawn from the chosen
    distribution (its mean is ``scale``, default: the task's offset, as in the
    paper's setting where the distribution is not stated).

    Parameters
    ----------
    offset : float or array-like of shape (n_tasks,)
        Fixed part in seconds; per-task offsets model stragglers.
    jitter : {'exponential', 'uniform', 'lognormal', None}, default='exponential'
        Distribution of the random part.
    scale : float or array-like, default=None
        Mean of the jitter; None means equal to the offset.
    sigma : float, default=0.5
        Shape of the lognormal jitter.

    Examples
    --------
    >>> model = DelayModel(offset=[0.005, 0.05], jitter="uniform")
    >>> rng = np.random.RandomState(0)
    >>> d = [model.sample(1, rng) for _ in range(1000)]
    >>> print(0.05 <= min(d), max(d) <= 0.15)
    True True
    """

    def __init__(self, offset=0.0, jitter="exponential", scale=None, sigma=0.5):
        if jitter not in ("exponential", "uniform", "lognormal", None):
            raise ValueError(
                "jitter must be 'exponential', 'uniform', 'lognormal' or None; "
                f"got {jitter!r}."
            )
        self.offset = offset
        self.jitter = jitter
        self.scale = scale
        self.sigma = sigma
        off = np.atleast_1d(np.asarray(offset, dtype=float))
        if np.any(off < 0) or not np.all(np.isfinite(off)):
            raise ValueError(f"offset must be finite and >= 0; got {offset}.")
        if scale is not None:
            sc = np.atleast_1d(np.asarray(scale, dtype=float))
            if np.any(sc < 0) or not np.all(np.isfinite(sc)):
                raise ValueError(f"scale must be None or finite and >= 0; got {scale}.")
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be finite and > 0; got {sigma}.")

    def __repr__(self):
        return (
            f"DelayModel(offset={self.offset!r}, jitter={self.jitter!r}, "
            f"scale={self.scale!r})"
        )

    def check(self, n_tasks):
        """Validate the per-task shapes against ``n_tasks``."""
        for name in ("offset", "scale"):
            val = getattr(self, name)
            if val is not None and np.ndim(val) > 0 and np.size(val) != n_tasks:
                raise ValueError(
                    f"DelayModel {name} has {np.size(val)} entries for {n_tasks} tasks."
                )
        return self

    @staticmethod
    def _pick(val, t):
        return float(val) if np.ndim(val) == 0 else float(np.asarray(val)[t])

    def sample(self, t, rng):
        offset = self._pick(self.offset, t)
        if self.jitter is None:
            return offset
        scale = offset if self.scale is None else self._pick(self.scale, t)
        if scale <= 0:
            return offset
        if self.jitter == "exponential":
            return offset + rng.exponential(scale)
        if self.jitter == "uniform":
            return offset + rng.uniform(0.0, 2.0 * scale)
        # lognormal with the given mean
        mu = np.log(scale) - 0.5 * self.sigma**2
        return offset + rng.lognormal(mu, self.sigma)


class CallableDelay:
    """Wrap a user callable ``delay(t, rng) -> seconds``."""

    def __init__(self, func):
        self.func = func

    def check(self, n_tasks):
        return self

    def sample(self, t, rng):
        value = float(self.func(t, rng))
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"The delay callable returned {value} for task {t}.")
        return value


class NoDelay:
    """No extra delay."""

    def check(self, n_tasks):
        return self

    def sample(self, t, rng):
        return 0.0


def make_delay_model(delay, n_tasks):
    """Normalize the estimators' ``delay`` parameter to a delay model."""
    if delay is None:
        return NoDelay()
    if isinstance(delay, Real) and not isinstance(delay, bool):
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds; got {delay}.")
        return DelayModel(offset=float(delay), jitter=None).check(n_tasks)
    if hasattr(delay, "sample"):
        return delay.check(n_tasks) if hasattr(delay, "check") else delay
    if callable(delay):
        return CallableDelay(delay)
    raise ValueError(
        "delay must be None, a number of seconds, a DelayModel, an object with a "
        f"sample(t, rng) method, or a callable(t, rng); got {delay!r}."
    )


class _Guard(threading.Thread):
    """A helper thread that runs a user's delay callable for the central loop."""

    def __init__(self):
        super().__init__(name="skmtl-delay-sampler", daemon=True)
        self.requests = queue.SimpleQueue()
        self.answers = queue.SimpleQueue()

    def run(self):
        while True:
            item = self.requests.get()
            if item is None:
                return
            func, args = item
            try:
                self.answers.put((True, func(*args)))
            except BaseException as exc:  # re-raised in the central loop
                self.answers.put((False, exc))


class DelaySource:
    """Draws the delay of each activation without letting user code block the
    central loop.

    The built-in models (:class:`DelayModel`, :class:`NoDelay`) draw in the
    central loop, in activation order (reproducible: the sequential and
    simulated backends stay bit for bit deterministic).  A user's callable or
    model is drawn where it cannot freeze the central node: by the task node
    itself on backends that support it (threading: in the worker thread, under
    the step's ``task_timeout``), otherwise by a helper thread that the central
    loop waits for at most ``backend.task_timeout`` seconds before failing
    with an error naming the task.  A context manager: the helper thread stops
    on exit.
    """

    def __init__(self, model, rng, backend):
        self.model = model
        self.rng = rng
        self.trusted = type(model) in (DelayModel, NoDelay)
        self.in_worker = bool(getattr(backend, "samples_delays", False))
        self.timeout = getattr(backend, "task_timeout", None)
        self._guard = None
        self._stuck = []  # guards left in a callable that timed out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        guard, stuck = self._guard, self._stuck
        self._guard, self._stuck = None, []
        for g in stuck:  # each exits when its blocked callable returns
            g.requests.put(None)
        if guard is not None:
            guard.requests.put(None)
            guard.join(timeout=1.0)
        return False

    def __call__(self, t):
        """The delay of task ``t``'s next activation (seconds, or a callable)."""
        if self.trusted:
            return self.model.sample(t, self.rng)
        if self.in_worker:
            return functools.partial(self.model.sample, t, self.rng)
        if self._guard is None:
            self._guard = _Guard()
            self._guard.start()
        self._guard.requests.put((self.model.sample, (t, self.rng)))
        try:
            ok, value = self._guard.answers.get(timeout=self.timeout)
        except queue.Empty:
            self._stuck.append(self._guard)  # stuck in user code
            self._guard = None
            raise TimeoutError(
                f"The delay callable did not return within task_timeout="
                f"{self.timeout} s for task {t}; the fit is stopped."
            ) from None
        if not ok:
            raise value
        return value

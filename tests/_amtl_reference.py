"""Shared references for the AMTL engine tests.

Small problems with their centralized optima (cached), an independent numpy
singular value thresholding, the objective, the backend configurations
tested, and data-fits and delay models that fail on purpose.
"""

import threading
from collections import Counter

import numpy as np

from skmtl._amtl import (
    DelayModel,
    SequentialBackend,
    SimulatedBackend,
    ThreadingBackend,
)
from skmtl.datafits._losses import LogisticLoss, SquaredLoss, TaskBlocks
from skmtl.penalties._trace_norm import trace_norm
from skmtl.solvers._fista import solve

# A failure that hangs instead of propagating fails fast (pytest-timeout).
HANG_TIMEOUT = 60


# --------------------------------------------------------------------------- #
# Problems and independent numpy references
# --------------------------------------------------------------------------- #
class Problem:
    """Synthetic per-task data, its data-fit and an independent numpy model."""

    def __init__(self, loss, fit_intercept, alpha, T=5, d=8, seed=0, gram=True):
        rng = np.random.RandomState(seed)
        self.gram = gram
        W = rng.randn(d, 2) @ rng.randn(2, T)
        if loss == "logistic":
            W /= 3.0
        self.Xs, self.ys = [], []
        for t in range(T):
            n = 30 + 5 * t  # tasks of different sizes
            X = rng.randn(n, d) + 0.3
            m = X @ W[:, t] + 0.5
            if loss == "squared":
                y = m + 0.1 * rng.randn(n)
            else:
                y = np.where(m + rng.logistic(size=n) > 0, 1.0, -1.0)
            self.Xs.append(X)
            self.ys.append(y)
        self.loss, self.fit_intercept, self.alpha = loss, fit_intercept, alpha
        self.T, self.d = T, d

    def datafit(self):
        ns = np.array([len(y) for y in self.ys], dtype=float)
        blocks = TaskBlocks(
            list(self.Xs), list(self.ys), [np.ones(len(y)) for y in self.ys], ns
        )
        if self.loss == "squared":
            use_gram = "auto" if self.gram else False
            return SquaredLoss(
                blocks, fit_intercept=self.fit_intercept, use_gram=use_gram
            )
        return LogisticLoss(blocks, fit_intercept=self.fit_intercept)

    # -- numpy, independent of skmtl ----------------------------------------- #
    def _design(self, t):
        X, y = self.Xs[t], self.ys[t]
        if self.loss == "squared" and self.fit_intercept:
            return X - X.mean(axis=0), y - y.mean()
        return X, y

    def lipschitz(self):
        L = []
        for t in range(self.T):
            X, _ = self._design(t)
            n = X.shape[0]
            if self.loss == "squared":
                L.append(np.linalg.norm(X, 2) ** 2 / n)
            else:
                Xa = np.column_stack([X, np.ones(n)]) if self.fit_intercept else X
                L.append(np.linalg.norm(Xa, 2) ** 2 / (4 * n))
        return max(L)

    def gradient(self, W, b):
        """Gradient of sum_t l_t at (W, b): (G, gb)."""
        G = np.empty_like(W)
        gb = np.zeros(self.T) if b is not None else None
        for t in range(self.T):
            X, y = self._design(t)
            n = X.shape[0]
            if self.loss == "squared":
                G[:, t] = X.T @ (X @ W[:, t] - y) / n
            else:
                ym = y * (X @ W[:, t] + (0.0 if b is None else b[t]))
                u = -y * np.exp(-np.logaddexp(0.0, ym)) / n  # -y sigmoid(-ym) / n
                G[:, t] = X.T @ u
                if gb is not None:
                    gb[t] = u.sum()
        return G, gb

    def initial_intercept(self):
        if self.loss != "logistic" or not self.fit_intercept:
            return None
        p = np.array([np.mean(y > 0) for y in self.ys])
        return np.log(p / (1 - p))


def np_prox(V, theta):
    """Singular value thresholding with numpy.linalg.svd."""
    U, s, Qt = np.linalg.svd(V, full_matrices=False)
    return (U * np.maximum(s - theta, 0.0)) @ Qt


PROBLEMS = {
    "squared": dict(loss="squared", fit_intercept=True, alpha=0.1),
    "squared-no-intercept": dict(loss="squared", fit_intercept=False, alpha=0.1),
    # Per-task gradients from the data instead of the Gram matrices.
    "squared-data-form": dict(
        loss="squared", fit_intercept=True, alpha=0.1, gram=False
    ),
    "logistic": dict(loss="logistic", fit_intercept=True, alpha=0.1),
}

_REFERENCES = {}


def reference(name):
    """(problem, centralized optimum W, b, objective), cached per module."""
    if name not in _REFERENCES:
        prob = Problem(**PROBLEMS[name])
        df = prob.datafit()
        ref = solve(df, prob.alpha, tol=1e-10, max_iter=100_000)
        assert ref.converged
        F = objective(df, prob.alpha, ref.W, ref.b)
        _REFERENCES[name] = (prob, ref.W, ref.b, F)
    return _REFERENCES[name]


def objective(datafit, alpha, W, b):
    return datafit.value(W, b) + alpha * trace_norm(W)


# Straggler settings: the last task is ten times slower than the others.
STRAGGLER_OFFSETS = [1.0, 1.0, 1.0, 1.0, 10.0]


def backend_config(name):
    """(backend, delay model) for the backend configurations tested."""
    if name == "sequential":
        return SequentialBackend(), None
    if name == "threading":
        return ThreadingBackend(n_jobs=2), None
    if name == "simulated":
        return SimulatedBackend(), None
    if name == "simulated-delays":
        return (
            SimulatedBackend(compute_time=[0.1, 0.2, 0.1, 0.3, 0.5]),
            DelayModel(offset=STRAGGLER_OFFSETS, jitter="exponential", scale=0.5),
        )
    raise AssertionError(name)


class WorkerError(RuntimeError):
    pass


class FailingDatafit:
    """Wrap a data-fit; ``task_gradient`` raises for ``task`` on call ``on_call``."""

    def __init__(self, datafit, task=3, on_call=5, exc=WorkerError):
        self._datafit = datafit
        self.task, self.on_call, self.exc = task, on_call, exc
        self.calls = Counter()
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._datafit, name)

    def task_gradient(self, t, w, bt=None):
        with self._lock:
            self.calls[t] += 1
            n = self.calls[t]
        if t == self.task and n == self.on_call:
            raise self.exc(f"task {t} failed on call {n}")
        return self._datafit.task_gradient(t, w, bt)


class InterruptingDelay:
    """A delay model whose ``sample`` (run in the caller's thread) raises
    KeyboardInterrupt on call ``after``."""

    def __init__(self, after, delay=1e-3):
        self.after, self.delay, self.calls = after, delay, 0

    def sample(self, t, rng):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return self.delay


class SlowDatafit(FailingDatafit):
    """``task_gradient`` of task 0 sleeps ``seconds`` on its second call."""

    def __init__(self, datafit, seconds):
        super().__init__(datafit, task=-1)
        self.seconds = seconds

    def task_gradient(self, t, w, bt=None):
        with self._lock:
            self.calls[t] += 1
            n = self.calls[t]
        if t == 0 and n == 2:
            threading.Event().wait(self.seconds)
        return self._datafit.task_gradient(t, w, bt)

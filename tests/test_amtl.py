"""The AMTL engine and its backends, through ``run_amtl`` and the data-fits.

Every backend (sequential, threading, simulated with and without delays) and
both schedules must reach the centralized optimum; the staleness cap must hold;
the deterministic backends must be reproducible bit for bit; SMTL with
relaxation 1 must be exactly proximal gradient descent (checked against an
independent numpy implementation); failures and interrupts must propagate and
leave no thread behind.
"""

import threading
from collections import Counter

import numpy as np
import pytest

from skmtl._amtl import (
    CallableDelay,
    DelayModel,
    DynamicStep,
    NoDelay,
    SequentialBackend,
    SimulatedBackend,
    ThreadingBackend,
    arock_relaxation_bound,
    make_backend,
    make_delay_model,
    run_amtl,
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


def _backend(name):
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


# --------------------------------------------------------------------------- #
# Convergence to the centralized optimum
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize(
    "backend_name", ["sequential", "threading", "simulated", "simulated-delays"]
)
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("splitting", ["forward-backward", "douglas-rachford"])
def test_reaches_centralized_optimum(problem, backend_name, schedule, splitting):
    """Both task steps (gradient, exact per-task prox) reach the same optimum."""
    prob, W_ref, b_ref, F_ref = reference(problem)
    df = prob.datafit()
    backend, delay = _backend(backend_name)
    res = run_amtl(
        df,
        prob.alpha,
        backend,
        schedule=schedule,
        splitting=splitting,
        delay_model=delay,
        tol=1e-8,
        max_epochs=20_000,
        random_state=0,
    )
    assert res.stop_reason == "converged" and res.converged
    assert res.splitting == splitting
    assert np.all(res.task_stats["staleness_max"] <= res.max_staleness)
    F = objective(df, prob.alpha, res.W, res.b)
    assert abs(F - F_ref) <= 1e-6 * abs(F_ref)
    np.testing.assert_allclose(res.W, W_ref, atol=1e-5 * np.abs(W_ref).max())
    if b_ref is not None:
        np.testing.assert_allclose(res.b, b_ref, atol=1e-5)
    else:
        assert res.b is None
    # The history: one row per epoch, objective of the prox at that time.
    h = res.history
    assert h["n_updates"][-1] == res.n_updates == res.task_stats["n_updates"].sum()
    assert np.all(np.diff(h["n_updates"]) > 0) and np.all(np.diff(h["time"]) >= 0)
    assert abs(h["objective"][-1] - F) <= 1e-6 * abs(F)
    assert h["residual"][-1] <= 1e-8 and res.residual <= 1e-8
    if schedule == "sync":
        assert np.all(res.task_stats["n_updates"] == res.n_epochs)


def test_douglas_rachford_accepts_any_positive_step():
    prob, *_ = reference("squared")
    df = prob.datafit()
    L = float(np.max(df.lipschitz))
    res = run_amtl(
        df,
        prob.alpha,
        SequentialBackend(),
        splitting="douglas-rachford",
        step_size=10.0 / L,
        max_epochs=2,
        tol=0.0,
    )
    assert res.step_size == 10.0 / L
    with pytest.raises(ValueError, match="step_size"):
        run_amtl(
            df,
            prob.alpha,
            SequentialBackend(),
            splitting="douglas-rachford",
            step_size=0.0,
        )
    with pytest.raises(ValueError, match="splitting"):
        run_amtl(df, prob.alpha, SequentialBackend(), splitting="admm")


@pytest.fixture(scope="module")
def school_problem(school_tasks):
    """Ten School tasks, features standardized over them, squared loss."""
    Xs, ys = school_tasks
    idx = range(0, len(Xs), 14)
    X_all = np.vstack([Xs[t] for t in idx])
    mu, sd = X_all.mean(axis=0), X_all.std(axis=0)
    sd[sd == 0] = 1.0
    bx = [(Xs[t] - mu) / sd for t in idx]
    by = [ys[t] for t in idx]
    ns = np.array([len(y) for y in by], dtype=float)
    blocks = TaskBlocks(bx, by, [np.ones(len(y)) for y in by], ns)
    df = SquaredLoss(blocks)
    alpha = 5.0
    ref = solve(df, alpha, tol=1e-10, max_iter=100_000)
    assert ref.converged
    return df, alpha, ref.W, objective(df, alpha, ref.W, None)


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("backend_name", ["sequential", "threading", "simulated"])
def test_school_reaches_centralized_optimum(school_problem, backend_name, schedule):
    df, alpha, W_ref, F_ref = school_problem
    backend, _ = _backend(backend_name)
    delay = None
    if backend_name == "simulated":
        delay = DelayModel(offset=np.linspace(1.0, 3.0, df.n_tasks))
    res = run_amtl(
        df,
        alpha,
        backend,
        schedule=schedule,
        delay_model=delay,
        tol=1e-8,
        max_epochs=20_000,
        random_state=0,
    )
    assert res.stop_reason == "converged"
    # The solution is not trivial: several singular values survive.
    assert np.sum(np.linalg.svd(W_ref, compute_uv=False) > 1e-8) >= 2
    F = objective(df, alpha, res.W, None)
    assert abs(F - F_ref) <= 1e-6 * abs(F_ref)


# --------------------------------------------------------------------------- #
# SMTL is proximal gradient; sequential AMTL is cyclic block KM
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_rounds", [1, 2, 7])
@pytest.mark.parametrize("backend_name", ["sequential", "threading", "simulated"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_smtl_is_proximal_gradient(problem, backend_name, n_rounds):
    prob = Problem(**PROBLEMS[problem])
    eta = 0.9 / prob.lipschitz()
    theta = eta * prob.alpha
    W, b = np.zeros((prob.d, prob.T)), prob.initial_intercept()
    for _ in range(n_rounds):
        G, gb = prob.gradient(W, b)
        W = np_prox(W - eta * G, theta)
        if b is not None:
            b = b - eta * gb
    backend, _ = _backend(backend_name)
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        schedule="sync",
        step_size=eta,
        relaxation=1.0,
        max_epochs=n_rounds,
        tol=0.0,
    )
    assert res.stop_reason == "max_iter" and res.n_epochs == n_rounds
    assert res.step_size == eta and res.relaxation == 1.0
    assert len(res.history) == n_rounds
    assert np.linalg.norm(res.W - W) <= 1e-12 * np.linalg.norm(W)
    if b is None:
        assert res.b is None
    else:
        np.testing.assert_allclose(res.b, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("relaxation", [1.0, 0.5])
@pytest.mark.parametrize("problem", ["squared", "logistic"])
def test_sequential_amtl_is_cyclic_block_km(problem, relaxation):
    """Each update reads the fresh prox; the KM step is anchored at v_t."""
    prob = Problem(**PROBLEMS[problem])
    eta = 1.0 / prob.lipschitz()
    theta = eta * prob.alpha
    V, b = np.zeros((prob.d, prob.T)), prob.initial_intercept()
    n_epochs = 4
    for _ in range(n_epochs):
        for t in range(prob.T):
            P = np_prox(V, theta)
            G, gb = prob.gradient(P, b)  # only column t (and b_t) is used
            V[:, t] += relaxation * (P[:, t] - eta * G[:, t] - V[:, t])
            if b is not None:
                b[t] += relaxation * (b[t] - eta * gb[t] - b[t])
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SequentialBackend(),
        step_size=eta,
        relaxation=relaxation,
        max_epochs=n_epochs,
        tol=0.0,
    )
    W = np_prox(V, theta)
    assert np.linalg.norm(res.W - W) <= 1e-10 * np.linalg.norm(W)
    if b is not None:
        np.testing.assert_allclose(res.b, b, rtol=1e-10)
    assert np.all(res.task_stats["staleness_max"] == 0)


# --------------------------------------------------------------------------- #
# Staleness
# --------------------------------------------------------------------------- #
def _threading_straggler():
    # Real (short) delays: the last task is the straggler.
    return ThreadingBackend(n_jobs=2), DelayModel(
        offset=[0.0, 0.0, 0.0, 0.0, 2e-3], jitter="exponential", scale=3e-4
    )


def _simulated_straggler():
    return (
        SimulatedBackend(compute_time=[0.05, 0.1, 0.05, 0.1, 0.2]),
        DelayModel(offset=STRAGGLER_OFFSETS, jitter="exponential", scale=0.3),
    )


STRAGGLERS = {"threading": _threading_straggler, "simulated": _simulated_straggler}


@pytest.mark.parametrize("cap", [0, 1, 5])
@pytest.mark.parametrize("backend_name", list(STRAGGLERS))
def test_staleness_never_exceeds_cap(backend_name, cap, no_leaked_threads):
    prob, *_ = reference("squared")
    backend, delay = STRAGGLERS[backend_name]()
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        max_staleness=cap,
        delay_model=delay,
        max_epochs=40,
        tol=0.0,
        random_state=0,
    )
    assert res.max_staleness == cap
    stats = res.task_stats
    assert np.all(stats["staleness_max"] <= cap)
    assert np.all(stats["staleness_mean"] <= stats["staleness_max"])
    assert np.all(stats["n_updates"] > 0)
    if cap == 0:
        assert np.all(stats["staleness_max"] == 0)
    if backend_name == "simulated":
        # Deterministic: the cap binds exactly (uncapped runs exceed it).
        assert stats["staleness_max"].max() == cap


def test_uncapped_straggler_exceeds_small_caps():
    """Without a binding cap the straggler's staleness is large (so the caps
    above are really exercised); the default cap is 4 T."""
    prob, *_ = reference("squared")
    backend, delay = _simulated_straggler()
    kw = dict(delay_model=delay, max_epochs=40, tol=0.0, random_state=0)
    res = run_amtl(prob.datafit(), prob.alpha, backend, max_staleness=10**6, **kw)
    assert res.task_stats["staleness_max"][-1] > 4 * prob.T
    backend, delay = _simulated_straggler()
    kw["delay_model"] = delay
    res = run_amtl(prob.datafit(), prob.alpha, backend, **kw)
    assert res.max_staleness == 4 * prob.T
    assert res.task_stats["staleness_max"].max() <= 4 * prob.T


@pytest.mark.parametrize("backend_name", list(STRAGGLERS))
def test_sync_schedule_has_zero_staleness(backend_name, no_leaked_threads):
    prob, *_ = reference("squared")
    backend, delay = STRAGGLERS[backend_name]()
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        schedule="sync",
        delay_model=delay,
        max_epochs=20,
        tol=0.0,
        random_state=0,
    )
    assert np.all(res.task_stats["staleness_max"] == 0)
    assert np.all(res.task_stats["staleness_mean"] == 0)
    assert np.all(res.task_stats["n_updates"] == 20)


def test_simulated_staleness_is_exact():
    """Equal constant delays: after the first round every update has seen the
    T - 1 writes of the others."""
    prob, *_ = reference("squared")
    T, n = prob.T, 12
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        delay_model=DelayModel(offset=1.0, jitter=None),
        max_epochs=n,
        tol=0.0,
    )
    stats = res.task_stats
    assert np.all(stats["n_updates"] == n)
    first = np.arange(T)  # staleness of each task's first update
    np.testing.assert_allclose(
        stats["staleness_mean"], (first + (n - 1) * (T - 1)) / n, rtol=1e-15
    )
    np.testing.assert_array_equal(stats["staleness_max"], np.full(T, T - 1))
    np.testing.assert_array_equal(res.history["time"], np.arange(1.0, n + 1))


# --------------------------------------------------------------------------- #
# Determinism
# --------------------------------------------------------------------------- #
def _assert_same_runs(a, b, with_time):
    np.testing.assert_array_equal(a.W, b.W)
    if a.b is not None:
        np.testing.assert_array_equal(a.b, b.b)
    fields = ["n_updates", "residual", "objective"] + (["time"] if with_time else [])
    for f in fields:
        np.testing.assert_array_equal(a.history[f], b.history[f])
    for key, value in a.task_stats.items():
        if with_time or not key.startswith("round_trip"):
            np.testing.assert_array_equal(value, b.task_stats[key])


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("backend_name", ["sequential", "simulated-delays"])
@pytest.mark.parametrize("problem", ["squared", "logistic"])
def test_deterministic_backends_are_reproducible(problem, backend_name, schedule):
    prob, *_ = reference(problem)
    runs = []
    for _ in range(2):
        backend, delay = _backend(backend_name)
        assert backend.deterministic
        runs.append(
            run_amtl(
                prob.datafit(),
                prob.alpha,
                backend,
                schedule=schedule,
                delay_model=delay,
                max_epochs=60,
                tol=0.0,
                random_state=42,
            )
        )
    _assert_same_runs(*runs, with_time=backend_name.startswith("simulated"))


def test_simulated_clock_depends_on_the_seed():
    prob, *_ = reference("squared")
    times = []
    for seed in (0, 0, 1):
        backend, delay = _backend("simulated-delays")
        res = run_amtl(
            prob.datafit(),
            prob.alpha,
            backend,
            delay_model=delay,
            max_epochs=20,
            tol=0.0,
            random_state=seed,
        )
        times.append(res.history["time"])
    np.testing.assert_array_equal(times[0], times[1])
    assert not np.array_equal(times[0], times[2])


# --------------------------------------------------------------------------- #
# Failures and interrupts
# --------------------------------------------------------------------------- #
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


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("n_jobs", [1, 2, 4])
@pytest.mark.timeout(HANG_TIMEOUT)
def test_worker_exception_reraised_and_threads_stopped(
    schedule, n_jobs, no_leaked_threads
):
    prob, *_ = reference("logistic")
    df = FailingDatafit(prob.datafit())
    with pytest.raises(WorkerError, match="task 3 failed on call 5"):
        run_amtl(
            df,
            prob.alpha,
            ThreadingBackend(n_jobs=n_jobs),
            schedule=schedule,
            delay_model=DelayModel(offset=1e-4, jitter="uniform"),
            max_epochs=1000,
            tol=0.0,
            random_state=0,
        )
    assert df.calls[3] == 5


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
@pytest.mark.timeout(HANG_TIMEOUT)
def test_base_exception_in_worker_reraised(exc, no_leaked_threads):
    prob, *_ = reference("squared")
    df = FailingDatafit(prob.datafit(), task=1, on_call=3, exc=exc)
    with pytest.raises(exc):
        run_amtl(df, prob.alpha, ThreadingBackend(n_jobs=2), tol=0.0)


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("after", [1, 3, 40])
@pytest.mark.timeout(HANG_TIMEOUT)
def test_keyboard_interrupt_in_central_loop(schedule, after, no_leaked_threads):
    prob, *_ = reference("squared")
    delay = InterruptingDelay(after)
    with pytest.raises(KeyboardInterrupt):
        run_amtl(
            prob.datafit(),
            prob.alpha,
            ThreadingBackend(n_jobs=2),
            schedule=schedule,
            delay_model=delay,
            max_epochs=10**6,
            tol=0.0,
        )
    assert delay.calls == after


@pytest.mark.parametrize("backend_name", ["sequential", "simulated"])
@pytest.mark.timeout(HANG_TIMEOUT)
def test_worker_exception_other_backends(backend_name):
    prob, *_ = reference("squared")
    df = FailingDatafit(prob.datafit())
    backend, _ = _backend(backend_name)
    with pytest.raises(WorkerError):
        run_amtl(df, prob.alpha, backend, tol=0.0)
    with pytest.raises(KeyboardInterrupt):
        run_amtl(
            prob.datafit(),
            prob.alpha,
            _backend(backend_name)[0],
            delay_model=InterruptingDelay(7, delay=0.0),
            tol=0.0,
        )


@pytest.mark.timeout(HANG_TIMEOUT)
def test_threading_backend_reused_after_failure(no_leaked_threads):
    """A backend instance that failed once runs a clean fit afterwards."""
    prob, W_ref, _, F_ref = reference("squared")
    backend = ThreadingBackend(n_jobs=2)
    with pytest.raises(WorkerError):
        run_amtl(FailingDatafit(prob.datafit()), prob.alpha, backend, tol=0.0)
    res = run_amtl(prob.datafit(), prob.alpha, backend, tol=1e-8, max_epochs=5000)
    assert res.converged


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


@pytest.mark.timeout(HANG_TIMEOUT)
def test_threading_reply_timeout(no_leaked_threads):
    """A task node that does not answer within reply_timeout stops the fit."""
    prob, *_ = reference("squared")
    with pytest.raises(TimeoutError, match="reply_timeout=0.2"):
        run_amtl(
            SlowDatafit(prob.datafit(), seconds=1.5),
            prob.alpha,
            ThreadingBackend(n_jobs=2, reply_timeout=0.2),
            schedule="sync",
            tol=0.0,
        )


def test_verbose_prints_progress(capsys):
    prob, *_ = reference("squared")
    run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        max_epochs=3,
        tol=0.0,
        verbose=1,
    )
    out = capsys.readouterr().out
    assert "[amtl:async] stopped (max_iter) after 15 updates" in out


# --------------------------------------------------------------------------- #
# Dynamic step
# --------------------------------------------------------------------------- #
def test_dynamic_step_factor_formula():
    ds = DynamicStep(window=3, floor=2.0, max_relaxation=1.2)
    state = ds.new_state(3)
    assert ds.factor(state, 0) == np.log(2.0)  # no delay yet: the floor
    for delay in [1.0, 5.0, 9.0, 31.0]:
        ds.record(state, 0, delay)
    assert ds.factor(state, 0) == pytest.approx(np.log((5 + 9 + 31) / 3), rel=1e-15)
    ds.record(state, 1, 0.5)  # below the floor
    assert ds.factor(state, 1) == np.log(2.0)
    assert ds.factor(state, 2) == np.log(2.0)
    base = 0.1
    assert ds.relaxation(state, 1, base) == pytest.approx(base * np.log(2.0))
    assert ds.relaxation(state, 0, 1.0) == 1.2  # clipped
    # Another logarithm, and the paper's defaults.
    ds2 = DynamicStep(log=np.log2, floor=4.0)
    s2 = ds2.new_state(1)
    assert ds2.factor(s2, 0) == 2.0
    for delay in [16.0] * 7:
        ds2.record(s2, 0, delay)
    assert ds2.factor(s2, 0) == 4.0
    default = DynamicStep()
    assert (default.window, default.floor, default.measure) == (5, 10.0, "staleness")
    assert default.max_relaxation == 1.4
    assert default.factor(default.new_state(1), 0) == pytest.approx(2.302585093)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(window=0), "window"),
        (dict(floor=1.0), "floor"),
        (dict(floor=0.5), "floor"),
        (dict(measure="wallclock"), "measure"),
        (dict(max_relaxation=0.0), "max_relaxation"),
    ],
)
def test_dynamic_step_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DynamicStep(**kwargs)


def test_dynamic_step_time_measure_in_engine():
    """Constant per-task delays and no compute: each task's round trip is its
    offset, so its relaxation is exactly min(base * log(max(offset, floor)), clip)."""
    prob, *_ = reference("squared")
    offsets = np.array([1.0, 12.0, 15.0, 30.0, 60.0])
    base, floor, clip = 0.35, 10.0, 1.4
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        relaxation=base,
        dynamic_step=DynamicStep(measure="time", floor=floor, max_relaxation=clip),
        delay_model=DelayModel(offset=offsets, jitter=None),
        max_staleness=10**6,
        max_epochs=20,
        tol=0.0,
    )
    stats = res.task_stats
    assert np.all(stats["n_updates"] > 0)
    np.testing.assert_allclose(stats["round_trip_mean"], offsets, rtol=1e-15)
    expected = np.minimum(base * np.log(np.maximum(offsets, floor)), clip)
    np.testing.assert_allclose(stats["relaxation_mean"], expected, rtol=1e-12)
    assert expected[-1] == clip  # the clip is exercised
    assert res.relaxation == base  # the reported base relaxation


def test_dynamic_step_staleness_measure_in_engine():
    """Equal delays: staleness t for the first update of task t, then T - 1."""
    prob, *_ = reference("squared")
    T, n, base = prob.T, 10, 0.2
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        relaxation=base,
        dynamic_step=DynamicStep(window=1, floor=1.5),
        delay_model=DelayModel(offset=1.0, jitter=None),
        max_epochs=n,
        tol=0.0,
    )
    first = base * np.log(np.maximum(np.arange(T), 1.5))
    later = base * np.log(T - 1)
    expected = (first + (n - 1) * later) / n
    np.testing.assert_allclose(res.task_stats["relaxation_mean"], expected, rtol=1e-12)


@pytest.mark.parametrize("base, expected", [(0.3, 0.3 * np.log(10.0)), ("auto", 1.4)])
def test_dynamic_step_true_records_relaxation(base, expected):
    """dynamic_step=True is DynamicStep(): staleness 0 on the sequential
    backend, so the factor is log(10) (clipped at 1.4)."""
    prob, *_ = reference("squared")
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SequentialBackend(),
        relaxation=base,
        dynamic_step=True,
        max_epochs=5,
        tol=0.0,
    )
    np.testing.assert_allclose(res.task_stats["relaxation_mean"], expected, rtol=1e-14)
    # Without the dynamic step, the base relaxation is used as is.
    res = run_amtl(
        prob.datafit(), prob.alpha, SequentialBackend(), max_epochs=2, tol=0.0
    )
    np.testing.assert_array_equal(res.task_stats["relaxation_mean"], 1.0)


def test_dynamic_step_reaches_optimum_with_stragglers():
    prob, W_ref, _, F_ref = reference("squared")
    backend, delay = _backend("simulated-delays")
    df = prob.datafit()
    res = run_amtl(
        df,
        prob.alpha,
        backend,
        relaxation=0.4,
        dynamic_step=DynamicStep(measure="staleness"),
        delay_model=delay,
        tol=1e-8,
        max_epochs=20_000,
        random_state=0,
    )
    assert res.converged
    rel = res.task_stats["relaxation_mean"]
    assert np.all(rel >= 0.4 * np.log(10.0) - 1e-12) and np.all(rel <= 1.4)
    F = objective(df, prob.alpha, res.W, res.b)
    assert abs(F - F_ref) <= 1e-6 * abs(F_ref)


# --------------------------------------------------------------------------- #
# Delay models
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("jitter", ["exponential", "uniform", "lognormal"])
@pytest.mark.parametrize("scale", [None, 0.5])
def test_delay_model_distributions(jitter, scale):
    offset = 2.0
    model = DelayModel(offset=offset, jitter=jitter, scale=scale)
    rng = np.random.RandomState(0)
    draws = np.array([model.sample(0, rng) for _ in range(20_000)])
    mean_jitter = offset if scale is None else scale
    assert draws.min() >= offset
    assert abs(draws.mean() - (offset + mean_jitter)) <= 0.03 * mean_jitter
    if jitter == "uniform":
        assert draws.max() <= offset + 2 * mean_jitter
    if jitter == "exponential":  # std equals the mean
        assert abs(draws.std() - mean_jitter) <= 0.05 * mean_jitter


def test_delay_model_per_task_offsets_and_stragglers():
    offsets = [0.1, 0.1, 5.0]
    rng = np.random.RandomState(0)
    fixed = DelayModel(offset=offsets, jitter=None).check(3)
    assert [fixed.sample(t, rng) for t in range(3)] == offsets
    model = DelayModel(offset=offsets, jitter="exponential", scale=[0.01, 0.02, 1.0])
    means = [np.mean([model.sample(t, rng) for _ in range(5000)]) for t in range(3)]
    np.testing.assert_allclose(means, [0.11, 0.12, 6.0], rtol=0.05)
    assert means[2] > 40 * means[0]  # the straggler


def test_delay_model_invalid():
    with pytest.raises(ValueError, match="jitter"):
        DelayModel(jitter="gamma")
    for offset in (-1.0, np.nan, np.inf, [0.1, -0.1]):
        with pytest.raises(ValueError, match="offset"):
            DelayModel(offset=offset)
    for scale in (-0.5, np.nan, [0.1, -1.0]):
        with pytest.raises(ValueError, match="scale"):
            DelayModel(offset=1.0, scale=scale)
    with pytest.raises(ValueError, match="sigma"):
        DelayModel(jitter="lognormal", sigma=-1.0)
    with pytest.raises(ValueError, match="offset has 2 entries for 3 tasks"):
        DelayModel(offset=[1.0, 2.0]).check(3)
    with pytest.raises(ValueError, match="scale has 2 entries for 3 tasks"):
        DelayModel(offset=1.0, scale=[1.0, 2.0]).check(3)
    with pytest.raises(ValueError, match="offset has 2 entries"):
        make_delay_model(DelayModel(offset=[1.0, 2.0]), 5)
    # run_amtl checks a delay model handed to it directly, too.
    prob, *_ = reference("squared")
    for offsets in ([1.0, 2.0], np.ones(prob.T + 1)):
        with pytest.raises(ValueError, match="entries for 5 tasks"):
            run_amtl(
                prob.datafit(),
                prob.alpha,
                SimulatedBackend(),
                delay_model=DelayModel(offset=offsets),
            )


def test_make_delay_model_and_callables():
    rng = np.random.RandomState(0)
    assert isinstance(make_delay_model(None, 3), NoDelay)
    assert make_delay_model(None, 3).sample(0, rng) == 0.0
    const = make_delay_model(0.25, 3)
    assert [const.sample(t, rng) for t in range(3)] == [0.25] * 3
    func = make_delay_model(lambda t, rng: 0.1 * (t + 1), 3)
    assert isinstance(func, CallableDelay)
    assert func.sample(2, rng) == pytest.approx(0.3)

    class Duck:
        def sample(self, t, rng):
            return 1.0

    duck = Duck()
    assert make_delay_model(duck, 3) is duck
    for bad in (-0.1, "slow", True, [0.1]):
        with pytest.raises(ValueError, match="delay"):
            make_delay_model(bad, 3)
    for value in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="delay callable returned"):
            CallableDelay(lambda t, rng, v=value: v).sample(0, rng)


@pytest.mark.parametrize("compute", [0.0, 0.25])
def test_simulated_sync_time_is_rounds_times_slowest(compute):
    """SMTL waits for the slowest task every round: time after k rounds is
    k * max_t (compute + delay_t), exactly."""
    prob, *_ = reference("squared")
    k = 9
    delays = CallableDelay(lambda t, rng: 0.5 * (t + 1))
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(compute_time=compute),
        schedule="sync",
        delay_model=delays,
        max_epochs=k,
        tol=0.0,
    )
    round_time = compute + 0.5 * prob.T
    np.testing.assert_array_equal(res.history["time"], round_time * np.arange(1, k + 1))
    np.testing.assert_allclose(
        res.task_stats["round_trip_mean"], compute + 0.5 * np.arange(1, prob.T + 1)
    )


def test_simulated_constant_delay_time():
    prob, *_ = reference("squared")
    D, k = 0.5, 11
    for schedule in ("sync", "async"):
        res = run_amtl(
            prob.datafit(),
            prob.alpha,
            SimulatedBackend(),
            schedule=schedule,
            delay_model=make_delay_model(D, prob.T),
            max_epochs=k,
            tol=0.0,
        )
        assert res.history["time"][-1] == k * D
        np.testing.assert_array_equal(res.task_stats["round_trip_max"], D)


def test_simulated_stragglers_update_less_often():
    """Async: each task updates at its own pace (per-task counts are reported)."""
    prob, *_ = reference("squared")
    offsets = np.array([1.0, 1.0, 2.0, 2.0, 8.0])
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        delay_model=DelayModel(offset=offsets, jitter=None),
        max_staleness=10**6,
        max_epochs=40,
        tol=0.0,
    )
    elapsed = res.history["time"][-1]
    counts = res.task_stats["n_updates"]
    assert np.all(np.abs(counts - elapsed / offsets) <= 1)
    assert counts[0] >= 7 * counts[-1]


# --------------------------------------------------------------------------- #
# Stopping rules
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("schedule", ["async", "sync"])
def test_max_time_simulated(schedule):
    prob, *_ = reference("squared")
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        schedule=schedule,
        delay_model=make_delay_model(1.0, prob.T),
        max_time=10.5,
        max_epochs=10**6,
        tol=0.0,
    )
    assert res.stop_reason == "max_time" and not res.converged
    # Stops at the first reply at or after max_time: SMTL finishes its round,
    # AMTL stops after the first update at t = 11.
    assert res.history["time"][-1] == 11.0
    assert res.n_updates == (11 * prob.T if schedule == "sync" else 10 * prob.T + 1)
    # One row per epoch and one for the final state, never a duplicate row.
    assert len(res.history) == 11
    assert res.history["n_updates"][-1] == res.n_updates
    assert np.all(np.diff(res.history["n_updates"]) > 0)


def test_max_time_threading(no_leaked_threads):
    import time

    prob, *_ = reference("logistic")
    start = time.perf_counter()
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        ThreadingBackend(n_jobs=2),
        delay_model=make_delay_model(2e-3, prob.T),
        max_time=0.3,
        max_epochs=10**6,
        tol=0.0,
    )
    assert res.stop_reason == "max_time"
    assert 0.3 <= res.history["time"][-1] <= time.perf_counter() - start
    assert time.perf_counter() - start < 10.0


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("backend_name", ["sequential", "threading", "simulated"])
def test_max_iter(backend_name, schedule, no_leaked_threads):
    prob, *_ = reference("logistic")
    backend, _ = _backend(backend_name)
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        schedule=schedule,
        max_epochs=3,
        tol=1e-300,
    )
    assert res.stop_reason == "max_iter" and not res.converged
    assert res.n_epochs == 3 and len(res.history) == 3
    if backend_name == "threading" and schedule == "async":
        # Replies arrive in batches: the last one may overshoot the epoch.
        assert 3 * prob.T <= res.n_updates < 4 * prob.T
    else:
        assert res.n_updates == 3 * prob.T
    assert res.history["n_updates"][-1] == res.n_updates


# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #
def test_relaxation_arock_bound():
    assert arock_relaxation_bound(139, 139) == pytest.approx(
        0.9 / (1 + 2 * 139 / np.sqrt(139))
    )
    assert arock_relaxation_bound(139, 139) < 0.05
    assert arock_relaxation_bound(4, 0, c=0.5) == 0.5
    for c in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="c must be in"):
            arock_relaxation_bound(4, 4, c=c)
    prob, *_ = reference("squared")
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        relaxation="arock",
        max_staleness=3,
        max_epochs=3,
        tol=0.0,
    )
    bound = arock_relaxation_bound(prob.T, 3)
    assert res.relaxation == res.relaxation_bound == bound
    np.testing.assert_allclose(res.task_stats["relaxation_mean"], bound)
    res = run_amtl(
        prob.datafit(), prob.alpha, SimulatedBackend(), max_epochs=1, tol=0.0
    )
    assert res.relaxation == 1.0
    assert res.relaxation_bound == arock_relaxation_bound(prob.T, 4 * prob.T)


def test_step_size_auto_is_one_over_L():
    prob, *_ = reference("logistic")
    df = prob.datafit()
    res = run_amtl(df, prob.alpha, SimulatedBackend(), max_epochs=1, tol=0.0)
    assert res.step_size == 1.0 / np.max(df.lipschitz)
    assert res.step_size == pytest.approx(1.0 / prob.lipschitz(), rel=1e-8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(step_size="big"), "step_size"),
        (dict(step_size=0.0), "step_size"),
        (dict(step_size=-1.0), "step_size"),
        (dict(relaxation=0.0), "relaxation"),
        (dict(relaxation=-0.5), "relaxation"),
        (dict(relaxation=2.0), "relaxation"),
        (dict(relaxation="fast"), "relaxation"),
        (dict(max_staleness=-1), "max_staleness"),
        (dict(max_staleness="none"), "max_staleness"),
        (dict(schedule="semi"), "schedule"),
        (dict(max_epochs=2.5), "max_epochs"),
        (dict(max_epochs=True), "max_epochs"),
        (dict(max_time=0.0), "max_time"),
        (dict(max_time=-1), "max_time"),
    ],
)
def test_run_amtl_invalid_parameters(kwargs, match, no_leaked_threads):
    prob, *_ = reference("squared")
    with pytest.raises(ValueError, match=match):
        run_amtl(prob.datafit(), prob.alpha, ThreadingBackend(n_jobs=2), **kwargs)


def test_step_size_must_be_below_two_over_L():
    prob, *_ = reference("squared")
    df = prob.datafit()
    L = float(np.max(df.lipschitz))
    for step in (2.0 / L, 2.5 / L):
        with pytest.raises(ValueError, match=r"step_size must be in \(0, 2/L\)"):
            run_amtl(df, prob.alpha, SequentialBackend(), step_size=step)
    res = run_amtl(
        df, prob.alpha, SequentialBackend(), step_size=1.9 / L, max_epochs=1, tol=0
    )
    assert res.step_size == 1.9 / L


def test_backend_construction():
    assert isinstance(make_backend("auto"), SequentialBackend)
    assert isinstance(make_backend("auto", n_jobs=1), SequentialBackend)
    threaded = make_backend("auto", n_jobs=2)
    assert isinstance(threaded, ThreadingBackend) and threaded.n_jobs == 2
    assert isinstance(make_backend("simulated"), SimulatedBackend)
    inst = SimulatedBackend(compute_time=1.0)
    assert make_backend(inst) is inst
    with pytest.raises(ValueError, match="backend must be one of"):
        make_backend("mpi")
    with pytest.raises(ValueError, match="n_jobs"):
        ThreadingBackend(n_jobs=0)
    prob, *_ = reference("squared")
    for compute in (-1.0, np.nan, [0.1, 0.2]):
        with pytest.raises(ValueError):
            run_amtl(prob.datafit(), prob.alpha, SimulatedBackend(compute_time=compute))


def test_backend_releases_state_after_run(no_leaked_threads):
    """A closed backend keeps no queue, data-fit or reference to the central node."""
    import pickle
    import queue

    prob, *_ = reference("squared")
    for backend in (SequentialBackend(), SimulatedBackend(), ThreadingBackend(2)):
        run_amtl(prob.datafit(), prob.alpha, backend, max_epochs=2, tol=0.0)
        state = vars(backend)
        assert not any(
            isinstance(v, (queue.SimpleQueue, queue.Queue, threading.Thread))
            for v in state.values()
        )
        assert "datafit" not in state and "read" not in state
        pickle.dumps(backend)

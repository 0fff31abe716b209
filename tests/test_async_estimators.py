"""The asynchronous estimators: AsyncTraceNormMTLRegressor / Classifier.

They must reach the centralized estimators' solution on every backend and
schedule, pickle and clone after fitting with no thread, lock, queue or backend
left on them, warm start, stop with the documented reasons and warnings,
re-raise worker failures without leaking threads, validate their parameters,
and pass scikit-learn's common checks in both data modes.
"""

import concurrent.futures
import pickle
import queue
import threading
import time
import warnings

import joblib
import numpy as np
import pytest
from _amtl_reference import FailingDatafit, WorkerError
from _checks import expected_failed_checks, long_format_pipeline
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmtl import (
    AsyncTraceNormMTLClassifier,
    AsyncTraceNormMTLRegressor,
    DelayModel,
    DynamicStep,
    SimulatedBackend,
    TraceNormMTLClassifier,
    TraceNormMTLRegressor,
    stack_tasks,
)
from skmtl._amtl import Backend, SequentialBackend, ThreadingBackend

# A failure that hangs instead of propagating fails fast (pytest-timeout).
HANG_TIMEOUT = 60


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
def shared_regression(seed=0, n=80, d=6, T=4):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    Y = X @ (rng.randn(d, 2) @ rng.randn(2, T)) + 0.1 * rng.randn(n, T) + 1.0
    return X, Y


def long_regression(seed=0, d=5, T=4):
    rng = np.random.RandomState(seed)
    W = rng.randn(d, 2) @ rng.randn(2, T)
    Xs = [rng.randn(25 + 10 * t, d) for t in range(T)]
    ys = [X @ W[:, t] + t + 0.1 * rng.randn(len(X)) for t, X in enumerate(Xs)]
    return stack_tasks(Xs, ys)


def shared_classification(seed=0, n=120, d=5, T=3):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    M = X @ (rng.randn(d, 2) @ rng.randn(2, T)) / 2 + rng.logistic(size=(n, T))
    return X, (M > 0).astype(int)


def long_classification(seed=0, d=4, T=3):
    rng = np.random.RandomState(seed)
    W = rng.randn(d, 2) @ rng.randn(2, T) / 2
    Xs = [rng.randn(40 + 10 * t, d) for t in range(T)]
    ys = [
        np.where(X @ W[:, t] + rng.logistic(size=len(X)) > 0, "yes", "no")
        for t, X in enumerate(Xs)
    ]
    return stack_tasks(Xs, ys, tasks=["a", "b", "c"][:T])


DATA = {
    "regressor-shared": (AsyncTraceNormMTLRegressor, {}, shared_regression),
    "regressor-long": (
        AsyncTraceNormMTLRegressor,
        {"task_column": -1},
        long_regression,
    ),
    "classifier-shared": (AsyncTraceNormMTLClassifier, {}, shared_classification),
    "classifier-long": (
        AsyncTraceNormMTLClassifier,
        {"task_column": -1},
        long_classification,
    ),
}
CENTRALIZED = {
    AsyncTraceNormMTLRegressor: TraceNormMTLRegressor,
    AsyncTraceNormMTLClassifier: TraceNormMTLClassifier,
}


def straggler_delay(t, rng):
    """A module-level callable delay (picklable): task 0 is slow."""
    return 5.0 if t == 0 else 0.5 + 0.1 * rng.rand()


def backend_params(name, n_tasks):
    """Estimator parameters of each backend configuration tested."""
    stragglers = DelayModel(offset=np.linspace(1.0, 4.0, n_tasks), scale=0.2)
    return {
        "sequential": dict(),
        "threading": dict(backend="threading", n_jobs=2),
        "simulated": dict(backend="simulated", delay=stragglers),
        "simulated-instance": dict(
            backend=SimulatedBackend(compute_time=0.2), delay=straggler_delay
        ),
        "sync": dict(schedule="sync", backend="simulated", delay=stragglers),
        "threading-sync": dict(schedule="sync", backend=ThreadingBackend(n_jobs=2)),
    }[name]


BACKENDS = [
    "sequential",
    "threading",
    "simulated",
    "simulated-instance",
    "sync",
    "threading-sync",
]


# --------------------------------------------------------------------------- #
# Same solution as the centralized estimators
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("data", list(DATA))
def test_matches_centralized_estimator(data, backend, no_leaked_threads):
    cls, mode, make = DATA[data]
    X, y = make()
    n_tasks = 4 if data.startswith("regressor") else 3
    alpha = 0.1
    ref = CENTRALIZED[cls](alpha=alpha, tol=1e-10, **mode).fit(X, y)
    params = backend_params(backend, n_tasks)
    est = cls(alpha=alpha, tol=1e-9, max_iter=50_000, random_state=0, **mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.set_params(**params).fit(X, y)
    assert est.stop_reason_ == "converged"
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-5 * scale)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-5 * scale)
    np.testing.assert_array_equal(est.tasks_, ref.tasks_)
    if is_classifier(est):
        np.testing.assert_array_equal(est.predict(X), ref.predict(X))
        if mode:
            np.testing.assert_array_equal(est.classes_, ["no", "yes"])
    else:
        np.testing.assert_allclose(est.predict(X), ref.predict(X), atol=1e-4)
    # Fitted attributes.
    T = len(est.tasks_)
    assert est.coef_.shape == (T, ref.n_features_in_ - (1 if mode else 0))
    stats = est.task_stats_
    assert set(stats) == {
        "n_updates",
        "staleness_mean",
        "staleness_max",
        "round_trip_mean",
        "round_trip_max",
        "relaxation_mean",
    }
    assert all(v.shape == (T,) for v in stats.values())
    assert stats["n_updates"].sum() == est.n_updates_
    assert np.all(stats["staleness_max"] <= est.max_staleness_)
    assert est.objective_history_.dtype.names == (
        "time",
        "n_updates",
        "residual",
        "objective",
    )
    assert est.n_iter_ == est.n_updates_ // T
    # tol bounds the certified relative duality gap, as for the centralized
    # estimators (it used to bound the fixed-point residual_).
    assert est.dual_gap_ <= 1e-9
    assert isinstance(est.events_, list)
    assert est.relaxation_ == 1.0 and est.max_staleness_ == 4 * T
    if est.schedule == "sync":
        assert np.all(stats["staleness_max"] == 0)


def test_school_matches_centralized(school_tasks):
    """A subset of School in long format, standardized features, squared loss."""
    Xs, ys = school_tasks
    idx = list(range(0, len(Xs), 20))
    X_all = np.vstack([Xs[t] for t in idx])
    mu, sd = X_all.mean(axis=0), X_all.std(axis=0)
    sd[sd == 0] = 1.0
    X, y = stack_tasks([(Xs[t] - mu) / sd for t in idx], [ys[t] for t in idx])
    ref = TraceNormMTLRegressor(alpha=5.0, task_column=-1, tol=1e-10).fit(X, y)
    est = AsyncTraceNormMTLRegressor(
        alpha=5.0,
        task_column=-1,
        backend="simulated",
        delay=DelayModel(offset=1.0, jitter="exponential"),
        tol=1e-9,
        max_iter=20_000,
        random_state=0,
    ).fit(X, y)
    assert est.stop_reason_ == "converged"
    np.testing.assert_allclose(
        est.coef_, ref.coef_, atol=1e-5 * np.abs(ref.coef_).max()
    )
    assert est.score(X, y) == pytest.approx(ref.score(X, y), abs=1e-8)


@pytest.mark.parametrize("cap", [0, 1, 4])
@pytest.mark.parametrize("backend", ["threading", "simulated"])
def test_staleness_cap_holds(backend, cap, no_leaked_threads):
    X, Y = shared_regression(T=4)
    if backend == "threading":
        params = dict(backend="threading", n_jobs=2)
        delay = DelayModel(offset=[0.0, 0.0, 0.0, 2e-3], scale=3e-4)
    else:
        params = dict(backend=SimulatedBackend(compute_time=0.1))
        delay = DelayModel(offset=[1.0, 1.0, 1.0, 10.0], scale=0.3)
    est = AsyncTraceNormMTLRegressor(
        alpha=0.1, max_staleness=cap, delay=delay, max_iter=30, random_state=0
    ).set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    assert est.max_staleness_ == cap
    assert np.all(est.task_stats_["staleness_max"] <= est.max_staleness_)
    if backend == "simulated":
        assert est.task_stats_["staleness_max"].max() == cap
    sync = clone(est).set_params(schedule="sync", max_staleness=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sync.fit(X, Y)
    assert np.all(sync.task_stats_["staleness_max"] == 0)


# --------------------------------------------------------------------------- #
# Pickle, clone, no concurrency objects
# --------------------------------------------------------------------------- #
_FORBIDDEN = (
    threading.Thread,
    type(threading.Lock()),
    type(threading.RLock()),
    threading.Condition,
    threading.Event,
    threading.Semaphore,
    queue.Queue,
    queue.SimpleQueue,
    concurrent.futures.Executor,
)


def find_forbidden(obj, path="est", seen=None):
    """Paths of thread/lock/queue/executor objects reachable from ``obj``."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray)):
        return []
    seen.add(id(obj))
    if isinstance(obj, _FORBIDDEN):
        return [f"{path}: {type(obj).__name__}"]
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += find_forbidden(value, f"{path}[{key!r}]", seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, value in enumerate(obj):
            found += find_forbidden(value, f"{path}[{i}]", seen)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        for key, value in vars(obj).items():
            found += find_forbidden(value, f"{path}.{key}", seen)
    return found


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("data", ["regressor-shared", "classifier-long"])
def test_fitted_estimator_pickles_and_clones(data, backend, no_leaked_threads):
    cls, mode, make = DATA[data]
    X, y = make()
    n_tasks = 4 if data.startswith("regressor") else 3
    params = backend_params(backend, n_tasks)
    est = cls(alpha=0.1, max_iter=30, random_state=0, **mode).set_params(**params)
    unfitted = pickle.dumps(est.get_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    # fit never mutates the parameters (a Backend instance included).
    assert pickle.dumps(est.get_params()) == unfitted
    assert find_forbidden(est) == []
    fitted_values = [v for k, v in vars(est).items() if k.endswith("_")]
    assert not any(isinstance(v, Backend) for v in fitted_values)
    assert find_forbidden(fitted_values) == []

    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.coef_, est.coef_)
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    np.testing.assert_array_equal(restored.objective_history_, est.objective_history_)
    cloned = clone(est)
    assert not hasattr(cloned, "coef_")
    assert joblib.hash(cloned.get_params()) == joblib.hash(est.get_params())


def test_find_forbidden_detects_concurrency_objects():
    """The recursive check can fail: it finds objects hidden in containers."""

    class Holder:
        pass

    h = Holder()
    h.stats_ = {"a": [1, (2, threading.Lock())]}
    h.backend_ = ThreadingBackend(n_jobs=1)
    h.backend_._jobs = queue.SimpleQueue()
    found = find_forbidden(h)
    assert len(found) == 2
    assert any("stats_" in p and "lock" in p for p in found)
    assert any("_jobs" in p and "SimpleQueue" in p for p in found)


def test_backend_instance_parameter_is_not_used_directly(no_leaked_threads):
    X, Y = shared_regression()
    backend = ThreadingBackend(n_jobs=2)
    est = AsyncTraceNormMTLRegressor(alpha=0.1, backend=backend).fit(X, Y)
    assert est.backend is backend
    assert not hasattr(backend, "_jobs") and not backend._started
    assert find_forbidden(backend) == []
    # A deterministic backend instance keeps the estimator deterministic.
    assert est.__sklearn_tags__().non_deterministic
    assert (
        not AsyncTraceNormMTLRegressor(backend=SimulatedBackend())
        .__sklearn_tags__()
        .non_deterministic
    )
    assert not AsyncTraceNormMTLRegressor().__sklearn_tags__().non_deterministic
    assert AsyncTraceNormMTLRegressor(n_jobs=2).__sklearn_tags__().non_deterministic


def test_backend_repr_is_stable():
    """An estimator holding a backend prints its parameters, not an address
    (test ids and pytest-xdist collection depend on it)."""
    est = AsyncTraceNormMTLRegressor(backend=SimulatedBackend(compute_time=0.1))
    assert repr(est) == (
        "AsyncTraceNormMTLRegressor(backend=SimulatedBackend(compute_time=0.1))"
    )
    assert repr(ThreadingBackend(n_jobs=3)) == (
        "ThreadingBackend(n_jobs=3, task_timeout=60.0, max_batch=None)"
    )
    assert "0x" not in repr(AsyncTraceNormMTLClassifier(backend=SequentialBackend()))


# --------------------------------------------------------------------------- #
# Determinism
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(schedule="sync"),
        dict(backend="simulated", delay=DelayModel(offset=0.5, jitter="lognormal")),
        dict(backend="sequential", dynamic_step=True, relaxation=0.3),
        dict(
            backend="simulated",
            dynamic_step=DynamicStep(measure="time"),
            relaxation=0.3,
            delay=DelayModel(offset=20.0),
        ),
    ],
    ids=["sequential", "sequential-sync", "simulated", "dynamic", "dynamic-time"],
)
@pytest.mark.parametrize("data", ["regressor-long", "classifier-shared"])
def test_fit_is_reproducible(data, params):
    cls, mode, make = DATA[data]
    X, y = make()
    fits = [
        cls(alpha=0.1, random_state=7, tol=1e-7, **mode, **params).fit(X, y)
        for _ in range(2)
    ]
    a, b = fits
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    fields = ["n_updates", "residual", "objective"]
    if params.get("backend") == "simulated":
        fields.append("time")  # the virtual clock is reproducible too
        assert a.objective_history_["time"][-1] > 0
    for f in fields:
        np.testing.assert_array_equal(a.objective_history_[f], b.objective_history_[f])
    for key in ("n_updates", "staleness_mean", "staleness_max", "relaxation_mean"):
        np.testing.assert_array_equal(a.task_stats_[key], b.task_stats_[key])


# --------------------------------------------------------------------------- #
# warm start
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("splitting", ["forward-backward", "douglas-rachford"])
@pytest.mark.parametrize("data", ["regressor-shared", "classifier-long"])
def test_warm_start(data, splitting):
    cls, mode, make = DATA[data]
    X, y = make()
    kw = dict(alpha=0.1, tol=1e-8, max_iter=20_000, backend="simulated", **mode)
    kw["splitting"] = splitting
    cold = cls(**kw).fit(X, y)
    assert cold.n_iter_ > 20
    warm = cls(warm_start=True, **kw).fit(X, y)
    coef = warm.coef_.copy()
    warm.fit(X, y)
    # tol bounds the certified duality gap (it used to bound the residual, and
    # a refit ran a few epochs): the previous solution is already certified,
    # so the refit runs no epoch at all and keeps its gap.
    assert warm.n_iter_ == 0 and warm.n_updates_ == 0
    assert warm.stop_reason_ == "converged"
    assert warm.dual_gap_ <= 1e-8
    assert cold.objective_history_["residual"][0] > 1e-3
    np.testing.assert_allclose(warm.coef_, coef, atol=1e-6)
    # A nearby alpha: the warm start needs fewer epochs than a cold start.
    warm.set_params(alpha=0.12).fit(X, y)
    cold2 = cls(**{**kw, "alpha": 0.12}).fit(X, y)
    # The warm start begins near the new optimum; to a certified gap of 1e-8
    # it needs about as many epochs as a cold start (linear convergence: the
    # first epochs of a cold start are cheap progress), not more.
    first = warm.objective_history_["objective"][0]
    assert first < cold2.objective_history_["objective"][0]
    assert warm.n_iter_ <= 1.1 * cold2.n_iter_ + 2
    np.testing.assert_allclose(
        warm.coef_, cold2.coef_, atol=1e-4 * np.abs(cold2.coef_).max()
    )
    # Without warm_start, a refit starts again from zero.
    again = cls(**kw).fit(X, y)
    assert again.n_iter_ == cold.n_iter_


def test_warm_start_ignores_incompatible_previous_fit():
    X, Y = shared_regression()
    est = AsyncTraceNormMTLRegressor(alpha=0.1, warm_start=True).fit(X, Y)
    est.fit(X, Y[:, :2])  # fewer tasks: a cold start, no error
    assert est.coef_.shape == (2, X.shape[1])
    ref = AsyncTraceNormMTLRegressor(alpha=0.1).fit(X, Y[:, :2])
    np.testing.assert_array_equal(est.coef_, ref.coef_)


# --------------------------------------------------------------------------- #
# Stopping
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("schedule", ["async", "sync"])
def test_max_iter_warns(schedule):
    X, Y = shared_regression()
    est = AsyncTraceNormMTLRegressor(
        alpha=0.1, max_iter=3, tol=1e-12, schedule=schedule
    )
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est.fit(X, Y)
    assert est.stop_reason_ == "max_iter"
    assert est.n_iter_ == 3 and len(est.objective_history_) == 3


@pytest.mark.parametrize("schedule", ["async", "sync"])
def test_max_time_warns_simulated(schedule):
    X, Y = shared_regression()
    est = AsyncTraceNormMTLRegressor(
        alpha=0.1,
        backend="simulated",
        schedule=schedule,
        delay=2.0,
        max_time=9.0,
        tol=1e-12,
    )
    with pytest.warns(ConvergenceWarning, match=r"max_time=9(\.0)? s"):
        est.fit(X, Y)
    assert est.stop_reason_ == "max_time"
    # Virtual time: the replies due at t = 10 come after max_time, unapplied.
    assert est.objective_history_["time"][-1] == 8.0
    assert est.n_iter_ == 4


def test_max_time_warns_threading(no_leaked_threads):
    X, y = long_classification()
    est = AsyncTraceNormMTLClassifier(
        alpha=0.01,
        task_column=-1,
        backend="threading",
        n_jobs=2,
        delay=DelayModel(offset=1e-3, jitter="uniform"),
        max_time=0.2,
        tol=0.0,
        random_state=0,
    )
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match="max_time"):
        est.fit(X, y)
    # It stops at max_time, not before (the last history row may be the last
    # epoch check, recorded a little earlier).
    assert est.stop_reason_ == "max_time"
    assert time.perf_counter() - start >= 0.2


# --------------------------------------------------------------------------- #
# Failures
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("exc", [WorkerError, KeyboardInterrupt])
@pytest.mark.parametrize(
    "cls", [AsyncTraceNormMTLRegressor, AsyncTraceNormMTLClassifier]
)
@pytest.mark.timeout(HANG_TIMEOUT)
def test_worker_failure_reraised_by_fit(cls, exc, monkeypatch, no_leaked_threads):
    make_datafit = cls._make_datafit
    monkeypatch.setattr(
        cls,
        "_make_datafit",
        lambda self, blocks: FailingDatafit(make_datafit(self, blocks), exc=exc),
    )
    X, y = (
        shared_regression
        if cls is AsyncTraceNormMTLRegressor
        else shared_classification
    )(T=4)
    # FailingDatafit fails in task_gradient, the forward-backward task step
    # (the default splitting is now douglas-rachford, whose step is task_prox).
    est = cls(
        alpha=0.1,
        backend="threading",
        n_jobs=2,
        tol=0.0,
        splitting="forward-backward",
    )
    with pytest.raises(exc):
        est.fit(X, y)
    assert not hasattr(est, "coef_")


@pytest.mark.timeout(HANG_TIMEOUT)
def test_interrupt_in_delay_model_reraised_by_fit(no_leaked_threads):
    calls = []

    def delay(t, rng):
        calls.append(t)
        if len(calls) == 25:
            raise KeyboardInterrupt
        return 1e-4

    X, Y = shared_regression()
    est = AsyncTraceNormMTLRegressor(
        alpha=0.1, backend="threading", n_jobs=2, delay=delay, tol=0.0
    )
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, Y)
    # The delay is sampled by the worker threads: the other worker may sample
    # a few more before the fit tears down, but the fit stops there.
    assert 25 <= len(calls) <= 25 + 4 * 2


# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(relaxation=0.0), "relaxation"),
        (dict(relaxation=-1.0), "relaxation"),
        (dict(relaxation=2.0), "relaxation"),
        (dict(relaxation="fast"), "relaxation"),
        (dict(max_staleness=-1), "max_staleness"),
        (dict(max_staleness=1.5), "max_staleness"),
        (dict(backend="mpi"), "backend"),
        (dict(backend=SequentialBackend), "backend"),
        (dict(schedule="semi-sync"), "schedule"),
        (dict(step_size=0.0), "step_size"),
        (dict(step_size="big"), "step_size"),
        (dict(delay=-1.0), "delay"),
        (dict(delay="slow"), "delay"),
        (dict(max_time=0.0), "max_time"),
        (dict(dynamic_step="yes"), "dynamic_step"),
    ],
)
def test_invalid_parameters(params, match):
    X, Y = shared_regression()
    est = AsyncTraceNormMTLRegressor(**params)
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y)


@pytest.mark.parametrize("factor", [2.0, 3.0])
def test_step_size_at_or_above_two_over_L(factor):
    # The (0, 2/L) bound is forward-backward's (no longer the default
    # splitting; Douglas-Rachford takes any step > 0).
    X, Y = shared_regression()
    fb = dict(alpha=0.1, splitting="forward-backward")
    with pytest.warns(ConvergenceWarning):
        est = AsyncTraceNormMTLRegressor(max_iter=1, **fb).fit(X, Y)
    L = 1.0 / est.step_size_
    with pytest.raises(ValueError, match=r"step_size must be in \(0, 2/L\)"):
        AsyncTraceNormMTLRegressor(step_size=factor / L, **fb).fit(X, Y)


def test_delay_model_must_match_tasks():
    X, Y = shared_regression(T=4)
    est = AsyncTraceNormMTLRegressor(delay=DelayModel(offset=[1.0, 2.0]))
    with pytest.raises(ValueError, match="offset has 2 entries for 4 tasks"):
        est.fit(X, Y)


# --------------------------------------------------------------------------- #
# scikit-learn's common checks
# --------------------------------------------------------------------------- #
ALPHA = 0.1


CHECK_CONFIGS = {
    "sequential": dict(),
    "simulated": dict(backend="simulated", delay=DelayModel(offset=0.1)),
    "sync": dict(schedule="sync", backend=SimulatedBackend(compute_time=0.1)),
}


def _check_instances():
    out = []
    for params in CHECK_CONFIGS.values():
        for cls in (AsyncTraceNormMTLRegressor, AsyncTraceNormMTLClassifier):
            out.append(cls(alpha=ALPHA, **params))
            long = cls(
                alpha=ALPHA, task_column=-1, handle_unknown_task="mean", **params
            )
            # Random float task labels make every row a task of its own: that
            # works for the regressor, but a one-row classifier task has one
            # class (an error by design), so the long-format classifier is
            # checked on one task appended by a pipeline.
            out.append(
                long
                if cls is AsyncTraceNormMTLRegressor
                else long_format_pipeline(long)
            )
    return out


@parametrize_with_checks(
    _check_instances(), expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_async_estimator(estimator, check):
    check(estimator)

"""Every stop condition of the AMTL engine is honoured on every backend.

``max_time`` ends a fit that waits on a straggler (back-pressure blocks every
other task behind it), a task step that never answers ends the fit with an
error naming the task (threads) within ``task_timeout``, a user's delay
callable that blocks cannot freeze the central loop, a backend that fails to
start releases everything, and no thread outlives a fit.  Timing figures
live in ``benchmarks/bench_engine_stops.py``; here a hang fails through the
pytest-timeout markers.
"""

import threading
import time
import warnings

import numpy as np
import pytest
from _amtl_reference import FailingDatafit, reference
from sklearn.exceptions import ConvergenceWarning

from skmtl import AsyncTraceNormMTLRegressor, DelayModel
from skmtl._amtl import (
    SequentialBackend,
    SimulatedBackend,
    ThreadingBackend,
    make_backend,
    run_amtl,
)
from skmtl.utils._blas import blas_thread_holders

pytestmark = pytest.mark.timeout(60)

STRAGGLER = 1e6  # seconds: a task that never answers in practice


def skmtl_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("skmtl-")]


def wait_for_no_threads(timeout=10.0):
    for t in threading.enumerate():
        if t.name.startswith("skmtl-"):
            t.join(timeout)
    return skmtl_threads()


def straggler_delays(T):
    offsets = np.full(T, 1e-3)
    offsets[-1] = STRAGGLER
    return DelayModel(offset=offsets, jitter=None)


class BlockingDatafit(FailingDatafit):
    """``task_gradient`` of ``task`` blocks on its ``on_call``-th call until
    ``release`` is set (the test sets it once the fit has failed)."""

    def __init__(self, datafit, task=2, on_call=2):
        super().__init__(datafit, task=task, on_call=on_call)
        self.release = threading.Event()

    def task_gradient(self, t, w, bt=None):
        with self._lock:
            self.calls[t] += 1
            n = self.calls[t]
        if t == self.task and n == self.on_call:
            self.release.wait()
        return self._datafit.task_gradient(t, w, bt)


class BlockingDelay:
    """A delay callable that blocks on its ``on_call``-th call (task ``task``)."""

    def __init__(self, task=1, on_call=3):
        self.task, self.on_call, self.calls = task, on_call, 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, t, rng):
        if t == self.task:
            with self._lock:
                self.calls += 1
                n = self.calls
            if n == self.on_call:
                self.release.wait()
        return 1e-4


# --------------------------------------------------------------------------- #
# max_time with a straggler
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("name", ["sequential", "threading", "simulated"])
def test_max_time_stops_a_fit_waiting_on_a_straggler(name, schedule):
    prob, *_ = reference("squared")
    backend = {
        "sequential": SequentialBackend,
        "threading": ThreadingBackend,
        "simulated": SimulatedBackend,
    }[name]()
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        schedule=schedule,
        delay_model=straggler_delays(prob.T),
        max_staleness=2,  # back-pressure: the others soon wait on the straggler
        max_time=0.5,
        max_epochs=10**6,
        tol=0.0,
    )
    assert res.stop_reason == "max_time" and not res.converged
    # The straggler's reply never arrived, so it was never applied.
    assert res.task_stats["n_updates"][-1] == 0
    if name == "simulated":  # virtual clock: nothing after max_time
        assert res.history["time"][-1] <= 0.5
    assert wait_for_no_threads() == []
    assert blas_thread_holders() == 0


class SlowSteps(FailingDatafit):
    """Every task step sleeps ``seconds`` (a heavy user data-fit)."""

    def __init__(self, datafit, seconds):
        super().__init__(datafit, task=-1)
        self.seconds = seconds

    def task_gradient(self, t, w, bt=None):
        time.sleep(self.seconds)
        return self._datafit.task_gradient(t, w, bt)


def test_max_time_with_slow_steps_threading_streams_replies():
    """A worker takes at most about 0.1 s of steps at once: with 100 queued
    steps of 20 ms, replies arrive before max_time, and the fit returns soon
    after it (taking the whole queue, 2 s of steps, applied no update before
    max_time=0.3 and close() waited for the batch)."""
    from _amtl_reference import Problem

    datafit = SlowSteps(Problem("squared", True, 0.1, T=100, d=3).datafit(), 0.02)
    start = time.perf_counter()
    res = run_amtl(
        datafit,
        0.1,
        ThreadingBackend(n_jobs=1, task_timeout=None),
        max_time=0.3,
        max_epochs=10**6,
        tol=0.0,
    )
    elapsed = time.perf_counter() - start
    assert res.stop_reason == "max_time"
    assert res.n_updates > 0
    assert elapsed < 1.5  # max_time plus at most one take (0.1 s) and a step
    assert wait_for_no_threads() == []


def test_max_time_warning_names_the_stop():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(80, 3), np.repeat(np.arange(4), 20)])
    y = rng.randn(80)
    est = AsyncTraceNormMTLRegressor(
        task_column=-1,
        backend="threading",
        n_jobs=2,
        delay=straggler_delays(4),
        max_staleness=2,
        max_time=0.5,
    )
    with pytest.warns(ConvergenceWarning, match=r"stopped at max_time=0.5 s"):
        est.fit(X, y)
    assert est.stop_reason_ == "max_time"
    assert wait_for_no_threads() == []


# --------------------------------------------------------------------------- #
# A task step that never answers; a delay callable that blocks
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("schedule", ["async", "sync"])
def test_blocked_step_raises_naming_the_task(schedule):
    prob, *_ = reference("squared")
    datafit = BlockingDatafit(prob.datafit(), task=2)
    try:
        with (
            pytest.raises(TimeoutError, match=r"Task 2 .*task_timeout=1.0 s"),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", RuntimeWarning)  # the stuck worker
            run_amtl(
                datafit,
                prob.alpha,
                ThreadingBackend(n_jobs=2, task_timeout=1.0),
                schedule=schedule,
                max_epochs=10**6,
                tol=0.0,
            )
    finally:
        datafit.release.set()
    # The stuck worker exits as soon as its step returns: nothing leaks.
    assert wait_for_no_threads() == []
    assert blas_thread_holders() == 0


def test_blocking_delay_callable_threading_estimator():
    """Drawn in the worker, under the estimator's task_timeout."""
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(80, 3), np.repeat(np.arange(4), 20)])
    y = rng.randn(80)
    delay = BlockingDelay(task=1)
    est = AsyncTraceNormMTLRegressor(
        task_column=-1,
        backend="threading",
        n_jobs=2,
        delay=delay,
        task_timeout=1.0,
        tol=1e-12,
    )
    try:
        with pytest.raises(TimeoutError, match="Task 1 "), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            est.fit(X, y)
    finally:
        delay.release.set()
    assert wait_for_no_threads() == []


@pytest.mark.parametrize("name", ["sequential", "simulated"])
def test_blocking_delay_callable_caller_thread_backends(name):
    """Drawn by a guarded helper thread: an error naming the task, no hang."""
    prob, *_ = reference("squared")
    delay = BlockingDelay(task=1)
    backend = make_backend(name, task_timeout=1.0)
    try:
        with pytest.raises(TimeoutError, match="delay callable .* for task 1"):
            run_amtl(
                prob.datafit(),
                prob.alpha,
                backend,
                delay_model=make_delay(delay),
                max_epochs=10**6,
                tol=0.0,
            )
    finally:
        delay.release.set()
    assert wait_for_no_threads() == []


def make_delay(func):
    from skmtl._amtl import make_delay_model

    return make_delay_model(func, 5)


def test_delay_callable_error_is_reraised():
    prob, *_ = reference("squared")

    def bad(t, rng):
        return -1.0 if t == 3 else 0.0

    for name in ("sequential", "threading"):
        with pytest.raises(ValueError, match="returned -1.0 for task 3"):
            run_amtl(
                prob.datafit(),
                prob.alpha,
                make_backend(name, n_jobs=2),
                delay_model=make_delay(bad),
                tol=0.0,
            )
    assert wait_for_no_threads() == []


# --------------------------------------------------------------------------- #
# Start failure, parameters, threads
# --------------------------------------------------------------------------- #
def test_backend_start_failure_releases_everything():
    prob, *_ = reference("squared")
    with pytest.raises(ValueError, match="compute_time"):
        run_amtl(prob.datafit(), prob.alpha, SimulatedBackend(compute_time=-1))
    assert blas_thread_holders() == 0
    assert skmtl_threads() == []


@pytest.mark.parametrize("bad", [0, -1.0, "1", True, float("nan")])
def test_task_timeout_validation(bad):
    with pytest.raises(ValueError, match="task_timeout"):
        ThreadingBackend(task_timeout=bad)
    with pytest.raises(ValueError, match="task_timeout"):
        make_backend("threading", task_timeout=bad)


def test_task_timeout_reaches_the_backends():
    assert make_backend("threading", n_jobs=2, task_timeout=3).task_timeout == 3.0
    assert make_backend("sequential", task_timeout=None).task_timeout is None
    assert make_backend("simulated").task_timeout == 60.0
    assert ThreadingBackend().task_timeout == 60.0
    est = AsyncTraceNormMTLRegressor(task_timeout=0)
    with pytest.raises(ValueError, match="task_timeout"):
        est.fit(np.ones((4, 2)), np.ones((4, 2)))


def test_threaded_fit_leaves_no_thread():
    prob, *_ = reference("squared")
    before = set(threading.enumerate())
    res = run_amtl(prob.datafit(), prob.alpha, ThreadingBackend(n_jobs=3), tol=1e-8)
    assert res.converged
    left = [t.name for t in set(threading.enumerate()) - before]
    assert left == []


# --------------------------------------------------------------------------- #
# Dask (skipped when distributed is not installed)
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import logging

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.mark.slow  # a LocalCluster: 20-30 s on a loaded 2-core machine
@pytest.mark.timeout(120)
def test_max_time_with_a_straggler_dask(dask_client):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(80, 3), np.repeat(np.arange(4), 20)])
    y = rng.randn(80)
    est = AsyncTraceNormMTLRegressor(
        task_column=-1,
        backend="dask",
        client=dask_client,
        delay=straggler_delays(4),
        max_staleness=2,
        max_time=1.0,
    )
    with pytest.warns(ConvergenceWarning, match=r"stopped at max_time=1 s"):
        est.fit(X, y)
    assert est.stop_reason_ == "max_time"
    assert est.task_stats_["n_updates"][-1] == 0


@pytest.mark.slow  # a LocalCluster: 20-30 s on a loaded 2-core machine
@pytest.mark.timeout(180)
def test_every_dask_worker_gone_fails_within_the_task_timeout():
    """Every worker of the cluster stops for good mid-fit: a clear error once
    no worker has come back within reply_timeout, not a hang."""
    distributed = pytest.importorskip("distributed")
    import logging

    from skmtl.distributed import DaskBackend

    prob, *_ = reference("squared")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(1, timeout=60)

        def stop_every_worker(P, b, n_updates):
            if n_updates.sum() >= 3 * prob.T and cluster.workers:
                cluster.scale(0)

        with pytest.raises(RuntimeError, match="No usable Dask worker"):
            run_amtl(
                prob.datafit(),
                prob.alpha,
                DaskBackend(client=client, reply_timeout=3.0),
                delay_model=DelayModel(offset=0.01, jitter=None),
                max_epochs=10**7,
                tol=0.0,
                on_check=stop_every_worker,
            )

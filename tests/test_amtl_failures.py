"""Failures and interrupts propagate to the caller and leave no thread behind."""

import numpy as np
import pytest
from _amtl_reference import (
    HANG_TIMEOUT,
    FailingDatafit,
    InterruptingDelay,
    SlowDatafit,
    WorkerError,
    backend_config,
    reference,
)
from _checks import worker_threads

from skmtl._amtl import (
    DelayModel,
    SimulatedBackend,
    ThreadingBackend,
    run_amtl,
)

# --------------------------------------------------------------------------- #
# Failures and interrupts
# --------------------------------------------------------------------------- #


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
    # The epoch hook runs in the central thread (a user's delay callable no
    # longer does: the threading backend draws it in the worker).
    prob, *_ = reference("squared")
    calls = []

    def interrupt(P, b, n_updates):
        calls.append(1)
        if len(calls) == after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_amtl(
            prob.datafit(),
            prob.alpha,
            ThreadingBackend(n_jobs=2),
            schedule=schedule,
            delay_model=DelayModel(offset=1e-3, jitter=None),
            max_epochs=10**6,
            tol=0.0,
            on_check=interrupt,
        )
    assert len(calls) == after


@pytest.mark.parametrize("backend_name", ["sequential", "simulated"])
@pytest.mark.timeout(HANG_TIMEOUT)
def test_worker_exception_other_backends(backend_name):
    prob, *_ = reference("squared")
    df = FailingDatafit(prob.datafit())
    backend, _ = backend_config(backend_name)
    with pytest.raises(WorkerError):
        run_amtl(df, prob.alpha, backend, tol=0.0)
    with pytest.raises(KeyboardInterrupt):
        run_amtl(
            prob.datafit(),
            prob.alpha,
            backend_config(backend_name)[0],
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


@pytest.mark.timeout(HANG_TIMEOUT)
def test_threading_task_timeout(no_leaked_threads):
    """A task node that does not answer within task_timeout stops the fit."""
    prob, *_ = reference("squared")
    with pytest.raises(TimeoutError, match="Task 0 .*task_timeout=0.2"):
        run_amtl(
            SlowDatafit(prob.datafit(), seconds=1.5),
            prob.alpha,
            ThreadingBackend(n_jobs=2, task_timeout=0.2),
            schedule="sync",
            tol=0.0,
        )
    # The stuck worker is not joined (a thread cannot be killed): it exits when
    # its 1.5 s step returns, which is after the fit has failed.  Wait for it,
    # so that the leak check sees the thread gone rather than racing it.
    for thread in worker_threads():
        thread.join(timeout=60)


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
# Divergence: caught at the next check, never confused with a thinned history
# --------------------------------------------------------------------------- #
class _NaNInterceptDatafit:
    """Task ``task``'s intercept gradient is NaN on its call ``on_call``: the
    weights stay finite, so only a check of the whole model can see it."""

    def __init__(self, datafit, task=1, on_call=3):
        self._datafit, self.task, self.on_call = datafit, task, on_call
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._datafit, name)

    def task_gradient(self, t, w, bt=None):
        g, gb = self._datafit.task_gradient(t, w, bt)
        if t == self.task:
            self.calls += 1
            if self.calls == self.on_call:
                gb = float("nan")
        return g, gb


def test_nonfinite_model_stops_the_run_at_the_next_check():
    """The poisoned intercept is written during epoch 3: the epoch check
    ends the run there (before, the run raised from inside the prox when the
    task's next NaN step was written, or ran on for a NaN intercept of a task
    that was not activated again)."""
    from skmtl import AsyncTraceNormMTLRegressor
    from skmtl._amtl import SequentialBackend
    from skmtl.utils._validation import guard_divergence

    prob, *_ = reference("logistic")
    T = prob.T
    df = _NaNInterceptDatafit(prob.datafit())
    with np.errstate(invalid="ignore"):  # the history's NaN objective
        res = run_amtl(
            df, prob.alpha, SequentialBackend(), splitting="forward-backward", tol=0
        )
    assert res.stop_reason == "diverged" and not res.converged
    assert res.n_updates == 3 * T
    assert list(res.info["history_finite"]) == [True, True, False]
    df = _NaNInterceptDatafit(prob.datafit())
    run = guard_divergence(AsyncTraceNormMTLRegressor(), run_amtl)
    with pytest.raises(ValueError, match=f"non-finite within {3 * T} task updates"):
        run(df, prob.alpha, SequentialBackend(), splitting="forward-backward", tol=0)


@pytest.mark.parametrize("backend", ["sequential", "threading"])
def test_thinned_history_is_not_divergence(backend, monkeypatch):
    """Runs longer than the snapshot budget drop every other snapshot, whose
    objective is then NaN: that is not divergence.  (The forward-backward fit
    of the slow School test runs past the 9,284 snapshots of the budget and was
    reported as 'diverged within 278 task updates', its second check.)"""
    import warnings

    from skmtl import AsyncTraceNormMTLRegressor, TraceNormMTLRegressor
    from skmtl._amtl import _history

    monkeypatch.setattr(_history, "_SNAPSHOT_BYTES", 0)  # keep 16 snapshots
    prob, *_ = reference("squared")
    X = np.vstack(prob.Xs)
    Y = np.concatenate(prob.ys)
    tasks = np.repeat(np.arange(prob.T), [len(y) for y in prob.ys])
    X = np.column_stack([X, tasks])
    est = AsyncTraceNormMTLRegressor(
        alpha=prob.alpha,
        task_column=-1,
        backend=backend,
        splitting="forward-backward",
        tol=1e-8,
        max_iter=5000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converges: no ConvergenceWarning
        est.fit(X, Y)
    history = est.objective_history_
    assert len(history) > 16 and np.isnan(history["objective"]).any()
    ref = TraceNormMTLRegressor(alpha=prob.alpha, task_column=-1, tol=1e-10)
    ref.fit(X, Y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-5)

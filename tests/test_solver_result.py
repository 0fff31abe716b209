"""One result type for every solver, and fitted attributes written from it."""

import pickle

import numpy as np
import pytest

from skmtl import AsyncTraceNormMTLRegressor, TraceNormMTLRegressor
from skmtl._amtl import SequentialBackend, run_amtl
from skmtl.datafits._losses import LogisticLoss, SquaredLoss, TaskBlocks
from skmtl.solvers._admm import solve_quadratic
from skmtl.solvers._fista import SolverResult as ReExported
from skmtl.solvers._fista import fista, solve
from skmtl.solvers._gaps import alpha_max
from skmtl.solvers._result import SolverResult


def _blocks(seed=0, T=3, n=30, d=5, classify=False):
    rng = np.random.RandomState(seed)
    Xs = [rng.randn(n, d) for _ in range(T)]
    w = rng.randn(d)
    ys = [X @ w + 0.1 * rng.randn(n) for X in Xs]
    if classify:
        ys = [(y > 0).astype(float) * 2 - 1 for y in ys]
    return TaskBlocks(Xs, ys, [np.ones(n) for _ in range(T)], np.full(T, float(n)))


def test_reexported_from_fista():
    assert ReExported is SolverResult


def test_every_solver_returns_a_solver_result():
    blocks = _blocks()
    datafit = SquaredLoss(blocks, fit_intercept=False)
    alpha = 0.1 * alpha_max(datafit)
    res_admm = solve_quadratic(datafit.H, datafit.Q, datafit.c, alpha, tol=1e-8)
    res_solve = solve(datafit, alpha, tol=1e-8)
    res_fista = fista(LogisticLoss(_blocks(classify=True)), 0.01, tol=1e-6)
    res_amtl = run_amtl(datafit, alpha, SequentialBackend(), tol=1e-8)
    for res in (res_admm, res_solve, res_fista, res_amtl):
        assert type(res) is SolverResult
        assert res.converged and res.stop_reason == "converged"
        assert res.W.shape == (5, 3)
    # The solvers agree on the optimum (same problem, different algorithms).
    np.testing.assert_allclose(res_amtl.W, res_admm.W, atol=1e-5)
    # ADMM: no free intercepts, the final penalty in info, readable as .rho.
    assert res_admm.b is None and np.isfinite(res_admm.info["rho"])
    assert res_admm.rho == res_admm.info["rho"]
    # AMTL: the extras of the engine in info; the history is the objective one.
    assert res_amtl.n_iter == res_amtl.info["n_epochs"]
    assert res_amtl.gap == res_amtl.info["residual"]
    assert res_amtl.history is res_amtl.objective_history
    assert res_amtl.n_updates == res_amtl.n_iter * 3
    assert set(res_amtl.task_stats) >= {"n_updates", "staleness_max"}


def test_stop_reasons():
    datafit = LogisticLoss(_blocks(classify=True))
    capped = fista(datafit, 0.01, tol=0.0, max_iter=7)
    assert (capped.converged, capped.stop_reason, capped.n_iter) == (
        False,
        "max_iter",
        7,
    )
    stopped = fista(datafit, 0.01, tol=0.0, callback=lambda it, W, b: it == 3)
    assert (stopped.converged, stopped.stop_reason, stopped.n_iter) == (
        False,
        "callback",
        3,
    )
    sq = SquaredLoss(_blocks(), fit_intercept=False)
    admm = solve_quadratic(sq.H, sq.Q, sq.c, 0.01, tol=1e-15, max_iter=2)
    assert (admm.converged, admm.stop_reason) == (False, "max_iter")


def test_info_access_and_pickle():
    res = SolverResult(np.eye(2), None, np.zeros(1), 3, 0.5, False)
    assert res.stop_reason == "" and res.info is None
    with pytest.raises(AttributeError, match="no field or info entry 'rho'"):
        _ = res.rho
    more = res.with_info(rho=2.0)
    assert more.rho == 2.0 and res.info is None
    assert more.with_info(rho=3.0, k=1).info == {"rho": 3.0, "k": 1}
    again = pickle.loads(pickle.dumps(more))
    assert again.rho == 2.0 and again.n_iter == 3
    assert not hasattr(res, "missing")


@pytest.mark.parametrize(
    "est",
    [
        TraceNormMTLRegressor(alpha=0.05),
        AsyncTraceNormMTLRegressor(alpha=0.05, backend="sequential"),
    ],
    ids=["centralized", "async"],
)
def test_fitted_attributes_are_the_result(est, monkeypatch):
    """The base writes the solver's result, unchanged, as fitted attributes."""
    rng = np.random.RandomState(0)
    X = rng.randn(40, 4)
    Y = X @ rng.randn(4, 3)
    seen = []
    solve_of_class = type(est)._solve

    def spy(self, datafit, W0, b0, monitor=None):
        res = solve_of_class(self, datafit, W0, b0, monitor)
        seen.append(res)
        return res

    monkeypatch.setattr(type(est), "_solve", spy)
    est.fit(X, Y)
    (res,) = seen
    np.testing.assert_array_equal(est.coef_, res.W.T)
    assert est.n_iter_ == res.n_iter
    assert est.objective_history_ is res.objective_history
    for name, key in type(est)._result_attributes.items():
        value = getattr(res, key, None)
        if key == "updates_saved":  # only with a task_monitor
            assert not hasattr(est, name)
        else:
            assert getattr(est, name) is value or getattr(est, name) == value


@pytest.mark.parametrize(
    "policy, reason, converged",
    [("freeze", "tasks_converged", True), ("continue", "max_iter", False)],
)
def test_monitored_fista_says_why_it_stopped(policy, reason, converged):
    """A task monitor that stops FISTA early names the reason in the result."""
    from skmtl import TaskMonitor
    from skmtl.monitoring._hooks import fit_centralized, prepare_monitor
    from skmtl.utils._validation import validate_fit_data

    rng = np.random.RandomState(0)
    X = rng.randn(120, 5)
    Y = X @ rng.randn(5, 3) + 0.5 * rng.randn(120, 3)
    est = TraceNormMTLRegressor(
        alpha=0.01, task_monitor=TaskMonitor(policy=policy, random_state=0)
    )
    data, run = prepare_monitor(est, validate_fit_data(est, X, Y), None, None, False)
    # tol=0: only the monitor (or max_iter) can stop the solver.
    res = fit_centralized(
        SquaredLoss(data.blocks), 0.01, run, tol=0.0, max_iter=3000, verbose=0
    )
    assert type(res) is SolverResult
    assert (res.stop_reason, res.converged) == (reason, converged)
    assert res.n_iter < 3000 if converged else res.n_iter == 3000

"""The race of the data form against the sample form ('auto', squared loss).

The decision rule is checked on constructed inputs (gap sequences, cost
tables), never on timings; the race itself must reach the optimum of the
Gram-form solver whichever way it goes.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skmtl.datafits._losses import SquaredLoss, TaskBlocks
from skmtl.penalties import TraceNorm
from skmtl.solvers import _race
from skmtl.solvers._admm_sample import task_kernels
from skmtl.solvers._fista import solve
from skmtl.solvers._gaps import alpha_max
from skmtl.solvers._race import (
    break_even_iterations,
    predict_remaining,
    should_switch,
    wants_race,
)


def test_predict_remaining_geometric_decay():
    # gap_k = 0.5 * q^k: from gap g to tol takes log(g / tol) / log(1 / q).
    q, tol = 0.7, 1e-6
    checks = [(k, 0.5 * q**k) for k in (5, 10, 20)]
    expected = math.log(checks[-1][1] / tol) / math.log(1 / q)
    assert math.isclose(predict_remaining(checks, tol), expected, rel_tol=1e-12)
    # The average rate since the first check: a non-monotone middle check
    # (a FISTA restart) does not change the prediction.
    bumpy = [checks[0], (10, 0.9), checks[2]]
    assert math.isclose(predict_remaining(bumpy, tol), expected, rel_tol=1e-12)


def test_predict_remaining_edge_cases():
    tol = 1e-6
    assert predict_remaining([], tol) == math.inf
    assert predict_remaining([(5, 0.1)], tol) == math.inf
    assert predict_remaining([(5, 0.1), (10, 0.1)], tol) == math.inf  # no decay
    assert predict_remaining([(5, 0.1), (10, 0.2)], tol) == math.inf
    assert predict_remaining([(5, 0.1), (10, 1e-7)], tol) == 0.0


def test_break_even_iterations_arithmetic():
    costs = {"sample": (1000.0, 20.0), "data": (100.0, 10.0), "gram": (0.0, 0.0)}
    before, after = break_even_iterations(costs)
    total = 1000.0 + _race.ADMM_EXPECTED * 20.0
    assert before == pytest.approx((total - 100.0) / 10.0)
    assert after == pytest.approx(total / 10.0)


def test_should_switch_decisions():
    tol = 1e-6
    fast = [(5, 0.46), (10, 0.047)]  # measured, T = 1000, d = 200: 24 more
    slow = [(5, 0.19), (10, 0.169)]  # measured, T = 100, d = 5000: ~520 more
    assert not should_switch(fast, tol, after=74.0)
    assert should_switch(slow, tol, after=52.0)
    # One check never decides; a break-even beyond the prediction keeps FISTA.
    assert not should_switch(slow[:1], tol, after=0.0)
    assert not should_switch(slow, tol, after=1e4)


def _blocks(sizes, d, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, 2)) @ rng.normal(size=(2, len(sizes)))
    Xs = [rng.normal(size=(n, d)) + 0.5 for n in sizes]
    ys = [X @ W[:, t] + rng.normal(size=X.shape[0]) for t, X in enumerate(Xs)]
    ss = [rng.uniform(0.5, 2.0, n) for n in sizes]
    return TaskBlocks(Xs, ys, ss, np.array([s.sum() for s in ss]))


def test_task_kernels_are_the_per_task_kernels():
    from skmtl.datafits._linalg import centered_kernel

    blocks = _blocks([6, 9, 7], 15)
    df = SquaredLoss(blocks, form="sample")
    K = task_kernels(df)
    assert [k.shape for k in K] == [(6, 6), (9, 9), (7, 7)]
    for t, X in enumerate(blocks.Xs):
        ref = centered_kernel(
            X, blocks.sample_weights[t], df.xbar[:, t], blocks.scales[t]
        )
        assert_allclose(K[t], ref, rtol=1e-12, atol=1e-12)
    # The race's Lipschitz constants: the top eigenvalue of each kernel.
    top = _race._top_eigenvalues(K)
    assert_allclose(top, [np.linalg.eigvalsh(k)[-1] for k in K], rtol=1e-10)


def test_race_lipschitz_on_a_known_diagonal_case(monkeypatch):
    # X_t = [diag(sigma_t), 0] (n_t = 3 < d = 8), unit weights, no centering:
    # K_t = diag(sigma_t^2), so L_t = max(sigma_t)^2 exactly.
    sig = np.array([[1.0, 2.0, 3.0], [0.5, 4.0, 1.5]])
    Xs = [np.hstack([np.diag(s), np.zeros((3, 5))]) for s in sig]
    ys = [np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.0, -1.0])]
    blocks = TaskBlocks(Xs, ys, [np.ones(3)] * 2, np.ones(2))
    df = SquaredLoss(blocks, fit_intercept=False, form="auto")
    monkeypatch.setattr(_race, "RACE_MIN_ITERS", -math.inf)
    df.form = "sample"  # what 'auto' chooses for large sizes
    assert wants_race(df)
    res = solve(df, 0.5, tol=1e-10)
    assert_allclose(df.lipschitz, [9.0, 16.0], rtol=1e-12)
    assert res.converged and res.info["race"][0] in ("data", "sample")


@pytest.mark.parametrize("switch", [False, True])
def test_race_either_way_reaches_the_gram_optimum(monkeypatch, switch):
    blocks = _blocks([10, 12, 8, 15, 9], 30)
    ref = SquaredLoss(blocks, form="gram")
    alpha = 0.2 * alpha_max(ref, TraceNorm())
    W_ref = solve(ref, alpha, tol=1e-12).W
    P_ref = ref.value(W_ref) + alpha * np.linalg.svd(W_ref, compute_uv=False).sum()

    df = SquaredLoss(blocks, form="auto")
    df.form = "sample"
    monkeypatch.setattr(_race, "RACE_MIN_ITERS", -math.inf)
    monkeypatch.setattr(_race, "should_switch", lambda *a: switch)
    res = solve(df, alpha, tol=1e-10, max_iter=50_000)
    assert res.converged
    assert res.info["race"][0] == ("sample" if switch else "data")
    if switch:  # the probe ran to the first two checks, then ADMM
        assert res.info["race"][1] == _race.PROBE_FIRST
        assert df.race_winner == "sample" and not wants_race(df)
    assert df._kernels is None  # not held beyond the race
    P = df.value(res.W) + alpha * np.linalg.svd(res.W, compute_uv=False).sum()
    assert abs(P - P_ref) <= 1e-8 * abs(P_ref)


def test_no_race_unless_auto_sample_and_worth_it():
    blocks = _blocks([10, 12, 8], 30)
    for form in ("gram", "data", "sample"):  # asked for explicitly
        assert not wants_race(SquaredLoss(blocks, form=form))
    df = SquaredLoss(blocks, form="auto")
    df.form = "sample"
    # Tiny problem: the sample solve costs less than RACE_MIN_ITERS FISTA
    # iterations by the cost model, so FISTA cannot win.
    before, _ = break_even_iterations(_race.race_costs(df))
    assert wants_race(df) == (before >= _race.RACE_MIN_ITERS)


def test_race_threshold_on_the_benchmark_sizes():
    # By the cost model alone: at T = 1000, d = 200 the best plausible FISTA
    # beats the sample form by more than a probe (race); at T = 100, d = 5000
    # it cannot (the sample form at once, no probe lost).
    from skmtl.datafits._linalg import form_costs

    def before(T, d):
        costs = form_costs([100] * T, d, 100 * T * d, per_iteration=True)
        return break_even_iterations(costs)[0]

    assert before(1000, 200) >= _race.RACE_MIN_ITERS
    assert before(100, 5000) < _race.RACE_MIN_ITERS


def test_race_never_switches_without_budget_for_admm(monkeypatch):
    """A switch with fewer than ADMM_EXPECTED iterations left would replace
    FISTA's progress by a few ADMM iterations from scratch: FISTA keeps its
    model, and after a switch n_iter counts both solvers' iterations."""
    blocks = _blocks([10, 12, 8, 15, 9], 30)
    df = SquaredLoss(blocks, form="auto")
    alpha = 0.05 * alpha_max(df, TraceNorm())
    monkeypatch.setattr(_race, "RACE_MIN_ITERS", -math.inf)
    monkeypatch.setattr(_race, "should_switch", lambda *a: True)

    def race(max_iter):
        d = SquaredLoss(blocks, form="auto")
        d.form = "sample"
        return solve(d, alpha, tol=1e-14, max_iter=max_iter)

    short = race(_race.ADMM_EXPECTED)  # no budget for ADMM at any check
    assert short.info["race"][0] == "data" and short.n_iter == _race.ADMM_EXPECTED
    fista_only = solve(
        SquaredLoss(blocks, form="data"), alpha, tol=1e-14, max_iter=_race.ADMM_EXPECTED
    )
    np.testing.assert_allclose(short.W, fista_only.W, rtol=0, atol=1e-12)

    long = race(100)
    assert long.info["race"] == ("sample", _race.PROBE_FIRST)
    admm = solve(
        SquaredLoss(blocks, form="sample"),
        alpha,
        tol=1e-14,
        max_iter=100 - _race.PROBE_FIRST,
    )
    assert long.n_iter == _race.PROBE_FIRST + admm.n_iter
    np.testing.assert_allclose(long.W, admm.W, rtol=0, atol=1e-12)

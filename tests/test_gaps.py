"""The logistic certificate: optimal intercepts and the soundness of the gap.

``relative_gap`` (solvers/_gaps.py) refines the intercepts of a logistic
data-fit to their optimum for ``W`` before evaluating the dual; the dual is a
lower bound of the optimum only when that refinement reaches the root of each
task's derivative.  Checked here against independent oracles: scipy's
``brentq`` for the 1-D roots and cvxpy's optimum (evaluated with our own
objective, so it is a feasible value) for the gap.
"""

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit

from skmtl.datafits._losses import LogisticLoss, TaskBlocks, _intercept_newton
from skmtl.solvers._fista import solve
from skmtl.solvers._gaps import alpha_max, penalized_objective, relative_gap

# No overflow or invalid-value warning anywhere (the estimator checks of
# scikit-learn turn them into errors).
pytestmark = pytest.mark.filterwarnings("error")


def logistic(T=4, d=3, seed=0, weighted=True, scaling="mean"):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, 2)) @ rng.standard_normal((2, T))
    Xs, ys, ss = [], [], []
    for t in range(T):
        n = 30 + 7 * t
        X = rng.standard_normal((n, d)) * (1.0 + 3.0 * t)
        y = np.where(X @ W[:, t] + t - 1.5 + rng.logistic(size=n) > 0, 1.0, -1.0)
        s = rng.uniform(0.0, 2.0, n) if weighted else np.ones(n)
        if weighted:
            s[:3] = 0.0  # zero-weight rows
        Xs.append(X)
        ys.append(y)
        ss.append(s)
    scales = np.array([s.sum() if scaling == "mean" else 1.0 for s in ss])
    return LogisticLoss(TaskBlocks(Xs, ys, ss, scales), fit_intercept=True)


def intercept_derivative(df, t, w, bt):
    X, y, s = df.blocks.Xs[t], df.blocks.ys[t], df.blocks.sample_weights[t]
    return -(s * y * expit(-y * (X @ w + bt))).sum()


def brentq_intercept(df, t, w):
    return brentq(lambda c: intercept_derivative(df, t, w, c), -60, 60, xtol=1e-14)


@pytest.mark.parametrize("start", [0.0, 40.0, -1e3, 1e6])
@pytest.mark.parametrize("spread", [0.0, 1.0, 5.0])
def test_optimal_intercept_is_the_root_from_any_start(start, spread):
    df = logistic(seed=1)
    rng = np.random.default_rng(2)
    W = spread * rng.standard_normal((df.n_features, df.n_tasks))
    b = df.optimal_intercept(W, np.full(df.n_tasks, start))
    for t in range(df.n_tasks):
        ref = brentq_intercept(df, t, W[:, t])
        assert b[t] == pytest.approx(ref, abs=1e-9)
        s = df.blocks.sample_weights[t]
        assert abs(intercept_derivative(df, t, W[:, t], b[t])) <= 1e-12 * s.sum()


def test_optimal_intercept_at_zero_is_the_log_odds():
    df = logistic(seed=3)
    W = np.zeros((df.n_features, df.n_tasks))
    b = df.optimal_intercept(W, np.zeros(df.n_tasks))
    np.testing.assert_allclose(b, df.initial_intercept(), atol=1e-12)
    # A task whose derivative is exactly zero (all weights zero) stops at
    # once, unbracketed, while the others iterate.
    ref = df.initial_intercept()
    df.blocks.sample_weights[1][:] = 0.0
    b = df.optimal_intercept(W, np.zeros(df.n_tasks))
    assert b[1] == 0.0
    np.testing.assert_allclose(b[2:], ref[2:], atol=1e-12)


def test_intercept_newton_stops_at_rounding_and_never_loops():
    # g is exactly zero on a whole interval around the root (its rounding
    # level there) and its curvature underflows to zero far out (tanh
    # saturates at 1): every start ends in the flat interval well within
    # the step budget, without comparing function values.
    calls = []

    def deriv(b):
        calls.append(1)
        g = np.where(np.abs(b - 1.0) < 1e-3, 0.0, np.tanh(b - 1.0))
        return g, 1.0 - np.tanh(b - 1.0) ** 2, np.ones_like(b)

    starts = np.array([0.0, 30.0, -30.0, 1e8])
    b = _intercept_newton(deriv, starts, 0.0, 200)
    assert len(calls) < 100
    np.testing.assert_allclose(b, 1.0, atol=1e-3)


def test_soft_target_intercept_is_the_root():
    df = logistic(seed=4)
    rng = np.random.default_rng(5)
    q = rng.uniform(0, 1, df.blocks.ys[1].size)
    df.set_task_soft_targets(1, q, weight=0.5, temperature=2.0)
    W = rng.standard_normal((df.n_features, df.n_tasks))
    b = df.optimal_intercept(W, np.full(df.n_tasks, 25.0))
    gb = df.gradient(W, b)[1]
    np.testing.assert_allclose(gb, 0.0, atol=1e-12)


def cvxpy_solution(df, alpha):
    cp = pytest.importorskip("cvxpy")
    d, T = df.n_features, df.n_tasks
    W = cp.Variable((d, T))
    b = cp.Variable(T)
    terms = []
    for t in range(T):
        X, y, s = df.blocks.Xs[t], df.blocks.ys[t], df.blocks.sample_weights[t]
        m = X @ W[:, t] + b[t]
        per_row = cp.logistic(-cp.multiply(y, m))
        terms.append(cp.sum(cp.multiply(s, per_row)) / df.blocks.scales[t])
    problem = cp.Problem(cp.Minimize(sum(terms) + alpha * cp.normNuc(W)))
    problem.solve(solver=cp.CLARABEL)
    assert problem.status == cp.OPTIMAL
    return W.value, b.value


@pytest.mark.parametrize("scaling", ["mean", "sum"])
@pytest.mark.parametrize("ratio", [0.02, 0.2])
def test_certified_gap_bounds_the_distance_to_the_optimum(scaling, ratio):
    df = logistic(seed=6, scaling=scaling)
    alpha = ratio * alpha_max(df)
    # Upper bounds of min P: our own objective at cvxpy's (feasible) point and
    # at proximal Newton's.
    W_cvx, b_cvx = cvxpy_solution(df, alpha)
    ref = solve(df, alpha, tol=1e-12)
    upper = min(
        penalized_objective(df, None, W_cvx, b_cvx, alpha),
        penalized_objective(df, None, ref.W, ref.b, alpha),
    )
    rng = np.random.default_rng(7)
    for noise in [0.0, 1e-9, 1e-6, 1e-3, 1.0]:
        W = ref.W + noise * rng.standard_normal(ref.W.shape)
        b0 = ref.b + noise * rng.standard_normal(ref.b.shape) + 3.0
        gap, primal, b = relative_gap(df, W, b0, alpha)
        assert primal == pytest.approx(penalized_objective(df, None, W, b, alpha))
        dual = primal - gap * primal
        # Weak duality: the dual value is below min P <= upper (rounding aside).
        assert dual <= upper + 1e-13 * abs(upper)
        if noise == 0.0:  # tight at the optimum
            assert gap <= 1e-10

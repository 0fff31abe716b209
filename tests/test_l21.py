"""The l2,1 penalty and its estimators, against independent references.

* the penalty: prox optimality conditions, the dual norm through Fenchel-Young
  and its maximizer, the incremental prox of the AMTL central node;
* the centralized estimators: scikit-learn's ``MultiTaskLasso`` (shared
  design, 'mean' scaling, same objective), cvxpy's optimum on small
  long-format problems (both losses, scalings, weights, intercepts),
  ``alpha_max`` (closed form, and the zero solution it gives), and the duality
  gap as a certificate;
* the asynchronous estimators: the centralized optimum on the sequential,
  threading, simulated and Dask backends.

The objective and ``alpha_max`` are written here with numpy only.
"""

import warnings
import zlib

import numpy as np
import pytest
from _checks import expected_failed_checks, long_format_pipeline
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import MultiTaskLasso
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmtl import (
    AsyncL21MTLClassifier,
    AsyncL21MTLRegressor,
    L21MTLClassifier,
    L21MTLClassifierCV,
    L21MTLRegressor,
    L21MTLRegressorCV,
    TraceNormMTLRegressor,
    alpha_max,
)
from skmtl.datafits._losses import SquaredLoss, TaskBlocks
from skmtl.penalties import (
    L21,
    IncrementalProx,
    Penalty,
    TraceNorm,
    l21_norm,
    make_penalty,
    prox_l21,
)
from skmtl.solvers._admm import solve_quadratic
from skmtl.solvers._fista import fista
from skmtl.solvers._gaps import duality_gap, relative_gap

CENTRAL = {"squared": L21MTLRegressor, "logistic": L21MTLClassifier}
ASYNC = {"squared": AsyncL21MTLRegressor, "logistic": AsyncL21MTLClassifier}
UNEVEN = (23, 9, 40, 14)  # task sizes in long format


# --------------------------------------------------------------------------- #
# Independent helpers
# --------------------------------------------------------------------------- #
def row_norms(W):
    return np.array([np.sqrt(np.sum(row**2)) for row in W])


def signed(y):
    return np.where(y == np.max(y), 1.0, -1.0)


def make_tasks(rng, loss, sizes, d=6, n_relevant=2, shared_X=None):
    """Per-task (Xs, ys) whose weights use the same few features."""
    Xs, ys = [], []
    for n in sizes:
        X = rng.randn(n, d) if shared_X is None else shared_X
        w = np.zeros(d)
        w[:n_relevant] = rng.randn(n_relevant) + 1.0
        margin = X @ w + rng.randn()
        if loss == "squared":
            y = margin + 0.5 * rng.randn(n)
        else:
            y = (margin + 1.5 * rng.logistic(size=n) > 0).astype(int)
            y[:2] = [0, 1]
        Xs.append(X)
        ys.append(y)
    return Xs, ys


def stack(Xs, ys):
    X = np.vstack([np.column_stack([X, np.full(len(X), t)]) for t, X in enumerate(Xs)])
    return X, np.concatenate(ys)


def objective(Xs, ys, ss, W, b, alpha, loss, scaling):
    """sum_t (1/c_t) sum_i s_i loss_i + alpha sum_j ||W_j,:||."""
    total = 0.0
    for t, (X, y, s) in enumerate(zip(Xs, ys, ss, strict=True)):
        m = X @ W[:, t] + b[t]
        if loss == "squared":
            per_row = 0.5 * (y - m) ** 2
        else:
            per_row = np.logaddexp(0.0, -signed(y) * m)
        c = s.sum() if scaling == "mean" else 1.0
        total += s @ per_row / c
    return total + alpha * row_norms(W).sum()


def alpha_max_reference(Xs, ys, ss, loss, scaling, fit_intercept):
    """Largest row norm of the gradient at W = 0 (intercepts optimal there)."""
    G = []
    for X, y, s in zip(Xs, ys, ss, strict=True):
        c = s.sum() if scaling == "mean" else 1.0
        if loss == "squared":
            b = s @ y / s.sum() if fit_intercept else 0.0
            residual = y - b
        else:
            ys_ = signed(y)
            p = s[ys_ > 0].sum() / s.sum()
            b = np.log(p / (1 - p)) if fit_intercept else 0.0
            residual = ys_ * expit(-ys_ * b)
        G.append(-X.T @ (s * residual) / c)
    return row_norms(np.column_stack(G)).max()


def cvxpy_optimum(Xs, ys, ss, alpha, loss, scaling, fit_intercept):
    cp = pytest.importorskip("cvxpy")
    d, T = Xs[0].shape[1], len(Xs)
    W = cp.Variable((d, T))
    b = cp.Variable(T) if fit_intercept else np.zeros(T)
    terms = []
    for t, (X, y, s) in enumerate(zip(Xs, ys, ss, strict=True)):
        m = X @ W[:, t] + b[t]
        c = s.sum() if scaling == "mean" else 1.0
        if loss == "squared":
            per_row = 0.5 * cp.square(y - m)
        else:
            per_row = cp.logistic(-cp.multiply(signed(y), m))
        terms.append(cp.sum(cp.multiply(s, per_row)) / c)
    penalty = cp.sum(cp.norm(W, 2, axis=1))
    problem = cp.Problem(cp.Minimize(sum(terms) + alpha * penalty))
    problem.solve(solver=cp.CLARABEL)
    assert problem.status == cp.OPTIMAL
    return problem.value


def fit(est, Xs, ys, ss, mode):
    if mode == "shared":
        est.set_params(task_column=None)
        return est.fit(Xs[0], np.column_stack(ys), sample_weight=ss[0])
    est.set_params(task_column=-1)
    X, y = stack(Xs, ys)
    return est.fit(X, y, sample_weight=np.concatenate(ss))


def problem(loss, mode, seed, weighted=False):
    rng = np.random.RandomState(seed)
    if mode == "shared":
        X = rng.randn(30, 6)
        Xs, ys = make_tasks(rng, loss, [30] * 4, shared_X=X)
        s = rng.uniform(0.1, 3.0, 30) if weighted else np.ones(30)
        ss = [s] * 4
    else:
        Xs, ys = make_tasks(rng, loss, UNEVEN)
        ss = [
            rng.uniform(0.1, 3.0, len(X)) if weighted else np.ones(len(X)) for X in Xs
        ]
    return Xs, ys, ss


# --------------------------------------------------------------------------- #
# The penalty objects
# --------------------------------------------------------------------------- #
PENALTIES = [L21(), TraceNorm(), L21().transposed()]


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("threshold", [0.0, 0.3, 1.5, 100.0])
def test_prox_optimality_conditions(penalty, threshold, rng):
    """P = prox(V) iff V - P is in theta * dOmega(P): for a norm, that is
    Omega*(V - P) <= theta and <V - P, P> = theta * Omega(P)."""
    V = rng.randn(7, 4)
    V[2] *= 0.05  # a row that L21 zeroes for the middle thresholds
    P = penalty.prox(V, threshold)
    assert P.shape == V.shape and P is not V
    scale = np.linalg.norm(V)
    assert penalty.dual_norm(V - P) <= threshold + 1e-12 * scale
    assert_allclose(
        np.vdot(V - P, P), threshold * penalty.value(P), atol=1e-12 * scale**2
    )

    # And it minimizes 0.5 ||P - V||^2 + theta Omega(P) against perturbations.
    def f(Z):
        return 0.5 * np.sum((Z - V) ** 2) + threshold * penalty.value(Z)

    for _ in range(20):
        assert f(P) <= f(P + 1e-3 * rng.randn(*V.shape)) + 1e-14


def test_prox_l21_is_group_soft_thresholding(rng):
    V = rng.randn(6, 3)
    V[[1, 4]] *= 0.1
    theta = 0.5
    expected = np.zeros_like(V)
    for j in range(6):
        norm = np.sqrt(np.sum(V[j] ** 2))
        if norm > theta:
            expected[j] = (1 - theta / norm) * V[j]
    P = prox_l21(V, theta)
    assert_allclose(P, expected, rtol=1e-14, atol=1e-15)
    assert_array_equal(P[[1, 4]], 0.0)
    assert_array_equal(prox_l21(V, 0.0), V)
    assert_array_equal(prox_l21(V, 10.0), 0.0)
    # float32 in, float32 out; integers in, float64 out.
    assert prox_l21(V.astype(np.float32), theta).dtype == np.float32
    assert prox_l21(np.ones((2, 2), dtype=int), 0.5).dtype == np.float64


def test_l21_extreme_magnitudes_do_not_overflow():
    for big in (1e-200, 1e200):
        V = np.array([[3.0, 4.0], [0.0, 1.0]]) * big
        assert_allclose(l21_norm(V), 6.0 * big, rtol=1e-15)
        assert_allclose(L21().dual_norm(V), 5.0 * big, rtol=1e-15)
        assert_allclose(prox_l21(V, big)[0], [2.4 * big, 3.2 * big], rtol=1e-14)


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_dual_norm_by_fenchel_young(penalty, rng):
    """<G, W> <= Omega(W) Omega*(G) for every W, with equality at a maximizer."""
    G = rng.randn(5, 3)
    dual = penalty.dual_norm(G)
    for _ in range(200):
        W = rng.randn(5, 3) * rng.rand(5, 1)
        assert np.vdot(G, W) <= penalty.value(W) * dual * (1 + 1e-12)
    if isinstance(penalty, TraceNorm):
        U, s, Vt = np.linalg.svd(G)
        W_star = np.outer(U[:, 0], Vt[0])
    elif isinstance(penalty, L21):
        j = np.argmax(row_norms(G))
        W_star = np.zeros_like(G)
        W_star[j] = G[j] / np.linalg.norm(G[j])
    else:  # L21 on the transpose: the largest column norm
        j = np.argmax(row_norms(G.T))
        W_star = np.zeros_like(G)
        W_star[:, j] = G[:, j] / np.linalg.norm(G[:, j])
    assert_allclose(penalty.value(W_star), 1.0, rtol=1e-12)
    assert_allclose(np.vdot(G, W_star), dual, rtol=1e-12)


def test_transposed_penalty(rng):
    W = rng.randn(5, 3)
    t = L21().transposed()
    assert t.transposed() == L21()
    assert t.value(W.T) == L21().value(W)
    assert t.dual_norm(W.T) == L21().dual_norm(W)
    assert_array_equal(t.prox(W.T, 0.7), L21().prox(W, 0.7).T)
    assert TraceNorm().transposed() is not None
    assert TraceNorm().transposed() == TraceNorm()


@pytest.mark.parametrize("penalty", [L21(), TraceNorm()], ids=repr)
def test_incremental_prox_matches_prox(penalty, rng):
    V = rng.randn(6, 4)
    inc = penalty.incremental_prox(V, 0.8)
    assert_allclose(inc.refresh(), penalty.prox(V, 0.8), atol=1e-12)
    for t, scale in [(1, 0.1), (3, 2.0), (1, 1.0)]:
        V[:, t] = scale * rng.randn(6)
        inc.set_column(t, V[:, t])
    P = inc.refresh()
    assert_allclose(P, penalty.prox(V, 0.8), atol=1e-12)
    assert_allclose(inc.column(2), P[:, 2])
    inc.set_threshold(0.2)
    assert_allclose(inc.refresh(), penalty.prox(V, 0.2), atol=1e-12)
    assert not inc.V.flags.writeable


def test_generic_incremental_prox_validates(rng):
    inc = IncrementalProx(L21(), rng.randn(4, 3), 0.5)
    n = inc.n_refreshes
    assert inc.refresh() is inc.refresh() and inc.n_refreshes == n  # cached
    with pytest.raises(IndexError, match="out of range for 3 tasks"):
        inc.set_column(3, np.zeros(4))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        inc.set_column(0, np.zeros(5))
    with pytest.raises(ValueError, match="NaN or infinity"):
        inc.set_column(0, np.full(4, np.nan))
    with pytest.raises(ValueError, match="2-D"):
        IncrementalProx(L21(), np.zeros(4), 0.5)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="penalty must be None, one of"):
        make_penalty("l1")
    with pytest.raises(ValueError, match="2-D"):
        prox_l21(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        l21_norm(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="threshold must be a non-negative"):
        prox_l21(np.zeros((2, 2)), -1.0)
    with pytest.raises(ValueError, match="G must be a 2-D"):
        L21().dual_norm(np.zeros(3))
    with pytest.raises(TypeError):
        Penalty()  # abstract


def test_make_penalty_and_repr():
    assert make_penalty(None) == TraceNorm() and make_penalty("trace") == TraceNorm()
    assert make_penalty("l21") == L21()
    pen = L21()
    assert make_penalty(pen) is pen
    assert repr(pen) == "L21()" and repr(TraceNorm()) == "TraceNorm()"
    assert L21() != TraceNorm() and len({L21(), L21(), TraceNorm()}) == 2
    assert L21().prox_state() is None


# --------------------------------------------------------------------------- #
# Centralized estimators
# --------------------------------------------------------------------------- #
def lasso_objective(X, Y, coef, intercept, alpha):
    """MultiTaskLasso's objective, coef_ of shape (n_tasks, n_features)."""
    R = Y - X @ coef.T - intercept
    return np.sum(R**2) / (2 * X.shape[0]) + alpha * row_norms(coef.T).sum()


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_matches_multitask_lasso(fit_intercept):
    """Shared design, 'mean' scaling: MultiTaskLasso's objective
    (1 / 2n) ||Y - X W - b||_F^2 + alpha ||W||_21 is ours."""
    rng = np.random.RandomState(1 + fit_intercept)
    n, d, T = 50, 12, 5
    X = rng.randn(n, d) * np.linspace(0.3, 3.0, d)
    W = np.zeros((d, T))
    W[:4] = rng.randn(4, T)
    Y = X @ W + 0.3 * rng.randn(n, T) + 2.0
    for ratio in (0.5, 0.1, 0.01):
        alpha = ratio * alpha_max(X, Y, fit_intercept=fit_intercept, penalty="l21")
        sk = MultiTaskLasso(
            alpha=alpha, fit_intercept=fit_intercept, tol=1e-14, max_iter=200_000
        ).fit(X, Y)
        ours = L21MTLRegressor(alpha=alpha, fit_intercept=fit_intercept, tol=1e-10)
        ours.fit(X, Y)

        f_ours = lasso_objective(X, Y, ours.coef_, ours.intercept_, alpha)
        f_sk = lasso_objective(X, Y, sk.coef_, sk.intercept_, alpha)
        assert abs(f_ours - f_sk) <= 1e-6 * f_sk
        assert f_ours <= f_sk * (1 + 1e-9)  # certified: never worse
        assert_allclose(ours.objective_history_[-1], f_ours, rtol=1e-9)
        assert_allclose(ours.coef_, sk.coef_, atol=1e-4 * np.abs(sk.coef_).max())
        # The same features are selected.
        assert_array_equal(
            np.abs(ours.coef_).sum(axis=0) > 1e-8, np.abs(sk.coef_).sum(axis=0) > 0
        )


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("scaling", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_objective_matches_cvxpy(loss, scaling, fit_intercept, weighted):
    seed = zlib.crc32(repr((loss, scaling, fit_intercept, weighted)).encode())
    Xs, ys, ss = problem(loss, "long", seed, weighted)
    Xs = [X * np.array([4.0, 1, 1, 1, 1, 0.3]) for X in Xs]
    amax = alpha_max_reference(Xs, ys, ss, loss, scaling, fit_intercept)
    alpha = 0.1 * amax
    est = CENTRAL[loss](alpha=alpha, loss_scaling=scaling, fit_intercept=fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit(est, Xs, ys, ss, "long")
    W, b = est.coef_.T, est.intercept_
    if not fit_intercept:
        assert_array_equal(b, 0.0)
    ours = objective(Xs, ys, ss, W, b, alpha, loss, scaling)
    best = cvxpy_optimum(Xs, ys, ss, alpha, loss, scaling, fit_intercept)
    assert abs(ours - best) <= 1e-6 * abs(best)
    assert_allclose(est.objective_history_[-1], ours, rtol=1e-9)
    assert 0 <= est.dual_gap_ <= est.tol
    assert np.abs(W).max() > 1e-3


@pytest.mark.parametrize("mode", ["long", "shared"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("scaling", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_alpha_max_gives_zero(loss, scaling, fit_intercept, mode):
    seed = zlib.crc32(repr((loss, scaling, fit_intercept, mode)).encode())
    Xs, ys, ss = problem(loss, mode, seed)
    expected = alpha_max_reference(Xs, ys, ss, loss, scaling, fit_intercept)
    if mode == "shared":
        X, y, kw = Xs[0], np.column_stack(ys), dict(task_column=None)
    else:
        (X, y), kw = stack(Xs, ys), dict(task_column=-1)
    a_max = alpha_max(
        X,
        y,
        loss=loss,
        fit_intercept=fit_intercept,
        loss_scaling=scaling,
        penalty="l21",
        **kw,
    )
    assert_allclose(a_max, expected, rtol=1e-10)
    # It differs from the trace norm's (the spectral norm of the same gradient).
    trace = alpha_max(
        X, y, loss=loss, fit_intercept=fit_intercept, loss_scaling=scaling, **kw
    )
    assert a_max <= trace * (1 + 1e-12)
    common = dict(loss_scaling=scaling, fit_intercept=fit_intercept, **kw)
    at_max = CENTRAL[loss](alpha=a_max, **common).fit(X, y)
    assert_allclose(at_max.coef_, 0.0, atol=1e-12)
    above = CENTRAL[loss](alpha=(1 + 1e-7) * a_max, **common).fit(X, y)
    assert_array_equal(above.coef_, 0.0)
    # Just below alpha_max, one feature enters: the row of the largest norm.
    below = CENTRAL[loss](alpha=0.99 * a_max, **common).fit(X, y)
    assert np.flatnonzero(np.abs(below.coef_).sum(axis=0)).size == 1


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_duality_gap_certifies(loss):
    """The dual value is a lower bound on the optimum at any point, and the
    gap closes at the solution."""
    Xs, ys, ss = problem(loss, "long", 5)
    alpha = 0.1 * alpha_max_reference(Xs, ys, ss, loss, "mean", True)
    est = fit(CENTRAL[loss](alpha=alpha, tol=1e-10), Xs, ys, ss, "long")
    best = objective(Xs, ys, ss, est.coef_.T, est.intercept_, alpha, loss, "mean")
    datafit = est._make_datafit(
        TaskBlocks(
            Xs,
            [signed(y) if loss == "logistic" else y for y in ys],
            ss,
            np.array([s.sum() for s in ss]),
        )
    )
    rng = np.random.RandomState(0)
    for noise in (0.0, 0.01, 1.0):
        W = est.coef_.T + noise * rng.randn(*est.coef_.T.shape)
        b = datafit.optimal_intercept(W, est.intercept_) if loss == "logistic" else None
        primal, dual, gap = duality_gap(datafit, L21(), W, b, alpha)
        assert dual <= best * (1 + 1e-9)
        assert_allclose(gap, primal - dual)
        if noise == 0.0:
            assert gap <= 1e-8 * primal
        rel, _, _ = relative_gap(datafit, W, b, alpha, L21())
        assert rel >= 0


def test_fista_and_admm_agree_on_the_squared_loss(rng):
    """The same L21 problem through ADMM (Gram form) and FISTA (data form)."""
    Xs, ys, ss = problem("squared", "long", 7)
    blocks = TaskBlocks(Xs, ys, ss, np.array([s.sum() for s in ss]))
    gram = SquaredLoss(blocks, use_gram=True)
    data = SquaredLoss(blocks, use_gram=False)
    alpha = 0.2 * row_norms(gram.gradient_at_zero()).max()
    res_admm = solve_quadratic(gram.H, gram.Q, gram.c, alpha, tol=1e-10, penalty=L21())
    res_fista = fista(data, alpha, penalty=L21(), tol=1e-10, max_iter=100_000)
    assert res_admm.converged and res_fista.converged
    f = [data.value(r.W) + alpha * l21_norm(r.W) for r in (res_admm, res_fista)]
    assert_allclose(f[0], f[1], rtol=1e-8)
    assert_allclose(res_admm.W, res_fista.W, atol=1e-4 * np.abs(res_admm.W).max())
    # Whole rows are zero, and the trace-norm default gives another solution.
    zero_rows = np.all(res_admm.W == 0, axis=1)
    assert zero_rows.any() and not zero_rows.all()
    trace = solve_quadratic(gram.H, gram.Q, gram.c, alpha, tol=1e-10)
    assert not np.allclose(trace.W, res_admm.W)


def test_support_step_closed_form():
    """The step at which a row of W + s dW reaches zero: rows heading
    straight to zero count, rows passing by zero or moving away do not."""
    W = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    dW = np.array([[-0.3, -0.4], [-0.5, 0.5], [0.0, 1.0], [-0.25, -0.25]])
    # Row 0 reaches zero at s = 10, row 3 at s = 4; row 1 passes at distance
    # 1/sqrt(2) (half its norm), row 2 grows.
    assert L21().support_step(W, dW) == pytest.approx(4.0)
    assert L21().support_step(W[:3], dW[:3]) == pytest.approx(10.0)
    assert L21().support_step(W[1:3], dW[1:3]) == np.inf
    assert L21().support_step(W, np.zeros_like(W)) == np.inf
    # The trace norm has none: ADMM never extrapolates with it.
    assert not hasattr(TraceNorm(), "support_step")


def near_duplicate_problem(seed, n=200, d=30, T=8):
    """Shared design in which columns 4 and 5, 6 and 7 are nearly collinear
    (as Jitter:RAP and Jitter:DDP = 3 RAP, rounded, in standardized
    Parkinson's): the l2,1 objective is almost flat along the exchange of
    weight between their rows."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 5] = X[:, 4] * (1 + 1e-4 * rng.standard_normal(n))
    X[:, 7] = X[:, 6] + 1e-5 * rng.standard_normal(n)
    W = np.zeros((d, T))
    W[:10] = rng.standard_normal((10, T))
    return X, X @ W + 0.5 * rng.standard_normal((n, T)) + 1.0


@pytest.mark.parametrize("ratio", [0.5, 0.1, 0.01])
@pytest.mark.parametrize("seed", [0, 1])
def test_near_duplicate_features_converge(seed, ratio):
    """ADMM drifted along the nearly flat exchange between two collinear rows
    at a speed of its slope over rho (20,000 iterations without a
    certificate on this problem, 8,104 on standardized Parkinson's); it now
    follows the drift to where a row reaches zero.  The result is certified
    within max_iter=1000 and matches MultiTaskLasso's objective and the
    optimality conditions of the l2,1 problem."""
    X, Y = near_duplicate_problem(seed)
    n = X.shape[0]
    alpha = ratio * alpha_max(X, Y, penalty="l21")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = L21MTLRegressor(alpha=alpha, max_iter=1000).fit(X, Y)
    assert ours.dual_gap_ <= 1e-6
    with warnings.catch_warnings():
        # Coordinate descent is slow here too: its objective is an upper bound.
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = MultiTaskLasso(alpha=alpha, tol=1e-12, max_iter=20_000).fit(X, Y)
    f_ours = lasso_objective(X, Y, ours.coef_, ours.intercept_, alpha)
    f_sk = lasso_objective(X, Y, sk.coef_, sk.intercept_, alpha)
    assert f_ours <= f_sk * (1 + 1.5e-6)  # the certified gap, and rounding
    # Optimality: the gradient G of the data-fit at the intercepts' optimum
    # has ||G_j|| <= alpha on the zero rows and G_j = -alpha w_j / ||w_j||
    # on the others (up to the accuracy a 1e-6 gap gives).
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    W = ours.coef_.T
    G = -Xc.T @ (Yc - Xc @ W) / n
    norms = row_norms(W)
    active = norms > 0
    assert active.any() and not active.all()
    assert row_norms(G[~active]).max() <= alpha * (1 + 1e-3)
    sub = G[active] + alpha * W[active] / norms[active, None]
    assert row_norms(sub).max() <= 1e-2 * alpha


def test_selects_features_where_trace_norm_does_not(rng):
    Xs, ys, ss = problem("squared", "shared", 11)
    X, Y = Xs[0], np.column_stack(ys)
    a = 0.3 * alpha_max(X, Y, penalty="l21")
    l21 = L21MTLRegressor(alpha=a).fit(X, Y)
    used = np.abs(l21.coef_).sum(axis=0) > 0
    assert used[:2].all() and not used.all()
    trace = TraceNormMTLRegressor(alpha=0.3 * alpha_max(X, Y)).fit(X, Y)
    assert np.all(np.abs(trace.coef_).sum(axis=0) > 0)


# --------------------------------------------------------------------------- #
# Asynchronous estimators: the centralized optimum on every backend
# --------------------------------------------------------------------------- #
ASYNC_BACKENDS = {
    "sequential": dict(backend="sequential"),
    "threading": dict(backend="threading", n_jobs=2),
    "simulated": dict(backend="simulated", delay=0.01),
    "sequential-dr": dict(backend="sequential", splitting="douglas-rachford"),
    "simulated-sync": dict(backend="simulated", schedule="sync"),
}


def assert_same_optimum(est, ref, Xs, ys, ss, alpha, loss):
    f_ref = objective(Xs, ys, ss, ref.coef_.T, ref.intercept_, alpha, loss, "mean")
    f_est = objective(Xs, ys, ss, est.coef_.T, est.intercept_, alpha, loss, "mean")
    assert abs(f_est - f_ref) <= 1e-6 * abs(f_ref)
    scale = np.abs(ref.coef_).max()
    assert_allclose(est.coef_, ref.coef_, atol=1e-5 * scale)
    assert_allclose(est.intercept_, ref.intercept_, atol=1e-5 * scale)


@pytest.mark.parametrize("backend", list(ASYNC_BACKENDS))
@pytest.mark.parametrize("mode", ["long", "shared"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_async_matches_centralized(loss, mode, backend, no_leaked_threads):
    Xs, ys, ss = problem(loss, mode, 3)
    alpha = 0.1 * alpha_max_reference(Xs, ys, ss, loss, "mean", True)
    ref = fit(CENTRAL[loss](alpha=alpha, tol=1e-10), Xs, ys, ss, mode)
    est = ASYNC[loss](
        alpha=alpha,
        tol=1e-9,
        max_iter=50_000,
        random_state=0,
        **ASYNC_BACKENDS[backend],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit(est, Xs, ys, ss, mode)
    assert est.stop_reason_ == "converged"
    assert_same_optimum(est, ref, Xs, ys, ss, alpha, loss)
    # Rows of zeros come out exactly zero (the central prox is the model).
    assert_array_equal(est.coef_[:, np.all(ref.coef_ == 0, axis=0)], 0.0)
    obj = est.objective_history_["objective"]
    f_est = objective(Xs, ys, ss, est.coef_.T, est.intercept_, alpha, loss, "mean")
    assert_allclose(obj[-1], f_est, rtol=1e-6)


def test_async_dask_matches_centralized(no_leaked_threads):
    distributed = pytest.importorskip("distributed")
    Xs, ys, ss = problem("squared", "long", 4)
    alpha = 0.1 * alpha_max_reference(Xs, ys, ss, "squared", "mean", True)
    ref = fit(L21MTLRegressor(alpha=alpha, tol=1e-10), Xs, ys, ss, "long")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for splitting in ("forward-backward", "douglas-rachford"):
            est = AsyncL21MTLRegressor(
                alpha=alpha,
                backend="dask",
                client=client,
                splitting=splitting,
                tol=1e-9,
                max_iter=20_000,
            )
            fit(est, Xs, ys, ss, "long")
            assert est.stop_reason_ == "converged"
            assert_same_optimum(est, ref, Xs, ys, ss, alpha, "squared")


# --------------------------------------------------------------------------- #
# Cross-validation and scikit-learn's checks of the CV estimators
# --------------------------------------------------------------------------- #
def test_cv_grid_starts_at_the_l21_alpha_max():
    Xs, ys, ss = problem("squared", "shared", 2)
    X, Y = Xs[0], np.column_stack(ys)
    model = L21MTLRegressorCV(alphas=6, cv=3).fit(X, Y)
    assert_allclose(model.alphas_[0], alpha_max(X, Y, penalty="l21"), rtol=1e-12)
    assert isinstance(model.best_estimator_, L21MTLRegressor)
    assert model.alpha_ in model.alphas_
    assert model.alpha_ < model.alphas_[0]  # the intercepts alone are worse


CHECKED = [
    L21MTLRegressorCV(alphas=2, cv=2),
    L21MTLClassifierCV(alphas=[1.0, 0.1], cv=2, max_iter=1000),
    long_format_pipeline(L21MTLRegressorCV(alphas=2, cv=2, task_column=-1)),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_cv_estimator(estimator, check):
    check(estimator)

"""Proximal Newton for the logistic loss (skmtl.solvers._newton).

Its optimum is checked against an independent objective minimized by cvxpy
(skipped when cvxpy is absent) and against FISTA run to a tight certified gap,
for both scalings, sample weights, intercepts, both data modes, sparse X, the
l2,1 penalty and alpha = 0; the dispatcher of ``solve`` is checked too.
FISTA on the local curvature (``fista_logistic``, the solver of wide data) is
checked the same way on wide sparse problems (more features than rows).
"""

import zlib

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from skmtl.datafits._losses import LogisticLoss, TaskBlocks
from skmtl.penalties import L21, TraceNorm
from skmtl.solvers._fista import fista, fista_logistic, solve, use_newton
from skmtl.solvers._gaps import alpha_max, relative_gap
from skmtl.solvers._newton import newton_logistic


def make_problem(
    seed, *, shared, weighted, scaling, fit_intercept, d=5, sparse=False, sizes=None
):
    rng = np.random.RandomState(seed)
    T = 4
    U = rng.randn(d, 2)
    if sizes is None:
        sizes = [30] * T if shared else [23, 9, 40, 14]
    T = len(sizes)
    X_shared = rng.randn(30, d)
    Xs, ys, ss = [], [], []
    s_shared = rng.uniform(0.1, 3.0, 30) if weighted else np.ones(30)
    for n in sizes:
        X = X_shared if shared else rng.randn(n, d)
        if sparse:
            X = X * (rng.uniform(size=X.shape) < 0.5)
        m = X @ (U @ rng.randn(2)) + rng.randn()
        y = np.where(m + 1.5 * rng.logistic(size=n) > 0, 1.0, -1.0)
        y[:2] = [-1.0, 1.0]
        if shared:
            s = s_shared
        else:
            s = rng.uniform(0.1, 3.0, n) if weighted else np.ones(n)
        Xs.append(X)
        ys.append(y)
        ss.append(s)
    if sparse:
        if shared:
            Xc = sp.csr_matrix(Xs[0])
            Xs = [Xc] * T
        else:
            Xs = [sp.csr_matrix(X) for X in Xs]
    scales = np.array([s.sum() if scaling == "mean" else 1.0 for s in ss])
    blocks = TaskBlocks(Xs, ys, ss, scales, shared=shared)
    return LogisticLoss(blocks, fit_intercept=fit_intercept), (Xs, ys, ss, scales)


def objective(raw, W, b, alpha, penalty="trace"):
    """The objective from scratch (numpy only)."""
    Xs, ys, ss, scales = raw
    total = 0.0
    for t, (X, y, s, c) in enumerate(zip(Xs, ys, ss, scales, strict=True)):
        X = X.toarray() if sp.issparse(X) else X
        m = X @ W[:, t] + (0.0 if b is None else b[t])
        total += s @ np.logaddexp(0.0, -y * m) / c
    if penalty == "trace":
        reg = np.linalg.svd(W, compute_uv=False).sum()
    else:
        reg = np.linalg.norm(W, axis=1).sum()
    return total + alpha * reg


def cvxpy_optimum(raw, alpha, fit_intercept):
    cp = pytest.importorskip("cvxpy")
    Xs, ys, ss, scales = raw
    d, T = Xs[0].shape[1], len(Xs)
    W = cp.Variable((d, T))
    b = cp.Variable(T) if fit_intercept else None
    terms = []
    for t, (X, y, s, c) in enumerate(zip(Xs, ys, ss, scales, strict=True)):
        X = X.toarray() if sp.issparse(X) else X
        m = X @ W[:, t] + (b[t] if fit_intercept else 0.0)
        terms.append(cp.sum(cp.multiply(s, cp.logistic(-cp.multiply(y, m)))) / c)
    problem = cp.Problem(cp.Minimize(sum(terms) + alpha * cp.normNuc(W)))
    problem.solve(solver=cp.CLARABEL)
    assert problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    b_value = b.value if fit_intercept else None
    # Its point, evaluated with the numpy objective: an upper bound on the
    # optimum whatever the interior-point accuracy (which varies with the
    # BLAS kernel: some report 'optimal_inaccurate' on the same problem).
    return objective(raw, W.value, b_value, alpha), problem.status == cp.OPTIMAL


CASES = [
    (shared, weighted, scaling, fit_intercept)
    for shared in (False, True)
    for weighted in (False, True)
    for scaling in ("mean", "sum")
    for fit_intercept in (True, False)
]


@pytest.mark.parametrize("shared, weighted, scaling, fit_intercept", CASES)
def test_newton_matches_cvxpy_and_fista(shared, weighted, scaling, fit_intercept):
    seed = zlib.crc32(repr((shared, weighted, scaling, fit_intercept)).encode())
    df, raw = make_problem(
        seed,
        shared=shared,
        weighted=weighted,
        scaling=scaling,
        fit_intercept=fit_intercept,
    )
    alpha = 0.1 * alpha_max(df)
    res = newton_logistic(df, alpha, tol=1e-10)
    assert res.converged and res.gap <= 1e-10
    assert (res.b is not None) == fit_intercept
    value = objective(raw, res.W, res.b, alpha)
    # The certificate is honest: the objective it reports is the true one.
    assert_allclose(res.objective_history[-1], value, rtol=1e-12)
    ref = fista(df, alpha, tol=1e-11, max_iter=200_000)
    assert ref.converged
    assert_allclose(value, objective(raw, ref.W, ref.b, alpha), rtol=1e-9)
    assert_allclose(res.W, ref.W, atol=1e-4)
    upper, accurate = cvxpy_optimum(raw, alpha, fit_intercept)
    assert value <= upper * (1 + 1e-9)  # never worse than cvxpy's point
    if accurate:
        assert abs(value - upper) <= 1e-6 * abs(upper)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_equals_dense(shared, fit_intercept):
    kw = dict(shared=shared, weighted=True, scaling="mean", fit_intercept=fit_intercept)
    dense, raw = make_problem(7, **kw, sparse=False)
    sparse, _ = make_problem(7, **kw, sparse=True)
    assert sp.issparse(sparse.blocks.Xs[0])
    # The same rows (sparsified identically) densified by hand.
    Xs = [X.toarray() for X in sparse.blocks.Xs]
    if shared:
        Xs = [Xs[0]] * len(Xs)
    blocks = TaskBlocks(
        Xs,
        sparse.blocks.ys,
        sparse.blocks.sample_weights,
        sparse.blocks.scales,
        shared=shared,
    )
    dense = LogisticLoss(blocks, fit_intercept=fit_intercept)
    alpha = 0.05 * alpha_max(dense)
    a = newton_logistic(dense, alpha, tol=1e-10)
    b = newton_logistic(sparse, alpha, tol=1e-10)
    assert a.converged and b.converged
    assert_allclose(b.W, a.W, atol=1e-6)
    if fit_intercept:
        assert_allclose(b.b, a.b, atol=1e-6)


def test_l21_matches_fista():
    df, raw = make_problem(
        3, shared=False, weighted=True, scaling="mean", fit_intercept=True
    )
    pen = L21()
    alpha = 0.7 * alpha_max(df, pen)
    res = newton_logistic(df, alpha, penalty=pen, tol=1e-10)
    ref = fista(df, alpha, penalty=pen, tol=1e-11, max_iter=200_000)
    assert res.converged and ref.converged
    v = objective(raw, res.W, res.b, alpha, "l21")
    assert_allclose(v, objective(raw, ref.W, ref.b, alpha, "l21"), rtol=1e-9)
    assert np.any(np.linalg.norm(res.W, axis=1) == 0)  # rows removed by l2,1


@pytest.mark.parametrize("factor", [1.0 + 1e-7, 0.999, 0.5, 1e-3])
def test_alpha_range_certified(factor):
    """From alpha_max (W = 0) to nearly unregularized, the same certificate."""
    df, _ = make_problem(
        11, shared=False, weighted=True, scaling="sum", fit_intercept=True
    )
    alpha = factor * alpha_max(df)
    res = newton_logistic(df, alpha, tol=1e-8)
    assert res.converged
    gap, _, _ = relative_gap(df, res.W, res.b, alpha)
    assert gap <= 1e-7
    if factor > 1:
        assert res.n_iter == 0 and not np.any(res.W)
    else:
        assert np.any(res.W)


def test_alpha_zero_is_per_task_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    df, raw = make_problem(
        5,
        shared=False,
        weighted=True,
        scaling="sum",
        fit_intercept=True,
        d=3,
        sizes=[80, 60, 120],
    )
    res = newton_logistic(df, 0.0, tol=1e-10)
    assert res.converged
    for t, (X, y, s) in enumerate(zip(*raw[:3], strict=True)):
        ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(
            X, y, sample_weight=s
        )
        assert_allclose(res.W[:, t], ref.coef_[0], rtol=1e-5, atol=1e-6)
        assert_allclose(res.b[t], ref.intercept_[0], rtol=1e-5, atol=1e-6)


def test_warm_start_at_optimum_takes_no_step():
    df, _ = make_problem(
        2, shared=True, weighted=False, scaling="mean", fit_intercept=True
    )
    alpha = 0.05 * alpha_max(df)
    res = newton_logistic(df, alpha, tol=1e-9)
    again = newton_logistic(df, alpha, W0=res.W, b0=res.b, tol=1e-9)
    assert again.n_iter == 0 and again.converged


def test_max_iter_stops_uncertified():
    df, _ = make_problem(
        2, shared=False, weighted=False, scaling="mean", fit_intercept=True
    )
    res = newton_logistic(df, 1e-3 * alpha_max(df), tol=1e-12, max_iter=1)
    assert res.n_iter == 1 and not res.converged and res.gap > 1e-12


def test_dispatch():
    df, _ = make_problem(
        1, shared=False, weighted=False, scaling="mean", fit_intercept=True
    )
    assert use_newton(df)
    alpha = 0.1 * alpha_max(df)
    res = solve(df, alpha, tol=1e-8)
    assert res.converged and res.n_iter < 30  # Newton steps, not FISTA's
    # Soft targets (distillation) go to FISTA.
    n0 = df.blocks.Xs[0].shape[0]
    df.set_task_soft_targets(0, np.full(n0, 0.5), weight=0.5)
    assert not use_newton(df)
    res = solve(df, alpha, tol=1e-8)
    assert res.converged
    with pytest.raises(ValueError, match="soft targets"):
        newton_logistic(df, alpha)


def test_wide_problem_goes_to_fista(monkeypatch):
    import skmtl.solvers._fista as F

    df, _ = make_problem(
        1, shared=False, weighted=False, scaling="mean", fit_intercept=True
    )
    monkeypatch.setattr(F, "_NEWTON_MAX_BYTES", df.n_tasks * df.n_features**2 * 8 - 1)
    assert not F.use_newton(df)


def make_wide(seed, *, shared, weighted, scaling, fit_intercept):
    """Sparse, more features (40) than any task's rows: separable per task."""
    sizes = [30] * 4 if shared else [12, 9, 20, 14]
    return make_problem(
        seed,
        shared=shared,
        weighted=weighted,
        scaling=scaling,
        fit_intercept=fit_intercept,
        d=40,
        sparse=True,
        sizes=sizes,
    )


@pytest.mark.parametrize("shared, weighted, scaling, fit_intercept", CASES)
def test_fista_logistic_wide_matches_newton_and_cvxpy(
    shared, weighted, scaling, fit_intercept
):
    seed = zlib.crc32(repr(("wide", shared, weighted, scaling)).encode())
    df, raw = make_wide(
        seed,
        shared=shared,
        weighted=weighted,
        scaling=scaling,
        fit_intercept=fit_intercept,
    )
    assert sp.issparse(df.blocks.Xs[0]) and df.n_features > 30
    alpha = 0.1 * alpha_max(df)
    res = fista_logistic(df, alpha, tol=1e-10, max_iter=100_000)
    assert res.converged and res.gap <= 1e-10
    assert (res.b is not None) == fit_intercept
    value = objective(raw, res.W, res.b, alpha)
    # The certificate is honest: the objective it reports is the true one,
    # and within the certified gap of Newton's optimum (W's own scaled dual
    # point, first-order accurate, bounds the gap far less tightly than the
    # polished one of the certificate).
    assert_allclose(res.objective_history[-1], value, rtol=1e-12)
    ref = newton_logistic(df, alpha, tol=1e-11)
    assert ref.converged
    ref_value = objective(raw, ref.W, ref.b, alpha)
    assert value - ref_value <= res.gap * value + 1e-13 * abs(value)
    assert_allclose(value, ref_value, rtol=1e-9)
    assert_allclose(res.W, ref.W, atol=1e-4)
    if fit_intercept:
        assert_allclose(res.b, ref.b, atol=1e-4)
    upper, accurate = cvxpy_optimum(raw, alpha, fit_intercept)
    assert value <= upper * (1 + 1e-9)
    if accurate:
        assert abs(value - upper) <= 1e-6 * abs(upper)


def test_fista_logistic_l21_and_alpha_range():
    df, raw = make_wide(
        4, shared=False, weighted=True, scaling="mean", fit_intercept=True
    )
    pen = L21()
    alpha = 0.5 * alpha_max(df, pen)
    res = fista_logistic(df, alpha, penalty=pen, tol=1e-10, max_iter=100_000)
    ref = newton_logistic(df, alpha, penalty=pen, tol=1e-11)
    assert res.converged and ref.converged
    v = objective(raw, res.W, res.b, alpha, "l21")
    assert_allclose(v, objective(raw, ref.W, ref.b, alpha, "l21"), rtol=1e-9)
    assert np.any(np.linalg.norm(res.W, axis=1) == 0)
    # At and above alpha_max W = 0 is certified without a step away from it.
    top = fista_logistic(df, (1 + 1e-7) * alpha_max(df), tol=1e-8)
    assert top.converged and not np.any(top.W)


def test_fista_logistic_alpha_zero_is_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    df, raw = make_problem(
        5,
        shared=False,
        weighted=True,
        scaling="sum",
        fit_intercept=True,
        d=3,
        sizes=[80, 60, 120],
    )
    res = fista_logistic(df, 0.0, tol=1e-9, max_iter=100_000)
    assert res.converged
    for t, (X, y, s) in enumerate(zip(*raw[:3], strict=True)):
        ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(
            X, y, sample_weight=s
        )
        assert_allclose(res.W[:, t], ref.coef_[0], rtol=1e-4, atol=1e-5)
        assert_allclose(res.b[t], ref.intercept_[0], rtol=1e-4, atol=1e-5)


def test_fista_logistic_warm_start_and_max_iter():
    df, _ = make_wide(
        2, shared=True, weighted=False, scaling="mean", fit_intercept=True
    )
    alpha = 0.05 * alpha_max(df)
    res = fista_logistic(df, alpha, tol=1e-9, max_iter=100_000)
    again = fista_logistic(df, alpha, W0=res.W, b0=res.b, tol=1e-9)
    assert again.converged and again.n_iter <= 10
    short = fista_logistic(df, alpha, tol=1e-12, max_iter=3)
    assert short.n_iter == 3 and not short.converged and short.gap > 1e-12


def test_wide_dispatch_goes_to_local_curvature_fista(monkeypatch):
    import skmtl.solvers._fista as F

    df, raw = make_wide(
        6, shared=False, weighted=True, scaling="mean", fit_intercept=True
    )
    monkeypatch.setattr(F, "_NEWTON_MAX_BYTES", 0)
    assert not F.use_newton(df)
    alpha = 0.1 * alpha_max(df)
    res = F.solve(df, alpha, tol=1e-9)
    assert res.converged and "n_rejected" in res.info
    ref = newton_logistic(df, alpha, tol=1e-11)
    assert_allclose(
        objective(raw, res.W, res.b, alpha),
        objective(raw, ref.W, ref.b, alpha),
        rtol=1e-8,
    )


def test_newton_only_while_hessians_are_a_small_multiple_of_the_data(monkeypatch):
    import skmtl.solvers._fista as F

    monkeypatch.setattr(F, "_NEWTON_MIN_BYTES", 0)
    narrow, _ = make_problem(
        1, shared=False, weighted=False, scaling="mean", fit_intercept=True
    )
    wide, _ = make_wide(
        1, shared=False, weighted=False, scaling="mean", fit_intercept=True
    )
    for df in (narrow, wide):
        hessians = df.n_tasks * df.n_features**2 * 8
        data = F._data_bytes(df.blocks)
        assert F.use_newton(df) == (hessians <= F._NEWTON_DATA_FACTOR * data)
    assert F.use_newton(narrow) and not F.use_newton(wide)


@pytest.mark.parametrize("rel", [0.5, 0.999, 1e-7, 1.5])
def test_task_major_prox_with_value_matches_prox_and_trace_norm(rel):
    # fista_logistic's prox of the task-major (T, d) matrix: one T x T product
    # and the trace norm read off the Gram eigenvalues (SVD below 1e-5 s_max).
    from skmtl.penalties._trace_norm import prox_trace_norm, trace_norm
    from skmtl.solvers._fista import _prox_with_value

    rng = np.random.RandomState(3)
    VT = rng.randn(6, 2) @ rng.randn(2, 300) + 1e-3 * rng.randn(6, 300)
    th = rel * np.linalg.svd(VT, compute_uv=False)[0]
    P, value = _prox_with_value(TraceNorm(), VT, th, None)
    ref = prox_trace_norm(VT.T, th).T
    assert_allclose(P, ref, atol=1e-12 * np.abs(VT).max())
    assert_allclose(value, trace_norm(ref), rtol=1e-12, atol=1e-300)
    assert P.flags.c_contiguous
    P21, v21 = _prox_with_value(L21().transposed(), VT, th, None)
    assert_allclose(P21, L21().prox(VT.T, th).T)
    assert_allclose(v21, L21().value(P21.T))


def test_fista_logistic_stops_at_first_certified_iterate():
    # The gap bound from the extrapolated point triggers the certificate: the
    # solver stops certified at the tolerance, at the optimum of Newton, with
    # few certificates (one product and an SVD each).
    rng = np.random.RandomState(7)
    T, d, n = 6, 300, 60
    Xs = [
        sp.random(n, d, density=0.05, random_state=rng, format="csr") for _ in range(T)
    ]
    U = rng.randn(d, 2)
    ys = [
        np.where(X @ (U @ rng.randn(2)) + rng.logistic(size=n) > 0, 1.0, -1.0)
        for X in Xs
    ]
    ss = [np.ones(n)] * T
    blocks = TaskBlocks(Xs, ys, ss, np.full(T, float(n)))
    df = LogisticLoss(blocks, fit_intercept=True)
    alpha = 0.1 * alpha_max(df)
    for tol in (1e-6, 1e-10):
        res = fista_logistic(df, alpha, tol=tol, max_iter=100_000)
        assert res.converged and res.gap <= tol
        assert res.info["n_certified"] <= 4
        gap, primal, _ = relative_gap(df, res.W, res.b, alpha)
        assert_allclose(res.objective_history[-1], primal, rtol=1e-12)
        # The gap is certified with the dual point of W, of the extrapolated
        # point or its polish: the objective is within it of Newton's. (W's
        # own scaled dual point is first-order accurate: its gap, an upper
        # bound, may be far above the polished one.)
        ref = newton_logistic(df, alpha, tol=1e-13)
        assert primal - ref.objective_history[-1] <= res.gap * primal
        assert gap <= 10 * np.sqrt(tol)
    # A gap of 1e-10 bounds the objective, not W: on this weakly curved
    # problem the polished certificate stops with W 3e-5 and b 9e-6
    # (relative) from Newton's (measured in review).
    assert_allclose(res.W, ref.W, atol=2e-4 * np.abs(ref.W).max())
    assert_allclose(res.b, ref.b, atol=2e-4 * np.abs(ref.b).max())


def test_local_curvature_value_with_refined_intercepts():
    # A proximal step refines the intercepts by one Newton step only: its
    # value is the loss at the returned intercepts (a valid primal value),
    # never below the value at the optimal ones, and equal to it to rounding
    # from a warm start (Newton converges quadratically).
    from skmtl.solvers._fista import _LocalCurvature

    df, raw = make_wide(
        11, shared=False, weighted=True, scaling="mean", fit_intercept=True
    )
    lc = _LocalCurvature(df)
    rng = np.random.RandomState(0)
    WT = 0.3 * rng.randn(df.n_tasks, df.n_features)
    m0 = lc.margins(WT)
    f_opt, b_opt = lc.value(m0, df.initial_intercept())
    W = np.ascontiguousarray(WT.T)
    assert_allclose(f_opt, objective(raw, W, b_opt, 0.0), rtol=1e-13)
    warm = b_opt + 1e-3 * rng.randn(df.n_tasks)
    f1, b1 = lc.value(m0, warm, 1)
    assert_allclose(f1, objective(raw, W, b1, 0.0), rtol=1e-13)
    assert f1 >= f_opt * (1 - 1e-15)
    assert_allclose(f1, f_opt, rtol=1e-12)
    assert_allclose(b1, b_opt, atol=1e-5)

"""Tests for the Gram-form squared-loss solver (ADMM) and its duality gap."""

from pathlib import Path

import numpy as np
import pytest

from skmtl.solvers._admm import (
    quadratic_duality_gap,
    quadratic_eigh,
    solve_quadratic,
)
from skmtl.solvers._result import SolverResult

cp = pytest.importorskip("cvxpy")

pytestmark = pytest.mark.timeout(120)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


# --------------------------------------------------------------------------- #
# Problems and references
# --------------------------------------------------------------------------- #
def make_problem(seed, d, T, n, *, shared=False, kind="plain", rank=2):
    """Per-task data (A_t, y_t) with a low-rank W and its Gram form (H, Q, c).

    kind: 'plain'; 'dup' (a duplicated column), 'const' (a constant column, as
    School's bias), 'scaled' (columns scaled over three decades: ill-conditioned).
    Use n < d for tasks with fewer samples than features.
    """
    rng = np.random.RandomState(seed)
    W_true = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, T))
    if shared:
        As = [rng.standard_normal((n, d))] * T
    else:
        As = [rng.standard_normal((n, d)) for _ in range(T)]
    if kind == "dup" and d > 1:
        As = [np.column_stack([a[:, :-1], a[:, 0]]) for a in As]
    elif kind == "const":
        As = [np.column_stack([a[:, :-1], np.ones(n)]) for a in As]
    elif kind == "scaled":
        As = [a * np.geomspace(1.0, 1e3, d) for a in As]
    ys = [a @ W_true[:, t] + 0.5 * rng.standard_normal(n) for t, a in enumerate(As)]
    H = As[0].T @ As[0] if shared else np.stack([a.T @ a for a in As])
    Q = np.stack([a.T @ y for a, y in zip(As, ys, strict=True)], axis=1)
    c = np.array([y @ y for y in ys])
    return As, ys, H, Q, c


def objective(H, Q, c, W, alpha):
    HW = H @ W if H.ndim == 2 else np.einsum("tij,jt->it", H, W)
    fit = 0.5 * (np.sum(W * HW) - 2 * np.sum(Q * W) + c.sum())
    return fit + alpha * np.linalg.svd(W, compute_uv=False).sum()


def gradient(H, Q, W):
    HW = H @ W if H.ndim == 2 else np.einsum("tij,jt->it", H, W)
    return HW - Q


def cvxpy_solution(As, ys, alpha):
    d, T = As[0].shape[1], len(As)
    W = cp.Variable((d, T))
    fit = sum(
        0.5 * cp.sum_squares(a @ W[:, t] - y)
        for t, (a, y) in enumerate(zip(As, ys, strict=True))
    )
    problem = cp.Problem(cp.Minimize(fit + alpha * cp.normNuc(W)))
    problem.solve(solver="CLARABEL")
    return W.value, problem.value


def alpha_max(Q):
    return np.linalg.norm(Q, 2)


CASES = [
    # (d, T, n, shared, kind)
    (5, 4, 20, False, "plain"),
    (5, 4, 20, True, "plain"),
    (6, 5, 15, False, "dup"),
    (6, 5, 15, True, "const"),
    (8, 6, 5, False, "plain"),  # n_t < d: every H_t is singular
    (7, 4, 20, False, "scaled"),  # condition number ~1e6
    (1, 5, 10, False, "plain"),  # d = 1
    (4, 1, 10, False, "const"),  # T = 1
]


# --------------------------------------------------------------------------- #
# Against cvxpy
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("d, T, n, shared, kind", CASES)
@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.9])
def test_objective_matches_cvxpy(d, T, n, shared, kind, fraction):
    As, ys, H, Q, c = make_problem(d * 100 + T, d, T, n, shared=shared, kind=kind)
    alpha = fraction * alpha_max(Q)
    res = solve_quadratic(H, Q, c, alpha, tol=1e-9)
    assert isinstance(res, SolverResult)
    assert res.b is None and res.stop_reason == "converged"
    assert res.converged and res.gap <= 1e-9
    assert res.W.shape == (d, T)
    W_ref, _ = cvxpy_solution(As, ys, alpha)
    f_ref = objective(H, Q, c, W_ref, alpha)
    f = objective(H, Q, c, res.W, alpha)
    assert abs(f - f_ref) <= 1e-6 * f_ref
    # The certified solution is at least as good as cvxpy's, up to the tolerance.
    assert f <= f_ref * (1 + 1e-9)
    # The history ends at the returned point.
    assert res.objective_history.shape == (res.n_iter + 1,)
    assert res.objective_history[-1] == pytest.approx(f, rel=1e-10)


@pytest.mark.parametrize("d, T, n, shared, kind", CASES[:6])
def test_gap_is_zero_at_cvxpy_optimum_and_bounds_the_error(d, T, n, shared, kind):
    As, ys, H, Q, c = make_problem(7 + d * T, d, T, n, shared=shared, kind=kind)
    alpha = 0.2 * alpha_max(Q)
    W_ref, _ = cvxpy_solution(As, ys, alpha)
    P, D, gap = quadratic_duality_gap(H, Q, c, W_ref, alpha)
    assert P == pytest.approx(objective(H, Q, c, W_ref, alpha), rel=1e-12)
    assert gap >= -1e-10 * P
    assert gap <= 1e-6 * P
    # Anywhere else: gap >= F(W) - F* >= 0 (F* from a certified solve).
    f_star = objective(H, Q, c, solve_quadratic(H, Q, c, alpha, tol=1e-12).W, alpha)
    rng = np.random.RandomState(0)
    for scale in [1e-4, 1e-2, 1.0]:
        W = W_ref + scale * np.abs(W_ref).max() * rng.standard_normal(W_ref.shape)
        P, D, gap = quadratic_duality_gap(H, Q, c, W, alpha)
        assert D <= f_star * (1 + 1e-10)
        assert gap >= P - f_star - 1e-10 * P >= -1e-10 * P


def test_dual_value_matches_cvxpy_dual_problem():
    """The dual in sample space, max sum_t theta_t^T y_t - ||theta_t||^2 / 2 s.t.
    ||[A_t^T theta_t]_t||_2 <= alpha, has the primal optimum as value and the
    optimal residuals as solution; our D at W* is that value."""
    As, ys, H, Q, c = make_problem(3, 4, 3, 12)
    alpha = 0.3 * alpha_max(Q)
    thetas = [cp.Variable(len(y)) for y in ys]
    M = cp.hstack(
        [
            cp.reshape(a.T @ th, (a.shape[1], 1), order="F")
            for a, th in zip(As, thetas, strict=True)
        ]
    )
    dual = sum(
        th @ y - 0.5 * cp.sum_squares(th) for th, y in zip(thetas, ys, strict=True)
    )
    problem = cp.Problem(cp.Maximize(dual), [cp.sigma_max(M) <= alpha])
    problem.solve(solver="CLARABEL")
    res = solve_quadratic(H, Q, c, alpha, tol=1e-12)
    P, D, gap = quadratic_duality_gap(H, Q, c, res.W, alpha)
    assert D == pytest.approx(problem.value, rel=1e-6)
    assert P == pytest.approx(problem.value, rel=1e-6)
    for a, y, th, w in zip(As, ys, thetas, res.W.T, strict=True):
        np.testing.assert_allclose(th.value, y - a @ w, atol=1e-4 * np.abs(y).max())


def test_gap_formula_with_kappa_min_one():
    """The brief's formula, kappa = min(1, alpha / ||G||_2), is a valid (looser)
    dual value: D(kappa) <= our D <= F*."""
    _, _, H, Q, c = make_problem(11, 6, 5, 15)
    alpha = 0.1 * alpha_max(Q)
    f_star = solve_quadratic(H, Q, c, alpha, tol=1e-12)
    f_star = objective(H, Q, c, f_star.W, alpha)
    rng = np.random.RandomState(1)
    for _ in range(5):
        W = rng.standard_normal(Q.shape)
        G = gradient(H, Q, W)
        kappa = min(1.0, alpha / np.linalg.norm(G, 2))
        HW = np.einsum("tij,jt->it", H, W)
        s = np.sum(W * HW, axis=0) - 2 * np.sum(Q * W, axis=0) + c
        D_brief = -np.sum(kappa**2 / 2 * s + kappa * (np.sum(Q * W, axis=0) - c))
        _, D, _ = quadratic_duality_gap(H, Q, c, W, alpha)
        assert D_brief <= D + 1e-9 * abs(D) and D <= f_star * (1 + 1e-12)


# --------------------------------------------------------------------------- #
# Optimality conditions, warm starts, special values of alpha
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("d, T, n, shared, kind", CASES)
def test_kkt_conditions(d, T, n, shared, kind):
    _, _, H, Q, c = make_problem(d + 10 * T, d, T, n, shared=shared, kind=kind)
    alpha = 0.3 * alpha_max(Q)
    res = solve_quadratic(H, Q, c, alpha, tol=1e-12)
    W = res.W
    S = -gradient(H, Q, W) / alpha  # must be a subgradient of ||.||_* at W
    assert np.linalg.norm(S, 2) <= 1 + 1e-5
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    r = int(np.sum(s > 1e-8 * s[0]))
    assert r >= 1
    Ur, Vr = U[:, :r], Vt[:r].T
    # S = Ur Vr^T + N with Ur^T N = 0, N Vr = 0, ||N||_2 <= 1.
    np.testing.assert_allclose(Ur.T @ S @ Vr, np.eye(r), atol=1e-5)
    N = S - Ur @ Vr.T
    np.testing.assert_allclose(Ur.T @ N, 0, atol=1e-5)
    np.testing.assert_allclose(N @ Vr, 0, atol=1e-5)
    assert np.linalg.norm(N, 2) <= 1 + 1e-5
    assert np.sum(S * W) == pytest.approx(s.sum(), rel=1e-6)


@pytest.mark.parametrize("shared", [False, True])
def test_warm_start_from_solution(shared):
    _, _, H, Q, c = make_problem(5, 6, 8, 20, shared=shared, kind="const")
    alpha = 0.2 * alpha_max(Q)
    res = solve_quadratic(H, Q, c, alpha, tol=1e-8)
    assert res.n_iter > 5
    again = solve_quadratic(H, Q, c, alpha, W0=res.W, rho=res.rho, tol=1e-8)
    assert again.converged and again.n_iter <= 3
    again = solve_quadratic(H, Q, c, alpha, W0=res.W, tol=1e-8)  # default rho
    assert again.converged and again.n_iter <= 5
    np.testing.assert_allclose(again.W, res.W, atol=1e-5 * np.abs(res.W).max())


def test_warm_start_along_a_path_is_cheaper():
    _, _, H, Q, c = make_problem(6, 10, 12, 30, kind="scaled")
    alphas = alpha_max(Q) * np.geomspace(0.9, 1e-3, 8)
    cold = sum(solve_quadratic(H, Q, c, a).n_iter for a in alphas)
    W, rho, warm = None, None, 0
    for a in alphas:
        res = solve_quadratic(H, Q, c, a, W0=W, rho=rho)
        assert res.converged
        W, rho, warm = res.W, res.rho, warm + res.n_iter
    assert warm < cold


@pytest.mark.parametrize("shared", [False, True])
def test_alpha_zero_is_least_squares(shared):
    # n < d: rank-deficient H_t, the minimum-norm solution is returned.
    As, ys, H, Q, c = make_problem(2, 6, 4, 4, shared=shared)
    res = solve_quadratic(H, Q, c, 0.0)
    assert res.converged and res.n_iter == 0 and res.gap <= 1e-10
    W_ls = np.column_stack(
        [np.linalg.lstsq(a, y, rcond=None)[0] for a, y in zip(As, ys, strict=True)]
    )
    np.testing.assert_allclose(res.W, W_ls, atol=1e-8 * np.abs(W_ls).max())
    P, D, gap = quadratic_duality_gap(H, Q, c, W_ls, 0.0)
    assert abs(gap) <= 1e-10 * max(P, 1.0)
    # For alpha = 0 the dual value is the optimum: the gap is F(W) - F* exactly.
    W = W_ls + 0.1
    P, D, gap = quadratic_duality_gap(H, Q, c, W, 0.0)
    assert gap == pytest.approx(P - objective(H, Q, c, W_ls, 0.0), rel=1e-8)


def test_tiny_alpha_close_to_least_squares():
    As, ys, H, Q, c = make_problem(4, 5, 6, 30)
    res = solve_quadratic(H, Q, c, 1e-8 * alpha_max(Q), tol=1e-10)
    assert res.converged
    f_ls = objective(H, Q, c, solve_quadratic(H, Q, c, 0.0).W, 0.0)
    assert objective(H, Q, c, res.W, 0.0) == pytest.approx(f_ls, rel=1e-8)


@pytest.mark.parametrize("factor", [1.0, 1.5, 1e6])
def test_alpha_above_alpha_max_gives_zero(factor):
    _, _, H, Q, c = make_problem(1, 5, 4, 10)
    res = solve_quadratic(H, Q, c, factor * alpha_max(Q))
    assert res.n_iter == 0 and res.converged and res.gap <= 1e-14
    assert np.all(res.W == 0.0)
    P, D, gap = quadratic_duality_gap(H, Q, c, res.W, factor * alpha_max(Q))
    assert P == pytest.approx(0.5 * c.sum()) and abs(gap) <= 1e-12 * P


def test_just_below_alpha_max_gives_rank_one():
    _, _, H, Q, c = make_problem(1, 5, 4, 10)
    res = solve_quadratic(H, Q, c, 0.999 * alpha_max(Q), tol=1e-10)
    assert res.converged
    s = np.linalg.svd(res.W, compute_uv=False)
    assert s[0] > 0 and np.all(s[1:] <= 1e-12 * s[0])


def test_shared_and_stacked_H_agree():
    _, _, H, Q, c = make_problem(8, 5, 6, 12, shared=True)
    alpha = 0.1 * alpha_max(Q)
    a = solve_quadratic(H, Q, c, alpha, tol=1e-11)
    b = solve_quadratic(np.stack([H] * 6), Q, c, alpha, tol=1e-11)
    np.testing.assert_allclose(a.W, b.W, atol=1e-6 * np.abs(a.W).max())
    np.testing.assert_allclose(
        quadratic_duality_gap(H, Q, c, a.W, alpha)[:2],
        quadratic_duality_gap(np.stack([H] * 6), Q, c, a.W, alpha)[:2],
        rtol=1e-12,
    )


def test_precomputed_eigendecomposition_and_options():
    _, _, H, Q, c = make_problem(9, 5, 7, 12)
    alpha = 0.2 * alpha_max(Q)
    ref = solve_quadratic(H, Q, c, alpha, tol=1e-9)
    res = solve_quadratic(H, Q, c, alpha, tol=1e-9, H_eig=quadratic_eigh(H))
    np.testing.assert_array_equal(res.W, ref.W)
    for kwargs in [{"relaxation": 1.0}, {"check_every": 5}, {"rho": 1e-3}]:
        res = solve_quadratic(H, Q, c, alpha, tol=1e-9, **kwargs)
        assert res.converged
        np.testing.assert_allclose(res.W, ref.W, atol=1e-4 * np.abs(ref.W).max())
    capped = solve_quadratic(H, Q, c, alpha, tol=1e-14, max_iter=3)
    assert capped.n_iter == 3 and not capped.converged and capped.gap > 1e-14


def test_verbose_prints(capsys):
    _, _, H, Q, c = make_problem(9, 3, 2, 12)
    solve_quadratic(H, Q, c, 0.1 * alpha_max(Q), max_iter=2, verbose=1)
    assert "[admm] iter" in capsys.readouterr().out


def test_invalid_input():
    _, _, H, Q, c = make_problem(0, 3, 2, 5)
    with pytest.raises(ValueError, match="Q must be"):
        solve_quadratic(H, Q[:, 0], c, 1.0)
    with pytest.raises(ValueError, match="H must have shape"):
        solve_quadratic(H[:, :2, :2], Q, c, 1.0)
    with pytest.raises(ValueError, match="c must have shape"):
        solve_quadratic(H, Q, c[:1], 1.0)
    with pytest.raises(ValueError, match="alpha"):
        solve_quadratic(H, Q, c, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        solve_quadratic(H, Q, c, np.nan)
    with pytest.raises(ValueError, match="W0 must have shape"):
        solve_quadratic(H, Q, c, 1.0, W0=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        solve_quadratic(np.full_like(H, np.nan), Q, c, 1.0)
    with pytest.raises(ValueError, match="relaxation"):
        solve_quadratic(H, Q, c, 1.0, relaxation=2.0)
    with pytest.raises(ValueError, match="rho"):
        solve_quadratic(H, Q, c, 1.0, rho=0.0)
    with pytest.raises(ValueError, match="W must have shape"):
        quadratic_duality_gap(H, Q, c, np.zeros((2, 3)), 1.0)


def test_inconsistent_input_is_rejected():
    """q_t outside the range of H_t cannot come from data: no false certificate."""
    H, Q, c = np.zeros((3, 3)), np.ones((3, 2)), np.ones(2)
    with pytest.raises(ValueError, match="do not come from data"):
        solve_quadratic(H, Q, c, 0.5)
    _, _, H, Q, c = make_problem(0, 4, 3, 10, kind="dup")  # H_t singular
    e, V = np.linalg.eigh(H[0])
    Q[:, 0] += 1e-3 * np.linalg.norm(Q[:, 0]) * V[:, 0]  # a null-space component
    with pytest.raises(ValueError, match="task 0"):
        solve_quadratic(H, Q, c, 0.1 * alpha_max(Q))
    # W = 0 is still optimal above alpha_max, whatever the data.
    assert not solve_quadratic(H, Q, c, 2 * alpha_max(Q)).W.any()


def test_concurrent_solves_in_threads():
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info()]
    _, _, H, Q, c = make_problem(3, 6, 8, 20)
    alphas = alpha_max(Q) * np.array([0.5, 0.1, 0.01] * 4)
    ref = [solve_quadratic(H, Q, c, a).W for a in alphas]
    with ThreadPoolExecutor(4) as pool:
        out = list(pool.map(lambda a: solve_quadratic(H, Q, c, a).W, alphas))
    for a, b in zip(ref, out, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [i["num_threads"] for i in threadpool_info()] == before


# --------------------------------------------------------------------------- #
# School (MALSAR copy): the badly conditioned raw problem and the standardized one
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def school():
    path = DATA / "school_malsar" / "school.mat"
    if not path.exists():
        pytest.skip(f"shared data not available at {path}")
    from scipy.io import loadmat

    m = loadmat(path)
    Xs = [m["X"][0, t].astype(float) for t in range(m["X"].shape[1])]
    ys = [m["Y"][0, t].astype(float).ravel() for t in range(m["Y"].shape[1])]
    return Xs, ys


def test_school_raw_sum_scaling(school):
    Xs, ys = school
    H = np.stack([X.T @ X for X in Xs])
    Q = np.stack([X.T @ y for X, y in zip(Xs, ys, strict=True)], axis=1)
    c = np.array([y @ y for y in ys])
    for alpha in [1.0, 1000.0]:
        res = solve_quadratic(H, Q, c, alpha, tol=1e-6)
        assert res.converged and res.n_iter <= 500
        ref = solve_quadratic(H, Q, c, alpha, tol=1e-11)
        assert ref.converged
        f, f_ref = objective(H, Q, c, res.W, alpha), objective(H, Q, c, ref.W, alpha)
        # The certified gap bounds the actual relative error.
        assert 0 <= (f - f_ref) / f_ref <= res.gap + 1e-11


def test_school_standardized_path(school):
    Xs, ys = school
    X_all = np.vstack(Xs)
    mu, sd = X_all.mean(axis=0), X_all.std(axis=0)
    sd[sd == 0] = 1.0
    H, Q, c = [], [], []
    for X, y in zip(Xs, ys, strict=True):
        Xc = (X - mu) / sd
        Xc -= Xc.mean(axis=0)
        yc = y - y.mean()
        H.append(Xc.T @ Xc / len(y))
        Q.append(Xc.T @ yc / len(y))
        c.append(yc @ yc / len(y))
    H, Q, c = np.stack(H), np.stack(Q, axis=1), np.array(c)
    eig = quadratic_eigh(H)
    W, rho = None, None
    ranks = []
    for alpha in alpha_max(Q) * np.geomspace(1.0, 1e-3, 8):
        res = solve_quadratic(H, Q, c, alpha, W0=W, rho=rho, H_eig=eig)
        assert res.converged and res.n_iter <= 300
        W, rho = res.W, res.rho if np.isfinite(res.rho) else None
        ranks.append(np.linalg.matrix_rank(W))
    assert ranks[0] == 0 and ranks[-1] > ranks[1] >= 1

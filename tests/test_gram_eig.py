"""The eigendecomposition of the per-task Gram matrices in H's own buffer."""

import pickle
import threading

import numpy as np
import pytest

from skmtl import TraceNormMTLRegressor
from skmtl.datafits import _gram_eig
from skmtl.datafits._losses import SquaredLoss, TaskBlocks
from skmtl.penalties import L21
from skmtl.penalties._base import make_penalty
from skmtl.solvers import _admm
from skmtl.solvers._admm import quadratic_eigh, solve_quadratic, solve_squared
from skmtl.solvers._path import datafit_path
from skmtl.utils._validation import validate_fit_data


def _blocks(rng, T, d, n=12, shared=False):
    if shared:
        X = rng.standard_normal((n, d))
        Xs = [X] * T
        s = np.ones(n)
        weights = [s] * T
    else:
        Xs = [rng.standard_normal((n, d)) for _ in range(T)]
        weights = [np.ones(n) for _ in range(T)]
    W = rng.standard_normal((d, 2)) @ rng.standard_normal((2, T))
    ys = [X @ W[:, t] + 0.1 * rng.standard_normal(n) for t, X in enumerate(Xs)]
    return TaskBlocks(Xs, ys, weights, np.full(T, float(n)), shared=shared)


def _datafit(rng, T, d, **kw):
    return SquaredLoss(_blocks(rng, T, d, **kw), form="gram")


def _rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), np.finfo(float).tiny)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 3 matrices of 4 x 4 (so T = 10 ends on a partial chunk)."""
    monkeypatch.setattr(_gram_eig, "_CHUNK_BYTES", 3 * 8 * 16)


@pytest.mark.parametrize(
    "T, d", [(10, 4), (9, 4), (1, 4), (7, 1), (1, 1), (40, 7)], ids=str
)
def test_gram_eig_decomposes_h(small_chunks, T, d):
    rng = np.random.default_rng(T * 100 + d)
    df = _datafit(rng, T, d)
    H0 = df.H.copy()
    lam_ref = np.linalg.eigh(H0)[0]
    lam, V = df.gram_eig()
    assert V is df._gram_buf  # H's own buffer now holds V
    assert lam.shape == (T, d) and V.shape == (T, d, d)
    assert _rel(lam, lam_ref) <= 1e-12
    assert _rel(np.matmul(V * lam[:, None, :], V.transpose(0, 2, 1)), H0) <= 1e-12
    eye = np.broadcast_to(np.eye(d), (T, d, d))
    assert np.abs(np.matmul(V.transpose(0, 2, 1), V) - eye).max() <= 1e-12
    assert df.gram_eig()[1] is V  # computed once


def test_h_is_rebuilt_once_after_gram_eig(small_chunks):
    rng = np.random.default_rng(0)
    df = _datafit(rng, 10, 4)
    H0 = df.H.copy()
    df.gram_eig()
    H = df.H
    assert H is not df._gram_buf
    assert _rel(H, H0) <= 1e-12
    np.testing.assert_array_equal(H, H.transpose(0, 2, 1))  # exactly symmetric
    assert df.H is H  # cached: one rebuild, a stable identity
    assert df.gram_ndim == 3


def test_shared_gram_keeps_h(small_chunks):
    rng = np.random.default_rng(1)
    df = _datafit(rng, 5, 4, shared=True)
    H = df.H
    assert H.ndim == 2 and df.gram_ndim == 2
    H0 = H.copy()
    lam, V = df.gram_eig()
    assert df.H is H
    np.testing.assert_array_equal(H, H0)
    assert _rel((V * lam) @ V.T, H0) <= 1e-12
    assert df.gram_eig()[0] is lam


def test_gram_eig_and_h_from_several_threads(small_chunks):
    rng = np.random.default_rng(2)
    df = _datafit(rng, 40, 4)
    H0 = df.H.copy()
    lam_ref = np.linalg.eigh(H0)[0]
    barrier = threading.Barrier(6)
    results, errors = [], []

    def work(k):
        try:
            barrier.wait()
            for _ in range(5):
                if k % 2:
                    results.append(("eig", df.gram_eig()))
                else:
                    results.append(("H", df.H))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    lam, V = df.gram_eig()
    for kind, value in results:
        if kind == "eig":
            assert value[0] is lam and value[1] is V
        else:  # either H itself (read before) or its one rebuild
            assert _rel(value, H0) <= 1e-12 or value is df._gram_buf
    assert _rel(lam, lam_ref) <= 1e-12
    assert _rel(df.H, H0) <= 1e-12


def test_h_read_before_gram_eig_is_h():
    """A thread reading H before the decomposition sees H, not V."""
    rng = np.random.default_rng(3)
    df = _datafit(rng, 6, 3)
    H0 = df.H.copy()
    np.testing.assert_array_equal(df.H, H0)
    df.gram_eig()
    assert _rel(df.H, H0) <= 1e-12


def test_datafit_pickles_after_gram_eig():
    rng = np.random.default_rng(4)
    df = _datafit(rng, 6, 3)
    H0 = df.H.copy()
    lam, _ = df.gram_eig()
    back = pickle.loads(pickle.dumps(df))
    np.testing.assert_array_equal(back.gram_eig()[0], lam)
    assert _rel(back.H, H0) <= 1e-12
    back.H = H0  # assigning H starts over
    np.testing.assert_array_equal(back.H, H0)
    assert back.gram_eig_computed() is None


def test_task_prox_uses_the_decomposition():
    rng = np.random.default_rng(5)
    ref = _datafit(rng, 6, 3)
    rng = np.random.default_rng(5)
    df = _datafit(rng, 6, 3)
    df.gram_eig()
    x = np.arange(3.0)
    for t in range(6):
        w_ref, _ = ref.task_prox(t, x, step_size=0.7)
        w, _ = df.task_prox(t, x, step_size=0.7)
        assert _rel(w, w_ref) <= 1e-12
    assert df._gram_H is None  # H was not rebuilt for it


def _old_solve(df_ref, alpha, **kw):
    """The former path: eigh of a copy of H, then solve_quadratic on it."""
    H = df_ref.H.copy()
    return solve_quadratic(H, df_ref.Q, df_ref.c, alpha, H_eig=quadratic_eigh(H), **kw)


@pytest.mark.parametrize("alpha_ratio", [0.0, 0.05, 0.5, 1.5])
def test_solve_squared_matches_the_former_path(alpha_ratio):
    T, d = 30, 5
    ref = _datafit(np.random.default_rng(6), T, d)
    df = _datafit(np.random.default_rng(6), T, d)
    alpha = alpha_ratio * np.linalg.norm(ref.Q, 2)
    old = _old_solve(ref, alpha, tol=1e-10)
    new = solve_squared(df, alpha, tol=1e-10)
    assert _rel(new.W, old.W) <= 1e-12 if np.any(old.W) else not np.any(new.W)
    assert new.n_iter == old.n_iter and new.converged == old.converged
    assert df._gram_H is None  # the solve never rebuilt H
    assert (df.gram_eig_computed() is None) == (alpha_ratio >= 1)


def test_regressor_coef_matches_the_former_path():
    rng = np.random.default_rng(7)
    T, n, d = 25, 15, 6
    X = rng.standard_normal((T * n, d))
    tasks = np.repeat(np.arange(T), n)
    y = np.einsum("ij,ij->i", X, rng.standard_normal((T, d))[tasks])
    Xl = np.column_stack([X, tasks])
    est = TraceNormMTLRegressor(alpha=0.05, task_column=-1, tol=1e-10).fit(Xl, y)
    data = validate_fit_data(est, Xl, y, None, classifier=False)
    ref = est._make_datafit(data.blocks)
    assert ref.form == "gram"
    old = _old_solve(ref, 0.05, tol=1e-10)
    assert _rel(est.coef_, old.W.T) <= 1e-12


def test_datafit_path_matches_the_former_path():
    T, d = 20, 4
    ref = _datafit(np.random.default_rng(8), T, d)
    df = _datafit(np.random.default_rng(8), T, d)
    amax = np.linalg.norm(ref.Q, 2)
    alphas = amax * np.array([1.2, 0.5, 0.1, 0.01])
    path = datafit_path(df, alphas, tol=1e-10)
    H = ref.H.copy()
    eig = quadratic_eigh(H)
    W = rho = None
    for k, alpha in enumerate(alphas):
        res = solve_quadratic(
            H, ref.Q, ref.c, alpha, W0=W, rho=rho, tol=1e-10, H_eig=eig
        )
        W, rho = res.W, res.info["rho"] if np.isfinite(res.info["rho"]) else rho
        if np.any(W):
            assert _rel(path.coefs[k], W.T) <= 1e-12
        else:
            assert not np.any(path.coefs[k])
    assert df._gram_H is None


class _AllocatingSpace(_admm._GramSpace):
    """The former iteration: new arrays for every intermediate (reference)."""

    def iterate(self, rho):
        r, Z, Ze, U, Ue = self.relaxation, self.Z, self.Ze, self.U, self.Ue
        self.B = Z - U
        We = (self.qe + rho * (Ze - Ue)) / (self.lam + rho)
        W = self.eig.from_eig(We)
        if r != 1.0:
            Wr, Wre = r * W + (1.0 - r) * Z, r * We + (1.0 - r) * Ze
        else:
            Wr, Wre = W, We
        M = Wr + U
        self.Z_old = Z
        self.Z, nuc = _admm._svt(M, self.alpha / rho, self.pen, self.prox_state)
        self.U = M - self.Z
        self.Ze = self.eig.to_eig(self.Z)
        self.Ue = Wre + Ue - self.Ze
        self.W, self.We = W, We
        S, _ = _admm._fit_terms(self.lam, self.qe, self.csum, self.Ze)
        return 0.5 * S + self.alpha * nuc

    def dual(self, rho):
        Sw, Rw = _admm._fit_terms(self.lam, self.qe, self.csum, self.We)
        gw = rho * self.pen.dual_norm(self.B - self.W)
        return _admm._dual_value(Sw, Rw, gw, self.alpha)


@pytest.mark.parametrize("relaxation", [1.6, 1.0])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("penalty", [None, L21()], ids=["trace", "l21"])
def test_admm_buffers_give_the_former_iterates(relaxation, shared, penalty):
    df = _datafit(np.random.default_rng(9), 25, 6, shared=shared)
    pen = make_penalty(penalty)
    eig = _admm._Eig(df.H, df.n_tasks)
    qe = eig.to_eig(np.ascontiguousarray(df.Q.T))
    alpha = 0.1 * pen.dual_norm(df.Q)
    runs = []
    for cls in (_admm._GramSpace, _AllocatingSpace):
        space = cls(eig, qe, float(df.c.sum()), alpha, pen, relaxation)
        space.start(np.zeros(qe.shape), 1.0, warm=False)
        runs.append(_admm.run_admm(space, 1.0, 1e-10, 500, 1, 0))
    new, old = runs
    assert new.n_iter == old.n_iter > 3
    assert _rel(new.W, old.W) <= 1e-12
    np.testing.assert_allclose(new.objective_history, old.objective_history, rtol=1e-12)

"""Tests for the trace-norm prox: SVD reference, optimality, fallback, edge cases."""

import numpy as np
import pytest

from skmtl.penalties import _trace_norm as _prox
from skmtl.penalties._trace_norm import (
    TraceNormProx,
    prox_trace_norm,
    spectral_norm,
    trace_norm,
)

pytestmark = pytest.mark.timeout(60)


# --------------------------------------------------------------------------- #
# Reference and test matrices
# --------------------------------------------------------------------------- #
def svt_reference(V, threshold):
    """Plain singular value thresholding through numpy.linalg.svd, in float64."""
    V = np.asarray(V, dtype=np.float64)
    U, s, Qt = np.linalg.svd(V, full_matrices=False)
    return (U * np.maximum(s - threshold, 0.0)) @ Qt


def matrix_with_singular_values(rng, d, T, s):
    """A random d x T matrix with the given singular values."""
    r = len(s)
    U, _ = np.linalg.qr(rng.standard_normal((d, r)))
    Q, _ = np.linalg.qr(rng.standard_normal((T, r)))
    return (U * np.asarray(s)) @ Q.T


def low_rank(rng, d, T, r):
    return rng.standard_normal((d, r)) @ rng.standard_normal((r, T))


SHAPES = {
    "tall": (30, 10),
    "wide": (10, 30),
    "square": (20, 20),
    "tall-rank3": (30, 20, 3),
    "wide-rank3": (20, 30, 3),
    "1xT": (1, 7),
    "dx1": (7, 1),
    "1x1": (1, 1),
}
# Thresholds as fractions of the largest singular value.
FRACTIONS = [0.0, 1e-5 * 1.01, 1e-3, 0.1, 0.5, 0.99, 1.0, 1.5, 100.0]


def make_matrix(name, seed=0):
    rng = np.random.default_rng(seed)
    shape = SHAPES[name]
    if len(shape) == 3:
        return low_rank(rng, *shape)
    return rng.standard_normal(shape)


def rel_err(A, B, scale):
    return np.linalg.norm(np.asarray(A, float) - np.asarray(B, float)) / scale


# --------------------------------------------------------------------------- #
# prox_trace_norm against the SVD reference
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("fraction", FRACTIONS)
def test_prox_matches_svd_reference_float64(name, fraction):
    V = make_matrix(name)
    s_max = np.linalg.norm(V, 2)
    th = fraction * s_max
    P = prox_trace_norm(V, th)
    assert P.dtype == np.float64 and P.shape == V.shape
    assert rel_err(P, svt_reference(V, th), s_max) < 1e-10


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("fraction", FRACTIONS)
def test_prox_matches_svd_reference_float32(name, fraction):
    V = make_matrix(name, seed=1).astype(np.float32)
    s_max = np.linalg.norm(V.astype(np.float64), 2)
    th = fraction * s_max
    P = prox_trace_norm(V, th)
    assert P.dtype == np.float32 and P.shape == V.shape
    assert rel_err(P, svt_reference(V, th), s_max) < 1e-6


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shape", [(40, 25), (25, 40)])
def test_prox_thresholds_between_singular_values(seed, shape):
    # Thresholds just above, just below and between the singular values.
    rng = np.random.default_rng(seed)
    V = rng.standard_normal(shape)
    s = np.linalg.svd(V, compute_uv=False)
    for th in np.concatenate([s * (1 + 1e-9), s * (1 - 1e-9), (s[1:] + s[:-1]) / 2]):
        P, rank = prox_trace_norm(V, th, return_rank=True)
        assert rel_err(P, svt_reference(V, th), s[0]) < 1e-10
        assert rank == np.count_nonzero(s > th)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shape", [(40, 25), (25, 40), (1, 9), (9, 1)])
def test_prox_optimality_condition(seed, shape):
    # (V - P) / th must be a subgradient of the trace norm at P:
    # spectral norm <= 1 and <(V - P) / th, P> = ||P||_*.
    rng = np.random.default_rng(seed)
    V = rng.standard_normal(shape)
    s_max = np.linalg.norm(V, 2)
    for th in [1e-3 * s_max, 0.2 * s_max, 0.7 * s_max, 1.2 * s_max]:
        P = prox_trace_norm(V, th)
        G = (V - P) / th
        assert spectral_norm(G) <= 1 + 1e-10
        assert abs(np.sum(G * P) - trace_norm(P)) <= 1e-10 * max(s_max, 1.0)


def test_prox_optimality_fails_for_a_wrong_answer():
    # The condition above is a real check: a slightly shrunk prox violates it.
    V = np.random.default_rng(0).standard_normal((20, 10))
    th = 0.3 * np.linalg.norm(V, 2)
    P = 0.999 * prox_trace_norm(V, th)
    G = (V - P) / th
    assert abs(np.sum(G * P) - trace_norm(P)) > 1e-6


# --------------------------------------------------------------------------- #
# The SVD fallback
# --------------------------------------------------------------------------- #
def ill_conditioned(seed, d, T, low=1e-9):
    rng = np.random.default_rng(seed)
    r = min(d, T)
    s = np.logspace(np.log10(low), 0, r)[::-1]
    return matrix_with_singular_values(rng, d, T, s)


@pytest.mark.parametrize("shape", [(40, 30), (30, 40)])
def test_ill_conditioned_small_threshold_uses_svd_fallback(shape, monkeypatch):
    V = ill_conditioned(0, *shape)
    th = 1e-8  # far below 1e-5 * s_max = 1e-5
    ref = svt_reference(V, th)

    calls = []

    def spy(*args):
        calls.append(1)
        return _prox._svt_svd.__wrapped__(*args)

    spy.__wrapped__ = _prox._svt_svd
    monkeypatch.setattr(_prox, "_svt_svd", spy)
    P = prox_trace_norm(V, th)
    assert calls, "the SVD fallback was not used"
    assert rel_err(P, ref, 1.0) < 1e-13

    # The Gram route alone is visibly wrong here: the fallback is needed.
    tasks_side = shape[1] <= shape[0]
    lam, vecs = np.linalg.eigh(_prox._gram(V, tasks_side))
    P_gram, _ = _prox._svt_from_eigh(V, lam, vecs, th, tasks_side)
    assert rel_err(P_gram, ref, 1.0) > 1e-9


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", [(50, 35), (35, 50)])
def test_gram_route_just_above_the_criterion_is_accurate(seed, shape, monkeypatch):
    # Singular values spanning 1e-12 .. 1 with a cluster next to the threshold:
    # the hardest case the Gram route accepts must still meet 1e-10.
    rng = np.random.default_rng(seed)
    r = min(shape)
    th = 1.01 * _prox._GRAM_RTOL
    cluster = th * (1 + rng.uniform(-0.05, 0.05, 8))
    s = np.sort(np.concatenate([np.logspace(-12, 0, r - 8), cluster]))[::-1]
    V = matrix_with_singular_values(rng, *shape, s)

    def no_svd(*args):
        raise AssertionError("the SVD fallback should not be needed here")

    monkeypatch.setattr(_prox, "_svt_svd", no_svd)
    P = prox_trace_norm(V, th * s[0])
    assert rel_err(P, svt_reference(V, th * s[0]), s[0]) < 1e-10


# --------------------------------------------------------------------------- #
# Edge cases of prox_trace_norm
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (1, 4), (4, 1)])
def test_prox_of_zero_matrix(shape):
    P, rank = prox_trace_norm(np.zeros(shape), 0.5, return_rank=True)
    assert np.array_equal(P, np.zeros(shape)) and rank == 0


def test_prox_threshold_zero_returns_a_copy_of_V():
    V = low_rank(np.random.default_rng(0), 8, 6, 2)
    P, rank = prox_trace_norm(V, 0.0, return_rank=True)
    assert np.array_equal(P, V) and P is not V and rank == 2
    P[0, 0] += 1
    assert P[0, 0] != V[0, 0]


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (1, 6), (6, 1)])
def test_prox_threshold_above_smax_returns_zeros(shape):
    V = np.random.default_rng(0).standard_normal(shape)
    s_max = np.linalg.norm(V, 2)
    for th in [s_max * (1 + 1e-12), 2 * s_max, np.inf]:
        P, rank = prox_trace_norm(V, th, return_rank=True)
        assert np.abs(P).max() <= 1e-12 * s_max and rank == 0


def test_prox_rank_one_shapes_are_plain_shrinkage():
    # For a single row or column, SVT shrinks the vector's norm by the threshold.
    v = np.array([3.0, 4.0, 0.0, 12.0])  # norm 13
    for V in (v[None, :], v[:, None]):
        P, rank = prox_trace_norm(V, 3.0, return_rank=True)
        np.testing.assert_allclose(P, V * (10 / 13), rtol=1e-13, atol=1e-14)
        assert rank == 1


def test_prox_non_contiguous_inputs_and_no_mutation():
    rng = np.random.default_rng(3)
    big = rng.standard_normal((40, 60))
    for V in (big[::2, ::3], big.T, np.asfortranarray(big), big[5:25, 7:19]):
        V_before = V.copy()
        th = 0.3 * np.linalg.norm(V, 2)
        P = prox_trace_norm(V, th)
        assert rel_err(P, svt_reference(V_before, th), np.linalg.norm(V, 2)) < 1e-10
        assert np.array_equal(V, V_before)


def test_prox_integer_input_gives_float64():
    V = np.array([[2, 0], [0, 1], [0, 0]])
    P = prox_trace_norm(V, 0.5)
    assert P.dtype == np.float64
    np.testing.assert_allclose(P, [[1.5, 0], [0, 0.5], [0, 0]], atol=1e-14)


@pytest.mark.parametrize("magnitude", [1e-200, 1e200])
def test_prox_extreme_magnitudes(magnitude):
    V = np.random.default_rng(0).standard_normal((12, 7))
    th = 0.4 * np.linalg.norm(V, 2)
    P = prox_trace_norm(V * magnitude, th * magnitude)
    assert rel_err(P / magnitude, svt_reference(V, th), np.linalg.norm(V, 2)) < 1e-10
    np.testing.assert_allclose(
        spectral_norm(V * magnitude) / magnitude, np.linalg.norm(V, 2), rtol=1e-13
    )


def test_prox_numpy_scalar_and_0d_thresholds():
    V = np.random.default_rng(0).standard_normal((6, 4))
    ref = prox_trace_norm(V, 0.5)
    for th in (np.float32(0.5), np.array(0.5), 1 / 2):
        np.testing.assert_allclose(prox_trace_norm(V, th), ref, rtol=0, atol=1e-7)


def test_prox_empty_matrix():
    P, rank = prox_trace_norm(np.zeros((0, 3)), 1.0, return_rank=True)
    assert P.shape == (0, 3) and rank == 0


# --------------------------------------------------------------------------- #
# trace_norm and spectral_norm
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", list(SHAPES))
def test_norms_match_numpy(name):
    for dtype in (np.float64, np.float32):
        W = make_matrix(name, seed=2).astype(dtype)
        W64 = W.astype(np.float64)
        np.testing.assert_allclose(trace_norm(W), np.linalg.norm(W64, "nuc"), 1e-12)
        np.testing.assert_allclose(spectral_norm(W), np.linalg.norm(W64, 2), 1e-12)
        assert isinstance(trace_norm(W), float) and isinstance(spectral_norm(W), float)


def test_spectral_norm_is_exact_for_ill_conditioned_matrices():
    V = ill_conditioned(0, 40, 30, low=1e-15)
    np.testing.assert_allclose(spectral_norm(V), np.linalg.norm(V, 2), rtol=1e-14)


def test_trace_norm_of_rank_deficient_matrix_is_accurate():
    # Many zero singular values must not add up to a visible error.
    W = low_rank(np.random.default_rng(0), 200, 150, 2)
    np.testing.assert_allclose(trace_norm(W), np.linalg.norm(W, "nuc"), rtol=1e-13)


def test_norms_of_zero_and_empty_matrices():
    assert trace_norm(np.zeros((3, 2))) == 0.0 == spectral_norm(np.zeros((3, 2)))
    assert trace_norm(np.zeros((0, 2))) == 0.0 == spectral_norm(np.zeros((0, 2)))


# --------------------------------------------------------------------------- #
# Bad inputs
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("threshold", [-1.0, -1e-300, np.nan, "1", None, [1.0], True])
def test_bad_threshold_raises(threshold):
    V = np.ones((3, 2))
    with pytest.raises(ValueError, match="threshold must be a non-negative real"):
        prox_trace_norm(V, threshold)
    with pytest.raises(ValueError, match="threshold must be a non-negative real"):
        TraceNormProx(V, threshold)
    prox = TraceNormProx(V, 1.0)
    with pytest.raises(ValueError, match="threshold must be a non-negative real"):
        prox.set_threshold(threshold)


@pytest.mark.parametrize("V", [np.ones(5), np.ones((2, 3, 4)), np.float64(1.0)])
def test_non_2d_input_raises(V):
    for func in (lambda A: prox_trace_norm(A, 1.0), trace_norm, spectral_norm):
        with pytest.raises(ValueError, match="must be a 2-D array"):
            func(V)
    with pytest.raises(ValueError, match="must be a 2-D array"):
        TraceNormProx(V, 1.0)


def test_non_finite_and_complex_input_raise():
    V = np.ones((3, 2))
    V[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        prox_trace_norm(V, 1.0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        TraceNormProx(V, 1.0)
    with pytest.raises(ValueError, match="real numbers"):
        prox_trace_norm(np.ones((2, 2), dtype=complex), 1.0)


# --------------------------------------------------------------------------- #
# TraceNormProx
# --------------------------------------------------------------------------- #
def assert_prox_state_matches(prox, V_expected, atol=1e-10):
    assert np.array_equal(prox.V, V_expected)
    ref = prox_trace_norm(V_expected, prox.threshold)
    scale = max(np.linalg.norm(V_expected, 2), 1e-300)
    assert rel_err(prox.P, ref, scale) < atol
    assert prox.rank == prox_trace_norm(V_expected, prox.threshold, return_rank=True)[1]


@pytest.mark.parametrize("shape", [(15, 8), (8, 20), (12, 12), (1, 9), (9, 1)])
@pytest.mark.parametrize("refresh_every", [1, 7, None])
@pytest.mark.parametrize("recompute_every", [None, 10**6])
def test_incremental_prox_matches_full_prox(shape, refresh_every, recompute_every):
    # recompute_every=10**6: no exact recompute, the updates alone must be right.
    rng = np.random.default_rng(42)
    d, T = shape
    V = low_rank(rng, d, T, 2) + 0.1 * rng.standard_normal(shape)
    th = 0.3 * np.linalg.norm(V, 2)
    prox = TraceNormProx(V, th, recompute_every=recompute_every)
    assert_prox_state_matches(prox, V)
    for i in range(300):
        t = int(rng.integers(T))
        # Columns of varying size, sometimes zero, sometimes nearly unchanged.
        kind = i % 4
        if kind == 0:
            v = rng.standard_normal(d) * rng.uniform(0.1, 3)
        elif kind == 1:
            v = V[:, t] + 1e-6 * rng.standard_normal(d)
        elif kind == 2:
            v = np.zeros(d)
        else:
            v = V[:, (t + 1) % T].copy()
        V[:, t] = v
        prox.set_column(t, v)
        if refresh_every and i % refresh_every == 0:
            prox.refresh()
            assert_prox_state_matches(prox, V)
    prox.refresh()
    assert_prox_state_matches(prox, V)
    assert prox.n_updates == 300
    if recompute_every is not None:
        assert prox.n_gram_recomputes == 0


@pytest.mark.parametrize("shape", [(15, 8), (8, 20)])
def test_gram_recompute_happens_on_schedule(shape):
    rng = np.random.default_rng(0)
    V = rng.standard_normal(shape)
    prox = TraceNormProx(V, 0.5, recompute_every=10)
    assert prox.n_gram_recomputes == 0
    for i in range(35):
        t = i % shape[1]
        V[:, t] = rng.standard_normal(shape[0])
        prox.set_column(t, V[:, t])
        prox.refresh()
    assert prox.n_gram_recomputes == 3  # after updates 10, 20 and 30
    assert_prox_state_matches(prox, V)
    assert TraceNormProx(V, 0.5).recompute_every == max(shape[1], 50)


def test_gram_recompute_after_columns_shrink():
    # T > d: rank-two updates round relative to the Gram at the time. After huge
    # columns are replaced by small ones the maintained Gram is garbage unless it
    # is recomputed, even though recompute_every updates have not happened yet.
    rng = np.random.default_rng(0)
    d, T = 5, 20
    V = 1e6 * rng.standard_normal((d, T))
    prox = TraceNormProx(V, 1.0)
    assert prox.recompute_every == 50
    for t in range(T):
        V[:, t] = 1e-3 * rng.standard_normal(d)
        prox.set_column(t, V[:, t])
    prox.set_threshold(0.3 * np.linalg.norm(V, 2))
    prox.refresh()
    assert prox.n_gram_recomputes == 1
    assert_prox_state_matches(prox, V)


def test_set_threshold_reuses_the_eigendecomposition(monkeypatch):
    rng = np.random.default_rng(0)
    V = rng.standard_normal((10, 6))
    prox = TraceNormProx(V, 0.5)
    calls = []
    eigh = np.linalg.eigh

    def counting_eigh(*args, **kwargs):
        calls.append(1)
        return eigh(*args, **kwargs)

    for th in [0.1, 1.0, 2.5, 0.0, 1e9, 0.7]:
        prox.set_threshold(th)
        with monkeypatch.context() as m:
            m.setattr(np.linalg, "eigh", counting_eigh)
            prox.refresh()
        assert_prox_state_matches(prox, V)
    assert not calls
    V[:, 1] = 1.0
    prox.set_column(1, V[:, 1])
    with monkeypatch.context() as m:
        m.setattr(np.linalg, "eigh", counting_eigh)
        prox.refresh()
    assert len(calls) == 1
    assert_prox_state_matches(prox, V)


def test_incremental_prox_ill_conditioned_uses_fallback():
    V = ill_conditioned(1, 30, 20)
    prox = TraceNormProx(V, 3e-8)
    assert rel_err(prox.P, svt_reference(V, 3e-8), 1.0) < 1e-13
    V[:, 4] *= 1e-3
    prox.set_column(4, V[:, 4])
    assert rel_err(prox.refresh(), svt_reference(V, 3e-8), 1.0) < 1e-13


def test_incremental_prox_state_and_accessors():
    rng = np.random.default_rng(0)
    V = rng.standard_normal((6, 4))
    prox = TraceNormProx(V, 0.5)
    V[0, 0] = 99.0
    assert prox.V[0, 0] != 99.0  # the constructor copies
    with pytest.raises(ValueError):
        prox.V[0, 0] = 1.0
    with pytest.raises(ValueError):
        prox.P[0, 0] = 1.0
    col = prox.column(1)
    col[:] = 0
    assert not np.array_equal(prox.P[:, 1], col)
    # Nothing changed: refresh returns the same array without recomputing.
    n = prox.n_refreshes
    assert prox.refresh() is prox.P and prox.n_refreshes == n
    # P stays as of the last refresh until refresh is called.
    P_before = prox.P
    prox.set_column(0, np.zeros(6))
    assert prox.P is P_before
    assert prox.refresh() is not P_before
    # Column given as (d, 1) is accepted.
    prox.set_column(2, np.ones((6, 1)))
    assert np.array_equal(prox.V[:, 2], np.ones(6))


def test_incremental_prox_starting_from_zero():
    # AMTL starts from V = 0; the columns then grow.
    rng = np.random.default_rng(0)
    for shape in [(10, 4), (4, 10)]:
        V = np.zeros(shape)
        prox = TraceNormProx(V, 0.5)
        assert np.array_equal(prox.P, V) and prox.rank == 0
        for t in range(shape[1]):
            V[:, t] = rng.standard_normal(shape[0])
            prox.set_column(t, V[:, t])
        prox.refresh()
        assert_prox_state_matches(prox, V)


def test_incremental_prox_bad_inputs():
    prox = TraceNormProx(np.ones((4, 3)), 0.5)
    with pytest.raises(IndexError, match="out of range"):
        prox.set_column(3, np.ones(4))
    with pytest.raises(IndexError, match="out of range"):
        prox.set_column(-1, np.ones(4))
    with pytest.raises(ValueError, match=r"must have shape \(4,\)"):
        prox.set_column(0, np.ones(5))
    with pytest.raises(ValueError, match="NaN or infinity"):
        prox.set_column(0, np.array([1.0, np.inf, 0.0, 0.0]))
    for bad in (0, -3, 2.5, "10"):
        with pytest.raises(ValueError, match="recompute_every must be a positive"):
            TraceNormProx(np.ones((4, 3)), 0.5, recompute_every=bad)

"""The warm-started per-task logistic prox of Douglas-Rachford (_amtl/_nodes.py)."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from skmtl._amtl._nodes import TaskStep, WarmLogisticProx
from skmtl.datafits._losses import LogisticLoss, TaskBlocks


class NoDensify(sp.csr_matrix):
    """A CSR matrix that refuses to become dense."""

    def toarray(self, *args, **kwargs):
        raise AssertionError("X was densified")

    todense = toarray


def logistic(T=3, d=6, sparse=False, fit_intercept=True, seed=0):
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    for t in range(T):
        n = 40 + 10 * t
        X = rng.standard_normal((n, d))
        if sparse:
            X[rng.random((n, d)) < 0.6] = 0.0
            X = NoDensify(X)
        Xs.append(X)
        ys.append(np.where(rng.random(n) < 0.5, -1.0, 1.0))
    ns = np.array([len(y) for y in ys], dtype=float)
    blocks = TaskBlocks(Xs, ys, [np.ones(len(y)) for y in ys], ns)
    return LogisticLoss(blocks, fit_intercept=fit_intercept)


def dense_copy(df):
    Xs = [sp.csr_matrix(X).tocoo() for X in df.blocks.Xs]
    Xs = [np.asarray(sp.coo_matrix.toarray(X)) for X in Xs]
    blocks = TaskBlocks(Xs, df.blocks.ys, df.blocks.sample_weights, df.blocks.scales)
    return LogisticLoss(blocks, fit_intercept=df.fit_intercept)


def prox_gradient(df, t, x, xb, step, w, b):
    """Gradient of the prox objective at (w, b): zero at the solution."""
    g, gb = df.task_gradient(t, w, b)
    out = g + (w - x) / step
    if gb is not None:
        out = np.append(out, gb + (b - xb) / step)
    return out


# 'auto' with d + 1 = 7 recomputes the Hessian at every step (plain Newton);
# cheap_hessian=4 makes it the chord method with reused factors, as 0.25 does.
PROX_OPTIONS = [
    {},
    {"refresh_rate": 0.25},
    {"cheap_hessian": 4},
]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("step", [0.1, 10.0])
@pytest.mark.parametrize("options", PROX_OPTIONS)
def test_matches_the_datafit_prox_cold_and_warm(fit_intercept, step, options):
    df = logistic(fit_intercept=fit_intercept)
    prox = WarmLogisticProx(**options)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(6)
    for _ in range(6):  # a slowly moving point, as in Douglas-Rachford
        x = x + 0.01 * rng.standard_normal(6)
        xb = 0.3 if fit_intercept else None
        for t in range(3):
            w, b = prox(df, t, x, xb, step)
            w_ref, b_ref = df.task_prox(t, x, xb, step)
            np.testing.assert_allclose(w, w_ref, atol=1e-9)
            if fit_intercept:
                assert b == pytest.approx(b_ref, abs=1e-9)
            else:
                assert b is None
            g = prox_gradient(df, t, x, xb, step, w, b)
            assert np.linalg.norm(g) <= 1e-10 * max(1.0, 1.0 / step)
    if options:  # the Hessian factors were reused: fewer than one per call
        assert prox.n_hessians < prox.n_calls
    else:  # plain Newton from the warm start: quadratic, a few steps per call
        assert prox.n_iterations <= 4 * prox.n_calls
    assert 0 < prox.cached_bytes <= prox.max_bytes


def test_sparse_x_is_never_densified():
    df = logistic(d=30, sparse=True)
    ref = dense_copy(df)
    prox = WarmLogisticProx()
    rng = np.random.default_rng(2)
    x = rng.standard_normal(30)
    for t in range(3):
        for _ in range(2):
            w, b = prox(df, t, x, -0.2, 1.0)
        w_ref, b_ref = ref.task_prox(t, x, -0.2, 1.0)
        np.testing.assert_allclose(w, w_ref, atol=1e-9)
        assert b == pytest.approx(b_ref, abs=1e-9)
    assert prox.cached_bytes == 0  # sparse tasks use Newton-CG, no Hessian


def test_memory_cap_is_honoured():
    df = logistic(d=20)
    prox = WarmLogisticProx(max_bytes=21 * 21 * 8)  # one task's inverse
    x = np.linspace(-1, 1, 20)
    for t in range(3):
        w, b = prox(df, t, x, 0.0, 1.0)
        w_ref, b_ref = df.task_prox(t, x, 0.0, 1.0)
        np.testing.assert_allclose(w, w_ref, atol=1e-9)
    assert prox.cached_bytes <= 21 * 21 * 8
    assert len(prox._inv) == 1


def test_soft_targets_and_other_losses_use_the_datafit_prox():
    df = logistic()
    df.set_task_soft_targets(1, np.full(df.blocks.ys[1].shape, 0.7))
    assert WarmLogisticProx.applies(df, 0)
    assert not WarmLogisticProx.applies(df, 1)
    assert not WarmLogisticProx.applies(object(), 0)


def test_pickling_drops_the_caches_and_task_step_uses_it():
    df = logistic()
    step = TaskStep("douglas-rachford", 1.0)
    assert isinstance(step.task_prox, WarmLogisticProx)
    assert TaskStep("forward-backward", 1.0).task_prox is None
    step.task_prox(df, 0, np.zeros(6), 0.0, 1.0)
    assert step.task_prox._last
    clone = pickle.loads(pickle.dumps(step))
    assert not clone.task_prox._last and clone.task_prox.cached_bytes == 0


@pytest.mark.parametrize("rel_tol", [0.1, 0.5])
def test_relative_tolerance_bounds_the_error_by_the_move(rel_tol):
    # By the 1/eta-strong convexity of the prox objective, stopping at
    # ||grad|| <= rel_tol / eta * ||z - z_prev|| leaves an error of at most
    # rel_tol times the move since the task's previous solution: errors that
    # vanish with the moves (summable when Douglas-Rachford converges).
    df = logistic()
    step = 2.0
    prox = WarmLogisticProx(rel_tol=rel_tol)
    exact = WarmLogisticProx()
    rng = np.random.default_rng(3)
    x = rng.standard_normal(6)
    prev = None
    inexact_calls = 0
    for k in range(12):
        x = x + 0.3 * 0.5**k * rng.standard_normal(6)
        w, b = prox(df, 0, x, 0.1, step)
        w_ref, b_ref = exact(df, 0, x, 0.1, step)
        z, z_ref = np.append(w, b), np.append(w_ref, b_ref)
        if prev is not None:
            err = np.linalg.norm(z - z_ref)
            assert err <= rel_tol * np.linalg.norm(z - prev) + 1e-10
            inexact_calls += err > 1e-9
        prev = z
    assert inexact_calls > 0  # the tolerance was used, not only the 1e-12 floor


def test_douglas_rachford_task_step_uses_the_relative_tolerance():
    from skmtl._amtl._nodes import DR_PROX_REL_TOL

    step = TaskStep("douglas-rachford", 1.0)
    assert step.task_prox.rel_tol == DR_PROX_REL_TOL
    assert WarmLogisticProx().rel_tol is None  # exact by default


def test_wide_dense_task_uses_the_numpy_inverse_and_matches():
    # d + 1 = 71 > 64: the Hessian is inverted by numpy.linalg (which lets the
    # other threads run) and reused (chord: above cheap_hessian).
    df = logistic(T=1, d=70, seed=4)
    prox = WarmLogisticProx()
    x = np.linspace(-0.1, 0.1, 70)
    for k in range(3):
        x = x + 0.01 * k
        w, b = prox(df, 0, x, 0.2, 0.5)
        w_ref, b_ref = df.task_prox(0, x, 0.2, 0.5)
        np.testing.assert_allclose(w, w_ref, atol=1e-9)
        assert b == pytest.approx(b_ref, abs=1e-9)
    kind, Hinv = prox._inv[0][1]
    assert kind == "inv" and Hinv.shape == (71, 71)
    assert prox.n_hessians < prox.n_iterations

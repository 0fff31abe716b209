"""Regularization paths (skmtl.solvers._path): every point equals an
independent fit of the estimator at that alpha, for both losses, both
penalties and both data modes; bad input is refused."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skmtl import (
    L21MTLClassifier,
    L21MTLRegressor,
    TraceNormMTLClassifier,
    TraceNormMTLRegressor,
    alpha_max,
)
from skmtl.solvers._path import datafit_path, default_alphas, mtl_path

ESTIMATORS = {
    ("squared", "trace"): TraceNormMTLRegressor,
    ("logistic", "trace"): TraceNormMTLClassifier,
    ("squared", "l21"): L21MTLRegressor,
    ("logistic", "l21"): L21MTLClassifier,
}


def make_data(rng, loss, mode, T=4, d=5):
    U = rng.randn(d, 2)
    if mode == "shared":
        X = rng.randn(40, d)
        M = X @ U @ rng.randn(2, T) + rng.randn(T)
        if loss == "squared":
            return X, M + 0.3 * rng.randn(40, T)
        Y = (M + rng.logistic(size=M.shape) > 0).astype(int)
        Y[:2] = [[0] * T, [1] * T]
        return X, Y
    Xs, ys = [], []
    for t, n in enumerate([25, 18, 40, 30][:T]):
        X = rng.randn(n, d)
        m = X @ U @ rng.randn(2) + rng.randn()
        if loss == "squared":
            y = m + 0.3 * rng.randn(n)
        else:
            y = (m + rng.logistic(size=n) > 0).astype(int)
            y[:2] = [0, 1]
        Xs.append(np.column_stack([X, np.full(n, t)]))
        ys.append(y)
    return np.vstack(Xs), np.concatenate(ys)


@pytest.mark.parametrize("mode", ["long", "shared"])
@pytest.mark.parametrize("penalty", ["trace", "l21"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_path_equals_independent_fits(loss, penalty, mode, rng):
    X, y = make_data(rng, loss, mode)
    task_column = -1 if mode == "long" else None
    rs = rng.uniform(0.5, 2.0, X.shape[0])
    kw = dict(task_column=task_column, loss_scaling="sum", sample_weight=rs)
    a_max = alpha_max(X, y, loss=loss, penalty=penalty, **kw)
    path = mtl_path(
        X, y, loss=loss, penalty=penalty, n_alphas=6, eps=1e-2, tol=1e-10, **kw
    )
    assert_allclose(path.alphas, np.geomspace(a_max, 1e-2 * a_max, 6))
    assert path.converged.all() and np.all(path.gaps <= 1e-10)
    assert not np.any(path.coefs[0])  # alpha_max: W = 0
    assert np.any(path.coefs[-1])
    Est = ESTIMATORS[loss, penalty]
    for k, alpha in enumerate(path.alphas):
        est = Est(
            alpha=alpha,
            task_column=task_column,
            loss_scaling="sum",
            tol=1e-10,
            max_iter=100_000,
        )
        if k == 0:
            est._warn_zero_coef = False
        est.fit(X, y, sample_weight=rs)
        assert_allclose(path.coefs[k], est.coef_, atol=1e-6)
        assert_allclose(path.intercepts[k], est.intercept_, atol=1e-6)


def test_path_shapes_and_order(rng):
    X, y = make_data(rng, "squared", "long")
    path = mtl_path(X, y, alphas=[0.01, 1.0, 0.1], task_column=-1)
    assert_allclose(path.alphas, [1.0, 0.1, 0.01])
    assert path.coefs.shape == (3, 4, 5)
    assert path.intercepts.shape == (3, 4)
    assert path.gaps.shape == path.n_iter.shape == path.converged.shape == (3,)
    assert path.n_iter.dtype.kind == "i"


def test_warm_starts_save_iterations(rng):
    """Each alpha starts from its neighbour: fewer iterations than cold fits."""
    X, y = make_data(rng, "logistic", "long")
    path = mtl_path(X, y, loss="logistic", task_column=-1, n_alphas=8, eps=1e-2)
    cold = [
        TraceNormMTLClassifier(alpha=a, task_column=-1).fit(X, y).n_iter_
        for a in path.alphas[1:]
    ]
    assert path.n_iter[1:].sum() < sum(cold)


def test_callback_stops_the_path(rng):
    X, y = make_data(rng, "squared", "long")
    seen = []

    def callback(k, alpha, result):
        seen.append((k, alpha, result.gap))
        return k == 2

    from skmtl.datafits._losses import SquaredLoss, TaskBlocks

    Xs = [rng.randn(20, 3) for _ in range(3)]
    ys = [x @ np.ones(3) + rng.randn(20) for x in Xs]
    df = SquaredLoss(TaskBlocks(Xs, ys, [np.ones(20)] * 3, np.ones(3)))
    path = datafit_path(df, [1.0, 0.5, 0.2, 0.1], callback=callback)
    assert len(path.alphas) == 3 and [s[0] for s in seen] == [0, 1, 2]


@pytest.mark.parametrize(
    "alphas, match",
    [
        ([], "non-empty"),
        ([[1.0]], "1-D"),
        ([0.1, np.nan], "finite"),
        ([-1.0], "non-neg"),
    ],
)
def test_bad_alphas(alphas, match, rng):
    X, y = make_data(rng, "squared", "long")
    with pytest.raises(ValueError, match=match):
        mtl_path(X, y, alphas=alphas, task_column=-1)


def test_bad_loss_or_penalty(rng):
    X, y = make_data(rng, "squared", "long")
    with pytest.raises(ValueError, match="loss must be"):
        mtl_path(X, y, loss="hinge", task_column=-1)
    with pytest.raises(ValueError, match="penalty 'trace' or 'l21'"):
        mtl_path(X, y, penalty="l1", task_column=-1)


def test_bad_data_is_refused_like_the_estimators(rng):
    X, y = make_data(rng, "squared", "long")
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mtl_path(X, y, task_column=-1)


def test_default_alphas():
    assert_allclose(default_alphas(2.0, 3, 0.01), [2.0, 0.2, 0.02])
    assert_allclose(default_alphas(0.0), [0.0])

"""Features on a huge scale (X * 1e10) at the default alpha.

alpha_max grows with the scale of X, so the default alpha becomes a negligible
fraction of it; the logistic duality gap cannot be certified there in float64
(the fit used to run to max_iter and stop at a relative gap of 1.0 with a
ConvergenceWarning).  The classifiers now refuse such a fit with an error that
names the ratio and the remedies; the regressors still converge.  Scaling X by
``c`` and alpha by ``c`` maps the solution to ``W / c`` exactly, which the
accepted fits are checked against.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from skmtl import (
    AsyncTraceNormMTLClassifier,
    AsyncTraceNormMTLRegressor,
    L21MTLClassifier,
    TraceNormMTLClassifier,
    TraceNormMTLClassifierCV,
    TraceNormMTLRegressor,
    alpha_max,
)

SCALE = 1e10


def problem(seed=0, T=5, n=60, d=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T * n, d))
    tasks = np.repeat(np.arange(T), n)
    W = rng.standard_normal((d, 2)) @ rng.standard_normal((2, T))
    m = np.einsum("ij,ji->i", X, W[:, tasks])
    y_clf = (m + 0.5 * rng.standard_normal(T * n) > 0).astype(int)
    y_reg = m + 0.1 * rng.standard_normal(T * n)
    return X, tasks, y_clf, y_reg


def long(X, tasks):
    return np.column_stack([X, tasks])


@pytest.mark.parametrize(
    "Est, kwargs",
    [
        (TraceNormMTLClassifier, {}),
        (L21MTLClassifier, {}),
        (AsyncTraceNormMTLClassifier, {"backend": "sequential"}),
    ],
)
def test_classifier_on_huge_features_fails_clearly(Est, kwargs):
    X, tasks, y, _ = problem()
    Xs = long(X * SCALE, tasks)
    est = Est(task_column=-1, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no run to max_iter
        with pytest.raises(ValueError, match="alpha_max") as info:
            est.fit(Xs, y)
    msg = str(info.value)
    assert type(est).__name__ in msg
    assert "alpha=0.05" in msg
    assert "standardize the features" in msg
    # the ratio it reports is the true one
    a_max = alpha_max(Xs, y, task_column=-1, loss="logistic", penalty=est._penalty.name)
    assert f"{0.05 / a_max:.1e}" in msg
    assert not hasattr(est, "coef_")


def test_classifier_with_alpha_relative_to_alpha_max_is_scale_equivariant():
    # X -> c X with alpha -> c alpha is the same problem in W / c: the fit on
    # the huge features converges and agrees with the fit on the original ones.
    X, tasks, y, _ = problem(seed=1)
    ref_X, big_X = long(X, tasks), long(X * SCALE, tasks)
    a_ref = alpha_max(ref_X, y, task_column=-1, loss="logistic")
    a_big = alpha_max(big_X, y, task_column=-1, loss="logistic")
    assert_allclose(a_big, SCALE * a_ref, rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ref = TraceNormMTLClassifier(alpha=0.05 * a_ref, task_column=-1, tol=1e-10)
        big = TraceNormMTLClassifier(alpha=0.05 * a_big, task_column=-1, tol=1e-10)
        ref.fit(ref_X, y)
        big.fit(big_X, y)
    assert ref.dual_gap_ <= 1e-10 and big.dual_gap_ <= 1e-10
    assert_allclose(big.coef_ * SCALE, ref.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(big.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(big.predict(big_X), ref.predict(ref_X))


def test_the_floor_is_a_ratio_not_a_scale():
    # the same tiny ratio on unscaled data is refused too; just above the
    # floor the fit runs (whatever it certifies)
    X, tasks, y, _ = problem(seed=2)
    Xl = long(X, tasks)
    a_max = alpha_max(Xl, y, task_column=-1, loss="logistic")
    with pytest.raises(ValueError, match="times alpha_max"):
        TraceNormMTLClassifier(alpha=1e-9 * a_max, task_column=-1).fit(Xl, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = TraceNormMTLClassifier(alpha=2e-8 * a_max, task_column=-1, max_iter=2)
        est.fit(Xl, y)
    assert est.coef_.shape == (5, 8)
    # alpha = 0 (unregularized, certified by the gradient) is not refused
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        TraceNormMTLClassifier(alpha=0.0, task_column=-1, max_iter=2).fit(Xl, y)


@pytest.mark.parametrize(
    "Est, kwargs",
    [
        (TraceNormMTLRegressor, {"tol": 1e-8}),
        # The async gap at this scale stalls near 1e-6 with some BLAS kernels
        # (8.8e-7 with OPENBLAS_CORETYPE=Haswell), so it is held to its default.
        (AsyncTraceNormMTLRegressor, {"backend": "sequential", "tol": 1e-6}),
    ],
)
def test_regressor_on_huge_features_converges(Est, kwargs):
    # The squared loss is certified at that ratio: the fit on X * 1e10 at the
    # default alpha is the fit on X at alpha / 1e10 (nearly least squares).
    tol = kwargs["tol"]
    X, tasks, _, y = problem(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        big = Est(task_column=-1, **kwargs).fit(long(X * SCALE, tasks), y)
        ref = TraceNormMTLRegressor(alpha=0.05 / SCALE, task_column=-1, tol=1e-12)
        ref.fit(long(X, tasks), y)
    assert big.dual_gap_ <= tol

    def objective(coef, intercept):  # of the unscaled problem at alpha / 1e10
        F = 0.0
        for t in range(5):
            r = y[tasks == t] - X[tasks == t] @ coef[t] - intercept[t]
            F += 0.5 * np.mean(r * r)
        return F + 0.05 / SCALE * np.linalg.svd(coef, compute_uv=False).sum()

    F_ref = objective(ref.coef_, ref.intercept_)
    F_big = objective(big.coef_ * SCALE, big.intercept_)
    # both within their certified gaps of the same optimum; the coefficients
    # only to about the square root of the gap (a nearly flat direction)
    assert abs(F_big - F_ref) <= 2 * tol * F_ref
    assert_allclose(big.coef_ * SCALE, ref.coef_, rtol=1e-3, atol=1e-4)


def test_cv_classifier_on_huge_features_chooses_alpha_on_its_grid():
    # the CV grid is relative to alpha_max, so the scale does not matter
    X, tasks, y, _ = problem(seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        cv = TraceNormMTLClassifierCV(alphas=4, cv=2, task_column=-1)
        cv.fit(long(X * SCALE, tasks), y)
    a_max = alpha_max(long(X * SCALE, tasks), y, task_column=-1, loss="logistic")
    assert 1e-3 * a_max * (1 - 1e-9) <= cv.alpha_ <= a_max * (1 + 1e-9)


def test_convergence_warning_names_a_tiny_alpha():
    # above the floor but far below alpha_max: the fit runs, and if it stops
    # uncertified the warning says why more iterations would not help
    X, tasks, y, _ = problem(seed=5)
    Xl = long(X, tasks)
    a_max = alpha_max(Xl, y, task_column=-1, loss="logistic")
    est = TraceNormMTLClassifier(alpha=3e-8 * a_max, task_column=-1, max_iter=1)
    with pytest.warns(ConvergenceWarning, match="times alpha_max") as record:
        est.fit(Xl, y)
    assert "standardize the features" in str(record[0].message)
    # a moderate alpha stopped by max_iter gets the plain warning
    est = TraceNormMTLClassifier(alpha=0.05 * a_max, task_column=-1, max_iter=1)
    with pytest.warns(ConvergenceWarning) as record:
        est.fit(Xl, y)
    assert "times alpha_max" not in str(record[0].message)

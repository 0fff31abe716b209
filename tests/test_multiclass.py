"""Multiclass y as one-vs-rest tasks; the zero-coefficient warning."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler

from skmtl import (
    AsyncTraceNormMTLClassifier,
    L21MTLClassifierCV,
    TraceNormMTLClassifier,
    TraceNormMTLClassifierCV,
    ZeroCoefficientsWarning,
    alpha_max,
)


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=150, random_state=0)
    return StandardScaler().fit_transform(X), y


def test_multiclass_shapes_and_proba(blobs):
    X, y = blobs
    clf = TraceNormMTLClassifier().fit(X, y)
    assert clf.coef_.shape == (3, 2)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    dec = clf.decision_function(X)
    assert dec.shape == (150, 3)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[dec.argmax(axis=1)])
    assert clf.score(X, y) > 0.85


def test_long_format_multiclass_is_a_clear_error(blobs):
    X, y = blobs
    Xl = np.column_stack([X, np.zeros(len(y))])
    with pytest.raises(ValueError, match="1-D y in the shared design"):
        TraceNormMTLClassifier(task_column=-1).fit(Xl, y)


def test_zero_coefficients_warning_names_alpha_max(blobs):
    X, y = blobs
    keep = y != 2
    a_max = alpha_max(X[keep], y[keep], loss="logistic")
    with pytest.warns(ZeroCoefficientsWarning, match=f"alpha_max={a_max:.4g}"):
        clf = TraceNormMTLClassifier(alpha=1.01 * a_max).fit(X[keep], y[keep])
    assert np.all(clf.coef_ == 0)


@pytest.mark.parametrize("backend", ["sequential", "threading", "simulated"])
def test_async_multiclass_reaches_the_centralized_model(blobs, backend):
    # The one-vs-rest tasks share the rows: AMTL fits the same K-task model.
    X, y = blobs
    ref = TraceNormMTLClassifier(alpha=0.05, tol=1e-10).fit(X, y)
    clf = AsyncTraceNormMTLClassifier(
        alpha=0.05, backend=backend, tol=1e-8, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ref.classes_)
    assert clf.decision_function(X).shape == (150, 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


@pytest.mark.parametrize("cls", [TraceNormMTLClassifierCV, L21MTLClassifierCV])
def test_cv_multiclass(blobs, cls):
    X, y = blobs
    clf = cls(alphas=4, cv=3).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.decision_function(X).shape == (150, 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.85

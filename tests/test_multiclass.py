"""Multiclass y as one-vs-rest tasks; the zero-coefficient warning."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler

from skmtl import TraceNormMTLClassifier, ZeroCoefficientsWarning, alpha_max


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

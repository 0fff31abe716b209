"""scikit-learn's common estimator checks, on the DEFAULT instance of every
public estimator and on more configurations of the centralized ones.

Issue 12 (item 2): every public estimator of ``skmtl.__all__`` (found by
``skmtl.utils.all_estimators``: centralized, asynchronous AMTL, l2,1 and CV)
is checked as ``cls()``, with no parameter changed, so that a default that
learns nothing (an ``alpha`` at or above ``alpha_max`` on the checks' data)
fails here.  ``expected_failed_checks`` (tests/_checks.py) lists every
expected failure with its reason.  The CV estimators' defaults (20 alphas,
5 folds) take minutes per check on this data, so they run with ``-m slow``;
tests/test_cv.py and tests/test_l21.py check them on short paths in the
default run.

In the style of imbalanced-learn, ``VARIANTS`` adds, per centralized class,
the other configurations (both data modes, ``loss_scaling='sum'`` without
intercepts), at the default ``alpha``.

The long format needs a task column.  The checks generate their own random
float data, so with ``task_column=-1`` and ``handle_unknown_task='mean'`` every
row becomes its own task and unseen tasks are predicted with the mean model:
that works for the regressor.  It cannot work for the classifier: every
one-row task has one class, which the estimators reject (an error).  The long-format
classifier is therefore checked inside a pipeline whose first step appends a
constant task column (one task, long format): the checks then exercise its
long-format fit, ``classes_``, ``predict_proba`` and ``decision_function``.

The regressor's ``loss_scaling='sum', fit_intercept=False`` long-format variant
goes through the same pipeline: with one-row tasks and no intercept the problem
is so degenerate (d unknowns per observation) that certifying the duality gap
takes thousands of iterations per fit, a minute for the checks.  With an
intercept, one-row tasks are solved by the intercepts alone (``coef_ == 0``),
which is fast.
"""

import pytest
from _checks import expected_failed_checks, long_format_pipeline
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmtl import (
    L21MTLClassifier,
    L21MTLRegressor,
    TraceNormMTLClassifier,
    TraceNormMTLRegressor,
)
from skmtl.utils import all_estimators

CENTRALIZED = (
    TraceNormMTLRegressor,
    TraceNormMTLClassifier,
    L21MTLRegressor,
    L21MTLClassifier,
)

# Every public estimator, as a user gets it: cls().
DEFAULTS = {cls: cls() for _, cls in all_estimators()}
FAST_DEFAULTS = [est for est in DEFAULTS.values() if not hasattr(est, "alphas")]
CV_DEFAULTS = [est for est in DEFAULTS.values() if hasattr(est, "alphas")]


def _variants(cls):
    """More configurations of a centralized class, at its default alpha."""
    sum_no_intercept = dict(loss_scaling="sum", fit_intercept=False)
    if is_classifier(cls()):
        long = long_format_pipeline(cls(task_column=-1))
    else:
        long = cls(task_column=-1, handle_unknown_task="mean")
    return [
        cls(**sum_no_intercept),
        long,
        long_format_pipeline(cls(task_column=-1, **sum_no_intercept)),
    ]


VARIANTS = {cls: _variants(cls) for cls in CENTRALIZED}


def test_discovery_finds_every_public_estimator():
    """Every estimator class of skmtl.__all__ is checked by default; the
    centralized ones also in both data modes."""
    from sklearn.base import BaseEstimator

    import skmtl

    public = {
        getattr(skmtl, name)
        for name in skmtl.__all__
        if isinstance(getattr(skmtl, name), type)
        and issubclass(getattr(skmtl, name), BaseEstimator)
    }
    assert set(DEFAULTS) == public
    assert len(public) == 12
    for cls, est in DEFAULTS.items():
        assert type(est) is cls
        assert est.get_params() == cls().get_params()  # nothing changed
    for cls, instances in VARIANTS.items():
        final = [est[-1] if isinstance(est, Pipeline) else est for est in instances]
        assert all(type(est) is cls for est in final)
        modes = {est.task_column is None for est in final} | {True}
        assert modes == {True, False}, f"{cls.__name__}: both data modes"


def test_all_estimators_type_filter():
    """Filters split the public estimators; only classes in skmtl.__all__ count."""
    import skmtl

    names = [name for name, _ in all_estimators()]
    assert names == sorted(names)
    assert set(names) <= set(skmtl.__all__)
    regressors = {name for name, _ in all_estimators("regressor")}
    classifiers = {name for name, _ in all_estimators(["classifier"])}
    assert "TraceNormMTLRegressor" in regressors
    assert "TraceNormMTLClassifier" in classifiers
    assert regressors | classifiers == set(names)
    assert not regressors & classifiers
    assert all_estimators("transformer") == []
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators("clusterer")


@parametrize_with_checks(FAST_DEFAULTS, expected_failed_checks=expected_failed_checks)
def test_default_instance(estimator, check):
    """The default instance of every public estimator (issue 12, item 2)."""
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(CV_DEFAULTS, expected_failed_checks=expected_failed_checks)
def test_default_cv_instance(estimator, check):
    """The CV estimators as users get them (20 alphas, 5 folds): slow."""
    check(estimator)


@parametrize_with_checks(
    [est for instances in VARIANTS.values() for est in instances],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

"""scikit-learn's common estimator checks, on several instances of each estimator.

In the style of imbalanced-learn: ``INSTANCES`` lists, per public estimator
class (found by ``skmtl.utils.all_estimators``), the configurations to check
(both data modes, both loss scalings, with and without intercepts), and
``expected_failed_checks`` gives every expected failure with its reason.

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

ALPHA = 0.1  # small enough that the fitted models are not all zero


def _instances(cls):
    """The configurations checked for one estimator class (INIT_PARAMS style)."""
    sum_no_intercept = dict(alpha=ALPHA, loss_scaling="sum", fit_intercept=False)
    shared = [cls(alpha=ALPHA), cls(**sum_no_intercept)]
    if is_classifier(cls()):
        long = [long_format_pipeline(cls(alpha=ALPHA, task_column=-1))]
    else:
        long = [cls(alpha=ALPHA, task_column=-1, handle_unknown_task="mean")]
    long.append(long_format_pipeline(cls(task_column=-1, **sum_no_intercept)))
    if cls not in CENTRALIZED:
        # Other solvers share _base's plumbing: their defaults, in both data
        # modes, are enough here (and keep the run short).
        return [shared[0], long[0]]
    return shared + long


CENTRALIZED = (
    TraceNormMTLRegressor,
    TraceNormMTLClassifier,
    L21MTLRegressor,
    L21MTLClassifier,
)

# Every public estimator of skmtl, found by all_estimators: the centralized
# estimators and the asynchronous AMTL ones (their own tests live elsewhere).
# The CV estimators take no ``alpha``; tests/test_cv.py runs the checks on them.
INSTANCES = {
    cls: _instances(cls) for name, cls in all_estimators() if not name.endswith("CV")
}


# Reasons, shared by the instances they apply to.
def _all_instances():
    return [est for instances in INSTANCES.values() for est in instances]


def test_discovery_finds_the_centralized_estimators():
    """Every centralized estimator is checked, each in both data modes."""
    assert set(CENTRALIZED) <= set(INSTANCES)
    assert all(len(INSTANCES[cls]) == 4 for cls in CENTRALIZED)
    for cls, instances in INSTANCES.items():
        final = [est[-1] if isinstance(est, Pipeline) else est for est in instances]
        assert all(type(est) is cls for est in final)
        modes = {est.task_column is None for est in final}
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


@parametrize_with_checks(
    _all_instances(), expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

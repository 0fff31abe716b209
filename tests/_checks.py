"""Helpers shared by the test modules that run scikit-learn's common checks."""

import threading

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

WORKER_PREFIX = "skmtl-task-worker-"


def worker_threads():
    """The AMTL task worker threads alive now."""
    return [t for t in threading.enumerate() if t.name.startswith(WORKER_PREFIX)]


class AppendConstantTask:
    """Append a task column of zeros: the whole X is one task in long format.

    A class rather than a function so that the test ids (built from the
    estimator's repr) hold no memory address.
    """

    def __call__(self, X):
        if sp.issparse(X):
            return sp.hstack([X, sp.csr_matrix((X.shape[0], 1))], format="csr")
        return np.column_stack([X, np.zeros(X.shape[0])])

    def __repr__(self):
        return "AppendConstantTask()"


def long_format_pipeline(estimator):
    """``estimator`` in long format behind a step that adds the task column.

    The checks' random float task columns would make every row its own task
    (and every classifier task single-class); one constant task avoids that.
    """
    add_task = FunctionTransformer(
        AppendConstantTask(), validate=True, accept_sparse=True
    )
    return Pipeline([("task", add_task), ("model", estimator)])


_MULTIOUTPUT_CLASSIFIER = (
    "With a 2-D y (shared design) classes_ and predict_proba are per-task lists, "
    "as for scikit-learn's multi-output classifiers (doc/api.rst); the check's "
    "decision_function block indexes classes_ with an array and slices "
    "predict_proba, which assumes one shared label set (multilabel layout)."
)
_ZERO_WEIGHT_TASKS = (
    "Random float task labels make every row its own task; zero sample weights "
    "then leave tasks with no positive weight, which is a ValueError by design "
    "(and dropping those rows would change the set of tasks)."
)
_PIPELINE_STEPS = (
    "Pipeline fits its steps in place and so changes its `steps` parameter; "
    "scikit-learn's own common tests mark this check x-fail for Pipeline."
)


def expected_failed_checks(estimator):
    """The checks each instance is expected to fail, with the reason why."""
    if isinstance(estimator, Pipeline):
        return {
            "check_dont_overwrite_parameters": _PIPELINE_STEPS,
            "check_estimators_overwrite_params": _PIPELINE_STEPS,
        }
    if estimator.task_column is None:
        if is_classifier(estimator):
            return {"check_classifier_multioutput": _MULTIOUTPUT_CLASSIFIER}
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": _ZERO_WEIGHT_TASKS,
        "check_sample_weight_equivalence_on_sparse_data": _ZERO_WEIGHT_TASKS,
    }

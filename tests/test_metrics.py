"""Tests for skmtl.metrics: per-task metrics and long-format scorers."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    fbeta_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline

from skmtl.metrics import (
    amse,
    get_task_scorer,
    get_task_scorer_names,
    macro_average_score,
    macro_roc_auc_score,
    make_task_scorer,
    multitask_explained_variance,
    nmse,
    per_task_score,
)
from skmtl.model_selection import TaskStratifiedKFold

Y_TRUE = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 5.0, 7.0])
Y_PRED = np.array([1.5, 2.0, 2.0, 12.0, 17.0, 6.0, 6.0])
TASKS = np.array(["a", "a", "a", "b", "b", "c", "c"])


def _per_task_by_hand(func):
    return np.array([func(Y_TRUE[TASKS == t], Y_PRED[TASKS == t]) for t in "abc"])


def _drop_task_ridge(task_column=-1, alpha=1.0):
    """Ridge that ignores the task column, so no skmtl estimator is needed."""
    drop = ColumnTransformer([("task", "drop", [task_column])], remainder="passthrough")
    return make_pipeline(drop, Ridge(alpha=alpha))


def _regression_data(n_tasks=3, n_per_task=20, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for t in range(n_tasks):
        Xt = rng.normal(size=(n_per_task + 3 * t, 3))
        w = np.array([1.0, -2.0, 0.5]) + 0.05 * t  # similar tasks, so that a
        y.append(Xt @ w + 0.1 * rng.normal(size=len(Xt)) + 0.1 * t)  # pooled Ridge fits
        X.append(np.column_stack([Xt, np.full(len(Xt), t)]))
    return np.vstack(X), np.concatenate(y)


# per-task and macro scores ---------------------------------------------------


def test_per_task_score_matches_sklearn_per_task():
    labels, scores = per_task_score(Y_TRUE, Y_PRED, TASKS)
    assert labels.tolist() == ["a", "b", "c"]
    assert_allclose(scores, _per_task_by_hand(r2_score))
    as_dict = per_task_score(Y_TRUE, Y_PRED, TASKS, return_dict=True)
    assert list(as_dict) == ["a", "b", "c"]
    assert_allclose(list(as_dict.values()), scores)


def test_per_task_score_single_task_equals_sklearn():
    tasks = np.zeros(len(Y_TRUE))
    for func in (r2_score, mean_squared_error, mean_absolute_error):
        _, scores = per_task_score(Y_TRUE, Y_PRED, tasks, score_func=func)
        assert_allclose(scores, [func(Y_TRUE, Y_PRED)])


def test_per_task_score_kwargs_and_sample_weight():
    y_true = np.array([0, 1, 1, 0, 1, 1])
    y_pred = np.array([0, 1, 0, 1, 1, 1])
    tasks = np.array([0, 0, 0, 1, 1, 1])
    _, scores = per_task_score(y_true, y_pred, tasks, score_func=fbeta_score, beta=2)
    expected = [
        fbeta_score(y_true[:3], y_pred[:3], beta=2),
        fbeta_score([0, 1, 1], [1, 1, 1], beta=2),
    ]
    assert_allclose(scores, expected)
    w = np.array([1.0, 2.0, 3.0, 1.0, 1.0, 2.0])
    _, scores = per_task_score(
        y_true, y_pred, tasks, score_func=accuracy_score, sample_weight=w
    )
    assert_allclose(scores, [3 / 6, 3 / 4])


def test_macro_average_score():
    expected = _per_task_by_hand(mean_absolute_error).mean()
    score = macro_average_score(Y_TRUE, Y_PRED, TASKS, score_func=mean_absolute_error)
    assert score == pytest.approx(expected)
    assert isinstance(score, float)


# nMSE, aMSE and explained variance -------------------------------------------


def test_nmse_by_hand():
    # task a: MSE (0.25 + 0 + 1) / 3, variance 2 / 3;  task b: MSE 13/2, var 25;
    # task c: MSE 1, var 1; weights 3, 2, 2.
    per_task = np.array([(1.25 / 3) / (2 / 3), 6.5 / 25, 1.0])
    expected = (3 * per_task[0] + 2 * per_task[1] + 2 * per_task[2]) / 7
    assert nmse(Y_TRUE, Y_PRED, TASKS) == pytest.approx(expected)


def test_nmse_is_size_weighted_one_minus_r2():
    _, r2 = per_task_score(Y_TRUE, Y_PRED, TASKS)
    sizes = np.array([3, 2, 2])
    assert nmse(Y_TRUE, Y_PRED, TASKS) == pytest.approx(
        np.average(1 - r2, weights=sizes)
    )


def test_nmse_single_task_and_task_means():
    tasks = np.zeros(len(Y_TRUE))
    expected = mean_squared_error(Y_TRUE, Y_PRED) / np.var(Y_TRUE)
    assert nmse(Y_TRUE, Y_PRED, tasks) == pytest.approx(expected)
    # predicting each task's own mean gives exactly 1
    means = np.array([Y_TRUE[TASKS == t].mean() for t in TASKS])
    assert nmse(Y_TRUE, means, TASKS) == pytest.approx(1.0)
    assert nmse(Y_TRUE, Y_TRUE, TASKS) == 0.0


@pytest.mark.parametrize("metric", [nmse, amse, multitask_explained_variance])
def test_integer_sample_weight_equals_repeating_rows(metric):
    w = np.array([1, 2, 1, 3, 1, 2, 1])
    weighted = metric(Y_TRUE, Y_PRED, TASKS, sample_weight=w)
    rows = np.repeat(np.arange(len(w)), w)
    repeated = metric(Y_TRUE[rows], Y_PRED[rows], TASKS[rows])
    assert weighted == pytest.approx(repeated)


def test_zero_weight_rows_are_ignored():
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    y_pred = Y_PRED.copy()
    y_pred[-1] = 1e6
    y_true = Y_TRUE.copy()
    y_true[-1] = Y_TRUE[-2]  # task c is constant among its weighted rows
    with pytest.warns(UndefinedMetricWarning, match=r"\['c'\]"):
        score = nmse(y_true, y_pred, TASKS, sample_weight=w)
    keep = TASKS != "c"
    assert score == pytest.approx(nmse(Y_TRUE[keep], Y_PRED[keep], TASKS[keep]))


def test_nmse_constant_task_is_skipped_with_warning():
    y_true = np.array([1.0, 2.0, 3.0, 4.0, 4.0])
    y_pred = np.array([1.0, 2.0, 4.0, 5.0, 3.0])
    tasks = np.array([0, 0, 0, 1, 1])
    with pytest.warns(UndefinedMetricWarning, match=r"constant in task\(s\) \[1\]"):
        score = nmse(y_true, y_pred, tasks)
    assert score == pytest.approx(nmse(y_true[:3], y_pred[:3], tasks[:3]))
    with pytest.raises(ValueError, match="constant within every task"):
        nmse(y_true[3:], y_pred[3:], tasks[3:])


def test_amse_by_hand():
    expected = (1.25 / 3 + 6.5 + 1.0) / 3
    assert amse(Y_TRUE, Y_PRED, TASKS) == pytest.approx(expected)
    assert amse(Y_TRUE, Y_PRED, np.zeros(7)) == pytest.approx(
        mean_squared_error(Y_TRUE, Y_PRED)
    )


def test_explained_variance_is_pooled_r2():
    sse = np.sum((Y_TRUE - Y_PRED) ** 2)
    sst = np.sum((Y_TRUE - Y_TRUE.mean()) ** 2)
    score = multitask_explained_variance(Y_TRUE, Y_PRED, TASKS)
    assert score == pytest.approx(1 - sse / sst)
    assert score == pytest.approx(r2_score(Y_TRUE, Y_PRED))
    w = np.linspace(0.5, 2.0, 7)
    assert multitask_explained_variance(
        Y_TRUE, Y_PRED, TASKS, sample_weight=w
    ) == pytest.approx(r2_score(Y_TRUE, Y_PRED, sample_weight=w))
    with pytest.raises(ValueError, match="constant over all rows"):
        multitask_explained_variance([1.0, 1.0], [1.0, 2.0], [0, 1])


def test_macro_roc_auc_score():
    y_true = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    y_score = np.array([0.1, 0.9, 0.4, 0.8, 0.3, 0.2, 0.6, 0.7])
    tasks = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    expected = np.mean(
        [roc_auc_score(y_true[tasks == t], y_score[tasks == t]) for t in range(3)]
    )
    assert macro_roc_auc_score(y_true, y_score, tasks) == pytest.approx(expected)
    tasks_single = np.array([0, 0, 0, 1, 1, 1, 3, 3])  # task 3 has one class
    with pytest.warns(UndefinedMetricWarning, match=r"task\(s\) \[3\]"):
        score = macro_roc_auc_score(y_true, y_score, tasks_single)
    expected = np.mean(
        [
            roc_auc_score(y_true[tasks_single == t], y_score[tasks_single == t])
            for t in range(2)
        ]
    )
    assert score == pytest.approx(expected)
    with pytest.raises(ValueError, match="every task has a single class"):
        macro_roc_auc_score([0, 0, 1], [0.1, 0.2, 0.3], [0, 0, 1])


@pytest.mark.parametrize(
    "metric",
    [per_task_score, macro_average_score, nmse, amse, multitask_explained_variance],
)
@pytest.mark.parametrize(
    "y_true, y_pred, tasks, kwargs, match",
    [
        ([1.0, 2.0], [1.0], [0, 0], {}, "Inconsistent numbers of samples"),
        ([1.0, 2.0], [1.0, 2.0], [0], {}, "Inconsistent numbers of samples"),
        (np.ones((2, 2)), [1.0, 2.0], [0, 0], {}, "y_true must be 1-D"),
        ([1.0, 2.0], [1.0, 2.0], [0, np.nan], {}, "missing"),
        ([1.0, 2.0], [1.0, 2.0], [0, None], {}, "missing"),
        ([1.0, 2.0], [1.0, 2.0], [0, 0], {"sample_weight": [1, -1]}, "non-negative"),
        ([1.0, 2.0], [1.0, 2.0], [0, 1], {"sample_weight": [1, 0]}, "sum to zero"),
        ([1.0, 2.0], [1.0, 2.0], [0, 0], {"sample_weight": [1]}, "Inconsistent"),
        ([], [], [], {}, "empty"),
        ([1.0, 2.0], [1.0, 2.0], np.array([0, "a"], dtype=object), {}, "mix types"),
    ],
)
def test_metric_input_errors(metric, y_true, y_pred, tasks, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric(y_true, y_pred, tasks, **kwargs)


# scorers -------------------------------------------------------------------


def test_make_task_scorer_averages():
    X, y = _regression_data()
    model = _drop_task_ridge(alpha=10.0).fit(X, y)
    y_pred = model.predict(X)
    tasks = X[:, -1]
    _, per_task = per_task_score(y, y_pred, tasks, score_func=mean_squared_error)
    sizes = np.bincount(tasks.astype(int))

    def score(average, **kwargs):
        scorer = make_task_scorer(
            mean_squared_error, greater_is_better=False, average=average, **kwargs
        )
        return scorer(model, X, y)

    assert score("macro") == pytest.approx(-per_task.mean())
    assert score("weighted") == pytest.approx(-np.average(per_task, weights=sizes))
    assert score("pooled") == pytest.approx(-mean_squared_error(y, y_pred))
    scorer = make_task_scorer(nmse, average=None, greater_is_better=False)
    assert scorer(model, X, y) == pytest.approx(-nmse(y, y_pred, tasks))


def test_scorer_sample_weight():
    X, y = _regression_data()
    model = _drop_task_ridge().fit(X, y)
    w = np.linspace(0.1, 3.0, len(y))
    tasks = X[:, -1]
    y_pred = model.predict(X)
    scorer = get_task_scorer("nmse")
    assert scorer(model, X, y, sample_weight=w) == pytest.approx(
        -nmse(y, y_pred, tasks, sample_weight=w)
    )
    scorer = make_task_scorer(r2_score, average="weighted")
    per_task = [
        r2_score(y[tasks == t], y_pred[tasks == t], sample_weight=w[tasks == t])
        for t in range(3)
    ]
    totals = [w[tasks == t].sum() for t in range(3)]
    assert scorer(model, X, y, sample_weight=w) == pytest.approx(
        np.average(per_task, weights=totals)
    )


def test_ready_made_regression_scorers():
    X, y = _regression_data()
    model = _drop_task_ridge().fit(X, y)
    y_pred, tasks = model.predict(X), X[:, -1]
    expected = {
        "nmse": -nmse(y, y_pred, tasks),
        "neg_nmse": -nmse(y, y_pred, tasks),
        "amse": -amse(y, y_pred, tasks),
        "neg_amse": -amse(y, y_pred, tasks),
        "explained_variance": multitask_explained_variance(y, y_pred, tasks),
        "r2_macro": macro_average_score(y, y_pred, tasks),
    }
    for name, value in expected.items():
        assert get_task_scorer(name)(model, X, y) == pytest.approx(value), name


class _ProbaOnly(ClassifierMixin, BaseEstimator):
    """Wraps a classifier and hides its decision_function."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator_ = self.estimator.fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def _classification_data(seed=0):
    X, y = _regression_data(seed=seed)
    return X, (y > np.median(y)).astype(int)


def test_classification_scorers():
    X, y = _classification_data()
    drop = ColumnTransformer([("task", "drop", [-1])], remainder="passthrough")
    model = make_pipeline(drop, LogisticRegression()).fit(X, y)
    tasks = X[:, -1]
    acc = get_task_scorer("accuracy_macro")(model, X, y)
    assert acc == pytest.approx(
        macro_average_score(y, model.predict(X), tasks, score_func=accuracy_score)
    )
    auc = get_task_scorer("roc_auc_macro")(model, X, y)
    assert auc == pytest.approx(
        macro_roc_auc_score(y, model.decision_function(X), tasks)
    )
    # without decision_function, the positive column of predict_proba is used
    proba_only = _ProbaOnly(model).fit(X, y)
    assert not hasattr(proba_only, "decision_function")
    assert get_task_scorer("roc_auc_macro")(proba_only, X, y) == pytest.approx(auc)
    # an estimator with none of the response methods
    scorer = make_task_scorer(accuracy_score, response_method="decision_function")
    with pytest.raises(ValueError, match="decision_function"):
        scorer(proba_only, X, y)


def test_roc_auc_scorer_skips_single_class_task():
    X, y = _classification_data()
    drop = ColumnTransformer([("task", "drop", [-1])], remainder="passthrough")
    model = make_pipeline(drop, LogisticRegression()).fit(X, y)
    y = y.copy()
    y[X[:, -1] == 2] = 1
    with pytest.warns(UndefinedMetricWarning, match=r"\[2\.0\]"):
        get_task_scorer("roc_auc_macro")(model, X, y)


def test_scorer_in_cross_val_score_and_grid_search():
    X, y = _regression_data()
    cv = TaskStratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(
        _drop_task_ridge(), X, y, cv=cv, scoring=get_task_scorer("nmse")
    )
    assert scores.shape == (3,)
    assert np.all(scores < 0) and np.all(scores > -0.1)

    results = cross_validate(
        _drop_task_ridge(),
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring={name: get_task_scorer(name) for name in ("nmse", "amse", "r2_macro")},
    )
    assert {"test_nmse", "test_amse", "test_r2_macro"} <= set(results)

    search = GridSearchCV(
        _drop_task_ridge(),
        {"ridge__alpha": [0.01, 1000.0]},
        cv=cv,
        # a pickled scorer works the same (n_jobs > 1 pickles it)
        scoring=pickle.loads(pickle.dumps(get_task_scorer("r2_macro"))),
    ).fit(X, y)
    assert search.best_params_ == {"ridge__alpha": 0.01}
    assert search.best_score_ > 0.9


def test_scorer_reads_named_task_column_of_dataframe():
    X, y = _regression_data()
    df = pd.DataFrame(X, columns=["f0", "f1", "f2", "school"])
    df["school"] = df["school"].map({0: "s0", 1: "s1", 2: "s2"})
    model = _drop_task_ridge(task_column=-1).fit(X, y)

    class _OnNumbers:  # predicts from the numeric features of the DataFrame
        def predict(self, frame):
            return model.predict(
                np.column_stack([frame.iloc[:, :3], np.zeros(len(frame))])
            )

    scorer = get_task_scorer("amse", task_column="school")
    assert scorer(_OnNumbers(), df, y) == pytest.approx(
        -amse(y, model.predict(X), X[:, -1])
    )


def test_scorer_errors_and_repr():
    with pytest.raises(ValueError, match="average must be one of"):
        make_task_scorer(r2_score, average="micro")
    with pytest.raises(ValueError, match="callable"):
        make_task_scorer("r2")
    with pytest.raises(ValueError, match="response_method"):
        make_task_scorer(r2_score, response_method=())
    with pytest.raises(ValueError, match="valid names are"):
        get_task_scorer("mse")
    with pytest.raises(ValueError, match="not a task scorer"):
        get_task_scorer(["nmse"])
    scorer = get_task_scorer("roc_auc_macro", task_column=0)
    assert repr(scorer) == (
        "make_task_scorer(macro_roc_auc_score, task_column=0, average=None, "
        "response_method=('decision_function', 'predict_proba'))"
    )
    assert "r2_macro" in get_task_scorer_names()
    X, y = _regression_data()
    model = _drop_task_ridge().fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        get_task_scorer("nmse", task_column=9)(model, X, y)
    assert_array_equal(
        pickle.loads(pickle.dumps(scorer))._response_method, scorer._response_method
    )

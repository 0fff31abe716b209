"""Tests for the splitters in skmtl.model_selection."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline

from skmtl.metrics import get_task_scorer
from skmtl.model_selection import (
    LeaveTaskOut,
    TaskShuffleSplit,
    TaskStratifiedKFold,
    train_test_split_tasks,
)


def _long_data(sizes=(7, 5, 11, 5), n_features=2, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    labels = np.arange(len(sizes)) if labels is None else np.asarray(labels)
    tasks = np.repeat(labels, sizes)
    order = rng.permutation(len(tasks))  # interleave the tasks
    X = rng.normal(size=(len(tasks), n_features))
    y = X @ np.arange(1.0, n_features + 1) + 0.1 * rng.normal(size=len(tasks))
    X_long = np.empty((len(tasks), n_features + 1), dtype=object)
    X_long[:, :-1] = X
    X_long[:, -1] = tasks
    if tasks.dtype.kind in "iuf":
        X_long = X_long.astype(float)
    return X_long[order], y[order]


def _drop_task_ridge(alpha=1.0):
    drop = ColumnTransformer([("task", "drop", [-1])], remainder="passthrough")
    return make_pipeline(drop, Ridge(alpha=alpha))


def _check_partition(splits, n_samples):
    tests = np.concatenate([test for _, test in splits])
    assert_array_equal(np.sort(tests), np.arange(n_samples))
    for train, test in splits:
        assert np.intersect1d(train, test).size == 0
        assert_array_equal(np.union1d(train, test), np.arange(n_samples))


# TaskStratifiedKFold ---------------------------------------------------------


@pytest.mark.parametrize("shuffle, random_state", [(False, None), (True, 0)])
@pytest.mark.parametrize("n_splits", [2, 3, 5])
def test_kfold_every_task_everywhere_and_partition(n_splits, shuffle, random_state):
    X, y = _long_data()
    cv = TaskStratifiedKFold(n_splits, shuffle=shuffle, random_state=random_state)
    splits = list(cv.split(X, y))
    assert len(splits) == cv.get_n_splits() == n_splits
    _check_partition(splits, len(X))
    tasks = X[:, -1]
    sizes = {t: np.sum(tasks == t) for t in np.unique(tasks)}
    for train, test in splits:
        assert set(tasks[train]) == set(tasks)
        assert set(tasks[test]) == set(tasks)
        for t, n_t in sizes.items():  # floor or ceil of n_t / n_splits per fold
            assert n_t // n_splits <= np.sum(tasks[test] == t) <= -(-n_t // n_splits)
    fold_sizes = [len(test) for _, test in splits]
    assert max(fold_sizes) - min(fold_sizes) <= 1


def test_kfold_without_shuffle_keeps_order():
    tasks = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    X = np.column_stack([np.arange(8.0), tasks])
    tests = [test for _, test in TaskStratifiedKFold(2, shuffle=False).split(X)]
    assert_array_equal(tests[0], [0, 1, 4, 5])
    assert_array_equal(tests[1], [2, 3, 6, 7])


def test_kfold_random_state_determinism():
    X, y = _long_data()

    def tests(cv):
        return [test.tolist() for _, test in cv.split(X, y)]

    a = tests(TaskStratifiedKFold(3, shuffle=True, random_state=42))
    assert a == tests(TaskStratifiedKFold(3, shuffle=True, random_state=42))
    assert a != tests(TaskStratifiedKFold(3, shuffle=True, random_state=1))
    cv = TaskStratifiedKFold(3, shuffle=True, random_state=42)
    assert tests(cv) == tests(cv)  # split is repeatable with an int seed


def test_kfold_small_tasks_stay_in_training():
    X, _ = _long_data(sizes=(6, 2, 6))
    cv = TaskStratifiedKFold(3)
    with pytest.warns(UserWarning, match=r"task\(s\) \[1\.0\] have fewer than 3 rows"):
        splits = list(cv.split(X))
    small = np.flatnonzero(X[:, -1] == 1)
    for train, test in splits:
        assert np.isin(small, train).all()
        assert not np.isin(small, test).any()
        assert_array_equal(np.union1d(train, test), np.arange(len(X)))
    tests = np.concatenate([test for _, test in splits])
    assert_array_equal(np.sort(tests), np.setdiff1d(np.arange(len(X)), small))


def test_kfold_groups_and_other_inputs():
    X, y = _long_data(labels=["s2", "s0", "s1", "s3"])
    assert X.dtype == object
    cv = TaskStratifiedKFold(3, shuffle=True, random_state=0)
    from_column = [test.tolist() for _, test in cv.split(X)]
    # groups replace the task column, so X may be without it
    from_groups = [test.tolist() for _, test in cv.split(X[:, :-1], groups=X[:, -1])]
    assert from_column == from_groups
    no_column = TaskStratifiedKFold(3, task_column=None, shuffle=True, random_state=0)
    assert [t.tolist() for _, t in no_column.split(X[:, :-1], groups=X[:, -1])] == (
        from_column
    )
    df = pd.DataFrame(X, columns=["a", "b", "school"])
    named = TaskStratifiedKFold(3, task_column="school", shuffle=True, random_state=0)
    assert [t.tolist() for _, t in named.split(df)] == from_column
    X_num, _ = _long_data()
    first = TaskStratifiedKFold(3, task_column=0, random_state=0)
    X_first = np.column_stack([X_num[:, -1], X_num[:, :-1]])
    assert [t.tolist() for _, t in first.split(sp.csr_matrix(X_first))] == [
        t.tolist() for _, t in TaskStratifiedKFold(3, random_state=0).split(X_num)
    ]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_splits": 1}, "at least 2"),
        ({"n_splits": 2.0}, "must be an int"),
        ({"n_splits": True}, "must be an int"),
        ({"shuffle": False, "random_state": 0}, "shuffle is False"),
        ({"stratify_classes": "yes"}, "stratify_classes must be"),
        ({"shuffle": "yes"}, "True or False"),
    ],
)
def test_kfold_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TaskStratifiedKFold(**kwargs)


def test_kfold_bad_inputs():
    X, y = _long_data(sizes=(2, 2))
    with pytest.raises(ValueError, match="greater than the number of rows of every"):
        list(TaskStratifiedKFold(3).split(X))
    X, y = _long_data()
    with pytest.raises(ValueError, match="out of range"):
        list(TaskStratifiedKFold(3, task_column=5).split(X))
    with pytest.raises(ValueError, match="no column names"):
        list(TaskStratifiedKFold(3, task_column="school").split(X))
    with pytest.raises(ValueError, match="pass the task labels as groups"):
        list(TaskStratifiedKFold(3, task_column=None).split(X))
    X_nan = X.copy()
    X_nan[0, -1] = np.nan
    with pytest.raises(ValueError, match="missing"):
        list(TaskStratifiedKFold(3).split(X_nan))
    with pytest.raises(ValueError, match="Found input variables"):
        list(TaskStratifiedKFold(3).split(X, groups=X[:-1, -1]))


def test_kfold_in_cross_val_score_and_grid_search():
    X, y = _long_data(sizes=(12, 9, 15))  # R^2 needs 2+ test rows per task
    cv = TaskStratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(
        _drop_task_ridge(), X, y, cv=cv, scoring=get_task_scorer("r2_macro")
    )
    assert scores.shape == (3,)
    assert np.all(scores > 0.5)
    search = GridSearchCV(_drop_task_ridge(), {"ridge__alpha": [0.1, 10.0]}, cv=cv).fit(
        X, y
    )
    assert search.n_splits_ == 3
    assert "TaskStratifiedKFold(n_splits=3" in repr(cv)


def test_splitters_with_metadata_routing():
    X, y = _long_data()
    groups = X[:, -1]
    with sklearn.config_context(enable_metadata_routing=True):
        for cv in (
            TaskStratifiedKFold(3, task_column=None),
            LeaveTaskOut(task_column=None),
        ):
            results = cross_validate(
                _drop_task_ridge(), X, y, cv=cv, params={"groups": groups}
            )
            assert len(results["test_score"]) == cv.get_n_splits(X, groups=groups)


# LeaveTaskOut --------------------------------------------------------------


def test_leave_task_out():
    X, y = _long_data(labels=["b", "a", "d", "c"])
    cv = LeaveTaskOut()
    assert cv.get_n_splits(X) == 4
    assert cv.get_n_splits(groups=X[:, -1]) == 4
    splits = list(cv.split(X, y))
    _check_partition(splits, len(X))
    tasks = X[:, -1]
    for (train, test), label in zip(splits, ["a", "b", "c", "d"], strict=True):
        assert set(tasks[test]) == {label}
        assert label not in set(tasks[train])
        assert np.sum(tasks == label) == len(test)
    scores = cross_val_score(_drop_task_ridge(), X, y, cv=cv)
    assert scores.shape == (4,)


def test_leave_task_out_errors():
    X, _ = _long_data(sizes=(5,))
    with pytest.raises(ValueError, match="at least 2 tasks"):
        list(LeaveTaskOut().split(X))
    with pytest.raises(ValueError, match="at least 2 tasks"):
        LeaveTaskOut().get_n_splits(X)
    with pytest.raises(ValueError, match="groups is needed"):
        LeaveTaskOut().get_n_splits()
    with pytest.raises(ValueError, match="out of range"):
        LeaveTaskOut(task_column=4).get_n_splits(X)


# TaskShuffleSplit and train_test_split_tasks ---------------------------------


def test_task_shuffle_split():
    X, y = _long_data()
    cv = TaskShuffleSplit(n_splits=4, test_size=0.3, random_state=0)
    splits = list(cv.split(X, y))
    assert len(splits) == cv.get_n_splits() == 4
    tasks = X[:, -1]
    for train, test in splits:
        assert np.intersect1d(train, test).size == 0
        assert len(train) + len(test) == len(X)
        for t in np.unique(tasks):
            n_t = np.sum(tasks == t)
            assert np.sum(tasks[test] == t) == np.ceil(0.3 * n_t)
    assert [t.tolist() for _, t in splits] == [t.tolist() for _, t in cv.split(X)]
    assert len({tuple(np.sort(t)) for _, t in splits}) > 1
    # an int test_size is a number of rows per task, at most n_t - 1
    for _, test in TaskShuffleSplit(2, test_size=6, random_state=0).split(X):
        assert len(test) == 6 + 4 + 6 + 4


def test_task_shuffle_split_single_row_task():
    X, _ = _long_data(sizes=(4, 1))
    with pytest.warns(UserWarning, match="fewer than 2 rows"):
        splits = list(TaskShuffleSplit(2, random_state=0).split(X))
    single = np.flatnonzero(X[:, -1] == 1)
    assert all(np.isin(single, train).all() for train, _ in splits)
    with pytest.raises(ValueError, match="single row"):
        list(TaskShuffleSplit(2).split(X[single]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_size": 0.0}, r"in \(0, 1\)"),
        ({"test_size": 1.0}, r"in \(0, 1\)"),
        ({"test_size": 0}, "at least 1"),
        ({"test_size": "half"}, "float or an int"),
        ({"n_splits": 0}, "at least 1"),
        ({"n_splits": 1.5}, "must be an int"),
    ],
)
def test_task_shuffle_split_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TaskShuffleSplit(**kwargs)


def test_train_test_split_tasks():
    X, y = _long_data()
    X_train, X_test, y_train, y_test = train_test_split_tasks(X, y, random_state=0)
    assert len(X_train) + len(X_test) == len(X)
    assert len(y_train) == len(X_train) and len(y_test) == len(X_test)
    assert set(X_train[:, -1]) == set(X_test[:, -1]) == set(X[:, -1])
    # rows stay with their targets
    index = {tuple(row): target for row, target in zip(X, y, strict=True)}
    assert all(index[tuple(r)] == t for r, t in zip(X_test, y_test, strict=True))
    again = train_test_split_tasks(X, y, random_state=0)
    assert_array_equal(again[1], X_test)

    df = pd.DataFrame(X, columns=["a", "b", "task"])
    df_train, df_test, _, _ = train_test_split_tasks(
        df, pd.Series(y), task_column="task"
    )
    assert isinstance(df_test, pd.DataFrame)
    assert set(df_test["task"]) == set(df["task"])


def test_train_test_split_tasks_errors():
    X, y = _long_data()
    with pytest.raises(ValueError, match="Found input variables"):
        train_test_split_tasks(X, y[:-1])
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        train_test_split_tasks(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="out of range"):
        train_test_split_tasks(X, y, task_column=3)


# TaskStratifiedKFold: classes ----------------------------------------------------


def _imbalanced(seed=0):
    """Three tasks of 30, 24 and 40 rows with 6, 4 and 9 positives, interleaved."""
    rng = np.random.default_rng(seed)
    tasks = np.repeat([0, 1, 2], [30, 24, 40])
    y = np.concatenate([np.arange(30) < 6, np.arange(24) < 4, np.arange(40) < 9])
    order = rng.permutation(len(tasks))
    X = np.column_stack([rng.normal(size=len(tasks)), tasks])[order]
    return X, y.astype(int)[order]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("n_splits", [2, 3, 4])
def test_kfold_stratifies_classes_within_tasks(n_splits, shuffle):
    X, y = _imbalanced()
    cv = TaskStratifiedKFold(
        n_splits, shuffle=shuffle, random_state=0 if shuffle else None
    )
    splits = list(cv.split(X, y))
    _check_partition(splits, len(X))
    tasks = X[:, -1]
    for train, test in splits:
        for t in np.unique(tasks):
            for c in (0, 1):
                n = np.sum((tasks == t) & (y == c))
                in_test = np.sum((tasks[test] == t) & (y[test] == c))
                assert n // n_splits <= in_test <= -(-n // n_splits)
            assert set(y[train][tasks[train] == t]) == {0, 1}
            n_t = np.sum(tasks == t)
            assert n_t // n_splits <= np.sum(tasks[test] == t) <= -(-n_t // n_splits)
    fold_sizes = [len(test) for _, test in splits]
    assert max(fold_sizes) - min(fold_sizes) <= 1
    # Without y, or with stratify_classes=False, only the tasks are stratified:
    # some fold then misses the positives of a task (this data is built so).
    plain = TaskStratifiedKFold(n_splits, shuffle=False, stratify_classes=False)
    assert [t.tolist() for _, t in plain.split(X, y)] == [
        t.tolist() for _, t in TaskStratifiedKFold(n_splits, shuffle=False).split(X)
    ]


def test_kfold_shuffles_by_default_with_random_state():
    X, y = _imbalanced()
    default = TaskStratifiedKFold(3)
    assert default.shuffle is True
    seeded = [t.tolist() for _, t in TaskStratifiedKFold(3, random_state=0).split(X, y)]
    assert seeded == [
        t.tolist() for _, t in TaskStratifiedKFold(3, random_state=0).split(X, y)
    ]
    unshuffled = TaskStratifiedKFold(3, shuffle=False).split(X, y)
    assert seeded != [t.tolist() for _, t in unshuffled]


def test_kfold_keeps_a_lone_class_row_in_training():
    X, y = _imbalanced()
    tasks = X[:, -1]
    lone = np.flatnonzero((tasks == 1) & (y == 1))[1:]  # task 1: keep 1 positive
    keep = np.setdiff1d(np.arange(len(X)), lone)
    X, y, tasks = X[keep], y[keep], tasks[keep]
    row = np.flatnonzero((tasks == 1) & (y == 1))
    with pytest.warns(UserWarning, match=r"single row of task 1\.0 class 1"):
        splits = list(TaskStratifiedKFold(3, random_state=0).split(X, y))
    for train, test in splits:
        assert np.isin(row, train).all() and not np.isin(row, test).any()
        for t in (0, 1, 2):
            assert set(y[train][tasks[train] == t]) == {0, 1}


def test_kfold_warns_about_a_task_with_one_class():
    X, y = _imbalanced()
    y[X[:, -1] == 2] = 0
    with pytest.warns(UserWarning, match=r"task\(s\) \[2\.0\] have a single class"):
        list(TaskStratifiedKFold(3, random_state=0).split(X, y))


def test_kfold_does_not_take_float_scores_for_classes():
    X, _ = _long_data(sizes=(12, 9, 15))
    scores = np.round(np.linspace(1, 70, len(X)))  # integer-valued floats
    cv = TaskStratifiedKFold(3, shuffle=False)
    assert [t.tolist() for _, t in cv.split(X, scores)] == [
        t.tolist() for _, t in cv.split(X)
    ]
    forced = TaskStratifiedKFold(3, shuffle=False, stratify_classes=True)
    assert [t.tolist() for _, t in forced.split(X, scores > 35)] == [
        t.tolist() for _, t in cv.split(X, (scores > 35).astype(float))
    ]
    with pytest.raises(ValueError, match="needs y"):
        list(forced.split(X))


@pytest.fixture
def landmine_20():
    """Landmine with 20 % of every task's rows for training (test_size=0.8)."""
    from conftest import data_file

    from skmtl.datasets import load_landmine

    X, y = load_landmine(path=data_file("landmine"), return_X_y=True)
    X_train, _, y_train, _ = train_test_split_tasks(X, y, test_size=0.8, random_state=0)
    X_train[:, :-1] -= X_train[:, :-1].mean(axis=0)
    X_train[:, :-1] /= X_train[:, :-1].std(axis=0)
    return X_train, y_train


def test_landmine_at_20_percent_keeps_both_classes_everywhere(landmine_20):
    X, y = landmine_20
    tasks = X[:, -1]
    for t in np.unique(tasks):  # the outer split: both classes in every task
        assert set(y[tasks == t]) == {0, 1}
    for n_splits in (3, 5):
        cv = TaskStratifiedKFold(n_splits, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # lone positives
            splits = list(cv.split(X, y))
        _check_partition_of_tested(splits, len(X))
        for train, _ in splits:
            for t in np.unique(tasks):
                assert set(y[train][tasks[train] == t]) == {0, 1}


def _check_partition_of_tested(splits, n_samples):
    for train, test in splits:
        assert np.intersect1d(train, test).size == 0
        assert_array_equal(np.union1d(train, test), np.arange(n_samples))


@pytest.mark.slow
def test_landmine_at_20_percent_with_cv_3(landmine_20):
    """The failure of issue 12: 20 % training data, cv=3, 'only one class'."""
    from skmtl import TraceNormMTLClassifierCV

    X, y = landmine_20
    model = TraceNormMTLClassifierCV(alphas=4, eps=0.1, cv=3, task_column=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(X, y)  # raised "Task 4.0 has only one class" before
    assert model.coef_.shape == (29, 9)


# TaskShuffleSplit: classes -------------------------------------------------------


@pytest.mark.parametrize("test_size", [0.25, 0.8, 5])
def test_shuffle_split_stratifies_classes_within_tasks(test_size):
    X, y = _imbalanced()
    tasks = X[:, -1]
    cv = TaskShuffleSplit(4, test_size=test_size, random_state=0)
    for train, test in cv.split(X, y):
        assert np.intersect1d(train, test).size == 0
        assert len(train) + len(test) == len(X)
        for t in np.unique(tasks):
            n_t = np.sum(tasks == t)
            wanted = (
                test_size if isinstance(test_size, int) else np.ceil(test_size * n_t)
            )
            in_test = np.sum(tasks[test] == t)
            assert wanted - 2 <= in_test <= wanted  # a row per class may stay
            for c in (0, 1):
                n = np.sum((tasks == t) & (y == c))
                share = np.sum((tasks[test] == t) & (y[test] == c))
                assert share <= n - 1  # every class keeps a training row
                assert abs(share - in_test * n / n_t) <= 1 + (share == n - 1) * n
    # Regression targets: the draws of before, unchanged.
    Xr, yr = _long_data()
    plain = TaskShuffleSplit(3, random_state=0, stratify_classes=False)
    assert [
        t.tolist() for _, t in TaskShuffleSplit(3, random_state=0).split(Xr, yr)
    ] == [t.tolist() for _, t in plain.split(Xr)]


def test_train_test_split_tasks_keeps_every_class_in_training():
    X, y = _imbalanced()
    X_train, X_test, y_train, y_test = train_test_split_tasks(
        X, y, test_size=0.9, random_state=0
    )
    for t in (0, 1, 2):
        assert set(y_train[X_train[:, -1] == t]) == {0, 1}
        assert set(y_test[X_test[:, -1] == t]) == {0, 1}

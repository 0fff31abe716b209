"""Tests of the multi-task data generators and loaders."""

import numpy as np
import pytest

from skmtl._tasks import unstack_tasks
from skmtl.datasets import (
    load_digits_tasks,
    make_low_rank_classification,
    make_low_rank_regression,
)

GENERATORS = [make_low_rank_regression, make_low_rank_classification]


@pytest.mark.parametrize("make", GENERATORS)
def test_default_is_the_papers_setting(make):
    Xs, ys, W = make(random_state=0)
    assert len(Xs) == len(ys) == 10
    assert all(X.shape == (100, 50) for X in Xs)
    assert all(y.shape == (100,) for y in ys)
    assert W.shape == (50, 10)


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("rank", [1, 3, 5])
def test_rank_of_true_weights(make, rank):
    _, _, W = make(n_features=20, n_tasks=8, rank=rank, random_state=1)
    assert np.linalg.matrix_rank(W) == rank
    # unit-variance entries whatever the rank
    assert 0.5 < W.var() < 2.0


@pytest.mark.parametrize("make", GENERATORS)
def test_determinism(make):
    a = make(n_tasks=4, random_state=3)
    b = make(n_tasks=4, random_state=3)
    c = make(n_tasks=4, random_state=4)
    for Xa, Xb in zip(a[0], b[0], strict=True):
        np.testing.assert_array_equal(Xa, Xb)
    for ya, yb in zip(a[1], b[1], strict=True):
        np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(a[2], b[2])
    assert not np.array_equal(a[2], c[2])


def test_regression_noise_level():
    Xs, ys, W = make_low_rank_regression(n_tasks=5, noise=0.5, random_state=0)
    resid = np.concatenate(
        [y - X @ W[:, t] for t, (X, y) in enumerate(zip(Xs, ys, strict=True))]
    )
    assert resid.std() == pytest.approx(0.5, rel=0.1)
    Xs, ys, W = make_low_rank_regression(n_tasks=2, rank=1, noise=0.0, random_state=0)
    np.testing.assert_allclose(ys[1], Xs[1] @ W[:, 1])


def test_classification_labels_follow_the_margin():
    Xs, ys, W = make_low_rank_classification(n_tasks=3, noise=0.0, random_state=0)
    for t, (X, y) in enumerate(zip(Xs, ys, strict=True)):
        assert set(np.unique(y)) == {0, 1}
        np.testing.assert_array_equal(y, (X @ W[:, t] > 0).astype(int))


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("task_column", [-1, 0])
def test_long_format_round_trip(make, task_column):
    sizes = [5, 12, 7]
    Xs, ys, W = make(n_features=4, n_tasks=3, rank=2, task_sizes=sizes, random_state=0)
    X, y, W_long = make(
        n_features=4,
        n_tasks=3,
        rank=2,
        task_sizes=sizes,
        return_long=True,
        task_column=task_column,
        random_state=0,
    )
    assert X.shape == (sum(sizes), 5) and y.shape == (sum(sizes),)
    np.testing.assert_array_equal(W, W_long)
    tasks, Xs2, ys2 = unstack_tasks(X, y, task_column=task_column)
    np.testing.assert_array_equal(tasks, [0, 1, 2])
    for a, b in zip(Xs, Xs2, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ys, ys2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_long_format_fits_the_estimator():
    from skmtl import TraceNormMTLRegressor

    X, y, W = make_low_rank_regression(
        n_features=10, n_tasks=4, rank=1, noise=0.1, return_long=True, random_state=0
    )
    model = TraceNormMTLRegressor(alpha=0.01, task_column=-1).fit(X, y)
    assert model.score(X, y) > 0.99
    np.testing.assert_allclose(model.coef_, W.T, atol=0.1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rank": 0}, "rank"),
        ({"n_tasks": 2, "rank": 3}, "rank"),
        ({"n_tasks": 0}, "n_tasks"),
        ({"n_samples": 0}, "n_samples"),
        ({"n_features": 0}, "n_features"),
        ({"noise": -1.0}, "noise"),
        ({"n_tasks": 2, "rank": 1, "task_sizes": [3]}, "task_sizes"),
        ({"n_tasks": 2, "rank": 1, "task_sizes": [3, 0]}, "at least one"),
    ],
)
@pytest.mark.parametrize("make", GENERATORS)
def test_bad_parameters(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_digit_tasks():
    X, y = load_digits_tasks()
    assert X.shape == (1797, 65)
    tasks = X[:, -1]
    np.testing.assert_array_equal(np.unique(tasks), np.arange(5))
    for t, pair in enumerate([(0, 9), (1, 8), (2, 7), (3, 6), (4, 5)]):
        np.testing.assert_array_equal(np.unique(y[tasks == t]), pair)
    assert X[:, :-1].min() == 0 and X[:, :-1].max() == 16


def test_digit_tasks_custom_pairs_and_column():
    X, y = load_digits_tasks(pairs=[(3, 8), (1, 7), (3, 5)], task_column=0)
    assert X.shape[1] == 65
    np.testing.assert_array_equal(np.unique(y[X[:, 0] == 2]), [3, 5])
    with pytest.raises(ValueError, match="two different digits"):
        load_digits_tasks(pairs=[(1, 1)])
    with pytest.raises(ValueError, match="empty"):
        load_digits_tasks(pairs=[])


def test_digit_tasks_fit_a_classifier():
    from skmtl import TraceNormMTLClassifier

    X, y = load_digits_tasks()
    X = X.copy()
    X[:, :-1] /= 16.0
    clf = TraceNormMTLClassifier(alpha=0.01, task_column=-1, tol=1e-4).fit(X, y)
    assert clf.score(X, y) > 0.95

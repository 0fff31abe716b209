"""Cross-validation splitters for long-format multi-task data.

The splitters read the task label of every row from the task column of ``X``
(or from ``groups`` when given) and follow the scikit-learn splitter API, so
they can be passed as ``cv=`` to ``cross_val_score`` and ``GridSearchCV``.

A task that is too small to be split (fewer rows than ``n_splits`` for
:class:`TaskStratifiedKFold`, a single row for :class:`TaskShuffleSplit`) is
kept whole in every training set and never tested, with a ``UserWarning``: the
model still learns it, and the other tasks are evaluated as usual.
"""

import numbers
import warnings

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import _safe_indexing, check_random_state, indexable

from ._tasks import _check_task_labels, _encode_tasks, _task_column_values

__all__ = [
    "LeaveTaskOut",
    "TaskShuffleSplit",
    "TaskStratifiedKFold",
    "train_test_split_tasks",
]


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _task_labels(X, groups, task_column, n_samples=None):
    """Task label of every row: ``groups`` if given, else the task column."""
    if groups is not None:
        labels = _check_task_labels(groups, name="groups")
        if n_samples is not None and len(labels) != n_samples:
            raise ValueError(
                f"groups has {len(labels)} labels but X has {n_samples} rows."
            )
        return labels
    if task_column is None:
        raise ValueError(
            "task_column=None: pass the task labels as groups=, or set task_column."
        )
    if X is None:
        raise ValueError("X (with its task column) or groups is needed.")
    _, _, labels = _task_column_values(X, task_column)
    return _check_task_labels(labels)


def _warn_small_tasks(labels, counts, small, minimum, splitter):
    warnings.warn(
        f"{splitter}: task(s) {labels[small].tolist()} have fewer than {minimum} "
        f"rows ({counts[small].tolist()}); they are kept in every training set "
        "and never in a test set.",
        UserWarning,
        stacklevel=4,
    )


class TaskStratifiedKFold(BaseCrossValidator):
    """K-fold that splits every task's rows across the folds.

    Each fold holds about ``1 / n_splits`` of the rows of every task, so every
    task is in every training set and in every test set; fold sizes differ by at
    most one row overall (as in ``StratifiedKFold``, stratifying on the task).
    A task with fewer than ``n_splits`` rows is kept in every training set and
    never in a test set, with a ``UserWarning``; if every task is that small a
    ``ValueError`` is raised.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    task_column : int, str or None, default=-1
        Position or (DataFrame) name of the task column of ``X``. Ignored when
        ``groups`` is passed to :meth:`split`; with None, ``groups`` is required.
    shuffle : bool, default=False
        Shuffle the rows of each task before splitting. Without shuffling the
        test rows of each task are contiguous blocks, in the original order.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling; use an int for reproducible splits. Only
        allowed with ``shuffle=True``.

    See Also
    --------
    LeaveTaskOut : Test on one whole task at a time.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> X = np.array([[0.1, 0], [0.2, 0], [0.3, 0], [0.4, 0], [0.5, 1], [0.6, 1]])
    >>> cv = TaskStratifiedKFold(n_splits=2)
    >>> for train, test in cv.split(X):
    ...     print(train, test)
    [2 3 5] [0 1 4]
    [0 1 4] [2 3 5]
    """

    __metadata_request__split = {"groups": True}

    def __init__(self, n_splits=5, *, task_column=-1, shuffle=False, random_state=None):
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(f"n_splits must be an int, got {n_splits!r}.")
        if n_splits < 2:
            raise ValueError(f"n_splits must be at least 2, got {n_splits}.")
        if not isinstance(shuffle, bool | np.bool_):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False; "
                "leave random_state=None or set shuffle=True."
            )
        self.n_splits = int(n_splits)
        self.task_column = task_column
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        """Generate the train and test indices of every fold.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Long-format data with the task column.
        y : array-like of shape (n_samples,), default=None
            Ignored; exists for API compatibility.
        groups : array-like of shape (n_samples,), default=None
            Task labels; when given they are used instead of the task column.

        Yields
        ------
        train : ndarray
            The training row indices of the fold.
        test : ndarray
            The test row indices of the fold.
        """
        return super().split(X, y, groups)

    def _make_test_folds(self, X, groups):
        labels = _task_labels(X, groups, self.task_column, n_samples=_n_rows(X))
        uniques, codes = _encode_tasks(labels)
        counts = np.bincount(codes)
        small = counts < self.n_splits
        if small.all():
            raise ValueError(
                f"n_splits={self.n_splits} is greater than the number of rows of "
                f"every task (at most {counts.max()})."
            )
        if small.any():
            _warn_small_tasks(
                uniques, counts, small, self.n_splits, "TaskStratifiedKFold"
            )
        # Round robin over the task-sorted rows, as StratifiedKFold does: each
        # task gets floor or ceil of n_t / n_splits rows per fold, and the
        # remainders are spread so that the fold sizes differ by at most one.
        splittable = ~small[codes]
        order = np.sort(codes[splittable])
        allocation = np.array(
            [
                np.bincount(order[i :: self.n_splits], minlength=len(uniques))
                for i in range(self.n_splits)
            ]
        )
        rng = check_random_state(self.random_state)
        test_folds = np.full(len(codes), -1)
        for k in np.flatnonzero(~small):
            folds = np.repeat(np.arange(self.n_splits), allocation[:, k])
            if self.shuffle:
                rng.shuffle(folds)
            test_folds[codes == k] = folds
        return test_folds

    def _iter_test_masks(self, X, y=None, groups=None):
        test_folds = self._make_test_folds(X, groups)
        for i in range(self.n_splits):
            yield test_folds == i

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored; exist for API compatibility.

        Returns
        -------
        n_splits : int
            The number of folds.
        """
        return self.n_splits


class LeaveTaskOut(BaseCrossValidator):
    """Leave one task out: train on the other tasks, test on the left-out one.

    There is one split per task, in the order of ``np.unique`` of the labels.
    Scoring a left-out task needs an estimator that can predict for a task it
    has not seen (``handle_unknown_task='mean'`` in skmtl).

    Parameters
    ----------
    task_column : int, str or None, default=-1
        Position or (DataFrame) name of the task column of ``X``. Ignored when
        ``groups`` is given; with None, ``groups`` is required.

    See Also
    --------
    TaskStratifiedKFold : Keep every task in every training set.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import LeaveTaskOut
    >>> X = np.array([[0.1, "b"], [0.2, "a"], [0.3, "b"]], dtype=object)
    >>> cv = LeaveTaskOut()
    >>> cv.get_n_splits(X)
    2
    >>> for train, test in cv.split(X):
    ...     print(train, test)
    [0 2] [1]
    [1] [0 2]
    """

    __metadata_request__split = {"groups": True}

    def __init__(self, task_column=-1):
        self.task_column = task_column

    def split(self, X, y=None, groups=None):
        """Generate the train and test indices of every split.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Long-format data with the task column.
        y : array-like of shape (n_samples,), default=None
            Ignored; exists for API compatibility.
        groups : array-like of shape (n_samples,), default=None
            Task labels; when given they are used instead of the task column.

        Yields
        ------
        train : ndarray
            The rows of the other tasks.
        test : ndarray
            The rows of the left-out task.
        """
        return super().split(X, y, groups)

    def _codes(self, X, groups):
        n_samples = None if X is None else _n_rows(X)
        labels = _task_labels(X, groups, self.task_column, n_samples=n_samples)
        uniques, codes = _encode_tasks(labels)
        if len(uniques) < 2:
            raise ValueError(
                f"LeaveTaskOut needs at least 2 tasks, got {uniques.tolist()}."
            )
        return uniques, codes

    def _iter_test_masks(self, X, y=None, groups=None):
        uniques, codes = self._codes(X, groups)
        for k in range(len(uniques)):
            yield codes == k

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits: the number of tasks.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame}, default=None
            Long-format data with the task column; needed unless ``groups`` is
            given.
        y : object
            Ignored; exists for API compatibility.
        groups : array-like of shape (n_samples,), default=None
            Task labels.

        Returns
        -------
        n_splits : int
            The number of tasks.
        """
        if X is not None:
            X, groups = indexable(X, groups)
        return len(self._codes(X, groups)[0])


def _check_test_size(test_size):
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"test_size must be a float or an int, got {test_size!r}.")
    if isinstance(test_size, numbers.Integral):
        if test_size < 1:
            raise ValueError(f"An int test_size must be at least 1, got {test_size}.")
    elif not 0.0 < test_size < 1.0:
        raise ValueError(f"A float test_size must be in (0, 1), got {test_size}.")
    return test_size


class TaskShuffleSplit(BaseCrossValidator):
    """Random train/test splits that take test rows from every task.

    Each split draws, for every task, ``ceil(test_size * n_t)`` test rows
    (``test_size`` rows for an int), at least one and at most ``n_t - 1``, so
    every task is in both sets. A task with a single row stays in the training
    set, with a ``UserWarning``.

    Parameters
    ----------
    n_splits : int, default=10
        Number of splits.
    test_size : float or int, default=0.25
        Fraction (float in (0, 1)) or number (int) of each task's rows to test.
    task_column : int, str or None, default=-1
        Position or (DataFrame) name of the task column of ``X``. Ignored when
        ``groups`` is given; with None, ``groups`` is required.
    random_state : int, RandomState instance or None, default=None
        Controls the draws; use an int for reproducible splits.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import TaskShuffleSplit
    >>> X = np.array([[0.1, 0], [0.2, 0], [0.3, 0], [0.4, 0], [0.5, 1], [0.6, 1]])
    >>> cv = TaskShuffleSplit(n_splits=3, test_size=0.25, random_state=0)
    >>> for train, test in cv.split(X):
    ...     print(len(train), len(test))
    4 2
    4 2
    4 2
    """

    __metadata_request__split = {"groups": True}

    def __init__(
        self, n_splits=10, *, test_size=0.25, task_column=-1, random_state=None
    ):
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(f"n_splits must be an int, got {n_splits!r}.")
        if n_splits < 1:
            raise ValueError(f"n_splits must be at least 1, got {n_splits}.")
        self.n_splits = int(n_splits)
        self.test_size = _check_test_size(test_size)
        self.task_column = task_column
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        """Generate the train and test indices of every split.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Long-format data with the task column.
        y : array-like of shape (n_samples,), default=None
            Ignored; exists for API compatibility.
        groups : array-like of shape (n_samples,), default=None
            Task labels; when given they are used instead of the task column.

        Yields
        ------
        train : ndarray
            The training row indices, in random order.
        test : ndarray
            The test row indices, in random order.
        """
        X, y, groups = indexable(X, y, groups)
        labels = _task_labels(X, groups, self.task_column, n_samples=_n_rows(X))
        uniques, codes = _encode_tasks(labels)
        counts = np.bincount(codes)
        small = counts < 2
        if small.all():
            raise ValueError("Every task has a single row; none can be split.")
        if small.any():
            _warn_small_tasks(uniques, counts, small, 2, "TaskShuffleSplit")
        if isinstance(self.test_size, numbers.Integral):
            n_test = np.full(len(uniques), self.test_size)
        else:
            n_test = np.ceil(self.test_size * counts).astype(int)
        n_test = np.clip(n_test, 1, counts - 1)
        rows_of = [np.flatnonzero(codes == k) for k in range(len(uniques))]
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            train, test = [], []
            for k, rows in enumerate(rows_of):
                if small[k]:
                    train.append(rows)
                    continue
                rows = rng.permutation(rows)
                test.append(rows[: n_test[k]])
                train.append(rows[n_test[k] :])
            yield (
                rng.permutation(np.concatenate(train)),
                rng.permutation(np.concatenate(test)),
            )

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored; exist for API compatibility.

        Returns
        -------
        n_splits : int
            The number of splits.
        """
        return self.n_splits


def train_test_split_tasks(X, y, *, test_size=0.25, task_column=-1, random_state=None):
    """Split long-format data into a train and a test set, task by task.

    Every task contributes ``ceil(test_size * n_t)`` random rows to the test set
    (``test_size`` rows for an int), at least one and at most ``n_t - 1``, so
    every task is in both sets; see :class:`TaskShuffleSplit`.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Long-format data with the task column.
    y : array-like of shape (n_samples,)
        Targets.
    test_size : float or int, default=0.25
        Fraction (float in (0, 1)) or number (int) of each task's rows to test.
    task_column : int or str, default=-1
        Position or (DataFrame) name of the task column of ``X``.
    random_state : int, RandomState instance or None, default=None
        Controls the draw; use an int for a reproducible split.

    Returns
    -------
    X_train, X_test, y_train, y_test
        The rows of ``X`` and ``y`` in each set, of the same kind as the inputs
        (the task column stays in ``X``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import train_test_split_tasks
    >>> X = np.array([[0.1, 0], [0.2, 0], [0.3, 0], [0.4, 0], [0.5, 1], [0.6, 1]])
    >>> y = np.arange(6.0)
    >>> X_train, X_test, y_train, y_test = train_test_split_tasks(
    ...     X, y, test_size=0.25, random_state=0
    ... )
    >>> sorted(X_test[:, -1].tolist())  # one test row from each task
    [0.0, 1.0]
    """
    X, y = indexable(X, y)
    if y is None:
        raise ValueError("y is required.")
    cv = TaskShuffleSplit(
        n_splits=1,
        test_size=test_size,
        task_column=task_column,
        random_state=random_state,
    )
    train, test = next(cv.split(X))
    return (
        _safe_indexing(X, train),
        _safe_indexing(X, test),
        _safe_indexing(y, train),
        _safe_indexing(y, test),
    )

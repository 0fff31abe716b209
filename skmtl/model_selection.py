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
from sklearn.utils.multiclass import type_of_target

from ._tasks import _check_task_labels, _task_column_values, group_rows

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


def _class_codes(y, n_samples, stratify_classes):
    """(labels, code of every row) of y's classes, or None when not stratifying."""
    if stratify_classes is False or (stratify_classes == "auto" and y is None):
        return None
    if y is None:
        raise ValueError("stratify_classes=True needs y, passed to split.")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        if stratify_classes is True:
            raise ValueError(
                f"stratify_classes=True needs a 1-D y of {n_samples} labels, "
                f"got shape {y.shape}."
            )
        return None
    if stratify_classes == "auto":
        kind = type_of_target(y)
        # Float targets with a few integer values (exam scores, ratings) are
        # regression targets: only 'binary' is taken from floats.
        if not (kind == "binary" or (kind == "multiclass" and y.dtype.kind != "f")):
            return None
    labels, codes = np.unique(y, return_inverse=True)
    return labels, codes.ravel()


def _check_stratify_classes(stratify_classes):
    if not (
        isinstance(stratify_classes, bool | np.bool_) or stratify_classes == "auto"
    ):
        raise ValueError(
            f"stratify_classes must be 'auto', True or False, got {stratify_classes!r}."
        )
    return stratify_classes if stratify_classes == "auto" else bool(stratify_classes)


class TaskStratifiedKFold(BaseCrossValidator):
    """K-fold that splits every task's rows, and every task's classes, across folds.

    Each fold holds about ``1 / n_splits`` of the rows of every task, so every
    task is in every training set and in every test set; fold sizes differ by at
    most one row overall (as in ``StratifiedKFold``, stratifying on the task).
    For classification (``y`` binary or multiclass, passed to :meth:`split`),
    the folds are also stratified by class *within each task*: every fold holds
    about ``1 / n_splits`` of each task's rows of each class, so a training
    set never loses a class of a task that has at least two rows of it.

    Rows are shuffled within each task (and class) by default, as the rows of
    long-format data are often sorted (by task, time or label).

    A task with fewer than ``n_splits`` rows is kept in every training set and
    never in a test set, with a ``UserWarning``; if every task is that small a
    ``ValueError`` is raised.  For classification, a class with a single row in
    a task would leave that task with one class in the training set of the
    fold that tests the row: such a row is kept in every training set instead
    (never tested), with a ``UserWarning`` naming the task and class.

    .. note::

       An integer ``cv`` passed to a scikit-learn meta-estimator
       (``GridSearchCV``, ``cross_validate``, ``CalibratedClassifierCV``,
       ``StackingRegressor``, ...) means a plain ``KFold`` or
       ``StratifiedKFold``, which knows nothing of tasks: on task-sorted rows
       whole tasks fall out of training folds.  Pass
       ``cv=TaskStratifiedKFold(n_splits)`` instead.  skmtl's own CV
       estimators (``TraceNormMTLRegressorCV``, ...) already turn an integer
       ``cv`` into task-stratified folds.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    task_column : int, str or None, default=-1
        Position or (DataFrame) name of the task column of ``X``. Ignored when
        ``groups`` is passed to :meth:`split`; with None, ``groups`` is required.
    shuffle : bool, default=True
        Shuffle the rows of each task (and class) before splitting. Without
        shuffling the test rows of each task (and class) are contiguous
        blocks, in the original order.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling; use an int for reproducible splits. Only
        allowed with ``shuffle=True``.
    stratify_classes : {'auto', True, False}, default='auto'
        Whether to stratify by class within each task. 'auto' does when ``y``
        is given to :meth:`split` and holds class labels: binary (as
        ``sklearn.utils.multiclass.type_of_target`` reads it), or multiclass
        with a non-float dtype (int, str, bool, ...), so that integer-valued
        float regression targets such as exam scores are not taken for
        classes.  True stratifies any 1-D ``y``.

    See Also
    --------
    LeaveTaskOut : Test on one whole task at a time.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> X = np.array([[0.1, 0], [0.2, 0], [0.3, 0], [0.4, 0],
    ...               [0.5, 1], [0.6, 1], [0.7, 1], [0.8, 1]])
    >>> y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    >>> cv = TaskStratifiedKFold(n_splits=2, shuffle=False)
    >>> for train, test in cv.split(X, y):   # every fold: both tasks, both classes
    ...     print(train, test)
    [2 3 6 7] [0 1 4 5]
    [0 1 4 5] [2 3 6 7]
    """

    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        n_splits=5,
        *,
        task_column=-1,
        shuffle=True,
        random_state=None,
        stratify_classes="auto",
    ):
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
        self.stratify_classes = _check_stratify_classes(stratify_classes)

    def split(self, X, y=None, groups=None):
        """Generate the train and test indices of every fold.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Long-format data with the task column.
        y : array-like of shape (n_samples,), default=None
            Targets; class labels are stratified within each task (see
            ``stratify_classes``).
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

    def _make_test_folds(self, X, y, groups):
        n_samples = _n_rows(X)
        labels = _task_labels(X, groups, self.task_column, n_samples=n_samples)
        task_groups = group_rows(labels)
        uniques, codes, counts = (
            task_groups.tasks,
            task_groups.codes,
            task_groups.counts,
        )
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
        classes = _class_codes(y, n_samples, self.stratify_classes)
        splittable = ~small[codes]
        if classes is None:
            strata = codes
        else:
            class_labels, classes = classes
            strata = codes * len(class_labels) + classes
            splittable &= ~_lone_class_rows(uniques, codes, class_labels, classes)
        # Round robin over the rows sorted by stratum (task, then class), as
        # StratifiedKFold does: each stratum, and each task, gets floor or ceil
        # of its size / n_splits rows per fold, and fold sizes differ by <= 1.
        by_stratum = group_rows(strata)  # the rows of each stratum: no mask each
        strata = by_stratum.codes
        n_strata = by_stratum.n_tasks
        order = np.sort(strata[splittable])
        allocation = np.array(
            [
                np.bincount(order[i :: self.n_splits], minlength=n_strata)
                for i in range(self.n_splits)
            ]
        )
        rng = check_random_state(self.random_state)
        test_folds = np.full(len(codes), -1)
        for k in np.unique(order):
            folds = np.repeat(np.arange(self.n_splits), allocation[:, k])
            if self.shuffle:
                rng.shuffle(folds)
            rows = by_stratum.rows(k)  # ascending, as a boolean mask selects
            test_folds[rows[splittable[rows]]] = folds
        return test_folds

    def _iter_test_masks(self, X, y=None, groups=None):
        test_folds = self._make_test_folds(X, y, groups)
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


def _lone_class_rows(uniques, codes, class_labels, classes):
    """Rows that are their task's only row of their class (kept in training).

    Testing such a row would leave its task with one class less, possibly a
    single class, in that fold's training set.  Warns about them, and about
    tasks that have a single class in all.
    """
    table = np.zeros((len(uniques), len(class_labels)), dtype=np.int64)
    np.add.at(table, (codes, classes), 1)
    lone = table[codes, classes] == 1
    one_class = np.flatnonzero((table > 0).sum(axis=1) == 1)
    if lone.any():
        pairs = sorted(
            set(
                zip(
                    uniques[codes[lone]].tolist(),
                    class_labels[classes[lone]].tolist(),
                    strict=True,
                )
            ),
            key=str,
        )
        described = ", ".join(f"task {t!r} class {c!r}" for t, c in pairs)
        warnings.warn(
            f"TaskStratifiedKFold: a single row of {described}; testing it would "
            "leave its task without that class (perhaps with one class) in a "
            "training set, so it is kept in every training set and never tested.",
            UserWarning,
            stacklevel=5,
        )
    if one_class.size:
        warnings.warn(
            f"TaskStratifiedKFold: task(s) {uniques[one_class].tolist()} have a "
            "single class in all, so every training set has a single class for "
            "them; a classifier cannot be fitted on such a task.",
            UserWarning,
            stacklevel=5,
        )
    return lone


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

    def _groups(self, X, groups):
        n_samples = None if X is None else _n_rows(X)
        labels = _task_labels(X, groups, self.task_column, n_samples=n_samples)
        task_groups = group_rows(labels)
        if task_groups.n_tasks < 2:
            raise ValueError(
                "LeaveTaskOut needs at least 2 tasks, got "
                f"{task_groups.tasks.tolist()}."
            )
        return task_groups

    def _iter_test_masks(self, X, y=None, groups=None):
        # Each mask is set from its task's rows (O(n_t)); its O(n) allocation
        # is the size of the split that BaseCrossValidator.split returns.
        task_groups = self._groups(X, groups)
        for k in range(task_groups.n_tasks):
            mask = np.zeros(len(task_groups.codes), dtype=bool)
            mask[task_groups.rows(k)] = True
            yield mask

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
        return self._groups(X, groups).n_tasks


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

    For classification (``y`` of class labels passed to :meth:`split`, see
    ``stratify_classes``) the test rows of a task are shared among its classes
    in proportion to their sizes (largest remainders), and every class of a
    task keeps at least one row in the training set, so no task loses a class
    there; the test set of a task may then be a row or two smaller.

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
    stratify_classes : {'auto', True, False}, default='auto'
        Whether to stratify by class within each task, as in
        :class:`TaskStratifiedKFold`: 'auto' does for a binary ``y``, or a
        multiclass one whose dtype is not float.

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
        self,
        n_splits=10,
        *,
        test_size=0.25,
        task_column=-1,
        random_state=None,
        stratify_classes="auto",
    ):
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(f"n_splits must be an int, got {n_splits!r}.")
        if n_splits < 1:
            raise ValueError(f"n_splits must be at least 1, got {n_splits}.")
        self.n_splits = int(n_splits)
        self.test_size = _check_test_size(test_size)
        self.task_column = task_column
        self.random_state = random_state
        self.stratify_classes = _check_stratify_classes(stratify_classes)

    def split(self, X, y=None, groups=None):
        """Generate the train and test indices of every split.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Long-format data with the task column.
        y : array-like of shape (n_samples,), default=None
            Targets; class labels are stratified within each task (see
            ``stratify_classes``).
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
        task_groups = group_rows(labels)
        uniques, codes, counts = (
            task_groups.tasks,
            task_groups.codes,
            task_groups.counts,
        )
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
        rng = check_random_state(self.random_state)
        classes = _class_codes(y, len(codes), self.stratify_classes)
        if classes is not None:
            yield from self._stratified(task_groups, classes[1], n_test, small, rng)
            return
        rows_of = [task_groups.rows(k) for k in range(task_groups.n_tasks)]
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

    def _stratified(self, task_groups, classes, n_test, small, rng):
        """The splits with each task's test rows shared among its classes."""
        strata = []  # per task: the rows of each class, and its test counts
        for k in range(len(n_test)):
            rows = task_groups.rows(k)
            by_class = [rows[classes[rows] == c] for c in np.unique(classes[rows])]
            sizes = np.array([len(r) for r in by_class])
            quota = n_test[k] * sizes / sizes.sum()
            take = np.floor(quota).astype(int)
            extra = np.argsort(take - quota, kind="stable")[: n_test[k] - take.sum()]
            take[extra] += 1
            strata.append((by_class, np.minimum(take, sizes - 1)))
        for _ in range(self.n_splits):
            train, test = [], []
            for k, (by_class, take) in enumerate(strata):
                for rows, n in zip(by_class, take, strict=True):
                    if small[k]:
                        train.append(rows)
                        continue
                    rows = rng.permutation(rows)
                    test.append(rows[:n])
                    train.append(rows[n:])
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


def train_test_split_tasks(
    X,
    y,
    *,
    test_size=0.25,
    task_column=-1,
    random_state=None,
    stratify_classes="auto",
):
    """Split long-format data into a train and a test set, task by task.

    Every task contributes ``ceil(test_size * n_t)`` random rows to the test set
    (``test_size`` rows for an int), at least one and at most ``n_t - 1``, so
    every task is in both sets; see :class:`TaskShuffleSplit`.  For
    classification the rows of every task are also stratified by class, and
    every class of a task keeps a row in the training set.

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
    stratify_classes : {'auto', True, False}, default='auto'
        Whether to stratify by class within each task: 'auto' does for a
        binary ``y``, or a multiclass one whose dtype is not float.

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
        stratify_classes=stratify_classes,
    )
    train, test = next(cv.split(X, y))
    return (
        _safe_indexing(X, train),
        _safe_indexing(X, test),
        _safe_indexing(y, train),
        _safe_indexing(y, test),
    )

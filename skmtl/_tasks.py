"""Long-format multi-task data: the task column and the per-task list layout.

In long format every row of ``X`` carries its task label in one column (the
*task column*) and ``y`` is 1-D, so the task travels with the row through
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``. MALSAR and RMTL keep the
same data as per-task lists ``Xs[t]``, ``ys[t]``; :func:`stack_tasks` and
:func:`unstack_tasks` convert between the two.
"""

import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

__all__ = [
    "TaskGroups",
    "group_codes",
    "group_rows",
    "lookup_codes",
    "resolve_task_column",
    "split_task_column",
    "stack_tasks",
    "unstack_tasks",
]

# Rows per chunk where labels are mapped to task indices.
_LOOKUP_CHUNK = 1 << 16


def _is_dataframe(X):
    # Duck-typed so that pandas stays an optional dependency.
    return hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes")


def _is_missing(value):
    """True for None, NaN, NaT, pd.NA and infinite floats."""
    if value is None:
        return True
    try:
        if isinstance(value, numbers.Real) and not np.isfinite(value):
            return True
        return bool(value != value)
    except (TypeError, ValueError):
        # pd.NA refuses bool(); anything that cannot compare with itself is
        # not usable as a task label either.
        return True


def _check_task_labels(labels, *, name="task labels"):
    """Return ``labels`` as a 1-D numpy array with no missing values."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels.ravel()
        else:
            raise ValueError(
                f"The {name} must be 1-D, got an array of shape {labels.shape}."
            )
    if labels.dtype.kind == "f" and _all_finite(labels):
        return labels
    if labels.dtype.kind in "fc":
        bad = ~np.isfinite(labels)
    elif labels.dtype.kind == "O":
        bad = np.fromiter((_is_missing(v) for v in labels), bool, len(labels))
    elif labels.dtype.kind in "mM":
        bad = np.isnat(labels)
    else:
        bad = np.zeros(len(labels), dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"The {name} contain {len(rows)} missing or non-finite value(s) "
            f"(NaN, None or inf), first at row(s) {rows[:5].tolist()}. Every row "
            "needs a task label."
        )
    return labels


def _all_finite(labels):
    """Whether every float label is finite, in chunks: no n-size temporary.

    Each chunk of the (often strided) labels is copied once into a small
    buffer; ``min`` and ``max`` propagate NaN and infinities, so two
    reductions of the buffer, in cache, check it.
    """
    buf = np.empty(min(len(labels), _LOOKUP_CHUNK), dtype=labels.dtype)
    for a in range(0, len(labels), _LOOKUP_CHUNK):
        part = buf[: len(labels[a : a + _LOOKUP_CHUNK])]
        part[...] = labels[a : a + _LOOKUP_CHUNK]
        if not (np.isfinite(part.min()) and np.isfinite(part.max())):
            return False
    return True


def _encode_tasks(labels):
    """Sorted unique task labels and the integer code of every row."""
    try:
        return np.unique(labels, return_inverse=True)
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in labels})
        raise ValueError(
            "The task labels cannot be sorted: they mix types "
            f"{kinds}. Use labels that are all numbers or all strings."
        ) from exc


class TaskGroups(NamedTuple):
    """The rows of every task, from one sort of the labels.

    ``order[starts[k]:starts[k + 1]]`` are the rows of task ``tasks[k]``, in
    their original order (the sort is stable); ``codes[i]`` is the task index
    of row ``i``.
    """

    tasks: np.ndarray
    codes: np.ndarray
    order: np.ndarray
    starts: np.ndarray

    @property
    def n_tasks(self):
        return len(self.tasks)

    @property
    def counts(self):
        return np.diff(self.starts)

    @property
    def is_sorted(self):
        """Whether the rows are already grouped by task (``order`` is 0..n-1)."""
        n = len(self.order)
        return bool(n == 0 or (self.order[0] == 0 and np.all(np.diff(self.order) == 1)))

    def rows(self, k):
        """Indices of the rows of task ``k`` (a view into ``order``)."""
        return self.order[self.starts[k] : self.starts[k + 1]]

    def slices(self):
        """Per task, the slice of its rows once the data are taken in ``order``."""
        s = self.starts.tolist()
        return [slice(a, b) for a, b in zip(s[:-1], s[1:], strict=True)]


def group_rows(labels):
    """Group the rows by task label in O(n) or one sort, for any number of tasks.

    Integer labels (ints, or floats holding integers) in a range not much wider
    than the number of rows are grouped by counting, with radix passes for the
    order: O(n). Other labels (strings, fractions, sparse ranges) take one
    stable sort: O(n log n). No step loops over the tasks.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Task label of every row (numbers or strings, in any order), without
        missing values (see :func:`split_task_column`).

    Returns
    -------
    TaskGroups
        ``tasks`` (sorted unique labels, as :func:`numpy.unique`), ``codes``
        (task index of every row), ``order`` (the rows sorted by task, stable)
        and ``starts`` (``n_tasks + 1`` offsets into ``order``).

    Raises
    ------
    ValueError
        If the labels mix types that cannot be sorted together.

    Examples
    --------
    >>> from skmtl._tasks import group_rows
    >>> g = group_rows(["b", "a", "b", "c", "a"])
    >>> g.tasks.tolist(), g.codes.tolist()
    (['a', 'b', 'c'], [1, 0, 1, 2, 0])
    >>> [g.rows(k).tolist() for k in range(g.n_tasks)]
    [[1, 4], [0, 2], [3]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        labels = labels.ravel()
    counted = _count_int_labels(labels)
    if counted is None:
        tasks, codes, order = _sort_labels(labels)
        return group_codes(codes, tasks, order=order)
    return group_codes(counted[1], counted[0])


def group_codes(codes, tasks, *, order=None):
    """Group the rows by task index: :func:`group_rows` for known tasks, O(n).

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Task index of every row, in ``[0, len(tasks))``.
    tasks : ndarray of shape (n_tasks,)
        The task labels; a task may have no row.
    order : ndarray of shape (n_samples,), default=None
        The rows stably sorted by code, if already known.

    Returns
    -------
    TaskGroups
    """
    codes = np.asarray(codes, dtype=np.intp)
    if order is None:
        order = _stable_order(codes, len(tasks))
    counts = np.bincount(codes, minlength=len(tasks))
    starts = np.zeros(len(tasks) + 1, dtype=np.intp)
    np.cumsum(counts, out=starts[1:])
    return TaskGroups(tasks, codes, order, starts)


def _sort_labels(labels):
    """(tasks, codes, order) from one stable argsort of the labels."""
    try:
        order = np.argsort(labels, kind="stable")
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in labels})
        raise ValueError(
            "The task labels cannot be sorted: they mix types "
            f"{kinds}. Use labels that are all numbers or all strings."
        ) from exc
    ordered = labels[order]
    first = np.ones(len(labels), dtype=bool)  # the first row of each task
    first[1:] = np.asarray(ordered[1:] != ordered[:-1], dtype=bool)
    codes = np.empty(len(labels), dtype=np.intp)
    codes[order] = np.cumsum(first, dtype=np.intp) - 1
    return ordered[first], codes, order


def _countable(lo, hi, n):
    """Whether ``n`` values in ``[lo, hi]`` are best counted in a table of
    ``hi - lo + 1`` slots: exact as floats (below 2**53; not NaN or inf) and
    not much wider than ``n`` (a wider table costs more than a sort)."""
    return abs(lo) < 2**53 and abs(hi) < 2**53 and hi - lo <= 2 * n + (1 << 16)


def _count_int_labels(labels):
    """(tasks, codes) by counting, for integer labels in a small range, else None.

    None for strings, fractions, and ranges much wider than the number of rows
    (counting would then cost more than sorting).
    """
    n, kind = len(labels), labels.dtype.kind
    if n == 0 or kind not in "iuf":
        return None
    codes = np.empty(n, dtype=np.intp)  # the labels as integers, then the codes
    bounds = _labels_as_ints(labels, codes)
    if bounds is None:
        return None  # fractions, a range too wide, or not finite
    lo, _ = bounds
    if lo != 0:  # a pass over the (contiguous) codes; none for 0..T-1
        codes -= lo
    present = np.bincount(codes) > 0
    # The tasks from their offsets: integers below 2**53 + 2n, exact in
    # int64 and float64, and each is one of the labels (so exact in their
    # dtype too). No pass over the labels.
    base = lo if kind in "iu" else float(lo)
    if present.all():
        # Every label in lo..hi occurs (e.g. 0..T-1, the common case): the
        # offsets are the codes.
        return (np.arange(len(present)) + base).astype(labels.dtype), codes
    remap = np.cumsum(present, dtype=np.intp) - 1
    buf = np.empty(min(n, _LOOKUP_CHUNK), dtype=np.intp)
    for a in range(0, n, _LOOKUP_CHUNK):
        part = codes[a : a + _LOOKUP_CHUNK]
        part[...] = np.take(remap, part, out=buf[: len(part)], mode="clip")
    return (np.flatnonzero(present) + base).astype(labels.dtype), codes


def _labels_as_ints(labels, codes):
    """``codes[:] = labels`` as integers, and their ``(min, max)``; or None.

    None as soon as a label is fractional, not finite or past 2**53, or the
    range gets too wide to count (:func:`_countable`). One read of the
    labels (a strided column of X, in long format), chunk by chunk: the
    bounds come from each converted chunk while it is in cache, where
    ``labels.min()`` and ``labels.max()`` were two more passes over the
    column. The temporaries stay small (one reusable buffer).
    """
    n, kind = len(labels), labels.dtype.kind
    buf = np.empty(min(n, _LOOKUP_CHUNK)) if kind == "f" else None
    lo = hi = None
    for a in range(0, n, _LOOKUP_CHUNK):
        part, out = labels[a : a + _LOOKUP_CHUNK], codes[a : a + _LOOKUP_CHUNK]
        src = out
        if kind == "f":
            src = buf[: len(part)]
            src[...] = part  # exact in float64
        else:
            out[...] = part  # a uint64 past 2**63 wraps to negative: caught below
        m, M = src.min(), src.max()
        # NaN fails every comparison; min and max propagate it.
        if not (-(2**53) < m <= M < 2**53) or (kind == "u" and m < 0):
            return None
        if kind == "f":
            out[...] = src
            if not np.array_equal(out, src):
                return None  # fractional labels
        m, M = int(m), int(M)
        lo = m if lo is None else min(lo, m)
        hi = M if hi is None else max(hi, M)
        if not _countable(lo, hi, n):
            return None
    return lo, hi


def lookup_codes(tasks, labels):
    """Index of every label in the sorted ``tasks`` (-1 if absent), or None.

    A table lookup, O(n + n_tasks), for numeric tasks on an integer grid not
    much wider than their number (as :func:`group_rows` counts them); None
    otherwise (then :func:`numpy.searchsorted` is the way). An index ``k`` is
    returned only where ``labels == tasks[k]`` (compared as numpy does), so
    the result is that of a search: other labels get -1. Where the tasks are
    consecutive integers (0..T-1, say) the offset of a label is its index:
    no table.
    """
    labels = np.asarray(labels)
    numeric = tasks.dtype.kind in "iuf" and labels.dtype.kind in "iuf"
    if len(tasks) == 0 or not numeric:
        return None
    lo, hi = float(tasks[0]), float(tasks[-1])
    # Past 2**53 float64 no longer holds every integer: tasks would share offsets.
    if not _countable(lo, hi, len(tasks)) or max(abs(lo), abs(hi)) >= 2.0**53:
        return None
    offsets = np.subtract(tasks, lo, dtype=np.float64)
    if not np.array_equal(offsets, np.round(offsets)):
        return None  # not on an integer grid
    span = int(hi - lo)
    table = None
    if span + 1 != len(tasks):  # sorted unique: else consecutive
        table = np.full(span + 3, -1, dtype=np.intp)  # -1 and span + 1: out of range
        table[offsets.astype(np.intp) + 1] = np.arange(len(tasks))
    idx = np.empty(len(labels), dtype=np.intp)
    m = min(len(labels), _LOOKUP_CHUNK)
    bufs = np.empty(m), np.empty(m, dtype=np.intp)  # reused by every chunk
    # Float labels are read twice (offsets, exact check): from a contiguous
    # copy of the chunk, not from the strided task column of X.
    copy = np.empty(m, dtype=labels.dtype) if labels.dtype.kind == "f" else None
    # An integer label's offset is exact (so no check is needed) only from a
    # whole ``lo``: tasks 0.5, 1.5, ... would take labels 0 and 1 as 0.5.
    exact = labels.dtype.kind in "iu" and table is None and lo.is_integer()
    # In chunks: the temporaries stay small, whatever the number of rows.
    for a in range(0, len(labels), _LOOKUP_CHUNK):
        part, out = labels[a : a + _LOOKUP_CHUNK], idx[a : a + _LOOKUP_CHUNK]
        if copy is not None:
            copy[: len(part)] = part
            part = copy[: len(part)]
        _lookup_chunk(part, lo, span, table, bufs, out)
        # Only exact matches: a fraction or a label past 2**53 may round onto
        # a task.
        if not exact:
            out[np.take(tasks, out, mode="wrap") != part] = -1
    return idx


def _lookup_chunk(part, lo, span, table, bufs, out):
    """``out`` = the index of each label's offset (-1 outside ``0..span``)."""
    shifted, raw = (buf[: len(part)] for buf in bufs)
    # The offset of every label, clipped so that the cast to int is defined.
    np.subtract(part, lo, out=shifted, dtype=np.float64)
    np.clip(shifted, -1.0, span + 1.0, out=shifted)
    if part.dtype.kind == "f":
        shifted[np.isnan(shifted)] = -1.0  # NaN matches no task
    if table is None:
        out[...] = shifted
        out[out > span] = -1
    else:
        raw[...] = shifted
        raw += 1
        np.take(table, raw, out=out, mode="clip")


def _stable_order(codes, n_tasks):
    """Stable argsort of integer codes in ``[0, n_tasks)`` with O(n) radix passes.

    NumPy's stable sort of 16-bit keys is a radix sort; wider codes are sorted
    by their low, then their high 16 bits (LSD radix).
    """
    if n_tasks <= 1 << 16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    order = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
    high = codes[order] >> 16
    if n_tasks <= 1 << 32:
        high = high.astype(np.uint16)
    return order[np.argsort(high, kind="stable")]


def resolve_task_column(task_column, n_columns, columns=None):
    """Turn a task column given by position or by name into a column index.

    Integers are always positions (as in ``ColumnTransformer``), and negative
    positions count from the end; any other value is a column name, which needs
    ``columns``.

    Parameters
    ----------
    task_column : int or str
        Position of the task column (``-1`` is the last column) or its name.
    n_columns : int
        Number of columns of ``X``, the task column included.
    columns : sequence, default=None
        Column names of ``X`` (``DataFrame.columns``), or None if ``X`` has none.

    Returns
    -------
    index : int
        The non-negative position of the task column.

    Raises
    ------
    ValueError
        If the position is out of range, the name is unknown or ambiguous, a name
        is given but ``X`` has no column names, or ``task_column`` is None or a
        bool.

    Examples
    --------
    >>> from skmtl._tasks import resolve_task_column
    >>> resolve_task_column(-1, 4)
    3
    >>> resolve_task_column("school", 3, columns=["x0", "school", "x1"])
    1
    """
    n_columns = int(n_columns)
    if columns is not None and len(columns) != n_columns:
        raise ValueError(f"columns has {len(columns)} names but n_columns={n_columns}.")
    if task_column is None or isinstance(task_column, bool | np.bool_):
        raise ValueError(
            f"task_column must be a column position (int) or a column name, got "
            f"{task_column!r}."
        )
    if isinstance(task_column, numbers.Integral):
        index = int(task_column)
        if not -n_columns <= index < n_columns:
            raise ValueError(
                f"task_column={index} is out of range: X has {n_columns} "
                f"column(s), so valid positions are {-n_columns} to {n_columns - 1}."
            )
        return index % n_columns
    if isinstance(task_column, numbers.Number):
        raise ValueError(
            f"task_column must be an int position or a column name, got the "
            f"{type(task_column).__name__} {task_column!r}."
        )
    if columns is None:
        raise ValueError(
            f"task_column={task_column!r} is a column name, but X has no column "
            "names. Pass the column position as an int, or X as a pandas DataFrame."
        )
    try:
        matches = [i for i, name in enumerate(columns) if name == task_column]
    except (TypeError, ValueError):  # names that do not compare, e.g. arrays
        matches = []
    if not matches:
        shown = list(columns[:10]) if hasattr(columns, "__getitem__") else []
        more = ", ..." if n_columns > 10 else ""
        raise ValueError(
            f"task_column={task_column!r} is not a column of X; its columns are "
            f"{str(shown)[:-1]}{more}]."
        )
    if len(matches) > 1:
        raise ValueError(
            f"task_column={task_column!r} names {len(matches)} columns of X "
            f"(positions {matches}); column names must be unique."
        )
    return matches[0]


def _as_2d(X, *, name="X"):
    """Numpy view of a list-like X, keeping mixed Python values as objects."""
    arr = np.asarray(X)
    if arr.dtype.kind in "US" and not isinstance(X, np.ndarray):
        # np.asarray turns rows such as [1.5, "a"] into all-string arrays.
        arr = np.asarray(X, dtype=object)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_columns) with a task column, got "
            f"an array of shape {arr.shape}."
        )
    return arr


def _task_column_values(X, task_column):
    """(X as numpy/sparse/DataFrame, task column index, raw labels)."""
    if _is_dataframe(X):
        index = resolve_task_column(task_column, X.shape[1], columns=X.columns)
        return X, index, X.iloc[:, index].to_numpy()
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {X.shape}.")
        if X.format not in ("csr", "csc"):
            X = X.tocsr()
        index = resolve_task_column(task_column, X.shape[1])
        return X, index, X[:, [index]].toarray().ravel()
    X = _as_2d(X)
    index = resolve_task_column(task_column, X.shape[1])
    return X, index, X[:, index]


def split_task_column(X, task_column):
    """Remove the task column from ``X`` and return it as a label array.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Long-format data: one column holds each row's task label. Sparse inputs
        other than CSR and CSC are converted to CSR.
    task_column : int or str
        Position of the task column (negative counts from the end) or, for a
        DataFrame, its name. Integers are always positions.

    Returns
    -------
    X_features : {ndarray, sparse matrix, DataFrame} of shape \
            (n_samples, n_columns - 1)
        ``X`` without the task column, of the same kind as ``X`` (a list becomes
        a numpy array). Dtypes are not changed.
    tasks : ndarray of shape (n_samples,)
        The task label of every row.
    index : int
        The non-negative position the task column had in ``X``.

    Raises
    ------
    ValueError
        If the task column is not in ``X``, a label is missing (NaN, None, inf),
        or ``X`` has no column besides the task column.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._tasks import split_task_column
    >>> X = np.array([[1.0, 2.0, 0], [3.0, 4.0, 1], [5.0, 6.0, 1]])
    >>> X_features, tasks, index = split_task_column(X, -1)
    >>> X_features
    array([[1., 2.],
           [3., 4.],
           [5., 6.]])
    >>> tasks
    array([0., 1., 1.])
    >>> index
    2
    """
    return _split_task_column(X, task_column, copy=True)


def _split_task_column(X, task_column, *, copy):
    """:func:`split_task_column`; ``copy=False`` allows a view of a numpy ``X``.

    With the task column first or last, the features of a numpy ``X`` are then
    a strided view (no pass over the data): for callers that gather the rows
    into a new array anyway.
    """
    X, index, labels = _task_column_values(X, task_column)
    n_columns = X.shape[1]
    if n_columns < 2:
        raise ValueError(
            "X has only the task column; it needs at least one feature column "
            "besides it."
        )
    labels = _check_task_labels(labels)
    keep = np.delete(np.arange(n_columns), index)
    if _is_dataframe(X):
        X_features = X.iloc[:, keep]
    elif sp.issparse(X):
        X_features = X[:, keep]
    elif not copy and index in (0, n_columns - 1):
        X_features = X[:, 1:] if index == 0 else X[:, :-1]
    else:
        X_features = np.take(X, keep, axis=1)
    return X_features, labels, index


def _is_numeric(dtype):
    return dtype.kind in "biuf"


def stack_tasks(Xs, ys, *, tasks=None, task_column=-1):
    """Stack per-task data (the MALSAR / RMTL layout) into long format.

    Parameters
    ----------
    Xs : sequence of {array-like, sparse matrix, DataFrame}
        ``Xs[t]`` is the (n_t, n_features) data of task ``t``; every task has
        the same features. A MATLAB cell array loaded with ``scipy.io.loadmat``
        (an object array of matrices) is accepted.
    ys : sequence of array-like
        ``ys[t]`` holds the n_t targets of task ``t``, of shape (n_t,) or (n_t, 1).
    tasks : array-like of shape (n_tasks,), default=None
        The task labels (unique ints or strings); ``0 .. n_tasks - 1`` if None.
    task_column : int or str, default=-1
        Where the label column goes in the result: ``-1`` appends it last, ``0``
        puts it first; positions count in the result, which has n_features + 1
        columns. If every ``Xs[t]`` is a DataFrame the result is a DataFrame and
        a str ``task_column`` names the label column (appended last); an int puts
        it at that position under the name ``"task"``.

    Returns
    -------
    X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features + 1)
        The stacked rows of all tasks, in task order, with the label column. A
        float array when the features and labels are numeric (float32 is kept if
        it holds the labels exactly), an object array when a label is a string or
        the features are not numeric; CSR when any ``Xs[t]`` is sparse (numeric
        labels only).
    y : ndarray of shape (n_samples,)
        The stacked targets.

    Raises
    ------
    ValueError
        If the lists differ in length, a task has no rows, ``Xs[t]`` and ``ys[t]``
        disagree on n_t, the tasks have different features, the labels are not
        unique or missing, or string labels are combined with sparse data.

    See Also
    --------
    unstack_tasks : The inverse operation.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._tasks import stack_tasks
    >>> Xs = [np.array([[1.0, 2.0]]), np.array([[3.0, 4.0], [5.0, 6.0]])]
    >>> ys = [np.array([0.5]), np.array([1.5, 2.5])]
    >>> X, y = stack_tasks(Xs, ys)
    >>> X
    array([[1., 2., 0.],
           [3., 4., 1.],
           [5., 6., 1.]])
    >>> y
    array([0.5, 1.5, 2.5])
    >>> X, y = stack_tasks(Xs, ys, tasks=["a", "b"], task_column=0)
    >>> X
    array([['a', 1.0, 2.0],
           ['b', 3.0, 4.0],
           ['b', 5.0, 6.0]], dtype=object)
    """
    Xs = _as_task_list(Xs, "Xs")
    ys = _as_task_list(ys, "ys")
    n_tasks = len(Xs)
    if n_tasks == 0:
        raise ValueError("Xs is empty: stack_tasks needs at least one task.")
    if len(ys) != n_tasks:
        raise ValueError(f"Xs has {n_tasks} tasks but ys has {len(ys)}.")
    labels = _check_stack_labels(tasks, n_tasks)

    all_frames = all(_is_dataframe(X) for X in Xs)
    any_sparse = any(sp.issparse(X) for X in Xs)
    if not all_frames:
        Xs = [
            X.tocsr() if sp.issparse(X) else _as_2d(X, name=f"Xs[{t}]")
            for t, X in enumerate(Xs)
        ]
    for t, X in enumerate(Xs):
        if X.ndim != 2:
            raise ValueError(f"Xs[{t}] must be 2-D, got shape {X.shape}.")
    sizes = [X.shape[0] for X in Xs]
    empty = [labels[t] for t in range(n_tasks) if sizes[t] == 0]
    if empty:
        raise ValueError(f"Task(s) {empty} have no rows.")
    n_features = Xs[0].shape[1]
    for t, X in enumerate(Xs):
        if X.shape[1] != n_features:
            raise ValueError(
                f"Xs[{t}] has {X.shape[1]} features but Xs[0] has {n_features}; "
                "every task needs the same features."
            )
    y = _stack_targets(ys, sizes)
    task_of_row = np.repeat(labels, sizes)

    if all_frames:
        return _stack_frames(Xs, task_of_row, task_column), y
    index = resolve_task_column(task_column, n_features + 1)
    numeric_labels = _is_numeric(labels.dtype)
    if any_sparse:
        if not numeric_labels:
            raise ValueError(
                "String task labels cannot be stored in a sparse matrix; pass "
                "numeric tasks (e.g. tasks=None for 0..n_tasks-1) or dense Xs."
            )
        return _stack_sparse(Xs, task_of_row, index), y

    features = np.concatenate(Xs, axis=0)
    if numeric_labels and _is_numeric(features.dtype):
        dtype = _float_dtype_for(features.dtype, labels)
    else:
        dtype = object
    out = np.empty((features.shape[0], n_features + 1), dtype=dtype)
    out[:, np.delete(np.arange(n_features + 1), index)] = features
    out[:, index] = task_of_row
    return out, y


def _as_task_list(seq, name):
    if isinstance(seq, np.ndarray) and seq.dtype == object:
        return list(seq.ravel())  # a MATLAB cell array from scipy.io.loadmat
    if isinstance(seq, np.ndarray) or _is_dataframe(seq) or sp.issparse(seq):
        raise ValueError(
            f"{name} must be a list with one entry per task, got a single "
            f"{type(seq).__name__}; use [{name[:-1]}] for one task."
        )
    try:
        return list(seq)
    except TypeError as exc:
        raise ValueError(
            f"{name} must be a list with one entry per task, got {type(seq).__name__}."
        ) from exc


def _check_stack_labels(tasks, n_tasks):
    if tasks is None:
        return np.arange(n_tasks)
    labels = np.asarray(tasks)
    if labels.dtype.kind in "US":
        labels = labels.astype(object)
    labels = _check_task_labels(labels, name="tasks")
    if len(labels) != n_tasks:
        raise ValueError(f"tasks has {len(labels)} labels for {n_tasks} tasks.")
    if len(_encode_tasks(labels)[0]) != n_tasks:
        raise ValueError(f"The task labels must be unique, got {labels.tolist()}.")
    return labels


def _stack_targets(ys, sizes):
    parts = []
    for t, (y, n_t) in enumerate(zip(ys, sizes, strict=True)):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(
                f"ys[{t}] must have shape (n_t,) or (n_t, 1), got {y.shape}."
            )
        if len(y) != n_t:
            raise ValueError(
                f"ys[{t}] has {len(y)} targets but Xs[{t}] has {n_t} rows."
            )
        parts.append(y)
    return np.concatenate(parts)


def _float_dtype_for(feature_dtype, labels):
    """float32 if the features are float32 and it holds the labels, else float64."""

    def exact(dtype):
        # Compare after a round trip: comparing ints with floats would promote
        # both to float64 and hide the rounding of labels above 2**53.
        return np.array_equal(labels.astype(dtype).astype(labels.dtype), labels)

    dtype = np.result_type(feature_dtype, np.float32)
    if dtype == np.float32 and not exact(dtype):
        dtype = np.dtype(np.float64)
    if not exact(dtype):
        raise ValueError(
            "The task labels are integers too large to store exactly as floats; "
            "use smaller labels or strings."
        )
    return dtype


def _stack_sparse(Xs, task_of_row, index):
    use_array = any(isinstance(X, sp.sparray) for X in Xs)
    csr = sp.csr_array if use_array else sp.csr_matrix
    blocks = [csr(X) for X in Xs]
    features = sp.vstack(blocks, format="csr")
    dtype = _float_dtype_for(features.dtype, np.unique(task_of_row))
    label_column = csr(task_of_row.astype(dtype).reshape(-1, 1))
    parts = [features[:, :index], label_column, features[:, index:]]
    parts = [part for part in parts if part.shape[1] > 0]
    return sp.hstack(parts, format="csr", dtype=dtype)


def _stack_frames(Xs, task_of_row, task_column):
    import pandas as pd

    columns = Xs[0].columns
    for t, X in enumerate(Xs):
        if not X.columns.equals(columns):
            raise ValueError(
                f"Xs[{t}] has columns {list(X.columns)} but Xs[0] has "
                f"{list(columns)}; every task needs the same columns."
            )
    if isinstance(task_column, numbers.Integral) and not isinstance(task_column, bool):
        name = "task"
        index = resolve_task_column(task_column, len(columns) + 1)
    else:
        name, index = task_column, len(columns)
    if name in columns:
        raise ValueError(
            f"Xs already have a column named {name!r}; pass another task_column name."
        )
    X = pd.concat(Xs, axis=0, ignore_index=True)
    X.insert(index, name, task_of_row)
    return X


def unstack_tasks(X, y=None, *, task_column=-1):
    """Split long-format data into per-task lists (the MALSAR / RMTL layout).

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Long-format data with a task column.
    y : array-like of shape (n_samples,), default=None
        Targets; if None, ``ys`` is None.
    task_column : int or str, default=-1
        Position or (DataFrame) name of the task column.

    Returns
    -------
    tasks : ndarray of shape (n_tasks,)
        The task labels, sorted as by ``np.unique``.
    Xs : list of {ndarray, sparse matrix, DataFrame}
        ``Xs[t]`` holds the rows of task ``tasks[t]`` without the task column, in
        their original order.
    ys : list of ndarray or None
        ``ys[t]`` holds the targets of task ``tasks[t]``.

    See Also
    --------
    stack_tasks : The inverse operation.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._tasks import unstack_tasks
    >>> X = np.array([[1.0, 1], [2.0, 0], [3.0, 1]])
    >>> tasks, Xs, ys = unstack_tasks(X, [10, 20, 30])
    >>> tasks
    array([0., 1.])
    >>> Xs[1]
    array([[1.],
           [3.]])
    >>> ys[1]
    array([10, 30])
    """
    X_features, labels, _ = split_task_column(X, task_column)
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D in long format, got shape {y.shape}.")
        if len(y) != len(labels):
            raise ValueError(f"X has {len(labels)} rows but y has {len(y)}.")
    groups = group_rows(labels)
    tasks = groups.tasks
    rows = [groups.rows(k) for k in range(groups.n_tasks)]
    if _is_dataframe(X_features):
        Xs = [X_features.iloc[r] for r in rows]
    else:
        Xs = [X_features[r] for r in rows]
    ys = None if y is None else [y[r] for r in rows]
    return tasks, Xs, ys

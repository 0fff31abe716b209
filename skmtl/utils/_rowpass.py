"""Chunked passes over the rows of a dense X, in task order, with its checks.

Validation needs three things from a long-format dense ``X``: that it is
finite, its largest absolute value (see ``MAX_ABS_VALUE``) and its rows in
task order. Done apart, these are four passes over a strided view of the
data and, in :func:`skmtl.alpha_max`, a full copy that is only summed. Here
each chunk of rows (a few MB, so it stays in cache) is gathered once, then
reduced while it is in cache: into the task-ordered copy
(:func:`gather_rows`) or straight into per-task weighted sums of the rows
(:func:`task_row_sums`), which is all the gradient at zero needs, or
handed out group of tasks by group (:func:`task_chunks`), which is all the
Gram form needs. No temporary grows with the number of rows: the only large
allocation is the copy itself, made only if a consumer asks for it (see
:class:`skmtl.datafits._blocks.TaskBlocks`).
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["RowStats", "gather_rows", "task_chunks", "task_row_sums"]

_CHUNK_BYTES = 1 << 22  # 4 MB of rows per chunk


def _chunk_rows(n_features):
    return max(1, _CHUNK_BYTES // (8 * max(n_features, 1)))


class RowStats:
    """Whether the rows seen so far are finite, and their largest ``|value|``.

    ``max`` and ``min`` of a chunk propagate NaN and infinities, so two
    reductions without a temporary check finiteness as well.
    """

    def __init__(self):
        self.finite = True
        self.largest = 0.0

    def update(self, chunk):
        if chunk.size == 0:
            return
        hi, lo = float(chunk.max()), float(chunk.min())
        if not (np.isfinite(hi) and np.isfinite(lo)):
            self.finite = False
        elif self.finite:
            self.largest = max(self.largest, hi, -lo)


def _as_records(A):
    """``A`` (2-D) as a column of records, one per row, or None.

    Where a row's values are adjacent in memory (C order, or the features of
    a C-ordered X beside its task column), copying rows as opaque records of
    ``n_features`` values is one block copy each; a float row is copied value
    by value. The same bytes either way.
    """
    A = np.asarray(A)  # a matrix subclass would keep 2-D records
    if A.ndim != 2 or A.shape[1] == 0 or A.strides[1] != A.itemsize:
        return None
    return A.view(np.dtype((np.void, A.shape[1] * A.itemsize)))[:, 0]


def _take_rows(X, rows, a, b, out):
    """``X[rows[a:b]]`` (``X[a:b]`` if ``rows`` is None) into ``out``."""
    if rows is None:
        out[...] = X[a:b]
        return out
    # Fancy indexing, then a copy: np.take(..., axis=0, out=out) on a
    # strided view (the features of a long X) was 30x slower (measured,
    # 500,000 x 50: 3.0 s against 0.09 s; np.take copies a strided source
    # whole). The chunk is a few MB.
    src = _as_records(X) if X.dtype == out.dtype else None
    dst = None if src is None else _as_records(out)
    if dst is None:
        out[...] = X[rows[a:b]]
    else:
        # Rows as records: the random-row gather into task order took half
        # the time (T = 20,000 and 50,000 tasks of 100 rows, d = 50: 0.15 s
        # and 0.41 s of CPU against 0.39 s and 0.79 s).
        dst[...] = src[rows[a:b]]
    return out


def gather_rows(X, rows=None, *, copy=True):
    """The rows ``X[rows]`` as a new C-contiguous array, and their RowStats.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense float64 data, possibly a strided view.
    rows : ndarray of shape (n_samples,), default=None
        A permutation of the rows; None keeps their order.
    copy : bool, default=True
        With ``rows=None`` and ``copy=False``, ``X`` itself is only checked
        (then returned as is).

    Returns
    -------
    Xo : ndarray of shape (n_samples, n_features)
    stats : RowStats
    """
    n, d = X.shape
    stats = RowStats()
    step = _chunk_rows(d)
    if rows is None and not copy:
        for a in range(0, n, step):
            stats.update(X[a : a + step])
        return X, stats
    out = np.empty((n, d))
    for a in range(0, n, step):
        b = min(a + step, n)
        stats.update(_take_rows(X, rows, a, b, out[a:b]))
    return out, stats


def task_row_sums(X, rows, starts, weights):
    """Per task, the weighted sum of its rows: ``sum_i weights[i] X[rows[i]]``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense float64 data, possibly a strided view.
    rows : ndarray of shape (n_samples,) or None
        The rows in task order (None: already in task order).
    starts : ndarray of shape (n_tasks + 1,)
        Offsets of the tasks in ``rows``; every task has a row.
    weights : callable
        ``weights(positions)`` gives the weights of the rows at those
        positions of X (``rows[a:b]``, or a range when ``rows`` is None).

    Returns
    -------
    sums : ndarray of shape (n_tasks, n_features)
    stats : RowStats
        Of ``X`` (every row is read once).
    """
    n, d = X.shape
    sums = np.zeros((len(starts) - 1, d))
    stats = RowStats()
    step = _chunk_rows(d)
    buf = np.empty((min(step, n), d))
    # The column indices of every chunk's summing matrix (int32: scipy keeps
    # them, where it would downcast intp indices in a copy).
    cols = np.arange(min(step, n), dtype=np.int32)
    for a in range(0, n, step):
        b = min(a + step, n)
        chunk = _take_rows(X, rows, a, b, buf[: b - a])
        stats.update(chunk)
        w = weights(np.arange(a, b) if rows is None else rows[a:b])
        # The tasks met in this chunk, and where each begins in it.
        first = int(np.searchsorted(starts, a, side="right")) - 1
        last = int(np.searchsorted(starts, b, side="left"))
        sums[first:last] += _segment_sums(chunk, starts[first : last + 1] - a, w, cols)
    return sums, stats


def task_chunks(X, rows, starts, *, max_rows=None):
    """Consecutive groups of whole tasks, with their rows in task order.

    Without a task-ordered copy of ``X``: each group's rows are gathered
    into one buffer reused from group to group (a view of ``X`` when
    ``rows`` is None and ``X`` is C-contiguous), so a yielded chunk is only
    valid until the next. The chunks are C-contiguous, as the slices of the
    task-ordered copy were: BLAS sums in the same order (a Fortran-ordered X
    gave Grams 3e-15 apart).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or sparse matrix
        Float64 data, possibly a strided view; never written. Sparse rows
        must be in task order (they are yielded as slices).
    rows : ndarray of shape (n_samples,) or None
        The rows in task order (None: already in task order).
    starts : ndarray of shape (n_tasks + 1,)
        Offsets of the tasks in task order.
    max_rows : int, default=None
        Rows per group at most (a task with more rows comes alone, in a
        buffer of its own); default: about 4 MB of rows, at most 65,536.

    Yields
    ------
    t0, t1 : int
        The group's tasks are ``t0 .. t1 - 1``.
    chunk : ndarray of shape (starts[t1] - starts[t0], n_features)
    """
    n, d = X.shape
    if max_rows is None:
        max_rows = min(_chunk_rows(d), 1 << 16)
    max_rows = max(int(max_rows), 1)
    starts = np.asarray(starts)
    T = len(starts) - 1
    buf = None
    t0 = 0
    while t0 < T:
        a = int(starts[t0])
        # The most tasks from t0 whose rows fit; at least one.
        t1 = int(np.searchsorted(starts, a + max_rows, side="right")) - 1
        t1 = min(max(t1, t0 + 1), T)
        b = int(starts[t1])
        if rows is None and (sp.issparse(X) or X.flags.c_contiguous):
            yield t0, t1, X[a:b]
        elif b - a > max_rows:  # one task larger than the buffer
            yield t0, t1, _take_rows(X, rows, a, b, np.empty((b - a, d)))
        else:
            if buf is None:
                buf = np.empty((min(max_rows, n), d))
            yield t0, t1, _take_rows(X, rows, a, b, buf[: b - a])
        t0 = t1


def _segment_sums(chunk, bounds, w, cols):
    """Per segment ``k``, ``sum_i w[i] chunk[i]`` over ``bounds[k] <= i < bounds[k+1]``.

    One sparse product ``S @ chunk``, ``S`` the (segments x rows) matrix with
    the weights of each segment's rows in its row: scipy does the segmented
    sum in C, in row order (within rounding of ``np.add.reduceat`` of the
    weighted rows, e.g. 6e-16 relative: not to the bit, the compiled loop
    may fuse the multiply and the add), with no weighted copy of the chunk
    and no work per segment in Python. The bounds are clipped to the chunk
    (the first and last segments may run past it); ``chunk`` may be dense or
    sparse.
    """
    m = chunk.shape[0]
    indptr = np.clip(bounds, 0, m).astype(np.int32)
    S = sp.csr_matrix(
        (np.asarray(w, dtype=np.float64), cols[:m], indptr),
        shape=(len(indptr) - 1, m),
    )
    out = S @ chunk
    return out.toarray() if sp.issparse(out) else np.asarray(out)

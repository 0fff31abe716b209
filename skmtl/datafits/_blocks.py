"""Per-task data blocks, built eagerly (lists) or lazily (long format).

Long-format validation used to cut the task-ordered rows into one slice per
task for ``X``, ``y`` and the weights (3 T small NumPy views: 150,000 at
T = 50,000) after gathering ``X`` into task order as a full copy, fresh
memory the virtual machine charges system time for. Most consumers need
neither: the Gram form streams the rows once (:meth:`TaskBlocks.task_chunks`)
and the form choice needs only the task sizes. :meth:`TaskBlocks.from_rows`
keeps the validated ``X``, the row order and the task boundaries, and makes
the copy and the lists on first use only, once.
"""

import threading

import numpy as np
import scipy.sparse as sp

from ..utils._rowpass import gather_rows, task_chunks
from ._linalg import centered_gram, weighted_mean_rows

__all__ = ["TaskBlocks", "streamed_gram"]

# One lock for every materialization: the AMTL threading backend reads the
# blocks from its worker threads, which must all see the same lists.
_LOCK = threading.RLock()


class TaskBlocks:
    """Per-task data, already validated (float64, finite, weights >= 0).

    ``Xs[t]`` may be the very same object for every task (shared design).
    ``scales[t]`` divides the task's loss: the sum of its sample weights for
    ``loss_scaling='mean'`` and 1 for ``'sum'``. In long format ``stacked``
    holds the validated rows in task order, of which the ``Xs[t]`` are
    consecutive slices (lets solvers handle all tasks in one pass).

    Parameters
    ----------
    Xs, ys, sample_weights : list
        Per task: its rows, targets and sample weights.
    scales : ndarray of shape (n_tasks,)
    shared : bool, default=False
    stacked : array or None, default=None

    See Also
    --------
    TaskBlocks.from_rows : the lazy constructor used by long-format validation.
    """

    def __init__(self, Xs, ys, sample_weights, scales, shared=False, stacked=None):
        self._Xs, self._ys, self._sws = Xs, ys, sample_weights
        self.scales = scales
        self.shared = shared
        self._stacked = stacked
        self._src = None  # (X, rows, starts, y, sw, copy) while lazy

    @classmethod
    def from_rows(cls, X, rows, starts, y, sw, scales, *, copy=True):
        """Blocks of long-format rows, materialized on first use only.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features) or sparse matrix
            The validated rows, possibly a strided view of the caller's data,
            not necessarily in task order. It is read, never written, and
            must not change while the blocks are lazy. Sparse ``X`` must
            already be in task order (``rows=None``).
        rows : ndarray of shape (n_samples,) or None
            The rows of ``X`` in task order; None when ``X`` already is.
        starts : ndarray of shape (n_tasks + 1,)
            Offsets of the tasks in task order; every task has a row.
        y : ndarray of shape (n_samples,)
            Float64 targets, in task order.
        sw : ndarray of shape (n_samples,) or None
            Sample weights in task order; None for unit weights.
        scales : ndarray of shape (n_tasks,)
        copy : bool, default=True
            With ``rows=None``, whether ``stacked`` must be a copy of ``X``
            (False when ``X`` is already a fresh array nobody else holds).
        """
        if rows is not None and sp.issparse(X):
            raise ValueError("Sparse X must already be in task order (rows=None).")
        blocks = cls(None, None, None, scales, shared=False)
        starts = np.asarray(starts, dtype=np.intp)
        blocks._src = (X, rows, starts, y, sw, copy)
        return blocks

    def materialize(self):
        """Make the task-ordered copy of X now (lazy blocks make it on first
        use), so that the blocks no longer read the caller's X: for blocks
        that outlive the call that validated them. Returns ``self``."""
        _ = self.stacked  # the property makes the copy, once
        return self

    # -- what needs no materialization -----------------------------------------
    @property
    def is_lazy(self):
        """Whether the task-ordered copy of X has not been made yet."""
        return self._src is not None and self._stacked is None

    @property
    def sizes(self):
        """Rows per task (ndarray of int)."""
        if self._src is not None:
            return np.diff(self._src[2])
        return np.array([X.shape[0] for X in self._Xs], dtype=np.intp)

    @property
    def n_tasks(self):
        if self._src is not None:
            return len(self._src[2]) - 1
        return len(self._Xs)

    @property
    def n_features(self):
        if self._src is not None:
            return self._src[0].shape[1]
        return self._Xs[0].shape[1]

    def n_stored(self):
        """Values stored in all tasks' rows: ``nnz`` when sparse, else ``n d``.

        One X is counted once in the shared design.
        """
        if self._src is not None:
            X = self._src[0]
            return int(X.nnz) if sp.issparse(X) else int(X.shape[0] * X.shape[1])
        Xs = self.Xs[:1] if self.shared else self.Xs
        return int(sum(X.nnz if sp.issparse(X) else X.size for X in Xs))

    def is_sparse(self):
        """Whether the rows are sparse matrices (any task's, if eager)."""
        if self._src is not None:
            return sp.issparse(self._src[0])
        return any(sp.issparse(X) for X in self.Xs)

    def task_totals(self):
        """Per task, the sum of its sample weights (ndarray of float)."""
        if self._src is not None and self._sws is None:
            _, _, starts, _, sw, _ = self._src
            if sw is None:
                return np.diff(starts).astype(np.float64)
            return np.array(
                [sw[a:b].sum() for a, b in zip(starts[:-1], starts[1:], strict=True)]
            )
        return np.array([s.sum() for s in self.sample_weights])

    def task_chunks(self, max_rows=None):
        """Consecutive groups of whole tasks of dense blocks, with their rows.

        Yields ``(t0, t1, X)``: the rows of tasks ``t0 .. t1 - 1`` in task
        order. Lazy blocks gather them chunk by chunk into one reused buffer
        (see :func:`skmtl.utils._rowpass.task_chunks`) without the full copy:
        a yielded chunk is valid until the next one. Otherwise, consecutive
        slices of ``stacked``, or one task at a time.
        """
        if self._src is not None:
            X, rows, starts, _, _, _ = self._src
            yield from task_chunks(X, rows, starts, max_rows=max_rows)
            return
        for t, X in enumerate(self._Xs):
            yield t, t + 1, X

    def task_rows(self):
        """``(t, X_t)`` for every task, in order, from :meth:`task_chunks`
        (lazy blocks: views of the chunk, valid until the next chunk)."""
        if self.shared:
            for t in range(self.n_tasks):
                yield t, self.Xs[t]
            return
        sizes = self.sizes
        for t0, t1, X in self.task_chunks():
            yield from _split_chunk(sizes, t0, t1, X)

    # -- materialized on first use -----------------------------------------
    @property
    def stacked(self):
        if self._stacked is None and self._src is not None:
            with _LOCK:
                if self._stacked is None:
                    X, rows, starts, y, sw, copy = self._src
                    if sp.issparse(X):
                        self._stacked = X.copy() if copy else X
                    else:
                        self._stacked = gather_rows(X, rows, copy=copy)[0]
                    # X is no longer read: do not keep it (nor a copy) alive.
                    self._src = (self._stacked, None, starts, y, sw, False)
        return self._stacked

    @stacked.setter
    def stacked(self, value):
        self._stacked = value

    @property
    def Xs(self):
        if self._Xs is None:
            with _LOCK:
                if self._Xs is None:
                    stacked = self.stacked
                    self._Xs = self._cut(stacked)
        return self._Xs

    @Xs.setter
    def Xs(self, value):
        self._Xs = value

    @property
    def ys(self):
        if self._ys is None:
            with _LOCK:
                if self._ys is None:
                    self._ys = self._cut(self._src[3])
        return self._ys

    @ys.setter
    def ys(self, value):
        self._ys = value

    @property
    def sample_weights(self):
        if self._sws is None:
            with _LOCK:
                if self._sws is None:
                    self._sws = self._weights()
        return self._sws

    @sample_weights.setter
    def sample_weights(self, value):
        self._sws = value

    def _cut(self, A):
        """``A``'s consecutive per-task slices (views)."""
        starts = self._src[2].tolist()
        return [A[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]

    def _weights(self):
        sw = self._src[4]
        if sw is not None:
            return self._cut(sw)
        # Unit weights are views of one vector, read-only so that no in-place
        # write can reach every task's weights at once.
        sizes = self.sizes
        ones = np.ones(int(sizes.max(initial=0)))
        ones.flags.writeable = False
        return [ones[:k] for k in sizes.tolist()]

    def __repr__(self):
        state = "lazy" if self.is_lazy else "materialized"
        return (
            f"TaskBlocks(n_tasks={self.n_tasks}, n_features={self.n_features}, "
            f"shared={self.shared}, {state})"
        )


def _split_chunk(sizes, t0, t1, X):
    """``(t, rows of task t)`` for the tasks ``t0 .. t1 - 1`` of a chunk."""
    a = 0
    for t in range(t0, t1):
        b = a + int(sizes[t])
        yield t, X[a:b]
        a = b


def streamed_gram(blocks, ycs, centered):
    """Per task ``xbar_t``, ``H_t``, ``q_t``, ``c_t`` of the squared loss, in
    one pass over dense rows (:meth:`TaskBlocks.task_chunks`).

    ``H_t = (X_t - 1 xbar_t^T)^T S_t (X_t - 1 xbar_t^T) / c_t``, ``q_t = X_t^T
    S_t yc_t / c_t`` and ``c_t = yc_t^T S_t yc_t / c_t`` (``c_t`` the task's
    scale; ``xbar_t`` the weighted row means, zero unless ``centered``). A
    chunk of equal-sized tasks is one batch of BLAS products (a Python loop
    over 50,000 tasks cost more than their arithmetic); other chunks loop
    over their tasks with the expressions of :func:`centered_gram`.

    Returns
    -------
    xbarT : ndarray of shape (n_tasks, n_features)
    H : ndarray of shape (n_tasks, n_features, n_features)
    Q : ndarray of shape (n_features, n_tasks)
    c : ndarray of shape (n_tasks,)
    """
    T, d = blocks.n_tasks, blocks.n_features
    sizes, sws, scales = blocks.sizes, blocks.sample_weights, blocks.scales
    xbarT, QT = np.zeros((T, d)), np.empty((T, d))
    H, c = np.empty((T, d, d)), np.empty(T)
    for t0, t1, X in blocks.task_chunks():
        m, k = t1 - t0, int(sizes[t0])
        if m > 1 and k > 0 and (sizes[t0:t1] == k).all():
            Xr = X.reshape(m, k, d)
            s = np.concatenate(sws[t0:t1]).reshape(m, k)
            sy = s * np.concatenate(ycs[t0:t1]).reshape(m, k)
            Xt = Xr.transpose(0, 2, 1)
            G = np.matmul(Xt, Xr * s[:, :, None])
            if centered:
                total = s.sum(axis=1)
                xb = np.matmul(s[:, None, :], Xr)[:, 0, :] / total[:, None]
                G -= total[:, None, None] * (xb[:, :, None] * xb[:, None, :])
                xbarT[t0:t1] = xb
            scale = scales[t0:t1]
            np.divide(G, scale[:, None, None], out=H[t0:t1])
            QT[t0:t1] = np.matmul(Xt, sy[:, :, None])[:, :, 0] / scale[:, None]
            yc2 = np.concatenate(ycs[t0:t1]).reshape(m, k) ** 2
            c[t0:t1] = np.matmul(s[:, None, :], yc2[:, :, None])[:, 0, 0] / scale
            continue
        for t, Xt in _split_chunk(sizes, t0, t1, X):
            s = sws[t]
            if centered:
                xbarT[t] = weighted_mean_rows(Xt, s)
            H[t] = centered_gram(Xt, s, xbarT[t] if centered else None) / scales[t]
            QT[t] = (Xt.T @ (s * ycs[t])) / scales[t]
            c[t] = s @ (ycs[t] * ycs[t]) / scales[t]
    return xbarT, H, np.ascontiguousarray(QT.T), c

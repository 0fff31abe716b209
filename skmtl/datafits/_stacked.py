"""All tasks' sparse rows as one CSR operator on task-major coefficients.

Row ``i`` of task ``k_i`` meets the coefficient row ``W^T[k_i]`` (length d)
of its own task. Shifting every stored column index ``j`` of row ``i`` to
``k_i d + j`` makes the stacked rows an ``n x (T d)`` CSR matrix ``A`` with

.. math::

    A \\, \\mathrm{vec}(W^T) = [x_i \\cdot w_{k_i}]_i, \\qquad
    A^T u = \\mathrm{vec}([X_t^T u_t]_t),

so the margins of every row and the per-task products ``X_t^T u_t`` are one
sparse mat-vec each, O(nnz) and in C, instead of a Python loop over tasks
(two mat-vecs and a transpose per task) or a gather of ``W[k_i, j]`` per
stored entry. ``A`` shares the data array of the stacked rows; only the
shifted column indices are new (4 or 8 bytes a nonzero).
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["TaskRows", "task_rows"]


class TaskRows:
    """The shifted CSR operator of sparse stacked task rows (see the module).

    Parameters
    ----------
    X : sparse matrix of shape (n, d)
        The rows of all tasks, in task order.
    sizes : array-like of shape (n_tasks,)
        Rows per task (consecutive blocks of ``X``).

    Attributes
    ----------
    codes : ndarray of shape (n,)
        The task of each row.
    starts : ndarray of shape (n_tasks + 1,)
        The first row of each task (and ``n``).
    """

    def __init__(self, X, sizes):
        X = sp.csr_matrix(X)
        sizes = np.asarray(sizes, dtype=np.intp)
        self.T, self.d = sizes.size, X.shape[1]
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.codes = np.repeat(np.arange(self.T), sizes)
        per_row = np.diff(X.indptr)
        idx_type = np.int64 if self.T * self.d >= np.iinfo(np.int32).max else np.int32
        shift = np.repeat(self.codes.astype(idx_type) * idx_type(self.d), per_row)
        indices = X.indices.astype(idx_type) + shift
        self.A = sp.csr_matrix(
            (X.data, indices, X.indptr.astype(idx_type)),
            shape=(X.shape[0], self.T * self.d),
        )
        self._AT = self.A.T  # CSC view: A^T u is one pass, no transpose copy

    def margins(self, WT):
        """``[x_i . WT[k_i]]_i`` for task-major coefficients ``WT`` (T x d)."""
        return self.A @ np.ascontiguousarray(WT).ravel()

    def task_products(self, u):
        """``[X_t^T u_t]_t`` (T x d) for a vector ``u`` over the stacked rows."""
        return (self._AT @ np.asarray(u, dtype=np.float64)).reshape(self.T, self.d)

    def task_sums(self, v):
        """``[sum_{i in t} v_i]_t``."""
        return np.bincount(self.codes, weights=v, minlength=self.T)


def task_rows(blocks):
    """A :class:`TaskRows` for sparse, unshared task blocks; None otherwise.

    Uses the validated stacked rows (long format) when the blocks are their
    consecutive slices, else stacks the blocks once.
    """
    Xs = blocks.Xs
    if blocks.shared or len(Xs) < 2 or not all(sp.issparse(X) for X in Xs):
        return None
    sizes = [X.shape[0] for X in Xs]
    stacked = blocks.stacked
    if stacked is None or not sp.issparse(stacked) or stacked.shape[0] != sum(sizes):
        stacked = sp.vstack([sp.csr_matrix(X) for X in Xs], format="csr")
    return TaskRows(stacked, sizes)

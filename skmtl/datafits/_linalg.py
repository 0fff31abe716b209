"""Linear algebra of the per-task data, sparse-safe and cost-aware.

A task's (weighted, centered, scaled) design is the operator

.. math::

    B_t = D_t (X_t - 1 \\bar x_t^T), \\quad D_t = \\mathrm{diag}(\\sqrt{s / c_t}),

so that its Hessian (squared loss) is ``H_t = B_t^T B_t`` (d x d, the *Gram*
form) and its kernel ``K_t = B_t B_t^T`` (n_t x n_t, the *sample-space* form).
Neither ``B_t`` nor the centered ``X_t`` is ever formed: :class:`RowOperator`
applies them, so a sparse ``X`` stays sparse.  This module also holds

* :func:`max_eig_gram`: the largest eigenvalue of ``H_t`` (a Lipschitz
  constant) exactly in the smaller of the two spaces, or by Lanczos on the
  operator when both are large (never a dense d x d Gram of a wide or sparse
  ``X``);
* :func:`form_costs` and :func:`choose_form`: estimated flops and bytes of the
  Gram, data and sample-space forms of a squared-loss fit;
* :func:`row_margins`: ``x_i . c_{k_i}`` for every row ``i`` with its own
  coefficient row ``k_i``, in O(nnz + n) memory-bounded chunks.
"""

import numpy as np
import scipy.sparse as sp

__all__ = [
    "RowOperator",
    "centered_gram",
    "centered_kernel",
    "choose_form",
    "data_sizes",
    "form_costs",
    "max_eig_gram",
    "row_margins",
]

# Exact eigenvalue problems up to this size; Lanczos on the operator beyond.
_EXACT_MAX = 1500
# Lanczos returns a Ritz value <= lambda_max; the step 1/L must not exceed it.
_LANCZOS_SAFETY = 1.01
# Rows per block of row_margins, and its most values (4 MB) for wide X:
# 8192 x 50 gathered coefficients (3 MB) stay in cache from their gather to
# their use; chunks of 4M values (32 MB) did not.
_MARGIN_BLOCK = 1 << 13
_MARGIN_VALUES = 1 << 19
# Assumed iteration counts of the cost model (ADMM with exact solves is
# nearly independent of the conditioning; first-order methods are not).
ADMM_ITERS = 100
FISTA_ITERS = 2000
# Flops of a symmetric eigendecomposition of size m: about EIGH_FACTOR m^3.
EIGH_FACTOR = 9.0
# Lanczos for a largest eigenvalue: products with the operator it needs (31
# on 0.5 % dense rows, n = 1000, d = 20,000, tol 1e-6), and the weight of
# one flop of theirs against a dense BLAS-3 / LAPACK flop.
LANCZOS_MATVECS = 40
LANCZOS_PENALTY = 4.0


def weighted_mean_rows(X, s):
    """Weighted column means of ``X`` (dense or sparse)."""
    total = s.sum()
    if sp.issparse(X):
        return np.asarray(X.T @ s).ravel() / total
    return (s @ X) / total


def centered_gram(X, s, xbar):
    """``(X - 1 xbar^T)^T S (X - 1 xbar^T)`` (d x d) without densifying X."""
    if sp.issparse(X):
        A = np.asarray((X.T @ X.multiply(s[:, None])).todense())
    else:
        A = X.T @ (X * s[:, None])
    if xbar is not None:
        A -= s.sum() * np.outer(xbar, xbar)
    return A


def centered_kernel(X, s, xbar, scale=1.0):
    """``K = B B^T`` (n x n) for ``B = D (X - 1 xbar^T)``, ``D = sqrt(s / scale)``.

    Sparse ``X`` is multiplied as sparse (``X X^T``) and centered afterwards:
    ``(X - 1 m^T)(X - 1 m^T)^T = X X^T - a 1^T - 1 a^T + (m.m) 1 1^T`` with
    ``a = X m``.
    """
    if sp.issparse(X):
        K = np.asarray((X @ X.T).todense(), dtype=np.float64)
        if xbar is not None:
            a = np.asarray(X @ xbar).ravel()
            K -= a[:, None]
            K -= a[None, :]
            K += float(xbar @ xbar)
    else:
        Xc = X - xbar if xbar is not None else X
        K = Xc @ Xc.T
    dd = np.sqrt(s / scale)
    K *= dd[:, None]
    K *= dd[None, :]
    return K


class RowOperator:
    """``B = D (X - 1 xbar^T)`` with ``D = diag(sqrt(s / scale))``, never formed.

    Optionally augmented with a column for a free intercept
    (``extra_ones``: ``[B, D 1]``). ``matvec`` is ``B v`` (length n) and
    ``rmatvec`` ``B^T u`` (length d, or d + 1 when augmented).
    """

    def __init__(self, X, s, xbar=None, scale=1.0, extra_ones=False):
        self.X = X
        self.xbar = xbar
        self.dd = np.sqrt(np.asarray(s, dtype=np.float64) / scale)
        self.extra_ones = bool(extra_ones)
        n, d = X.shape
        self.shape = (n, d + 1 if extra_ones else d)

    def matvec(self, v):
        v = np.ravel(v)
        w, c = (v[:-1], v[-1]) if self.extra_ones else (v, 0.0)
        u = np.asarray(self.X @ w).ravel()
        shift = (self.xbar @ w if self.xbar is not None else 0.0) - c
        if shift != 0.0:
            u = u - shift
        return self.dd * u

    def rmatvec(self, u):
        du = self.dd * np.ravel(u)
        out = np.asarray(self.X.T @ du).ravel()
        if self.xbar is not None:
            out = out - self.xbar * du.sum()
        return np.append(out, du.sum()) if self.extra_ones else out

    def gram_matvec(self, v):
        """``B^T B v``."""
        return self.rmatvec(self.matvec(v))

    def kernel_matvec(self, u):
        """``B B^T u``."""
        return self.matvec(self.rmatvec(u))


def _dense_max_eig(A):
    return float(np.linalg.eigvalsh(A)[-1]) if A.size else 0.0


def _product_flops(n, d, nnz, small):
    """Flops of ``B B^T`` (``small = n``) or ``B^T B`` (``small = d``) of an
    n x d matrix with ``nnz`` stored entries: ``n d small`` dense; for sparse
    rows, a stored entry of a column meets that column's other entries
    (``nnz / d`` of them on average; ``nnz / n`` per row for ``B^T B``), plus
    the dense result."""
    if nnz >= 0.999 * n * d:
        return float(n) * d * small
    per = nnz / max(d if small == n else n, 1)
    return float(nnz) * per + float(small) * small


def max_eig_costs(n, d, nnz):
    """``(exact, lanczos)``: estimated flops of :func:`max_eig_gram`'s two
    routes on an n x d matrix with ``nnz`` stored entries (``n d`` dense).

    Exact: the Gram or kernel in the smaller space ``m`` and its eigenvalues
    (``4/3 m^3``, the tridiagonal reduction). Lanczos: ``LANCZOS_MATVECS``
    products with the operator (two passes over the data), each counted
    ``LANCZOS_PENALTY`` times (memory-bound sparse passes and Python calls
    against BLAS-3 and LAPACK). Dense data always take the exact route
    (within ``_EXACT_MAX``): there Lanczos was slower and 1 % looser.
    """
    m = min(n, d)
    exact = _product_flops(n, d, nnz, m) + 4.0 / 3.0 * float(m) ** 3
    if nnz >= 0.999 * n * d:  # dense: Lanczos measured 2.5x slower at m = 600
        return exact, np.inf
    lanczos = LANCZOS_MATVECS * LANCZOS_PENALTY * (4.0 * nnz + 4.0 * (n + d))
    return exact, lanczos


def max_eig_gram(X, s, xbar=None, extra_ones=False):
    """Largest eigenvalue of the weighted (centered, optionally augmented) Gram.

    ``lambda_max(B^T B) = lambda_max(B B^T)``: computed exactly in the smaller
    of the two spaces (d or n, both sparse-safe) while it is at most
    ``_EXACT_MAX`` and cheaper than Lanczos by :func:`max_eig_costs` (not on
    wide sparse rows: a 1000 x 1000 kernel's eigenvalues cost ~10x the 30
    products with the operator); otherwise by Lanczos
    (:func:`scipy.sparse.linalg.eigsh`) on the operator, in O(nnz) memory,
    times a 1 % safety margin because a step ``1 / L`` must not exceed the
    true ``1 / lambda_max``.
    """
    n, d = X.shape
    size = d + 1 if extra_ones else d
    nnz = X.nnz if sp.issparse(X) else X.size
    exact, lanczos = max_eig_costs(n, size, nnz)
    if min(n, size) <= _EXACT_MAX and exact <= lanczos:
        if size <= n:
            A = centered_gram(X, s, xbar)
            if extra_ones:
                col = np.asarray(X.T @ s).ravel()
                if xbar is not None:
                    col = col - xbar * s.sum()
                A = np.block([[A, col[:, None]], [col[None, :], np.array([[s.sum()]])]])
            return _dense_max_eig(A)
        K = centered_kernel(X, s, xbar)
        if extra_ones:
            sq = np.sqrt(s)
            K += np.outer(sq, sq)
        return _dense_max_eig(K)
    return lanczos_max_eig(RowOperator(X, s, xbar, extra_ones=extra_ones))


def lanczos_max_eig(op, tol=1e-6):
    """``lambda_max(B^T B)`` of a :class:`RowOperator` by Lanczos, with margin."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    n, size = op.shape
    if n < size:
        dim, mv = n, op.kernel_matvec
    else:
        dim, mv = size, op.gram_matvec
    if dim <= 2:  # eigsh needs k < dim - 1
        E = np.column_stack([mv(e) for e in np.eye(dim)]) if dim else np.zeros((0, 0))
        return _dense_max_eig(0.5 * (E + E.T))
    lin = LinearOperator((dim, dim), matvec=mv, dtype=np.float64)
    v0 = np.random.RandomState(0).uniform(0.5, 1.5, dim)  # deterministic start
    val = eigsh(lin, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    return max(float(val[0]), 0.0) * _LANCZOS_SAFETY


# --------------------------------------------------------------------------- #
# Cost model of the squared-loss forms
# --------------------------------------------------------------------------- #
def _svd_flops(m, n):
    """Flops of a thin SVD of an m x n matrix (LAPACK gesdd): the prox's cost."""
    small, large = min(m, n), max(m, n)
    return 4.0 * large * small**2 + 8.0 * small**3


def form_costs(
    sizes, n_features, nnz, *, shared=False, itemsize=8, per_iteration=False
):
    """Estimated flops and bytes of each form of a squared-loss fit.

    Parameters
    ----------
    sizes : array-like of shape (n_tasks,)
        Rows per task (n_t).
    n_features : int
        d.
    nnz : int
        Stored entries of all task blocks (``n d`` for dense data).
    shared : bool, default=False
        Whether all tasks share one design and one weight vector (one Gram,
        one kernel).
    per_iteration : bool, default=False
        Return ``{form: (setup flops, flops per iteration)}`` instead.

    Returns
    -------
    dict
        ``{form: (flops, bytes)}`` for ``"gram"`` (per-task d x d Hessians and
        their eigendecompositions, then ``4 d^2`` per task and ADMM iteration),
        ``"sample"`` (per-task n_t x n_t kernels and their eigendecompositions,
        then ``6 nnz_t + 4 n_t^2`` per task and iteration) and ``"data"``
        (the per-task Lipschitz constants, then FISTA on the data, ``4 nnz``
        per iteration). Every iteration also pays the prox, a thin SVD of the
        d x T matrix. Bytes are the extra memory beyond the data. The forms'
        iteration counts are assumptions (``ADMM_ITERS``, ``FISTA_ITERS``): ADMM
        with exact solves hardly depends on the conditioning, FISTA does (on
        well-conditioned data it can need as few iterations as ADMM).
    """
    n = np.asarray(sizes, dtype=np.float64)
    T, d = n.size, float(n_features)
    nnz = float(nnz)
    dens = nnz / max(n.sum() * d, 1.0)  # nonzeros per row = dens * d
    n_mats = 1 if shared else T
    n_rows = n[:1] if shared else n
    svt = _svd_flops(d, T)
    nnz_rows = n_rows * dens * d  # stored entries per task
    gram_setup = sum(
        _product_flops(k, d, z, d) for k, z in zip(n_rows, nnz_rows, strict=True)
    )
    gram_setup += n_mats * EIGH_FACTOR * d**3
    gram_iter = 4.0 * T * d * d + svt
    sample_setup = sum(
        _product_flops(k, d, z, k) + EIGH_FACTOR * k**3
        for k, z in zip(n_rows, nnz_rows, strict=True)
    )
    # The sample-space solver pads every task to max_t n_t rows.
    padded = float(n_rows.size * n_rows.max() ** 2)
    sample_iter = 6.0 * nnz + 4.0 * (n.max() ** 2 * (T if not shared else 1.0)) + svt
    # Lipschitz constants: the largest eigenvalue per task, by max_eig_gram's
    # cheaper route.
    data_setup = sum(
        min(max_eig_costs(k, d, z)) for k, z in zip(n_rows, nnz_rows, strict=True)
    )
    data_iter = 4.0 * nnz + svt
    if per_iteration:
        return {
            "gram": (gram_setup, gram_iter),
            "sample": (sample_setup, sample_iter),
            "data": (data_setup, data_iter),
        }
    return {
        "gram": (gram_setup + ADMM_ITERS * gram_iter, 2.0 * n_mats * d * d * itemsize),
        "sample": (sample_setup + ADMM_ITERS * sample_iter, 2.0 * padded * itemsize),
        "data": (data_setup + FISTA_ITERS * data_iter, 4.0 * d * T * itemsize),
    }


def data_sizes(blocks, shared):
    """``(sizes, stored, nnz)`` of task blocks: rows per task, the nonzeros
    held (one X when ``shared``) and those a pass over every task reads."""
    if blocks.is_lazy:  # from the task sizes: no copy of X
        stored = blocks.n_stored()
        return blocks.sizes.tolist(), stored, stored
    sizes = [X.shape[0] for X in blocks.Xs]
    Xs = blocks.Xs[:1] if shared else blocks.Xs
    stored = sum(X.nnz if sp.issparse(X) else X.size for X in Xs)
    return sizes, stored, stored * len(blocks.Xs) if shared else stored


def choose_form(sizes, n_features, nnz, *, shared=False, max_bytes=None):
    """The cheapest form by :func:`form_costs` whose memory fits ``max_bytes``.

    ``max_bytes`` defaults to ``max(2 x data bytes, 64 MB)`` (the data counted
    as ``12 nnz`` bytes, a CSR entry); the data form always fits.
    """
    costs = form_costs(sizes, n_features, nnz, shared=shared)
    if max_bytes is None:
        max_bytes = max(2.0 * 12.0 * nnz, 64.0 * 2**20)
    fits = {k: v for k, v in costs.items() if v[1] <= max_bytes or k == "data"}
    return min(fits, key=lambda k: fits[k][0])


# --------------------------------------------------------------------------- #
# Per-row gathers
# --------------------------------------------------------------------------- #
def row_margins(X, C, rows_model, offsets=None):
    """``out[i] = x_i . C[rows_model[i]]`` for every row, without a per-task loop.

    Dense ``X``: in blocks of ``_MARGIN_BLOCK`` rows (fewer if ``X`` is wide),
    each block's rows of ``C`` are gathered into one reusable buffer and
    dotted row-wise with the block of ``X`` (``einsum``) straight into the
    output: no temporary grows with the number of rows, and the buffer (a few
    MB) stays in cache between its gather and its use. Sparse ``X``: every
    stored entry ``X[i, j]`` is multiplied by ``C[rows_model[i], j]`` and the
    products are summed per row (``bincount``), in blocks of rows: O(nnz + n)
    time, whatever the number of models.
    ``offsets`` (one per model, e.g. intercepts) are added per row.
    """
    C = np.asarray(C, dtype=np.float64)
    model = np.asarray(rows_model, dtype=np.intp)
    n = X.shape[0]
    if sp.issparse(X):
        out = _sparse_row_margins(X.tocsr(), C, model)
        return out if offsets is None else out + np.take(offsets, model)
    X = np.asarray(X)
    out = np.empty(n)
    step = max(1, min(_MARGIN_BLOCK, _MARGIN_VALUES // max(C.shape[1], 1), n))
    buf = np.empty((step, C.shape[1]))
    extra = None if offsets is None else np.empty(step)
    for a in range(0, n, step):
        b = min(a + step, n)
        # mode="clip": the indices are valid, and "raise" would buffer
        # ``out=`` in a new array each time.
        rows = np.take(C, model[a:b], axis=0, out=buf[: b - a], mode="clip")
        np.einsum("ij,ij->i", X[a:b], rows, out=out[a:b])
        if offsets is not None:
            out[a:b] += np.take(offsets, model[a:b], out=extra[: b - a], mode="clip")
    return out


def _sparse_row_margins(X, C, model):
    """:func:`row_margins` of a CSR ``X``, in blocks of about ``_MARGIN_VALUES``
    stored entries: the temporaries (each entry's row, coefficient, product)
    stay small, where for the whole of ``X`` they were four arrays of ``nnz``
    values, fresh pages each call. Each row's products are summed in the
    order of its entries, as one ``bincount`` over all rows did."""
    n = X.shape[0]
    out = np.zeros(n)
    step = max(1, min(n, _MARGIN_VALUES * n // max(X.nnz, 1)))
    for a in range(0, n, step):
        b = min(a + step, n)
        lo, hi = X.indptr[a], X.indptr[b]
        if lo == hi:
            continue
        row_of = np.repeat(np.arange(b - a), np.diff(X.indptr[a : b + 1]))
        prod = X.data[lo:hi] * C[model[a:b][row_of], X.indices[lo:hi]]
        out[a:b] = np.bincount(row_of, weights=prod, minlength=b - a)
    return out

"""The trace-norm proximal map (singular value thresholding) and its helpers.

For ``V = U diag(s) Q^T`` (thin SVD), the proximal map of ``theta * ||.||_*`` is

.. math::

    \\operatorname{prox}_{\\theta \\|\\cdot\\|_*}(V) = U \\operatorname{diag}(
    \\max(s - \\theta, 0)) Q^T .

It is computed here from the eigen-decomposition of the smaller Gram matrix
(``V^T V`` when ``T <= d``, else ``V V^T``), which is several times cheaper than
an SVD, and mapped back without forming ``U``: with ``V^T V = Q diag(s^2) Q^T``,

.. math::

    P = V\\, Q_k \\operatorname{diag}(1 - \\theta / s_k)\\, Q_k^T ,

where ``k`` indexes the singular values above ``theta`` (and symmetrically
``P = U_k diag(1 - theta / s_k) U_k^T V`` from ``V V^T = U diag(s^2) U^T``).

When the Gram route is accurate enough
--------------------------------------
Forming the Gram matrix and ``eigh`` are backward stable: the computed pairs are
exact for ``G + E`` with ``||E|| ~ eps * s_max^2``. Through
``f(lambda) = max(0, 1 - theta / sqrt(lambda))`` that perturbation moves the
component of singular value ``s`` by about ``s * f'(s^2) * ||E||``, which peaks
at ``s ~ theta``; hence ``||P_gram - P_exact|| / s_max ~ c * eps * s_max / theta``
(``c ~ 2`` measured on matrices whose singular values span 1e-12 .. 1, with
clusters next to the threshold). Components whose true singular value is zero
come out with an apparent ``s`` of at most ``sqrt(c' eps) * s_max ~ 1e-7 s_max``.
So the Gram route is used when ``theta >= _GRAM_RTOL * s_max`` with
``_GRAM_RTOL = 1e-5``: the error then stays below about ``1e-10 * s_max`` and
every spurious component is discarded. Below that, the map falls back to
``numpy.linalg.svd``. ``s_max`` itself comes from the Gram (its largest
eigenvalue is accurate to working precision), so the test costs nothing.

Only ``numpy.linalg`` is used: ``scipy.linalg`` factorizations hold the GIL, and
this code runs in the threads of the asynchronous engine.
"""

import operator

import numpy as np

from ._base import Penalty
from ._lowrank import ProxState, lowrank_svt

__all__ = [
    "TraceNorm",
    "TraceNormProx",
    "prox_trace_norm",
    "spectral_norm",
    "trace_norm",
]

# Relative threshold below which the Gram route is not accurate enough (see above).
_GRAM_RTOL = 1e-5
# Inputs whose largest entry lies outside [2**-_SCALE_EXP, 2**_SCALE_EXP] are
# rescaled by a power of two (exact) so that the Gram neither overflows nor underflows.
_SCALE_EXP = 100


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #
def _check_matrix(V, name="V"):
    """Return ``(V as float64, dtype of the result)``; raise ValueError if not 2-D."""
    V = np.asarray(V)
    if V.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_features, n_tasks); got an "
            f"array with {V.ndim} dimension(s) and shape {V.shape}."
        )
    if V.dtype.kind not in "fiub":
        raise ValueError(f"{name} must hold real numbers; got dtype {V.dtype}.")
    out_dtype = V.dtype if V.dtype.kind == "f" else np.dtype(np.float64)
    return V.astype(np.float64, copy=False), out_dtype


def _check_finite(V, name="V"):
    """Return ``max |V|`` (0.0 when empty); raise ValueError on NaN or inf."""
    if V.size == 0:
        return 0.0
    amax = float(np.max(np.abs(V)))
    if not np.isfinite(amax):
        raise ValueError(f"{name} must not contain NaN or infinity.")
    return amax


def _check_threshold(threshold):
    """Return the threshold as a float; raise ValueError unless it is a real >= 0."""
    if np.ndim(threshold) != 0 or isinstance(threshold, (bool, np.bool_, str)):
        raise ValueError(
            f"threshold must be a non-negative real number; got {threshold!r}."
        )
    try:
        th = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(
            f"threshold must be a non-negative real number; got {threshold!r}."
        ) from None
    if not th >= 0:  # also rejects NaN
        raise ValueError(
            f"threshold must be a non-negative real number; got {threshold!r}."
        )
    return th


def _power_of_two_scale(amax):
    """A power of two ``c`` with ``c * amax`` near 1 if ``amax`` is extreme, else 1."""
    if amax == 0.0 or 2.0**-_SCALE_EXP <= amax <= 2.0**_SCALE_EXP:
        return 1.0
    return float(np.ldexp(1.0, -int(np.frexp(amax)[1])))


# --------------------------------------------------------------------------- #
# Kernels on validated float64 arrays
# --------------------------------------------------------------------------- #
def _gram(V, tasks_side):
    """``V^T V`` (tasks side, T x T) or ``V V^T`` (features side, d x d)."""
    return V.T @ V if tasks_side else V @ V.T


def _svt_from_eigh(V, lam, vecs, threshold, tasks_side):
    """SVT of ``V`` from the ascending eigenpairs of its smaller Gram matrix.

    Returns ``(P, s_kept)``. Only the eigenvectors whose singular value exceeds
    the threshold are used, and the left singular vectors are never formed.
    """
    s = np.sqrt(np.maximum(lam, 0.0))
    k = int(np.count_nonzero(s > threshold))  # a suffix: eigh sorts ascending
    if k == 0:
        return np.zeros(V.shape), s[:0]
    n = s.shape[0]
    s_k = s[n - k :]
    factor = 1.0 - threshold / s_k
    Q_k = vecs[:, n - k :]
    if tasks_side:  # Q_k: right singular vectors (T x k)
        P = ((V @ Q_k) * factor) @ Q_k.T
    else:  # Q_k: left singular vectors (d x k)
        P = (Q_k * factor) @ (Q_k.T @ V)
    return P, s_k


def _record_eigh(state, V, lam, vecs, rank, tasks_side, threshold):
    """Keep the top right singular vectors of an exact prox in ``state``.

    As many as the block that :meth:`ProxState.plan` predicts from the
    spectrum (at least ``rank + oversampling``), so a planned low-rank call
    starts from them.
    """
    n = lam.shape[0]
    plan = state.plan(np.sqrt(np.maximum(lam[::-1], 0.0)), threshold, V.shape)
    k = min(max(rank + state.oversampling, plan or 0), n)
    top = vecs[:, n - k :][:, ::-1]
    if not tasks_side:  # left vectors: map to the right ones, x = V^T u / s
        s = np.sqrt(np.maximum(lam[n - k :][::-1], 0.0))
        keep = s > s[0] * 1e-8 if k else s > 0
        top = (V.T @ top[:, keep]) / s[keep]
    state.record_exact(
        V.shape, np.ascontiguousarray(top), rank, "not certified", plan=plan
    )


def _svt_svd(V, threshold):
    """SVT of ``V`` through ``numpy.linalg.svd``; returns ``(P, s_kept)``.

    Singular values at rounding level (below ``numpy.linalg.matrix_rank``'s
    default tolerance) are dropped even when the threshold is smaller.
    """
    U, s, Qt = np.linalg.svd(V, full_matrices=False)
    if s.size == 0:
        return np.zeros(V.shape), s
    cut = max(threshold, s[0] * max(V.shape) * np.finfo(np.float64).eps)
    k = int(np.count_nonzero(s > cut))
    return (U[:, :k] * (s[:k] - threshold)) @ Qt[:k], s[:k]


def _numerical_rank(V):
    """Rank with ``numpy.linalg.matrix_rank``'s default tolerance."""
    if V.size == 0:
        return 0
    s = np.linalg.svd(V, compute_uv=False)
    return int(np.count_nonzero(s > s[0] * max(V.shape) * np.finfo(np.float64).eps))


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #
def trace_norm(W):
    """Trace (nuclear) norm of a matrix: the sum of its singular values.

    .. math::

        \\|W\\|_* = \\sum_i \\sigma_i(W)

    Computed from ``numpy.linalg.svd`` values, so that many tiny singular values
    (of a low-rank ``W``) do not add up the ``sqrt(eps)`` errors a Gram route has.

    Parameters
    ----------
    W : array-like of shape (n_rows, n_cols)
        The matrix, for instance the d x T weights (or ``coef_``, its transpose).

    Returns
    -------
    norm : float
        The trace norm of ``W`` (0.0 for an empty matrix).

    Raises
    ------
    ValueError
        If ``W`` is not 2-D or holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties._trace_norm import trace_norm
    >>> print(round(trace_norm(np.diag([3.0, -1.0, 0.5])), 6))
    4.5
    """
    W, _ = _check_matrix(W, "W")
    _check_finite(W, "W")
    if W.size == 0:
        return 0.0
    return float(np.linalg.svd(W, compute_uv=False).sum())


def spectral_norm(A):
    """Spectral norm of a matrix: its largest singular value.

    .. math::

        \\|A\\|_2 = \\sigma_{\\max}(A) = \\sqrt{\\lambda_{\\max}(A^T A)}

    Computed from ``numpy.linalg.eigvalsh`` of the smaller Gram matrix, which is
    always cheaper than an SVD. It is exact to working precision: the largest
    eigenvalue of a Gram matrix is computed to a relative accuracy of a few
    ``eps`` (the squaring only hurts the small singular values). Inputs with
    extreme magnitudes are rescaled by a power of two first.

    Parameters
    ----------
    A : array-like of shape (n_rows, n_cols)
        The matrix.

    Returns
    -------
    norm : float
        The largest singular value of ``A`` (0.0 for an empty matrix).

    Raises
    ------
    ValueError
        If ``A`` is not 2-D or holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties._trace_norm import spectral_norm
    >>> print(round(spectral_norm(np.array([[3.0, 0.0], [4.0, 0.0]])), 6))
    5.0
    """
    A, _ = _check_matrix(A, "A")
    amax = _check_finite(A, "A")
    if amax == 0.0:
        return 0.0
    scale = _power_of_two_scale(amax)
    if scale != 1.0:
        A = A * scale
    lam = np.linalg.eigvalsh(_gram(A, A.shape[1] <= A.shape[0]))
    return float(np.sqrt(max(lam[-1], 0.0)) / scale)


def prox_trace_norm(V, threshold, *, return_rank=False, state=None):
    """Proximal map of the trace norm: singular value thresholding (SVT).

    .. math::

        \\operatorname{prox}_{\\theta\\|\\cdot\\|_*}(V)
        = \\arg\\min_P \\tfrac12 \\|P - V\\|_F^2 + \\theta \\|P\\|_*
        = U \\operatorname{diag}(\\max(s - \\theta, 0))\\, Q^T

    for the thin SVD ``V = U diag(s) Q^T``. Computed from ``numpy.linalg.eigh``
    of the smaller Gram matrix, keeping only the eigenpairs whose singular value
    exceeds ``theta``; falls back to ``numpy.linalg.svd`` when
    ``theta < 1e-5 * s_max`` (there the Gram route, which squares the condition
    number, would lose accuracy; see the module docstring).

    Parameters
    ----------
    V : array-like of shape (n_features, n_tasks)
        The matrix to threshold. Any real dtype and memory layout; the work is
        done in float64.
    threshold : float
        The threshold ``theta >= 0`` (``step * alpha`` in a proximal gradient).
    return_rank : bool, default=False
        Also return the rank of the result.
    state : ProxState or None, default=None
        Warm-start state from :meth:`TraceNorm.prox_state`, kept by the caller
        across calls. None (the default) computes the exact prox as described
        above. With a state, the certified low-rank route of
        :func:`skmtl.penalties._lowrank.lowrank_svt` is tried first when
        ``min(d, T)`` is large enough; its result is within ``1e-12 * s_max``
        (Frobenius) of the exact prox, and no singular value above the
        threshold is missed except with probability at most ``1e-10``. When it
        is not certified the exact prox is computed, and the state keeps the
        right singular vectors for the next call.

    Returns
    -------
    P : ndarray of shape (n_features, n_tasks)
        The thresholded matrix, a new array with the dtype of ``V`` (float64 for
        integer input). ``threshold == 0`` gives a copy of ``V``;
        ``threshold >= s_max`` gives zeros.
    rank : int
        Only when ``return_rank=True``: the number of singular values of ``V``
        above the threshold (for ``threshold == 0``, the numerical rank of ``V``
        with ``numpy.linalg.matrix_rank``'s default tolerance).

    Raises
    ------
    ValueError
        If ``V`` is not 2-D or holds NaN or infinity, or if ``threshold`` is not
        a non-negative number.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties._trace_norm import prox_trace_norm, trace_norm
    >>> V = np.diag([3.0, 1.0, 0.5])
    >>> P, rank = prox_trace_norm(V, 0.8, return_rank=True)
    >>> rank
    2
    >>> print(np.round(np.diag(P), 6) + 0.0)
    [2.2 0.2 0. ]
    >>> print(round(trace_norm(P), 6))
    2.4
    """
    V64, out_dtype = _check_matrix(V)
    th = _check_threshold(threshold)
    amax = _check_finite(V64)

    if th == 0.0 or V64.size == 0:
        P = np.array(V64, dtype=out_dtype, copy=True)
        return (P, _numerical_rank(V64)) if return_rank else P

    scale = _power_of_two_scale(amax)
    if scale != 1.0:  # exact: powers of two
        V64, th = V64 * scale, th * scale

    lowrank = None
    if state is not None:
        state.n_calls += 1
    if th >= np.linalg.norm(V64):  # ||V||_F >= s_max: everything is thresholded
        P, s_k = np.zeros(V64.shape), ()
        if state is not None:
            state.record_exact(V64.shape, None, 0, "zero")
    else:
        if state is not None:
            lowrank = lowrank_svt(V64, th, state)
        if lowrank is not None:
            P, rank = lowrank
            s_k = range(rank)
        else:
            tasks_side = V64.shape[1] <= V64.shape[0]
            lam, vecs = np.linalg.eigh(_gram(V64, tasks_side))
            s_max = np.sqrt(max(lam[-1], 0.0))
            if th < _GRAM_RTOL * s_max:
                P, s_k = _svt_svd(V64, th)
                if state is not None:
                    state.record_exact(V64.shape, None, len(s_k), "svd")
            else:
                P, s_k = _svt_from_eigh(V64, lam, vecs, th, tasks_side)
                if state is not None:
                    _record_eigh(state, V64, lam, vecs, len(s_k), tasks_side, th)
        if scale != 1.0:
            P /= scale

    P = P.astype(out_dtype, copy=False)
    return (P, len(s_k)) if return_rank else P


# --------------------------------------------------------------------------- #
# Incrementally maintained prox
# --------------------------------------------------------------------------- #
class TraceNormProx:
    """Trace-norm prox of a matrix whose columns change one at a time.

    Maintains ``V`` (d x T), its smaller Gram matrix, and
    ``P = prox_{theta ||.||_*}(V)`` for the asynchronous engine, where each task
    update replaces one column ``v_t``. The Gram is updated in O(dT) when
    ``T <= d`` (``V^T V`` changes in row and column ``t`` only, which are
    recomputed exactly as ``V^T v_t``) and with a rank-two update in O(d^2) when
    ``T > d``:

    .. math::

        V V^T \\leftarrow V V^T + v v^T - o o^T
        = V V^T + \\tfrac12 (a b^T + b a^T), \\quad a = v - o,\\ b = v + o ,

    where ``o`` is the old column. :meth:`refresh` then costs one ``eigh`` of a
    ``min(d, T)`` square matrix plus the map back, instead of an SVD of ``V``.

    Floating-point drift of the rank-two updates is bounded by recomputing the
    Gram exactly from ``V`` at a refresh once ``recompute_every`` columns have
    changed since the last exact Gram, or earlier when the columns shrank a lot
    (the rounding of an update is relative to the size of the Gram at that time,
    so the accumulated Frobenius mass of the Gram over the updates is compared to
    ``recompute_every`` times its current mass). The ``T <= d`` Gram does not
    drift; it is recomputed on the same schedule as a safeguard. The accuracy
    criterion and the SVD fallback are those of :func:`prox_trace_norm`.

    Not thread-safe: the caller serializes calls (the engine's central node).

    Parameters
    ----------
    V : array-like of shape (n_features, n_tasks)
        The initial matrix; copied to float64.
    threshold : float
        The threshold ``theta >= 0``.
    recompute_every : int, default=None
        Number of :meth:`set_column` calls after which the next :meth:`refresh`
        recomputes the Gram exactly from ``V``. None means ``max(T, 50)``, which
        keeps the amortized cost of the recompute at that of the updates.
    state : ProxState, 'auto' or None, default='auto'
        Warm start of the certified low-rank prox
        (:mod:`skmtl.penalties._lowrank`), tried at each :meth:`refresh` before
        the Gram route: after a few column changes the previous right singular
        vectors are nearly invariant, so a refresh costs a few products with
        ``V`` instead of an ``eigh`` of the Gram. 'auto' creates a fresh
        :class:`ProxState` (which declines matrices with ``min(d, T) < 128``,
        so small problems keep the exact route bit for bit); None disables it.

    Attributes
    ----------
    V : ndarray of shape (n_features, n_tasks)
        The maintained matrix (a read-only view; change it with
        :meth:`set_column`).
    P : ndarray of shape (n_features, n_tasks)
        The prox of ``V`` as of the last :meth:`refresh` (read-only).
    rank : int
        The rank of ``P`` (number of singular values above the threshold).
    threshold : float
        The current threshold (change it with :meth:`set_threshold`).
    recompute_every : int
        The resolved recompute period.
    n_updates : int
        Number of :meth:`set_column` calls so far.
    n_refreshes : int
        Number of :meth:`refresh` calls that recomputed ``P``.
    n_gram_recomputes : int
        Number of exact recomputations of the Gram after the initial one.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties._trace_norm import TraceNormProx, prox_trace_norm
    >>> rng = np.random.default_rng(0)
    >>> V = rng.standard_normal((6, 4))
    >>> prox = TraceNormProx(V, threshold=1.0)
    >>> prox.set_column(2, np.ones(6))
    >>> P = prox.refresh()
    >>> V[:, 2] = 1.0
    >>> bool(np.allclose(P, prox_trace_norm(V, 1.0)))
    True
    >>> prox.column(2).shape, prox.n_updates
    ((6,), 1)
    """

    def __init__(self, V, threshold, *, recompute_every=None, state="auto"):
        V64, _ = _check_matrix(V)
        if isinstance(state, str) and state == "auto":
            state = ProxState()
        if state is not None and not isinstance(state, ProxState):
            raise ValueError(
                f"state must be 'auto', None or a ProxState; got {state!r}."
            )
        self.state = state
        _check_finite(V64)
        self._V = np.array(V64, dtype=np.float64, order="F", copy=True)
        self._threshold = _check_threshold(threshold)
        d, T = self._V.shape
        if recompute_every is None:
            recompute_every = max(T, 50)
        else:
            try:
                recompute_every = operator.index(recompute_every)
            except TypeError:
                raise ValueError(
                    "recompute_every must be a positive integer or None; got "
                    f"{recompute_every!r}."
                ) from None
            if recompute_every < 1:
                raise ValueError(
                    "recompute_every must be a positive integer or None; got "
                    f"{recompute_every!r}."
                )
        self.recompute_every = recompute_every
        self._tasks_side = T <= d
        self.n_updates = 0
        self.n_refreshes = 0
        self.n_gram_recomputes = -1  # the initial computation does not count
        self._recompute_gram()
        self.P = None
        self.rank = 0
        self._p_stale = True
        self.refresh()

    # -- state --------------------------------------------------------------- #
    @property
    def V(self):
        """The maintained matrix (read-only view)."""
        view = self._V.view()
        view.flags.writeable = False
        return view

    @property
    def threshold(self):
        """The current threshold."""
        return self._threshold

    def _recompute_gram(self):
        self._dirty = {}  # changed columns not yet in the Gram: t -> old column
        self._gram = _gram(self._V, self._tasks_side)
        self._col_sq = np.einsum("ij,ij->j", self._V, self._V)
        self._total_sq = float(self._col_sq.sum())  # ||V||_F^2
        self._n_since = 0  # set_column calls since the last exact Gram
        self._mass_since = 0.0  # sum over them of ||V||_F^2 at update time
        self._eig = None  # eigh of the Gram; None when the Gram changed
        self.n_gram_recomputes += 1

    def _gram_needs_recompute(self):
        if self._n_since >= self.recompute_every:
            return True
        # Rank-two updates round relative to the Gram's size when they happen:
        # if the Gram used to be much larger than now, its error is too.
        return not self._tasks_side and (
            self._mass_since > self.recompute_every * self._total_sq
        )

    # -- updates ------------------------------------------------------------- #
    def set_column(self, t, v):
        """Replace column ``t`` of ``V`` by ``v`` and update the Gram.

        O(dT) when ``T <= d``, O(d^2) otherwise. ``P`` is not recomputed until
        :meth:`refresh`.

        Parameters
        ----------
        t : int
            Column (task) index, ``0 <= t < T``.
        v : array-like of shape (n_features,)
            The new column.

        Raises
        ------
        IndexError
            If ``t`` is out of range.
        ValueError
            If ``v`` has the wrong shape or holds NaN or infinity.
        """
        d, T = self._V.shape
        t = operator.index(t)
        if not 0 <= t < T:
            raise IndexError(f"column index {t} is out of range for {T} tasks.")
        v = np.asarray(v, dtype=np.float64)
        if v.shape not in ((d,), (d, 1)):
            raise ValueError(
                f"the new column must have shape ({d},); got shape {v.shape}."
            )
        self.set_columns([t], v.reshape(1, d))

    def set_columns(self, cols, rows):
        """Replace the distinct columns ``cols`` of ``V`` by the rows of
        ``rows`` (``len(cols) x d``), as :meth:`set_column` does for one."""
        d, T = self._V.shape
        cols = [operator.index(t) for t in cols]
        rows = np.asarray(rows, dtype=np.float64)
        if rows.shape != (len(cols), d):
            raise ValueError(
                f"the new columns must have shape ({len(cols)}, {d}) as rows; got "
                f"shape {rows.shape}."
            )
        if cols and not 0 <= min(cols) <= max(cols) < T:
            raise IndexError(f"a column index is out of range for {T} tasks.")
        if not np.isfinite(rows).all():
            raise ValueError("the new column must not contain NaN or infinity.")
        new_sq = np.einsum("ij,ij->i", rows, rows).tolist()
        # The Gram is brought up to date lazily, at the next refresh: a batch
        # of k changed columns then costs one block update instead of k small
        # ones (the asynchronous engine applies many writes per refresh).
        dirty, col_sq, V = self._dirty, self._col_sq, self._V
        for t, sq in zip(cols, new_sq, strict=True):
            if t not in dirty:
                dirty[t] = V[:, t].copy()
            if not self._tasks_side:
                self._mass_since += self._total_sq + sq
            self._total_sq += sq - col_sq[t]
            col_sq[t] = sq
        V[:, cols] = rows.T
        self._n_since += len(cols)
        self.n_updates += len(cols)
        self._eig = None
        self._p_stale = True

    def _apply_pending(self):
        """Apply the column changes made since the last refresh to the Gram."""
        if not self._dirty:
            return
        cols = np.fromiter(self._dirty, dtype=np.intp, count=len(self._dirty))
        new = self._V[:, cols]
        if self._tasks_side:
            block = self._V.T @ new  # exact new rows/columns of V^T V
            self._gram[:, cols] = block
            self._gram[cols, :] = block.T
        else:
            old = np.column_stack(list(self._dirty.values()))
            # V V^T + sum_t (v_t v_t^T - o_t o_t^T), in the symmetric form
            # 0.5 (a b^T + b a^T) with a = v - o, b = v + o, per column.
            a, b = new - old, new + old
            self._gram += 0.5 * (a @ b.T + b @ a.T)
        self._dirty.clear()

    def set_threshold(self, threshold):
        """Set the threshold; ``P`` follows at the next :meth:`refresh`.

        A refresh after a threshold change alone reuses the eigen-decomposition.

        Parameters
        ----------
        threshold : float
            The new threshold, ``>= 0``.
        """
        th = _check_threshold(threshold)
        if th != self._threshold:
            self._threshold = th
            self._p_stale = True

    def refresh(self):
        """Recompute ``P = prox(V)`` from the maintained Gram; return ``P``.

        Recomputes the Gram exactly from ``V`` first when due (see the class
        docstring), and falls back to an SVD of ``V`` when the threshold is tiny
        relative to the largest singular value. Cheap when nothing changed.

        Returns
        -------
        P : ndarray of shape (n_features, n_tasks)
            The prox of the current ``V`` (read-only; also stored as ``self.P``).
        """
        if not self._p_stale:
            return self.P
        V, th = self._V, self._threshold
        # The running ||V||_F^2 of set_column can cancel badly; re-sum it exactly.
        self._total_sq = float(self._col_sq.sum())
        if th == 0.0:
            P, rank = V.copy(), _numerical_rank(V)
        elif th * th >= self._total_sq:  # ||V||_F <= theta: everything vanishes
            P, rank = np.zeros(V.shape), 0
        elif (
            self._eig is None
            and self.state is not None
            and (lowrank := lowrank_svt(V, th, self.state)) is not None
        ):
            P, rank = lowrank  # certified; the Gram stays lazily out of date
        else:
            if self._eig is None:
                if self._gram_needs_recompute():
                    self._recompute_gram()
                else:
                    self._apply_pending()
                self._eig = np.linalg.eigh(self._gram)
            lam, vecs = self._eig
            s_max = np.sqrt(max(lam[-1], 0.0))
            if th < _GRAM_RTOL * s_max:
                P, s_k = _svt_svd(V, th)
            else:
                P, s_k = _svt_from_eigh(V, lam, vecs, th, self._tasks_side)
                if self.state is not None and min(V.shape) >= self.state.min_size:
                    _record_eigh(
                        self.state, V, lam, vecs, len(s_k), self._tasks_side, th
                    )
            rank = len(s_k)
        P.flags.writeable = False
        self.P, self.rank = P, rank
        self._p_stale = False
        self.n_refreshes += 1
        return P

    def column(self, t):
        """Column ``t`` of ``P`` as of the last :meth:`refresh` (a copy).

        Parameters
        ----------
        t : int
            Column (task) index.

        Returns
        -------
        p_t : ndarray of shape (n_features,)
        """
        return self.P[:, t].copy()


# --------------------------------------------------------------------------- #
# The penalty object
# --------------------------------------------------------------------------- #
class TraceNorm(Penalty):
    """The trace (nuclear) norm as a :class:`~skmtl.penalties.Penalty`.

    .. math::

        \\Omega(W) = \\|W\\|_* = \\sum_i \\sigma_i(W), \\qquad
        \\Omega^*(G) = \\|G\\|_2 = \\sigma_{\\max}(G) .

    Delegates to :func:`trace_norm`, :func:`prox_trace_norm` (singular value
    thresholding), :func:`spectral_norm` and :class:`TraceNormProx`. It is
    invariant under transposition, so :meth:`transposed` returns itself.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties import TraceNorm
    >>> pen = TraceNorm()
    >>> W = np.diag([3.0, 1.0])
    >>> print(pen.value(W), pen.dual_norm(W))
    4.0 3.0
    >>> print(np.round(np.diag(pen.prox(W, 2.0)), 6) + 0.0)
    [1. 0.]
    """

    name = "trace"

    def value(self, W):
        return trace_norm(W)

    def prox(self, V, threshold, state=None):
        if state is None:
            return prox_trace_norm(V, threshold)
        return prox_trace_norm(V, threshold, state=state)

    def dual_norm(self, G):
        return spectral_norm(G)

    def prox_state(self):
        """A :class:`~skmtl.penalties._lowrank.ProxState` (warm low-rank prox)."""
        return ProxState()

    def incremental_prox(self, V, threshold):
        return TraceNormProx(V, threshold)

    def transposed(self):
        return self

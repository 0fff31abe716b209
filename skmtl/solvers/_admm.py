"""Fast centralized solver for squared-loss trace-norm MTL in Gram form.

The problem is

.. math::

    \\min_W \\; F(W) = \\sum_{t=1}^T \\tfrac12 \\left(w_t^T H_t w_t
        - 2 q_t^T w_t + c_t\\right) + \\alpha \\|W\\|_*

with ``W = [w_1 ... w_T]`` (d x T), ``H_t`` (d x d, positive semi-definite)
either one matrix shared by all tasks or one per task, ``Q = [q_1 ... q_T]``
and constants ``c_t``. For a task with (weighted, centered, scaled) data
``A_t, y_t``: ``H_t = A_t^T A_t``, ``q_t = A_t^T y_t``, ``c_t = y_t^T y_t``,
so that ``F`` is the actual objective value, not a shifted one.

Algorithm
---------
ADMM on the splitting ``W = Z`` (Boyd et al., 2011, sections 3.4 and 4.4)::

    W <- argmin_W f(W) + rho/2 ||W - Z + U||_F^2        (per task, exact)
    Z <- prox_{(alpha/rho) ||.||_*}(r W + (1 - r) Z + U)  (SVT)
    U <- U + r W + (1 - r) Z_old - Z

with over-relaxation ``r = 1.6``. The ``W`` step is a linear solve with
``H_t + rho I`` per task; one eigen-decomposition ``H_t = V_t diag(l_t) V_t^T``
computed up front makes it two batched products and a division for *any*
``rho``, so ``rho`` can adapt freely. It adapts by relative residual balancing
(Wohlberg, 2017): the primal residual ``||W - Z|| / max(||W||, ||Z||)`` and the
dual residual ``||Z - Z_old|| / ||U||`` are kept within a factor of each other.
The exact per-task solves use the full (block-diagonal) Hessian, which is why
the iteration count does not depend on the conditioning of the ``H_t``; on
School with raw uint8 features, ADMM needs tens of iterations where accelerated
proximal gradient needs tens of thousands.

Certificate
-----------
Every check evaluates the primal at ``Z`` (the iterate returned, of low rank)
and a dual value at the ``W`` iterate, and stops when the relative duality gap
``(P - D) / P`` is at most ``tol``. The dual is Fenchel duality in sample space:
``max_theta sum_t (theta_t^T y_t - ||theta_t||^2 / 2)`` subject to
``||[A_t^T theta_t]_t||_2 <= alpha``. With the residuals ``r_t = y_t - A_t w_t``
of any ``W``, its gradient ``G = [H_t w_t - q_t]_t = -[A_t^T r_t]_t`` and
``theta = kappa r``, everything is computable from ``(H, Q, c)``:

.. math::

    S = \\sum_t \\|r_t\\|^2 = \\sum_t (w_t^T H_t w_t - 2 q_t^T w_t + c_t), \\quad
    R = \\sum_t r_t^T y_t = \\sum_t (c_t - q_t^T w_t),

    D(\\kappa) = \\kappa R - \\tfrac{\\kappa^2}{2} S, \\qquad
    0 \\le \\kappa \\le \\alpha / \\|G\\|_2 .

``kappa = min(1, alpha / ||G||_2)`` gives the textbook dual point; the best
feasible scaling ``kappa = clip(R / S, 0, alpha / ||G||_2)`` is used here, which
is never worse. At the optimum ``kappa = 1`` and the gap vanishes; in general
``P - D >= F(W) - F* >= 0`` (valid whenever ``(H, Q, c)`` come from some data,
that is ``q_t`` lies in the range of ``H_t`` and ``c_t >= q_t^T H_t^+ q_t``).

Special cases: ``alpha >= alpha_max = ||Q||_2`` returns ``W = 0`` (exactly
optimal); ``alpha = 0`` is plain least squares per task, solved exactly with the
pseudo-inverse (minimum-norm solution), whose dual value is the closed form
``sum_t (c_t - q_t^T H_t^+ q_t) / 2``.
"""

import numpy as np

from ..penalties._base import make_penalty
from ..utils._blas import SMALL, single_blas_thread
from ._gaps import squared_dual
from ._result import SolverResult

__all__ = [
    "quadratic_duality_gap",
    "quadratic_eigh",
    "solve_quadratic",
    "solve_squared",
]

_TINY = np.finfo(np.float64).tiny
_EPS = np.finfo(np.float64).eps
# Rounding allowance of a duality gap, relative to the size of its terms.
_ROUNDING = 64 * _EPS
# Eigenvalues below this fraction of a task's largest one count as zero (rank).
_RANK_RTOL = 1e3 * _EPS
# Relative threshold below which ||Z||_* is recomputed by SVD instead of being
# read off the SVT identity <Z, M - Z> = theta ||Z||_*.
_NUC_RTOL = 1e-6
# Residual balancing: adapt rho when the ratio of the relative residuals leaves
# [1/b^2, b^2], by the factor sqrt(ratio) clipped to [1/m, m].
_BALANCE = 1.5
_MAX_FACTOR = 10.0
# Small problems run with one BLAS thread (see skmtl.utils._blas).
_SMALL = SMALL
# Drift extrapolation (penalties with a ``support_step``, see _Drift): three
# iterates whose two steps agree to this relative tolerance are a drift; it is
# followed at once when its support change is at least this many iterations
# away, at most this many times per solve.
_DRIFT_RTOL = 1e-2
_DRIFT_MIN_STEP = 5.0
_DRIFT_MAX_JUMPS = 100


def _result(W, history, n_iter, gap, converged, rho):
    """The :class:`SolverResult` of :func:`solve_quadratic` (no intercepts)."""
    converged = bool(converged)
    return SolverResult(
        W,
        None,
        np.asarray(history),
        n_iter,
        float(gap),
        converged,
        "converged" if converged else "max_iter",
        {"rho": rho},
    )


# --------------------------------------------------------------------------- #
# Validation and the eigen-basis of the H_t
# --------------------------------------------------------------------------- #
def _check_problem(H, Q, c):
    """Validate ``(H, Q, c)``; return float64 arrays ``H, Q (d, T), c (T,)``."""
    Q = np.asarray(Q, dtype=np.float64)
    if Q.ndim != 2:
        raise ValueError(
            f"Q must be a 2-D array of shape (n_features, n_tasks); got {Q.shape}."
        )
    d, T = Q.shape
    H = np.asarray(H, dtype=np.float64)
    if H.shape not in ((d, d), (T, d, d)):
        raise ValueError(
            f"H must have shape ({d}, {d}) (shared) or ({T}, {d}, {d}) (one per "
            f"task) for Q of shape {Q.shape}; got {H.shape}."
        )
    if not np.all(np.isfinite(H)):
        raise ValueError("H must not contain NaN or infinity.")
    return (H, *_check_linear(Q, c))


def _check_linear(Q, c):
    """Validate ``Q`` (2-D) and ``c``; return float64 ``Q (d, T), c (T,)``."""
    Q = np.asarray(Q, dtype=np.float64)
    if Q.ndim != 2:
        raise ValueError(
            f"Q must be a 2-D array of shape (n_features, n_tasks); got {Q.shape}."
        )
    T = Q.shape[1]
    c = np.asarray(c, dtype=np.float64)
    if c.ndim == 0:
        c = np.full(T, float(c))
    if c.shape != (T,):
        raise ValueError(f"c must have shape ({T},); got {c.shape}.")
    for name, a in (("Q", Q), ("c", c)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must not contain NaN or infinity.")
    return Q, c


def _check_rho(rho):
    if rho is not None and not (float(rho) > 0 and np.isfinite(float(rho))):
        raise ValueError(f"rho must be a finite number > 0; got {rho!r}.")


def _check_alpha(alpha):
    alpha = float(alpha)
    if not alpha >= 0 or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}.")
    return alpha


class _Eig:
    """``H_t = V_t diag(lam_t) V_t^T`` and the maps to and from its basis.

    Matrices are held task-major, ``X`` of shape (T, d) (row t is ``w_t``);
    ``to_eig(X)[t] = V_t^T x_t`` and ``from_eig`` is its inverse.  ``H`` may be
    None when ``eigh`` is given (a data-fit's ``gram_eig()``, whose ``V``
    took the place of ``H``); ``V`` is used as given, not copied.
    """

    def __init__(self, H, T, eigh=None):
        lam, V = np.linalg.eigh(H) if eigh is None else eigh
        lam = np.maximum(np.asarray(lam, dtype=np.float64), 0.0)
        V = np.asarray(V, dtype=np.float64)
        shape = V.shape if H is None else H.shape
        if lam.shape != shape[:-1] or V.shape != shape:
            raise ValueError(
                "H_eig must be numpy.linalg.eigh(H): eigenvalues of shape "
                f"{shape[:-1]} and eigenvectors of shape {shape}."
            )
        self.shared = V.ndim == 2
        self.V = V
        self.lam = np.broadcast_to(lam, (T, lam.shape[0])) if self.shared else lam
        top = self.lam.max(axis=1, keepdims=True) if lam.size else self.lam
        self.nonzero = self.lam > _RANK_RTOL * top

    def to_eig(self, X, out=None):
        """``V_t^T x_t`` per row; into ``out`` (T x d, C order) when given."""
        if self.shared:
            return np.matmul(X, self.V, out=out)
        if out is None:
            return np.matmul(X[:, None, :], self.V)[:, 0, :]
        np.matmul(X[:, None, :], self.V, out=out[:, None, :])
        return out

    def from_eig(self, Xe, out=None):
        """``V_t x_t`` per row; into ``out`` (T x d, C order) when given."""
        if self.shared:
            return np.matmul(Xe, self.V.T, out=out)
        if out is None:
            return np.matmul(self.V, Xe[:, :, None])[:, :, 0]
        np.matmul(self.V, Xe[:, :, None], out=out[:, :, None])
        return out


def _fit_terms(lam, qe, csum, Xe, scratch=None):
    """``S = sum_t ||r_t||^2`` and ``R = sum_t r_t^T y_t`` from the eigen-basis.

    ``scratch`` (the shape of ``Xe``) takes ``lam * Xe`` instead of a new array.
    """
    qx = float(np.vdot(qe, Xe))
    S = float(np.vdot(np.multiply(lam, Xe, out=scratch), Xe)) - 2.0 * qx + csum
    return S, csum - qx


def _dual_value(S, R, gnorm, alpha):
    """Best dual value over the feasible scalings ``theta = kappa r``."""
    kmax = alpha / gnorm if gnorm > 0 else np.inf
    kappa = R / S if S > 0 else 1.0
    kappa = min(max(kappa, 0.0), kmax)
    if not np.isfinite(kappa):
        kappa = 1.0
    return squared_dual(S, R, kappa)


def _least_squares_dual(eig, qe, c):
    """``sum_t (c_t - q_t^T H_t^+ q_t) / 2``: the optimal value for alpha = 0."""
    nz = eig.nonzero
    inv = np.zeros(eig.lam.shape)
    inv[nz] = 1.0 / eig.lam[nz]
    return 0.5 * (c.sum() - float(np.vdot(qe * inv, qe)))


def _check_consistent(eig, qe, c):
    """Raise unless every ``q_t`` lies in the range of ``H_t`` (up to rounding).

    With data, ``q_t = A_t^T y_t`` does; its component along an eigenvector
    with eigenvalue ``l`` is at most ``sqrt(l c_t)``, so below the rank cut-off
    it is at most ``sqrt(1e3 eps) sqrt(l_max c_t) ~ 5e-7 sqrt(l_max c_t)``.
    Otherwise the problem may be unbounded below and the dual bound is invalid.
    """
    null = np.where(eig.nonzero, 0.0, qe)
    off = np.sqrt(np.einsum("ti,ti->t", null, null))
    norm_q = np.sqrt(np.einsum("ti,ti->t", qe, qe))
    scale = np.maximum(np.sqrt(eig.lam.max(axis=1) * np.maximum(c, 0.0)), norm_q)
    bad = off > 1e-5 * scale
    if np.any(bad):
        t = int(np.flatnonzero(bad)[0])
        raise ValueError(
            "(H, Q, c) do not come from data: q_t is not in the range of H_t for "
            f"task {t}. With H_t = A_t^T A_t and q_t = A_t^T y_t this cannot "
            "happen; otherwise the problem can be unbounded below and the duality "
            "gap is not a certificate."
        )


def _relative(gap, primal, csum):
    """Relative gap ``(P - D) / |P|``, net of the rounding of its terms.

    ``P`` and ``D`` are computed from sums of size about ``csum = sum_t c_t``
    (twice the objective at ``W = 0``), so their difference carries a rounding
    error of a few ``eps * csum`` whatever the BLAS kernel.  That part of the
    gap certifies nothing and is discounted; otherwise an exact interpolating
    fit (``P`` about 0, e.g. ``alpha = 0`` with ``n_t < d``) would read a
    relative gap of order 1 from rounding alone.
    """
    slack = _ROUNDING * (abs(csum) + abs(primal))
    return float(max(gap - slack, 0.0) / max(abs(primal), _TINY))


def quadratic_duality_gap(H, Q, c, W, alpha, penalty=None):
    """Primal value, a dual value and the duality gap at ``W``.

    With ``G = [H_t w_t - q_t]_t`` (the gradient of the data-fit),
    ``S = sum_t (w_t^T H_t w_t - 2 q_t^T w_t + c_t)`` (twice the data-fit) and
    ``R = sum_t (c_t - q_t^T w_t)``:

    .. math::

        P = \\tfrac12 S + \\alpha \\|W\\|_*, \\qquad
        D = \\kappa R - \\tfrac{\\kappa^2}{2} S, \\qquad
        \\kappa = \\operatorname{clip}(R / S, \\, 0, \\, \\alpha / \\|G\\|_2),

    the dual objective (in sample space) at the scaled residuals
    ``theta_t = kappa (y_t - A_t w_t)``, which are dual feasible. This scaling is
    the best one and so at least as tight as ``kappa = min(1, alpha/||G||_2)``,
    which gives ``D = -sum_t [kappa^2/2 (w_t^T H_t w_t - 2 q_t^T w_t + c_t)
    + kappa (q_t^T w_t - c_t)]``. For ``alpha = 0`` the dual optimum is known in
    closed form, ``D = sum_t (c_t - q_t^T H_t^+ q_t) / 2``, and is used.

    Parameters
    ----------
    H : array-like of shape (n_features, n_features) or \
            (n_tasks, n_features, n_features)
        Positive semi-definite ``H_t``, shared by all tasks or one per task.
    Q : array-like of shape (n_features, n_tasks)
        The linear terms ``q_t`` as columns.
    c : array-like of shape (n_tasks,)
        The constants ``c_t``.
    W : array-like of shape (n_features, n_tasks)
        The point at which to evaluate.
    alpha : float
        Regularization strength, ``>= 0``.
    penalty : Penalty or None, default=None
        The penalty ``Omega`` in place of the trace norm (its dual norm in
        place of ``||G||_2``); None means the trace norm.

    Returns
    -------
    primal : float
        ``F(W)``.
    dual : float
        A lower bound on ``min F`` (when ``(H, Q, c)`` come from data).
    gap : float
        ``primal - dual``: ``>= F(W) - min F >= 0`` up to rounding, and 0 at the
        optimum.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.solvers._admm import quadratic_duality_gap
    >>> H, Q, c = np.eye(2), np.array([[3.0, 0.0], [0.0, 1.0]]), np.array([9.0, 1.0])
    >>> P, D, gap = quadratic_duality_gap(H, Q, c, np.diag([2.0, 0.0]), 1.0)
    >>> print(round(P, 10), round(D, 10), round(gap, 10))
    3.0 3.0 0.0
    """
    H, Q, c = _check_problem(H, Q, c)
    alpha = _check_alpha(alpha)
    penalty = make_penalty(penalty)
    W = np.asarray(W, dtype=np.float64)
    if W.shape != Q.shape:
        raise ValueError(f"W must have shape {Q.shape}; got {W.shape}.")
    d, T = Q.shape
    if H.ndim == 2:
        HW = H @ W
    else:
        HW = np.einsum("tij,jt->it", H, W)
    qw = float(np.vdot(Q, W))
    S = float(np.vdot(W, HW)) - 2.0 * qw + c.sum()
    R = c.sum() - qw
    primal = 0.5 * S + alpha * (penalty.value(W) if W.size else 0.0)
    dual = _dual_value(S, R, penalty.dual_norm(HW - Q) if W.size else 0.0, alpha)
    if alpha == 0.0 and W.size:
        eig = _Eig(H, T)
        dual = max(dual, _least_squares_dual(eig, eig.to_eig(Q.T), c))
    return primal, dual, primal - dual


def quadratic_eigh(H):
    """``numpy.linalg.eigh(H)``, for the ``H_eig`` argument of a path of solves.

    For ``d <= 512`` it runs with BLAS limited to one thread: a stack of small
    ``eigh`` calls with a multi-threaded OpenBLAS stalls whenever the other
    cores are busy (measured on School, 139 matrices 28 x 28: 9 ms alone,
    0.1-0.9 s on a loaded 2-core machine).

    Parameters
    ----------
    H : array-like of shape (n_features, n_features) or \
            (n_tasks, n_features, n_features)
        Symmetric matrices.

    Returns
    -------
    eigenvalues, eigenvectors : ndarray
        As returned by :func:`numpy.linalg.eigh`.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.solvers._admm import quadratic_eigh
    >>> lam, V = quadratic_eigh(np.stack([np.diag([2.0, 1.0])] * 3))
    >>> lam.shape, V.shape
    ((3, 2), (3, 2, 2))
    """
    H = np.asarray(H, dtype=np.float64)
    with single_blas_thread(H.shape[-1] <= _SMALL):
        return np.linalg.eigh(H)


# --------------------------------------------------------------------------- #
# The solver
# --------------------------------------------------------------------------- #
def _svt(M, theta, penalty, state=None, scratch=None):
    """Prox of ``theta * penalty`` at ``M`` and the penalty of the result.

    For a norm, ``<Z, M - Z> = theta * Omega(Z)`` at ``Z = prox(M)`` (Moreau),
    so ``Omega(Z)`` (the trace norm after SVT) costs one inner product
    (``M - Z`` written into ``scratch`` when given).
    """
    Z = penalty.prox(M, theta, state=state)
    nuc = float(np.vdot(Z, np.subtract(M, Z, out=scratch))) / theta
    if theta < _NUC_RTOL * np.sqrt(float(np.vdot(M, M))):
        nuc = penalty.value(Z)  # the identity loses digits for a tiny theta
    return Z, nuc


def solve_quadratic(
    H,
    Q,
    c,
    alpha,
    *,
    W0=None,
    tol=1e-6,
    max_iter=10_000,
    rho=None,
    relaxation=1.6,
    check_every=1,
    H_eig=None,
    verbose=0,
    penalty=None,
):
    """Solve trace-norm MTL with a squared loss in Gram form, with a certificate.

    .. math::

        \\min_W \\sum_t \\tfrac12 (w_t^T H_t w_t - 2 q_t^T w_t + c_t)
        + \\alpha \\|W\\|_*

    by ADMM on ``W = Z`` with exact per-task solves (through one
    eigen-decomposition of the ``H_t``), SVT for the trace norm,
    over-relaxation and an adaptive penalty ``rho`` (relative residual
    balancing). It stops when the relative duality gap
    ``(P - D) / max(P, tiny)`` (see :func:`quadratic_duality_gap`) is at most
    ``tol``. ``alpha >= ||Q||_2`` gives ``W = 0`` and ``alpha = 0`` the
    minimum-norm least-squares solution, both without iterating.

    Parameters
    ----------
    H : array-like of shape (n_features, n_features) or \
            (n_tasks, n_features, n_features)
        Positive semi-definite ``H_t`` (``A_t^T A_t``), shared or one per task.
        Rank-deficient matrices are fine.
    Q : array-like of shape (n_features, n_tasks)
        ``q_t = A_t^T y_t`` as columns.
    c : array-like of shape (n_tasks,)
        ``c_t = y_t^T y_t``. The solution does not depend on it, but the
        objective, hence the relative gap, does; it must be at least
        ``q_t^T H_t^+ q_t`` for the dual bound to be valid.
    alpha : float
        Regularization strength, ``>= 0``.
    W0 : array-like of shape (n_features, n_tasks), default=None
        Warm start (the ADMM dual variable starts at ``-grad f(W0) / rho``, so
        an optimal ``W0`` is a fixed point and is certified at once).
    tol : float, default=1e-6
        Target relative duality gap.
    max_iter : int, default=10000
        Maximum number of ADMM iterations.
    rho : float, default=None
        Initial ADMM penalty. Default: ``alpha * max_t ||H_t||_2 / ||Q||_2``.
        Pass the ``rho`` of a previous result along a path.
    relaxation : float, default=1.6
        Over-relaxation factor in ``(0, 2)``.
    check_every : int, default=1
        Evaluate the duality gap every this many iterations.
    H_eig : tuple of ndarrays, default=None
        ``numpy.linalg.eigh(H)`` if already computed, for instance once for a
        whole regularization path with :func:`quadratic_eigh`.
    verbose : int, default=0
        Print progress at every check when ``> 0``.
    penalty : Penalty or None, default=None
        The penalty in place of the trace norm (e.g.
        :class:`~skmtl.penalties.L21`): its prox replaces SVT and its dual norm
        the spectral norm everywhere above. None means the trace norm.

    Returns
    -------
    SolverResult
        ``W`` (for ``0 < alpha < alpha_max`` the last SVT iterate, so its rank
        is exact), ``b=None``, ``objective_history`` (the objective at the
        starting point and after every iteration), ``n_iter`` (0 when the
        start is already certified: ``alpha >= alpha_max`` or ``alpha == 0``),
        ``gap`` (``max(P - D, 0) / max(P, tiny)``), ``converged``
        (``gap <= tol``), ``stop_reason`` and ``info={'rho': rho}``: the
        final ADMM penalty, to pass back as ``rho`` to warm-start a nearby
        problem (a regularization path); NaN when ADMM did not run.

    Raises
    ------
    ValueError
        On malformed input, and when some ``q_t`` is not in the range of
        ``H_t`` (no data give such a triple; the problem can be unbounded).
    FloatingPointError
        If the iterates become non-finite (``H`` not positive semi-definite).

    Notes
    -----
    Measured on School (139 tasks, 28 raw uint8 columns, sum scaling, one
    2-core machine): 33-80 iterations and 20-50 ms (eigen-decomposition
    included) to a certified gap of 1e-6 for alpha in {1, 10, 100, 1000}, where
    FISTA with restart needs about 47,000 iterations (16 s) at alpha = 1.
    Taking the dual value at the ``W`` iterate rather than at ``Z`` certifies in
    2-2.4 times fewer iterations: the gap at ``Z`` only closes once
    ``||grad f(Z)||_2 <= alpha`` holds to high accuracy. Residual balancing
    makes the iteration count nearly independent of the initial ``rho`` (50-95
    iterations over four decades of ``rho``, against 50 to more than 3,000 for a
    fixed ``rho``).

    The problem sizes that fit (``d <= 512``) are solved with BLAS limited to
    one thread (see :func:`skmtl.utils._blas.single_blas_thread`).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.solvers._admm import solve_quadratic
    >>> rng = np.random.RandomState(0)
    >>> A = [rng.standard_normal((20, 5)) for _ in range(4)]
    >>> y = [a @ np.ones(5) + 0.1 * rng.standard_normal(20) for a in A]
    >>> H = np.stack([a.T @ a for a in A])
    >>> Q = np.stack([a.T @ b for a, b in zip(A, y)], axis=1)
    >>> c = np.array([b @ b for b in y])
    >>> res = solve_quadratic(H, Q, c, alpha=5.0, tol=1e-8)
    >>> bool(res.converged), res.gap <= 1e-8, int(np.linalg.matrix_rank(res.W))
    (True, True, 1)
    >>> print(np.round(res.W[:, 0], 2))  # shrunk toward zero from all ones
    [0.97 0.96 0.96 0.97 0.98]
    """
    H, Q, c = _check_problem(H, Q, c)
    alpha = _check_alpha(alpha)
    d, T = Q.shape
    if not 0.0 < relaxation < 2.0:
        raise ValueError(f"relaxation must be in (0, 2); got {relaxation!r}.")
    _check_rho(rho)
    if W0 is not None:
        W0 = _check_start(W0, (d, T))
    with single_blas_thread(d <= _SMALL):
        return _solve(
            H,
            Q,
            c,
            alpha,
            W0,
            tol=float(tol),
            max_iter=int(max_iter),
            rho=rho,
            relaxation=float(relaxation),
            check_every=max(int(check_every), 1),
            H_eig=H_eig,
            verbose=verbose,
            penalty=make_penalty(penalty),
        )


def solve_squared(
    datafit, alpha, *, penalty=None, W0=None, tol=1e-6, max_iter=10_000, verbose=0
):
    """ADMM with exact per-task solves on a squared-loss data-fit, in its form.

    ``datafit.form == "gram"``: :func:`solve_quadratic` on ``(H, Q, c)``
    through :func:`solve_gram` (with ``datafit.gram_eig()``, in ``H``'s buffer);
    ``"sample"``: :func:`~skmtl.solvers._admm_sample.solve_sample` (Woodbury,
    n_t x n_t kernels). Both minimize the same objective with the same
    certificate; the data-fit chose its form by estimated cost
    (:func:`skmtl.datafits._linalg.choose_form`).
    """
    if datafit.form == "sample":
        from ._admm_sample import solve_sample

        if W0 is not None:
            W0 = _check_start(W0, (datafit.n_features, datafit.n_tasks))
        return solve_sample(
            datafit,
            _check_alpha(alpha),
            penalty=make_penalty(penalty),
            W0=W0,
            tol=float(tol),
            max_iter=int(max_iter),
            verbose=verbose,
        )
    return solve_gram(
        datafit,
        alpha,
        penalty=penalty,
        W0=W0,
        tol=tol,
        max_iter=max_iter,
        verbose=verbose,
    )


def solve_gram(
    datafit,
    alpha,
    *,
    penalty=None,
    W0=None,
    rho=None,
    tol=1e-6,
    max_iter=10_000,
    verbose=0,
):
    """:func:`solve_quadratic` on a Gram-form data-fit, without reading its ``H``.

    The eigendecomposition comes from ``datafit.gram_eig()`` (computed once,
    in ``H``'s own buffer: see :mod:`skmtl.datafits._gram_eig`), only when
    ``alpha < alpha_max`` needs it; ``H`` is not read, so it is not rebuilt.
    ``H`` is finite by construction (validated data), so it is not scanned
    either.  ``rho`` warm-starts the ADMM penalty along a path.
    """
    Q, c = _check_linear(datafit.Q, datafit.c)
    alpha = _check_alpha(alpha)
    d, T = Q.shape
    _check_rho(rho)
    if W0 is not None:
        W0 = _check_start(W0, (d, T))
    with single_blas_thread(d <= _SMALL):
        return _solve(
            None,
            Q,
            c,
            alpha,
            W0,
            tol=float(tol),
            max_iter=int(max_iter),
            rho=rho,
            relaxation=1.6,
            check_every=1,
            H_eig=datafit.gram_eig,
            verbose=verbose,
            penalty=make_penalty(penalty),
        )


def _check_start(W0, shape):
    W0 = np.asarray(W0, dtype=np.float64)
    if W0.shape != shape:
        raise ValueError(f"W0 must have shape {shape}; got {W0.shape}.")
    if not np.all(np.isfinite(W0)):
        raise ValueError("W0 must not contain NaN or infinity.")
    return W0


def _solve(
    H,
    Q,
    c,
    alpha,
    W0,
    *,
    tol,
    max_iter,
    rho,
    relaxation,
    check_every,
    H_eig,
    verbose,
    penalty,
):
    """:func:`solve_quadratic` on validated input."""
    d, T = Q.shape
    alpha_max = penalty.dual_norm(Q) if Q.size else 0.0
    if alpha >= alpha_max:  # W = 0 is optimal (the gradient at 0 is -Q)
        return _zero_solution(Q, c, alpha, tol, penalty)
    eig = _Eig(H, T, H_eig() if callable(H_eig) else H_eig)
    qe = eig.to_eig(np.ascontiguousarray(Q.T))
    _check_consistent(eig, qe, c)
    if alpha == 0.0:  # separable least squares, exact minimum-norm solution
        return _least_squares_solution(eig, qe, c, tol)
    lam_max = float(eig.lam.max())
    if rho is None:
        rho = alpha * lam_max / alpha_max if lam_max > 0 else alpha / alpha_max
    Z = np.zeros((T, d)) if W0 is None else np.array(W0.T, order="C")
    space = _GramSpace(eig, qe, float(c.sum()), alpha, penalty, relaxation)
    space.start(Z, float(rho), warm=W0 is not None)
    return run_admm(space, float(rho), tol, max_iter, check_every, verbose)


def _zero_solution(Q, c, alpha, tol, penalty):
    """``W = 0`` for ``alpha >= alpha_max``, with its certificate.

    :func:`quadratic_duality_gap` at ``W = 0``, where ``H W = 0`` whatever
    ``H``: ``S = R = sum_t c_t`` and the gradient is ``-Q``; for
    ``alpha = 0`` (then ``Q = 0``) the least-squares dual is ``sum_t c_t / 2``.
    The same values, without reading ``H`` (see :func:`solve_gram`).
    """
    d, T = Q.shape
    csum = float(c.sum())
    P0 = 0.5 * csum
    dual = _dual_value(csum, csum, penalty.dual_norm(-Q) if Q.size else 0.0, alpha)
    if alpha == 0.0 and Q.size:
        dual = max(dual, 0.5 * csum)
    rel = _relative(P0 - dual, P0, csum)
    nan = float("nan")
    return _result(np.zeros((d, T)), np.array([P0]), 0, rel, rel <= tol, nan)


def _least_squares_solution(eig, qe, c, tol):
    """The minimum-norm least-squares solution (``alpha = 0``), certified."""
    csum = float(c.sum())
    We = np.zeros(qe.shape)
    We[eig.nonzero] = qe[eig.nonzero] / eig.lam[eig.nonzero]
    W = eig.from_eig(We)
    P = 0.5 * _fit_terms(eig.lam, qe, csum, We)[0]
    rel = _relative(P - _least_squares_dual(eig, qe, c), P, csum)
    W = np.ascontiguousarray(W.T)
    return _result(W, np.array([P]), 0, rel, rel <= tol, float("nan"))


class _Buffers:
    """The T x d arrays an ADMM iteration writes into, allocated once.

    At T = 50,000 and d = 50 every array is 20 MB; allocating the ten of them
    at every iteration made fresh pages (2-3 s of system time per GB on this
    VM) each time the allocator had returned them.  ``U0``, ``U1`` alternate
    as the dual ``U``: the new ``U`` is computed in place of ``M = W_r + U``,
    so the previous one stays intact for one more iteration (``_Drift``
    compares two consecutive iterates).
    """

    _NAMES = ("B", "We", "W", "Wre", "den", "scratch", "U0", "U1", "Ze", "Ue")

    def __init__(self, shape):
        for name in self._NAMES:
            setattr(self, name, np.empty(shape))

    def fresh_u(self, U):
        """The one of ``U0``, ``U1`` that is not ``U``."""
        return self.U1 if U is self.U0 else self.U0


class _GramSpace:
    """ADMM iterates with exact per-task solves in the eigen-basis of the H_t.

    Task-major iterates (T x d): ``Z`` (the SVT iterate), ``U`` (scaled dual),
    and their images ``Ze``, ``Ue`` in the eigen-basis, so that an iteration
    needs two batched products with the ``V_t``, not three.  Every array but
    ``Z`` (the prox makes it) is written into preallocated :class:`_Buffers`,
    with the same operations in the same order as with new arrays: the iterates
    are bit-identical.  ``Z`` and ``U`` of an iteration stay valid through the
    next one only.
    """

    def __init__(self, eig, qe, csum, alpha, penalty, relaxation):
        self.eig, self.qe, self.csum = eig, qe, csum
        self.lam = eig.lam
        self.alpha, self.relaxation = alpha, relaxation
        # The iterates are task-major (T x d): the penalty is applied to W^T.
        self.penalty = penalty
        self.pen = penalty.transposed()
        self.prox_state = self.pen.prox_state()
        self.buf = _Buffers(qe.shape)

    def start(self, Z, rho, warm):
        """Set ``Z`` and ``U = -grad f(Z) / rho``; return ``(P, D)`` at the start."""
        self.Z, self.Ze = Z, self.eig.to_eig(Z)
        self.Ue = (self.qe - self.lam * self.Ze) / rho
        self.U = self.eig.from_eig(self.Ue)
        S, R = _fit_terms(self.lam, self.qe, self.csum, self.Ze)
        P = 0.5 * S + self.alpha * (self.pen.value(Z) if warm else 0.0)
        self.P0, self.D0 = (
            P,
            _dual_value(S, R, rho * self.pen.dual_norm(self.U), self.alpha),
        )

    def iterate(self, rho):
        """One over-relaxed ADMM iteration; return the objective at ``Z``."""
        r, Z, Ze, U, Ue = self.relaxation, self.Z, self.Ze, self.U, self.Ue
        buf, tmp = self.buf, self.buf.scratch
        # W step: (H_t + rho I) w_t = q_t + rho (z_t - u_t), in the eigen-basis.
        self.B = np.subtract(Z, U, out=buf.B)
        We = np.subtract(Ze, Ue, out=buf.We)
        We *= rho
        np.add(self.qe, We, out=We)
        We /= np.add(self.lam, rho, out=buf.den)
        W = self.eig.from_eig(We, out=buf.W)
        M = buf.fresh_u(U)  # M = r W + (1 - r) Z + U, then U in its place
        if r != 1.0:
            np.multiply(W, r, out=M)
            M += np.multiply(Z, 1.0 - r, out=tmp)
            Wre = np.multiply(We, r, out=buf.Wre)
            Wre += np.multiply(Ze, 1.0 - r, out=tmp)
        else:
            M[...] = W
            Wre = We
        M += U
        self.Z_old = Z
        self.Z, nuc = _svt(M, self.alpha / rho, self.pen, self.prox_state, tmp)
        self.U = np.subtract(M, self.Z, out=M)
        self.Ze = self.eig.to_eig(self.Z, out=buf.Ze)  # Ze was last read above
        self.Ue = np.add(Wre, Ue, out=buf.Ue)
        self.Ue -= self.Ze
        self.W, self.We = W, We
        S, _ = _fit_terms(self.lam, self.qe, self.csum, self.Ze, tmp)
        return 0.5 * S + self.alpha * nuc

    def dual(self, rho):
        """Dual value at the ``W`` iterate, whose gradient ``rho (b_t - w_t)`` is
        ``-rho U`` up to ``Z - Z_old``, so nearly dual feasible already."""
        tmp = self.buf.scratch
        Sw, Rw = _fit_terms(self.lam, self.qe, self.csum, self.We, tmp)
        gw = rho * self.pen.dual_norm(np.subtract(self.B, self.W, out=tmp))
        return _dual_value(Sw, Rw, gw, self.alpha)

    def rescale(self, f):
        self.U /= f
        self.Ue /= f

    def move(self, Z, U):
        """Continue the iteration from ``(Z, U)`` (see :class:`_Drift`)."""
        self.Z, self.U = Z, U
        self.Ze, self.Ue = self.eig.to_eig(Z), self.eig.to_eig(U)

    def solution(self):
        return np.ascontiguousarray(self.Z.T)


class _Drift:
    """Follow a constant-speed drift of ADMM to where the support changes.

    With the l2,1 norm and two nearly collinear features (Parkinson's
    standardized: ``Jitter:DDP = 3 Jitter:RAP`` and ``Shimmer:DDA = 3
    Shimmer:APQ3`` up to the rounding of the data), the objective is almost
    flat along the exchange of weight between their rows: ADMM moves along it
    by the same small step ``(dZ, dU)`` at every iteration (the step is the
    tiny slope over ``rho``) until one row reaches zero, and only then
    certifies (8,104 iterations, of which 8,000 in two such drifts; a fixed
    ``rho`` does no better than 524).  When the last two steps agree to
    ``_DRIFT_RTOL`` the iterate jumps along the step to the first row that
    reaches zero (``penalty.support_step``), if that is at least
    ``_DRIFT_MIN_STEP`` iterations away and the jump is no longer than ``Z``
    (there: 44 iterations, two jumps).  The objective at the jump may be a
    little larger than at ``Z`` (the slow rotation of the other rows is
    extrapolated too), so it is not required to decrease: ADMM converges from
    any ``(Z, U)``, and at most ``_DRIFT_MAX_JUMPS`` jumps keep the guarantee.
    Penalties without ``support_step`` (the trace norm) never jump.
    """

    def __init__(self, penalty):
        self.support_step = penalty.support_step
        self.n_jumps = 0
        self.reset()

    @classmethod
    def of(cls, penalty):
        """A drift follower for ``penalty``, or None when it has no support step."""
        return cls(penalty) if hasattr(penalty, "support_step") else None

    def reset(self):
        """Forget the past steps (``rho`` changed, or the iterate jumped)."""
        self.prev, self.step = None, None

    def __call__(self, space):
        """After an iteration at an unchanged ``rho``; True if it jumped."""
        # Valid through the next iteration (new arrays, or buffers that
        # alternate: see _Buffers).
        Z, U = space.Z, space.U
        prev, last = self.prev, self.step
        self.prev = (Z, U)
        if prev is None:
            return False
        dZ, dU = Z - prev[0], U - prev[1]
        self.step = (dZ, dU)
        if last is None or self.n_jumps >= _DRIFT_MAX_JUMPS:
            return False
        size = float(np.linalg.norm(dZ))
        if not size > 0 or np.linalg.norm(dZ - last[0]) > _DRIFT_RTOL * size:
            return False
        if np.linalg.norm(dU - last[1]) > _DRIFT_RTOL * max(size, np.linalg.norm(dU)):
            return False
        s = self.support_step(Z.T, dZ.T)  # iterates are task-major
        if not _DRIFT_MIN_STEP <= s <= np.linalg.norm(Z) / size:
            return False
        space.move(Z + s * dZ, U + s * dU)
        self.n_jumps += 1
        self.reset()
        return True


def _balance_factor(W, Z, Z_old, U, scratch=None):
    """Relative residual balancing: the factor of rho (1.0: keep it).

    ``scratch`` (the shape of ``W``) takes the differences when given.
    """
    scale_p = max(np.linalg.norm(W), np.linalg.norm(Z))
    scale_d = np.linalg.norm(U)
    if scale_p > 0 and scale_d > 0:
        r_p = np.linalg.norm(np.subtract(W, Z, out=scratch)) / scale_p
        r_d = np.linalg.norm(np.subtract(Z, Z_old, out=scratch)) / scale_d
        ratio = r_p / r_d if r_d > 0 else np.inf
        if ratio > _BALANCE**2 or ratio < _BALANCE**-2:
            return min(max(np.sqrt(ratio), 1.0 / _MAX_FACTOR), _MAX_FACTOR)
    return 1.0


def run_admm(space, rho, tol, max_iter, check_every, verbose):
    """The ADMM loop shared by the Gram and sample-space forms.

    ``space`` holds the iterates (see :class:`_GramSpace`), already started.
    The gap is checked every ``check_every`` iterations; ``rho`` adapts by
    residual balancing while ``it < 1000`` and for at most 200 changes, so
    that it is eventually constant.
    """
    P, D_best, csum = space.P0, space.D0, space.csum
    gap = _relative(P - D_best, P, csum)
    history = [P]
    if verbose > 0:
        print(f"[admm] iter      0  objective {P:.10g}  gap {gap:.3e}  rho {rho:.3g}")
    converged = gap <= tol
    it = n_adapt = 0
    drift = _Drift.of(space.penalty)
    while not converged and it < max_iter:
        it += 1
        P = space.iterate(rho)
        history.append(P)
        if it % check_every == 0 or it == max_iter:
            D_best = max(D_best, space.dual(rho))
            gap = _relative(P - D_best, P, csum)
            if verbose > 0:
                print(
                    f"[admm] iter {it:6d}  objective {P:.10g}  gap {gap:.3e}  "
                    f"rho {rho:.3g}"
                )
            if gap <= tol:
                converged = True
                break
        if it < 1000 and n_adapt < 200:
            tmp = space.buf.scratch if hasattr(space, "buf") else None
            f = _balance_factor(space.W, space.Z, space.Z_old, space.U, tmp)
            if f != 1.0:
                rho *= f
                space.rescale(f)
                n_adapt += 1
                if drift is not None:
                    drift.reset()
                continue
        if drift is not None and drift(space) and verbose > 0:
            print(f"[admm] iter {it:6d}  jumped along a drift")
    Z = space.solution()
    if not np.all(np.isfinite(Z)):
        raise FloatingPointError(
            "The solver produced non-finite coefficients; check that H is positive "
            "semi-definite and that (H, Q) come from the same data."
        )
    history = np.asarray(history)
    return _result(Z, history, it, float(gap), bool(converged), float(rho))

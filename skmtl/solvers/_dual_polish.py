"""A second-order accurate dual point for the trace-norm logistic certificate.

The certificate of :func:`skmtl.solvers._fista.fista_logistic` takes the
probabilities ``p`` of an iterate (``u = -sw y p``, ``G(p) = [X_t^T u_t]_t``,
task-major ``T x d``) and scales them by ``k = alpha / ||G(p)||_2`` to
feasibility. At the optimum the ``r`` largest singular values of ``G(p*)`` all
equal ``alpha`` (``r`` the rank of ``W*``); near it they are spread by
``O(eps)`` around ``alpha``, and scaling the largest down to ``alpha`` pulls
the others below it, which costs ``sum_k sigma_k(W) (s_1 - s_k)``: a
first-order loss of dual value (the gap is ``O(eps)`` while the primal is
``O(eps^2)`` from its optimum).

The polish corrects ``p`` by the smallest ``delta`` (in the metric of the
dual's curvature, ``sum sw delta^2 / (p (1 - p))``) that puts all ``r`` top
singular values at ``alpha`` to first order: with ``G = E diag(s) E^T Q`` on
its top ``r`` directions (``E1`` columns of the eigenvectors of
``G G^T``, ``Q1 = diag(1 / s1) E1^T G`` the right singular vectors), the
linear conditions are

.. math::

    \\mathrm{sym}(E_1^T G(\\delta) Q_1^T) = \\alpha I - \\mathrm{diag}(s_1),
    \\qquad \\sum_{i \\in t} sw_i y_i \\delta_i = 0 \\text{ (free intercepts)} .

Then ``(G + G(delta))`` restricted to those directions is ``(alpha I + A) Q1``
plus a part orthogonal to ``Q1`` of size ``O(eps)``, with ``A``
antisymmetric: its singular values are ``alpha + O(eps^2)``, and the first
order change of the dual value, ``-<G(delta), W>``, is exactly what a
feasible point keeps at the optimum (Lagrange: the constraint is active in all
``r`` directions). The remaining scaling loses ``O(eps^2)``.

The conditions involve ``Z = [X_t Q_1^T]_t`` (``n x r``, one product with
``X`` of ``r`` columns), per-task ``(r + 1) x (r + 1)`` Grams of
``[Z_t, 1]``, and an ``r (r + 1) / 2`` symmetric linear system. The corrected
point is then checked exactly: ``G`` recomputed from it (one product
``X^T u``), its spectral norm from the ``T x T`` Gram, and the scaling applied
(:func:`polished_dual` returns the dual value of a feasible point, never a
model's).

Measured on sparse wide data (d = 20,000, 0.5 % dense, T = 20 tasks of 1,000
rows, 0.1 ``alpha_max``, ``W*`` of full rank): at the iterate where the scaled
point certifies a relative gap of 2.6e-4, the polished one certifies 8.3e-7.
"""

import numpy as np

from ..datafits._logistic_rows import _bernoulli_negentropy
from ..penalties._trace_norm import TraceNorm
from ..utils._blas import SMALL
from ._gaps import dual_scaling

__all__ = ["PolishSchedule", "polish_rank", "polished_dual"]

# The first try of the polish is at a scaled bound of FIRST sqrt(tol) (the
# polished gap is about c bound^2, c from 4 to 300 measured). Measured on 21
# fits (7 sparse wide problems, tol 1e-4, 1e-6, 1e-8): FIRST = 1: 1509
# iterations and 48 tries in all, 0.5: 1503 and 47, 0.25: 1492 and 36,
# 0.15: 1533 and 27 (a try costs about 2-3 steps).
FIRST = 0.25
# The gap bound is evaluated every step below this multiple of the polish's
# trigger (a square root of the tolerance: the _BOUND_FAR of _fista would
# evaluate it every step from 10 sqrt(tol), 1.4 ms a step at T = 100).
FAR = 2.0
# The symmetric system has r (r + 1) / 2 unknowns and its matrix costs T r^4:
# beyond this rank the polish is not tried.
MAX_RANK = 32


def polish_rank(s, alpha, s_w):
    """How many top singular directions of ``G`` (values ``s``, ascending)
    to correct: the rank of ``W`` (singular values ``s_w``), and all that
    exceed ``alpha``.

    Only ``W``'s directions carry a first-order term of the gap
    (``sum_k sigma_k(W) (alpha - s_k)``, ``W`` and ``G`` nearly aligned);
    a direction above ``alpha`` must come down to it, at second-order cost
    (``G`` moves orthogonally to ``W``), whereas pushing a direction that is
    inactive at the optimum up to ``alpha`` would cost a constant amount.
    """
    above = int(np.count_nonzero(s > alpha))
    rank_w = 0
    if s_w.size and s_w.max() > 0:
        rank_w = int(np.count_nonzero(s_w > 1e-7 * s_w.max()))
    return min(max(above, rank_w), s.size)


def _row_products(rows, Q1T):
    """``Z = [X_t Q1^T]_t``, all tasks' rows concatenated, shape ``(n, r)``."""
    Xs = rows.blocks.Xs
    if rows.shared:
        XQ = np.asarray(Xs[0] @ Q1T)
        return np.tile(XQ, (rows.T, 1))
    return np.vstack([np.asarray(X @ Q1T) for X in Xs])


def _task_schur(rows, Z, om_inv, free):
    """Per task, ``B_t = Z_t^T O_t Z_t`` (``O_t = diag(om_inv)``), with the
    intercept's direction eliminated when intercepts are free (the Schur
    complement of ``[Z_t, 1]``'s Gram); and the row ``h_t / gamma_t`` that
    gives the intercept multiplier."""
    T, r = rows.T, Z.shape[1]
    B = np.empty((T, r, r))
    hg = np.zeros((T, r))
    for t in range(T):
        sl = slice(rows.offsets[t], rows.offsets[t + 1])
        Zt, w = Z[sl], om_inv[sl]
        Bt = Zt.T @ (w[:, None] * Zt)
        if free:
            h, gam = Zt.T @ w, float(w.sum())
            if gam > 0:
                hg[t] = h / gam
                Bt -= np.outer(h, hg[t])
        B[t] = Bt
    return B, hg


def _solve_multipliers(B, E1, target):
    """The symmetric ``Lambda`` with ``sym(sum_t e_t e_t^T Lambda B_t) =
    target`` (``e_t`` the rows of ``E1``), or None if the system is singular.

    The operator is self-adjoint and positive semidefinite (its quadratic
    form is the metric of the correction), so the system has a solution when
    the map from ``Lambda`` to the per-task multipliers is injective.
    """
    T, r = E1.shape
    PP = np.einsum("ta,tc->tac", E1, E1).reshape(T, r * r)
    K = (PP.T @ B.reshape(T, r * r)).reshape(r, r, r, r)  # [a, c, d, b]
    K = K.transpose(0, 3, 1, 2)  # [a, b, c, d]: V[a, b] = K[a, b] . Lambda
    S = 0.5 * (K + K.transpose(1, 0, 2, 3))
    iu, ju = np.triu_indices(r)
    A = S[iu, ju]  # (m, r, r): the equations of the upper triangle
    A = A[:, iu, ju] + np.where(iu != ju, 1.0, 0.0) * A[:, ju, iu]
    try:
        lam = np.linalg.solve(A, target[iu, ju])
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(lam)):
        return None
    L = np.zeros((r, r))
    L[iu, ju] = lam
    L[ju, iu] = lam
    return L


def _correction(lc, alpha, GT, p, r, s, E):
    """The first-order correction ``delta`` of ``p`` (see the module), or None.

    ``s`` and ``E``: the singular values of ``GT`` (ascending) and the
    eigenvectors of ``GT GT^T``.
    """
    rows = lc.rows
    E1, s1 = E[:, -r:], s[-r:]
    if not s1[0] > 0:
        return None
    Q1T = np.ascontiguousarray(((E1 / s1).T @ GT).T)  # d x r, orthonormal columns
    Z = _row_products(rows, Q1T)
    sw, y = rows.sw, rows.y
    om_inv = sw * p * (1.0 - p)  # the inverse curvature of the dual, per row
    B, hg = _task_schur(rows, Z, om_inv, lc.free)
    L = _solve_multipliers(B, E1, np.diag(alpha - s1))
    if L is None:
        return None
    C = E1 @ L  # row t: the multipliers c_t = Lambda e_t of task t
    beta = -np.einsum("tr,tr->t", hg, C)
    du = om_inv * (np.einsum("ir,ir->i", Z, C[rows.task]) + beta[rows.task])
    safe = np.where(sw > 0, sw, 1.0)
    return np.where(sw > 0, -du * y / safe, 0.0)


def polished_dual(lc, alpha, GT, p, s_w):
    """Dual value at the polished, scaled point of ``p``; ``-inf`` if the
    polish does not apply.

    ``lc`` is the :class:`~skmtl.solvers._fista._LocalCurvature` of the
    data-fit, ``GT = G(p)`` task-major, ``s_w`` the singular values of the
    iterate ``W``. The value returned is that of an exactly feasible point:
    ``G`` of the corrected probabilities is recomputed (one product), its
    spectral norm taken from its ``T x T`` Gram, and the point scaled by
    ``alpha`` over it.
    """
    rows = lc.rows
    if not np.all(np.abs(rows.y) == 1.0):
        return -np.inf
    lam, E = np.linalg.eigh(GT @ GT.T)
    s = np.sqrt(np.maximum(lam, 0.0))
    r = polish_rank(s, alpha, s_w)
    if r <= 1 or r > MAX_RANK:  # with one direction, the scaled point is on
        return -np.inf  # the active constraint already: second order
    delta = _correction(lc, alpha, GT, p, r, s, E)
    if delta is None or not np.all(np.isfinite(delta)):
        return -np.inf
    q = p + _step_inside(p, delta) * delta
    np.clip(q, 0.0, 1.0, out=q)
    if lc.free:
        q = _balance(rows, q)
        if q is None:
            return -np.inf
    Gq = lc.gradient(-rows.sw * rows.y * q)
    norm = float(np.sqrt(max(np.linalg.eigvalsh(Gq @ Gq.T)[-1], 0.0)))
    if not np.isfinite(norm):
        return -np.inf
    return -float(rows.sw @ _bernoulli_negentropy(dual_scaling(norm, alpha) * q))


def _balance(rows, q):
    """``q`` shifted per task so that ``sum_{i in t} sw_i y_i q_i = 0``, or None.

    With free intercepts that is a constraint of the dual; the probabilities
    meet it only as well as the intercepts' Newton solve converged (to about
    1e-13 of ``sw_sum``). Weak duality then holds only up to
    ``sum_t b_t* r_t`` (``r_t`` the residual of task ``t``), which is below
    the scaled point's first-order loss but not below the polished point's
    second-order one: a task with a large intercept made the polished value
    exceed the optimum by 1e-13 (relative) and the gap read 0 at
    ``tol = 1e-12``. The shift ``q + eta_t y q (1 - q)`` cancels ``r_t`` to
    rounding, stays in ``[0, 1]`` for ``|eta_t| <= 1``, and leaves saturated
    rows in place.
    """
    v = q * (1.0 - q)
    den = rows.reduce(rows.sw * v)
    res = rows.reduce(rows.sw * rows.y * q)
    eta = np.divide(-res, den, out=np.zeros_like(res), where=den > 0)
    if np.any(np.abs(eta) > 1.0) or np.any((den <= 0) & (res != 0)):
        return None
    return q + eta[rows.task] * rows.y * v


def _step_inside(p, delta):
    """The largest ``tau <= 1`` with ``0 <= p + tau delta <= 1``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(delta > 0, (1.0 - p) / delta, np.inf)
        down = np.where(delta < 0, -p / delta, np.inf)
    return float(min(1.0, up.min(initial=np.inf), down.min(initial=np.inf)))


class PolishSchedule:
    """When :func:`fista_logistic` tries the polished certificate.

    The polished gap is second order where the scaled bound (evaluated every
    step, no product with ``X``) is first order: ``gap ~ c bound^2``. The
    first try is at ``bound <= FIRST sqrt(tol)``; a try that misses ``tol`` sets
    the next one where that model, with the ``c`` just measured, predicts
    ``0.8 tol``; a try that does not beat the bound turns the polish off.
    Off (never due) unless the penalty is the trace norm of a few tasks (the
    fast route of ``_dual_norm``; one task: its scaled point is second order
    already), ``alpha > 0`` and the labels are +-1. The bound is evaluated
    every step from ``FAR`` times the trigger on (every few steps before).
    """

    def __init__(self, lc, penalty, alpha, tol):
        rows = lc.rows
        self.on = bool(
            alpha > 0
            and isinstance(penalty, TraceNorm)
            and 1 < rows.T <= min(SMALL, rows.d)
            and np.all(np.abs(rows.y) == 1.0)
        )
        self.trigger = FIRST * float(np.sqrt(tol)) if self.on else -1.0
        self.tol = tol
        self.n_tries = 0

    def due(self, bound):
        return bound <= self.trigger

    def dual(self, lc, alpha, WT, GT, p):
        """``(dual value, Omega(W))``: the polished point's value (``-inf``
        if the polish does not apply) and the trace norm of ``W``."""
        self.n_tries += 1
        s_w = np.linalg.svd(WT, compute_uv=False)
        return polished_dual(lc, alpha, GT, p, s_w), float(s_w.sum())

    def missed(self, bound, gap):
        """Schedule the next try after a polished ``gap`` above ``tol``."""
        if not gap < bound:
            self.trigger = -1.0
        else:
            self.trigger = bound * float(np.sqrt(0.8 * self.tol / gap))

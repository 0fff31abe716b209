"""Proximal Newton for the penalized multi-task logistic loss.

.. math::

    \\min_{W, b} \\; F(W, b) = \\sum_t l_t(w_t, b_t) + \\alpha \\, \\Omega(W)

The Hessian of the data-fit is block diagonal over tasks, so the quadratic
model of ``f`` at the current point is, per task, a weighted least-squares
problem: with the margins ``m_i = x_i.w_t + b_t``, the derivative ``u_i`` and
the curvature ``D_i`` of the (scaled, weighted) loss in ``m_i``,

.. math::

    l_t(w, b) \\approx \\mathrm{const}_t
    + \\tfrac12 \\sum_i D_i \\, (x_i.w + b - z_i)^2,
    \\qquad z_i = m_i - u_i / D_i .

The intercept of that model has a closed form (weighted centering with the
weights ``D_i``: ``b = zbar - xbar.w``), which leaves a squared-loss problem in
the Gram form ``(H_t, q_t, c_t)`` of :func:`skmtl.solvers._admm.solve_quadratic`
(ADMM with exact per-task solves, any :class:`~skmtl.penalties.Penalty`).
Each outer (Newton) step solves that model warm-started (``W`` and ``rho`` of
the previous step) to an accuracy set by a forcing sequence: a fraction of the
previous step's decrease (capped by a tenth of the certified gap), so that
early models are solved loosely and the last ones tightly (the outer duality
gap is a poor guide early on: it stays near 0.1-0.9 for the first steps while
the iterates are already close).  The model's constant is passed to ADMM as
the smallest valid one, ``q_t^T H_t^+ q_t``, so that its relative gap
measures the part of the model that depends on ``W``.

On real data the per-task Hessians are nearly singular (Landmine: smallest
eigenvalue 1e-5 of the largest) and an undamped step can move margins by
hundreds, where the model means nothing: the model carries a
Levenberg-Marquardt term ``mu * tr(H_t)/d * ||w - w_k||^2 / 2`` whose ``mu``
adapts by the ratio of the actual to the predicted decrease (as a trust
region) and vanishes near the optimum, where full Newton steps converge
fast; a step with a poor ratio is solved again with a larger ``mu``.  A
backtracking (Armijo) line search on the true objective along the step makes
every outer step decrease ``F``.  Measured on Landmine (raw features,
intercepts, mean scaling): 9-14 Newton steps to a certified 1e-6 gap for
alpha from 1e-1 to 1e-4 (see ``benchmarks/bench_centralized.py``).

Stopping: after each step the intercepts are set to their optimum for ``W``
(a Newton iteration on all tasks at once) and the relative duality gap of
:mod:`skmtl.solvers._gaps` is evaluated, exactly as for FISTA; the solver
stops once it is at most ``tol``, so the result carries the same certificate.

The curvature of a sample whose margin is very wrong (``p (1 - p) < 1e-8``)
is floored at ``1e-8`` times its weight: the model is then a slight
over-estimate there (still a valid, positive definite proximal Newton model,
with the line search ensuring descent), and ``z`` stays finite.

Samples with weight 0, both loss scalings, intercepts or none, the shared
design and sparse ``X`` (the Gram ``X^T D X`` as a sparse product, never a
dense copy of ``X``) are served. One ``d x d`` matrix per task is held in
memory (the eigenvectors overwrite the Hessians; the damped model is never
formed: its ADMM runs on the eigensystem): :func:`skmtl.solvers._fista.solve`
uses this solver only while they fit in about 1 GB and twice the data.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ..datafits._logistic_rows import intercept_newton, softplus
from ..datafits._stacked import task_rows
from ..penalties._base import make_penalty
from ..utils._blas import single_blas_thread
from ._admm import (
    _RANK_RTOL,
    _Eig,
    _GramSpace,
    _least_squares_solution,
    _result,
    run_admm,
)
from ._gaps import alpha_max, duality_gap

__all__ = ["newton_logistic"]

_TINY = np.finfo(np.float64).tiny
_EPS = np.finfo(np.float64).eps
_CURVATURE_FLOOR = 1e-8
_ARMIJO = 1e-4
_SMALL = 512
_RELAXATION = 1.6  # over-relaxation of the inner ADMM (solve_quadratic's default)


class _Rows:
    """All tasks' rows at once: concatenated labels, weights over scales.

    ``sw[i] = s_i / c_t`` for row ``i`` of task ``t``; ``offsets`` delimit the
    tasks in the concatenation (task-major). In the shared design the margins
    of all tasks come from one product ``X @ W``.
    """

    def __init__(self, blocks):
        self.blocks = blocks
        self.T = blocks.n_tasks
        self.d = blocks.n_features
        self.shared = bool(blocks.shared)
        sizes = np.array([X.shape[0] for X in blocks.Xs])
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.starts = self.offsets[:-1]
        self.task = np.repeat(np.arange(self.T), sizes)
        self.y = np.concatenate(blocks.ys).astype(np.float64)
        self.sw = np.concatenate(
            [s / c for s, c in zip(blocks.sample_weights, blocks.scales, strict=True)]
        )
        self.sw_sum = self.reduce(self.sw)
        # Sparse unshared blocks: all tasks' rows as one shifted CSR operator.
        rows = task_rows(blocks)
        self.big = None if rows is None else rows.A
        self.bigT = None if self.big is None else self.big.T  # a CSC view

    def reduce(self, v):
        """Per-task sums of a row vector (every task has rows: validated)."""
        return np.add.reduceat(v, self.starts)

    def margins(self, W, b=None):
        """``x_i.w_t (+ b_t)`` for every row, concatenated over tasks."""
        if self.shared:
            M = np.asarray(self.blocks.Xs[0] @ W)
            m = M.ravel(order="F")
        elif self.big is not None:
            m = self.big @ W.ravel(order="F")
        else:
            m = np.concatenate(
                [np.asarray(X @ W[:, t]).ravel() for t, X in enumerate(self.blocks.Xs)]
            )
        if b is not None:
            m = m + b[self.task]
        return m

    def task_losses(self, m):
        return self.reduce(self.sw * softplus(-self.y * m))

    def gradient(self, u):
        """``[X_t^T u_t]_t`` for a row vector ``u``."""
        if self.shared:
            U = u.reshape(self.T, -1).T
            return np.asarray(self.blocks.Xs[0].T @ U)
        if self.big is not None:
            return (self.bigT @ u).reshape(self.T, self.d).T
        G = np.empty((self.d, self.T))
        for t, X in enumerate(self.blocks.Xs):
            sl = slice(self.offsets[t], self.offsets[t + 1])
            G[:, t] = np.asarray(X.T @ u[sl]).ravel()
        return G

    def optimal_intercept(self, m0, b, max_steps=50):
        """Minimize over every ``b_t`` with the margins ``m0`` (no intercept) fixed.

        The safeguarded 1-D Newton of the certificate
        (:func:`~skmtl.datafits._logistic_rows.intercept_newton`), on all
        tasks at once: it reads derivatives only, so no task loops on loss
        values that round.
        """
        return self.intercept_terms(m0, b, max_steps)[0]

    def intercept_terms(self, m0, b, max_steps=50):
        """``(b, ym, p)``: :meth:`optimal_intercept`, with ``ym = y * m`` and
        ``p = P(wrong label) = expit(-ym)`` at the margins ``m = m0 + b[task]``
        of the intercepts returned, read off the solve's last derivative when
        it was evaluated there (None otherwise: e.g. after ``max_steps``)."""
        y, sw, task = self.y, self.sw, self.task
        last = []

        def deriv(bh):
            ym = m0 + bh[task]
            ym *= y
            p = wrong_label(ym)
            swp = sw * p
            last[:] = [bh, ym, p]
            return -self.reduce(y * swp), self.reduce(swp * (1.0 - p)), self.reduce(swp)

        b = intercept_newton(deriv, b, 1e-13 * self.sw_sum, max_steps)
        if last and np.array_equal(last[0], b):
            return b, last[1], last[2]
        return b, None, None


def wrong_label(ym):
    """``expit(-ym)``, the probability of the wrong label at ``y * m``, as
    ``1 / (1 + exp(ym))`` (within 1 ulp of scipy's ``expit``, 3x faster)."""
    with np.errstate(over="ignore"):  # exp overflows to inf: p = 0, exact
        e = np.exp(ym)
    e += 1.0
    return np.reciprocal(e, out=e)


def _quadratic_model(rows, W, b, m, fit_intercept):
    """Per-task ``(H, Q, c)``, the weighted means and the constant of the model.

    Returns ``H (T, d, d), Q (d, T), c (T,)``, ``xbar (d, T)``, ``zbar (T,)``
    (None without intercept) and ``const (T,)`` with
    ``model_t(w, b*) = const_t + 0.5 (w^T H_t w - 2 q_t^T w + c_t)``.
    """
    T, d = rows.T, rows.d
    y, sw = rows.y, rows.sw
    ym = y * m
    p = expit(-ym)  # P(wrong label)
    curv = np.maximum(p * (1.0 - p), _CURVATURE_FLOOR)
    D = sw * curv
    u = -sw * y * p
    z = m + y * p / curv  # m - u / D, finite even for zero weights
    Dsum = rows.reduce(D)
    safe = np.where(Dsum > 0, Dsum, 1.0)
    H = np.empty((T, d, d))
    Q = np.empty((d, T))
    c = np.empty(T)
    xbar = np.zeros((d, T)) if fit_intercept else None
    zbar = np.zeros(T) if fit_intercept else None
    Xs = rows.blocks.Xs
    for t in range(T):
        sl = slice(rows.offsets[t], rows.offsets[t + 1])
        X, Dt, zt = Xs[t], D[sl], z[sl]
        if sp.issparse(X):
            Ht = np.asarray((X.T @ X.multiply(Dt[:, None])).todense())
        else:
            Ht = X.T @ (X * Dt[:, None])
        if fit_intercept:
            xb = np.asarray(X.T @ Dt).ravel() / safe[t]
            zb = Dt @ zt / safe[t]
            Ht -= Dsum[t] * np.outer(xb, xb)
            zc = zt - zb
            xbar[:, t], zbar[t] = xb, zb
        else:
            zc = zt
        Ht = 0.5 * (Ht + Ht.T)
        H[t] = Ht
        Q[:, t] = np.asarray(X.T @ (Dt * zc)).ravel()
        c[t] = Dt @ (zc * zc)
    losses = rows.task_losses(m)
    const = losses - 0.5 * rows.reduce(u * u / np.where(D > 0, D, 1.0))
    return H, Q, c, xbar, zbar, const


def _quadratic_value(lam, V, Q, c, W):
    """The model's quadratic part per task, from the eigensystem of the ``H_t``."""
    We = np.einsum("tji,jt->ti", V, W)
    return 0.5 * (
        np.einsum("ti,ti->t", lam, We * We) - 2 * np.einsum("it,it->t", Q, W) + c
    )


def newton_logistic(
    datafit,
    alpha,
    *,
    penalty=None,
    W0=None,
    b0=None,
    tol=1e-6,
    max_iter=100,
    verbose=0,
):
    """Proximal Newton for a :class:`~skmtl.datafits._losses.LogisticLoss`.

    See the module docstring for the method. Tasks trained on soft targets
    (distillation) are not served (use FISTA).

    Parameters
    ----------
    datafit : LogisticLoss
        Hard labels only.
    alpha : float
        Regularization strength, ``>= 0``.
    penalty : Penalty or None, default=None
        None means the trace norm.
    W0 : ndarray of shape (n_features, n_tasks), default=None
        Warm start (zeros by default).
    b0 : ndarray of shape (n_tasks,), default=None
        Warm-start intercepts (the weighted log-odds by default).
    tol : float, default=1e-6
        Target certified relative duality gap.
    max_iter : int, default=100
        Maximum number of Newton (outer) steps.
    verbose : int, default=0
        Print one line per Newton step when ``> 0``.

    Returns
    -------
    SolverResult
        ``n_iter`` is the number of Newton steps; ``info`` holds the number of
        inner ADMM iterations and of line-search halvings.
    """
    from ._fista import SolverResult

    if getattr(datafit, "soft_targets", None):
        raise ValueError(
            "newton_logistic does not serve tasks trained on soft targets; use fista."
        )
    penalty = make_penalty(penalty)
    d = datafit.n_features
    with single_blas_thread(d <= _SMALL):
        return _newton(
            datafit,
            float(alpha),
            penalty,
            W0,
            b0,
            float(tol),
            int(max_iter),
            verbose,
            SolverResult,
        )


def _certify(rows, datafit, penalty, alpha, free, scale0, W, b, m0):
    """Optimal intercepts for ``W``, then the gap of :mod:`_gaps`.

    Returns the relative gap (the relative optimality residual when
    ``alpha == 0``), the objective and the intercepts.
    """
    if free:
        b = rows.optimal_intercept(m0, b)
    m = m0 if b is None else m0 + b[rows.task]
    u = -rows.sw * rows.y * expit(-rows.y * m)
    G = rows.gradient(u)
    if alpha == 0:
        # No scaled dual point is feasible: the measure is the relative
        # residual of the optimality condition, as in relative_gap.
        primal = datafit.value(W, b)
        norm = penalty.dual_norm(G)
        return (0.0 if norm == 0 else norm / scale0), primal, b
    primal, _, gap = duality_gap(datafit, penalty, W, b, alpha, G=G)
    return max(gap, 0.0) / max(primal, _TINY), primal, b


def _inner_tolerance(model_now, F, gap, prev_decrease):
    """Relative ADMM tolerance of the model from the forcing sequence."""
    # Forcing sequence: solve the model to a fraction of the previous
    # decrease (superlinear once the decrease is small relative to F).
    if prev_decrease is None:
        target = 1e-2 * max(model_now, _TINY)
    else:
        eta = min(0.1, np.sqrt(prev_decrease / max(F, _TINY)))
        target = eta * prev_decrease
    if np.isfinite(gap):  # the certified gap bounds F - F* from above
        target = min(target, 0.1 * gap * F)
    return min(max(target / max(model_now, _TINY), 1e-13), 1e-1)


def _damping_basis(H, d):
    """Per-task LM scale ``tr(H_t) / d`` and the clipped eigensystem of ``H``.

    The eigenvectors overwrite ``H`` (one task at a time), so that a Newton
    step holds one ``d x d`` matrix per task, not the Hessians and their
    eigenvectors (and a damped copy) side by side.
    """
    # Levenberg-Marquardt damping mu * diag-scale * I of the model: the
    # per-task Hessians are nearly singular on real data (Landmine: smallest
    # eigenvalue 1e-5 of the largest), and an undamped step there can move
    # the margins by hundreds, where the model means nothing. mu adapts by
    # the ratio of actual to predicted decrease, as in a trust region, and
    # vanishes near the optimum (full Newton steps, fast local convergence).
    scale = np.einsum("tii->t", H) / max(d, 1)
    scale = np.where(scale > 0, scale, 1.0)
    lam_H = np.empty(H.shape[:2])
    for t in range(H.shape[0]):
        lam_H[t], H[t] = np.linalg.eigh(H[t])
    return scale, np.maximum(lam_H, 0.0), H


class _ModelEig(_Eig):
    """The eigensystem of the damped model, given (no ``H`` to decompose)."""

    def __init__(self, lam, V):
        self.shared = False
        self.V, self.lam = V, lam
        self.nonzero = lam > _RANK_RTOL * lam.max(axis=1, keepdims=True)


def _solve_damped_model(Q, W, lam_H, V, damp, mu, alpha, penalty, rho, inner_tol):
    """ADMM on the model damped by ``damp_t * ||w - w_k||^2 / 2``, from ``W``.

    The ADMM of :func:`skmtl.solvers._admm.solve_quadratic` run on the
    eigensystem ``V_t diag(lam_t + damp_t) V_t^T`` of the damped model,
    which is never formed.
    """
    Qd = Q + damp * W if mu > 0 else Q
    lam_d = lam_H + damp[:, None]
    # The constant of the model does not move its minimizer, only the
    # relative gap that ADMM measures: pass the smallest valid one,
    # c_t = q_t^T H_t^+ q_t (the W-dependent part of the model), or
    # the huge working responses of misclassified rows would make any
    # relative tolerance meaningless.
    eig = _ModelEig(lam_d, V)
    qe = eig.to_eig(np.ascontiguousarray(Qd.T))
    keep = lam_d > 1e3 * _EPS * lam_d.max(axis=1, keepdims=True)
    cmin = np.einsum(
        "ti,ti->t", qe, np.where(keep, qe / np.where(keep, lam_d, 1.0), 0.0)
    )
    cmin = cmin * (1 + 1e-9) + _TINY
    d, T = Q.shape
    nan = float("nan")
    if alpha >= penalty.dual_norm(Qd):  # W = 0 minimizes the model
        return _result(
            np.zeros((d, T)), np.array([0.5 * cmin.sum()]), 0, 0.0, True, nan
        )
    if alpha == 0.0:
        return _least_squares_solution(eig, qe, cmin, inner_tol)
    if rho is None:
        rho = alpha * float(lam_d.max()) / penalty.dual_norm(Qd)
    space = _GramSpace(eig, qe, float(cmin.sum()), alpha, penalty, _RELAXATION)
    space.start(np.array(W.T, order="C"), float(rho), warm=True)
    return run_admm(space, float(rho), inner_tol, 10_000, 1, 0)


def _updated_mu(mu, ratio):
    """Trust-region update of the LM parameter from the decrease ratio."""
    if ratio > 0.75:
        mu = mu / 4 if mu > 1e-6 else 0.0
    elif ratio < 0.25:
        mu = max(4 * mu, 1e-4)
    return mu


def _damped_step(s, rows, penalty, alpha, free, verbose):
    """Solve the damped model, raising ``mu`` until its step is acceptable.

    Reads and updates the loop state ``s`` (``mu``, ``rho``, ``inner_tol``,
    counters) and returns ``(F1, predicted, lam, dW, db, dm, res)``: the
    objective at the full step, the model's predicted decrease, the Armijo
    slope, the step in ``W``, ``b`` and the margins, and the ADMM result.
    """
    _, Q, c, xbar, zbar, const = s.model
    W, b, m, F = s.W, s.b, s.m, s.F
    F1 = np.inf
    predicted = lam = 0.0
    dW = db = dm = None
    for _attempt in range(20):
        damp = s.mu * s.scale
        res = _solve_damped_model(
            Q, W, s.lam_H, s.V, damp, s.mu, alpha, penalty, s.rho, s.inner_tol
        )
        s.n_inner += res.n_iter
        if np.isfinite(res.rho):
            s.rho = res.rho
        W_new = res.W
        dW = W_new - W
        db = (zbar - np.einsum("it,it->t", xbar, W_new)) - b if free else None
        pen_new = penalty.value(W_new)
        model_new = (
            float(const.sum() + _quadratic_value(s.lam_H, s.V, Q, c, W_new).sum())
            + alpha * pen_new
        )
        predicted = F - model_new
        # Armijo on the true objective (Lee, Sun & Saunders): lam =
        # <grad f, step> + alpha (Omega(W_new) - Omega(W)) < 0.
        lam = float(np.vdot(s.G, dW)) + alpha * (pen_new - s.pen_now)
        if free:
            lam += float(s.gb @ db)
        dm = rows.margins(dW, db)
        F1 = float(rows.task_losses(m + dm).sum()) + alpha * pen_new
        if verbose > 1:
            print(
                f"[newton]   mu {s.mu:.1e}  tol {s.inner_tol:.1e}  inner "
                f"{res.n_iter}  predicted {predicted:.3e}  actual {F - F1:.3e}"
            )
        if predicted <= 1e-12 * abs(F) and s.inner_tol > 1e-12:
            s.inner_tol = max(s.inner_tol * 1e-2, 1e-13)  # model solved too loosely
            continue
        noise = 1e3 * _EPS * abs(F)
        if abs(predicted) <= noise and abs(F - F1) <= noise:
            # Both decreases are rounding: the model cannot be judged,
            # and at this point full steps still close the gap.
            ratio = 1.0
        else:
            ratio = (F - F1) / predicted if predicted > 0 else -np.inf
        s.mu = _updated_mu(s.mu, ratio)
        if F1 <= F + _ARMIJO * min(lam, 0.0) or ratio >= 0.1 or predicted <= 0:
            break
        s.mu = max(10 * s.mu, 1e-3)
        s.n_rejected += 1
    return F1, predicted, lam, dW, db, dm, res


def _line_search(s, rows, penalty, alpha, F1, lam, dW, dm):
    """Backtracking (Armijo) along the step: ``(step, accepted, F at step)``."""
    W, m, F = s.W, s.m, s.F
    step = 1.0
    accepted = False
    Ft = F1
    # Rounding of F: near the optimum a full step may not measurably
    # decrease F while still reducing the gradient (quadratic convergence).
    slack = 16 * _EPS * abs(F)
    for _ in range(40):
        if Ft <= F + _ARMIJO * step * min(lam, 0.0) + slack:
            accepted = True
            break
        step *= 0.5
        s.n_halvings += 1
        Wt = W + step * dW
        Ft = float(rows.task_losses(m + step * dm).sum()) + alpha * (penalty.value(Wt))
    return step, accepted, Ft


class _State:
    """Mutable state of the outer loop shared by its phases."""

    def __init__(self, W, b, m0, gap, F):
        self.W, self.b, self.m0, self.gap, self.F = W, b, m0, gap, F
        self.rho = None
        self.prev_decrease = None
        self.n_inner = self.n_halvings = self.n_rejected = 0
        self.mu = 0.0
        self.stalled = 0


def _newton(datafit, alpha, penalty, W0, b0, tol, max_iter, verbose, SolverResult):
    T, d = datafit.n_tasks, datafit.n_features
    rows = _Rows(datafit.blocks)
    free = datafit.has_free_intercept
    W = np.zeros((d, T)) if W0 is None else np.array(W0, dtype=np.float64)
    if free:
        b = datafit.initial_intercept() if b0 is None else np.array(b0, dtype=float)
    else:
        b = None
    scale0 = max(alpha_max(datafit, penalty), _TINY) if alpha == 0 else 1.0

    m0 = rows.margins(W)
    gap, F, b = _certify(rows, datafit, penalty, alpha, free, scale0, W, b, m0)
    s = _State(W, b, m0, gap, F)
    history = [F]
    converged = gap <= tol
    it = 0
    while not converged and it < max_iter:
        it += 1
        # Quadratic model at the current point and its ADMM tolerance.
        s.m = s.m0 if s.b is None else s.m0 + s.b[rows.task]
        s.model = s.V = None  # free the last model's d x d matrices first
        s.model = _quadratic_model(rows, s.W, s.b, s.m, free)
        Q, c = s.model[1:3]
        s.scale, s.lam_H, s.V = _damping_basis(s.model[0], d)  # overwrites H
        q_now = float(_quadratic_value(s.lam_H, s.V, Q, c, s.W).sum())
        s.pen_now = penalty.value(s.W)
        model_now = q_now + alpha * s.pen_now
        s.inner_tol = _inner_tolerance(model_now, s.F, s.gap, s.prev_decrease)
        u = -rows.sw * rows.y * expit(-rows.y * s.m)
        s.G = rows.gradient(u)
        s.gb = rows.reduce(u) if free else None
        # Damped model step, then the line search along it.
        F1, predicted, lam, dW, db, dm, res = _damped_step(
            s, rows, penalty, alpha, free, verbose
        )
        step, accepted, Ft = _line_search(s, rows, penalty, alpha, F1, lam, dW, dm)
        decrease = predicted
        s.stalled = s.stalled + 1 if Ft >= s.F else 0
        if not accepted or s.stalled > 2 or not (np.any(dW) or np.any(db)):
            # No progress possible (at the optimum up to rounding): certify.
            if verbose > 0:
                print(f"[newton] step {it:3d}  no decrease; stopping")
            break
        # Take the step, optimal intercepts for the new W, and the certificate.
        Wt = s.W + step * dW
        bt = None if s.b is None else s.b + step * db
        s.prev_decrease = max(s.F - Ft, decrease * step, _TINY)
        s.W, s.b = Wt, bt
        s.m0 = rows.margins(s.W)
        s.gap, s.F, s.b = _certify(
            rows, datafit, penalty, alpha, free, scale0, s.W, s.b, s.m0
        )
        history.append(s.F)
        if verbose > 0:
            print(
                f"[newton] step {it:3d}  objective {s.F:.12g}  gap {s.gap:.3e}  "
                f"t {step:.3g}  mu {s.mu:.1e}  inner {res.n_iter} "
                f"(tol {s.inner_tol:.1e})"
            )
        converged = s.gap <= tol
    W, b, gap = s.W, s.b, s.gap
    if not np.all(np.isfinite(W)):
        raise FloatingPointError(
            "The solver produced non-finite coefficients; check the scale of X."
        )
    return SolverResult(W, b, np.asarray(history), it, float(gap), bool(converged))

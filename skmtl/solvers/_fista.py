"""Centralized solvers for penalized (trace norm, l2,1) multi-task learning.

Plain functions on a data-fit (see :mod:`skmtl.datafits._losses`); they return arrays
and know nothing of estimators.

.. math::

    \\min_{W, b} \\; F(W, b) = \\sum_t l_t(w_t, b_t) + \\alpha \\, \\Omega(W)

with ``Omega`` a :class:`~skmtl.penalties.Penalty` (the trace norm by default).
"""

import numpy as np
import scipy.sparse as sp

from ..datafits._logistic_rows import _bernoulli_negentropy, softplus
from ..datafits._losses import LogisticLoss, SquaredLoss
from ..penalties._base import make_penalty
from ..penalties._trace_norm import _GRAM_RTOL, TraceNorm
from ..utils._blas import SMALL, single_blas_thread
from ._admm import solve_squared
from ._dual_polish import FAR as POLISH_FAR
from ._dual_polish import PolishSchedule
from ._gaps import alpha_max, dual_scaling, relative_gap
from ._newton import _certify, _Rows, newton_logistic, wrong_label
from ._race import race_squared, wants_race
from ._result import SolverResult

# Proximal Newton holds one d x d matrix per task (its model's Hessians, peak
# about 1.4x their size): it is used while they fit in this many bytes and in
# _NEWTON_DATA_FACTOR times the data (or _NEWTON_MIN_BYTES for small data), so
# that a fit's memory stays a small multiple of its data; FISTA on the local
# curvature (fista_logistic) beyond.
_NEWTON_MAX_BYTES = 1 << 30
_NEWTON_MIN_BYTES = 64 << 20
_NEWTON_DATA_FACTOR = 2
_TINY = np.finfo(np.float64).tiny

__all__ = ["SolverResult", "alpha_max", "fista", "relative_gap", "solve"]


def fista(
    datafit,
    alpha,
    *,
    penalty=None,
    W0=None,
    b0=None,
    tol=1e-6,
    max_iter=10_000,
    check_every=10,
    verbose=0,
    callback=None,
    first_check=None,
    on_check=None,
):
    """Accelerated proximal gradient (FISTA) with adaptive restart.

    Step ``1 / L`` with ``L = max_t L_t`` (the Hessian of the data-fit is block
    diagonal over tasks), gradient-based restart (O'Donoghue & Candes, 2015),
    and a stopping rule on the certified relative duality gap every
    ``check_every`` iterations. ``penalty`` (a
    :class:`~skmtl.penalties.Penalty`, None for the trace norm) gives the
    proximal step and the dual norm of the gap.

    ``callback(it, W, b)``, when given, is called after every proximal step
    with the new iterate, before the momentum step: it may change ``W`` and
    ``b`` in place (e.g. hold some columns fixed) or the data-fit itself, and
    stops the solver by returning True (``converged`` is then False).

    ``first_check`` adds one gap check at that iteration; ``on_check(it,
    gap)``, when given, is called after every gap check that did not
    converge and stops the solver by returning True (``stop_reason``
    'switch': the race of :mod:`skmtl.solvers._race` leaves for ADMM).

    Returns
    -------
    SolverResult
    """
    penalty = make_penalty(penalty)
    prox_state = penalty.prox_state()
    T, d = datafit.n_tasks, datafit.n_features
    W = np.zeros((d, T)) if W0 is None else np.array(W0, dtype=float)
    free_b = datafit.has_free_intercept
    if free_b:
        b = datafit.initial_intercept() if b0 is None else np.array(b0, dtype=float)
    else:
        b = None
    L = float(np.max(datafit.lipschitz))
    step = 1.0 / L if L > 0 else 1.0
    YW, Yb = W.copy(), (None if b is None else b.copy())
    t_k = 1.0
    history = []
    gap, converged, it, stop_reason = np.inf, False, 0, "max_iter"
    for it in range(1, max_iter + 1):
        G, gb = datafit.gradient(YW, Yb)
        W_new = penalty.prox(YW - step * G, step * alpha, state=prox_state)
        b_new = None if b is None else Yb - step * gb
        if callback is not None and callback(it, W_new, b_new):
            W, b, stop_reason = W_new, b_new, "callback"
            break
        # Restart when the momentum points against the proximal-gradient step.
        restart = np.vdot(YW - W_new, W_new - W)
        if b is not None:
            restart += np.dot(Yb - b_new, b_new - b)
        if restart > 0:
            t_k = 1.0
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
        beta = (t_k - 1.0) / t_next
        YW = W_new + beta * (W_new - W)
        if b is not None:
            Yb = b_new + beta * (b_new - b)
        W, b, t_k = W_new, b_new, t_next
        if it % check_every == 0 or it == max_iter or it == first_check:
            gap, primal, b_ref = relative_gap(datafit, W, b, alpha, penalty)
            history.append(primal)
            if verbose > 1:
                print(f"[fista] iter {it:6d}  objective {primal:.10g}  gap {gap:.3e}")
            if gap <= tol:
                b = b_ref
                converged, stop_reason = True, "converged"
                break
            if on_check is not None and on_check(it, gap):
                stop_reason = "switch"
                break
    if not np.all(np.isfinite(W)):
        raise FloatingPointError(
            "The solver produced non-finite coefficients; check the scale of X."
        )
    return SolverResult(
        W, b, np.asarray(history), it, float(gap), converged, stop_reason
    )


# Local-curvature FISTA: after an accepted step the next one is tried with
# the curvature estimate times _SHRINK (a longer step), and a rejected one
# multiplies it by _GROW.
_SHRINK = 0.9
_GROW = 2.0
_EPS = np.finfo(np.float64).eps
# The gap bound (about 1.5 ms at d = 20,000, T = 20) is evaluated every
# _BOUND_SKIP steps while it exceeds _BOUND_FAR times its target (the gap
# falls by about 2x in 5 steps there: 3 steps cannot cross 10x), every step
# closer.
_BOUND_SKIP = 3
_BOUND_FAR = 10.0
# Newton steps on the intercepts of a proximal step's trial point.
_STEP_INTERCEPT_STEPS = 1


class _LocalCurvature:
    """The logistic loss on margins, with free intercepts at their optimum.

    Margins are linear in ``W`` and so extrapolate for free. With free
    intercepts the function minimized is ``g(W) = min_b f(W, b)`` (a Newton
    solve on the intercepts alone, no product with ``X``): its gradient is
    ``grad_W f(W, b*(W))`` and its curvature at most that of ``f`` in ``W``,
    whereas the intercepts' own curvature (the mean ``p (1 - p)`` of a task's
    rows) is often the largest of the joint problem and would cap the step.

    Coefficients are held task-major (``WT``, shape ``(T, d)``, C order):
    with sparse blocks stored as one ``(n, T d)`` CSR matrix the margins are
    one product with ``WT.ravel()`` (a view) and the gradient comes out
    task-major, so no array of the loop is copied to another layout or read
    with strides (mixed layouts made every update of the d x T arrays several
    times slower, measured at d = 20,000).
    """

    def __init__(self, datafit):
        self.rows = _Rows(datafit.blocks)
        self.free = datafit.has_free_intercept
        self.nsy = -self.rows.sw * self.rows.y  # the gradient's row weights

    def margins(self, WT):
        """``x_i.w_t`` for every row (no intercept), from task-major ``WT``."""
        r = self.rows
        if r.big is not None:
            return r.big @ WT.ravel()
        return r.margins(WT.T)

    def gradient(self, u):
        """``[X_t^T u_t]_t`` task-major, shape ``(T, d)``."""
        r = self.rows
        if r.big is not None:
            return (r.bigT @ u).reshape(r.T, r.d)
        return np.ascontiguousarray(r.gradient(u).T)

    def curvature_guess(self):
        """A cheap lower estimate of the largest curvature at ``W = 0``.

        ``max_t sum_i s_i ||x_i||^2 / (4 c_t min(n_t, d))`` (the mean
        eigenvalue of the nonzero spectrum of ``X_t^T S_t X_t / (4 c_t)``):
        within a small factor of ``max_t ||X_t||^2 / (4 c_t)`` on spread
        spectra, without its power iterations (seconds on wide sparse data);
        a guess too low costs a few rejected steps, one too high many short
        ones.
        """
        r = self.rows
        b = r.blocks
        guess = 0.0
        for t, X in enumerate(b.Xs):
            sq = (
                X.multiply(X).sum(axis=1)
                if sp.issparse(X)
                else np.einsum("ij,ij->i", X, X)
            )
            w = r.sw[r.offsets[t] : r.offsets[t + 1]]
            tr = float(w @ np.asarray(sq).ravel())
            guess = max(guess, tr / (4.0 * max(1, min(X.shape))))
        return guess if guess > 0 else 1.0

    def intercepts(self, m0, b, max_steps=50):
        """The optimal intercepts for the margins ``m0``, from ``b``."""
        return self.rows.optimal_intercept(m0, b, max_steps)

    def value(self, m0, b, max_steps=50):
        """``(f, b)`` at the margins ``m0`` (no intercept), ``b`` optimal.

        With a small ``max_steps`` the intercepts are only refined from ``b``
        (then ``f >= min_b f``: a valid primal value, and a conservative
        sufficient-decrease test).
        """
        f, b, _, _ = self._terms(m0, b, max_steps)
        return f, b

    def _terms(self, m0, b, max_steps):
        """``(f, b, ym, p)``: :meth:`value`, ``y * m`` and, when the
        intercepts' solve ended with it, ``p = expit(-ym)`` (else None)."""
        r = self.rows
        p = None
        if self.free:
            b, ym, p = r.intercept_terms(m0, b, max_steps)
            if ym is None:
                ym = r.y * (m0 + b[r.task])
        else:
            ym = r.y * m0
        return float(r.sw @ softplus(-ym)), b, ym, p

    def value_grad(self, m0, b):
        """``(f, GT, b, p)`` at the margins ``m0``, ``b`` optimal.

        ``GT`` is the gradient task-major and ``p`` the probability of the
        wrong label on every row (the dual point of the certificate).
        """
        f, b, ym, p = self._terms(m0, b, 50)
        if p is None:
            p = wrong_label(ym)
        return f, self.gradient(self.nsy * p), b, p


def _certify_margins(lc, datafit, penalty, alpha, scale0, W, b, m0):
    """:func:`skmtl.solvers._newton._certify` from the margins ``m0`` of ``W``.

    The same certified relative gap (intercepts refined to their optimum,
    dual point the scaled probabilities), with one product ``X^T u`` instead
    of three (the loss and its conjugate are read off the margins).
    """
    if alpha == 0:
        return _certify(lc.rows, datafit, penalty, alpha, lc.free, scale0, W, b, m0)
    f, GT, b, p = lc.value_grad(m0, b)
    primal = f + alpha * penalty.value(W)
    return _relative(primal, _dual_value(lc.rows, penalty, alpha, GT.T, p)), primal, b


def _dual_value(rows, penalty, alpha, G, p):
    """Dual objective at the probabilities ``p`` scaled to feasibility."""
    kp = dual_scaling(_dual_norm(penalty, G), alpha) * p
    return -float(rows.sw @ _bernoulli_negentropy(kp))


def _confirm(ctx, f_W, WT, b, m0, GT, pY, bound, scaled):
    """Certified ``(gap, primal, b)`` of ``W`` once the bound reached a target.

    Three dual points are valid. When ``polish`` is due, the polished point of
    the extrapolated point's probabilities
    (:func:`~skmtl.solvers._dual_polish.polished_dual`: second-order
    accurate, one product with ``X`` of ``r`` columns and one ``X^T u``).
    Then, if ``scaled`` (the bound reached its own target): the scaled
    probabilities of the extrapolated point (those of the bound, with the
    exact ``Omega(W)`` and dual norm: no product with ``X``) and, if that is
    not enough, those of ``W`` itself (the certificate of :func:`fista`).
    The smallest gap is returned. ``ctx`` is ``(certify, penalty, alpha,
    tol, lc, polish)``.
    """
    certify, penalty, alpha, tol, lc, polish = ctx
    gap_p, pen = np.inf, None
    if polish.due(bound):
        dual, pen = polish.dual(lc, alpha, WT, GT, pY)
        gap_p = _relative(f_W + alpha * pen, dual)
        if gap_p > tol:
            polish.missed(bound, gap_p)
    primal = f_W + alpha * (float(penalty.value(WT.T)) if pen is None else pen)
    if gap_p <= tol or not scaled:
        return gap_p, primal, b
    dual_y = _dual_value(lc.rows, penalty, alpha, GT.T, pY)
    gap_y = min(gap_p, _relative(primal, dual_y))
    if gap_y <= tol:
        return gap_y, primal, b
    gap, primal_w, b_w = certify(WT, b, m0)
    if gap_y <= gap:
        return gap_y, primal, b
    return gap, primal_w, b_w


def _dual_norm(penalty, G):
    """``Omega^*(G)``; for the trace norm of a few tasks (``G`` task-major)
    the largest eigenvalue of the ``T x T`` Gram, without the validation
    passes of :func:`~skmtl.penalties._trace_norm.spectral_norm`."""
    if isinstance(penalty, TraceNorm) and 0 < G.shape[0] <= min(SMALL, G.shape[1]):
        top = np.linalg.eigvalsh(G @ G.T)[-1]
        if np.isfinite(top):
            return float(np.sqrt(max(top, 0.0)))
    return float(penalty.dual_norm(G))


def _relative(primal, dual):
    return max(primal - dual, 0.0) / max(primal, _TINY)


def _prox_with_value(penalty, VT, threshold, state):
    """``(prox(VT), Omega(prox(VT)))`` of the task-major penalty.

    For the trace norm with few tasks, singular value thresholding from the
    eigenpairs of the ``T x T`` Gram of ``VT`` in one product
    ``P = Q_k diag(1 - threshold / s_k) Q_k^T VT`` (the route and accuracy
    test of :func:`skmtl.penalties._trace_norm.prox_trace_norm`, which
    falls back to it otherwise), and ``||P||_* = sum_k (s_k - threshold)``
    read off the same eigenvalues: the near-zero singular values that a
    Gram of ``P`` would add up are thresholded away, and an SVD of ``P``
    costs more than a FISTA step at d = 20,000.
    """
    T = VT.shape[0]
    if isinstance(penalty, TraceNorm) and 0 < T <= min(SMALL, VT.shape[1]):
        lam, Q = np.linalg.eigh(VT @ VT.T)
        s = np.sqrt(np.maximum(lam, 0.0))
        if np.isfinite(s[-1]) and threshold >= _GRAM_RTOL * s[-1] > 0:
            k = int(np.count_nonzero(s > threshold))
            if k == 0:
                return np.zeros(VT.shape), 0.0
            s_k, Q_k = s[T - k :], Q[:, T - k :]
            M = (Q_k * (1.0 - threshold / s_k)) @ Q_k.T
            return M @ VT, float((s_k - threshold).sum())
    P = penalty.prox(VT, threshold, state=state)
    return P, float(penalty.value(P))


def _prox_step(lc, penalty, prox_state, alpha, YT, fY, GT, L, b):
    """Proximal steps from ``YT`` with curvature ``L``, doubled until the
    quadratic upper model holds (at most 60 times).

    Returns ``(WT, m0, f, b, L, n_rejected, Omega(WT), WT - YT)``.
    """
    for n_rejected in range(60):  # noqa: B007
        VT = GT * (-1.0 / L)  # in place: one temporary of shape (T, d) fewer
        VT += YT
        WT, pen = _prox_with_value(penalty, VT, alpha / L, prox_state)
        m0 = lc.margins(WT)
        # One Newton step from the intercepts of Y (quadratic convergence:
        # b is then optimal to rounding in practice, and f an upper bound).
        f, b_new = lc.value(m0, b, _STEP_INTERCEPT_STEPS)
        # D = W - Y in the memory of V when the prox returned a new array.
        D = np.subtract(WT, YT, out=None if np.may_share_memory(WT, VT) else VT)
        model = fY + np.vdot(GT, D) + 0.5 * L * np.vdot(D, D)
        if f <= model + 1e3 * _EPS * abs(fY):
            break
        L *= _GROW
    return WT, m0, f, b_new, L, n_rejected, pen, D


def fista_logistic(
    datafit,
    alpha,
    *,
    penalty=None,
    W0=None,
    b0=None,
    tol=1e-6,
    max_iter=10_000,
    check_every=10,
    verbose=0,
):
    """FISTA for the logistic loss with the local curvature as its step.

    The global ``L = max_t ||X_t||^2 / (4 c_t)`` assumes ``p (1 - p) = 1/4``
    on every row; away from ``W = 0`` the margins grow and the curvature
    drops (sparse wide data at 0.1 alpha_max: 30x below ``L``). Each step
    tries a curvature ``_SHRINK`` times the last accepted one, checks the
    sufficient-decrease condition of the quadratic upper model (one product
    ``X W``) and multiplies it by ``_GROW`` until it holds; the momentum
    follows the varying step (Scheinberg, Goldfarb & Bai, 2014:
    ``t_{k+1} = (1 + sqrt(1 + 4 t_k^2 L_{k+1} / L_k)) / 2``, still valid when
    ``L_{k+1}`` grows after a rejection), with gradient-based restart; free
    intercepts at their optimum for ``W`` (:class:`_LocalCurvature`; at a
    trial step one Newton step from those of ``Y``, which converges
    quadratically, and the value there is the loss at the intercepts
    returned, so a valid primal value); margins extrapolated, not recomputed.

    Stopping: every step evaluates the gradient at the extrapolated point
    ``Y`` with its intercepts at their optimum; its scaled probabilities are
    a dual-feasible point, so ``P(W) - D(Y)`` bounds the gap of the current
    iterate ``W`` without a product with ``X`` (``f(W)`` is known from its
    step). When that bound reaches ``tol``, the exact gap of ``W`` against
    that dual point (exact trace norm and dual norm, no product with ``X``)
    is the certificate; if it is above ``tol``, the certificate of
    :func:`fista` at ``W``'s own dual point (one product, an SVD) is tried,
    and the smaller gap is reported. That scaled point is only first-order
    accurate (the gap lags the objective); for the trace norm of a few tasks
    its polish (:mod:`skmtl.solvers._dual_polish`: the probabilities
    corrected so that all top singular values of ``G`` sit at ``alpha``,
    second-order accurate, checked exactly) is tried first from a bound of
    ``sqrt(tol) / 4`` on (:class:`~skmtl.solvers._dual_polish.PolishSchedule`;
    ``info['n_polished']`` counts the tries): 57 iterations instead of 109
    on the d = 20,000 classifier of ``bench_scaling.py``. So the solver
    stops at the first certified iterate instead of at a multiple of
    ``check_every``, and its ``gap`` may be far below ``relative_gap``
    recomputed at ``W``'s dual point (both are valid bounds on the
    suboptimality of ``W``).
    With ``alpha == 0`` (no scaled dual point) the certificate is computed
    every ``check_every`` steps.
    """
    penalty = make_penalty(penalty)
    pen_t = penalty.transposed()  # the loop is task-major
    prox_state = pen_t.prox_state()
    lc = _LocalCurvature(datafit)
    WT, b = _starting_point(datafit, lc, W0, b0)
    scale0 = max(alpha_max(datafit, penalty), _TINY) if alpha == 0 else 1.0
    L = lc.curvature_guess()
    m0 = lc.margins(WT)
    f_W, b = lc.value(m0, b)
    pen_W = float(pen_t.value(WT))

    def certify(WT, b, m0):
        return _certify_margins(lc, datafit, penalty, alpha, scale0, WT.T, b, m0)

    ET, m0p, bp = None, m0, b  # ET = W - W_previous (unused while beta == 0)
    t_k, history, n_rejected, n_certified = 1.0, [], 0, 0
    trigger = tol  # bound on the gap below which the certificate is computed
    polish = PolishSchedule(lc, penalty, alpha, tol)
    ctx = (certify, penalty, alpha, tol, lc, polish)  # what _confirm needs
    next_bound = 1
    gap, converged, it, stop_reason = np.inf, False, 0, "max_iter"
    for it in range(1, max_iter + 1):
        L_try = L * _SHRINK
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k * L_try / L))
        beta = (t_k - 1.0) / t_next
        YT, mY, b_start = _extrapolate(beta, WT, ET, m0, m0p, b, bp)
        fY, GT, bY, pY = lc.value_grad(mY, b_start)
        if alpha > 0 and it >= next_bound:
            primal = f_W + alpha * pen_W
            bound = _relative(primal, _dual_value(lc.rows, pen_t, alpha, GT, pY))
            history.append(primal)
            # Far from the target the bound is evaluated every few steps.
            far = max(_BOUND_FAR * trigger, POLISH_FAR * polish.trigger)
            next_bound = it + (_BOUND_SKIP if bound > far else 1)
            scaled = bound <= trigger
            if scaled or polish.due(bound):
                gap, history[-1], b = _confirm(
                    ctx, f_W, WT, b, m0, GT, pY, bound, scaled
                )
                n_certified += 1
                _report(verbose, it - 1, history[-1], gap, L, bound)
                if gap <= tol:
                    it -= 1  # W is the iterate of the previous step
                    converged, stop_reason = True, "converged"
                    break
                if scaled:  # the bound undershot the gap: ask for as much more
                    trigger = max(bound * tol / gap, 0.1 * tol)
        WT_new, m0_new, f_new, b_new, L_try, n_rej, pen_new, DT = _prox_step(
            lc, pen_t, prox_state, alpha, YT, fY, GT, L_try, bY
        )
        n_rejected += n_rej
        # Restart when the momentum points against the proximal-gradient step.
        # The next extrapolation's direction, in the memory of Y (done with).
        ET = np.subtract(WT_new, WT, out=None if YT is WT else YT)
        restart = np.vdot(DT, ET) < 0
        m0p, bp = m0, b
        WT, m0, b, L, f_W, pen_W = WT_new, m0_new, b_new, L_try, f_new, pen_new
        t_k = 1.0 if restart else t_next
        if (alpha == 0 and it % check_every == 0) or it == max_iter:
            gap, primal, b = certify(WT, b, m0)
            history.append(primal)
            n_certified += 1
            _report(verbose, it, primal, gap, L)
            if gap <= tol:
                converged, stop_reason = True, "converged"
                break
    info = {"n_rejected": n_rejected, "n_certified": n_certified}
    info["n_polished"] = polish.n_tries
    return _finish(WT, b, history, it, gap, converged, stop_reason, info)


def _extrapolate(beta, WT, ET, m0, m0p, b, bp):
    """``Y = W + beta (W - W_previous)``, its margins, and the start of the
    Newton solve for its intercepts, extrapolated like ``W``."""
    if not beta:
        return WT, m0, b
    YT = ET  # in place: ET is the loop's own and not needed after this
    YT *= beta
    YT += WT
    b_start = None if b is None else b + beta * (b - bp)
    return YT, m0 + beta * (m0 - m0p), b_start


def _finish(WT, b, history, it, gap, converged, stop_reason, info):
    """The :class:`SolverResult` of a task-major fit (finite, or an error)."""
    W = np.ascontiguousarray(WT.T)
    if not np.all(np.isfinite(W)):
        raise FloatingPointError(
            "The solver produced non-finite coefficients; check the scale of X."
        )
    return SolverResult(
        W, b, np.asarray(history), it, float(gap), converged, stop_reason, info
    )


def _starting_point(datafit, lc, W0, b0):
    """Task-major ``WT`` (zeros by default) and ``b`` of a fit."""
    T, d = datafit.n_tasks, datafit.n_features
    if W0 is None:
        WT = np.zeros((T, d))
    else:
        WT = np.array(np.asarray(W0, dtype=float).T, order="C")
    b = None
    if lc.free:
        b = datafit.initial_intercept() if b0 is None else np.array(b0, dtype=float)
    return WT, b


def _report(verbose, it, primal, gap, L, bound=None):
    if verbose > 1:
        extra = "" if bound is None else f"  bound {bound:.3e}"
        print(
            f"[fista] iter {it:6d}  objective {primal:.10g}  gap {gap:.3e}"
            f"  L {L:.3e}{extra}"
        )


# Newton steps allowed (``max_iter`` of the estimators counts FISTA iterations;
# a certified Newton solve takes 8-20 steps on Landmine).
_NEWTON_MAX_STEPS = 200


def use_newton(datafit):
    """Whether :func:`solve` gives ``datafit`` to proximal Newton."""
    if not isinstance(datafit, LogisticLoss) or datafit.soft_targets:
        return False
    d = datafit.n_features
    cap = max(_NEWTON_DATA_FACTOR * _data_bytes(datafit.blocks), _NEWTON_MIN_BYTES)
    return datafit.n_tasks * d * d * 8 <= min(_NEWTON_MAX_BYTES, cap)


def _data_bytes(blocks):
    """Bytes of the distinct design matrices of ``blocks``."""
    seen, total = set(), 0
    for X in blocks.Xs:
        if id(X) in seen:
            continue
        seen.add(id(X))
        if sp.issparse(X):
            total += X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
        else:
            total += np.asarray(X).nbytes
    return total


def solve(
    datafit,
    alpha,
    *,
    penalty=None,
    W0=None,
    b0=None,
    tol=1e-6,
    max_iter=10_000,
    verbose=0,
):
    """Solve the centralized problem with the fastest solver for the data-fit.

    Squared loss in Gram or sample-space form goes to ADMM with exact per-task
    solves (:func:`skmtl.solvers._admm.solve_squared`), except where 'auto'
    chose the sample form but FISTA on the data may be faster: then FISTA
    races it (:func:`skmtl.solvers._race.race_squared`, ``info['race']``
    says which form finished the solve); the logistic loss to
    proximal Newton (:func:`skmtl.solvers._newton.newton_logistic`, whose
    ``n_iter`` counts Newton steps) unless some task is trained on soft
    targets or the per-task ``d x d`` Hessians would exceed about 1 GB or
    twice the data (wide ``X``, dense or sparse: then :func:`fista_logistic`,
    FISTA on the local curvature, which never forms them); everything else
    (soft targets included) to FISTA. All stop on a certified relative duality gap.
    """
    if not isinstance(datafit, (SquaredLoss, LogisticLoss)):
        raise TypeError(f"Unknown data-fit {type(datafit).__name__}.")
    if isinstance(datafit, SquaredLoss) and wants_race(datafit):
        with single_blas_thread(min(datafit.n_features, datafit.n_tasks) <= SMALL):
            return race_squared(
                datafit,
                alpha,
                penalty=make_penalty(penalty),
                W0=W0,
                tol=tol,
                max_iter=max_iter,
                verbose=verbose,
            )
    if isinstance(datafit, SquaredLoss) and datafit.form in ("gram", "sample"):
        res = solve_squared(
            datafit,
            alpha,
            penalty=penalty,
            W0=W0,
            tol=tol,
            max_iter=max_iter,
            verbose=verbose,
        )
        return res
    kwargs = dict(penalty=penalty, W0=W0, b0=b0, tol=tol, verbose=verbose)
    if use_newton(datafit):
        max_steps = min(int(max_iter), _NEWTON_MAX_STEPS)
        return newton_logistic(datafit, alpha, max_iter=max_steps, **kwargs)
    small = min(datafit.n_features, datafit.n_tasks) <= SMALL
    if isinstance(datafit, LogisticLoss) and not datafit.soft_targets:
        with single_blas_thread(small):
            return fista_logistic(datafit, alpha, max_iter=max_iter, **kwargs)
    # Multi-threaded BLAS stalls on the small factorizations of the prox when
    # the cores are shared (a 27 x 27 eigh: 8 ms instead of 0.2 ms, measured).
    with single_blas_thread(small):
        return fista(datafit, alpha, max_iter=max_iter, **kwargs)

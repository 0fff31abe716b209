"""Centralized solvers for penalized (trace norm, l2,1) multi-task learning.

Plain functions on a data-fit (see :mod:`skmtl.datafits._losses`); they return arrays
and know nothing of estimators.

.. math::

    \\min_{W, b} \\; F(W, b) = \\sum_t l_t(w_t, b_t) + \\alpha \\, \\Omega(W)

with ``Omega`` a :class:`~skmtl.penalties.Penalty` (the trace norm by default).
"""

import numpy as np

from ..datafits._losses import LogisticLoss, SquaredLoss
from ..penalties._base import make_penalty
from ..utils._blas import SMALL, single_blas_thread
from ._admm import solve_squared
from ._gaps import alpha_max, relative_gap
from ._newton import newton_logistic
from ._result import SolverResult

# Proximal Newton holds one d x d matrix per task (its model's Hessians): it is
# used while they fit in this many bytes, FISTA beyond.
_NEWTON_MAX_BYTES = 1 << 30

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
        if it % check_every == 0 or it == max_iter:
            gap, primal, b_ref = relative_gap(datafit, W, b, alpha, penalty)
            history.append(primal)
            if verbose > 1:
                print(f"[fista] iter {it:6d}  objective {primal:.10g}  gap {gap:.3e}")
            if gap <= tol:
                b = b_ref
                converged, stop_reason = True, "converged"
                break
    if not np.all(np.isfinite(W)):
        raise FloatingPointError(
            "The solver produced non-finite coefficients; check the scale of X."
        )
    return SolverResult(
        W, b, np.asarray(history), it, float(gap), converged, stop_reason
    )


# Newton steps allowed (``max_iter`` of the estimators counts FISTA iterations;
# a certified Newton solve takes 8-20 steps on Landmine).
_NEWTON_MAX_STEPS = 200


def use_newton(datafit):
    """Whether :func:`solve` gives ``datafit`` to proximal Newton."""
    if not isinstance(datafit, LogisticLoss) or datafit.soft_targets:
        return False
    d = datafit.n_features
    return datafit.n_tasks * d * d * 8 <= _NEWTON_MAX_BYTES


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
    solves (:func:`skmtl.solvers._admm.solve_squared`); the logistic loss to
    proximal Newton (:func:`skmtl.solvers._newton.newton_logistic`, whose
    ``n_iter`` counts Newton steps) unless some task is trained on soft
    targets or the per-task ``d x d`` Hessians would exceed about 1 GB (wide
    ``X``, dense or sparse: then FISTA, which never forms them); everything
    else to FISTA. All stop on a certified relative duality gap.
    """
    if not isinstance(datafit, (SquaredLoss, LogisticLoss)):
        raise TypeError(f"Unknown data-fit {type(datafit).__name__}.")
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
    if use_newton(datafit):
        return newton_logistic(
            datafit,
            alpha,
            penalty=penalty,
            W0=W0,
            b0=b0,
            tol=tol,
            max_iter=min(int(max_iter), _NEWTON_MAX_STEPS),
            verbose=verbose,
        )
    # Multi-threaded BLAS stalls on the small factorizations of the prox when
    # the cores are shared (a 27 x 27 eigh: 8 ms instead of 0.2 ms, measured).
    with single_blas_thread(min(datafit.n_features, datafit.n_tasks) <= SMALL):
        return fista(
            datafit,
            alpha,
            penalty=penalty,
            W0=W0,
            b0=b0,
            tol=tol,
            max_iter=max_iter,
            verbose=verbose,
        )

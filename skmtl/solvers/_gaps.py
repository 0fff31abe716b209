"""Objectives, duality gaps and ``alpha_max``, for any data-fit and penalty.

For a separable data-fit ``f(W, b) = sum_t l_t(w_t, b_t)`` and a norm penalty
``Omega`` (see :mod:`skmtl.penalties`), the problem

.. math::

    P(W, b) = f(W, b) + \\alpha \\, \\Omega(W)

has the Fenchel dual

.. math::

    D(\\theta) = -\\sum_t l_t^*(\\theta_t)
    \\quad \\text{subject to} \\quad \\Omega^*(G(\\theta)) \\le \\alpha ,

where ``G(theta)`` is the data-fit gradient that the dual point ``theta``
represents. The dual point used here is the one of ``(W, b)`` itself (the
residuals of the squared loss, the probabilities of the logistic loss),
scaled by ``kappa = min(1, alpha / Omega^*(grad f(W)))`` so that it is
feasible; at the optimum ``kappa = 1`` and the gap ``P - D`` vanishes.

The split of the work is the point of this module: the data-fit provides
``value`` and the conjugate side ``dual_objective(W, b, kappa)``, the penalty
``value`` and ``dual_norm``, and nothing else knows how they combine.
"""

import numpy as np

from ..penalties._base import make_penalty

__all__ = [
    "alpha_max",
    "dual_scaling",
    "duality_gap",
    "penalized_objective",
    "relative_gap",
    "squared_dual",
]

_TINY = np.finfo(float).tiny


def penalized_objective(datafit, penalty, W, b, alpha):
    """The primal objective ``f(W, b) + alpha * Omega(W)``.

    Parameters
    ----------
    datafit : data-fit
        See :mod:`skmtl.datafits._losses`.
    penalty : Penalty or None
        None means the trace norm.
    W : ndarray of shape (n_features, n_tasks)
    b : ndarray of shape (n_tasks,) or None
        Free intercepts (None when the data-fit has none).
    alpha : float
        Regularization strength.

    Returns
    -------
    value : float
    """
    penalty = make_penalty(penalty)
    return float(datafit.value(W, b) + alpha * penalty.value(W))


def dual_scaling(dual_norm, alpha):
    """``kappa = min(1, alpha / dual_norm)``: the feasible scaling of a dual point.

    Examples
    --------
    >>> dual_scaling(4.0, 1.0), dual_scaling(0.5, 1.0)
    (0.25, 1.0)
    """
    if dual_norm <= alpha or dual_norm == 0.0:
        return 1.0
    return alpha / dual_norm


def squared_dual(S, R, kappa):
    """Dual value of the squared loss at the scaled residuals ``kappa r``.

    With ``S = sum_t ||r_t||^2`` and ``R = sum_t r_t^T y_t`` (weighted and
    scaled per task like the loss),

    .. math::

        D(\\kappa) = \\kappa R - \\tfrac{\\kappa^2}{2} S .

    Used by :meth:`~skmtl.datafits._losses.SquaredLoss.dual_objective` and by
    ADMM (:mod:`skmtl.solvers._admm`), which computes ``S`` and ``R`` from the
    Gram form.

    Examples
    --------
    >>> squared_dual(2.0, 3.0, 1.0)
    2.0
    """
    return kappa * R - 0.5 * kappa * kappa * S


def duality_gap(datafit, penalty, W, b, alpha, G=None):
    """Primal value, dual value and duality gap at ``(W, b)``.

    For a logistic data-fit with free intercepts the dual is exact only when
    ``b`` is optimal for ``W`` (see :func:`relative_gap`, which refines it).

    Parameters
    ----------
    datafit : data-fit
    penalty : Penalty or None
        None means the trace norm.
    W : ndarray of shape (n_features, n_tasks)
    b : ndarray of shape (n_tasks,) or None
    alpha : float
        Regularization strength, ``> 0``.
    G : ndarray of shape (n_features, n_tasks), default=None
        ``grad_W f(W, b)`` when already computed.

    Returns
    -------
    primal, dual, gap : float
        ``gap = primal - dual >= P(W, b) - min P >= 0`` up to rounding.
    """
    penalty = make_penalty(penalty)
    if G is None:
        G = datafit.gradient(W, b)[0]
    kappa = dual_scaling(penalty.dual_norm(G), alpha)
    primal = penalized_objective(datafit, penalty, W, b, alpha)
    dual = datafit.dual_objective(W, b, kappa)
    return primal, dual, primal - dual


def alpha_max(datafit, penalty=None):
    """Smallest ``alpha`` for which ``W = 0`` is optimal.

    It is the dual norm of the data-fit gradient at ``W = 0``, with the
    intercepts at their optimum for ``W = 0``: the spectral norm for the
    trace norm, the largest row norm for ``L21``.
    """
    return make_penalty(penalty).dual_norm(datafit.gradient_at_zero())


def relative_gap(datafit, W, b, alpha, penalty=None):
    """Certified relative duality gap ``(P - D) / P`` at ``(W, b)``.

    For a logistic data-fit with free intercepts, ``b`` is first refined to its
    optimum for ``W`` (the dual needs it); the refined ``b`` is returned.  A
    data-fit with a ``gap_terms(W, b)`` method (the logistic loss) gives the
    refined ``b``, its value, its gradient and its dual at once, from one
    pass over the margins; the result is the same as by the protocol.

    With ``alpha == 0`` no dual point of the scaled family is feasible unless
    the gradient is exactly zero, so the gap would stay at 1 forever; the
    optimality condition is then ``grad f(W) = 0`` and the returned measure is
    the relative residual ``Omega^*(grad f(W)) / Omega^*(grad f(0))`` (the
    scale is ``alpha_max``).

    Returns
    -------
    gap : float
    primal : float
    b : ndarray or None
    """
    penalty = make_penalty(penalty)
    terms = (
        datafit.gap_terms(W, b) if alpha > 0 and hasattr(datafit, "gap_terms") else None
    )
    if terms is not None:  # the logistic loss: one pass over the margins
        b, value, G, dual = terms
        kappa = dual_scaling(penalty.dual_norm(G), alpha)
        primal = float(value + alpha * penalty.value(W))
        return max(primal - dual(kappa), 0.0) / max(primal, _TINY), primal, b
    if datafit.has_free_intercept:
        b = datafit.optimal_intercept(W, b)
    if alpha == 0:
        primal = datafit.value(W, b)
        norm = penalty.dual_norm(datafit.gradient(W, b)[0])
        scale = alpha_max(datafit, penalty)
        residual = 0.0 if norm == 0 else norm / max(scale, _TINY)
        return residual, primal, b
    primal, _, gap = duality_gap(datafit, penalty, W, b, alpha)
    return max(gap, 0.0) / max(primal, _TINY), primal, b

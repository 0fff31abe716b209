"""Certified stopping and step adaptation for the asynchronous estimators.

The AMTL loop (:func:`skmtl._amtl.run_amtl`) watches a fixed-point residual,
whose relation to the objective depends on the data and the step.  The
estimators instead stop on the same certified relative duality gap as the
centralized ones (:func:`skmtl.solvers._gaps.relative_gap`), evaluated on the
published prox at the epoch checks whenever the data-fit is local
(:class:`GapCheck`), and report it as ``dual_gap_``.  With remote data (a
:class:`skmtl.distributed.RemoteDatafit`) no certificate can be computed
locally: the gap is NaN and the residual decides.

Douglas-Rachford converges for any step, but its speed depends on the step by
two orders of magnitude across data sets (measured, see
``benchmarks/bench_async_defaults.py``).  Between restarts of the loop the
step is adapted by residual balancing (:func:`balance_ratio`), the rule of
ADMM (Boyd et al., 2011, section 3.4.1) written for Douglas-Rachford: one
synchronous step from the current point gives the relative primal residual
(consensus of the per-task proxes with the penalty's prox) and the relative
dual residual (change of the penalty's prox); the step shrinks when the first
dominates and grows when the second does.  Each restart starts from
``V0 = W - eta grad f(W)``, the fixed point's form at the current model, so no
progress on the model is lost.
"""

import numpy as np

from ..solvers._gaps import relative_gap

__all__ = [
    "GapCheck",
    "adapted_step",
    "balance_ratio",
    "certified_gap",
    "is_local",
    "restart_point",
]


def is_local(datafit):
    """Whether the data-fit holds its data here (a gap can be certified)."""
    return all(
        hasattr(datafit, name)
        for name in ("dual_objective", "task_prox", "gradient", "value")
    )


def certified_gap(datafit, W, b, alpha, penalty):
    """Certified relative duality gap at ``(W, b)``; NaN for remote data.

    Returns ``(gap, b)`` where ``b`` is the intercept the certificate used
    (for the logistic loss, refined to its optimum for ``W``).
    """
    if not is_local(datafit):
        return float("nan"), b
    gap, _, b_ref = relative_gap(datafit, W, b, alpha, penalty)
    return float(gap), b_ref


class GapCheck:
    """``on_check`` hook of :func:`run_amtl`: stop once the gap is certified.

    At every epoch check the relative gap of the published prox is computed;
    when it is at most ``tol`` every task is deactivated, which ends the run.
    ``inner`` (e.g. a task monitor's hook) is called first.
    """

    def __init__(self, datafit, alpha, penalty, tol, inner=None):
        self.datafit = datafit
        self.alpha = alpha
        self.penalty = penalty
        self.tol = tol
        self.inner = inner
        self.gap = np.inf
        self.converged = False

    def __call__(self, P, b, task_updates):
        new = None if self.inner is None else self.inner(P, b, task_updates)
        # About one gradient and one dual norm: small next to an epoch of T
        # task updates, each followed by a refresh of the prox.
        self.gap, _ = certified_gap(self.datafit, P, b, self.alpha, self.penalty)
        if self.gap <= self.tol:
            self.converged = True
            return np.zeros(len(task_updates), dtype=np.int64)
        return new


def restart_point(datafit, W, b, step):
    """``V0 = W - step * grad_W f(W, b)``: the fixed point's form at ``W``."""
    return W - step * datafit.gradient(W, b)[0]


def balance_ratio(datafit, W, b, step, alpha, penalty):
    """Relative primal over relative dual residual of one synchronous DR step.

    From ``V = W - step grad f(W)`` and ``P = prox_{step alpha}(V)``: every
    task's prox ``y_t = prox_{step l_t}(2 P_t - V_t)`` gives the primal
    residual ``||Y - P|| / max(||Y||, ||P||)``; the next penalty prox ``P'``
    of ``V + Y - P`` gives the dual residual ``||P' - P|| / ||V - P||``.
    Returns ``inf`` when ``P`` is zero (the threshold kills the model: the
    step is too large), NaN when the ratio is undefined.
    """
    V = restart_point(datafit, W, b, step)
    threshold = step * alpha
    P = penalty.prox(V, threshold)
    Y = np.empty_like(P)
    for t in range(datafit.n_tasks):
        bt = None if b is None else float(b[t])
        Y[:, t] = datafit.task_prox(t, 2.0 * P[:, t] - V[:, t], bt, step)[0]
    norm_p = np.linalg.norm(P)
    if norm_p == 0.0:
        return np.inf
    primal = np.linalg.norm(Y - P) / max(norm_p, np.linalg.norm(Y))
    P_next = penalty.prox(V + (Y - P), threshold)
    dual_scale = np.linalg.norm(V - P)
    if dual_scale == 0.0:
        return np.nan
    dual = np.linalg.norm(P_next - P) / dual_scale
    if dual == 0.0:
        return np.inf if primal > 0 else np.nan
    return float(primal / dual)


def adapted_step(step, ratio, band=3.0, max_factor=10.0):
    """The next step from a balance ratio: unchanged inside ``[1/band, band]``.

    Outside, the step is divided by ``sqrt(ratio)`` (clipped to a factor of
    ``max_factor``): a dominant primal residual means too long a step.
    """
    if not np.isfinite(ratio) and not ratio == np.inf:
        return step
    if 1.0 / band <= ratio <= band:
        return step
    factor = np.clip(np.sqrt(ratio), 1.0 / max_factor, max_factor)
    return float(step / factor)

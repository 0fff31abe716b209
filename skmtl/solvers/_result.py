"""The one result type of every solver: FISTA, ADMM and the AMTL engine.

Solvers return plain arrays in a :class:`SolverResult`; they know nothing of
estimators.  Only the estimator base (:mod:`skmtl.estimators._base`) turns a
result into fitted attributes (``coef_``, ``n_iter_``, ...).
"""

from typing import NamedTuple

import numpy as np

__all__ = ["SolverResult"]


class SolverResult(NamedTuple):
    """What a solver returns.

    The six positional fields are common to every solver; what only one
    solver knows goes in ``info`` and reads as an attribute too
    (``result.rho`` is ``result.info["rho"]``).

    Attributes
    ----------
    W : ndarray of shape (n_features, n_tasks)
        The model, one column per task.
    b : ndarray of shape (n_tasks,) or None
        The free intercepts (None when the data-fit has none, e.g. squared
        loss in Gram form, where the intercepts are recovered from ``W``).
    objective_history : ndarray
        The objective at each convergence check (FISTA), after every
        iteration (ADMM, starting point first), or, for AMTL, a structured
        array with one row per epoch and fields 'time', 'n_updates',
        'residual' and 'objective'.
    n_iter : int
        Iterations (FISTA, ADMM) or epochs of ``n_tasks`` task updates (AMTL).
    gap : float
        The final stopping measure: the certified relative duality gap
        (FISTA, ADMM) or the relative fixed-point residual (AMTL).
    converged : bool
        Whether ``gap <= tol`` (or another convergence criterion) stopped the
        solver.
    stop_reason : str, default=""
        Why the solver stopped: 'converged', 'max_iter', and for AMTL also
        'max_time' or 'deactivated'; 'callback' when FISTA's callback
        stopped it.
    info : dict or None, default=None
        Solver-specific extras.  ADMM: 'rho' (the final penalty, to warm-start
        a nearby problem).  AMTL: 'history' (the same array as
        ``objective_history``), 'n_epochs', 'n_updates', 'residual',
        'task_stats', 'splitting', 'step_size', 'relaxation',
        'max_staleness', 'relaxation_bound' and 'events'.
    """

    W: np.ndarray
    b: np.ndarray | None
    objective_history: np.ndarray
    n_iter: int
    gap: float
    converged: bool
    stop_reason: str = ""
    info: dict | None = None

    def __getattr__(self, name):
        # Only called when ``name`` is not a field: look it up in ``info``.
        info = tuple.__getitem__(self, 7)
        if info is not None and name in info:
            return info[name]
        raise AttributeError(
            f"SolverResult has no field or info entry {name!r}"
            f" (info keys: {sorted(info) if info else []})."
        )

    def with_info(self, **extras):
        """A copy with ``extras`` added to (or replacing entries of) ``info``."""
        return self._replace(info={**(self.info or {}), **extras})

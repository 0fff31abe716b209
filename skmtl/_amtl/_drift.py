"""A jump along the drift of the published model (penalties with a support step).

With the l2,1 norm and nearly collinear features (standardized Parkinson's:
``Jitter:DDP = 3 Jitter:RAP`` and ``Shimmer:DDA = 3 Shimmer:APQ3``, rounded)
the objective is almost flat along the exchange of weight between their rows.
Douglas-Rachford, like ADMM, moves along it by the tiny slope times the step
at every epoch, and the certified gap stays on a plateau until a row reaches
zero: tens of thousands of epochs on Parkinson's, where the asynchronous fit
stopped at ``max_iter``.  :class:`ModelDrift` watches the models the
certificate is computed on (:class:`~skmtl._amtl._certified.GapCheck`); when
the gap stalls while the model moves at a constant speed, it proposes the
model where the first row heading straight to zero reaches it
(``penalty.support_step``), and the estimator restarts from there
(:func:`~skmtl._amtl._certified.restart_point`), as it does after a probe of
the step search.  The centralized counterpart is
:class:`skmtl.solvers._admm._Drift`.
"""

import numpy as np

from ._certified import log_rate

__all__ = ["ModelDrift"]

# Three checked models at least _SPACING epochs apart whose two moves per
# epoch agree to _RTOL are a drift (a slow geometric convergence, whose speed
# falls by 1 - q per epoch, passes only if q > 0.999).  A jump restarts the
# loop, whose transient costs tens of epochs, so it is taken only when the
# first model is at least _SETTLE epochs into the run (past a restart's
# transient: on raw School, threaded, a fresh run at a small step looked like
# a drift at epochs 6-8) and both the support change and ``tol`` at the gap's
# current rate are at least _WORTH epochs away (raw School, threaded, looked
# like a drift at a gap of 1.02e-6 falling by 1% per epoch); at most
# _MAX_JUMPS jumps per fit.
_RTOL = 1e-2
_SPACING = 10
_SETTLE = 20
_WORTH = 100.0
_MAX_JUMPS = 4


class ModelDrift:
    """Detect a constant-speed drift of the checked models; propose the jump.

    Parameters
    ----------
    penalty : Penalty
        Must have ``support_step(W, dW)`` (see :meth:`of`).
    tol : float
        The gap the fit stops at.
    """

    def __init__(self, penalty, tol):
        self.support_step = penalty.support_step
        self.tol = tol
        self.n_jumps = 0
        self.reset()

    @classmethod
    def of(cls, penalty, tol):
        """A drift watcher for ``penalty``, or None when it has no support step."""
        return cls(penalty, tol) if hasattr(penalty, "support_step") else None

    def reset(self):
        """Forget the models seen (a new run of the loop starts)."""
        self.seen = []  # (epoch, model, gap)

    def observe(self, epoch, P, gap):
        """Record the model checked at ``epoch``; the model to jump to, or None."""
        if epoch < _SETTLE or (self.seen and epoch - self.seen[-1][0] < _SPACING):
            return None
        self.seen = [*self.seen[-2:], (epoch, np.array(P, dtype=np.float64), gap)]
        if len(self.seen) < 3 or self.n_jumps >= _MAX_JUMPS:
            return None
        (e0, P0, g0), (e1, P1, _), (e2, P2, g2) = self.seen
        if log_rate([e0, e2], [g0, g2], self.tol)[1] < _WORTH:
            return None  # the gap is falling fast enough
        speed = (P2 - P1) / (e2 - e1)  # per epoch
        size = float(np.linalg.norm(speed))
        if not size > 0:
            return None
        if np.linalg.norm(speed - (P1 - P0) / (e1 - e0)) > _RTOL * size:
            return None
        s = self.support_step(P2, speed)
        if not _WORTH <= s <= np.linalg.norm(P2) / size:
            return None
        self.n_jumps += 1
        self.reset()
        return P2 + s * speed

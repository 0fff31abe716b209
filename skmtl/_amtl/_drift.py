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

__all__ = ["ModelDrift"]

# Three checked models whose two moves per epoch agree to this relative
# tolerance are a drift, if the gap did not halve over them and the support
# change is at least this many epochs away; at most this many jumps per fit.
_RTOL = 2e-2
_MIN_EPOCHS = 20.0
_MAX_JUMPS = 4


class ModelDrift:
    """Detect a constant-speed drift of the checked models; propose the jump.

    Parameters
    ----------
    penalty : Penalty
        Must have ``support_step(W, dW)`` (see :meth:`of`).
    """

    def __init__(self, penalty):
        self.support_step = penalty.support_step
        self.n_jumps = 0
        self.reset()

    @classmethod
    def of(cls, penalty):
        """A drift watcher for ``penalty``, or None when it has no support step."""
        return cls(penalty) if hasattr(penalty, "support_step") else None

    def reset(self):
        """Forget the models seen (a new run of the loop starts)."""
        self.seen = []  # (epoch, model, gap)

    def observe(self, epoch, P, gap):
        """Record the model checked at ``epoch``; the model to jump to, or None."""
        self.seen = [*self.seen[-2:], (epoch, np.array(P, dtype=np.float64), gap)]
        if len(self.seen) < 3 or self.n_jumps >= _MAX_JUMPS:
            return None
        (e0, P0, g0), (e1, P1, _), (e2, P2, g2) = self.seen
        if not (e0 < e1 < e2) or not g2 > 0.5 * g0:
            return None  # the gap is still falling: no plateau
        speed = (P2 - P1) / (e2 - e1)  # per epoch
        size = float(np.linalg.norm(speed))
        if not size > 0:
            return None
        if np.linalg.norm(speed - (P1 - P0) / (e1 - e0)) > _RTOL * size:
            return None
        s = self.support_step(P2, speed)
        if not _MIN_EPOCHS <= s <= np.linalg.norm(P2) / size:
            return None
        self.n_jumps += 1
        self.reset()
        return P2 + s * speed

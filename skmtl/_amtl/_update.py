"""The AMTL update rule (``doc/user_guide/amtl.rst``), in one place.

One activation of task ``t``:

1. read ``u = P[:, t]`` where ``P = prox_{eta alpha}(V_hat)`` and ``V_hat`` is the
   central state at some earlier version (reads may be stale);
2. forward step at the task node: ``z = u - eta * grad l_t(u)``;
3. Krasnoselskii-Mann update of its own block at the central node:
   ``v_t <- v_t + relaxation * (z - v_t)``.

A fixed point ``V*`` gives the solution ``W* = prox_{eta alpha}(V*)``.  The
threshold and the gradient step share the same ``eta``; the relaxation does not
move the fixed point, so per-task speed-ups (the dynamic step) go there.

``splitting='douglas-rachford'`` replaces step 2 by an exact per-task prox
(Douglas-Rachford splitting, also covered by ARock):
``y = prox_{eta l_t}(2 u - v_t)`` and ``z = v_t + y - u``; the KM update and the
fixed point ``W* = prox_{eta alpha}(V*)`` are unchanged.  Each task solves its
own subproblem exactly, so ill-conditioned tasks no longer slow the iteration
down; any ``eta > 0`` converges.
"""

from collections import deque

import numpy as np


def forward_step(datafit, t, u, ub, step_size):
    """Forward (gradient) step of task ``t`` at the prox column ``u``.

    Returns ``(z, zb)``; ``zb`` is None when the data-fit has no free intercept.
    """
    g, gb = datafit.task_gradient(t, u, ub)
    z = u - step_size * g
    zb = None if gb is None else ub - step_size * gb
    return z, zb


def douglas_rachford_step(datafit, t, u, ub, v, vb, step_size):
    """Douglas-Rachford step of task ``t``: ``z = v + prox_{eta l_t}(2u - v) - u``."""
    xb = None if ub is None else 2.0 * ub - vb
    y, yb = datafit.task_prox(t, 2.0 * u - v, xb, step_size)
    z = v + (y - u)
    zb = None if yb is None else vb + (yb - ub)
    return z, zb


SPLITTINGS = ("forward-backward", "douglas-rachford")


class TaskStep:
    """What a task node computes in one activation (picklable for Dask).

    Parameters
    ----------
    splitting : {'forward-backward', 'douglas-rachford'}
        The paper's gradient step, or an exact per-task prox.
    step_size : float
        ``eta``, shared with the central threshold ``eta * alpha``.
    """

    def __init__(self, splitting, step_size):
        if splitting not in SPLITTINGS:
            raise ValueError(
                f"splitting must be one of {SPLITTINGS}; got {splitting!r}."
            )
        self.splitting = splitting
        self.step_size = float(step_size)

    def __call__(self, datafit, t, read):
        if self.splitting == "forward-backward":
            return forward_step(datafit, t, read.u, read.ub, self.step_size)
        return douglas_rachford_step(
            datafit, t, read.u, read.ub, read.v, read.vb, self.step_size
        )


def km_update(v, z, relaxation):
    """Krasnoselskii-Mann step anchored at the central block ``v``, in place."""
    v += relaxation * (z - v)
    return v


def arock_relaxation_bound(n_tasks, max_staleness, c=0.9):
    """ARock's sufficient relaxation bound ``c / (1 + 2 tau / sqrt(T))``.

    Conservative (about 0.04 for T = 139, tau = T), but it guarantees
    convergence for any delays bounded by ``max_staleness``.

    Examples
    --------
    >>> round(arock_relaxation_bound(100, 100), 4)
    0.0429
    """
    if not 0 < c < 1:
        raise ValueError(f"c must be in (0, 1); got {c}.")
    return float(c / (1.0 + 2.0 * max_staleness / np.sqrt(n_tasks)))


class DynamicStep:
    """The paper's dynamic step size (eq. III.5-6), as a relaxation multiplier.

    Task ``t``'s relaxation is multiplied by
    ``c_t = log(max(mean of its last `window` delays, floor))`` and the result
    clipped to ``max_relaxation``.  With the natural log and ``floor=10`` the
    factor is at least 2.30: it mostly acts as a constant 2.3-3x larger
    relaxation (it has no convergence theory; the clip keeps it safe).

    Parameters
    ----------
    window : int, default=5
        Number of recent delays averaged per task.
    floor : float, default=10.0
        Lower bound on the mean delay before the log.
    log : callable, default=numpy.log
        The logarithm (the paper does not state its base).
    measure : {'staleness', 'time'}, default='staleness'
        The delay that drives it: staleness in updates (exact and
        deterministic on every backend) or the wall-clock (or virtual)
        round-trip time in seconds.
    max_relaxation : float, default=1.4
        Clip for the resulting relaxation.  With ``step_size <= 1/L`` the
        backward-forward operator is 2/3-averaged, so synchronous KM converges
        for relaxations below 1.5; 1.4 keeps a margin.

    Examples
    --------
    >>> ds = DynamicStep()
    >>> state = ds.new_state(2)
    >>> for delay in [3, 12, 30]:
    ...     ds.record(state, 0, delay)
    >>> print(round(ds.factor(state, 0), 4), round(ds.factor(state, 1), 4))
    2.7081 2.3026
    """

    def __init__(
        self, window=5, floor=10.0, log=np.log, measure="staleness", max_relaxation=1.4
    ):
        if int(window) < 1:
            raise ValueError(f"window must be >= 1; got {window}.")
        if floor <= 1:
            raise ValueError(
                f"floor must be > 1 so that the log is positive; got {floor}."
            )
        if measure not in ("staleness", "time"):
            raise ValueError(f"measure must be 'staleness' or 'time'; got {measure!r}.")
        if not max_relaxation > 0:
            raise ValueError(f"max_relaxation must be > 0; got {max_relaxation}.")
        self.window = int(window)
        self.floor = float(floor)
        self.log = log
        self.measure = measure
        self.max_relaxation = float(max_relaxation)

    def __repr__(self):
        return (
            f"DynamicStep(window={self.window}, floor={self.floor}, "
            f"measure={self.measure!r}, max_relaxation={self.max_relaxation})"
        )

    def new_state(self, n_tasks):
        """Per-task windows of recent delays."""
        return [deque(maxlen=self.window) for _ in range(n_tasks)]

    def record(self, state, t, delay):
        state[t].append(float(delay))

    def factor(self, state, t):
        recent = state[t]
        mean = float(np.mean(recent)) if recent else 0.0
        return float(self.log(max(mean, self.floor)))

    def relaxation(self, state, t, base):
        return min(base * self.factor(state, t), self.max_relaxation)

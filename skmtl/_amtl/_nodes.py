"""The two kinds of AMTL node: what a task node computes, and the central node.

A task's vector makes one round trip through this module: the central node
(:class:`CentralNode`) publishes ``P = prox(V)`` and a task node reads its column
(:class:`Read`); the task node's step (:class:`TaskStep`: a forward or a
Douglas-Rachford step) returns ``z``; the central node writes ``z`` into its
block of ``V`` with the Krasnoselskii-Mann update and keeps the prox current.

The update rule
---------------
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
down; any ``eta > 0`` converges.  (The logistic prox is solved to a tolerance
relative to the task's last move, see :class:`WarmLogisticProx`: an error
that vanishes as the iteration converges.)

The central node
----------------
The central node holds V (d x T), NOT the model: the model is
``W = prox_{eta alpha}(V)`` for the penalty (by default the trace norm), kept
current by the penalty's incremental prox.  Task nodes read columns of the last
published prox ``P`` together with the version of V it was computed from; every write
(one task's KM update) makes a new version.  The published state is an
immutable snapshot replaced as a whole, so a reader in another thread always
sees a ``P`` and a version that belong together.

Batched refresh
---------------
With ``refresh_every=1`` the prox is republished after every write.  With
``refresh_every=k > 1`` :meth:`CentralNode.refresh` publishes only once ``k``
writes have accumulated, so one prox serves ``k`` updates.  The staleness stays
exact: every read carries the version of the snapshot it came from, and the
engine measures staleness and applies back-pressure from those versions (a
snapshot that lags by ``k - 1 <= tau - 1`` versions still lets the engine
activate a task when nothing is outstanding, so no deadlock).  The update of a
task's block stays anchored at the current ``v_t`` (``v_t <- v_t + relaxation
* (z - v_t)``, as in the unbatched node): a task that reads a snapshot older
than its own last write then recomputes a step it already took instead of
taking it twice (ARock's form ``v_t + relaxation * (z - v_hat_t)`` did exactly
that and stalled at a 1e-3 residual with relaxation 1 on the simulated
backend).

The estimators' ``refresh_every`` (default 'auto': batched on the sequential
backend only, see :func:`skmtl._amtl._config.resolve_batch`) reaches the node
through ``run_amtl``.  A node built directly, or by ``run_amtl`` called
without ``refresh_every``, takes the defaults of :func:`central_node_options`
(a context variable, so they apply to the fits started in that context only)::

    with central_node_options(refresh_every=8):
        run_amtl(datafit, alpha, backend)
"""

import contextlib
import contextvars
import operator
import threading
from collections import deque
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf, dpotrs
from scipy.special import expit

from ..datafits._logistic_rows import identical, softplus
from ..datafits._losses import LogisticLoss
from ..penalties._base import make_penalty
from ._batch import BatchRead, SquaredProxBatch, douglas_rachford_batch, forward_batch

_EPS = np.finfo(float).eps
# Largest Hessian order factored by SciPy's LAPACK (which holds the GIL).
_SMALL_FACTOR = 64


def forward_step(datafit, t, u, ub, step_size):
    """Forward (gradient) step of task ``t`` at the prox column ``u``.

    Returns ``(z, zb)``; ``zb`` is None when the data-fit has no free intercept.
    """
    g, gb = datafit.task_gradient(t, u, ub)
    z = u - step_size * g
    zb = None if gb is None else ub - step_size * gb
    return z, zb


def douglas_rachford_step(datafit, t, u, ub, v, vb, step_size, task_prox=None):
    """Douglas-Rachford step of task ``t``: ``z = v + prox_{eta l_t}(2u - v) - u``.

    ``task_prox(datafit, t, x, xb, step_size)``, when given and applicable,
    replaces ``datafit.task_prox`` (e.g. :class:`WarmLogisticProx`).
    """
    xb = None if ub is None else 2.0 * ub - vb
    x = 2.0 * u - v
    if task_prox is not None and task_prox.applies(datafit, t):
        y, yb = task_prox(datafit, t, x, xb, step_size)
    else:
        y, yb = datafit.task_prox(t, x, xb, step_size)
    z = v + (y - u)
    zb = None if yb is None else vb + (yb - ub)
    return z, zb


SPLITTINGS = ("forward-backward", "douglas-rachford")
# Relative tolerance of the Douglas-Rachford logistic prox (WarmLogisticProx):
# measured on Landmine (threaded, 0.01 and 0.05 alpha_max, raw and
# standardized), 0.1 takes 0-6% more epochs than exact solves and 25-30% less
# time; 0.3 takes up to 10% more epochs.  The stopping rule is the certified
# gap of the published model, which no prox error can fake.
DR_PROX_REL_TOL = 0.1


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
        self.task_prox = (
            WarmLogisticProx(rel_tol=DR_PROX_REL_TOL)
            if splitting == "douglas-rachford"
            else None
        )

    def batch(self, datafit, read, on_task=None):
        """The steps of ``read.tasks`` from one :class:`~._batch.BatchRead`:
        rows ``Z`` (one per task) and intercepts ``zb`` (or None).
        ``on_task(t)`` is called before each task whose step runs alone."""
        tasks, eta = read.tasks, self.step_size
        if self.splitting == "forward-backward":
            return forward_batch(
                datafit,
                tasks,
                read,
                eta,
                lambda t, u, ub: forward_step(datafit, t, u, ub, eta),
                on_task,
            )
        task_prox = getattr(self, "task_prox", None)
        prox_batch = self.__dict__.setdefault("prox_batch", SquaredProxBatch())

        def one_prox(t, x, xb):
            if task_prox is not None and task_prox.applies(datafit, t):
                return task_prox(datafit, t, x, xb, eta)
            return datafit.task_prox(t, x, xb, eta)

        return douglas_rachford_batch(
            datafit, tasks, read, eta, prox_batch, one_prox, on_task
        )

    def __call__(self, datafit, t, read):
        if self.splitting == "forward-backward":
            return forward_step(datafit, t, read.u, read.ub, self.step_size)
        return douglas_rachford_step(
            datafit,
            t,
            read.u,
            read.ub,
            read.v,
            read.vb,
            self.step_size,
            getattr(self, "task_prox", None),
        )


class _ProxObjective:
    """The objective of one prox call on the stacked vector ``z = (w, b)``.

    ``l_t(z) + ||z - x_a||^2 / (2 eta)`` with ``x_a = (x, xb)``; ``b`` (the
    last entry) only with a free intercept.  The sample weights are divided by
    the task's scale once, so a value or a gradient is a few array calls.
    """

    __slots__ = ("X", "y", "s", "sy", "xa", "inv", "free", "d")

    def __init__(self, X, y, weights, xa, inv, free):
        self.X, self.y, self.xa, self.inv, self.free = X, y, xa, inv, free
        self.s, self.sy = weights  # s / scale and s y / scale
        self.d = X.shape[1]

    def margins(self, z):
        m = np.asarray(self.X @ z[: self.d]).ravel()
        return m + z[self.d] if self.free else m

    def loss(self, m):
        return float(self.s @ softplus(-self.y * m))

    def reg(self, z):
        r = z - self.xa
        return 0.5 * self.inv * float(r @ r)

    def loss_gradient(self, m):
        """The loss's gradient in ``z`` at the margins ``m``, and its
        curvature weights (neither depends on ``x`` or ``eta``)."""
        p = expit(-self.y * m)
        u = self.sy * p
        g = np.empty(self.d + self.free)
        g[: self.d] = np.asarray(self.X.T @ u).ravel()
        if self.free:
            g[self.d] = u.sum()
        g *= -1.0
        return g, self.s * (p * (1.0 - p))

    def gradient(self, z, gl):
        """The objective's gradient at ``z`` from the loss's ``gl``."""
        return gl + self.inv * (z - self.xa)


class _DataKey:
    """A task's data ``(X, s, y, scale)``, equal to another only for the very
    same arrays (kept alive here, so no id is reused while cached)."""

    __slots__ = ("arrays", "scale")

    def __init__(self, X, s, y, scale):
        self.arrays, self.scale = (X, s, y), scale

    def __eq__(self, other):
        return (
            isinstance(other, _DataKey)
            and self.scale == other.scale
            and identical(self.arrays, other.arrays)
        )

    __hash__ = None


class WarmLogisticProx:
    """Per-task logistic prox that remembers what it computed for each task.

    Solves ``argmin_{w,b} l_t(w, b) + (||w - x||^2 + (b - xb)^2) / (2 eta)``
    (the same problem as :meth:`LogisticLoss.task_prox`, to the same gradient
    tolerance) for tasks with hard labels, with two savings over a cold Newton
    at every Douglas-Rachford activation:

    * **warm start** from the task's previous solution, whose margins and
      loss are kept: between activations ``x`` moves little, and Newton with
      a line search converges from any start;
    * **reused curvature**: the inverse of the last Newton Hessian of the task
      (``X^T D X + I / eta``, with the intercept row) is kept and used as the
      metric of the next steps (a chord / simplified Newton method with a
      backtracking line search); it is recomputed at the current point only
      when a step reduces the gradient by less than ``refresh_rate`` or when
      ``eta`` or the task's data changed.  Convergence is always measured on
      the true gradient, so a stale inverse costs iterations, never accuracy.
      With ``refresh_rate='auto'`` the curvature is recomputed at every step
      (plain Newton, quadratic) when the Hessian is small (``d + 1 <=
      cheap_hessian``: forming it costs about as much as a gradient's array
      calls), and with 0.25 otherwise.

    The inverses of all tasks together stay under ``max_bytes`` (256 MB by
    default); a task that does not fit, or whose ``X`` is sparse or wider than
    ``max_dense_features``, is solved by matrix-free Newton-CG (Hessian-vector
    products with ``X``; sparse ``X`` is never densified), warm-started as
    well.  Tasks trained on soft targets use the data-fit's own prox.

    Thread-safe for distinct tasks (each task runs in one thread at a time);
    pickling drops the caches (a Dask node starts with empty ones).

    Parameters
    ----------
    max_bytes : int, default=256 MB
        Memory cap of the kept inverse Hessians.
    tol : float, default=1e-12
        Stop when ``||grad|| <= tol * max(1, 1 / eta)`` (as the data-fit).
    max_newton : int, default=100
        Iterations per call.
    refresh_rate : float or 'auto', default='auto'
        Recompute the Hessian when a step's gradient ratio exceeds this.
    max_dense_features : int, default=4096
        Widest dense ``X`` whose Hessian is formed and inverted.
    cheap_hessian : int, default=32
        Largest Hessian order recomputed at every step by ``'auto'``.
    rel_tol : float or None, default=None
        Also stop when ``||grad|| <= rel_tol / eta * ||z - z_prev||``, where
        ``z_prev`` is the task's previous solution: by the ``1/eta``-strong
        convexity the error is then at most ``rel_tol`` times the move since
        the previous call, errors that vanish with the moves (summable when
        the outer iteration converges linearly, as in inexact proximal-point
        and Douglas-Rachford methods).  The Douglas-Rachford task step uses
        ``DR_PROX_REL_TOL`` (0.1); None solves to ``tol`` only.
    """

    def __init__(
        self,
        max_bytes=256 << 20,
        tol=1e-12,
        max_newton=100,
        refresh_rate="auto",
        max_dense_features=4096,
        cheap_hessian=32,
        rel_tol=None,
    ):
        self.max_bytes = int(max_bytes)
        self.tol = float(tol)
        self.max_newton = int(max_newton)
        self.refresh_rate = refresh_rate
        self.max_dense_features = int(max_dense_features)
        self.cheap_hessian = int(cheap_hessian)
        self.rel_tol = rel_tol
        self._init_caches()

    def _init_caches(self):
        # t -> (z, margins, loss, loss gradient, curvature, data key) of the
        # task's last solution
        self._last = {}
        self._weights = {}  # t -> (key, (s / scale, s y / scale))
        self._inv = {}  # t -> (key, inverse Hessian)
        self._bytes = 0
        self._lock = threading.Lock()
        self.n_calls = 0
        self.n_hessians = 0
        self.n_iterations = 0

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in ("_last", "_weights", "_inv", "_bytes", "_lock"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_caches()

    @property
    def cached_bytes(self):
        """Bytes held by the kept inverse Hessians."""
        return self._bytes

    @staticmethod
    def applies(datafit, t):
        """True for a :class:`LogisticLoss` task with hard labels."""
        return isinstance(datafit, LogisticLoss) and t not in datafit.soft_targets

    def _store_inverse(self, t, key, Hinv):
        nbytes = Hinv[1].nbytes
        with self._lock:
            old = self._inv.pop(t, None)
            if old is not None:
                self._bytes -= old[1][1].nbytes
            if self._bytes + nbytes <= self.max_bytes:
                self._inv[t] = (key, Hinv)
                self._bytes += nbytes
                return True
            return False

    def __call__(self, datafit, t, x, xb, step_size):
        blocks = datafit.blocks
        X = blocks.Xs[t]
        free = datafit.has_free_intercept
        xa = np.array(x, dtype=float)
        if free:
            xa = np.append(xa, float(xb))
        key, weights = self._task_weights(t, blocks)
        obj = _ProxObjective(X, blocks.ys[t], weights, xa, 1.0 / float(step_size), free)
        self.n_calls += 1
        last = self._last.get(t)
        if last is None or last[0].shape != xa.shape:
            last = None
        point = self._solve(t, obj, last, key)
        self._last[t] = (*point, key)
        z, d = point[0], obj.d
        return z[:d].copy(), (float(z[d]) if free else None)

    def _task_weights(self, t, blocks):
        """``(key, (s / scale, s y / scale))`` of task ``t``, kept between
        calls; ``key`` names the task's data."""
        X, s, y = blocks.Xs[t], blocks.sample_weights[t], blocks.ys[t]
        scale = float(blocks.scales[t])
        entry = self._weights.get(t)
        if entry is None or entry[0] != _DataKey(X, s, y, scale):
            w = s / scale
            entry = self._weights[t] = (_DataKey(X, s, y, scale), (w, w * y))
        return entry

    @staticmethod
    def _warm_start(obj, last, key):
        """``(z, margins, loss, loss gradient, curvature weights)`` at the
        task's previous solution (all kept when the data are the same: none
        depends on ``x`` or ``eta``), else at ``(x, xb)``."""
        if last is None:
            z = obj.xa
        else:
            z = last[0]
            if last[5] == key:
                return last[:5]
        m = obj.margins(z)
        return (z, m, obj.loss(m), *obj.loss_gradient(m))

    def _solve(self, t, obj, last, key):
        """Newton (chord) iterations from the warm start; returns the point
        as :meth:`_warm_start` does.  The previous solution (``last``, None
        at the task's first call) is also the reference of the relative
        tolerance.
        """
        X, d = obj.X, obj.d
        anchor = None if last is None else last[0]
        z, m, loss, gl, dcurv = self._warm_start(obj, last, key)
        f = loss + obj.reg(z)
        g = obj.gradient(z, gl)
        gtol = self.tol * max(1.0, obj.inv)
        dense = not sp.issparse(X) and d <= self.max_dense_features
        rate = self.refresh_rate
        if rate == "auto":
            rate = 0.0 if d + obj.free <= self.cheap_hessian else 0.25
        key = (key, obj.inv, obj.free)
        entry = self._inv.get(t) if dense else None
        Hinv = entry[1] if entry is not None and entry[0] == key else None
        gnorm = float(np.sqrt(g @ g))
        for _ in range(self.max_newton):
            if gnorm <= gtol or gnorm <= self._relative_tol(obj, z, anchor):
                break
            self.n_iterations += 1
            fresh = False
            if dense:
                if Hinv is None:
                    fresh = True
                    Hinv = self._hessian_factor(X, dcurv, obj.inv, obj.free)
                    self.n_hessians += 1
                    # Over the memory cap it serves this call only.
                    self._store_inverse(t, key, Hinv)
                step = _factor_solve(Hinv, g)
            else:
                step = self._newton_cg(X, dcurv, obj.inv, obj.free, g, gnorm)
            accepted = self._line_search(obj, z, f, step)
            if accepted is None:  # no decrease at all: rounding level, stop here
                break
            z, m, loss, f = accepted
            gl, dcurv = obj.loss_gradient(m)
            g = obj.gradient(z, gl)
            new_norm = float(np.sqrt(g @ g))
            if dense and new_norm > rate * gnorm:
                if fresh and gnorm <= 1e3 * gtol:
                    break  # a fresh Newton step no longer helps: rounding level
                Hinv = None  # slow progress: fresh curvature at the next step
            gnorm = new_norm
        return z, m, loss, gl, dcurv

    def _relative_tol(self, obj, z, anchor):
        """``rel_tol / eta * ||z - anchor||``: the solution is then within
        ``rel_tol`` times its move since the task's previous call (0 when
        there is no previous call or no ``rel_tol``)."""
        if not self.rel_tol or anchor is None:
            return 0.0
        r = z - anchor
        return self.rel_tol * obj.inv * float(np.sqrt(r @ r))

    @staticmethod
    def _line_search(obj, z, f, step):
        """Backtracking on the (strongly convex) objective along ``-step``.

        Returns ``(z, margins, loss, f)`` of the accepted point, or None when
        no halving decreases ``f`` (the rounding level).
        """
        t_step = 1.0
        # Monotone up to the rounding of f: near the solution a step changes
        # f by about ||g||^2 eta, below eps |f|, and must still be taken.
        f_ok = f + 8.0 * _EPS * abs(f)
        for _ in range(40):
            z_new = z - t_step * step
            m_new = obj.margins(z_new)
            loss = obj.loss(m_new)
            f_new = loss + obj.reg(z_new)
            if f_new <= f_ok:
                return z_new, m_new, loss, f_new
            t_step *= 0.5
        return None

    @staticmethod
    def _hessian_factor(X, dcurv, inv, free):
        """``H = A^T diag(dcurv) A + inv I`` (``A = [X, 1]`` or ``X``) ready
        to solve with (see :func:`_factor_solve`): its Cholesky factor when
        small (LAPACK through SciPy, a few microseconds, but holding the
        GIL), its inverse by ``numpy.linalg`` (which releases the GIL for the
        other threads) when larger than ``_SMALL_FACTOR``."""
        d = X.shape[1]
        H = np.empty((d + free, d + free))
        H[:d, :d] = (X.T * dcurv) @ X
        if free:
            col = X.T @ dcurv
            H[:d, d] = col
            H[d, :d] = col
            H[d, d] = dcurv.sum()
        H.flat[:: d + free + 1] += inv
        if d + free > _SMALL_FACTOR:
            return ("inv", np.linalg.inv(H))
        factor, info = dpotrf(H, lower=1, clean=0)
        return ("chol", factor) if info == 0 else ("lstsq", H)

    @staticmethod
    def _newton_cg(X, dcurv, inv, free, g, gnorm, max_cg=200):
        """Solve ``H step = g`` by conjugate gradients with ``H`` applied
        matrix-free (sparse ``X`` stays sparse); relative tolerance
        ``min(0.1, sqrt(||g||))`` (a forcing sequence: superlinear)."""
        d = X.shape[1]

        def hess(v):
            vw = v[:d]
            mv = np.asarray(X @ vw).ravel()
            if free:
                mv = mv + v[d]
            dm = dcurv * mv
            out = np.asarray(X.T @ dm).ravel() + inv * vw
            if free:
                out = np.append(out, dm.sum() + inv * v[d])
            return out

        tol = min(0.1, np.sqrt(gnorm)) * gnorm
        step = np.zeros_like(g)
        r = g.copy()
        p = r.copy()
        rr = float(r @ r)
        for _ in range(max_cg):
            if np.sqrt(rr) <= tol:
                break
            Hp = hess(p)
            a = rr / float(p @ Hp)
            step += a * p
            r -= a * Hp
            rr_new = float(r @ r)
            p = r + (rr_new / rr) * p
            rr = rr_new
        return step


def _factor_solve(factor, g):
    """``H^{-1} g`` from :meth:`WarmLogisticProx._hessian_factor`'s output."""
    kind, M = factor
    if kind == "inv":
        return M @ g
    if kind == "chol":
        return dpotrs(M, g, lower=1)[0]
    return np.linalg.lstsq(M, g, rcond=None)[0]


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


class Snapshot(NamedTuple):
    """The published state: ``P = prox(V)`` (d x T), free intercepts ``b``, the
    version of V, and V itself (only kept for Douglas-Rachford reads)."""

    P: np.ndarray
    b: np.ndarray | None
    version: int
    V: np.ndarray | None = None


class Read(NamedTuple):
    """What a task node receives: its prox column and intercept, the read
    version, and (Douglas-Rachford only) its own block of V."""

    u: np.ndarray
    ub: float | None
    version: int
    v: np.ndarray | None = None
    vb: float | None = None


_OPTIONS = contextvars.ContextVar("skmtl_central_node_options", default=None)


@contextlib.contextmanager
def central_node_options(*, refresh_every=1, max_staleness=None):
    """Defaults of :class:`CentralNode` for the fits started in this context.

    Parameters
    ----------
    refresh_every : int or 'auto', default=1
        Writes per published prox (see the module docstring), for a node
        built directly and for ``run_amtl`` called without ``refresh_every``
        (there 'auto' depends on the backend); the estimators pass their own
        ``refresh_every``, which takes precedence.
    max_staleness : int or None, default=None
        The staleness cap ``tau`` that 'auto' is clipped to, for a node built
        directly; ``run_amtl`` passes its own cap, which takes precedence.
        None means ``4 * T`` (the engine's default cap).
    """
    token = _OPTIONS.set(
        {"refresh_every": refresh_every, "max_staleness": max_staleness}
    )
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def node_option(name, default):
    """The value of :func:`central_node_options` ``name`` in this context, or
    ``default`` outside one."""
    options = _OPTIONS.get()
    return default if options is None else options[name]


def resolve_refresh_every(refresh_every, n_tasks, max_staleness=None):
    """Writes per published prox: an int >= 1, or 'auto'.

    'auto' is ``T // 2`` (at least 1), at most ``max_staleness`` (default
    ``4 T``): where the steps run between refreshes (the sequential backend,
    which computes them as batches, see :mod:`._batch`) a refresh then costs
    little per update, and the epochs grow by 0-10 % over ``T // 8`` (School,
    Landmine, Parkinson's, synthetic; 1.7x on raw School at 0.01 alpha_max,
    as many as the threaded backend's).  An int larger than
    ``max(1, max_staleness)`` is refused: the engine could then wait forever
    for a fresh prox.

    Examples
    --------
    >>> resolve_refresh_every("auto", 139), resolve_refresh_every("auto", 3)
    (69, 1)
    >>> resolve_refresh_every("auto", 1000, max_staleness=50)
    50
    """
    tau = 4 * int(n_tasks) if max_staleness is None else int(max_staleness)
    bad = f"refresh_every must be 'auto' or a positive int; got {refresh_every!r}."
    if isinstance(refresh_every, str):
        if refresh_every != "auto":
            raise ValueError(bad)
        k = n_tasks // 2
        return max(1, min(k, tau))
    try:
        if isinstance(refresh_every, bool):
            raise TypeError
        k = operator.index(refresh_every)
    except TypeError:
        raise ValueError(bad) from None
    if k < 1:
        raise ValueError(f"refresh_every must be >= 1; got {k}.")
    if k > max(1, tau):
        raise ValueError(
            f"refresh_every={k} exceeds the staleness cap max_staleness={tau}: the "
            "engine could wait forever for a fresh prox."
        )
    return k


class CentralNode:
    """State of the central node; every method runs in the central loop only,
    except :meth:`read`, which any thread may call.

    ``refresh_every`` and ``max_staleness`` default to the values of
    :func:`central_node_options` (1 and None outside it).
    """

    def __init__(
        self,
        V0,
        b0,
        threshold,
        *,
        publish_v=False,
        penalty=None,
        refresh_every=None,
        max_staleness=None,
    ):
        options = _OPTIONS.get() or {}
        if refresh_every is None:
            refresh_every = options.get("refresh_every", 1)
        if max_staleness is None:
            max_staleness = options.get("max_staleness")
        self.threshold = float(threshold)
        self.publish_v = publish_v
        self.penalty = make_penalty(penalty)
        self._prox = self.penalty.incremental_prox(V0, self.threshold)
        self.refresh_every = resolve_refresh_every(
            refresh_every, self._prox.V.shape[1], max_staleness
        )
        self.b = None if b0 is None else np.array(b0, dtype=float)
        self.version = 0
        self.n_publications = 0
        self.snapshot = None
        self.refresh(force=True)

    @property
    def V(self):
        return self._prox.V

    @property
    def prox_version(self):
        return self.snapshot.version

    def read(self, t):
        """Column ``t`` of the published prox (safe from any thread)."""
        snap = self.snapshot  # one atomic reference read
        ub = None if snap.b is None else float(snap.b[t])
        if not self.publish_v:
            return Read(snap.P[:, t].copy(), ub, snap.version)
        # The intercept is not under the trace norm: its prox is the identity.
        return Read(snap.P[:, t].copy(), ub, snap.version, snap.V[:, t].copy(), ub)

    def read_batch(self, tasks):
        """The rows of ``tasks`` of one published snapshot (any thread): a
        :class:`~._batch.BatchRead` whose every row has the same version."""
        snap = self.snapshot  # one atomic reference read
        ub = None if snap.b is None else snap.b[tasks]
        U = snap.P.T[tasks]  # task-major rows (a copy)
        if not self.publish_v:
            return BatchRead(tasks, U, ub, snap.version)
        return BatchRead(tasks, U, ub, snap.version, snap.V.T[tasks], ub)

    def write(self, t, z, zb, relaxation):
        """KM update of task ``t``'s block; returns ``||z - v_t||^2``.

        The step is anchored at ``v_t`` (the central block), never at the read
        ``u``, and V is never overwritten by its prox.  The same arithmetic
        as a batch of one (:meth:`write_batch`).
        """
        zb = None if zb is None else np.array([zb], dtype=float)
        return float(self.write_batch([t], z[None, :], zb, relaxation)[0])

    def write_batch(self, tasks, Z, zb, relaxation):
        """KM updates of distinct ``tasks`` (rows of ``Z``), as that many
        writes in turn; returns the ``||z_t - v_t||^2`` (per row, the same
        whichever tasks share the batch)."""
        V = self._prox.V.T[tasks]
        D = Z - V
        sq = np.einsum("ij,ij->i", D, D)
        V += relaxation * D  # km_update, row by row
        self._prox.set_columns(tasks, V)
        if zb is not None:
            db = zb - self.b[tasks]
            sq += db * db
            self.b[tasks] += relaxation * db
        self.version += len(tasks)
        return sq

    def refresh(self, force=False):
        """Publish the prox of the current V when due; return the snapshot.

        Due when ``refresh_every`` writes have accumulated since the last
        publication (every write by default), or when ``force`` is true.
        """
        snap = self.snapshot
        if snap is not None and snap.version == self.version:
            return snap
        if (
            snap is not None
            and not force
            and (self.version - snap.version < self.refresh_every)
        ):
            return snap
        P = np.array(self._prox.refresh())
        b = None if self.b is None else self.b.copy()
        V = np.array(self._prox.V) if self.publish_v else None
        self.snapshot = Snapshot(P, b, self.version, V)
        self.n_publications += 1
        return self.snapshot

    def final_model(self):
        """The backward step on the final V, computed exactly (not incrementally)."""
        W = self.penalty.prox(np.array(self._prox.V), self.threshold)
        return W, (None if self.b is None else self.b.copy())

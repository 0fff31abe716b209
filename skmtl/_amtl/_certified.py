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
``benchmarks/bench_async_defaults.py``).  The first step is the inverse
typical curvature (:func:`douglas_rachford_step`, enlarged for weak penalties
by the estimators); when the first run is slow, :class:`StepSearch` restarts
the loop with other steps from one common point and keeps the one that
measurably gets there first.  A restart keeps the model and the penalty's
subgradient (:func:`restart_point`), so no progress is lost.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ..datafits._losses import _weighted_mean_rows
from ..solvers._gaps import relative_gap

__all__ = [
    "GapCheck",
    "douglas_rachford_step",
    "StepSearch",
    "certified_gap",
    "is_local",
    "epochs_to",
    "predict",
    "restart_point",
]


def _mean_curvatures(datafit, W=None, b=None):
    """Per task: the mean eigenvalue ``trace(H_t) / d`` of its loss's Hessian.

    Squared loss: the (centered, with intercepts) weighted Gram over the
    task's scale.  Logistic loss: the same with the weights ``p (1 - p)`` of
    the model ``(W, b)``, or of the intercept-only model when ``W`` is None
    (``p = 1/2`` without intercepts).  None when the data are not here.
    """
    blocks = getattr(datafit, "blocks", None)
    if blocks is None:
        return None
    logistic = hasattr(datafit, "optimal_intercept")
    centered = datafit.has_free_intercept if logistic else datafit.fit_intercept
    d = blocks.n_features
    out = np.empty(blocks.n_tasks)
    # Rows streamed chunk by chunk: lazy blocks are not copied into task order.
    for t, X in blocks.task_rows():
        s = blocks.sample_weights[t]
        if logistic:
            if W is not None:
                m = np.asarray(X @ W[:, t]).ravel()
                if b is not None:
                    m = m + b[t]
                p = expit(m)
            elif centered:
                total = s.sum()
                p = float(s @ (blocks.ys[t] > 0)) / total if total > 0 else 0.5
            else:
                p = 0.5
            s = s * (p * (1.0 - p))
        total = s.sum()
        if sp.issparse(X):
            sq = np.asarray(X.multiply(X).T @ s).ravel()
        else:
            sq = s @ (X * X)
        trace = float(sq.sum())
        if centered and total > 0:
            xbar = _weighted_mean_rows(X, s)
            trace -= total * float(xbar @ xbar)
        out[t] = max(trace, 0.0) / (d * blocks.scales[t])
    return out


def douglas_rachford_step(datafit, W=None, b=None):
    """Default Douglas-Rachford step: ``1 / median_t (trace(H_t) / d)``.

    The inverse of the typical curvature of a task's loss (the mean
    eigenvalue of its Hessian, median over tasks), not of the largest one:
    within a factor of 2 of the step with the fewest epochs on School (raw
    and standardized), Parkinson's and the paper's synthetic data, where that
    best step ranges from 1 / L to 5000 / L (measured, see
    ``benchmarks/bench_async_defaults.py``).  None when the data are remote
    or flat.
    """
    curvatures = _mean_curvatures(datafit, W, b)
    if curvatures is None:
        return None
    typical = float(np.median(curvatures))
    if not typical > 0 or not np.isfinite(typical):
        return None
    return 1.0 / typical


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

    At the epoch checks the relative gap of the published prox is computed
    (every epoch near ``tol``, less often far from it, see :meth:`_skips`);
    when it is at most ``tol`` every task is deactivated, which ends the run;
    so does a :class:`StepSearch` ``search`` that wants to try another step,
    and a :class:`~skmtl._amtl._drift.ModelDrift` ``drift`` that proposes a
    model to restart from (``jump``).
    ``inner`` (e.g. a task monitor's hook) is called first.
    """

    def __init__(
        self, datafit, alpha, penalty, tol, inner=None, search=None, drift=None
    ):
        self.datafit = datafit
        self.search = search
        self.drift = drift
        if drift is not None:
            drift.reset()  # a new run
        self.jump = None
        self.probe_stop = False
        self.alpha = alpha
        self.penalty = penalty
        self.tol = tol
        self.inner = inner
        self.gap = np.inf
        self.gaps = []  # the certificates computed, at the epochs
        self.epochs = []
        self.converged = False
        self._skip = 0
        self._calls = 0

    def __call__(self, P, b, task_updates):
        new = None if self.inner is None else self.inner(P, b, task_updates)
        self._calls += 1
        if self._skip > 0:
            self._skip -= 1
            return new
        # About one gradient and one dual norm: small next to an epoch of T
        # task updates, each followed by a refresh of the prox.
        self.gap, _ = certified_gap(self.datafit, P, b, self.alpha, self.penalty)
        self.gaps.append(self.gap)
        self.epochs.append(self._calls)
        if self.gap <= self.tol:
            self.converged = True
            return np.zeros(len(task_updates), dtype=np.int64)
        probing = self.search is not None and self.search.probing
        if self.drift is not None and not probing:
            self.jump = self.drift.observe(self._calls, P, self.gap)
            if self.jump is not None:  # restart from the model it proposes
                return np.zeros(len(task_updates), dtype=np.int64)
        if self.search is not None and self.search.should_stop(self.epochs, self.gaps):
            self.probe_stop = True  # too slow: try another step
            return np.zeros(len(task_updates), dtype=np.int64)
        self._skip = self._skips()
        if self.search is not None:
            self._skip = min(self._skip, self.search.max_skip(self._calls))
        return new

    def _skips(self):
        """Checks to skip: up to half the epochs the last rate predicts.

        A certificate costs about one gradient, and for the logistic loss a
        few passes over the stacked rows for the intercepts (Landmine: 2-4 ms,
        a fifth of an epoch of task steps; it was a full epoch before the
        one-pass certificate of ``datafits/_logistic_rows.py``): far from
        ``tol`` it is computed less often.  The rule depends on the gaps only,
        so runs stay reproducible.
        """
        rate, needed = log_rate(self.epochs[-3:], self.gaps[-3:], self.tol)
        if len(self.gaps) < 3 or not rate > 0 or not np.isfinite(needed):
            return 0
        return int(min(max(needed // 2 - 1, 0), 9))


def log_rate(epochs, gaps, tol):
    """Decrease of the log gap per epoch between the first and last points,
    and the epochs it predicts from the last one to ``tol`` (NaN, inf when
    undefined)."""
    points = [
        (e, g) for e, g in zip(epochs, gaps, strict=True) if np.isfinite(g) and g > 0
    ]
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return np.nan, np.inf
    (e0, g0), (e1, g1) = points[0], points[-1]
    rate = float(np.log(g0 / g1) / (e1 - e0))
    needed = np.inf
    if rate > 0 and tol > 0:
        needed = float(np.log(max(g1 / tol, 1.0)) / rate)
    return rate, needed


def restart_point(datafit, W, b, step, V=None, v_step=None):
    """Where a run with ``step`` starts so that its first prox is ``W``.

    With the ``V`` of a run with step ``v_step`` whose prox is ``W``:
    ``V0 = W + (step / v_step) (V - W)``, which keeps the penalty's
    subgradient ``(V - W) / (v_step alpha)`` (as ADMM rescales its scaled dual
    when its penalty changes), so a restart with a larger step loses nothing.
    Without it: ``V0 = W - step * grad_W f(W, b)``, the fixed point's form at
    ``W`` (exact at the optimum only: far from it, a long step moves the
    first prox away from ``W``).
    """
    if V is not None:
        return W + (step / v_step) * (V - W)
    return W - step * datafit.gradient(W, b)[0]


class StepSearch:
    """Douglas-Rachford step chosen from the progress it makes.

    The best step varies by two orders of magnitude across data sets and
    penalty strengths, more than the curvature formula
    (:func:`douglas_rachford_step`) follows (measured, see
    ``benchmarks/bench_async_defaults.py``).  So the first run is watched:
    once it has ``probe_epochs`` epochs, the rate of decrease of the log gap
    over its second half predicts the epochs still needed; a run that
    promises at most ``enough_epochs`` is never interrupted, so a good step
    costs nothing.  Otherwise its end becomes the *origin*, and the steps
    are compared on equal footing: every probe restarts from the origin
    (:func:`restart_point`, keeping the penalty's subgradient; with the same
    step, a seamless continuation), its gap is checked at every epoch, and it
    is scored by the epochs to ``tol`` that its run from the origin predicts
    (:meth:`score`): the epochs it took to divide the origin's gap by
    ``target`` (its transient: the gap first drops fast after a restart, or
    with a longer step jumps up, then drops fast), plus the remaining decades
    at the pace of its next decade, measured over the same range of gaps for
    every probe.  Rates read off windows that start at different points, or
    during a transient, are not comparable: the first run's rate includes its
    initial drop, and a short step's first decades are fast and its later
    ones slow.  A probe ends one decade below the target, or once a lower
    bound on its score says it cannot beat the best by 10% (:meth:`_beaten`;
    at most ``4 probe_epochs`` epochs).  The
    first probe keeps the step; then the step is multiplied by ``factor``
    while that is 10% faster, else divided by it; at most ``max_probes``
    probes.  The fit goes on from the best probe's end with its step.
    """

    def __init__(
        self,
        step,
        tol,
        *,
        factor=4.0,
        probe_epochs=20,
        enough_epochs=150,
        max_probes=5,
        target=100.0,
    ):
        self.step = float(step)
        # tol=0 (run to max_iter or max_time) still needs a finite target to
        # count decades to: the rounding floor of a relative gap.
        self.tol = max(float(tol), 1e-12)
        self.factor = factor
        self.probe_epochs = probe_epochs
        self.enough_epochs = enough_epochs
        self.max_probes = max_probes
        self.target = target
        self.origin = None  # (point, its gap): where every probe starts
        self.best = None  # (predicted epochs, step, point)
        self.direction = 0
        self.n_probes = 0
        self.done = False

    @property
    def probing(self):
        """Whether the current run is a probe (it started at the origin)."""
        return self.origin is not None and not self.done

    def _beaten(self, epochs, gaps):
        """Whether a running probe can no longer beat the best by 10%.

        Its score is at least its epochs so far, and once it has reached
        ``gap0 / target`` at ``t1``, at least ``t1 + (e - t1) (1 + D)`` at
        epoch ``e`` (its next decade takes at least ``e - t1`` epochs, and
        counts for ``D`` more).  No probe runs over ``4 probe_epochs``.
        """
        e = epochs[-1]
        if e >= 4 * self.probe_epochs:
            return True
        if self.best is None or not np.isfinite(self.best[0]):
            return False
        first = self.origin[1] / self.target
        t1 = crossing(epochs, gaps, first)
        if t1 is not None:
            e = t1 + (e - t1) * (1.0 + self._decades(first))
        return e >= self.best[0] / 0.9

    def _decades(self, first):
        """Decades from one below ``first`` down to ``tol``."""
        return max(np.log10(first / 10.0 / self.tol), 0.0)

    def should_stop(self, epochs, gaps):
        """Whether the current run, with gaps at these epochs, is to end."""
        if self.done or not epochs:
            return False
        if self.probing:
            goal = self.origin[1] / (10.0 * self.target)
            return gaps[-1] <= goal or self._beaten(epochs, gaps)
        if epochs[-1] < self.probe_epochs:
            return False
        needed = predict(epochs, gaps, self.tol, start=epochs[-1] / 2.0)
        return needed > self.enough_epochs

    def max_skip(self, epoch):
        """Most epoch checks to skip after the one at ``epoch``: none in a
        probe (its time to the target is read to the epoch)."""
        return 0 if self.probing else np.inf

    def update(self, epochs, gaps, point):
        """Record an interrupted run ending at ``point`` (any state to
        restart from); returns the step and the point of the next run."""
        if self.origin is None:
            # The first run: its end is where every probe starts, the first
            # with the same step (measured there, not on its initial drop).
            last = [g for g in gaps if np.isfinite(g) and g > 0]
            self.origin = (point, last[-1] if last else 0.0)
            return self.step, point
        self.n_probes += 1
        score = self.score(epochs, gaps)
        improved = self.best is None or score < 0.9 * self.best[0]
        if improved:
            self.best = (score, self.step, point)
        if self.n_probes >= self.max_probes:
            self.done = True
        elif improved:
            self.direction = self.direction or 1
            self.step *= self.factor**self.direction
        elif self.direction == 1 and self.n_probes == 2:
            self.direction = -1  # up did not help at once: try down
            self.step = self.best[1] / self.factor
        else:
            self.done = True
        if self.done:
            _, self.step, point = self.best
            return self.step, point
        return self.step, self.origin[0]

    def score(self, epochs, gaps):
        """Epochs to ``tol`` a probe predicts: to ``gap0 / target``, then
        the remaining decades at the pace of the next one."""
        first = self.origin[1] / self.target
        t1 = epochs_to(epochs, gaps, first)
        t2 = epochs_to(epochs, gaps, first / 10.0)
        return float(t2 + self._decades(first) * max(t2 - t1, 0.0))


def crossing(epochs, gaps, goal):
    """Epoch at which the gaps first reached ``goal`` (log-linear between the
    checks around it), or None."""
    previous = None
    for e, g in zip(epochs, gaps, strict=True):
        if not (np.isfinite(g) and g > 0):
            continue
        if g <= goal:
            if previous is None or previous[1] <= g:
                return float(e)
            e0, g0 = previous
            return float(e0 + (e - e0) * np.log(g0 / goal) / np.log(g0 / g))
        previous = (e, g)
    return None


def epochs_to(epochs, gaps, goal):
    """Epochs a run took to bring its gap to ``goal`` (:func:`crossing`);
    when it did not get there, extrapolated by :func:`predict` over the
    second half (inf if it does not decrease)."""
    reached = crossing(epochs, gaps, goal)
    if reached is not None:
        return reached
    if not epochs:
        return np.inf
    return epochs[-1] + predict(epochs, gaps, goal, start=epochs[-1] / 2.0)


def predict(epochs, gaps, tol, start=0.0):
    """Epochs from the last check to ``tol`` that the gaps at and after epoch
    ``start`` predict: the least-squares line of their logs, from its value
    at the last epoch (inf when it does not decrease, or too few points)."""
    points = [
        (e, np.log(g))
        for e, g in zip(epochs, gaps, strict=True)
        if e >= start and np.isfinite(g) and g > 0
    ]
    if len(points) < 2 or not tol > 0:
        return np.inf
    e, lg = np.array(points).T
    if np.ptp(e) == 0:
        return np.inf
    slope, end = np.polyfit(e - e[-1], lg, 1)
    if not slope < 0:
        return np.inf
    return float(max(end - np.log(tol), 0.0) / -slope)

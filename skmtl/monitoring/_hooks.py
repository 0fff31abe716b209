"""A :class:`~skmtl.TaskMonitor` at work inside a fit.

The estimators call :func:`prepare_monitor` after validating the data (it
splits off the validation rows), then run the solver with the monitor:

* centralized: :func:`fit_centralized` runs FISTA with a callback that scores
  the tasks every ``check_every`` iterations and applies the policy between
  two iterations (no restart: the momentum survives the checks);
* asynchronous: :class:`AMTLMonitorHook` is the engine's ``on_check`` hook; it
  scores the published prox every ``check_every`` epochs and slows down
  (distill) or deactivates (freeze) converged tasks.

Freeze, precisely: after every proximal step the frozen columns (and free
intercepts) are reset to their snapshot, before the momentum step, so they
never move while they still take part in the trace norm of the other tasks'
proximal steps.  This is not the exact minimizer over the other columns
(whose proximal map has no closed form); the fit stops when every task has
converged or when the proximal-gradient mapping of the non-frozen part is
below ``tol`` relative to ``alpha_max``.
"""

from dataclasses import replace

import numpy as np

from .._tasks import group_codes, split_task_column
from ..datafits._losses import SquaredLoss
from ..penalties._base import make_penalty
from ..solvers._fista import alpha_max, fista
from ..utils._blas import SMALL, single_blas_thread
from ..utils._validation import _check_features, _check_long_layout, _check_long_y
from ._monitor import (
    ConvergenceDetector,
    distill_soft_targets,
    distill_targets,
    split_validation,
    task_scores,
    warn_unmonitored,
)


class MonitorRun:
    """The state of one monitored fit: scores, snapshots, convergence."""

    def __init__(self, monitor, val, metric, n_tasks, n_features):
        self.monitor = monitor
        self.policy = monitor.policy
        self.check_every = int(monitor.check_every)
        self.val = val
        self.metric = metric
        self.monitored = np.array([v is not None for v in val], dtype=bool)
        self.detector = ConvergenceDetector(
            n_tasks,
            warm_up=monitor.warm_up,
            patience=monitor.patience,
            min_improvement=monitor.min_improvement,
            greater_is_better=metric == "accuracy",
        )
        self.best_W = np.zeros((n_features, n_tasks))
        self.best_b = np.zeros(n_tasks)
        self.best_at = np.full(n_tasks, -1)
        self.converged_at = np.full(n_tasks, -1)
        self.applied = np.zeros(n_tasks, dtype=bool)  # policy applied to the task
        self.last_step = None
        self.extra = {}

    def check(self, W, b, step):
        """Score every task at ``(W, b)``; return the newly converged tasks."""
        scores = task_scores(self.val, W, b, self.metric)
        improved, newly = self.detector.update(scores)
        self.best_W[:, improved] = W[:, improved]
        self.best_b[improved] = b[improved]
        self.best_at[improved] = step
        self.converged_at[newly] = step
        self.last_step = step
        return np.flatnonzero(newly)

    @property
    def all_converged(self):
        """Every task converged (a task that is not monitored never does)."""
        return bool(self.detector.converged.all())

    def diagnostics(self):
        """The ``task_convergence_`` attribute."""
        converged = self.detector.converged.copy()
        policy = np.where(self.monitored, "none", "unmonitored").astype(object)
        policy[converged] = self.policy
        if self.policy == "snapshot":
            policy[self.monitored] = "snapshot"
        out = {
            "monitored": self.monitored.copy(),
            "converged": converged,
            "converged_at": self.converged_at.copy(),
            "best_score": self.detector.best_score,
            "best_at": self.best_at.copy(),
            "policy": policy,
        }
        out.update(self.extra)
        return out


def _given_validation(est, data, X_val, y_val, classifier):
    """Per-task validation rows from ``X_val, y_val`` (the layout of fit)."""
    from sklearn.utils.validation import validate_data

    from ..utils._validation import _ACCEPT_SPARSE, _DTYPES

    T = data.blocks.n_tasks
    if est.task_column is None:
        Xf = _check_features(
            validate_data(
                est, X_val, accept_sparse=_ACCEPT_SPARSE, dtype=_DTYPES, reset=False
            )
        )
        Y = np.asarray(y_val)
        want = (Xf.shape[0],) if data.y_ndim == 1 else (Xf.shape[0], T)
        if Y.shape != want:
            raise ValueError(f"y_val must have shape {want}; got {Y.shape}.")
        Y = Y.reshape(Xf.shape[0], -1)
        rows_of = [np.arange(Xf.shape[0])] * T
        targets = [Y[:, t] for t in range(T)]
    else:
        _check_long_layout(X_val)
        validate_data(est, X_val, skip_check_array=True, reset=False)
        Xf, labels, _ = split_task_column(X_val, est.task_column)
        Xf = _check_features(Xf, input_name="X_val")
        y = _check_long_y(y_val, classifier)
        if y.shape[0] != Xf.shape[0]:
            raise ValueError("X_val and y_val have different numbers of rows.")
        lookup = {lab: t for t, lab in enumerate(data.tasks.tolist())}
        idx = np.array([lookup.get(lab, -1) for lab in np.asarray(labels).tolist()])
        if np.any(idx < 0):
            bad = np.unique(np.asarray(labels, dtype=object)[idx < 0].astype(str))
            raise ValueError(
                f"X_val holds task(s) {bad[:10].tolist()} that are not in the "
                "training data."
            )
        by_task = group_codes(idx, data.tasks)  # a task may have no row here
        rows_of = [by_task.rows(t) for t in range(T)]
        targets = [y[rows] for rows in rows_of]
    val = []
    for t in range(T):
        rows, yt = rows_of[t], targets[t]
        if rows.size == 0:
            val.append(None)
            continue
        if classifier:
            neg, pos = data.classes[t]
            known = (yt == pos) | (yt == neg)
            if not np.all(known):
                raise ValueError(
                    f"y_val holds labels other than task {data.tasks[t]!r}'s "
                    f"classes {[neg, pos]}."
                )
            yt = np.where(yt == pos, 1.0, -1.0)
        else:
            yt = np.asarray(yt, dtype=np.float64)
            if not np.all(np.isfinite(yt)):
                raise ValueError("y_val must not contain NaN or infinity.")
        val.append((Xf[rows], yt, np.ones(rows.size)))
    return val


def prepare_monitor(est, data, X_val, y_val, classifier):
    """Split the validation rows off ``data``; return ``(data, MonitorRun)``."""
    monitor = est.task_monitor
    if monitor is None:
        raise ValueError(
            "X_val and y_val are only used with a task_monitor; pass "
            "task_monitor=TaskMonitor(...) to the estimator."
        )
    metric = monitor._validate("logistic" if classifier else "squared")
    if (X_val is None) != (y_val is None):
        raise ValueError("Pass both X_val and y_val, or neither.")
    if X_val is None:
        seed = monitor.random_state
        if seed is None:
            seed = est.random_state
        blocks, val = split_validation(
            data.blocks,
            monitor.validation_fraction,
            seed,
            classifier=classifier,
            mean_scaling=est.loss_scaling == "mean",
        )
        data = replace(data, blocks=blocks)
        warn_unmonitored(val, data.tasks, "are too small to hold out validation rows")
    else:
        val = _given_validation(est, data, X_val, y_val, classifier)
        warn_unmonitored(val, data.tasks, "have no rows in X_val")
    run = MonitorRun(monitor, val, metric, data.blocks.n_tasks, data.blocks.n_features)
    return data, run


def distill_task(datafit, t, w, b, monitor):
    """Switch task ``t`` to its distillation loss toward the snapshot (w, b)."""
    X, y = datafit.blocks.Xs[t], datafit.blocks.ys[t]
    a = float(monitor.distill_weight)
    if isinstance(datafit, SquaredLoss):
        datafit.set_task_targets(t, distill_targets(y, X, w, b, a))
    else:
        tau = float(monitor.temperature)
        q = distill_soft_targets(X, w, b, tau)
        datafit.set_task_soft_targets(t, q, a, tau)


# --------------------------------------------------------------------------- #
# Centralized: FISTA with a callback
# --------------------------------------------------------------------------- #
def _frozen_residual(datafit, penalty, alpha, W, b, frozen, step, scale):
    """Proximal-gradient mapping of the non-frozen part, relative to ``scale``."""
    G, gb = datafit.gradient(W, b)
    Wp = penalty.prox(W - step * G, step * alpha)
    Wp[:, frozen] = W[:, frozen]
    sq = float(np.vdot(W - Wp, W - Wp))
    if gb is not None:
        sq += float(np.dot(gb[~frozen], gb[~frozen])) * step * step
    return np.sqrt(sq) / step / max(scale, np.finfo(float).tiny)


def fit_centralized(
    datafit, alpha, run, *, penalty=None, W0=None, b0=None, tol, max_iter, verbose
):
    """FISTA with the monitor's checks and policy; returns a SolverResult."""
    penalty = make_penalty(penalty)
    T, d = datafit.n_tasks, datafit.n_features
    policy, every = run.policy, run.check_every
    frozen = np.zeros(T, dtype=bool)
    hold_W, hold_b = np.zeros((d, T)), np.zeros(T)
    L = float(np.max(datafit.lipschitz))
    step = 1.0 / L if L > 0 else 1.0
    scale = alpha_max(datafit, penalty) if policy == "freeze" else 1.0
    stopped = []

    def hold(W, b):
        W[:, frozen] = hold_W[:, frozen]
        if b is not None:
            b[frozen] = hold_b[frozen]

    def callback(it, W, b):
        if frozen.any():
            hold(W, b)
        if it % every:
            return False
        for t in run.check(W, datafit.intercept(W, b), it):
            if policy == "freeze":
                hold_W[:, t], hold_b[t] = run.best_W[:, t], run.best_b[t]
                frozen[t] = run.applied[t] = True
            elif policy == "distill":
                distill_task(datafit, t, run.best_W[:, t], run.best_b[t], run.monitor)
                run.applied[t] = True
        if frozen.any():
            hold(W, b)
        if policy != "continue" and run.all_converged:
            stopped.append("all tasks converged")
            return True
        if frozen.any() and (
            _frozen_residual(datafit, penalty, alpha, W, b, frozen, step, scale) <= tol
        ):
            stopped.append("stationary")
            return True
        return False

    with single_blas_thread(min(d, T) <= SMALL):
        res = fista(
            datafit,
            alpha,
            penalty=penalty,
            W0=W0,
            b0=b0,
            tol=tol,
            max_iter=max_iter,
            verbose=verbose,
            callback=callback,
        )
    W = np.array(res.W)
    b = None if res.b is None else np.array(res.b)
    if frozen.any():  # the final intercepts may have been refined by FISTA
        hold(W, b)
    if run.last_step != res.n_iter:
        run.check(W, datafit.intercept(W, b), res.n_iter)
    if policy == "snapshot":
        W, b = _use_snapshots(run, W, b)
    if verbose and stopped:
        print(f"[monitor] stopped at iteration {res.n_iter}: {stopped[0]}")
    # Stopped by the callback: every task converged, or the frozen problem is
    # stationary (both count as converged).
    reason = {"all tasks converged": "tasks_converged", "stationary": "stationary"}
    return res._replace(
        W=W,
        b=b,
        converged=res.converged or bool(stopped),
        stop_reason=reason[stopped[0]] if stopped else res.stop_reason,
    )


def _use_snapshots(run, W, b):
    """Each monitored task's best validation snapshot."""
    cols = run.monitored & (run.best_at >= 0)
    W[:, cols] = run.best_W[:, cols]
    if b is not None:
        b[cols] = run.best_b[cols]
    return W, b


# --------------------------------------------------------------------------- #
# Asynchronous: the engine's on_check hook
# --------------------------------------------------------------------------- #
class AMTLMonitorHook:
    """``on_check`` for :func:`skmtl._amtl.run_amtl`.

    Scores the published prox every ``check_every`` epochs.  'freeze'
    deactivates a converged task (period 0); 'distill' swaps its targets in the
    (local) data-fit and activates it about once for every ``distill_period``
    activations of a task still learning.
    With any policy but 'continue', once every task has converged all are
    deactivated, which ends the run.
    """

    def __init__(self, run, datafit):
        T = datafit.n_tasks
        self.run = run
        self.datafit = datafit
        self.n_tasks = T
        self.periods = np.ones(T, dtype=np.int64)
        self.frozen = np.zeros(T, dtype=bool)
        self.hold_W = np.zeros((datafit.n_features, T))
        self.hold_b = np.zeros(T)
        self.changed_at = {}  # task -> (total updates, its updates) at the switch
        self.n_calls = 0

    def __call__(self, P, b, task_updates):
        self.n_calls += 1
        run = self.run
        if self.n_calls % run.check_every:
            return None
        version = int(task_updates.sum())
        newly = run.check(P, self.datafit.intercept(P, b), version // self.n_tasks)
        changed = False
        for t in newly:
            if run.policy == "freeze":
                self.hold_W[:, t], self.hold_b[t] = run.best_W[:, t], run.best_b[t]
                self.frozen[t] = True
                self.periods[t] = 0
            elif run.policy == "distill":
                distill_task(
                    self.datafit, t, run.best_W[:, t], run.best_b[t], run.monitor
                )
                self.periods[t] = run.monitor.distill_period
            else:
                continue
            run.applied[t] = changed = True
            self.changed_at[t] = (version, int(task_updates[t]))
        if run.policy != "continue" and run.all_converged:
            self.periods[:] = 0
            changed = True
        return self.periods.copy() if changed else None

    def finish(self, W, b, n_updates, task_updates):
        """Final check and policy; returns ``(W, b)`` and records the savings.

        Saved updates of a slowed or frozen task: the epochs that passed after
        its switch (one update each at the uniform rate the theory assumes)
        minus the updates it still received.
        """
        run = self.run
        T = self.n_tasks
        W, b = np.array(W), (None if b is None else np.array(b))
        if self.frozen.any():
            W[:, self.frozen] = self.hold_W[:, self.frozen]
            if b is not None:
                b[self.frozen] = self.hold_b[self.frozen]
        epochs = n_updates // T
        if run.last_step != epochs:
            run.check(W, self.datafit.intercept(W, b), epochs)
        if run.policy == "snapshot":
            W, b = _use_snapshots(run, W, b)
        saved = np.zeros(T, dtype=np.int64)
        for t, (version, count) in self.changed_at.items():
            expected = (n_updates - version) // T
            saved[t] = max(0, expected - (int(task_updates[t]) - count))
        run.extra["updates_saved"] = saved
        return W, b, int(saved.sum())

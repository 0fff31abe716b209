"""The asynchronous estimators: the same model, fitted by AMTL."""

import copy
import time
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .._amtl import Backend, DynamicStep, make_backend, make_delay_model, run_amtl
from .._amtl._certified import (
    GapCheck,
    StepSearch,
    certified_gap,
    douglas_rachford_step,
    is_local,
    restart_point,
)
from .._amtl._config import (
    resolve_batch,
    resolve_max_staleness,
    resolve_relaxation,
    resolve_step_size,
)
from .._amtl._drift import ModelDrift
from ..monitoring._hooks import AMTLMonitorHook
from ..monitoring._monitor import TaskMonitor
from ..solvers._gaps import alpha_max
from ..solvers._result import SolverResult
from ..utils._validation import guard_divergence
from ._base import MTLBase, MTLClassifierMixin, MTLRegressorMixin


def _merge_stats(stats):
    """Per-task statistics of consecutive runs, as if of one run."""
    if len(stats) == 1:
        return stats[0]
    n = np.array([s["n_updates"] for s in stats], dtype=float)
    total = n.sum(axis=0)
    weights = n / np.maximum(total, 1.0)
    out = {"n_updates": total.astype(np.int64)}
    for key in ("staleness_mean", "round_trip_mean", "relaxation_mean"):
        out[key] = (weights * np.array([s[key] for s in stats])).sum(axis=0)
    for key in ("staleness_max", "round_trip_max"):
        out[key] = np.max([s[key] for s in stats], axis=0)
    return out


def _merge_history(histories, starts):
    """Histories of consecutive runs on one time and update axis.

    ``starts`` are the times at which the runs started, on the fit's clock.
    """
    if len(histories) == 1:
        return histories[0]
    parts, n0 = [], 0
    for h, start in zip(histories, starts, strict=True):
        h = h.copy()
        h["time"] += start
        h["n_updates"] += n0
        if len(h):
            n0 = int(h["n_updates"][-1])
        parts.append(h)
    return np.concatenate(parts)


def _alpha_factor(datafit, penalty, alpha):
    """How much the curvature step is enlarged for a weak penalty.

    The curvature step is within 2x of the best Douglas-Rachford step at
    ``alpha = 0.05 alpha_max`` on School, Landmine, Parkinson's and synthetic
    data (``benchmarks/bench_async_defaults.py``).  Below that, the best step
    grows about as ``1 / alpha``: standardized School at the default alpha
    (``0.0005 alpha_max``) needed 64-256x the curvature step, and with this
    factor its threaded fit converges in 104 epochs instead of stopping at
    ``max_iter``.  Above ``0.05 alpha_max`` the step is left alone (scaling it
    down tripled Landmine's epochs at ``0.2 alpha_max``).

    Still needed with the unbiased step search (:class:`StepSearch`), as the
    prior it starts from: the search alone finds a step of the same size
    (1-3x this one) but pays for it with probes; sequential epochs with this
    factor vs without: standardized School at the default alpha 91 vs 416
    (the search picks 2.8x this step), Parkinson's at the default alpha
    (0.004 alpha_max) 322 vs 478 (1.3x).
    """
    if not is_local(datafit) or not alpha > 0:
        return 1.0
    amax = alpha_max(datafit, penalty)
    if not np.isfinite(amax) or amax <= 0:
        return 1.0
    return float(np.clip(0.05 * amax / alpha, 1.0, 1024.0))


class _AsyncMTL(MTLBase):
    _result_attributes = {
        "n_updates_": "n_updates",
        "task_stats_": "task_stats",
        "stop_reason_": "stop_reason",
        "residual_": "residual",
        "step_size_": "step_size",
        "relaxation_": "relaxation",
        "max_staleness_": "max_staleness",
        "refresh_every_": "refresh_every",
        "relaxation_bound_": "relaxation_bound",
        "events_": "events",
        "updates_saved_": "updates_saved",
        "dual_gap_": "dual_gap",
        "n_restarts_": "n_restarts",
    }
    _parameter_constraints = {
        **MTLBase._parameter_constraints,
        "backend": [
            StrOptions({"auto", "sequential", "threading", "simulated", "dask"}),
            Backend,
        ],
        # n_jobs=0 means no worker at all: rejected, not silently 2 threads.
        "n_jobs": [
            None,
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "schedule": [StrOptions({"async", "sync"})],
        "splitting": [StrOptions({"forward-backward", "douglas-rachford"})],
        "step_size": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "relaxation": [
            StrOptions({"auto", "arock"}),
            Interval(Real, 0, 2, closed="neither"),
        ],
        "max_staleness": [
            StrOptions({"auto"}),
            Interval(Integral, 0, None, closed="left"),
        ],
        "refresh_every": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "dynamic_step": ["boolean", DynamicStep],
        "delay": [
            None,
            Interval(Real, 0, None, closed="left"),
            HasMethods(["sample"]),
            callable,
        ],
        "max_time": [None, Interval(Real, 0, None, closed="neither")],
        "client": "no_validation",
        "task_monitor": [None, TaskMonitor],
        "task_timeout": [None, Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        alpha=0.05,
        *,
        task_column=None,
        fit_intercept=True,
        loss_scaling="mean",
        backend="auto",
        n_jobs=None,
        schedule="async",
        splitting="douglas-rachford",
        step_size="auto",
        relaxation="auto",
        max_staleness="auto",
        refresh_every="auto",
        dynamic_step=False,
        delay=None,
        max_iter=2000,
        max_time=None,
        tol=1e-6,
        warm_start=False,
        handle_unknown_task="error",
        verbose=0,
        random_state=None,
        client=None,
        task_monitor=None,
        task_timeout=60.0,
    ):
        self.alpha = alpha
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.loss_scaling = loss_scaling
        self.backend = backend
        self.n_jobs = n_jobs
        self.schedule = schedule
        self.splitting = splitting
        self.step_size = step_size
        self.relaxation = relaxation
        self.max_staleness = max_staleness
        self.refresh_every = refresh_every
        self.dynamic_step = dynamic_step
        self.delay = delay
        self.max_iter = max_iter
        self.max_time = max_time
        self.tol = tol
        self.warm_start = warm_start
        self.handle_unknown_task = handle_unknown_task
        self.verbose = verbose
        self.random_state = random_state
        self.client = client
        self.task_monitor = task_monitor
        self.task_timeout = task_timeout

    def _solve(self, datafit, W0, b0, monitor=None):
        penalty = self._penalty()
        hook = self._monitor_hook(monitor, datafit)
        backend = self._make_backend()
        template = backend if backend is self.backend else None
        # Certified stopping needs the data here and the original targets (a
        # distilling task monitor changes them): then ``tol`` bounds the
        # relative duality gap, as for the centralized estimators.
        certify = is_local(datafit) and (hook is None or monitor.policy != "distill")
        search = self._searches_step(certify, hook, backend)
        step = self._initial_step(datafit, penalty, W0, search)
        if W0 is not None and certify:
            gap, b_cert = certified_gap(datafit, W0, b0, self.alpha, penalty)
            if gap <= self.tol:
                # The warm start is already certified: no epoch to run.
                return self._no_run(datafit, W0, b_cert, gap, step, penalty, backend)
        search = StepSearch(step, self.tol) if search else None
        # A constant-speed drift of the model is followed (l2,1 only).
        drift = ModelDrift.of(penalty, self.tol) if certify and hook is None else None
        rng = check_random_state(self.random_state)
        delay_model = make_delay_model(self.delay, datafit.n_tasks)
        V0 = None
        if W0 is not None:
            # The engine holds V, whose prox is the model.  The optimum W* is
            # prox(V*) for V* = W* - eta grad f(W*) (both splittings), so start
            # there, not at V = W0 (whose prox shrinks W0 by eta * alpha).
            V0 = restart_point(datafit, W0, b0, step)
        runs, starts, used_epochs, used_time = [], [], 0, 0.0
        # The simulated backend's clock is virtual: its runs' times add up;
        # the others run on the wall clock, restarts included.
        virtual = getattr(backend, "name", None) == "simulated"
        fit_start = time.perf_counter()
        while True:
            backend = self._run_backend(backend, template, first=not runs)
            check = GapCheck(
                datafit, self.alpha, penalty, self.tol, hook, search, drift
            )
            if not virtual:
                used_time = time.perf_counter() - fit_start
            result = self._run_once(
                datafit,
                backend,
                penalty,
                step=step,
                V0=V0,
                b0=b0,
                budget=self.max_iter - used_epochs,
                used_time=used_time,
                on_check=check if certify else hook,
                certify=certify,
                delay_model=delay_model,
                rng=rng,
            )
            runs.append(result)
            used_epochs += result.n_iter
            history = result.objective_history
            last_time = float(history["time"][-1]) if len(history) else 0.0
            if virtual:
                starts.append(used_time)
                used_time += last_time
            else:
                # The run's clock starts after its backend did: align its end.
                starts.append(time.perf_counter() - fit_start - last_time)
            W, b = result.W, result.b
            stop, converged, stop_reason, gap = self._stop_decision(
                datafit, penalty, result, check, used_epochs, certify
            )
            if stop:
                break
            step, V0, b0 = self._restart(datafit, result, check, search, step)
        return self._assemble_result(
            datafit,
            penalty,
            runs,
            starts,
            hook,
            certify,
            (W, b, gap, converged, stop_reason),
        )

    @staticmethod
    def _restart(datafit, result, check, search, step):
        """The step, ``V0`` and ``b0`` of the next run.

        Not certified yet (a probe of the step search, the end of a drift, or
        the exact final model above tol): restart from the current model.
        """
        W, b = result.W, result.b
        point = (W, b, result.info.get("V"), step)
        if check.probe_stop:
            step, point = search.update(check.epochs, check.gaps, point)
        if check.jump is not None:
            # The end of a drift: the run's V belongs to its own model.
            point = (check.jump, b)
        V0 = restart_point(datafit, *point[:2], step, *point[2:])
        return step, V0, point[1]

    def _monitor_hook(self, monitor, datafit):
        """The hook that runs the task monitor in the loop, or None."""
        if monitor is None:
            return None
        name = getattr(self.backend, "name", self.backend)
        if monitor.policy == "distill" and name == "dask":
            raise ValueError(
                "task_monitor with policy='distill' changes the targets of "
                "the task nodes, which only the local backends "
                "('sequential', 'threading', 'simulated') support; use "
                "policy='freeze' or 'snapshot' with backend='dask'."
            )
        return AMTLMonitorHook(monitor, datafit)

    def _searches_step(self, certify, hook, backend):
        """Whether the fit searches the Douglas-Rachford step (True or None)."""
        # The step search restarts the loop, which re-creates the task nodes:
        # cheap on the local backends, not on a Dask cluster.
        if (
            certify
            and hook is None
            and self.splitting == "douglas-rachford"
            and self.step_size == "auto"
            and getattr(backend, "name", None) != "dask"
        ):
            return True
        return None

    def _initial_step(self, datafit, penalty, W0, search):
        """The step size of the first run."""
        step = None
        if self.splitting == "douglas-rachford" and self.step_size == "auto":
            step = douglas_rachford_step(datafit)
            if step is not None:
                step *= _alpha_factor(datafit, penalty, self.alpha)
        if step is None:
            step = resolve_step_size(
                self.step_size, datafit, self.alpha, self.splitting, penalty
            )
        if W0 is not None and search:
            # Refitting the same problem: start from the step found last time.
            previous = getattr(self, "step_size_", None)
            if previous is not None and getattr(self, "_splitting_fit", None) == (
                self.splitting
            ):
                step = float(previous)
        return step

    def _run_backend(self, backend, template, *, first):
        """The backend of the next run of the loop."""
        if not first:
            backend = self._make_backend() if template is None else template
        if template is not None:
            # A Backend instance is a parameter: run a (shallow: it may
            # hold a client) copy, so that fit neither mutates it nor
            # leaves queues or the training data on it.
            backend = copy.copy(template)
            backend.events = []
        return backend

    def _run_once(
        self,
        datafit,
        backend,
        penalty,
        *,
        step,
        V0,
        b0,
        budget,
        used_time,
        on_check,
        certify,
        delay_model,
        rng,
    ):
        """One run of AMTL, within what is left of max_iter and max_time."""
        max_time = None
        if self.max_time is not None:
            max_time = max(self.max_time - used_time, 1e-9)
        return guard_divergence(self, run_amtl)(
            datafit,
            self.alpha,
            backend,
            schedule=self.schedule,
            splitting=self.splitting,
            step_size=step,
            relaxation=self.relaxation,
            max_staleness=self.max_staleness,
            refresh_every=self.refresh_every,
            dynamic_step=self.dynamic_step or None,
            delay_model=delay_model,
            max_epochs=budget,
            max_time=max_time,
            # Without a certificate the residual decides (remote data).
            tol=0.0 if certify else self.tol,
            random_state=rng,
            V0=V0,
            b0=b0,
            verbose=self.verbose,
            on_check=on_check,
            penalty=penalty,
        )

    def _stop_decision(self, datafit, penalty, result, check, used_epochs, certify):
        """After a run: (stop, converged, stop_reason, dual gap)."""
        stop_reason = result.stop_reason
        if not certify:
            return True, result.converged, stop_reason, np.nan
        gap, _ = certified_gap(datafit, result.W, result.b, self.alpha, penalty)
        if gap <= self.tol:
            return True, True, "converged", gap
        restart = check.converged or check.probe_stop or check.jump is not None
        if stop_reason == "deactivated" and not restart:
            return True, False, stop_reason, gap  # every task converged (monitor)
        if stop_reason == "max_time" or used_epochs >= self.max_iter:
            stop_reason = "max_time" if stop_reason == "max_time" else "max_iter"
            return True, False, stop_reason, gap
        if result.n_iter == 0 and not check.converged:
            return True, False, "max_iter", gap
        return False, False, stop_reason, gap

    def _assemble_result(self, datafit, penalty, runs, starts, hook, certify, final):
        """The SolverResult of the fit, from its runs and the final state."""
        W, b, gap, converged, stop_reason = final
        saved = None
        if hook is not None:
            W, b, saved = hook.finish(
                W,
                b,
                sum(r.info["n_updates"] for r in runs),
                sum(r.info["task_stats"]["n_updates"] for r in runs),
            )
            if stop_reason == "deactivated":
                converged, stop_reason = True, "tasks_converged"
            if certify:
                gap, _ = certified_gap(datafit, W, b, self.alpha, penalty)
        last = runs[-1]
        n_updates = sum(r.info["n_updates"] for r in runs)
        self._splitting_fit = self.splitting
        info = {
            **last.info,
            "history": _merge_history([r.objective_history for r in runs], starts),
            "n_epochs": n_updates // datafit.n_tasks,
            "n_updates": n_updates,
            "task_stats": _merge_stats([r.info["task_stats"] for r in runs]),
            "events": [event for r in runs for event in r.info["events"]],
            "dual_gap": float(gap),
            "n_restarts": len(runs) - 1,
        }
        info.pop("history_finite", None)  # the last run's rows only
        if saved is not None:
            info["updates_saved"] = saved
        return SolverResult(
            W,
            b,
            info["history"],
            info["n_epochs"],
            gap if certify else last.gap,
            converged,
            stop_reason,
            info,
        )

    def _make_backend(self):
        return make_backend(
            self.backend,
            n_jobs=self.n_jobs,
            client=self.client,
            task_timeout=self.task_timeout,
        )

    def _no_run(self, datafit, W, b, gap, step, penalty, backend):
        """The result of a fit whose warm start is already certified."""
        T = datafit.n_tasks
        tau = resolve_max_staleness(self.max_staleness, T)
        relax, bound = resolve_relaxation(self.relaxation, self.schedule, T, tau)
        refresh = resolve_batch(self.refresh_every, T, tau, backend)
        history = np.zeros(
            1,
            dtype=[
                ("time", float),
                ("n_updates", np.int64),
                ("residual", float),
                ("objective", float),
            ],
        )
        objective = datafit.value(W, b) + self.alpha * penalty.value(W)
        history[0] = (0.0, 0, np.nan, objective)
        zeros = np.zeros(T)
        self._splitting_fit = self.splitting
        info = {
            "history": history,
            "n_epochs": 0,
            "n_updates": 0,
            "residual": np.nan,
            "task_stats": {
                "n_updates": np.zeros(T, dtype=np.int64),
                "staleness_mean": zeros.copy(),
                "staleness_max": np.zeros(T, dtype=np.int64),
                "round_trip_mean": zeros.copy(),
                "round_trip_max": zeros.copy(),
                "relaxation_mean": zeros.copy(),
            },
            "splitting": self.splitting,
            "step_size": float(step),
            "relaxation": relax,
            "max_staleness": tau,
            "refresh_every": refresh,
            "relaxation_bound": bound,
            "events": [],
            "dual_gap": float(gap),
            "n_restarts": 0,
        }
        return SolverResult(W, b, history, 0, gap, True, "converged", info)

    def __sklearn_clone__(self):
        # A dask Client is a connection handle: clones share it (it cannot be
        # deep-copied), so GridSearchCV and cross_val_score work with one.
        client = self.client
        if client is None or isinstance(client, str):
            return super().__sklearn_clone__()
        self.client = None
        try:
            new = super().__sklearn_clone__()
        finally:
            self.client = client
        new.client = client
        return new

    def __getstate__(self):
        # Pickle a Client as its scheduler address; the fit reconnects to it.
        state = super().__getstate__()
        client = state.get("client")
        if client is not None and not isinstance(client, str):
            state["client"] = client.scheduler.address
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Threads make a fit nondeterministic; the default backend is not.
        if isinstance(self.backend, Backend):
            tags.non_deterministic = not self.backend.deterministic
        else:
            tags.non_deterministic = self.backend in ("threading", "dask") or (
                self.backend == "auto" and self.n_jobs not in (None, 1)
            )
        return tags


class AsyncTraceNormMTLRegressor(MTLRegressorMixin, _AsyncMTL):
    r"""Trace-norm multi-task least squares fitted by asynchronous AMTL.

    Task nodes each own their data and take forward (gradient) steps on their
    own column of the model; a central node keeps the trace-norm proximal map
    current and applies Krasnoselskii-Mann updates as the answers arrive,
    without waiting for all tasks (Baytas et al., 2016).  Converges to the same
    optimum as :class:`TraceNormMTLRegressor`.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \, \|W\|_*

    where :math:`\|W\|_*` is the trace (nuclear) norm of the d x T matrix of task
    weights :math:`W = [w_1, \dots, w_T]`, :math:`s_i` is the weight of row
    :math:`i`, :math:`c_t` is the task's total sample weight
    (``loss_scaling='mean'``) or 1 (``'sum'``), and the intercepts are not
    penalized.

    The loss is the squared loss :math:`\ell(y, m) = (y - m)^2 / 2`.

    Parameters
    ----------
    alpha : float, default=0.05
        Strength of the penalty (default chosen for standardized
        data, see :class:`TraceNormMTLRegressor`).
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` holds one column per task.  Otherwise the
        column of ``X`` (position or DataFrame name) holding each row's task
        label (long format).
    fit_intercept : bool, default=True
        Fit one unpenalized intercept per task.
    loss_scaling : {'mean', 'sum'}, default='mean'
        ``'mean'`` divides each task's loss by its total sample weight.
    backend : {'auto', 'sequential', 'threading', 'simulated', 'dask'} or Backend
        Where the task nodes run.  'auto' is 'sequential' for ``n_jobs`` in
        (None, 1) and 'threading' otherwise.  'simulated' runs a deterministic
        discrete-event simulation in virtual time (times in the diagnostics
        are then virtual seconds).  'dask' runs task nodes on a Dask cluster
        (needs ``skmtl[dask]``).  A Backend instance (e.g.
        ``SimulatedBackend(compute_time=...)``) is used as is.
    n_jobs : int or None, default=None
        Worker threads of the threading backend (-1: all cores).
    schedule : {'async', 'sync'}, default='async'
        'async' is AMTL; 'sync' is the paper's synchronous baseline (SMTL):
        every round waits for all tasks, then applies one prox.
    splitting : {'douglas-rachford', 'forward-backward'}, default='douglas-rachford'
        What a task node computes: an exact per-task prox (Douglas-Rachford),
        which needs far fewer epochs on ill-conditioned tasks, or the paper's
        gradient step ``z = u - eta grad l_t(u)`` (what ``python -m skmtl
        paper`` reproduces).  Both converge to the same optimum.
    step_size : 'auto' or float, default='auto'
        Step ``eta`` of both the task step and the central prox (threshold
        ``eta * alpha``).  Forward-backward: 'auto' is ``1/L`` and a float must
        be below ``2/L``.  Douglas-Rachford: any ``eta > 0``; 'auto' starts
        at the inverse of the typical curvature of the tasks' losses (median
        over tasks of the mean eigenvalue of their Hessians) and, when the
        data are local, is then chosen by short probes of the progress of the
        certified gap (each probe is a restart from the current model, see
        ``n_restarts_``; not on the 'dask' backend).
    relaxation : 'auto', 'arock' or float, default='auto'
        KM relaxation ``eta_k``.  'auto' is 1 (SMTL is then exactly proximal
        gradient); 'arock' is ARock's guaranteed but conservative bound
        ``0.9 / (1 + 2 tau / sqrt(T))`` (see ``relaxation_bound_``).
    max_staleness : 'auto' or int, default='auto'
        Cap ``tau`` on the staleness of any update (back-pressure blocks the
        tasks that run ahead); 'auto' is ``4 * n_tasks``.
    refresh_every : 'auto' or int, default='auto'
        Task updates per proximal map the central node publishes (a batched
        refresh: one prox serves this many updates).  Every read carries the
        version of the prox it came from, so the staleness stays exact and
        capped by ``max_staleness``, which an int may not exceed.  'auto' is
        ``n_tasks // 2`` (at least 1, at most ``max_staleness``) on
        the sequential backend, where each refresh runs between two task
        steps, and 1 (a prox after every update) on the others: a threaded
        central node batches by itself, refreshing when it gets to it.
        The prox is always refreshed at the epoch checks and at the end of
        a 'sync' round.
    dynamic_step : bool or DynamicStep, default=False
        The paper's dynamic step size: each task's relaxation is multiplied
        by ``log(max(mean of its last 5 delays, 10))`` and clipped; see
        :class:`skmtl.DynamicStep` for the delay that drives it.
    delay : None, float, DelayModel or callable, default=None
        Injected network delay per round trip, in seconds: a constant, a
        :class:`skmtl.DelayModel` (offset plus jitter, per-task offsets for
        stragglers) or a callable ``delay(task, rng)``.  Applied identically
        to both schedules on every backend.
    max_iter : int, default=2000
        Maximum number of epochs (T task updates each; rounds for 'sync').
    max_time : float or None, default=None
        Stop after this many seconds (virtual for the simulated backend).
    tol : float, default=1e-6
        Stop when the certified relative duality gap of the published model
        is at most ``tol``: the same criterion as the centralized estimators
        (see ``dual_gap_``), checked every epoch.  When the data are remote
        (:func:`skmtl.distributed.fit_from_loaders`) no certificate exists and
        ``tol`` bounds the relative fixed-point residual ``||Z - V|| / ||V||``
        instead.
    warm_start : bool, default=False
        Start from the previous solution when refitting.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time, a task not seen in fit raises, or is predicted with
        the average task model.
    verbose : int, default=0
        Print a progress line at most once a second.
    random_state : int, RandomState instance or None, default=None
        Seeds the delay draws; with the sequential or simulated backend the
        fit is then reproducible bit for bit.
    client : distributed.Client, str or None, default=None
        Dask client or scheduler address for ``backend='dask'``; None starts
        a local cluster for the fit.
    task_monitor : TaskMonitor or None, default=None
        Opt-in per-task convergence monitoring on held-out rows (or on
        ``X_val, y_val`` passed to ``fit``), checked every
        ``check_every`` epochs on the published prox.  With
        ``policy='freeze'`` a converged task is no longer activated; with
        'distill' it trains on distillation targets and is activated less
        often (``distill_period``; local backends only, not 'dask').
        See :class:`skmtl.TaskMonitor`.  None (default): no monitoring.
    task_timeout : float or None, default=60.0
        Seconds one task step (with a user's ``delay`` callable) may take.
        Threading backend: the fit stops with a ``TimeoutError`` naming the
        task; Dask: the task's node is re-created on another worker, and the
        fit fails within about this time when no worker is left.  A user's
        delay callable that blocks longer stops the fit on any backend.  None
        waits forever.  Ignored for a Backend instance (set its own).

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        One row of weights per task.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (sorted) in long format, ``arange(n_tasks)`` otherwise.
    n_features_in_ : int
        Number of columns of X seen in fit (the task column included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X has string column names.
    n_iter_ : int
        Epochs (T task updates each; rounds for 'sync').
    objective_history_ : structured ndarray
        One row per epoch with fields 'time', 'n_updates', 'residual' and
        'objective'.
    n_updates_ : int
        Task updates applied.
    task_stats_ : dict of ndarray of shape (n_tasks,)
        Per task: 'n_updates', 'staleness_mean', 'staleness_max',
        'round_trip_mean', 'round_trip_max' (seconds) and 'relaxation_mean'.
    stop_reason_ : str
        'converged', 'max_iter', 'max_time' or, with a ``task_monitor``,
        'tasks_converged' (every task converged and was deactivated).
    residual_ : float
        Final relative fixed-point residual.
    dual_gap_ : float
        Final certified relative duality gap, as for the centralized
        estimators; NaN when the data are remote.
    n_restarts_ : int
        Restarts of the asynchronous loop from its current model: probes of
        the Douglas-Rachford step search (``step_size='auto'``).
    step_size_, relaxation_, max_staleness_ : float, float, int
        The values used.
    relaxation_bound_ : float
        ARock's sufficient relaxation bound for this ``max_staleness_``.
    refresh_every_ : int
        The ``refresh_every`` used.
    events_ : list of dict
        Notable backend events (e.g. a worker lost and its tasks re-created).
    task_convergence_ : dict of ndarray of shape (n_tasks,)
        Only with a ``task_monitor``: as for :class:`TraceNormMTLRegressor`
        (with epochs instead of iterations), plus 'updates_saved' per task.
    updates_saved_ : int
        Only with a ``task_monitor``: task updates avoided by slowing down or
        deactivating converged tasks (for each, the epochs after its switch
        minus the updates it still received).

    See Also
    --------
    TraceNormMTLRegressor : The same model, solved centrally.
    AsyncL21MTLRegressor : The l2,1 (joint feature selection) penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import AsyncTraceNormMTLRegressor, DelayModel
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(80, 6)
    >>> Y = X @ (rng.randn(6, 1) @ rng.randn(1, 4)) + 0.01 * rng.randn(80, 4)
    >>> amtl = AsyncTraceNormMTLRegressor(
    ...     alpha=0.01, backend="simulated", delay=DelayModel(offset=0.5),
    ...     random_state=0).fit(X, Y)
    >>> amtl.stop_reason_, amtl.coef_.shape
    ('converged', (4, 6))
    >>> print(round(amtl.score(X, Y), 3))
    1.0
    """


class AsyncTraceNormMTLClassifier(MTLClassifierMixin, _AsyncMTL):
    r"""Trace-norm multi-task logistic regression fitted by asynchronous AMTL.

    Every task is binary with its own two labels; see
    :class:`AsyncTraceNormMTLRegressor` for the algorithm.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \, \|W\|_*

    where :math:`\|W\|_*` is the trace (nuclear) norm of the d x T matrix of task
    weights :math:`W = [w_1, \dots, w_T]`, :math:`s_i` is the weight of row
    :math:`i`, :math:`c_t` is the task's total sample weight
    (``loss_scaling='mean'``) or 1 (``'sum'``), and the intercepts are not
    penalized.

    The loss is the logistic loss :math:`\ell(y, m) = \log(1 + e^{-y m})`,
    with each task's two labels coded as :math:`y \in \{-1, +1\}` (the
    larger label is +1).

    Parameters
    ----------
    alpha : float, default=0.05
        Strength of the penalty (default chosen for standardized
        data, see :class:`TraceNormMTLRegressor`).
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` holds one column per task.  Otherwise the
        column of ``X`` (position or DataFrame name) holding each row's task
        label (long format).
    fit_intercept : bool, default=True
        Fit one unpenalized intercept per task.
    loss_scaling : {'mean', 'sum'}, default='mean'
        ``'mean'`` divides each task's loss by its total sample weight.
    backend : {'auto', 'sequential', 'threading', 'simulated', 'dask'} or Backend
        Where the task nodes run.  'auto' is 'sequential' for ``n_jobs`` in
        (None, 1) and 'threading' otherwise.  'simulated' runs a deterministic
        discrete-event simulation in virtual time (times in the diagnostics
        are then virtual seconds).  'dask' runs task nodes on a Dask cluster
        (needs ``skmtl[dask]``).  A Backend instance (e.g.
        ``SimulatedBackend(compute_time=...)``) is used as is.
    n_jobs : int or None, default=None
        Worker threads of the threading backend (-1: all cores).
    schedule : {'async', 'sync'}, default='async'
        'async' is AMTL; 'sync' is the paper's synchronous baseline (SMTL):
        every round waits for all tasks, then applies one prox.
    splitting : {'douglas-rachford', 'forward-backward'}, default='douglas-rachford'
        What a task node computes: an exact per-task prox (Douglas-Rachford),
        which needs far fewer epochs on ill-conditioned tasks, or the paper's
        gradient step ``z = u - eta grad l_t(u)`` (what ``python -m skmtl
        paper`` reproduces).  Both converge to the same optimum.
    step_size : 'auto' or float, default='auto'
        Step ``eta`` of both the task step and the central prox (threshold
        ``eta * alpha``).  Forward-backward: 'auto' is ``1/L`` and a float must
        be below ``2/L``.  Douglas-Rachford: any ``eta > 0``; 'auto' starts
        at the inverse of the typical curvature of the tasks' losses (median
        over tasks of the mean eigenvalue of their Hessians) and, when the
        data are local, is then chosen by short probes of the progress of the
        certified gap (each probe is a restart from the current model, see
        ``n_restarts_``; not on the 'dask' backend).
    relaxation : 'auto', 'arock' or float, default='auto'
        KM relaxation ``eta_k``.  'auto' is 1 (SMTL is then exactly proximal
        gradient); 'arock' is ARock's guaranteed but conservative bound
        ``0.9 / (1 + 2 tau / sqrt(T))`` (see ``relaxation_bound_``).
    max_staleness : 'auto' or int, default='auto'
        Cap ``tau`` on the staleness of any update (back-pressure blocks the
        tasks that run ahead); 'auto' is ``4 * n_tasks``.
    refresh_every : 'auto' or int, default='auto'
        Task updates per proximal map the central node publishes (a batched
        refresh: one prox serves this many updates).  Every read carries the
        version of the prox it came from, so the staleness stays exact and
        capped by ``max_staleness``, which an int may not exceed.  'auto' is
        ``n_tasks // 2`` (at least 1, at most ``max_staleness``) on
        the sequential backend, where each refresh runs between two task
        steps, and 1 (a prox after every update) on the others: a threaded
        central node batches by itself, refreshing when it gets to it.
        The prox is always refreshed at the epoch checks and at the end of
        a 'sync' round.
    dynamic_step : bool or DynamicStep, default=False
        The paper's dynamic step size: each task's relaxation is multiplied
        by ``log(max(mean of its last 5 delays, 10))`` and clipped; see
        :class:`skmtl.DynamicStep` for the delay that drives it.
    delay : None, float, DelayModel or callable, default=None
        Injected network delay per round trip, in seconds: a constant, a
        :class:`skmtl.DelayModel` (offset plus jitter, per-task offsets for
        stragglers) or a callable ``delay(task, rng)``.  Applied identically
        to both schedules on every backend.
    max_iter : int, default=2000
        Maximum number of epochs (T task updates each; rounds for 'sync').
    max_time : float or None, default=None
        Stop after this many seconds (virtual for the simulated backend).
    tol : float, default=1e-6
        Stop when the certified relative duality gap of the published model
        is at most ``tol``: the same criterion as the centralized estimators
        (see ``dual_gap_``), checked every epoch.  When the data are remote
        (:func:`skmtl.distributed.fit_from_loaders`) no certificate exists and
        ``tol`` bounds the relative fixed-point residual ``||Z - V|| / ||V||``
        instead.
    warm_start : bool, default=False
        Start from the previous solution when refitting.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time, a task not seen in fit raises, or is predicted with
        the average task model.
    verbose : int, default=0
        Print a progress line at most once a second.
    random_state : int, RandomState instance or None, default=None
        Seeds the delay draws; with the sequential or simulated backend the
        fit is then reproducible bit for bit.
    client : distributed.Client, str or None, default=None
        Dask client or scheduler address for ``backend='dask'``; None starts
        a local cluster for the fit.
    task_monitor : TaskMonitor or None, default=None
        Opt-in per-task convergence monitoring on held-out rows (or on
        ``X_val, y_val`` passed to ``fit``), checked every
        ``check_every`` epochs on the published prox.  With
        ``policy='freeze'`` a converged task is no longer activated; with
        'distill' it trains on distillation targets and is activated less
        often (``distill_period``; local backends only, not 'dask').
        See :class:`skmtl.TaskMonitor`.  None (default): no monitoring.
    task_timeout : float or None, default=60.0
        Seconds one task step (with a user's ``delay`` callable) may take.
        Threading backend: the fit stops with a ``TimeoutError`` naming the
        task; Dask: the task's node is re-created on another worker, and the
        fit fails within about this time when no worker is left.  A user's
        delay callable that blocks longer stops the fit on any backend.  None
        waits forever.  Ignored for a Backend instance (set its own).

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        One row of weights per task.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (sorted) in long format, ``arange(n_tasks)`` otherwise.
    n_features_in_ : int
        Number of columns of X seen in fit (the task column included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X has string column names.
    classes_ : ndarray or list of ndarray
        Every label seen in fit (long format), or the labels per task.
    n_iter_ : int
        Epochs (T task updates each; rounds for 'sync').
    objective_history_ : structured ndarray
        One row per epoch with fields 'time', 'n_updates', 'residual' and
        'objective'.
    n_updates_ : int
        Task updates applied.
    task_stats_ : dict of ndarray of shape (n_tasks,)
        Per task: 'n_updates', 'staleness_mean', 'staleness_max',
        'round_trip_mean', 'round_trip_max' (seconds) and 'relaxation_mean'.
    stop_reason_ : str
        'converged', 'max_iter', 'max_time' or, with a ``task_monitor``,
        'tasks_converged' (every task converged and was deactivated).
    residual_ : float
        Final relative fixed-point residual.
    dual_gap_ : float
        Final certified relative duality gap, as for the centralized
        estimators; NaN when the data are remote.
    n_restarts_ : int
        Restarts of the asynchronous loop from its current model: probes of
        the Douglas-Rachford step search (``step_size='auto'``).
    step_size_, relaxation_, max_staleness_ : float, float, int
        The values used.
    relaxation_bound_ : float
        ARock's sufficient relaxation bound for this ``max_staleness_``.
    refresh_every_ : int
        The ``refresh_every`` used.
    events_ : list of dict
        Notable backend events (e.g. a worker lost and its tasks re-created).
    task_convergence_ : dict of ndarray of shape (n_tasks,)
        Only with a ``task_monitor``: as for :class:`TraceNormMTLRegressor`
        (with epochs instead of iterations), plus 'updates_saved' per task.
    updates_saved_ : int
        Only with a ``task_monitor``: task updates avoided by slowing down or
        deactivating converged tasks (for each, the epochs after its switch
        minus the updates it still received).

    See Also
    --------
    TraceNormMTLClassifier : The same model, solved centrally.
    AsyncL21MTLClassifier : The l2,1 (joint feature selection) penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import AsyncTraceNormMTLClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 4)
    >>> task = rng.randint(3, size=300)
    >>> y = np.where(X[:, 0] + 0.2 * task * X[:, 1] > 0, "yes", "no")
    >>> Xl = np.column_stack([X, task])
    >>> clf = AsyncTraceNormMTLClassifier(alpha=0.1, task_column=-1).fit(Xl, y)
    >>> clf.classes_
    array(['no', 'yes'], dtype='<U3')
    >>> print(clf.score(Xl, y) > 0.9)
    True
    """

"""The central AMTL loop, shared by every backend and by both schedules.

``schedule='async'`` is AMTL: whenever a task's reply arrives, the central node
applies its KM update, republishes the prox and reactivates the task, without
waiting for the others.  ``schedule='sync'`` is the paper's SMTL baseline on the
same machinery: each round activates all T tasks on the same prox, waits for
all T replies, applies them and computes one prox (with relaxation 1 this is
exactly proximal gradient descent).

Staleness is exact: a reply computed from the prox of version ``r`` and applied
when V is at version ``k`` has staleness ``k - r`` (writes by other tasks it did
not see).  It is bounded by back-pressure: a task is reactivated only when no
outstanding read could end up more than ``max_staleness`` versions old, even if
every other outstanding task wrote first; otherwise it waits (blocks).
"""

import time
from collections import deque
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from ..solvers._gaps import penalized_objective
from ._central import CentralNode
from ._config import (  # noqa: F401  (re-exported: imports from _engine keep working)
    AMTLConfig,
    resolve_config,
    resolve_max_staleness,
    resolve_relaxation,
    resolve_step_size,
)
from ._periods import ActivationPeriods
from ._update import TaskStep

# Memory for the model snapshots kept to evaluate the objective after the run.
_SNAPSHOT_BYTES = 256 << 20


class AMTLResult(NamedTuple):
    """What :func:`run_amtl` returns (plain arrays and dicts)."""

    W: np.ndarray
    b: np.ndarray | None
    history: np.ndarray  # structured: time, n_updates, residual, objective
    n_epochs: int
    n_updates: int
    residual: float
    converged: bool
    stop_reason: str
    task_stats: dict
    splitting: str
    step_size: float
    relaxation: float
    max_staleness: int
    relaxation_bound: float
    events: list


class _TaskStats:
    def __init__(self, n_tasks):
        self.n_updates = np.zeros(n_tasks, dtype=np.int64)
        self.staleness_sum = np.zeros(n_tasks)
        self.staleness_max = np.zeros(n_tasks, dtype=np.int64)
        self.round_trip_sum = np.zeros(n_tasks)
        self.round_trip_max = np.zeros(n_tasks)
        self.relaxation_sum = np.zeros(n_tasks)

    def record(self, t, staleness, round_trip, relaxation):
        self.n_updates[t] += 1
        self.staleness_sum[t] += staleness
        self.staleness_max[t] = max(self.staleness_max[t], staleness)
        self.round_trip_sum[t] += round_trip
        self.round_trip_max[t] = max(self.round_trip_max[t], round_trip)
        self.relaxation_sum[t] += relaxation

    def as_dict(self):
        n = np.maximum(self.n_updates, 1)
        return {
            "n_updates": self.n_updates.copy(),
            "staleness_mean": self.staleness_sum / n,
            "staleness_max": self.staleness_max.copy(),
            "round_trip_mean": self.round_trip_sum / n,
            "round_trip_max": self.round_trip_max.copy(),
            "relaxation_mean": self.relaxation_sum / n,
        }


class _History:
    """Checks of the run; model snapshots are thinned to a memory budget."""

    def __init__(self, size):
        self.rows = []  # (time, n_updates, residual)
        self.snaps = {}  # row index -> (P, b)
        self.max_snaps = max(16, _SNAPSHOT_BYTES // max(8 * size, 1))

    def append(self, elapsed, n_updates, residual, snapshot):
        self.snaps[len(self.rows)] = (snapshot.P, snapshot.b)
        self.rows.append((elapsed, n_updates, residual))
        if len(self.snaps) > self.max_snaps:  # keep every other one
            keys = sorted(self.snaps)
            for k in keys[1:-1:2]:
                del self.snaps[k]

    def to_array(self, objective):
        out = np.zeros(
            len(self.rows),
            dtype=[
                ("time", float),
                ("n_updates", np.int64),
                ("residual", float),
                ("objective", float),
            ],
        )
        for i, (elapsed, n_updates, residual) in enumerate(self.rows):
            snap = self.snaps.get(i)
            obj = np.nan if snap is None or objective is None else objective(*snap)
            out[i] = (elapsed, n_updates, residual, obj)
        return out


def run_amtl(
    datafit,
    alpha,
    backend,
    *,
    schedule="async",
    splitting="forward-backward",
    step_size="auto",
    relaxation="auto",
    max_staleness="auto",
    dynamic_step=None,
    delay_model=None,
    max_epochs=1000,
    max_time=None,
    tol=1e-6,
    random_state=None,
    V0=None,
    b0=None,
    objective=None,
    verbose=0,
    on_check=None,
    penalty=None,
):
    """Run AMTL (or SMTL) on ``datafit`` with the given backend.

    Parameters
    ----------
    datafit : data-fit
        See :mod:`skmtl.datafits._losses`.
    alpha : float
        Strength of the penalty.
    backend : Backend
        Where the task nodes run (see :mod:`skmtl._amtl.backends`).
    schedule : {'async', 'sync'}
        AMTL or the synchronous SMTL baseline.
    splitting : {'forward-backward', 'douglas-rachford'}
        The paper's gradient step at the task nodes, or an exact per-task prox.
    step_size, relaxation, max_staleness : see the estimators.
    dynamic_step : DynamicStep or None
        The paper's dynamic step size (a per-task relaxation multiplier).
    delay_model : delay model or None
        Network delay per round trip, sampled once per activation.
    max_epochs : int
        Stop after this many epochs (T updates each; rounds for 'sync').
    max_time : float or None
        Stop after this many seconds on the backend's clock.
    tol : float
        Stop when the relative fixed-point residual
        ``||Z - V||_F / ||V||_F`` (from each task's latest forward step) is
        at most ``tol``.
    objective : callable(W, b) -> float or None
        Objective used for the history; default: the local data-fit's.
    on_check : callable(P, b, task_updates) -> array or None, optional
        Called at every epoch check with the published prox, intercepts and
        updates per task so far.  It may return new activation periods per
        task (1: as usual, k: about once per k activations of a full-rate
        task, 0: never again; see
        :mod:`skmtl._amtl._periods`); deactivated tasks leave the residual,
        and the run stops with ``stop_reason='deactivated'`` when no task is
        left.  It may also change the data-fit of local backends.
    penalty : Penalty or None
        The penalty of the central prox (:mod:`skmtl.penalties`); None means
        the trace norm.

    Returns
    -------
    AMTLResult
    """
    T, d = datafit.n_tasks, datafit.n_features
    cfg = resolve_config(
        datafit,
        alpha,
        schedule=schedule,
        splitting=splitting,
        step_size=step_size,
        relaxation=relaxation,
        max_staleness=max_staleness,
        dynamic_step=dynamic_step,
        delay_model=delay_model,
        max_epochs=max_epochs,
        max_time=max_time,
        tol=tol,
        random_state=random_state,
        penalty=penalty,
    )
    penalty, step, tau = cfg.penalty, cfg.step_size, cfg.max_staleness
    relax, bound = cfg.relaxation, cfg.relaxation_bound
    delay_model, dynamic_step, rng = cfg.delay_model, cfg.dynamic_step, cfg.rng
    dyn_state = dynamic_step.new_state(T) if dynamic_step else None
    if objective is None:

        def objective(W, b):
            return penalized_objective(datafit, penalty, W, b, alpha)

    if V0 is None:
        V0 = np.zeros((d, T))
    if b0 is None and datafit.has_free_intercept:
        b0 = datafit.initial_intercept()
    central = CentralNode(
        V0,
        b0,
        step * alpha,
        publish_v=splitting == "douglas-rachford",
        penalty=penalty,
    )
    stats = _TaskStats(T)
    last_sq = np.full(T, np.nan)  # latest ||z_t - v_t||^2 per task
    history = _History(d * T)
    outstanding = {}  # task -> lower bound of the version it reads
    blocked = deque()
    synchronous = schedule == "sync"
    periods = None if on_check is None else ActivationPeriods(T)

    def activate(t):
        outstanding[t] = central.prox_version
        backend.activate(t, delay_model.sample(t, rng))

    def start_round():
        tasks = range(T) if periods is None else periods.round_tasks()
        for t in tasks:
            activate(t)
        return len(tasks)

    def may_activate():
        oldest = min(outstanding.values(), default=central.prox_version)
        oldest = min(oldest, central.prox_version)
        return central.version + len(outstanding) <= oldest + tau

    def apply(reply, staleness):
        t = reply.task
        rate = relax
        if dynamic_step:
            measure = (
                staleness if dynamic_step.measure == "staleness" else reply.round_trip
            )
            dynamic_step.record(dyn_state, t, measure)
            rate = dynamic_step.relaxation(dyn_state, t, relax)
        last_sq[t] = central.write(t, reply.z, reply.zb, rate)
        stats.record(t, staleness, reply.round_trip, rate)

    # Multi-threaded BLAS stalls on the small factorizations of the central
    # node (measured: a 28 x 28 eigh took 5 ms instead of 70 us on a loaded
    # 2-core machine); one thread is faster below a few hundred tasks/features.
    limiter = threadpool_limits(limits=1) if min(d, T) <= 512 else None
    backend.start(datafit, TaskStep(splitting, step), central.read)
    stop_reason, residual = None, np.inf
    wall_start = last_print = time.perf_counter()
    try:
        t0 = backend.now()
        if synchronous:
            round_size = start_round()
        else:
            blocked.extend(range(T))
            while blocked and may_activate():
                activate(blocked.popleft())
        next_check = T
        round_replies = []
        while stop_reason is None:
            replies = backend.next_replies()
            if synchronous:
                round_replies.extend(replies)
                if len(round_replies) < round_size:
                    continue
                base = central.version
                for reply in sorted(round_replies, key=lambda r: r.task):
                    apply(reply, base - reply.version)
                round_replies = []
                outstanding.clear()
            else:
                for reply in replies:
                    apply(reply, central.version - reply.version)
                    del outstanding[reply.task]
                    if periods is None:
                        blocked.append(reply.task)
                    else:
                        periods.requeue(reply.task, central.version, blocked)
            central.refresh()
            elapsed = backend.now() - t0
            if central.version >= next_check:
                next_check += T
                if on_check is not None:
                    snap = central.snapshot
                    new = on_check(snap.P, snap.b, stats.n_updates.copy())
                    if new is not None:
                        periods.set(new, blocked, outstanding)
                norm_v = np.linalg.norm(central.V)
                if central.b is not None:
                    norm_v = np.hypot(norm_v, np.linalg.norm(central.b))
                sq = last_sq if periods is None else last_sq[periods.active]
                if not np.isnan(sq).any():
                    residual = float(np.sqrt(sq.sum()) / max(norm_v, 1e-300))
                history.append(elapsed, central.version, residual, central.snapshot)
                if periods is not None and not periods.active.any():
                    stop_reason = "deactivated"
                elif residual <= tol:
                    stop_reason = "converged"
                elif central.version // T >= max_epochs:
                    stop_reason = "max_iter"
            if stop_reason is None and max_time is not None and elapsed >= max_time:
                stop_reason = "max_time"
            if verbose and time.perf_counter() - last_print >= 1.0:
                last_print = time.perf_counter()
                print(
                    f"[amtl:{schedule}] epoch {central.version // T:5d}  "
                    f"updates {central.version:8d}  residual {residual:.3e}  "
                    f"time {elapsed:9.3f}s  max staleness "
                    f"{int(stats.staleness_max.max())}"
                )
            if stop_reason is None:
                if synchronous:
                    round_size = start_round()
                    if round_size == 0:
                        stop_reason = "deactivated"
                else:
                    if periods is not None and not periods.wake(
                        central.version, blocked, outstanding
                    ):
                        stop_reason = "deactivated"
                    while blocked and may_activate():
                        activate(blocked.popleft())
    finally:
        backend.close()
        if limiter is not None:
            limiter.restore_original_limits()
    # A last row for the final state, unless the last check already recorded it
    # (a check and the stop can fall on the same update, e.g. at max_time).
    if not history.rows or history.rows[-1][1] != central.version:
        history.append(backend.now() - t0, central.version, residual, central.refresh())
    W, b = central.final_model()
    if verbose:
        print(
            f"[amtl:{schedule}] stopped ({stop_reason}) after {central.version} "
            f"updates in {time.perf_counter() - wall_start:.3f}s wall, residual "
            f"{residual:.3e}"
        )
    return AMTLResult(
        W=W,
        b=b,
        history=history.to_array(objective),
        n_epochs=central.version // T,
        n_updates=central.version,
        residual=residual,
        converged=stop_reason == "converged",
        stop_reason=stop_reason,
        task_stats=stats.as_dict(),
        splitting=splitting,
        step_size=step,
        relaxation=relax,
        max_staleness=tau,
        relaxation_bound=bound,
        events=list(backend.events),
    )

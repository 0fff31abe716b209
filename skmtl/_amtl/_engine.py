"""The central AMTL loop, shared by every backend and by both schedules.

``run_amtl`` runs in named phases, as joblib's ``Parallel`` does:

1. resolve the configuration once (:mod:`._config`);
2. build the central node, the checker (residual, history, stopping rules,
   printing: :mod:`._history`) and the schedule (async back-pressure or
   synchronous rounds, with the activation periods: the two schedules below);
3. hold every resource in one ``ExitStack`` (the BLAS limit, the backend, the
   delay sampler), so nothing outlives the fit on any exit, including a
   backend that fails to start;
4. loop: wait for replies (at most until ``max_time``), let the schedule
   apply them, refresh the prox, let the checker decide, resume the schedule.
   The prox is republished every ``refresh_every`` writes (and at every
   epoch check and after every synchronous round); the sequential backend,
   which runs the steps in this thread, computes in one call every queued
   step that reads the same published prox (``Schedule.room``), with the
   result of one step per call.

Staleness is exact: a reply computed from the prox of version ``r`` and applied
when V is at version ``k`` has staleness ``k - r`` (writes by other tasks it did
not see); the async schedule bounds it by ``max_staleness``.

The schedules
-------------
``'async'`` (:class:`AsyncSchedule`) is AMTL: whenever a task's reply arrives,
the central node applies its KM update and the task is activated again,
without waiting for the others, under back-pressure: a task is reactivated
only when no outstanding read could end up more than ``max_staleness``
versions old, even if every other outstanding task wrote first; otherwise it
waits (blocked).  ``'sync'`` (:class:`SyncSchedule`) is the paper's SMTL
baseline: each round activates every task on the same prox, waits for all
replies and applies them in task order (with relaxation 1: proximal gradient).

Both own the per-task activation periods of the ``on_check`` hook
(:class:`~skmtl._amtl._periods.ActivationPeriods`) and the KM update rule
(relaxation, the paper's dynamic step), and report each applied update to the
checker.
"""

from collections import deque
from contextlib import ExitStack

import numpy as np

from ..solvers._gaps import penalized_objective
from ..solvers._result import SolverResult
from ..utils._blas import SMALL, single_blas_thread
from ._batch import ReplyBatch
from ._config import (  # noqa: F401  (re-exported: imports from _engine keep working)
    AMTLConfig,
    batches_refresh,
    resolve_config,
    resolve_max_staleness,
    resolve_relaxation,
    resolve_step_size,
)
from ._delays import DelaySource
from ._history import Checker
from ._nodes import CentralNode, TaskStep, node_option
from ._periods import ActivationPeriods


class Schedule:
    """What both schedules share: activation, the KM update, the periods.

    Parameters
    ----------
    cfg : AMTLConfig
        Relaxation, dynamic step, staleness cap.
    central : CentralNode
        Where the updates are written.
    backend : Backend
        Where the task steps run.
    checker : Checker
        Told of every applied update (:meth:`Checker.record`,
        :meth:`Checker.record_batch`).
    delays : callable(t) -> delay
        The delay of each activation (:class:`~skmtl._amtl._delays.DelaySource`).
    periods : bool
        Whether activation periods may be set (an ``on_check`` hook is given).
    """

    def __init__(self, cfg, central, backend, checker, delays, periods=False):
        T = central.V.shape[1]
        self.n_tasks = T
        self.central, self.backend = central, backend
        self.record, self.record_batch = checker.record, checker.record_batch
        self.delays = delays
        self.relaxation = cfg.relaxation
        self.max_staleness = cfg.max_staleness
        self.dynamic = cfg.dynamic_step
        self.dyn_state = self.dynamic.new_state(T) if self.dynamic else None
        self.periods = ActivationPeriods(T) if periods else None
        self.outstanding = {}  # task -> lower bound of the version it reads
        self.blocked = deque()

    @property
    def active(self):
        """Mask of the tasks still activated (None: every task, always)."""
        return None if self.periods is None else self.periods.active

    def set_periods(self, periods):
        self.periods.set(periods, self.blocked, self.outstanding)

    def activate(self, t):
        self.outstanding.pop(t, None)  # keeps the versions in insertion order
        self.outstanding[t] = self.central.prox_version
        self.backend.activate(t, self.delays(t))

    def _runs_as_queued(self):
        """True when every task re-queued after its reply goes straight to the
        back of the queue (no activation periods beyond 1): then replies
        applied one at a time or as a batch leave the same activation order."""
        return self.periods is None or (
            not self.periods.parked and int(self.periods.periods.max()) <= 1
        )

    def apply(self, reply, staleness):
        """The KM update of the reply's task, with its relaxation."""
        t, rate = reply.task, self.relaxation
        if self.dynamic:
            measure = (
                staleness if self.dynamic.measure == "staleness" else reply.round_trip
            )
            self.dynamic.record(self.dyn_state, t, measure)
            rate = self.dynamic.relaxation(self.dyn_state, t, self.relaxation)
        sq = self.central.write(t, reply.z, reply.zb, rate)
        self.record(t, sq, staleness, reply.round_trip, rate)

    def apply_batch(self, batch):
        """The KM updates of a :class:`~._batch.ReplyBatch`, as its writes
        one after the other: the i-th has staleness ``k + i - r`` (``k`` the
        version before the batch, ``r`` the one all its rows read).  With
        the dynamic step each reply is applied alone (rates per task)."""
        if self.dynamic:
            for reply in batch.replies():
                self.apply(reply, self.central.version - reply.version)
            return
        tasks = batch.tasks
        staleness = np.arange(
            self.central.version - batch.version,
            self.central.version - batch.version + len(tasks),
        )
        rate = self.relaxation
        sq = self.central.write_batch(tasks, batch.Z, batch.zb, rate)
        self.record_batch(tasks, sq, staleness, batch.round_trips, rate)

    def _requeue(self, t):
        if self.periods is None:
            self.blocked.append(t)
        else:
            self.periods.requeue(t, self.central.version, self.blocked)


class AsyncSchedule(Schedule):
    """AMTL: apply each reply when it arrives; back-pressure caps staleness."""

    def start(self):
        self.blocked.extend(range(self.n_tasks))
        self._activate_ready()

    def _activate_ready(self):
        """Activate the blocked tasks in order while back-pressure allows:
        while ``version + len(outstanding) <= oldest + max_staleness``.

        The versions in ``outstanding`` never decrease in insertion order (a
        task is deleted on reply and re-inserted at the current prox
        version), so the first one is the oldest: O(1) instead of O(T).  An
        activation adds one outstanding read at the published version, never
        below the oldest, so the oldest stays put and the rule admits ``n``
        activations at once."""
        blocked = self.blocked
        if not blocked:
            return
        central = self.central
        pv = central.prox_version
        oldest = min(next(iter(self.outstanding.values()), pv), pv)
        room = oldest + self.max_staleness - central.version - len(self.outstanding)
        n = min(room + 1, len(blocked))
        if n <= 0:
            return
        tasks = [blocked.popleft() for _ in range(n)]
        outstanding, delays = self.outstanding, self.delays
        for t in tasks:
            outstanding.pop(t, None)  # keeps the versions in insertion order
            outstanding[t] = pv
        self.backend.activate_many(tasks, [delays(t) for t in tasks])

    def room(self, next_check):
        """How many queued activations may run on the published prox before
        the loop must act: the writes before the next refresh is due or the
        next epoch check (1 when activation periods could reorder them).
        Reactivation after a batch activates the same tasks in the same order
        as after each reply (the budget of back-pressure only grows within a
        batch), so a backend that computes this many queued steps in one call
        reproduces the one-reply-per-call run bit for bit."""
        if not self._runs_as_queued():
            return 1
        central = self.central
        lag = central.version - central.prox_version
        return max(min(central.refresh_every - lag, next_check - central.version), 1)

    def receive(self, replies):
        """Apply the replies (single or :class:`~._batch.ReplyBatch`); True
        (the central node changed)."""
        outstanding = self.outstanding
        for reply in replies:
            if isinstance(reply, ReplyBatch):
                self.apply_batch(reply)
                for t in reply.tasks:
                    del outstanding[t]
                    self._requeue(t)
                continue
            self.apply(reply, self.central.version - reply.version)
            del outstanding[reply.task]
            self._requeue(reply.task)
        return True

    def resume(self):
        """Activate what back-pressure allows; False when no task is left."""
        if self.periods is not None and not self.periods.wake(
            self.central.version, self.blocked, self.outstanding
        ):
            return False
        self._activate_ready()
        return True


class SyncSchedule(Schedule):
    """SMTL: rounds of every (active) task on the same prox."""

    def start(self):
        self.round_replies = []
        self.round_size = self._start_round()

    def _start_round(self):
        periods = self.periods
        tasks = range(self.n_tasks) if periods is None else periods.round_tasks()
        for t in tasks:
            self.activate(t)
        return len(tasks)

    def receive(self, replies):
        """Collect replies; apply the round once complete (then True)."""
        for reply in replies:
            if isinstance(reply, ReplyBatch):
                self.round_replies.extend(reply.replies())
            else:
                self.round_replies.append(reply)
        if len(self.round_replies) < self.round_size:
            return False
        base = self.central.version
        for reply in sorted(self.round_replies, key=lambda r: r.task):
            self.apply(reply, base - reply.version)
        self.round_replies = []
        self.outstanding.clear()
        return True

    def room(self, next_check):
        """The replies of the round still to come: they all read its prox."""
        return max(self.round_size - len(self.round_replies), 1)

    def resume(self):
        """Start the next round; False when no task is active."""
        self.round_size = self._start_round()
        return self.round_size > 0


def make_schedule(cfg, central, backend, checker, delays, periods=False):
    cls = SyncSchedule if cfg.synchronous else AsyncSchedule
    return cls(cfg, central, backend, checker, delays, periods)


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
    refresh_every=None,
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
    step_size, relaxation, max_staleness, refresh_every : see the estimators.
        ``refresh_every=None`` takes the value of
        :func:`~skmtl._amtl._nodes.central_node_options` when set, else 'auto'.
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
    SolverResult
        ``objective_history`` is the structured history (one row per epoch:
        'time', 'n_updates', 'residual', 'objective'), ``n_iter`` the epochs,
        ``gap`` the final relative residual; ``info`` holds 'history',
        'n_epochs', 'n_updates', 'residual', 'task_stats', 'splitting',
        'step_size', 'relaxation', 'max_staleness', 'refresh_every',
        'relaxation_bound', 'events', 'V' and 'history_finite' (per row:
        whether the model was finite; the objective is NaN for the rows whose
        snapshot was thinned away).  A check that finds a non-finite model
        ends the run with ``stop_reason='diverged'``.
    """
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
        refresh_every=node_option("refresh_every", "auto")
        if refresh_every is None
        else refresh_every,
        backend=backend,
    )
    T, d = datafit.n_tasks, datafit.n_features
    central = _central_node(datafit, cfg, alpha, V0, b0)
    checker = Checker(central, cfg, on_check=on_check, verbose=verbose)
    with ExitStack() as resources:
        # Multi-threaded BLAS stalls on the small factorizations of the central
        # node (a 28 x 28 eigh: 5 ms instead of 70 us on a loaded 2-core machine).
        resources.enter_context(single_blas_thread(min(d, T) <= SMALL))
        resources.callback(backend.close)  # before start: a failed start cleans up
        delays = resources.enter_context(DelaySource(cfg.delay_model, cfg.rng, backend))
        plan = make_schedule(
            cfg, central, backend, checker, delays, on_check is not None
        )
        step = TaskStep(cfg.splitting, cfg.step_size)
        if getattr(backend, "batches_steps", False):  # see ._batch
            backend.start(datafit, step, central.read, read_batch=central.read_batch)
        else:
            backend.start(datafit, step, central.read)
        t0 = backend.now()
        plan.start()
        _loop(cfg, central, checker, plan, backend, t0)
    checker.finish(backend.now() - t0)
    return _result(central, checker, cfg, backend, objective, datafit, alpha)


def _loop(cfg, central, checker, plan, backend, t0):
    """Wait for replies, apply them, refresh the prox, check, resume: until a
    stopping rule fires (``checker.stop_reason``)."""
    # A backend that runs the steps in this thread computes, in one call,
    # the queued steps that read the published prox anyway (not under a
    # time limit, so that max_time stops after the step that reaches it).
    batched = batches_refresh(backend)
    while checker.stop_reason is None:
        if batched:
            backend.max_replies = (
                plan.room(checker.next_check) if cfg.max_time is None else 1
            )
        replies = backend.next_replies(checker.time_left(backend.now() - t0))
        if not replies:  # max_time came first (a wait may wake a hair early)
            if checker.time_left(backend.now() - t0):
                continue
            checker.stop_reason = "max_time"
        elif plan.receive(replies):
            # A synchronous round ends with the prox of all its writes (one
            # prox per round), and an epoch check sees the prox of the
            # current V (its history row is labelled with this version),
            # whatever refresh_every is.
            central.refresh(
                force=cfg.synchronous or central.version >= checker.next_check
            )
            checker.check(backend.now() - t0, plan)
            if checker.stop_reason is None and not plan.resume():
                checker.stop_reason = "deactivated"


def _central_node(datafit, cfg, alpha, V0, b0):
    """The central node at ``V0`` (default 0) with its threshold ``eta alpha``."""
    if V0 is None:
        V0 = np.zeros((datafit.n_features, datafit.n_tasks))
    if b0 is None and datafit.has_free_intercept:
        b0 = datafit.initial_intercept()
    return CentralNode(
        V0,
        b0,
        cfg.step_size * alpha,
        publish_v=cfg.splitting == "douglas-rachford",
        penalty=cfg.penalty,
        refresh_every=cfg.refresh_every,
        max_staleness=cfg.max_staleness,
    )


def _result(central, checker, cfg, backend, objective, datafit, alpha):
    """The one solver result type, with the AMTL extras in ``info``."""
    if objective is None:

        def objective(W, b):
            return penalized_objective(datafit, cfg.penalty, W, b, alpha)

    W, b = central.final_model()
    T = checker.n_tasks
    history = checker.history.to_array(objective)
    n_epochs = central.version // T
    return SolverResult(
        W,
        b,
        history,
        n_epochs,
        checker.residual,
        checker.stop_reason == "converged",
        checker.stop_reason,
        dict(
            history=history,
            n_epochs=n_epochs,
            n_updates=central.version,
            residual=checker.residual,
            task_stats=checker.stats.as_dict(),
            splitting=cfg.splitting,
            step_size=cfg.step_size,
            relaxation=cfg.relaxation,
            max_staleness=cfg.max_staleness,
            refresh_every=cfg.refresh_every,
            relaxation_bound=cfg.relaxation_bound,
            events=list(backend.events),
            # False where the model (or a kept snapshot's objective) was
            # non-finite: the divergence guard reads this, not the objectives,
            # which are NaN for the snapshots thinned away.
            history_finite=checker.history.finite_rows(history),
            # V itself (W is its prox): a restart with another step keeps the
            # penalty's subgradient (V - W) / step (the estimators' search).
            V=np.array(central.V),
        ),
    )

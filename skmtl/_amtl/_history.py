"""What the AMTL loop records and when it stops: residual, history, stop rules.

A :class:`Checker` is told of every applied update (:meth:`Checker.record`)
and, after each batch of replies, checks the run (:meth:`Checker.check`): once
per epoch (T updates) it calls the ``on_check`` hook, computes the relative
fixed-point residual, appends a history row and applies the stopping rules
(converged, max_iter, every task deactivated); after every batch it checks
``max_time`` and prints progress when asked.  Its ``stop_reason`` ends the
loop.
"""

import time

import numpy as np

# Memory for the model snapshots kept to evaluate the objective after the run.
_SNAPSHOT_BYTES = 256 << 20


class TaskStats:
    """Per-task counts of updates, staleness, round trips and relaxation."""

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

    def record_batch(self, tasks, staleness, round_trip, relaxation):
        """:meth:`record` of the distinct ``tasks`` (arrays of their values)."""
        self.n_updates[tasks] += 1
        self.staleness_sum[tasks] += staleness
        self.staleness_max[tasks] = np.maximum(self.staleness_max[tasks], staleness)
        self.round_trip_sum[tasks] += round_trip
        self.round_trip_max[tasks] = np.maximum(self.round_trip_max[tasks], round_trip)
        self.relaxation_sum[tasks] += relaxation

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


class History:
    """Checks of the run; model snapshots are thinned to a memory budget.

    The objective of a row whose snapshot was dropped is NaN in
    :meth:`to_array`, so whether the model was finite is recorded at every
    check (``finite``, one ``isfinite`` pass over the snapshot), never read
    back from the objectives.
    """

    def __init__(self, size):
        self.rows = []  # (time, n_updates, residual)
        self.finite = []  # per row: the snapshot (P, b) held finite values only
        self.snaps = {}  # row index -> (P, b)
        self.max_snaps = max(16, _SNAPSHOT_BYTES // max(8 * size, 1))

    def append(self, elapsed, n_updates, residual, snapshot):
        """Record a check; return whether its snapshot is finite."""
        finite = bool(np.isfinite(snapshot.P).all()) and (
            snapshot.b is None or bool(np.isfinite(snapshot.b).all())
        )
        self.finite.append(finite)
        self.snaps[len(self.rows)] = (snapshot.P, snapshot.b)
        self.rows.append((elapsed, n_updates, residual))
        if len(self.snaps) > self.max_snaps:  # keep every other one
            keys = sorted(self.snaps)
            for k in keys[1:-1:2]:
                del self.snaps[k]
        return finite

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

    def finite_rows(self, history):
        """Per row of ``history`` (:meth:`to_array`): False when the model or
        the objective of a kept snapshot was non-finite."""
        kept = np.zeros(len(self.rows), dtype=bool)
        kept[list(self.snaps)] = True
        objective_ok = np.isfinite(history["objective"]) | ~kept
        return np.asarray(self.finite, dtype=bool) & objective_ok


class Checker:
    """Residual, history, stopping rules and progress lines of one run.

    Parameters
    ----------
    central : CentralNode
        The central node whose versions count the updates.
    cfg : AMTLConfig
        The resolved configuration (tol, max_epochs, max_time, schedule).
    on_check : callable or None
        The epoch hook of :func:`~skmtl._amtl._engine.run_amtl`.
    verbose : int
        Print a progress line at most once a second.
    """

    def __init__(self, central, cfg, on_check=None, verbose=0):
        T = central.V.shape[1]
        self.central, self.cfg, self.n_tasks = central, cfg, T
        self.on_check, self.verbose = on_check, verbose
        self.stats = TaskStats(T)
        self.last_sq = np.full(T, np.nan)  # latest ||z_t - v_t||^2 per task
        self.history = History(central.V.size)
        self.residual = np.inf
        self.stop_reason = None
        self.next_check = T
        self.wall_start = self.last_print = time.perf_counter()

    def record(self, t, sq, staleness, round_trip, relaxation):
        """One applied update of task ``t`` (``sq = ||z_t - v_t||^2``)."""
        self.last_sq[t] = sq
        self.stats.record(t, staleness, round_trip, relaxation)

    def record_batch(self, tasks, sq, staleness, round_trip, relaxation):
        """:meth:`record` of each of the distinct ``tasks`` (arrays)."""
        self.last_sq[tasks] = sq
        self.stats.record_batch(tasks, staleness, round_trip, relaxation)

    def time_left(self, elapsed):
        """Seconds left before ``max_time`` (None: no limit)."""
        if self.cfg.max_time is None:
            return None
        return max(self.cfg.max_time - elapsed, 0.0)

    def check(self, elapsed, schedule):
        """After a batch of updates: the epoch checks, max_time, progress."""
        central = self.central
        if central.version >= self.next_check:
            self.next_check += self.n_tasks
            self._epoch_check(elapsed, schedule)
        cfg = self.cfg
        if self.stop_reason is None and cfg.max_time is not None:
            if elapsed >= cfg.max_time:
                self.stop_reason = "max_time"
        if self.verbose and time.perf_counter() - self.last_print >= 1.0:
            self.last_print = time.perf_counter()
            print(
                f"[amtl:{cfg.schedule}] epoch {central.version // self.n_tasks:5d}  "
                f"updates {central.version:8d}  residual {self.residual:.3e}  "
                f"time {elapsed:9.3f}s  max staleness "
                f"{int(self.stats.staleness_max.max())}"
            )

    def _epoch_check(self, elapsed, schedule):
        central, cfg = self.central, self.cfg
        if self.on_check is not None:
            snap = central.snapshot
            new = self.on_check(snap.P, snap.b, self.stats.n_updates.copy())
            if new is not None:
                schedule.set_periods(new)
        norm_v = np.linalg.norm(central.V)
        if central.b is not None:
            norm_v = np.hypot(norm_v, np.linalg.norm(central.b))
        active = schedule.active
        sq = self.last_sq if active is None else self.last_sq[active]
        if not np.isnan(sq).any():
            self.residual = float(np.sqrt(sq.sum()) / max(norm_v, 1e-300))
        finite = self.history.append(
            elapsed, central.version, self.residual, central.snapshot
        )
        if not (finite and np.isfinite(norm_v)):  # norm_v: V and b
            # Stop at the first check that sees it, not at max_iter.
            self.stop_reason = "diverged"
        elif active is not None and not active.any():
            self.stop_reason = "deactivated"
        elif self.residual <= cfg.tol:
            self.stop_reason = "converged"
        elif central.version // self.n_tasks >= cfg.max_epochs:
            self.stop_reason = "max_iter"

    def finish(self, elapsed):
        """A last history row for the final state, unless the last check
        already recorded it (a check and the stop can fall on one update)."""
        central = self.central
        rows = self.history.rows
        if not rows or rows[-1][1] != central.version:
            self.history.append(
                elapsed, central.version, self.residual, central.refresh()
            )
        if self.verbose:
            print(
                f"[amtl:{self.cfg.schedule}] stopped ({self.stop_reason}) after "
                f"{central.version} updates in "
                f"{time.perf_counter() - self.wall_start:.3f}s wall, residual "
                f"{self.residual:.3e}"
            )

"""Threading backend: task worker threads against the central node's shared state.

``n_jobs`` worker threads take activations from a queue; each reads its task's
column of the published prox (an immutable snapshot), runs the forward step
with numpy (``numpy.linalg`` only: SciPy's factorizations hold the GIL), draws
the round trip's delay when the delay is a user's callable, and hands the
reply back.  The central loop runs in the caller's thread: it applies the KM
updates and refreshes the prox while the workers compute.  Network delays hold
a reply back without occupying a worker.  BLAS is limited to one thread while
the workers run, so the threads do not oversubscribe the cores.

Stops: :meth:`ThreadingBackend.next_replies` waits at most the time the engine
gives it (what is left before ``max_time``), and a step (with its delay
callable) that runs longer than ``task_timeout`` stops the fit with a
``TimeoutError`` naming the task.  Any exception in a worker stops the fit and
is re-raised in the caller.  On every exit (success, error, KeyboardInterrupt)
the workers are told to stop and joined for at most 5 s in total; a worker
still stuck in user code after that is reported (a Python thread cannot be
killed) and exits as soon as its step returns.
"""

import numbers
import queue
import threading
import time
import warnings

import numpy as np

from ...utils._blas import single_blas_thread
from .._batch import ReplyBatch, gram_form
from ._base import Backend, DelayedReplies, check_task_timeout, wait_seconds

# Seconds between checks on the workers while nothing else is due.
_POLL = 0.5
# Activations a worker takes at once, at most (see ThreadingBackend.max_batch).
_MAX_BATCH = 1 << 30
# Total seconds close() waits for the worker threads.
_JOIN_BUDGET = 5.0
# Seconds of task steps a worker takes at once, at most (by the measured time
# per step): replies keep streaming, and max_time or close() wait for at most
# this long plus one step, whatever the size of the queue.
_TAKE_SECONDS = 0.1
# Flops of one task step above which the workers share the queued activations
# (about 0.1 ms of numpy, which releases the GIL): below it, one worker taking
# them all keeps the run regular and costs nothing (see ThreadingBackend).
_HEAVY_STEP_FLOPS = 1 << 18


def _step_flops(datafit):
    """Rough flops of one task step: ``d^2`` for a batched Gram-form squared
    loss, ``d n_t`` (the largest task) otherwise; 0 when the data-fit holds
    no local blocks."""
    blocks = getattr(datafit, "blocks", None)
    if blocks is None:
        return 0
    d = int(datafit.n_features)
    if gram_form(datafit):
        return d * d
    return d * int(blocks.sizes.max(initial=0))


class _Closed(Exception):
    """Raised between the steps of a batch when the backend is closing."""


class _Failure:
    def __init__(self, task, exc):
        self.task = task
        self.exc = exc


class ThreadingBackend(Backend):
    """Run forward steps in ``n_jobs`` worker threads.

    Parameters
    ----------
    n_jobs : int, default=2
        Number of worker threads.
    task_timeout : float or None, default=60.0
        Seconds one task step (with its delay callable) may run before the
        fit stops with a ``TimeoutError`` naming the task; None waits forever.
    max_batch : int or None, default=None
        Most activations a worker takes from the queue at once (computed
        from one read of the published prox, see :mod:`.._batch`); None:
        every one queued when task steps are light, and the worker's share
        ``ceil(queued / n_jobs)`` when one step costs more than about
        ``2**18`` flops (``d n_t``; ``d^2`` for a Gram-form squared loss).
        Light steps (School, Landmine, Parkinson's) gain nothing from a
        second worker, and one worker taking a whole epoch's activations
        keeps the run as regular as one step per take was (the l2,1 drift
        jumps rely on it: with shares, the near-duplicate-feature test
        stopped at ``max_iter`` in 2 to 4 runs of 8 instead of 0).  Heavy
        steps run side by side (numpy releases the GIL), so there the
        workers share the queue.  Whatever the rule, a take holds at most
        about 0.1 s of steps (by the time measured per step; the first take
        is one step), so replies keep streaming and ``max_time`` or the end
        of a fit wait at most that long for a worker.
    """

    name = "threading"
    samples_delays = True

    def __init__(self, n_jobs=2, task_timeout=60.0, max_batch=None):
        super().__init__()
        if int(n_jobs) < 1:
            raise ValueError(
                f"n_jobs must be >= 1 for the threading backend; got {n_jobs}."
            )
        self.n_jobs = int(n_jobs)
        self.task_timeout = check_task_timeout(task_timeout)
        if max_batch is not None and (
            isinstance(max_batch, bool)
            or not isinstance(max_batch, numbers.Integral)
            or max_batch < 1
        ):
            raise ValueError(
                f"max_batch must be None or an integer >= 1; got {max_batch!r}."
            )
        self.max_batch = max_batch
        self._max_batch = _MAX_BATCH if max_batch is None else int(max_batch)
        self._threads = []
        self._limiter = None

    # A worker computes every ready activation it finds as one batch (one
    # read of the published prox; see .._batch).
    batches_steps = True

    def start(self, datafit, step, read, read_batch=None):
        super().start(datafit, step, read)
        self.read_batch = read_batch
        self._share = self.n_jobs > 1 and _step_flops(datafit) >= _HEAVY_STEP_FLOPS
        self._step_seconds = None  # measured time per step (None: none yet)
        self._jobs = queue.SimpleQueue()
        self._results = queue.SimpleQueue()
        self._pending = DelayedReplies()
        self._running = {}  # worker index -> (task, started at)
        self._stuck = set()  # workers past task_timeout
        self._closing = threading.Event()
        self._limiter = single_blas_thread()
        self._limiter.__enter__()
        self._threads = [
            threading.Thread(
                target=self._work, args=(i,), name=f"skmtl-task-worker-{i}", daemon=True
            )
            for i in range(self.n_jobs)
        ]
        for thread in self._threads:
            thread.start()

    def _take(self):
        """The next activation and the ones queued behind it (at most
        ``max_batch`` in all); None when told to stop."""
        job = self._jobs.get()
        if job is None or self._closing.is_set():
            return None
        jobs = [job]
        if self.read_batch is not None:
            most = self._max_batch
            if self._share:  # heavy steps: leave the other workers their share
                most = min(most, -(-(1 + self._jobs.qsize()) // self.n_jobs))
            per_step = self._step_seconds
            if per_step is None:  # the first take measures one step
                most = 1
            elif per_step > 0:
                most = min(most, max(1, int(_TAKE_SECONDS / per_step)))
            while len(jobs) < most:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:  # leave the stop for the next take
                    self._jobs.put(None)
                    break
                jobs.append(job)
        return jobs

    def _work(self, index):
        while True:
            jobs = self._take()
            if jobs is None:
                return
            try:
                results = self._compute(index, jobs)
            except _Closed:  # the fit ended while this batch ran
                return
            except BaseException as exc:  # re-raised in the caller
                task = self._running.get(index, (jobs[0][0],))[0]
                self._results.put(_Failure(task, exc))
                return
            finally:
                self._running.pop(index, None)
            for item in results:
                self._results.put(item)

    def _compute(self, index, jobs):
        """The steps of ``jobs`` (one batch read), their delays drawn:
        ``(ready, reply)`` pairs, one per batch when the delays agree."""
        running = self._running

        closing = self._closing

        def starts(task):  # what task_timeout watches; a closed fit stops here
            if closing.is_set():
                raise _Closed
            running[index] = (task, time.perf_counter())

        tasks = [job[0] for job in jobs]
        started = time.perf_counter()
        starts(tasks[0])
        if self.read_batch is None:  # one by one (a backend started so)
            read = self.read(tasks[0])
            z, zb = self.step(self.datafit, tasks[0], read)
            batch = ReplyBatch(tasks, z[None, :], None, read.version, None)
            zb = None if zb is None else np.array([zb])
        else:
            read = self.read_batch(tasks)
            Z, zb = self.step.batch(self.datafit, read, starts)
            batch = ReplyBatch(tasks, Z, zb, read.version, None)
        self._step_seconds = (time.perf_counter() - started) / len(tasks)
        delays = []
        for task, delay, _ in jobs:
            if callable(delay):  # a user's delay callable: drawn here
                starts(task)
                delay = delay()
            delays.append(delay)
        now = time.perf_counter()
        issued = np.array([job[2] for job in jobs])
        if self.read_batch is None or any(d != delays[0] for d in delays):
            batch = batch._replace(zb=zb, round_trips=now - issued)
            return [
                (now + delay, reply._replace(round_trip=reply.round_trip + delay))
                for reply, delay in zip(batch.replies(), delays, strict=True)
            ]
        ready = now + delays[0]
        return [(ready, batch._replace(round_trips=ready - issued))]

    def activate(self, task, delay):
        self._jobs.put((task, delay, self.now()))

    def activate_many(self, tasks, delays):
        now, put = self.now(), self._jobs.put
        for task, delay in zip(tasks, delays, strict=True):
            put((task, delay, now))

    def _push(self, item):
        if isinstance(item, _Failure):
            raise item.exc
        self._pending.push(*item)

    def _oldest_step_start(self):
        """When the longest-running step started (None: none is running)."""
        running = list(self._running.values())
        return min((started for _, started in running), default=None)

    def _check_workers(self, now):
        for index, (task, started) in list(self._running.items()):
            if self.task_timeout is not None and now - started > self.task_timeout:
                self._stuck.add(index)  # close() will not wait for it
                raise TimeoutError(
                    f"Task {task} did not answer: its step has run for "
                    f"{now - started:.1f} s, more than task_timeout="
                    f"{self.task_timeout} s (threading backend). The fit is "
                    "stopped; raise task_timeout (None waits forever) if the "
                    "task's steps are just slow."
                )
        if not any(t.is_alive() for t in self._threads):
            raise RuntimeError("Every task worker thread has stopped.")

    def next_replies(self, timeout=None):
        deadline = None if timeout is None else time.perf_counter() + timeout
        while True:
            while True:  # everything that has arrived
                try:
                    self._push(self._results.get_nowait())
                except queue.Empty:
                    break
            now = time.perf_counter()
            due = self._pending.pop_due(now)
            if due:
                return due
            if deadline is not None and now >= deadline:
                return []
            self._check_workers(now)
            stuck = self._oldest_step_start()
            give_up = (
                None
                if stuck is None or self.task_timeout is None
                else stuck + self.task_timeout + 1e-3
            )
            wait = wait_seconds(
                now, self._pending.next_due(), deadline, give_up, poll=_POLL
            )
            try:
                self._push(self._results.get(timeout=wait))
            except queue.Empty:
                pass

    def close(self):
        threads, self._threads = self._threads, []
        alive = []
        if threads:
            self._closing.set()
            for _ in threads:
                self._jobs.put(None)
            deadline = time.perf_counter() + _JOIN_BUDGET
            for i, thread in enumerate(threads):
                if i not in self._stuck:  # a stuck step will not return soon
                    thread.join(timeout=max(deadline - time.perf_counter(), 0.0))
            alive = [t.name for t in threads if t.is_alive()]
            if alive:
                warnings.warn(
                    f"Task worker threads {alive} are still running a task step "
                    "after the fit ended; each exits when its step returns.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            limiter.__exit__(None, None, None)
        if alive:  # keep what the stuck workers still use
            self._started = False
            return
        # No queue outlives the fit: a closed backend pickles.
        self._jobs = self._results = self._running = self._closing = None
        self._stuck = set()
        self._pending = self.read_batch = None  # read_batch holds the node
        super().close()

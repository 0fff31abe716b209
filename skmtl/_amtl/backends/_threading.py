"""Threading backend: task worker threads against the central node's shared state.

``n_jobs`` worker threads take activations from a queue; each reads its task's
column of the published prox (an immutable snapshot), runs the forward step
with numpy (``numpy.linalg`` only: SciPy's factorizations hold the GIL), and
hands the reply back.  The central loop runs in the caller's thread: it applies
the KM updates and refreshes the prox while the workers compute.  Network
delays hold a reply back without occupying a worker.  BLAS is limited to one
thread while the workers run, so the threads do not oversubscribe the cores.

Any exception in a worker stops the fit and is re-raised in the caller; on
every exit (success, error, KeyboardInterrupt) all worker threads are stopped
and joined, so none outlives the fit.
"""

import heapq
import queue
import threading
import time
import warnings

from ...utils._blas import single_blas_thread
from ._base import Backend, Reply


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
    reply_timeout : float or None, default=None
        Raise ``TimeoutError`` when no reply arrives for this many seconds
        (beyond the injected delays).
    """

    name = "threading"

    def __init__(self, n_jobs=2, reply_timeout=None):
        super().__init__()
        if int(n_jobs) < 1:
            raise ValueError(
                f"n_jobs must be >= 1 for the threading backend; got {n_jobs}."
            )
        self.n_jobs = int(n_jobs)
        self.reply_timeout = reply_timeout
        self._threads = []

    def start(self, datafit, step, read):
        super().start(datafit, step, read)
        self._jobs = queue.SimpleQueue()
        self._results = queue.SimpleQueue()
        self._pending = []  # heap of (ready_at, seq, reply)
        self._seq = 0
        self._limiter = single_blas_thread()
        self._limiter.__enter__()
        self._threads = [
            threading.Thread(
                target=self._work, name=f"skmtl-task-worker-{i}", daemon=True
            )
            for i in range(self.n_jobs)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self):
        while True:
            job = self._jobs.get()
            if job is None:
                return
            task, delay, issued = job
            try:
                read = self.read(task)
                z, zb = self.step(self.datafit, task, read)
            except BaseException as exc:  # re-raised in the caller
                self._results.put(_Failure(task, exc))
                return
            ready = time.perf_counter() + delay
            reply = Reply(task, z, zb, read.version, ready - issued)
            self._results.put((ready, reply))

    def activate(self, task, delay):
        self._jobs.put((task, delay, self.now()))

    def _push(self, item):
        if isinstance(item, _Failure):
            raise item.exc
        ready, reply = item
        heapq.heappush(self._pending, (ready, self._seq, reply))
        self._seq += 1

    def next_replies(self):
        waited_since = time.perf_counter()
        while True:
            while True:  # everything that has arrived
                try:
                    self._push(self._results.get_nowait())
                except queue.Empty:
                    break
            now = time.perf_counter()
            due = []
            while self._pending and self._pending[0][0] <= now:
                due.append(heapq.heappop(self._pending)[2])
            if due:
                return due
            if self._pending:
                timeout = self._pending[0][0] - now
            else:
                timeout = 0.5  # wake up now and then to check on the workers
                if not any(t.is_alive() for t in self._threads):
                    raise RuntimeError("Every task worker thread has stopped.")
                if (
                    self.reply_timeout is not None
                    and now - waited_since > self.reply_timeout
                ):
                    raise TimeoutError(
                        f"No task node replied within reply_timeout="
                        f"{self.reply_timeout} s."
                    )
            try:
                self._push(self._results.get(timeout=max(timeout, 0.0)))
            except queue.Empty:
                pass

    def close(self):
        threads, self._threads = self._threads, []
        alive = []
        if threads:
            for _ in threads:
                self._jobs.put(None)
            for thread in threads:
                thread.join(timeout=10.0)
            alive = [t.name for t in threads if t.is_alive()]
            if alive:
                warnings.warn(
                    f"Task worker threads {alive} did not stop within 10 s.",
                    RuntimeWarning,
                )
            self._limiter.__exit__(None, None, None)
        if alive:  # keep what the stuck workers still use
            self._started = False
            return
        # No queue or limiter outlives the fit: a closed backend pickles.
        self._jobs = self._results = self._limiter = None
        self._pending = []
        super().close()

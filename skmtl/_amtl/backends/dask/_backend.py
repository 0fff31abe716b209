"""Dask backend: task nodes are actors on the workers of a Dask cluster.

What runs where:

* the central loop (:func:`~skmtl._amtl._engine.run_amtl`: KM updates, the
  trace-norm prox, staleness, schedules) runs in the client process;
* each task node (:class:`~._dask_node.TaskNode`, a Dask actor) lives on one
  worker for the whole fit, holds the data of its tasks (one node per worker,
  each holding a group of tasks) and runs their task steps.

Per update, the client reads the task's prox column when it activates the task
and sends ``(t, u, ub[, v, vb])`` straight to the node's worker; the node
answers ``(z, zb)``: one d-vector each way (two out for Douglas-Rachford).  The
data stay on the workers.  The injected delay holds a reply back in the client
after it arrives, as in the threading backend.

Faults: a call that fails (worker died) or does not answer within
``reply_timeout`` marks that worker as lost; its nodes are re-created on
another worker (from the client's copy of the data, or by running the loaders
again) while the other tasks go on, and their pending activations are re-sent
with a fresh read.  An exception raised by a task step itself is re-raised in
the caller.  :meth:`DaskBackend.close` releases every actor and future it
created, and closes a ``LocalCluster`` it started.
"""

import asyncio
import itertools
import queue
import time
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from .._base import Backend, DelayedReplies, Reply, check_task_timeout, wait_seconds
from ._pool import (
    Created,
    CreateFailed,
    NodePool,
    blocks_specs,
    import_distributed,
)


class _Call(NamedTuple):
    id: int
    task: int
    delay: float
    issued: float
    version: int


class _Done(NamedTuple):
    id: int
    task: int
    arrival: float
    result: tuple


class _Lost(NamedTuple):
    id: int
    task: int
    address: str
    reason: str


class _StepError(NamedTuple):
    id: int
    task: int
    address: str
    error: BaseException


def _worker_closing(error):
    """Whether an actor call failed because its worker is shutting down (its
    executor refuses new work) rather than in the task step."""
    return isinstance(error, RuntimeError) and "after shutdown" in str(error)


def _wire_bytes(msg):
    """Bytes of a message as the TCP comm sends it: frames plus their lengths."""
    from distributed.protocol import dumps

    frames = dumps(msg)
    return int(sum(memoryview(f).nbytes for f in frames) + 8 * (len(frames) + 1))


class DaskBackend(Backend):
    """Run the task nodes as actors on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client, str or None, default=None
        The cluster: a ``Client`` (left open after the fit), a scheduler
        address such as ``'tcp://10.0.0.1:8786'`` (a client is opened and
        closed by the fit; unlike a ``Client`` object it keeps the estimator
        clonable and picklable), or None: a ``LocalCluster`` of worker
        processes is started and closed by the fit.
    n_jobs : int or None, default=None
        Number of task nodes, one per worker while there are enough workers
        (None or -1: one per worker); for a ``LocalCluster`` started here, its
        number of worker processes (None or -1: one per core).
    reply_timeout : float or None, default=60.0
        Seconds a task step may take, round trip included, before its worker
        is declared lost and its tasks are re-created elsewhere; also how
        long the fit waits for a usable worker when every one is lost (then
        it fails).  The estimators' ``task_timeout``.  None waits forever.
    load_timeout : float, default=300.0
        Seconds allowed to create one task node (ship its data, or run its
        loaders on the worker) before trying another worker.
    max_recoveries : int, default=3
        How many times the node of a group of tasks may be re-created before
        the fit fails.
    """

    name = "dask"

    def __init__(
        self,
        client=None,
        n_jobs=None,
        *,
        reply_timeout=60.0,
        load_timeout=300.0,
        max_recoveries=3,
    ):
        super().__init__()
        if n_jobs is not None and (
            not isinstance(n_jobs, Integral) or (n_jobs < 1 and n_jobs != -1)
        ):
            raise ValueError(f"n_jobs must be None, -1 or >= 1; got {n_jobs!r}.")
        if not (isinstance(load_timeout, Real) and np.isfinite(load_timeout)) or not (
            load_timeout > 0
        ):
            raise ValueError("load_timeout must be a finite number of seconds > 0.")
        try:
            reply_timeout = check_task_timeout(reply_timeout)
        except ValueError:
            raise ValueError(
                f"reply_timeout must be None or a number of seconds > 0; got "
                f"{reply_timeout!r}."
            ) from None
        if not isinstance(max_recoveries, Integral) or max_recoveries < 0:
            raise ValueError(
                f"max_recoveries must be an int >= 0; got {max_recoveries}."
            )
        self.client = client
        self.n_jobs = n_jobs
        self.reply_timeout = reply_timeout
        self.load_timeout = float(load_timeout)
        self.max_recoveries = int(max_recoveries)
        self._pool = None

    @property
    def task_timeout(self):
        """The estimators' name for ``reply_timeout``."""
        return self.reply_timeout

    def make_pool(self):
        """A :class:`NodePool` with this backend's settings (not connected)."""
        import_distributed()
        return NodePool(
            self.client,
            self.n_jobs,
            reply_timeout=self.reply_timeout,
            load_timeout=self.load_timeout,
            max_recoveries=self.max_recoveries,
        )

    # -- lifecycle -------------------------------------------------------------
    def start(self, datafit, step, read):
        super().start(datafit, step, read)
        self._calls = {}  # task -> _Call in flight (or waiting for its node)
        self._waiting = {}  # node index -> tasks waiting for the node
        self._inflight = {}  # call id -> concurrent future of the rpc
        self._pending = DelayedReplies()
        self._ids = itertools.count()
        self._n_replies = 0
        self._bytes = [0, 0]  # sent, received
        self._last_check = time.perf_counter()
        pool = getattr(datafit, "pool", None)
        self._owns_pool = not isinstance(pool, NodePool)
        try:
            self._start_nodes(datafit, step, pool)
        except BaseException:
            # The engine closes the backend only once start has returned.
            self.close()
            raise

    def _start_nodes(self, datafit, step, pool):
        if self._owns_pool:
            pool = self.make_pool()
            self._pool = pool
            pool.events = self.events
            pool.connect(datafit.n_tasks)
            groups = np.array_split(
                np.arange(datafit.n_tasks), pool.n_nodes(datafit.n_tasks)
            )
            pool.place(blocks_specs(datafit, [g.tolist() for g in groups]), step)
        else:  # nodes already loaded (fit_from_loaders): only the step is new
            self._pool = pool
            self.events.extend(pool.events)
            pool.events = self.events
            pool.set_step(step)

    def activate(self, task, delay):
        call = _Call(-1, task, float(delay), self.now(), -1)
        node = self._pool.node_of[task]
        if node.state == "ready":
            self._send(node, call)
        else:
            self._calls[task] = call
            self._waiting.setdefault(node.index, set()).add(task)

    def _send(self, node, call):
        read = self.read(call.task)
        call = call._replace(id=next(self._ids), version=read.version)
        self._calls[call.task] = call
        payload = (call.task, read.u, read.ub, read.v, read.vb)
        if node.wire is None:
            node.wire = self._measure(node, payload, read)
        self._bytes[0] += node.wire[0]
        self._inflight[call.id] = asyncio.run_coroutine_threadsafe(
            self._step_call(node.address, node.key, call.id, call.task, payload),
            self._pool.loop,
        )

    def _measure(self, node, payload, read):
        from distributed.protocol import to_serialize

        request = {
            "op": "actor_execute",
            "function": "step",
            "actor": node.key,
            "args": [to_serialize(payload)],
            "kwargs": {},
            "reply": True,
        }
        answer = (read.u, read.ub)  # the reply has the shape of (z, zb)
        return (
            _wire_bytes(request),
            _wire_bytes({"status": "OK", "result": to_serialize(answer)}),
        )

    async def _step_call(self, address, key, call_id, task, payload):
        results = self._pool.queue
        try:
            msg = await self._pool.acall(
                address, key, "step", (payload,), self.reply_timeout
            )
        except asyncio.CancelledError:
            raise
        except (TimeoutError, asyncio.TimeoutError):
            results.put(
                _Lost(call_id, task, address, f"no reply in {self.reply_timeout} s")
            )
        except BaseException as exc:
            results.put(_Lost(call_id, task, address, f"{type(exc).__name__}: {exc}"))
        else:
            error = msg.get("exception")
            if msg.get("status") == "OK":
                results.put(_Done(call_id, task, time.perf_counter(), msg["result"]))
            elif _worker_closing(error):  # the worker, not the step, failed
                results.put(_Lost(call_id, task, address, "the worker is closing"))
            else:
                results.put(_StepError(call_id, task, address, error))

    # -- replies -----------------------------------------------------------------
    def _label(self, task):
        node = self._pool.node_of[task]
        return node.labels[node.tasks.index(task)]

    def _current(self, msg):
        self._inflight.pop(msg.id, None)
        call = self._calls.get(msg.task)
        return call if call is not None and call.id == msg.id else None

    def _handle(self, msg):
        pool = self._pool
        if isinstance(msg, Created | CreateFailed):
            node = pool.handle(msg)  # a failed creation may move other nodes
            self._hold_lost_calls()
            if node is not None:
                for task in sorted(self._waiting.pop(node.index, ())):
                    self._send(node, self._calls[task])
            return
        call = self._current(msg)
        if call is None:  # a reply from a replaced node, or already re-sent
            return
        if isinstance(msg, _Done):
            del self._calls[msg.task]
            node = pool.node_of[msg.task]
            self._bytes[1] += node.wire[1] if node.wire else 0
            self._n_replies += 1
            z, zb = msg.result
            ready = msg.arrival + call.delay
            reply = Reply(msg.task, z, zb, call.version, ready - call.issued)
            self._pending.push(ready, reply)
        elif isinstance(msg, _StepError):
            error = msg.error
            if isinstance(error, BaseException):
                if hasattr(error, "add_note"):
                    error.add_note(
                        f"(raised by the task step of task {self._label(msg.task)!r} "
                        f"on Dask worker {msg.address})"
                    )
                raise error
            raise RuntimeError(
                f"The task step of task {self._label(msg.task)!r} failed on worker "
                f"{msg.address}."
            )
        elif isinstance(msg, _Lost):
            node = pool.node_of[msg.task]
            if node.state == "ready" and node.address == msg.address:
                pool.lose(msg.address, msg.reason)
                self._hold_lost_calls()
            elif node.state == "ready":  # already re-created elsewhere
                self._send(node, call)
            else:
                self._calls[msg.task] = call._replace(id=-1)
                self._waiting.setdefault(node.index, set()).add(msg.task)

    def _hold_lost_calls(self):
        """Calls in flight to a node being re-created wait for it.

        A late answer of the replaced actor is then ignored (id -1 matches no
        message).
        """
        for node in self._pool.nodes:
            if node.state == "ready":
                continue
            for t in node.tasks:
                c = self._calls.get(t)
                if c is not None and c.id >= 0:
                    self._inflight.pop(c.id, None)
                    self._calls[t] = c._replace(id=-1)
                    self._waiting.setdefault(node.index, set()).add(t)

    def _check_workers(self):
        """Declare lost the nodes whose worker left the cluster.

        A dead worker's port refuses connections, but Dask retries connecting
        for ``distributed.comm.timeouts.connect`` (30 s by default): asking the
        scheduler is faster.  Only while some call has waited over a second.
        """
        now = time.perf_counter()
        if now - self._last_check < 1.0:
            return
        oldest = min((c.issued for c in self._calls.values() if c.id >= 0), default=now)
        if now - oldest < 1.0:
            return
        self._last_check = now
        alive = set(self._pool.client.nthreads())
        for node in self._pool.nodes:
            if node.state == "ready" and node.address not in alive:
                self._pool.lose(node.address, "the worker left the cluster")
                self._hold_lost_calls()

    def next_replies(self, timeout=None):
        results = self._pool.queue
        deadline = None if timeout is None else time.perf_counter() + timeout
        patience = None
        if self.reply_timeout is not None:
            patience = self.reply_timeout + self.load_timeout + 30.0
        last_message = time.perf_counter()
        while True:
            while True:
                try:
                    self._handle(results.get_nowait())
                    last_message = time.perf_counter()
                except queue.Empty:
                    break
            now = time.perf_counter()
            due = self._pending.pop_due(now)
            if due:
                return due
            if deadline is not None and now >= deadline:
                return []
            if patience is not None and now - last_message > patience:
                raise TimeoutError(
                    f"No message from the Dask task nodes for {patience:.0f} s."
                )
            self._check_workers()
            wait = wait_seconds(now, self._pending.next_due(), deadline, poll=0.5)
            try:
                self._handle(results.get(timeout=wait))
                last_message = time.perf_counter()
            except queue.Empty:
                pass

    def close(self):
        pool, self._pool = self._pool, None
        if pool is not None:
            for future in list(getattr(self, "_inflight", {}).values()):
                future.cancel()
            updates = getattr(self, "_n_replies", 0)
            sent, received = getattr(self, "_bytes", (0, 0))
            pool.log(
                "traffic",
                updates=updates,
                bytes_sent=sent,
                bytes_received=received,
                bytes_per_update=(sent + received) / updates if updates else 0.0,
            )
            if self._owns_pool:
                pool.close()
            else:
                pool.events = list(pool.events)  # detach from this backend
        self._calls, self._waiting, self._inflight = {}, {}, {}
        self._pending = DelayedReplies()
        self._ids = None
        super().close()

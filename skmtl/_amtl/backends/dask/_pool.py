"""Client side of the Dask backend: the connection and the task nodes' life.

A :class:`NodePool` connects to a cluster (a user's ``Client``, a scheduler
address, or a ``LocalCluster`` it starts and owns), places task nodes
(:class:`~._dask_node.TaskNode` actors) on workers, re-creates a node
elsewhere when its worker dies or stops answering, and releases everything it
created on :meth:`NodePool.close`.

Creation runs in short-lived helper threads (one per node being created) that
post a message on :attr:`NodePool.queue` when the node is up or has failed, so
the central loop keeps serving the other tasks meanwhile.  Every wait is
bounded: ``load_timeout`` for creating a node (scattering its data or running
its loaders), ``reply_timeout`` for one call.

Calls go straight from the client to the worker that holds the actor (the
worker's ``actor_execute`` handler, as :class:`distributed.Actor` does), not
through the scheduler, unless the client was made with
``direct_to_workers=False``.
"""

import asyncio
import queue
import threading
import time
import uuid
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._node import BlocksSpec, TaskLoaderError, TaskNode

_POLL = 0.25  # seconds between checks of a node being created
_JOIN_BUDGET = 5.0  # seconds close() waits for the node-creating threads


def import_distributed():
    """``distributed``, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "backend='dask' needs Dask's distributed scheduler, which is not "
            "installed: pip install 'skmtl[dask]'."
        ) from exc
    return distributed


class Node:
    """A group of tasks and the actor currently serving it.

    ``state`` is 'creating', 'ready' or 'lost'; ``generation`` counts the
    actors created for it, so that messages about a replaced actor are ignored.
    """

    def __init__(self, index, spec):
        self.index = index
        self.spec = spec
        self.tasks = list(spec.tasks)
        self.labels = list(spec.labels)
        self.state = "new"
        self.address = None
        self.future = None
        self.generation = 0
        self.recoveries = 0
        self.info = None
        self.wire = None  # (request, reply) bytes of one step call

    @property
    def key(self):
        return self.future.key


class Created(NamedTuple):
    node: Node
    generation: int
    future: object
    info: dict | None
    seconds: float


class CreateFailed(NamedTuple):
    node: Node
    generation: int
    address: str
    error: BaseException
    retry: bool  # False: the node itself failed (bad data, loader error)


def spec_bytes(spec):
    """Bytes of array data a spec ships (each distinct array counted once)."""
    seen, total = set(), 0
    blocks = getattr(spec, "blocks", None)
    if blocks is None:
        return 0
    for arr in [*blocks.Xs, *blocks.ys, *blocks.sample_weights]:
        if id(arr) in seen:
            continue
        seen.add(id(arr))
        if sp.issparse(arr):
            total += arr.data.nbytes + arr.indices.nbytes + arr.indptr.nbytes
        else:
            total += np.asarray(arr).nbytes
    return int(total)


class NodePool:
    """The task nodes of a fit, on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client, str or None
        A client (left open), a scheduler address (a client is made and
        closed), or None (a ``LocalCluster`` is started and closed).
    n_jobs : int or None
        Number of task nodes (None or -1: one per worker); also the number of
        worker processes of a ``LocalCluster`` started here.
    reply_timeout, load_timeout : float
        Seconds allowed for one call and for creating one node.
    max_recoveries : int
        How many times one node may be re-created before the fit fails.
    """

    def __init__(self, client, n_jobs, *, reply_timeout, load_timeout, max_recoveries):
        self.client_param = client
        self.n_jobs = n_jobs
        self.reply_timeout = reply_timeout
        self.load_timeout = load_timeout
        self.max_recoveries = max_recoveries
        self.events = []
        self.queue = None
        self.nodes = []
        self.node_of = {}
        self.excluded = set()
        self.step = None
        self.want_info = False
        self.client = self.cluster = None
        self._own_client = False
        self._futures = set()
        self._lock = threading.Lock()
        self._threads = []
        self._closing = threading.Event()
        self._t0 = time.perf_counter()

    # -- connection ----------------------------------------------------------
    def log(self, event, **info):
        self.events.append(
            {"event": event, "time": round(time.perf_counter() - self._t0, 6), **info}
        )

    def connect(self, n_tasks):
        distributed = import_distributed()
        self.queue = queue.SimpleQueue()
        client = self.client_param
        if isinstance(client, distributed.Client):
            if client.asynchronous:
                raise ValueError(
                    "backend='dask' drives the cluster from a synchronous Client; "
                    "got an asynchronous one (pass its scheduler address instead)."
                )
            self.client = client
        elif isinstance(client, str):
            self.client = distributed.Client(client, timeout=self.load_timeout)
            self._own_client = True
        elif client is None:
            import logging
            import os

            n = self.n_jobs if self.n_jobs not in (None, -1) else os.cpu_count() or 1
            n = max(1, min(int(n), int(n_tasks)))
            # Loopback only: nothing of a fit is served to the network.  The
            # scheduler always runs an HTTP server (dashboard, health and
            # metrics routes) that listens on every interface by default;
            # bind it to the loopback, on a free port (8787 may be taken).
            self.cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            )
            self.client = distributed.Client(self.cluster)
            self._own_client = True
            self.log("local_cluster", n_workers=n)
        else:
            raise TypeError(
                "client must be a distributed.Client, a scheduler address (str) "
                f"or None; got {type(client).__name__}."
            )
        self.loop = self.client.loop.asyncio_loop
        self.direct = self.client.direct_to_workers is not False
        if not self.usable_workers():
            self.client.wait_for_workers(1, timeout=self.load_timeout)

    def rpc(self, address):
        if self.direct:
            return self.client.rpc(address)
        from distributed.actor import ProxyRPC

        return ProxyRPC(self.client.scheduler, address)

    def usable_workers(self):
        return [w for w in sorted(self.client.nthreads()) if w not in self.excluded]

    def n_nodes(self, n_tasks):
        n = len(self.usable_workers())
        if self.n_jobs not in (None, -1):
            n = int(self.n_jobs)
        return max(1, min(n, int(n_tasks)))

    # -- creating nodes --------------------------------------------------------
    def place(self, specs, step):
        """Create one node per spec, spread over the workers; wait for all."""
        self.step = step
        workers = self.usable_workers()
        for i, spec in enumerate(specs):
            node = Node(len(self.nodes), spec)
            self.nodes.append(node)
            for t in node.tasks:
                self.node_of[t] = node
            self._spawn(node, workers[i % len(workers)])
        self.wait_ready()

    def _register(self, future):
        with self._lock:
            self._futures.add(future)

    def _release(self, futures):
        futures = [f for f in futures if f is not None]
        with self._lock:
            self._futures.difference_update(futures)
        # Releasing the last reference makes the scheduler forget the key (and
        # the worker drop the actor).  Not Client.cancel: cancelling the
        # scattered data would cancel the actor that depends on it.
        for f in futures:
            f.release()

    def _spawn(self, node, address):
        node.generation += 1
        node.state = "creating"
        node.address = address
        node.wire = None
        thread = threading.Thread(
            target=self._create,
            args=(node, node.generation, address, node.spec, self.step),
            name=f"skmtl-dask-create-{node.index}",
            daemon=True,
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _create(self, node, generation, address, spec, step):
        distributed = import_distributed()
        client, start = self.client, time.perf_counter()
        deadline = start + self.load_timeout
        data = future = None
        try:
            data = client.scatter(
                spec,
                workers=[address],
                direct=self.direct,
                hash=False,
                timeout=self.load_timeout,
            )
            self._register(data)
            future = client.submit(
                TaskNode,
                data,
                step,
                key=f"skmtl-task-node-{uuid.uuid4().hex}",
                actor=True,
                workers=[address],
                allow_other_workers=False,
                pure=False,
            )
            self._register(future)
            while True:
                if self._closing.is_set():
                    return
                try:
                    distributed.wait(future, timeout=_POLL)
                    break
                except (TimeoutError, asyncio.TimeoutError):
                    pass
                if time.perf_counter() > deadline:
                    raise TimeoutError(
                        f"creating the task node took more than load_timeout="
                        f"{self.load_timeout} s"
                    )
                if address not in client.nthreads():
                    raise ConnectionError(f"worker {address} left the cluster")
            self._release([data])
            data = None
            if future.status == "error":
                exc = future.exception()
                self._release([future])
                self.queue.put(CreateFailed(node, generation, address, exc, False))
                return
            if future.status != "finished":
                raise ConnectionError(f"the node's task ended as {future.status!r}")
            info = None
            if self.want_info:
                info = self._call_sync(address, future.key, "info", ())
            self.queue.put(
                Created(node, generation, future, info, time.perf_counter() - start)
            )
        except BaseException as exc:
            self._release([data, future])
            if not self._closing.is_set():
                self.queue.put(CreateFailed(node, generation, address, exc, True))

    def handle(self, msg):
        """Apply a creation message; returns the node if it became ready."""
        if isinstance(msg, Created):
            node = msg.node
            if msg.generation != node.generation or self._closing.is_set():
                self._release([msg.future])  # a replaced or abandoned actor
                return None
            node.future, node.state = msg.future, "ready"
            if msg.info is not None:
                node.info = msg.info
            self.log(
                "node_ready",
                worker=node.address,
                tasks=node.labels,
                seconds=round(msg.seconds, 4),
                shipped_bytes=spec_bytes(node.spec),
                **(
                    {}
                    if node.info is None
                    else {"loaded_bytes": node.info["data_bytes"]}
                ),
            )
            return node
        if isinstance(msg, CreateFailed) and msg.generation == msg.node.generation:
            node = msg.node
            if not msg.retry:
                raise _node_error(node, msg.address, msg.error)
            self.lose(msg.address, f"{type(msg.error).__name__}: {msg.error}")
        return None

    def wait_ready(self):
        """Process creation messages until every node is up (bounded waits)."""
        while any(n.state != "ready" for n in self.nodes):
            try:
                msg = self.queue.get(timeout=self.load_timeout + 30.0)
            except Exception:
                raise TimeoutError(
                    "No task node was created or failed within load_timeout="
                    f"{self.load_timeout} s."
                ) from None
            self.handle(msg)

    # -- faults --------------------------------------------------------------
    def lose(self, address, reason):
        """Every node on ``address`` is lost: exclude it, re-create them elsewhere.

        A timed-out worker is not used again in this fit: its actor thread may
        still be stuck in a call, and every actor of a worker shares it.
        """
        if address in self.excluded:
            lost = [n for n in self.nodes if n.address == address]
        else:
            self.excluded.add(address)
            lost = [n for n in self.nodes if n.address == address]
            self.log(
                "worker_lost",
                worker=address,
                reason=reason,
                tasks=[lab for n in lost for lab in n.labels],
            )
        for node in lost:
            if node.state == "lost":
                continue
            node.recoveries += 1
            if node.recoveries > self.max_recoveries:
                raise RuntimeError(
                    f"The task node of task(s) {node.labels} was lost "
                    f"{node.recoveries} times (last on worker {address}: {reason}); "
                    f"giving up (max_recoveries={self.max_recoveries}). If its "
                    "steps or loaders are just slow, raise reply_timeout or "
                    "load_timeout."
                )
            node.state = "lost"
            self._release([node.future])
            node.future = None
        for node in lost:
            if node.state == "lost":
                self._spawn(node, self._pick_worker(node))
        return lost

    def _pick_worker(self, node):
        # With every worker lost, wait for a new one for at most one task
        # timeout (the reply_timeout), then fail: never minutes.
        patience = self.load_timeout
        if self.reply_timeout is not None:
            patience = min(patience, self.reply_timeout)
        deadline = time.perf_counter() + patience
        while True:
            workers = self.usable_workers()
            if workers:
                load = {w: 0 for w in workers}
                for n in self.nodes:
                    if n.state in ("creating", "ready") and n.address in load:
                        load[n.address] += 1
                return min(workers, key=lambda w: (load[w], workers.index(w)))
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"No usable Dask worker is left for task(s) {node.labels}: "
                    f"lost or timed out: {sorted(self.excluded)}."
                )
            time.sleep(_POLL)

    # -- calls -----------------------------------------------------------------
    async def acall(self, address, key, function, args, timeout):
        from distributed.protocol import to_serialize

        return await asyncio.wait_for(
            self.rpc(address).actor_execute(
                function=function,
                actor=key,
                args=[to_serialize(a) for a in args],
                kwargs={},
            ),
            timeout,
        )

    def _call_sync(self, address, key, function, args):
        msg = asyncio.run_coroutine_threadsafe(
            self.acall(address, key, function, args, self.reply_timeout), self.loop
        ).result()
        if msg["status"] != "OK":
            raise msg["exception"]
        return msg["result"]

    def call_nodes(self, function, args_per_node):
        """Call ``function`` on every node at once; re-create lost nodes, retry."""
        results = [None] * len(self.nodes)
        todo = list(range(len(self.nodes)))
        while todo:
            self.wait_ready()
            calls = {
                i: asyncio.run_coroutine_threadsafe(
                    self.acall(
                        self.nodes[i].address,
                        self.nodes[i].key,
                        function,
                        args_per_node[i],
                        self.reply_timeout,
                    ),
                    self.loop,
                )
                for i in todo
            }
            lost = {}
            for i, call in calls.items():
                try:
                    msg = call.result()
                except Exception as exc:
                    lost.setdefault(self.nodes[i].address, exc)
                    continue
                if msg["status"] != "OK":
                    raise msg["exception"]
                results[i] = msg["result"]
                todo.remove(i)
            for address, exc in lost.items():
                self.lose(address, f"{type(exc).__name__}: {exc}")
        return results

    def set_step(self, step):
        self.step = step
        self.call_nodes("set_step", [(step,)] * len(self.nodes))

    # -- teardown --------------------------------------------------------------
    def close(self):
        """Release every actor and future created; close what was started here."""
        self._closing.set()
        deadline = time.perf_counter() + _JOIN_BUDGET
        for thread in self._threads:  # they poll _closing every _POLL s
            thread.join(timeout=max(deadline - time.perf_counter(), 0.0))
        self._threads = []
        with self._lock:
            futures = list(self._futures)
        self._release(futures)
        for node in self.nodes:
            node.future = None
            node.state = "lost"
        if self._own_client and self.client is not None:
            try:
                self.client.close()
            finally:
                if self.cluster is not None:
                    self.cluster.close()
        self.client = self.cluster = None


def _node_error(node, address, error):
    if isinstance(error, TaskLoaderError | ValueError | TypeError):
        return error
    return RuntimeError(
        f"Creating the task node of task(s) {node.labels} on worker {address} "
        f"failed: {type(error).__name__}: {error}"
    )


def blocks_specs(datafit, groups):
    """Specs that ship each group's rows (shared design: X once per node)."""
    from ....datafits._losses import LogisticLoss, SquaredLoss, TaskBlocks
    from ._node import DatafitSpec

    kind = type(datafit)
    if kind not in (SquaredLoss, LogisticLoss):
        return [DatafitSpec(g, g, datafit) for g in groups]
    kwargs = {"fit_intercept": datafit.fit_intercept}
    if kind is SquaredLoss:
        kwargs["use_gram"] = datafit.use_gram
    b = datafit.blocks
    specs = []
    for g in groups:
        sub = TaskBlocks(
            [b.Xs[t] for t in g],
            [b.ys[t] for t in g],
            [b.sample_weights[t] for t in g],
            np.asarray(b.scales)[list(g)],
            shared=b.shared,
        )
        specs.append(BlocksSpec(g, g, kind, sub, kwargs))
    return specs

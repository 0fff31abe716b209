"""The LocalCluster that backend='dask' starts listens on the loopback only."""

import ipaddress

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

from skmtl import AsyncTraceNormMTLRegressor, stack_tasks  # noqa: E402
from skmtl._amtl.backends.dask._pool import NodePool  # noqa: E402


def _listening(process):
    """(pid, ip, port) of every TCP socket ``process`` listens on."""
    try:
        connections = process.net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return set()
    return {
        (process.pid, c.laddr.ip, c.laddr.port)
        for c in connections
        if c.status == psutil.CONN_LISTEN
    }


def _all_listening():
    me = psutil.Process()
    found = _listening(me)
    for child in me.children(recursive=True):
        found |= _listening(child)
    return found


def test_local_cluster_listens_on_loopback_only():
    before = _all_listening()
    pool = NodePool(None, 2, reply_timeout=30.0, load_timeout=60.0, max_recoveries=0)
    try:
        pool.connect(n_tasks=2)
        scheduler = pool.cluster.scheduler
        assert scheduler.address.startswith("tcp://127.0.0.1:")
        assert all(w.startswith("tcp://127.0.0.1:") for w in pool.client.nthreads())
        assert pool.cluster.dashboard_link.startswith("http://127.0.0.1:")
        opened = _all_listening() - before
        assert opened  # the scheduler and the workers do listen ...
        for pid, ip, port in opened:  # ... but only on the loopback
            assert ipaddress.ip_address(ip).is_loopback, (pid, ip, port)
    finally:
        pool.close()


def test_a_fit_on_its_own_cluster_opens_no_public_port(monkeypatch):
    """During a real fit (checked from inside it), every new socket is loopback."""
    rng = np.random.RandomState(0)
    Xs = [rng.randn(30, 4) for _ in range(2)]
    X, y = stack_tasks(Xs, [X @ rng.randn(4) for X in Xs])
    before = _all_listening()
    seen = []
    connect = NodePool.connect

    def spy(self, n_tasks):
        connect(self, n_tasks)
        seen.extend(_all_listening() - before)

    monkeypatch.setattr(NodePool, "connect", spy)
    AsyncTraceNormMTLRegressor(
        alpha=0.1, task_column=-1, backend="dask", n_jobs=1, max_iter=200
    ).fit(X, y)
    assert seen
    assert all(ipaddress.ip_address(ip).is_loopback for _, ip, _ in seen), seen

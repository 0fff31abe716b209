"""The AMTL central node with batched refreshes (_amtl/_nodes.py).

``refresh_every=1`` must be the unbatched node; with ``refresh_every > 1``
reads carry the version of the snapshot they came from, the engine's staleness
bound holds, and the fits still reach the centralized optimum.  'auto' batches
on the sequential backend only.
"""

import numpy as np
import pytest
from _amtl_reference import Problem, objective

from skmtl import AsyncTraceNormMTLRegressor
from skmtl._amtl import SequentialBackend, SimulatedBackend, run_amtl
from skmtl._amtl._config import batches_refresh, resolve_batch
from skmtl._amtl._nodes import (
    CentralNode,
    central_node_options,
    resolve_refresh_every,
)
from skmtl._amtl.backends import ThreadingBackend
from skmtl.solvers._fista import solve


def test_resolve_refresh_every():
    assert resolve_refresh_every(1, 100) == 1
    assert resolve_refresh_every("auto", 3) == 1
    assert resolve_refresh_every("auto", 15) == 7
    assert resolve_refresh_every("auto", 1000) == 500
    assert resolve_refresh_every("auto", 1000, max_staleness=40) == 40
    assert resolve_refresh_every("auto", 1000, max_staleness=0) == 1
    for bad in ("always", 0, -3, 2.5, None):
        with pytest.raises(ValueError, match="refresh_every"):
            resolve_refresh_every(bad, 100)
    with pytest.raises(ValueError, match="staleness cap"):
        resolve_refresh_every(10, 100, max_staleness=5)
    with pytest.raises(ValueError, match="refresh_every"):
        resolve_refresh_every(True, 100)


def test_auto_batches_on_the_sequential_backend_only():
    assert batches_refresh(SequentialBackend())
    assert not batches_refresh(SimulatedBackend())
    assert not batches_refresh(ThreadingBackend(n_jobs=1))
    assert resolve_batch("auto", 139, "auto", SequentialBackend()) == 69
    assert resolve_batch("auto", 139, 5, SequentialBackend()) == 5
    assert resolve_batch("auto", 3, "auto", SequentialBackend()) == 1
    for backend in (SimulatedBackend(), ThreadingBackend(n_jobs=1), None):
        assert resolve_batch("auto", 139, "auto", backend) == 1
        assert resolve_batch(7, 139, "auto", backend) == 7  # an int is kept
    with pytest.raises(ValueError, match="staleness cap"):
        resolve_batch(7, 139, 6, SimulatedBackend())


def _node(**kw):
    rng = np.random.default_rng(0)
    V0 = rng.standard_normal((6, 20))
    return CentralNode(V0, np.zeros(20), 0.5, **kw), V0


def test_default_publishes_after_every_write():
    node, V0 = _node()
    assert node.refresh_every == 1
    z = np.ones(6)
    sq = node.write(3, z, 1.0, 0.5)
    np.testing.assert_array_equal(node.V[:, 3], V0[:, 3] + 0.5 * (z - V0[:, 3]))
    assert sq == pytest.approx(np.sum((z - V0[:, 3]) ** 2) + 1.0)
    assert node.refresh().version == 1 == node.prox_version
    assert node.snapshot.V is None  # forward-backward reads need no V


def test_context_options_reach_the_constructor_and_expire():
    with central_node_options(refresh_every=4):
        node, _ = _node()
        assert node.refresh_every == 4
    assert _node()[0].refresh_every == 1
    with central_node_options(refresh_every="auto", max_staleness=1):
        assert _node()[0].refresh_every == 1


def test_batched_refresh_versions():
    node, V0 = _node(refresh_every=3)
    r = node.read(2)
    assert r.version == 0
    node.write(2, np.zeros(6), 0.0, 1.0)
    assert node.refresh().version == 0  # 1 < 3 writes: not yet
    # task 2 reads again: the snapshot predates its own last write
    r = node.read(2)
    assert r.version == 0 and node.version == 1
    np.testing.assert_array_equal(r.u, node.snapshot.P[:, 2])
    z = np.full(6, 2.0)
    sq = node.write(2, z, 1.0, 0.5)
    # anchored at the current block (0 after the first write), not at the read
    np.testing.assert_allclose(node.V[:, 2], 0.5 * z)
    assert sq == pytest.approx(np.sum(z**2) + 1.0)
    assert node.b[2] == pytest.approx(0.5)
    node.write(5, np.zeros(6), 0.0, 1.0)
    snap = node.refresh()
    assert snap.version == 3 == node.prox_version
    np.testing.assert_allclose(snap.P, node.penalty.prox(np.array(node.V), 0.5))
    assert node.refresh(force=True) is snap  # nothing new
    node.write(1, np.zeros(6), 0.0, 1.0)
    assert node.refresh(force=True).version == 4


def test_batched_douglas_rachford_reads_a_consistent_pair():
    node, V0 = _node(refresh_every=5, publish_v=True)
    node.write(4, np.ones(6), 0.0, 1.0)
    r = node.read(4)
    # u and v come from the same snapshot (version 0): v is V0's block
    np.testing.assert_array_equal(r.v, V0[:, 4])
    np.testing.assert_allclose(node.snapshot.P, node.penalty.prox(V0, 0.5))


def _batched_problem(loss):
    prob = Problem(loss, True, 0.1, T=24, d=8, seed=1)
    df = prob.datafit()
    ref = solve(df, prob.alpha, tol=1e-10, max_iter=100_000)
    assert ref.converged
    return prob, df, ref, objective(df, prob.alpha, ref.W, ref.b)


@pytest.mark.parametrize(
    "loss, backend_name, splitting, refresh_every",
    [
        ("squared", "sequential", "forward-backward", "auto"),
        pytest.param(
            "squared", "sequential", "douglas-rachford", 6, marks=pytest.mark.slow
        ),
        ("squared", "threading", "forward-backward", 6),
        pytest.param(
            "squared", "threading", "douglas-rachford", 3, marks=pytest.mark.slow
        ),
        ("squared", "simulated", "forward-backward", 6),
        pytest.param(
            "squared", "simulated", "douglas-rachford", 3, marks=pytest.mark.slow
        ),
        ("logistic", "sequential", "forward-backward", 6),
        pytest.param(
            "logistic", "threading", "douglas-rachford", 6, marks=pytest.mark.slow
        ),
        ("logistic", "simulated", "forward-backward", 3),
    ],
)
def test_batched_refresh_reaches_centralized_optimum(
    loss, backend_name, splitting, refresh_every
):
    prob, df, ref, F_ref = _batched_problem(loss)
    backend = {
        "sequential": SequentialBackend,
        "threading": lambda: ThreadingBackend(n_jobs=2),
        "simulated": SimulatedBackend,
    }[backend_name]()
    with central_node_options(refresh_every=refresh_every, max_staleness=4 * 24):
        res = run_amtl(
            df,
            prob.alpha,
            backend,
            splitting=splitting,
            tol=1e-9,
            max_epochs=20_000,
            random_state=0,
        )
    assert res.converged, res.stop_reason
    # 'auto' is T // 2 = 12 on the sequential backend (the only 'auto' case)
    assert res.info["refresh_every"] == (
        12 if refresh_every == "auto" else refresh_every
    )
    assert np.all(res.task_stats["staleness_max"] <= res.max_staleness)
    if backend_name == "sequential":
        # reads do come from older snapshots: the batching is real
        assert res.task_stats["staleness_max"].max() >= 1
    F = objective(df, prob.alpha, res.W, res.b)
    assert abs(F - F_ref) <= 1e-6 * abs(F_ref)
    np.testing.assert_allclose(res.W, ref.W, atol=1e-5 * np.abs(ref.W).max())


def test_default_run_is_unchanged_by_the_option_machinery():
    """refresh_every=1 given explicitly is the default, bit for bit."""
    prob, df, _, _ = _batched_problem("squared")
    runs = []
    for options in ({}, {"refresh_every": 1}):
        with central_node_options(**options):
            res = run_amtl(
                df, prob.alpha, SequentialBackend(), tol=1e-8, random_state=0
            )
        runs.append(res)
    np.testing.assert_array_equal(runs[0].W, runs[1].W)
    assert runs[0].n_updates == runs[1].n_updates
    assert runs[0].task_stats["staleness_max"].max() == 0


def test_sequential_default_batches_with_exact_staleness():
    """Sequential, no options: 'auto' publishes every T // 2 = 12 writes (and
    at the epoch checks, every 24); the n-th write read the prox of version
    12 * (n // 12), so task t's staleness is exactly t % 12 at every update."""
    prob, df, _, _ = _batched_problem("squared")
    res = run_amtl(df, prob.alpha, SequentialBackend(), max_epochs=10, tol=0.0)
    assert res.info["refresh_every"] == 12
    expected = np.arange(24) % 12
    np.testing.assert_array_equal(res.task_stats["n_updates"], np.full(24, 10))
    np.testing.assert_array_equal(res.task_stats["staleness_max"], expected)
    np.testing.assert_array_equal(res.task_stats["staleness_mean"], expected)


def test_epoch_checks_see_the_prox_of_the_current_version():
    """With 5 writes per prox and 24 tasks, the epoch checks fall between two
    publications: the node refreshes for them."""
    prob, df, _, _ = _batched_problem("squared")
    backend = SequentialBackend()
    seen = []

    def on_check(P, b, task_updates):
        node = backend.read.__self__  # the central node the backend reads
        seen.append((node.prox_version, node.version, int(task_updates.sum())))
        np.testing.assert_array_equal(P, node.snapshot.P)
        np.testing.assert_allclose(
            P, node.penalty.prox(np.array(node.V), node.threshold), atol=1e-12
        )

    res = run_amtl(
        df,
        prob.alpha,
        backend,
        refresh_every=5,
        max_epochs=6,
        tol=0.0,
        on_check=on_check,
    )
    assert res.info["refresh_every"] == 5
    assert seen == [(24 * e, 24 * e, 24 * e) for e in range(1, 7)]
    assert res.task_stats["staleness_max"].max() == 4


def test_sync_rounds_refresh_whatever_refresh_every():
    """SMTL applies one prox per round: a batch larger than T changes nothing."""
    prob, df, _, _ = _batched_problem("squared")
    runs = [
        run_amtl(
            df,
            prob.alpha,
            SequentialBackend(),
            schedule="sync",
            refresh_every=k,
            max_epochs=15,
            tol=0.0,
        )
        for k in (1, 50)
    ]
    np.testing.assert_array_equal(runs[0].W, runs[1].W)
    assert runs[1].task_stats["staleness_max"].max() == 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_refresh_every_parameter():
    prob, df, _, _ = _batched_problem("squared")
    X = np.vstack(prob.Xs)
    y = np.concatenate(prob.ys)
    tasks = np.repeat(np.arange(len(prob.Xs)), [len(x) for x in prob.Xs])
    Xt = np.column_stack([X, tasks])
    kw = dict(alpha=0.1, task_column=-1, max_iter=5, tol=0.0)
    est = AsyncTraceNormMTLRegressor(**kw).fit(Xt, y)
    assert est.refresh_every_ == 12  # sequential: T // 2
    assert est.task_stats_["staleness_max"].max() == 11
    est = AsyncTraceNormMTLRegressor(backend="simulated", **kw).fit(Xt, y)
    assert est.refresh_every_ == 1
    est = AsyncTraceNormMTLRegressor(refresh_every=7, **kw).fit(Xt, y)
    assert est.refresh_every_ == 7
    assert est.task_stats_["staleness_max"].max() == 6
    for bad in (0, -1, 2.5, "always"):
        with pytest.raises(ValueError, match="refresh_every"):
            AsyncTraceNormMTLRegressor(refresh_every=bad, **kw).fit(Xt, y)
    with pytest.raises(ValueError, match="staleness cap"):
        AsyncTraceNormMTLRegressor(refresh_every=9, max_staleness=8, **kw).fit(Xt, y)


class _OneStepPerCall(SequentialBackend):
    """The sequential backend as it was: one step per ``next_replies`` call."""

    n_calls = 0

    @property
    def max_replies(self):
        return 1

    @max_replies.setter
    def max_replies(self, value):
        pass

    def next_replies(self, timeout=None):
        self.n_calls += 1
        return super().next_replies(timeout)


class _CountingSequential(SequentialBackend):
    n_calls = 0

    def next_replies(self, timeout=None):
        self.n_calls += 1
        return super().next_replies(timeout)


def _halve_task_3_at_epoch_2(P, b, task_updates):
    # activation periods: task 3 runs at half rate from the second check on
    return np.where(np.arange(24) == 3, 2, 1) if task_updates.sum() >= 48 else None


@pytest.mark.parametrize(
    "kw",
    [
        {},
        dict(splitting="douglas-rachford", refresh_every=7),
        dict(max_staleness=5, refresh_every=4),
        dict(schedule="sync"),
        dict(on_check=lambda P, b, n: None),
        dict(on_check=_halve_task_3_at_epoch_2),
    ],
    ids=["auto", "dr-7", "cap-5", "sync", "hook", "periods"],
)
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_batched_calls_reproduce_one_step_per_call(loss, kw):
    """The engine lets the sequential backend compute, in one call, the queued
    steps that read the same published prox: the run is the one-step-per-call
    run bit for bit, with fewer trips through the central loop."""
    prob = Problem(loss, True, 0.05, T=24, d=8, seed=3)
    runs, backends = [], (_OneStepPerCall(), _CountingSequential())
    for backend in backends:
        runs.append(
            run_amtl(prob.datafit(), prob.alpha, backend, max_epochs=12, tol=0.0, **kw)
        )
    a, b = runs
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.b, b.b)
    for f in ("n_updates", "residual", "objective"):
        np.testing.assert_array_equal(a.history[f], b.history[f])
    for key in ("n_updates", "staleness_mean", "staleness_max", "relaxation_mean"):
        np.testing.assert_array_equal(a.task_stats[key], b.task_stats[key])
    assert backends[0].n_calls == a.n_updates
    periods = kw.get("on_check") is _halve_task_3_at_epoch_2
    if not periods and (a.info["refresh_every"] > 1 or kw.get("schedule") == "sync"):
        assert backends[1].n_calls < a.n_updates / 2
    if periods:  # one call per step once a task is parked, not before
        assert 2 * 24 < backends[1].n_calls < a.n_updates

"""The AMTL central node with batched refreshes (_amtl/_nodes.py).

The default (a prox after every write) must be the unbatched node; with
``refresh_every > 1`` reads carry the version of the snapshot they came from,
the engine's staleness bound holds, and the fits still reach the centralized
optimum.
"""

import numpy as np
import pytest
from _amtl_reference import Problem, objective

from skmtl._amtl import SequentialBackend, SimulatedBackend, run_amtl
from skmtl._amtl._nodes import (
    CentralNode,
    central_node_options,
    resolve_refresh_every,
)
from skmtl._amtl.backends import ThreadingBackend
from skmtl.solvers._fista import solve


def test_resolve_refresh_every():
    assert resolve_refresh_every(1, 100) == 1
    assert resolve_refresh_every("auto", 15) == 1
    assert resolve_refresh_every("auto", 16) == 2
    assert resolve_refresh_every("auto", 1000) == 125
    assert resolve_refresh_every("auto", 1000, max_staleness=40) == 40
    assert resolve_refresh_every("auto", 1000, max_staleness=0) == 1
    for bad in ("always", 0, -3, 2.5, None):
        with pytest.raises(ValueError, match="refresh_every"):
            resolve_refresh_every(bad, 100)
    with pytest.raises(ValueError, match="staleness cap"):
        resolve_refresh_every(10, 100, max_staleness=5)


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
            "squared", "threading", "douglas-rachford", "auto", marks=pytest.mark.slow
        ),
        ("squared", "simulated", "forward-backward", 6),
        pytest.param(
            "squared", "simulated", "douglas-rachford", "auto", marks=pytest.mark.slow
        ),
        ("logistic", "sequential", "forward-backward", 6),
        pytest.param(
            "logistic", "threading", "douglas-rachford", 6, marks=pytest.mark.slow
        ),
        ("logistic", "simulated", "forward-backward", "auto"),
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

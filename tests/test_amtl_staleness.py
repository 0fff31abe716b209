"""The staleness cap holds on every backend; the deterministic backends are
reproducible bit for bit.
"""

import numpy as np
import pytest
from _amtl_reference import (
    STRAGGLER_OFFSETS,
    Problem,
    backend_config,
    reference,
)

from skmtl._amtl import (
    DelayModel,
    SequentialBackend,
    SimulatedBackend,
    ThreadingBackend,
    run_amtl,
)


# --------------------------------------------------------------------------- #
# Staleness
# --------------------------------------------------------------------------- #
def _threading_straggler():
    # Real (short) delays: the last task is the straggler.
    return ThreadingBackend(n_jobs=2), DelayModel(
        offset=[0.0, 0.0, 0.0, 0.0, 2e-3], jitter="exponential", scale=3e-4
    )


def _simulated_straggler():
    return (
        SimulatedBackend(compute_time=[0.05, 0.1, 0.05, 0.1, 0.2]),
        DelayModel(offset=STRAGGLER_OFFSETS, jitter="exponential", scale=0.3),
    )


STRAGGLERS = {"threading": _threading_straggler, "simulated": _simulated_straggler}


@pytest.mark.parametrize("cap", [0, 1, 5])
@pytest.mark.parametrize("backend_name", list(STRAGGLERS))
def test_staleness_never_exceeds_cap(backend_name, cap, no_leaked_threads):
    prob, *_ = reference("squared")
    backend, delay = STRAGGLERS[backend_name]()
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        max_staleness=cap,
        delay_model=delay,
        max_epochs=40,
        tol=0.0,
        random_state=0,
    )
    assert res.max_staleness == cap
    stats = res.task_stats
    assert np.all(stats["staleness_max"] <= cap)
    assert np.all(stats["staleness_mean"] <= stats["staleness_max"])
    assert np.all(stats["n_updates"] > 0)
    if cap == 0:
        assert np.all(stats["staleness_max"] == 0)
    if backend_name == "simulated":
        # Deterministic: the cap binds exactly (uncapped runs exceed it).
        assert stats["staleness_max"].max() == cap


def test_uncapped_straggler_exceeds_small_caps():
    """Without a binding cap the straggler's staleness is large (so the caps
    above are really exercised); the default cap is 4 T."""
    prob, *_ = reference("squared")
    backend, delay = _simulated_straggler()
    kw = dict(delay_model=delay, max_epochs=40, tol=0.0, random_state=0)
    res = run_amtl(prob.datafit(), prob.alpha, backend, max_staleness=10**6, **kw)
    assert res.task_stats["staleness_max"][-1] > 4 * prob.T
    backend, delay = _simulated_straggler()
    kw["delay_model"] = delay
    res = run_amtl(prob.datafit(), prob.alpha, backend, **kw)
    assert res.max_staleness == 4 * prob.T
    assert res.task_stats["staleness_max"].max() <= 4 * prob.T


@pytest.mark.parametrize("cap", [0, 1, 2, 5, "auto"])
def test_sequential_batched_refresh_respects_the_cap(cap):
    """Sequential, T = 24: 'auto' publishes a prox every min(12, cap) writes
    (at least 1); the staleness is then exactly that batch minus one, under
    the cap, whatever back-pressure does to the number of outstanding tasks."""
    prob = Problem("squared", True, 0.1, T=24, d=8, seed=1)
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SequentialBackend(),
        max_staleness=cap,
        max_epochs=8,
        tol=0.0,
    )
    tau = 4 * 24 if cap == "auto" else cap
    batch = max(1, min(12, tau))
    assert res.info["refresh_every"] == batch
    stats = res.task_stats
    assert np.all(stats["n_updates"] == 8)
    assert stats["staleness_max"].max() == batch - 1 <= tau


@pytest.mark.parametrize("backend_name", list(STRAGGLERS))
def test_sync_schedule_has_zero_staleness(backend_name, no_leaked_threads):
    prob, *_ = reference("squared")
    backend, delay = STRAGGLERS[backend_name]()
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        schedule="sync",
        delay_model=delay,
        max_epochs=20,
        tol=0.0,
        random_state=0,
    )
    assert np.all(res.task_stats["staleness_max"] == 0)
    assert np.all(res.task_stats["staleness_mean"] == 0)
    assert np.all(res.task_stats["n_updates"] == 20)


def test_simulated_staleness_is_exact():
    """Equal constant delays: after the first round every update has seen the
    T - 1 writes of the others."""
    prob, *_ = reference("squared")
    T, n = prob.T, 12
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        delay_model=DelayModel(offset=1.0, jitter=None),
        max_epochs=n,
        tol=0.0,
    )
    stats = res.task_stats
    assert np.all(stats["n_updates"] == n)
    first = np.arange(T)  # staleness of each task's first update
    np.testing.assert_allclose(
        stats["staleness_mean"], (first + (n - 1) * (T - 1)) / n, rtol=1e-15
    )
    np.testing.assert_array_equal(stats["staleness_max"], np.full(T, T - 1))
    np.testing.assert_array_equal(res.history["time"], np.arange(1.0, n + 1))


# --------------------------------------------------------------------------- #
# Determinism
# --------------------------------------------------------------------------- #
def _assert_same_runs(a, b, with_time):
    np.testing.assert_array_equal(a.W, b.W)
    if a.b is not None:
        np.testing.assert_array_equal(a.b, b.b)
    fields = ["n_updates", "residual", "objective"] + (["time"] if with_time else [])
    for f in fields:
        np.testing.assert_array_equal(a.history[f], b.history[f])
    for key, value in a.task_stats.items():
        if with_time or not key.startswith("round_trip"):
            np.testing.assert_array_equal(value, b.task_stats[key])


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("backend_name", ["sequential", "simulated-delays"])
@pytest.mark.parametrize("problem", ["squared", "logistic"])
def test_deterministic_backends_are_reproducible(problem, backend_name, schedule):
    prob, *_ = reference(problem)
    runs = []
    for _ in range(2):
        backend, delay = backend_config(backend_name)
        assert backend.deterministic
        runs.append(
            run_amtl(
                prob.datafit(),
                prob.alpha,
                backend,
                schedule=schedule,
                delay_model=delay,
                max_epochs=60,
                tol=0.0,
                random_state=42,
            )
        )
    _assert_same_runs(*runs, with_time=backend_name.startswith("simulated"))


def test_simulated_clock_depends_on_the_seed():
    prob, *_ = reference("squared")
    times = []
    for seed in (0, 0, 1):
        backend, delay = backend_config("simulated-delays")
        res = run_amtl(
            prob.datafit(),
            prob.alpha,
            backend,
            delay_model=delay,
            max_epochs=20,
            tol=0.0,
            random_state=seed,
        )
        times.append(res.history["time"])
    np.testing.assert_array_equal(times[0], times[1])
    assert not np.array_equal(times[0], times[2])


@pytest.mark.parametrize("refresh_every", ["auto", 5])
def test_batched_sequential_runs_are_reproducible(refresh_every):
    """The default sequential backend batches the refresh (T // 2): still
    deterministic bit for bit."""
    prob = Problem("logistic", True, 0.05, T=24, d=8, seed=2)
    runs = [
        run_amtl(
            prob.datafit(),
            prob.alpha,
            SequentialBackend(),
            splitting="douglas-rachford",
            refresh_every=refresh_every,
            max_epochs=25,
            tol=0.0,
            random_state=0,
        )
        for _ in range(2)
    ]
    assert runs[0].info["refresh_every"] == (12 if refresh_every == "auto" else 5)
    assert runs[0].task_stats["staleness_max"].max() >= 1  # batched for real
    _assert_same_runs(*runs, with_time=False)

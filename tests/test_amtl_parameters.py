"""Stopping rules (max_time, max_iter) and the engine's parameters."""

import threading

import numpy as np
import pytest
from _amtl_reference import (
    backend_config,
    reference,
)

from skmtl._amtl import (
    SequentialBackend,
    SimulatedBackend,
    ThreadingBackend,
    arock_relaxation_bound,
    make_backend,
    make_delay_model,
    run_amtl,
)


# --------------------------------------------------------------------------- #
# Stopping rules
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("schedule", ["async", "sync"])
def test_max_time_simulated(schedule):
    prob, *_ = reference("squared")
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        schedule=schedule,
        delay_model=make_delay_model(1.0, prob.T),
        max_time=10.5,
        max_epochs=10**6,
        tol=0.0,
    )
    assert res.stop_reason == "max_time" and not res.converged
    # Stops at max_time on the virtual clock: the replies due at t = 11 are
    # not applied (both schedules: ten rounds of T updates, at t = 1..10).
    assert res.history["time"][-1] == 10.0
    assert res.n_updates == 10 * prob.T
    # One row per epoch (the final state is the last one), never a duplicate.
    assert len(res.history) == 10
    assert res.history["n_updates"][-1] == res.n_updates
    assert np.all(np.diff(res.history["n_updates"]) > 0)


def test_max_time_threading(no_leaked_threads):
    import time

    prob, *_ = reference("logistic")
    start = time.perf_counter()
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        ThreadingBackend(n_jobs=2),
        delay_model=make_delay_model(2e-3, prob.T),
        max_time=0.3,
        max_epochs=10**6,
        tol=0.0,
    )
    assert res.stop_reason == "max_time" and res.n_updates > 0
    assert res.history["time"][-1] <= time.perf_counter() - start
    assert time.perf_counter() - start < 10.0


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("backend_name", ["sequential", "threading", "simulated"])
def test_max_iter(backend_name, schedule, no_leaked_threads):
    prob, *_ = reference("logistic")
    backend, _ = backend_config(backend_name)
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        schedule=schedule,
        max_epochs=3,
        tol=1e-300,
    )
    assert res.stop_reason == "max_iter" and not res.converged
    assert res.n_epochs == 3 and len(res.history) == 3
    if backend_name == "threading" and schedule == "async":
        # Replies arrive in batches: the last one may overshoot the epoch.
        assert 3 * prob.T <= res.n_updates < 4 * prob.T
    else:
        assert res.n_updates == 3 * prob.T
    assert res.history["n_updates"][-1] == res.n_updates


# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #
def test_relaxation_arock_bound():
    assert arock_relaxation_bound(139, 139) == pytest.approx(
        0.9 / (1 + 2 * 139 / np.sqrt(139))
    )
    assert arock_relaxation_bound(139, 139) < 0.05
    assert arock_relaxation_bound(4, 0, c=0.5) == 0.5
    for c in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="c must be in"):
            arock_relaxation_bound(4, 4, c=c)
    prob, *_ = reference("squared")
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        relaxation="arock",
        max_staleness=3,
        max_epochs=3,
        tol=0.0,
    )
    bound = arock_relaxation_bound(prob.T, 3)
    assert res.relaxation == res.relaxation_bound == bound
    np.testing.assert_allclose(res.task_stats["relaxation_mean"], bound)
    res = run_amtl(
        prob.datafit(), prob.alpha, SimulatedBackend(), max_epochs=1, tol=0.0
    )
    assert res.relaxation == 1.0
    assert res.relaxation_bound == arock_relaxation_bound(prob.T, 4 * prob.T)


def test_step_size_auto_is_one_over_L():
    prob, *_ = reference("logistic")
    df = prob.datafit()
    res = run_amtl(df, prob.alpha, SimulatedBackend(), max_epochs=1, tol=0.0)
    assert res.step_size == 1.0 / np.max(df.lipschitz)
    assert res.step_size == pytest.approx(1.0 / prob.lipschitz(), rel=1e-8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(step_size="big"), "step_size"),
        (dict(step_size=0.0), "step_size"),
        (dict(step_size=-1.0), "step_size"),
        (dict(relaxation=0.0), "relaxation"),
        (dict(relaxation=-0.5), "relaxation"),
        (dict(relaxation=2.0), "relaxation"),
        (dict(relaxation="fast"), "relaxation"),
        (dict(max_staleness=-1), "max_staleness"),
        (dict(max_staleness="none"), "max_staleness"),
        (dict(schedule="semi"), "schedule"),
        (dict(max_epochs=2.5), "max_epochs"),
        (dict(max_epochs=True), "max_epochs"),
        (dict(max_time=0.0), "max_time"),
        (dict(max_time=-1), "max_time"),
    ],
)
def test_run_amtl_invalid_parameters(kwargs, match, no_leaked_threads):
    prob, *_ = reference("squared")
    with pytest.raises(ValueError, match=match):
        run_amtl(prob.datafit(), prob.alpha, ThreadingBackend(n_jobs=2), **kwargs)


def test_step_size_must_be_below_two_over_L():
    prob, *_ = reference("squared")
    df = prob.datafit()
    L = float(np.max(df.lipschitz))
    for step in (2.0 / L, 2.5 / L):
        with pytest.raises(ValueError, match=r"step_size must be in \(0, 2/L\)"):
            run_amtl(df, prob.alpha, SequentialBackend(), step_size=step)
    res = run_amtl(
        df, prob.alpha, SequentialBackend(), step_size=1.9 / L, max_epochs=1, tol=0
    )
    assert res.step_size == 1.9 / L


def test_backend_construction():
    assert isinstance(make_backend("auto"), SequentialBackend)
    assert isinstance(make_backend("auto", n_jobs=1), SequentialBackend)
    threaded = make_backend("auto", n_jobs=2)
    assert isinstance(threaded, ThreadingBackend) and threaded.n_jobs == 2
    assert isinstance(make_backend("simulated"), SimulatedBackend)
    inst = SimulatedBackend(compute_time=1.0)
    assert make_backend(inst) is inst
    with pytest.raises(ValueError, match="backend must be one of"):
        make_backend("mpi")
    with pytest.raises(ValueError, match="n_jobs"):
        ThreadingBackend(n_jobs=0)
    prob, *_ = reference("squared")
    for compute in (-1.0, np.nan, [0.1, 0.2]):
        with pytest.raises(ValueError):
            run_amtl(prob.datafit(), prob.alpha, SimulatedBackend(compute_time=compute))


def test_backend_releases_state_after_run(no_leaked_threads):
    """A closed backend keeps no queue, data-fit or reference to the central node."""
    import pickle
    import queue

    prob, *_ = reference("squared")
    for backend in (SequentialBackend(), SimulatedBackend(), ThreadingBackend(2)):
        run_amtl(prob.datafit(), prob.alpha, backend, max_epochs=2, tol=0.0)
        state = vars(backend)
        assert not any(
            isinstance(v, (queue.SimpleQueue, queue.Queue, threading.Thread))
            for v in state.values()
        )
        assert "datafit" not in state and "read" not in state
        pickle.dumps(backend)

"""The dynamic step size and the delay models (offsets, jitter, stragglers)."""

import numpy as np
import pytest
from _amtl_reference import (
    backend_config,
    objective,
    reference,
)

from skmtl._amtl import (
    CallableDelay,
    DelayModel,
    DynamicStep,
    NoDelay,
    SequentialBackend,
    SimulatedBackend,
    make_delay_model,
    run_amtl,
)


# --------------------------------------------------------------------------- #
# Dynamic step
# --------------------------------------------------------------------------- #
def test_dynamic_step_factor_formula():
    ds = DynamicStep(window=3, floor=2.0, max_relaxation=1.2)
    state = ds.new_state(3)
    assert ds.factor(state, 0) == np.log(2.0)  # no delay yet: the floor
    for delay in [1.0, 5.0, 9.0, 31.0]:
        ds.record(state, 0, delay)
    assert ds.factor(state, 0) == pytest.approx(np.log((5 + 9 + 31) / 3), rel=1e-15)
    ds.record(state, 1, 0.5)  # below the floor
    assert ds.factor(state, 1) == np.log(2.0)
    assert ds.factor(state, 2) == np.log(2.0)
    base = 0.1
    assert ds.relaxation(state, 1, base) == pytest.approx(base * np.log(2.0))
    assert ds.relaxation(state, 0, 1.0) == 1.2  # clipped
    # Another logarithm, and the paper's defaults.
    ds2 = DynamicStep(log=np.log2, floor=4.0)
    s2 = ds2.new_state(1)
    assert ds2.factor(s2, 0) == 2.0
    for delay in [16.0] * 7:
        ds2.record(s2, 0, delay)
    assert ds2.factor(s2, 0) == 4.0
    default = DynamicStep()
    assert (default.window, default.floor, default.measure) == (5, 10.0, "staleness")
    assert default.max_relaxation == 1.4
    assert default.factor(default.new_state(1), 0) == pytest.approx(2.302585093)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(window=0), "window"),
        (dict(floor=1.0), "floor"),
        (dict(floor=0.5), "floor"),
        (dict(measure="wallclock"), "measure"),
        (dict(max_relaxation=0.0), "max_relaxation"),
    ],
)
def test_dynamic_step_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DynamicStep(**kwargs)


def test_dynamic_step_time_measure_in_engine():
    """Constant per-task delays and no compute: each task's round trip is its
    offset, so its relaxation is exactly min(base * log(max(offset, floor)), clip)."""
    prob, *_ = reference("squared")
    offsets = np.array([1.0, 12.0, 15.0, 30.0, 60.0])
    base, floor, clip = 0.35, 10.0, 1.4
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        relaxation=base,
        dynamic_step=DynamicStep(measure="time", floor=floor, max_relaxation=clip),
        delay_model=DelayModel(offset=offsets, jitter=None),
        max_staleness=10**6,
        max_epochs=20,
        tol=0.0,
    )
    stats = res.task_stats
    assert np.all(stats["n_updates"] > 0)
    np.testing.assert_allclose(stats["round_trip_mean"], offsets, rtol=1e-15)
    expected = np.minimum(base * np.log(np.maximum(offsets, floor)), clip)
    np.testing.assert_allclose(stats["relaxation_mean"], expected, rtol=1e-12)
    assert expected[-1] == clip  # the clip is exercised
    assert res.relaxation == base  # the reported base relaxation


def test_dynamic_step_staleness_measure_in_engine():
    """Equal delays: staleness t for the first update of task t, then T - 1."""
    prob, *_ = reference("squared")
    T, n, base = prob.T, 10, 0.2
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        relaxation=base,
        dynamic_step=DynamicStep(window=1, floor=1.5),
        delay_model=DelayModel(offset=1.0, jitter=None),
        max_epochs=n,
        tol=0.0,
    )
    first = base * np.log(np.maximum(np.arange(T), 1.5))
    later = base * np.log(T - 1)
    expected = (first + (n - 1) * later) / n
    np.testing.assert_allclose(res.task_stats["relaxation_mean"], expected, rtol=1e-12)


@pytest.mark.parametrize("base, expected", [(0.3, 0.3 * np.log(10.0)), ("auto", 1.4)])
def test_dynamic_step_true_records_relaxation(base, expected):
    """dynamic_step=True is DynamicStep(): staleness 0 on the sequential
    backend, so the factor is log(10) (clipped at 1.4)."""
    prob, *_ = reference("squared")
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SequentialBackend(),
        relaxation=base,
        dynamic_step=True,
        max_epochs=5,
        tol=0.0,
    )
    np.testing.assert_allclose(res.task_stats["relaxation_mean"], expected, rtol=1e-14)
    # Without the dynamic step, the base relaxation is used as is.
    res = run_amtl(
        prob.datafit(), prob.alpha, SequentialBackend(), max_epochs=2, tol=0.0
    )
    np.testing.assert_array_equal(res.task_stats["relaxation_mean"], 1.0)


def test_dynamic_step_reaches_optimum_with_stragglers():
    prob, W_ref, _, F_ref = reference("squared")
    backend, delay = backend_config("simulated-delays")
    df = prob.datafit()
    res = run_amtl(
        df,
        prob.alpha,
        backend,
        relaxation=0.4,
        dynamic_step=DynamicStep(measure="staleness"),
        delay_model=delay,
        tol=1e-8,
        max_epochs=20_000,
        random_state=0,
    )
    assert res.converged
    rel = res.task_stats["relaxation_mean"]
    assert np.all(rel >= 0.4 * np.log(10.0) - 1e-12) and np.all(rel <= 1.4)
    F = objective(df, prob.alpha, res.W, res.b)
    assert abs(F - F_ref) <= 1e-6 * abs(F_ref)


# --------------------------------------------------------------------------- #
# Delay models
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("jitter", ["exponential", "uniform", "lognormal"])
@pytest.mark.parametrize("scale", [None, 0.5])
def test_delay_model_distributions(jitter, scale):
    offset = 2.0
    model = DelayModel(offset=offset, jitter=jitter, scale=scale)
    rng = np.random.RandomState(0)
    draws = np.array([model.sample(0, rng) for _ in range(20_000)])
    mean_jitter = offset if scale is None else scale
    assert draws.min() >= offset
    assert abs(draws.mean() - (offset + mean_jitter)) <= 0.03 * mean_jitter
    if jitter == "uniform":
        assert draws.max() <= offset + 2 * mean_jitter
    if jitter == "exponential":  # std equals the mean
        assert abs(draws.std() - mean_jitter) <= 0.05 * mean_jitter


def test_delay_model_per_task_offsets_and_stragglers():
    offsets = [0.1, 0.1, 5.0]
    rng = np.random.RandomState(0)
    fixed = DelayModel(offset=offsets, jitter=None).check(3)
    assert [fixed.sample(t, rng) for t in range(3)] == offsets
    model = DelayModel(offset=offsets, jitter="exponential", scale=[0.01, 0.02, 1.0])
    means = [np.mean([model.sample(t, rng) for _ in range(5000)]) for t in range(3)]
    np.testing.assert_allclose(means, [0.11, 0.12, 6.0], rtol=0.05)
    assert means[2] > 40 * means[0]  # the straggler


def test_delay_model_invalid():
    with pytest.raises(ValueError, match="jitter"):
        DelayModel(jitter="gamma")
    for offset in (-1.0, np.nan, np.inf, [0.1, -0.1]):
        with pytest.raises(ValueError, match="offset"):
            DelayModel(offset=offset)
    for scale in (-0.5, np.nan, [0.1, -1.0]):
        with pytest.raises(ValueError, match="scale"):
            DelayModel(offset=1.0, scale=scale)
    with pytest.raises(ValueError, match="sigma"):
        DelayModel(jitter="lognormal", sigma=-1.0)
    with pytest.raises(ValueError, match="offset has 2 entries for 3 tasks"):
        DelayModel(offset=[1.0, 2.0]).check(3)
    with pytest.raises(ValueError, match="scale has 2 entries for 3 tasks"):
        DelayModel(offset=1.0, scale=[1.0, 2.0]).check(3)
    with pytest.raises(ValueError, match="offset has 2 entries"):
        make_delay_model(DelayModel(offset=[1.0, 2.0]), 5)
    # run_amtl checks a delay model handed to it directly, too.
    prob, *_ = reference("squared")
    for offsets in ([1.0, 2.0], np.ones(prob.T + 1)):
        with pytest.raises(ValueError, match="entries for 5 tasks"):
            run_amtl(
                prob.datafit(),
                prob.alpha,
                SimulatedBackend(),
                delay_model=DelayModel(offset=offsets),
            )


def test_make_delay_model_and_callables():
    rng = np.random.RandomState(0)
    assert isinstance(make_delay_model(None, 3), NoDelay)
    assert make_delay_model(None, 3).sample(0, rng) == 0.0
    const = make_delay_model(0.25, 3)
    assert [const.sample(t, rng) for t in range(3)] == [0.25] * 3
    func = make_delay_model(lambda t, rng: 0.1 * (t + 1), 3)
    assert isinstance(func, CallableDelay)
    assert func.sample(2, rng) == pytest.approx(0.3)

    class Duck:
        def sample(self, t, rng):
            return 1.0

    duck = Duck()
    assert make_delay_model(duck, 3) is duck
    for bad in (-0.1, "slow", True, [0.1]):
        with pytest.raises(ValueError, match="delay"):
            make_delay_model(bad, 3)
    for value in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="delay callable returned"):
            CallableDelay(lambda t, rng, v=value: v).sample(0, rng)


@pytest.mark.parametrize("compute", [0.0, 0.25])
def test_simulated_sync_time_is_rounds_times_slowest(compute):
    """SMTL waits for the slowest task every round: time after k rounds is
    k * max_t (compute + delay_t), exactly."""
    prob, *_ = reference("squared")
    k = 9
    delays = CallableDelay(lambda t, rng: 0.5 * (t + 1))
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(compute_time=compute),
        schedule="sync",
        delay_model=delays,
        max_epochs=k,
        tol=0.0,
    )
    round_time = compute + 0.5 * prob.T
    np.testing.assert_array_equal(res.history["time"], round_time * np.arange(1, k + 1))
    np.testing.assert_allclose(
        res.task_stats["round_trip_mean"], compute + 0.5 * np.arange(1, prob.T + 1)
    )


def test_simulated_constant_delay_time():
    prob, *_ = reference("squared")
    D, k = 0.5, 11
    for schedule in ("sync", "async"):
        res = run_amtl(
            prob.datafit(),
            prob.alpha,
            SimulatedBackend(),
            schedule=schedule,
            delay_model=make_delay_model(D, prob.T),
            max_epochs=k,
            tol=0.0,
        )
        assert res.history["time"][-1] == k * D
        np.testing.assert_array_equal(res.task_stats["round_trip_max"], D)


def test_simulated_stragglers_update_less_often():
    """Async: each task updates at its own pace (per-task counts are reported)."""
    prob, *_ = reference("squared")
    offsets = np.array([1.0, 1.0, 2.0, 2.0, 8.0])
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SimulatedBackend(),
        delay_model=DelayModel(offset=offsets, jitter=None),
        max_staleness=10**6,
        max_epochs=40,
        tol=0.0,
    )
    elapsed = res.history["time"][-1]
    counts = res.task_stats["n_updates"]
    assert np.all(np.abs(counts - elapsed / offsets) <= 1)
    assert counts[0] >= 7 * counts[-1]

"""Tests of skmtl.experiments and of ``python -m skmtl demo``."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skmtl.experiments import (
    JITTERS,
    compare_schedules,
    dynamic_step_table,
    expected_wait_ratio,
    format_jitter_table,
    format_table,
    jitter_delay,
    jitter_table,
    make_datafit,
    objective_value,
    paper_delay,
    paper_settings,
    reference_objective,
    run_centralized,
    run_schedule,
    synthetic_problem,
    time_to_target,
)
from skmtl.penalties._trace_norm import trace_norm

SMALL = {"n_samples": 30, "n_features": 8, "rank": 1}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def problem():
    return synthetic_problem(4, random_state=0, **SMALL)


def test_synthetic_problem_is_the_papers_setting():
    prob = synthetic_problem(5, random_state=0)
    datafit = prob["datafit"]
    assert (datafit.n_tasks, datafit.n_features) == (5, 50)
    assert not datafit.fit_intercept
    assert np.all(datafit.blocks.scales == 1.0)  # 'sum' scaling
    assert np.linalg.matrix_rank(prob["W_true"]) == 3
    assert prob["alpha"] == pytest.approx(0.1 * prob["alpha_max"])
    assert prob["f_star"] < prob["f_zero"]


def test_reference_objective_is_optimal(problem):
    datafit, alpha = problem["datafit"], problem["alpha"]
    f_star = problem["f_star"]
    assert reference_objective(datafit, alpha) == pytest.approx(f_star, rel=1e-10)
    rng = np.random.RandomState(0)
    W = run_centralized(datafit, alpha, tol=1e-10)["W"]
    for _ in range(5):  # no nearby point does better
        Wp = W + 1e-3 * rng.randn(*W.shape)
        assert objective_value(datafit, alpha, Wp) >= f_star
    assert objective_value(datafit, alpha, W) == pytest.approx(
        datafit.value(W) + alpha * trace_norm(W)
    )


def test_make_datafit_matches_the_estimators():
    from skmtl import TraceNormMTLRegressor
    from skmtl.datasets import make_low_rank_regression

    X, y, _ = make_low_rank_regression(
        40, 5, 3, rank=1, return_long=True, random_state=0
    )
    datafit = make_datafit(X, y)
    est = TraceNormMTLRegressor(alpha=0.5, task_column=-1, tol=1e-10).fit(X, y)
    f_est = objective_value(datafit, 0.5, est.coef_.T)
    assert f_est == pytest.approx(reference_objective(datafit, 0.5), rel=1e-8)
    logistic = make_datafit(X, (y > 0).astype(int), loss="logistic")
    assert logistic.has_free_intercept
    with pytest.raises(ValueError, match="loss"):
        make_datafit(X, y, loss="hinge")


def test_paper_delay():
    model = paper_delay(5.0)
    rng = np.random.RandomState(0)
    draws = np.array([model.sample(0, rng) for _ in range(4000)])
    assert draws.min() >= 5.0
    assert draws.mean() == pytest.approx(10.0, rel=0.05)
    slow = paper_delay(2.0, 4, stragglers=2)
    assert slow.offset == [20.0, 20.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="stragglers"):
        paper_delay(2.0, 4, stragglers=5)
    with pytest.raises(ValueError, match="stragglers"):
        paper_delay(2.0, None, stragglers=1)


def test_time_to_target_takes_the_first_check():
    h = np.zeros(4, dtype=[("time", float), ("n_updates", int), ("objective", float)])
    h["time"] = [1.0, 2.0, 3.0, 4.0]
    h["n_updates"] = [3, 6, 9, 12]
    h["objective"] = [2.0, 1.00005, 1.2, 1.0]  # not monotone: the first hit counts
    assert time_to_target(h, 1.0) == {"reached": True, "time": 2.0, "n_updates": 6}
    assert time_to_target(h, 1.0, rel_gap=1e-6)["time"] == 4.0
    miss = time_to_target(h, 0.5)
    assert not miss["reached"] and np.isnan(miss["time"])


@pytest.mark.parametrize("schedule", ["async", "sync"])
def test_run_schedule_simulated(problem, schedule):
    datafit, alpha = problem["datafit"], problem["alpha"]
    kwargs = dict(schedule=schedule, delay=paper_delay(5.0), f_star=problem["f_star"])
    a = run_schedule(datafit, alpha, **kwargs)
    b = run_schedule(datafit, alpha, **kwargs)
    assert a["reached"] and a["stop_reason"] == "converged"
    assert a["backend"] == "simulated"
    assert a["final_gap"] < 1e-6
    # deterministic on the simulated clock
    assert a["time_to_target"] == b["time_to_target"]
    np.testing.assert_array_equal(a["history"]["objective"], b["history"]["objective"])
    assert a["n_updates"] == a["updates_per_task"].sum()
    assert a["relaxation_mean"] == pytest.approx(1.0)
    assert a["round_trip_mean"] >= 5.0
    if schedule == "sync":
        assert a["staleness_max"] == 0
        assert np.all(a["updates_per_task"] == a["updates_per_task"][0])
    else:
        assert 0 < a["staleness_max"] <= 4 * datafit.n_tasks


def test_run_schedule_threading_and_passthrough(problem):
    res = run_schedule(
        problem["datafit"],
        problem["alpha"],
        backend="threading",
        delay=paper_delay(0.0005),
        f_star=problem["f_star"],
        relaxation=1.4,
        max_staleness=6,
    )
    assert res["backend"] == "threading"
    assert res["reached"]
    assert res["relaxation"] == 1.4
    assert res["staleness_max"] <= 6
    assert res["updates_per_second"] > 0


def test_run_centralized(problem):
    res = run_centralized(
        problem["datafit"], problem["alpha"], f_star=problem["f_star"]
    )
    assert res["converged"]
    assert res["certified_gap"] <= 1e-4
    assert 0 <= res["final_gap"] <= 1e-4
    assert res["time"] > 0


def test_compare_schedules_side_by_side():
    cmp = compare_schedules(4, seeds=(0, 1), problem_kwargs=SMALL, tol=1e-6)
    assert cmp["n_seeds"] == 2
    for v in cmp["variants"].values():
        assert v["reached"] == 2
        assert len(v["runs"]) == 2
    assert cmp["variants"]["SMTL"]["staleness_max"] == 0
    per_seed = cmp["ratio_runs"]["AMTL/SMTL"]
    assert cmp["ratios"]["AMTL/SMTL"] == pytest.approx(np.median(per_seed))
    # SMTL waits for the slowest of T exponential delays every round
    assert cmp["ratios"]["AMTL/SMTL"] < 1
    # a larger relaxation helps both schedules
    assert cmp["variants"]["AMTL 1.4"]["time"] < cmp["variants"]["AMTL"]["time"]
    assert cmp["variants"]["SMTL 1.4"]["time"] < cmp["variants"]["SMTL"]["time"]


def test_compare_schedules_stragglers_slow_smtl_down():
    base = compare_schedules(4, seeds=(0,), problem_kwargs=SMALL, tol=1e-6)
    slow = compare_schedules(
        4, stragglers=1, seeds=(0,), problem_kwargs=SMALL, tol=1e-6
    )
    assert slow["variants"]["SMTL"]["time"] > 3 * base["variants"]["SMTL"]["time"]
    counts = slow["variants"]["AMTL"]["runs"][0]["updates_per_task"]
    assert counts[0] < counts[1:].min()  # the straggler falls behind


def test_dynamic_step_table():
    tab = dynamic_step_table(3, 5.0, seeds=(0,), problem_kwargs=SMALL)
    assert tab["base"] < 0.1  # ARock's bound
    # a larger relaxation after 10T updates: closer to F*
    assert tab["f_star"] < tab["with_staleness"] < tab["without"] < tab["f_zero"]
    # with staleness below the floor of 10 the factor is log(10) for every task,
    # so the dynamic step is exactly a constant relaxation
    assert tab["relax_staleness"] == pytest.approx(tab["base"] * np.log(10.0))
    assert tab["const_staleness"] == pytest.approx(tab["with_staleness"])
    one = dynamic_step_table(3, 5.0, base=1.0, seeds=(0,), problem_kwargs=SMALL)
    assert one["relax_time"] == pytest.approx(1.4)  # clipped at max_relaxation


def test_jitter_delay_models():
    rng = np.random.RandomState(0)
    for jitter in JITTERS:
        model = jitter_delay(jitter, 2.0)
        draws = np.array([model.sample(0, rng) for _ in range(4000)])
        assert draws.min() >= 2.0
        # offset + jitter of mean offset (no jitter for 'constant')
        expected = 2.0 if jitter == "constant" else 4.0
        assert draws.mean() == pytest.approx(expected, rel=0.05)
    assert jitter_delay("constant", 2.0).jitter is None
    assert jitter_delay("exponential", 2.0).jitter == "exponential"
    slow = jitter_delay("uniform", 2.0, 3, stragglers=1)
    assert slow.offset == [20.0, 2.0, 2.0] and slow.jitter == "uniform"
    with pytest.raises(ValueError, match="jitter must be one of"):
        jitter_delay("gamma", 2.0)
    with pytest.raises(ValueError, match="stragglers"):
        jitter_delay("uniform", 2.0, 3, stragglers=4)


@pytest.mark.parametrize("jitter", JITTERS)
@pytest.mark.parametrize("T", [1, 5, 10])
def test_expected_wait_ratio_against_sampled_delays(jitter, T):
    # Mean round trip over the mean of the slowest of T round trips, sampled
    # from the delay model that the experiments use.
    model, rng = jitter_delay(jitter, 1.0), np.random.RandomState(0)
    draws = np.array([[model.sample(0, rng) for _ in range(T)] for _ in range(4000)])
    sampled = draws.mean() / draws.max(axis=1).mean()
    assert expected_wait_ratio(jitter, T) == pytest.approx(sampled, rel=0.03)


def test_expected_wait_ratio_closed_forms():
    harmonic = sum(1.0 / k for k in range(1, 16))
    assert expected_wait_ratio("exponential", 15) == pytest.approx(2 / (1 + harmonic))
    assert expected_wait_ratio("uniform", 15) == pytest.approx(2 / (1 + 30 / 16))
    assert expected_wait_ratio("constant", 15) == 1.0
    assert expected_wait_ratio("lognormal", 1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_tasks"):
        expected_wait_ratio("uniform", 0)


def test_paper_settings_are_explicit():
    assert paper_settings(7) == {"splitting": "forward-backward", "max_staleness": 28}


def test_jitter_table_shape_and_values():
    # Deterministic: the simulated clock with fixed seeds.
    rows = jitter_table(
        (10,), ("constant", "exponential"), stragglers=(0, 1), seeds=(0,),
        problem_kwargs=SMALL,
    )  # fmt: skip
    assert [(r["jitter"], r["stragglers"], r["T"]) for r in rows] == [
        ("constant", 0, 10), ("constant", 1, 10),
        ("exponential", 0, 10), ("exponential", 1, 10),
    ]  # fmt: skip
    for r in rows:
        assert r["reached"] == r["n_seeds"] == 1
        assert r["amtl"] > 0 and r["smtl"] > 0
        assert r["ratio"] == pytest.approx(r["amtl"] / r["smtl"])
        # SMTL applies T updates per round; AMTL's updates are stale
        assert r["updates"] >= 1.0
    const, const_slow, expo, expo_slow = rows
    # Under exponential jitter SMTL waits for the slowest of T messages.
    assert expo["ratio"] < 0.9
    assert expo["ratio"] >= expo["wait"] == pytest.approx(expected_wait_ratio(
        "exponential", 10))  # fmt: skip
    # Constant delays: nobody waits, and the stale updates make AMTL slower.
    assert const["wait"] == 1.0 and const["ratio"] > 1.0
    # On the simulated clock with constant delays SMTL's time is rounds x offset.
    assert const["smtl"] % 5.0 == pytest.approx(0.0)
    # A straggler makes SMTL wait every round; AMTL goes on without it.
    assert const_slow["wait"] is None and expo_slow["wait"] is None
    assert const_slow["ratio"] < 0.7 and expo_slow["ratio"] < expo["ratio"]
    text = format_jitter_table(rows).splitlines()
    assert "AMTL/SMTL" in text[0] and "wait ratio" in text[0]
    assert len(text) == 2 + len(rows)
    assert text[2].split("|")[-1].strip() == "SMTL"  # constant: SMTL is faster
    assert text[4].split("|")[-1].strip() == "AMTL"
    with pytest.raises(ValueError, match="jitter must be one of"):
        jitter_table((3,), ("none",))


def test_format_table():
    rows = [
        {"name": "a", "x": 1.23456, "n": 3},
        {"name": "bb", "x": float("nan"), "n": None},
    ]
    text = format_table(
        rows, [("name", "name", "s"), ("x", "x", ".2f"), ("n", "n", "d")], title="T"
    )
    lines = text.splitlines()
    assert lines[0] == "T"
    assert lines[1] == "name |    x | n"
    assert lines[3] == "   a | 1.23 | 3"
    assert lines[4] == "  bb |  n/a | -"
    assert len({len(line) for line in lines[1:]}) == 1


def _run_module(*args, timeout):
    return subprocess.run(
        [sys.executable, "-m", "skmtl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.mark.timeout(120)
def test_demo_quick_runs():
    proc = _run_module("demo", "--quick", timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "time to 1e-4 (s)" in out
    assert "AMTL/SMTL same relax." in out
    assert out.count("SMTL |") >= 3 and out.count("AMTL |") >= 3
    assert "AsyncTraceNormMTLRegressor on real threads" in out
    assert "Centralized TraceNormMTLRegressor" in out
    assert "demo finished" in out


@pytest.mark.timeout(60)
def test_module_help():
    proc = _run_module("--help", timeout=30)
    assert proc.returncode == 0
    assert "demo" in proc.stdout


@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_make_datafit_does_not_read_the_callers_X_later(loss, shuffle):
    """Validation leaves the copy of X into task order to the first use; the
    data-fit that make_datafit returns must have made it: changing X after the
    call changes nothing."""
    rng = np.random.default_rng(0)
    tasks = np.repeat([0.0, 1.0, 2.0], 30)
    if shuffle:
        tasks = rng.permutation(tasks)
    X = np.column_stack([rng.normal(size=(90, 4)), tasks])
    y = X[:, 0] + 0.1 * rng.normal(size=90)
    if loss == "logistic":
        y = np.where(y > 0, 1, -1)
    datafit = make_datafit(X, y, loss=loss)
    reference = make_datafit(X.copy(), y, loss=loss)
    X[:, :4] *= 3.0
    W = rng.normal(size=(4, 3))
    b = np.zeros(3)
    assert datafit.value(W, b) == reference.value(W, b)
    G, G_ref = datafit.gradient(W, b), reference.gradient(W, b)
    for part, part_ref in zip(G, G_ref, strict=True):  # (G, intercepts) or G
        np.testing.assert_array_equal(part, part_ref)

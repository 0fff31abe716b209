"""Tests of skmtl.experiments and of ``python -m skmtl demo``."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skmtl.experiments import (
    compare_schedules,
    dynamic_step_table,
    format_table,
    make_datafit,
    objective_value,
    paper_delay,
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

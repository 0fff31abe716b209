"""Per-task convergence monitoring and distillation (skmtl.monitoring)."""

import pickle
import warnings
from collections import deque

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from skmtl import (
    AsyncTraceNormMTLClassifier,
    AsyncTraceNormMTLRegressor,
    TaskMonitor,
    TraceNormMTLClassifier,
    TraceNormMTLRegressor,
)
from skmtl._amtl import SequentialBackend, run_amtl
from skmtl._amtl._periods import ActivationPeriods
from skmtl.datafits._losses import LogisticLoss, SquaredLoss, TaskBlocks
from skmtl.datasets import make_low_rank_regression
from skmtl.monitoring._monitor import (
    ConvergenceDetector,
    distill_soft_targets,
    distill_targets,
    split_validation,
    task_scores,
)
from skmtl.solvers._fista import fista, relative_gap, solve
from skmtl.utils._validation import validate_fit_data


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
def _uneven_regression(seed=0, sizes=(15, 20, 30, 60, 150), noise=3.0):
    X, y, _ = make_low_rank_regression(
        n_tasks=len(sizes),
        n_features=12,
        rank=2,
        task_sizes=list(sizes),
        noise=noise,
        return_long=True,
        random_state=seed,
    )
    return X, y


def _classification(seed=0, n=400, n_tasks=4):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    task = rng.randint(n_tasks, size=n)
    margin = X[:, 0] + 0.5 * task * X[:, 1] + 0.8 * rng.randn(n)
    return np.column_stack([X, task]), (margin > 0).astype(int)


def _blocks(rng, sizes=(30, 40, 25), d=4, classifier=False):
    Xs = [rng.randn(n, d) for n in sizes]
    if classifier:
        ys = [np.where(rng.rand(n) > 0.5, 1.0, -1.0) for n in sizes]
    else:
        ys = [X @ rng.randn(d) + rng.randn(X.shape[0]) for X in Xs]
    sw = [rng.rand(n) + 0.5 for n in sizes]
    return TaskBlocks(Xs, ys, sw, np.array([s.sum() for s in sw]))


# --------------------------------------------------------------------------- #
# The monitor's parameters
# --------------------------------------------------------------------------- #
def test_monitor_params_clone_and_nested_set_params():
    mon = TaskMonitor(policy="distill", patience=3)
    assert repr(mon) == "TaskMonitor(patience=3, policy='distill')"
    est = TraceNormMTLRegressor(task_monitor=mon)
    assert est.get_params()["task_monitor__patience"] == 3
    est.set_params(task_monitor__patience=7)
    assert mon.patience == 7
    twin = clone(est)
    assert twin.task_monitor is not mon
    assert twin.task_monitor.get_params() == mon.get_params()
    with pytest.raises(ValueError, match="Invalid parameter"):
        mon.set_params(nope=1)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"policy": "stop"}, "policy"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"patience": 0}, "patience"),
        ({"distill_weight": 1.5}, "distill_weight"),
        ({"metric": "accuracy"}, "does not fit the squared loss"),
    ],
)
def test_monitor_bad_params(params, match):
    X, y = _uneven_regression()
    est = TraceNormMTLRegressor(task_column=-1, task_monitor=TaskMonitor(**params))
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_estimator_rejects_a_non_monitor():
    with pytest.raises(ValueError, match="task_monitor"):
        TraceNormMTLRegressor(task_monitor="yes").fit(np.eye(3), np.arange(3.0))


# --------------------------------------------------------------------------- #
# Detection on constructed curves
# --------------------------------------------------------------------------- #
def test_detect_never_flags_a_curve_that_keeps_improving():
    mon = TaskMonitor(warm_up=2, patience=3, min_improvement=1e-3)
    assert mon.detect(10.0 * 0.9 ** np.arange(50)) == -1


def test_detect_flat_curve_after_warm_up():
    # The reference is set at check warm_up (3); patience 2 more checks.
    mon = TaskMonitor(warm_up=3, patience=2, min_improvement=0.0)
    assert mon.detect([9.0, 8.0, 7.0, 5.0, 5.0, 5.0, 5.0]) == 5


def test_detect_overfitting_curve_and_best_check():
    curve = np.r_[np.linspace(10, 2, 9), np.linspace(2.5, 6, 10)]  # min at check 8
    det = ConvergenceDetector(1, warm_up=2, patience=4, min_improvement=1e-3)
    flagged = [k for k, s in enumerate(curve) if det.update([s])[1][0]]
    assert flagged == [12]
    assert det.best_check[0] == 8 and det.best_score[0] == 2.0


def test_warm_up_ignores_early_oscillations_and_patience_matters():
    # Accelerated methods oscillate early: a lucky dip at check 1.
    curve = [10.0, 1.0, 12.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0]
    assert TaskMonitor(warm_up=0, patience=2).detect(curve) == 3
    assert TaskMonitor(warm_up=3, patience=2).detect(curve) == -1
    assert TaskMonitor(warm_up=0, patience=1).detect([5.0, 6.0, 4.0]) == 1


def test_min_improvement_is_relative_and_accuracy_is_maximized():
    slow = 100.0 - 0.01 * np.arange(20)  # 1e-4 relative per check
    assert TaskMonitor(warm_up=0, patience=3, min_improvement=1e-3).detect(slow) == 3
    assert TaskMonitor(warm_up=0, patience=3, min_improvement=0.0).detect(slow) == -1
    acc = [0.5, 0.6, 0.7, 0.7, 0.7, 0.7]
    mon = TaskMonitor(warm_up=0, patience=2, min_improvement=0.0)
    assert mon.detect(acc, greater_is_better=True) == 4
    assert mon.detect(acc) == 2  # read as an error, 0.6 > 0.5 is no improvement


def test_nan_scores_never_converge():
    det = ConvergenceDetector(2, warm_up=0, patience=1, min_improvement=0.0)
    for _ in range(5):
        det.update([np.nan, 1.0])
    assert_array_equal(det.converged, [False, True])
    assert np.isnan(det.best_score[0])


# --------------------------------------------------------------------------- #
# Validation split
# --------------------------------------------------------------------------- #
def test_split_is_stratified_deterministic_and_skips_small_tasks():
    rng = np.random.RandomState(0)
    y_big = np.r_[np.ones(40), -np.ones(10)]
    blocks = TaskBlocks(
        [rng.randn(50, 2), rng.randn(3, 2)],
        [y_big, np.array([1.0, -1.0, 1.0])],
        [np.ones(50), np.ones(3)],
        np.array([50.0, 3.0]),
    )
    train, val = split_validation(blocks, 0.2, 0, classifier=True, mean_scaling=True)
    assert val[1] is None and train.ys[1] is blocks.ys[1]
    assert_array_equal(np.sort(val[0][1]), np.r_[-np.ones(2), np.ones(8)])
    assert train.ys[0].size == 40 and train.scales[0] == 40.0
    _, again = split_validation(blocks, 0.2, 0, classifier=True, mean_scaling=True)
    assert_array_equal(val[0][0], again[0][0])


def test_shared_design_split_uses_zero_weights():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    blocks = TaskBlocks(
        [X] * 2,
        [rng.randn(40), rng.randn(40)],
        [np.ones(40)] * 2,
        np.array([40.0, 40.0]),
        shared=True,
    )
    train, val = split_validation(blocks, 0.25, 0, classifier=False, mean_scaling=True)
    assert all(Xt is X for Xt in train.Xs)
    for t in range(2):
        assert (train.sample_weights[t] == 0).sum() == 10 == val[t][0].shape[0]
        assert train.scales[t] == 30.0


def test_small_tasks_warn_and_are_never_flagged():
    X, y = _uneven_regression(sizes=(4, 30, 60))
    mon = TaskMonitor(warm_up=0, patience=1, policy="snapshot", random_state=0)
    with pytest.warns(UserWarning, match="too small"):
        est = TraceNormMTLRegressor(alpha=0.01, task_column=-1, task_monitor=mon)
        est.fit(X, y)
    diag = est.task_convergence_
    assert_array_equal(diag["monitored"], [False, True, True])
    assert not diag["converged"][0] and diag["converged_at"][0] == -1
    assert diag["policy"][0] == "unmonitored"


# --------------------------------------------------------------------------- #
# Distillation losses: values and gradients
# --------------------------------------------------------------------------- #
def test_squared_distill_targets_are_a_new_task_block():
    rng = np.random.RandomState(0)
    for use_gram in (True, False):
        blocks = _blocks(rng)
        df = SquaredLoss(blocks, use_gram=use_gram)
        w_snap, b_snap = rng.randn(4), 0.3
        y_new = distill_targets(blocks.ys[1], blocks.Xs[1], w_snap, b_snap, 0.7)
        assert_allclose(
            y_new, 0.3 * blocks.ys[1] + 0.7 * (blocks.Xs[1] @ w_snap + b_snap)
        )
        df.set_task_targets(1, y_new)
        ref_blocks = TaskBlocks(
            list(blocks.Xs), list(blocks.ys), blocks.sample_weights, blocks.scales
        )
        ref = SquaredLoss(ref_blocks, use_gram=use_gram)
        W = rng.randn(4, 3)
        assert df.value(W) == ref.value(W)
        assert_array_equal(df.gradient(W)[0], ref.gradient(W)[0])
        assert_array_equal(df.intercept(W), ref.intercept(W))


def test_squared_distill_weight_zero_changes_nothing():
    rng = np.random.RandomState(1)
    blocks = _blocks(rng)
    df = SquaredLoss(blocks)
    W = rng.randn(4, 3)
    v, g, Q = df.value(W), df.gradient(W)[0], df.Q.copy()
    y0 = distill_targets(blocks.ys[0], blocks.Xs[0], rng.randn(4), 1.0, 0.0)
    df.set_task_targets(0, y0)
    assert df.value(W) == v
    assert_array_equal(df.gradient(W)[0], g)
    assert_array_equal(df.Q, Q)


def _soft_datafit(rng, weight, temperature, fit_intercept=True):
    blocks = _blocks(rng, classifier=True)
    df = LogisticLoss(blocks, fit_intercept=fit_intercept)
    for t in (0, 2):
        q = distill_soft_targets(blocks.Xs[t], rng.randn(4), 0.2, temperature)
        df.set_task_soft_targets(t, q, weight, temperature)
    return df


def test_soft_target_loss_value_matches_its_formula():
    rng = np.random.RandomState(0)
    a, tau = 0.6, 2.0
    df = _soft_datafit(rng, a, tau)
    W, b = rng.randn(4, 3), rng.randn(3)
    X, y, s = df.blocks.Xs[0], df.blocks.ys[0], df.blocks.sample_weights[0]
    q = df.soft_targets[0][0]
    m = X @ W[:, 0] + b[0]
    p = 1 / (1 + np.exp(-m / tau))
    cross_entropy = -(q * np.log(p) + (1 - q) * np.log(1 - p))
    expected = s @ ((1 - a) * np.log1p(np.exp(-y * m)) + a * tau**2 * cross_entropy)
    got = df.task_values(W, b)[0] * df.blocks.scales[0]
    assert_allclose(got, expected, rtol=1e-12)
    # Hard-label tasks are untouched.
    hard = LogisticLoss(df.blocks)
    assert df.task_values(W, b)[1] == hard.task_values(W, b)[1]


@pytest.mark.parametrize("a, tau", [(1.0, 1.0), (0.5, 3.0), (1.0, 0.5)])
def test_soft_target_gradients_finite_differences(a, tau):
    rng = np.random.RandomState(2)
    df = _soft_datafit(rng, a, tau)
    W, b = rng.randn(4, 3), rng.randn(3)
    G, gb = df.gradient(W, b)
    eps = 1e-6
    for t in range(3):
        for i in range(4):
            E = np.zeros_like(W)
            E[i, t] = eps
            fd = (df.value(W + E, b) - df.value(W - E, b)) / (2 * eps)
            assert_allclose(G[i, t], fd, rtol=1e-6, atol=1e-8)
        e = np.zeros(3)
        e[t] = eps
        fd = (df.value(W, b + e) - df.value(W, b - e)) / (2 * eps)
        assert_allclose(gb[t], fd, rtol=1e-6, atol=1e-8)


def test_soft_target_gradient_is_temperature_scaled():
    # Pure distillation: dl/dm = tau (sigmoid(m / tau) - q) per sample.
    rng = np.random.RandomState(3)
    tau = 4.0
    df = _soft_datafit(rng, 1.0, tau, fit_intercept=False)
    w = rng.randn(4)
    X, s, scale = df.blocks.Xs[0], df.blocks.sample_weights[0], df.blocks.scales[0]
    q = df.soft_targets[0][0]
    m = X @ w
    expected = X.T @ (s * tau * (1 / (1 + np.exp(-m / tau)) - q)) / scale
    assert_allclose(df.task_gradient(0, w)[0], expected, rtol=1e-12)


def test_soft_target_weight_zero_is_the_hard_loss():
    rng = np.random.RandomState(4)
    hard = LogisticLoss(_blocks(rng, classifier=True))
    soft = LogisticLoss(hard.blocks)
    soft.set_task_soft_targets(1, np.full(40, 0.3), 0.0, 2.0)
    W, b = rng.randn(4, 3), rng.randn(3)
    assert_allclose(soft.value(W, b), hard.value(W, b), rtol=1e-14)
    assert_allclose(soft.gradient(W, b)[0], hard.gradient(W, b)[0], rtol=1e-13)


def test_soft_target_duality_gap_certifies_and_bounds():
    rng = np.random.RandomState(5)
    df = _soft_datafit(rng, 0.7, 2.0)
    alpha = 0.02
    res = fista(df, alpha, tol=1e-9, max_iter=20_000)
    assert res.converged
    f_star = df.value(res.W, res.b) + alpha * np.linalg.svd(res.W)[1].sum()
    # Anywhere else, the gap bounds the suboptimality (a valid dual bound).
    for _ in range(5):
        W = res.W + 0.1 * rng.randn(*res.W.shape)
        gap, primal, b = relative_gap(df, W, res.b + 0.1 * rng.randn(3), alpha)
        assert gap * primal >= primal - f_star - 1e-12
    # The intercepts solve their own optimality condition; the prox is exact.
    b_opt = df.optimal_intercept(res.W, np.zeros(3))
    assert_allclose(df.gradient(res.W, b_opt)[1], 0.0, atol=1e-10)
    x, xb = rng.randn(4), 0.5
    w, bt = df.task_prox(0, x, xb, step_size=0.7)
    g, gb = df.task_gradient(0, w, bt)
    assert_allclose(g + (w - x) / 0.7, 0.0, atol=1e-9)
    assert_allclose(gb + (bt - xb) / 0.7, 0.0, atol=1e-9)


# --------------------------------------------------------------------------- #
# Centralized estimators
# --------------------------------------------------------------------------- #
def test_option_off_is_the_plain_solver_bit_for_bit():
    X, y = _uneven_regression()
    est = TraceNormMTLRegressor(alpha=0.05, task_column=-1).fit(X, y)
    ref = TraceNormMTLRegressor(alpha=0.05, task_column=-1)
    data = validate_fit_data(ref, X, y)
    res = solve(ref._make_datafit(data.blocks), 0.05, tol=ref.tol)
    assert_array_equal(est.coef_, res.W.T)
    assert not hasattr(est, "task_convergence_")


def test_distill_weight_zero_equals_plain_training():
    # A 4-row task is never monitored, so neither fit stops before tol.
    X, y = _uneven_regression(sizes=(4, 20, 30, 80))
    fits = {}
    for policy in ("continue", "distill"):
        mon = TaskMonitor(
            policy=policy,
            distill_weight=0.0,
            warm_up=1,
            patience=2,
            check_every=5,
            random_state=0,
        )
        est = TraceNormMTLRegressor(alpha=0.01, task_column=-1, task_monitor=mon)
        with pytest.warns(UserWarning, match="too small"):
            fits[policy] = est.fit(X, y)
    distilled = fits["distill"].task_convergence_
    assert distilled["converged"][1:].any()
    assert set(distilled["policy"][distilled["converged"]]) == {"distill"}
    assert_array_equal(fits["distill"].coef_, fits["continue"].coef_)
    assert_array_equal(fits["distill"].intercept_, fits["continue"].intercept_)


def test_snapshot_returns_each_tasks_best_columns():
    X_all, y_all = _uneven_regression(seed=1)
    held = np.random.RandomState(0).rand(X_all.shape[0]) < 0.3
    X, y, X_val, y_val = X_all[~held], y_all[~held], X_all[held], y_all[held]
    mon = TaskMonitor(policy="snapshot", warm_up=2, patience=3, check_every=5)
    est = TraceNormMTLRegressor(alpha=0.005, task_column=-1, task_monitor=mon)
    est.fit(X, y, X_val=X_val, y_val=y_val)
    n_iter = est.n_iter_
    # Reference: plain FISTA on the same data, scored at the same checks.
    ref = TraceNormMTLRegressor(alpha=0.005, task_column=-1)
    datafit = ref._make_datafit(validate_fit_data(ref, X, y).blocks)
    from skmtl.monitoring._hooks import _given_validation

    val = _given_validation(est, validate_fit_data(ref, X, y), X_val, y_val, False)
    snaps = []

    def record(it, W, b):
        if it % 5 == 0 or it == n_iter:
            snaps.append((W.copy(), task_scores(val, W, datafit.intercept(W), "mse")))
        return it >= n_iter

    with threadpool_limits(1):
        fista(datafit, 0.005, tol=est.tol, max_iter=n_iter, callback=record)
    scores = np.array([s for _, s in snaps])
    best = scores.argmin(axis=0)
    for t in range(datafit.n_tasks):
        assert_allclose(est.coef_[t], snaps[best[t]][0][:, t], rtol=1e-10, atol=1e-12)
    assert_allclose(est.task_convergence_["best_score"], scores.min(axis=0))


def test_freeze_holds_converged_tasks_at_their_snapshot():
    X_all, y_all = _classification()
    held = np.random.RandomState(0).rand(X_all.shape[0]) < 0.3
    X, y, X_val, y_val = X_all[~held], y_all[~held], X_all[held], y_all[held]
    mon = TaskMonitor(policy="freeze", warm_up=1, patience=2, check_every=5)
    clf = TraceNormMTLClassifier(alpha=1e-3, task_column=-1, task_monitor=mon)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    diag = clf.task_convergence_
    frozen = diag["converged"]
    assert frozen.any() and set(diag["policy"][frozen]) == {"freeze"}
    # A frozen task ends at its best snapshot: its final validation log-loss
    # is its best one.
    margin = clf.decision_function(X_val)
    sign = np.where(y_val == 1, 1.0, -1.0)
    for t in np.flatnonzero(frozen):
        rows = X_val[:, -1] == t
        final = np.mean(np.logaddexp(0.0, -sign[rows] * margin[rows]))
        assert_allclose(final, diag["best_score"][t], rtol=1e-10)


def test_distill_classifier_and_log_loss_metric():
    X, y = _classification(seed=1)
    mon = TaskMonitor(
        policy="distill",
        temperature=2.0,
        distill_weight=0.5,
        warm_up=1,
        patience=2,
        check_every=5,
        random_state=0,
    )
    clf = TraceNormMTLClassifier(alpha=1e-3, task_column=-1, task_monitor=mon)
    clf.fit(X, y)
    diag = clf.task_convergence_
    assert diag["converged"].any() and np.all(diag["best_score"] > 0)
    assert clf.score(X, y) > 0.7


def test_monitored_fits_are_deterministic_and_pickle():
    X, y = _uneven_regression()
    mon = TaskMonitor(policy="distill", warm_up=1, patience=2, check_every=5)
    fits = [
        TraceNormMTLRegressor(
            alpha=0.01, task_column=-1, task_monitor=mon, random_state=3
        ).fit(X, y)
        for _ in range(2)
    ]
    assert_array_equal(fits[0].coef_, fits[1].coef_)
    for key, value in fits[0].task_convergence_.items():
        assert_array_equal(value, fits[1].task_convergence_[key])
    other = TraceNormMTLRegressor(
        alpha=0.01, task_column=-1, task_monitor=mon, random_state=4
    ).fit(X, y)
    assert not np.array_equal(other.coef_, fits[0].coef_)
    back = pickle.loads(pickle.dumps(fits[0]))
    assert_array_equal(back.predict(X), fits[0].predict(X))


def test_shared_design_monitor():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 6)
    Y = X @ rng.randn(6, 3) + 2.0 * rng.randn(120, 3)
    mon = TaskMonitor(policy="snapshot", warm_up=1, patience=2, random_state=0)
    est = TraceNormMTLRegressor(alpha=0.01, task_monitor=mon).fit(X, Y)
    assert est.coef_.shape == (3, 6)
    assert est.task_convergence_["monitored"].all()


def test_validation_data_errors():
    X, y = _uneven_regression()
    with pytest.raises(ValueError, match="only used with a task_monitor"):
        TraceNormMTLRegressor(task_column=-1).fit(X, y, X_val=X, y_val=y)
    est = TraceNormMTLRegressor(task_column=-1, task_monitor=TaskMonitor())
    with pytest.raises(ValueError, match="both X_val and y_val"):
        est.fit(X, y, X_val=X)
    X_bad = X.copy()
    X_bad[0, -1] = 99
    with pytest.raises(ValueError, match="not in the training data"):
        est.fit(X, y, X_val=X_bad, y_val=y)
    some = X[:, -1] > 0
    with pytest.warns(UserWarning, match="no rows in X_val"):
        est.fit(X, y, X_val=X[some], y_val=y[some])
    assert_array_equal(est.task_convergence_["monitored"], [False] + [True] * 4)


# --------------------------------------------------------------------------- #
# Asynchronous estimators and the engine hook
# --------------------------------------------------------------------------- #
def test_activation_periods_park_wake_and_rounds():
    periods, blocked = ActivationPeriods(3), deque()
    periods.set([1, 3, 1], blocked, outstanding={0: 0, 1: 0, 2: 0})
    periods.requeue(1, 10, blocked)  # parked until version 10 + 2 * 2 full-rate
    periods.requeue(0, 10, blocked)
    assert list(blocked) == [0] and periods.parked == {1: 14}
    assert periods.wake(13, blocked, {2: 9}) and list(blocked) == [0]
    blocked.clear()
    assert periods.wake(15, blocked, {}) and list(blocked) == [1]  # no deadlock
    sync = ActivationPeriods(3)
    sync.set([1, 2, 0], deque(), {})
    assert [sync.round_tasks() for _ in range(4)] == [[0, 1], [0], [0, 1], [0]]
    sync.set([0, 0, 0], deque(), {})
    assert sync.round_tasks() == []


@pytest.mark.parametrize("schedule", ["async", "sync"])
def test_engine_hook_returning_none_changes_nothing(schedule):
    X, y = _uneven_regression()
    est = TraceNormMTLRegressor(task_column=-1)
    datafit = est._make_datafit(validate_fit_data(est, X, y).blocks)
    kw = dict(schedule=schedule, max_epochs=60, tol=1e-12)
    plain = run_amtl(datafit, 0.05, SequentialBackend(), **kw)
    calls = []
    hooked = run_amtl(
        datafit, 0.05, SequentialBackend(), on_check=lambda *a: calls.append(1), **kw
    )
    assert len(calls) == 60
    assert_array_equal(plain.W, hooked.W)
    assert_array_equal(plain.history["residual"], hooked.history["residual"])


def test_engine_hook_deactivates_tasks_and_stops():
    X, y = _uneven_regression()
    est = TraceNormMTLRegressor(task_column=-1)
    datafit = est._make_datafit(validate_fit_data(est, X, y).blocks)
    T = datafit.n_tasks

    def hook(P, b, task_updates):
        epoch = task_updates.sum() // T
        if epoch == 5:
            return np.array([0, 2, 1, 1, 1])
        if epoch == 20:
            return np.zeros(T)
        return None

    for schedule in ("async", "sync"):
        res = run_amtl(
            datafit,
            0.05,
            SequentialBackend(),
            schedule=schedule,
            max_epochs=100,
            tol=1e-12,
            on_check=hook,
        )
        n = res.task_stats["n_updates"]
        assert res.stop_reason == "deactivated"
        # An activation under way when the hook runs still completes.
        assert n[0] <= 6 and n[1] < n[2:].min() and np.ptp(n[2:]) <= 1


def test_async_option_off_and_monitored_freeze_saves_updates():
    X, y = _uneven_regression(sizes=(15, 20, 30, 200, 400))
    # Forward-backward: slow enough for tasks to converge (for the monitor)
    # long before the fit does; the default Douglas-Rachford fit is certified
    # before any task is frozen.
    kw = dict(
        alpha=1e-3,
        task_column=-1,
        max_iter=400,
        tol=1e-6,
        splitting="forward-backward",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = AsyncTraceNormMTLRegressor(**kw).fit(X, y)
    assert not hasattr(plain, "updates_saved_")
    mon = TaskMonitor(
        policy="freeze", warm_up=2, patience=2, check_every=5, random_state=0
    )
    est = AsyncTraceNormMTLRegressor(task_monitor=mon, **kw).fit(X, y)
    diag = est.task_convergence_
    assert diag["converged"].any()
    assert est.updates_saved_ == diag["updates_saved"].sum() > 0
    first = diag["converged_at"] == diag["converged_at"][diag["converged"]].min()
    n = est.task_stats_["n_updates"]
    assert n[first].max() < n.max()
    again = AsyncTraceNormMTLRegressor(task_monitor=mon, **kw).fit(X, y)
    assert_array_equal(again.coef_, est.coef_)


def test_async_distill_classifier_and_dask_refusal():
    X, y = _classification(seed=2)
    mon = TaskMonitor(
        policy="distill",
        warm_up=1,
        patience=2,
        check_every=5,
        distill_period=3,
        random_state=0,
    )
    clf = AsyncTraceNormMTLClassifier(
        alpha=1e-3,
        task_column=-1,
        task_monitor=mon,
        backend="simulated",
        max_iter=300,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.task_convergence_["converged"].any()
    assert clf.score(X, y) > 0.7
    with pytest.raises(ValueError, match="only the local backends"):
        clf.set_params(backend="dask").fit(X, y)


def test_sparse_input_matches_dense():
    import scipy.sparse as sp

    X, y = _uneven_regression()
    mon = TaskMonitor(policy="freeze", warm_up=1, patience=2, random_state=0)
    dense = TraceNormMTLRegressor(alpha=0.01, task_column=-1, task_monitor=mon)
    sparse = clone(dense)
    dense.fit(X, y)
    sparse.fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    assert_array_equal(
        sparse.task_convergence_["converged_at"],
        dense.task_convergence_["converged_at"],
    )


def test_threading_backend_with_distillation_completes():
    X, y = _uneven_regression()
    mon = TaskMonitor(policy="distill", warm_up=1, patience=2, check_every=5)
    est = AsyncTraceNormMTLRegressor(
        alpha=1e-3,
        task_column=-1,
        backend="threading",
        n_jobs=2,
        max_iter=300,
        task_monitor=mon,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert np.all(np.isfinite(est.coef_))
    assert est.task_convergence_["converged"].any()

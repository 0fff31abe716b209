"""Defaults of the asynchronous estimators (issue 11, items 1 and 5).

With their defaults only (plus the alpha), the async estimators converge,
without a ConvergenceWarning, to the centralized optimum on every local
backend; ``tol`` bounds the same certified relative duality gap as for the
centralized estimators and ``dual_gap_`` is that gap, recomputed here with the
centralized code.  The speed targets on the real data sets are in
``benchmarks/bench_async_defaults.py``.
"""

import inspect
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skmtl import (
    AsyncTraceNormMTLClassifier,
    AsyncTraceNormMTLRegressor,
    TraceNormMTLClassifier,
    TraceNormMTLRegressor,
    stack_tasks,
)
from skmtl._amtl import run_amtl
from skmtl._amtl._certified import (
    GapCheck,
    StepSearch,
    certified_gap,
    douglas_rachford_step,
    epochs_to,
    is_local,
    log_rate,
    predict,
    restart_point,
)
from skmtl.datasets import make_low_rank_regression
from skmtl.penalties._trace_norm import TraceNorm
from skmtl.solvers._gaps import alpha_max, penalized_objective, relative_gap
from skmtl.utils._validation import validate_fit_data

BACKENDS = ["sequential", "threading", "simulated"]


def regression(seed=0):
    """The paper's synthetic setting, small: rank 2, 6 tasks, long format."""
    X, y, _ = make_low_rank_regression(
        n_samples=40,
        n_features=8,
        n_tasks=6,
        rank=2,
        return_long=True,
        random_state=seed,
    )
    return X, y


def classification(seed=0, d=4, T=3):
    rng = np.random.RandomState(seed)
    W = rng.randn(d, 2) @ rng.randn(2, T)
    Xs = [rng.randn(50 + 10 * t, d) for t in range(T)]
    ys = [
        (X @ W[:, t] + 0.5 * t + rng.logistic(size=len(X)) > 0).astype(int)
        for t, X in enumerate(Xs)
    ]
    return stack_tasks(Xs, ys)


CASES = {
    "regressor": (AsyncTraceNormMTLRegressor, TraceNormMTLRegressor, regression),
    "classifier": (AsyncTraceNormMTLClassifier, TraceNormMTLClassifier, classification),
}


def datafit_of(est, X, y):
    classifier = est._loss == "logistic"
    return est._make_datafit(validate_fit_data(est, X, y, classifier=classifier).blocks)


def model_of(est, datafit):
    """``(W, b)`` of a fitted estimator as the data-fit sees them."""
    b = est.intercept_.copy() if datafit.has_free_intercept else None
    return est.coef_.T.copy(), b


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("ratio", [0.01, 0.2])
def test_default_fit_converges_to_centralized_optimum(case, backend, ratio):
    cls, centralized, make = CASES[case]
    X, y = make()
    datafit = datafit_of(cls(task_column=-1), X, y)
    alpha = ratio * alpha_max(datafit)
    est = cls(alpha, task_column=-1, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    ref = centralized(alpha, task_column=-1).fit(X, y)
    assert est.stop_reason_ == "converged"
    assert est.dual_gap_ <= est.tol == 1e-6
    # Both objectives are within their certified gaps (1e-6) of the optimum.
    f_est = penalized_objective(datafit, None, *model_of(est, datafit), alpha)
    f_ref = penalized_objective(datafit, None, *model_of(ref, datafit), alpha)
    assert abs(f_est - f_ref) <= 2e-6 * abs(f_ref)


@pytest.mark.parametrize("case", list(CASES))
def test_dual_gap_is_the_centralized_certificate(case):
    cls, centralized, make = CASES[case]
    X, y = make(seed=1)
    est = cls(0.05, task_column=-1, tol=1e-4, random_state=0).fit(X, y)
    datafit = datafit_of(est, X, y)
    W, b = model_of(est, datafit)
    gap, _, _ = relative_gap(datafit, W, b, 0.05, TraceNorm())
    assert est.dual_gap_ == pytest.approx(gap, rel=1e-6, abs=1e-12)
    assert 0 <= est.dual_gap_ <= 1e-4


def test_tol_is_the_certified_gap_and_max_iter_warns():
    X, y = regression(seed=2)
    loose = AsyncTraceNormMTLRegressor(0.5, task_column=-1, tol=1e-2).fit(X, y)
    tight = AsyncTraceNormMTLRegressor(0.5, task_column=-1, tol=1e-8).fit(X, y)
    assert loose.dual_gap_ <= 1e-2 and tight.dual_gap_ <= 1e-8
    assert loose.n_iter_ < tight.n_iter_
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        short = AsyncTraceNormMTLRegressor(
            0.5, task_column=-1, tol=1e-12, max_iter=2
        ).fit(X, y)
    assert short.stop_reason_ == "max_iter" and short.n_iter_ == 2
    assert short.dual_gap_ > 1e-12


def test_forward_backward_by_name_also_certified():
    X, y = regression(seed=3)
    est = AsyncTraceNormMTLRegressor(
        0.5, task_column=-1, splitting="forward-backward", max_iter=5000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.dual_gap_ <= 1e-6 and est.n_restarts_ == 0
    assert est.step_size_ == pytest.approx(
        1.0 / np.max(datafit_of(est, X, y).lipschitz)
    )


def test_defaults_and_the_paper_splitting():
    # The estimators default to Douglas-Rachford; the engine that
    # ``python -m skmtl paper`` drives keeps the paper's forward-backward.
    assert AsyncTraceNormMTLRegressor().splitting == "douglas-rachford"
    assert AsyncTraceNormMTLClassifier().tol == 1e-6
    default = inspect.signature(run_amtl).parameters["splitting"].default
    assert default == "forward-backward"


def test_douglas_rachford_step_is_inverse_median_mean_curvature():
    X, y = regression(seed=4)
    est = AsyncTraceNormMTLRegressor(task_column=-1)
    datafit = datafit_of(est, X, y)
    tasks = X[:, -1]
    curv = []
    for t in np.unique(tasks):
        Xt = X[tasks == t, :-1]
        Xt = Xt - Xt.mean(axis=0)  # intercepts: centered rows
        H = Xt.T @ Xt / len(Xt)  # loss_scaling='mean'
        curv.append(np.linalg.eigvalsh(H).mean())
    assert douglas_rachford_step(datafit) == pytest.approx(1 / np.median(curv))
    # The first step of a fit: below 0.05 alpha_max enlarged as 1 / alpha.
    amax = alpha_max(datafit)
    for ratio, factor in [(0.2, 1.0), (0.05, 1.0), (0.005, 10.0)]:
        est = AsyncTraceNormMTLRegressor(ratio * amax, task_column=-1)
        step = est._initial_step(datafit, est._penalty(), None, None)
        assert step == pytest.approx(factor / np.median(curv))


def test_douglas_rachford_step_logistic_curvature():
    X, y = classification(seed=5)
    est = AsyncTraceNormMTLClassifier(task_column=-1)
    datafit = datafit_of(est, X, y)
    tasks = X[:, -1]
    curv = []
    for t in np.unique(tasks):
        Xt, yt = X[tasks == t, :-1], y[tasks == t]
        p = yt.mean()
        Xt = Xt - Xt.mean(axis=0)
        curv.append(p * (1 - p) * np.trace(Xt.T @ Xt) / len(Xt) / Xt.shape[1])
    assert douglas_rachford_step(datafit) == pytest.approx(1 / np.median(curv))


class _Remote:
    """A data-fit protocol without local data (as RemoteDatafit)."""

    n_tasks, n_features, has_free_intercept = 2, 3, False

    def gradient(self, W, b=None):
        return np.zeros_like(W), None


def test_remote_data_have_no_certificate():
    remote = _Remote()
    assert not is_local(remote)
    gap, _ = certified_gap(remote, np.zeros((3, 2)), None, 1.0, TraceNorm())
    assert np.isnan(gap)
    assert douglas_rachford_step(remote) is None


def test_gap_check_stops_only_below_tol():
    X, y = regression(seed=6)
    datafit = datafit_of(AsyncTraceNormMTLRegressor(task_column=-1), X, y)
    alpha = 0.1 * alpha_max(datafit)
    W = np.zeros((datafit.n_features, datafit.n_tasks))
    check = GapCheck(datafit, alpha, TraceNorm(), tol=1e-6)
    assert check(W, None, np.ones(datafit.n_tasks)) is None
    assert check.gap == pytest.approx(relative_gap(datafit, W, None, alpha)[0])
    assert not check.converged
    ref = TraceNormMTLRegressor(alpha, task_column=-1, tol=1e-10).fit(X, y)
    periods = check(ref.coef_.T, None, np.ones(datafit.n_tasks))
    assert check.converged and check.gap <= 1e-6
    np.testing.assert_array_equal(periods, np.zeros(datafit.n_tasks))


def test_log_rate_predict_and_epochs_to():
    # Gaps 1e-2, 1e-3, 1e-4 at epochs 1, 2, 3: one decade per epoch, two
    # more epochs to 1e-6.
    rate, needed = log_rate([1, 2, 3], [1e-2, 1e-3, 1e-4], 1e-6)
    assert rate == pytest.approx(np.log(10)) and needed == pytest.approx(2.0)
    assert np.isnan(log_rate([1], [1e-2], 1e-6)[0])
    assert predict([1, 2, 3], [1e-2, 1e-3, 1e-4], 1e-6) == pytest.approx(2.0)
    # Only the points from ``start`` on: the last decade took two epochs.
    assert predict([1, 2, 4], [1e-1, 1e-3, 1e-4], 1e-6, start=2) == pytest.approx(4)
    assert predict([1, 2], [1e-3, 2e-3], 1e-6) == np.inf
    # Log-linear between the checks around the crossing of 1e-3 (epochs 2
    # and 4, one decade in two epochs); extrapolated when not reached.
    assert epochs_to([1, 2, 4], [1e-1, 1e-2, 1e-4], 1e-3) == pytest.approx(3.0)
    assert epochs_to([1, 2], [1e-1, 1e-2], 1e-4) == pytest.approx(4.0)


def test_step_search_checks_its_probes_every_epoch():
    search = StepSearch(1.0, 1e-6, probe_epochs=4, enough_epochs=10)
    slow = ([1, 2, 3, 4], [1e-1, 0.09, 0.081, 0.0729])
    fast = ([1, 2, 3, 4], [1e-1, 1e-2, 1e-3, 1e-4])
    assert not search.should_stop(*fast)
    assert not search.should_stop(slow[0][:3], slow[1][:3])  # too early
    assert search.should_stop(*slow) and search.max_skip(4) == np.inf
    assert search.update(*slow, "end of run 1") == (1.0, "end of run 1")
    assert search.probing and search.max_skip(1) == 0
    # A probe ends at 1/1000 of the origin's gap (7.29e-5), or at 4
    # probe_epochs when it has no best to beat.
    assert search.should_stop([1, 2], [1e-2, 7e-5])
    assert not search.should_stop([1, 2], [1e-2, 8e-5])
    assert search.should_stop(list(range(1, 17)), [1e-2] * 16)
    # Its score: two decades in 2 epochs, the third in 1, then
    # log10(7.29e-5 / 1e-6) = 1.86 more at one epoch each.
    score = search.score([1, 2, 3], [7.29e-3, 7.29e-4, 7.29e-5])
    assert score == pytest.approx(3 + np.log10(72.9))


def _fake_fit(search, rates, transients=None, tol=1e-6, max_epochs=3000):
    """The estimator's loop around a :class:`StepSearch`, on a model of the
    gap whose best step is known.

    From zero, the gap first drops fast (by ``e^-0.25`` per epoch, whatever
    the step) for 16 epochs, then by ``exp(-rates[step])`` per epoch; from a
    restart, the same with ``transients[step] = (rate, epochs)`` if given,
    else at ``rates[step]`` at once.  A point is its gap.  Returns the steps
    of the runs and the epochs of the fit.
    """
    point, steps, total = 0.5, [], 0
    transient = (0.25, 16)
    while total < max_epochs:
        step = search.step
        steps.append(step)
        epochs, gaps = [], []
        fast, n = transient or (0.0, 0)
        for e in range(1, max_epochs - total + 1):
            g = point * np.exp(-fast * min(e, n) - rates[step] * max(e - n, 0))
            epochs.append(e)
            gaps.append(g)
            if g <= tol or search.should_stop(epochs, gaps):
                break
        total += epochs[-1]
        if gaps[-1] <= tol:
            return steps, total
        step, point = search.update(epochs, gaps, gaps[-1])
        transient = (transients or {}).get(step)
    return steps, total


def test_step_search_picks_the_provably_faster_step():
    # Step 4 divides the gap 5x faster per epoch than step 1, 2.5x faster
    # than step 16.  The first run (step 1) catches the fast initial drop:
    # compared with the next run's (step 4, from a point where the drop is
    # over), its rate looks faster, so the old rule (consecutive runs' rates
    # over their second halves) went back to step 1, after 1 -> 4 -> 0.25.
    # Restarted from one origin and timed over the same range of gaps, the
    # steps are compared on equal footing.
    rates = {0.25: 0.005, 1.0: 0.02, 4.0: 0.1, 16.0: 0.04, 64.0: 0.01}
    search = StepSearch(1.0, 1e-6, probe_epochs=20, enough_epochs=30)
    steps, total = _fake_fit(search, rates)
    assert steps == [1.0, 1.0, 4.0, 16.0, 4.0] and search.done
    assert search.step == 4.0 and search.best[1] == 4.0
    # The probes of steps 1 and 16 were cut at 4 probe_epochs (80 epochs):
    # 20 + 80 + 69 (step 4 to 1/1000 of the origin's gap, 8.4e-3) + 80 + 21
    # (the rest at step 4, from 8.4e-6 to 1e-6).
    assert total <= 20 + 80 + 70 + 80 + 22
    # Starting at the right step, the first run finishes: no search at all.
    search = StepSearch(4.0, 1e-6, probe_epochs=20, enough_epochs=150)
    assert _fake_fit(search, rates)[0] == [4.0] and search.origin is None


def test_step_search_goes_down_when_up_is_slower():
    rates = {0.0625: 0.02, 0.25: 0.08, 1.0: 0.03, 4.0: 0.01}
    search = StepSearch(1.0, 1e-6, probe_epochs=20, enough_epochs=30)
    steps, _ = _fake_fit(search, rates)
    assert steps == [1.0, 1.0, 4.0, 0.25, 0.0625, 0.25] and search.step == 0.25


def test_step_search_is_not_fooled_by_a_fast_transient():
    # After a restart, step 0.25 divides the gap by 100 in 5 epochs, then
    # is 2.5x slower than step 1 (as short steps on raw School): the time
    # to a target two decades down favours it; the pace of the next decade,
    # over the same range of gaps for every probe, does not.
    rates = {0.25: 0.02, 1.0: 0.05, 4.0: 0.01}
    transients = {0.25: (np.log(100) / 5, 5)}
    search = StepSearch(1.0, 1e-6, probe_epochs=20, enough_epochs=30)
    steps, _ = _fake_fit(search, rates, transients)
    assert steps == [1.0, 1.0, 4.0, 0.25, 1.0] and search.step == 1.0


def test_step_search_with_tol_zero():
    # tol=0 (a fit run to max_iter or max_time) counts decades to the
    # rounding floor instead of dividing by zero, and still picks step 4.
    rates = {0.25: 0.005, 1.0: 0.02, 4.0: 0.1, 16.0: 0.04, 64.0: 0.01}
    search = StepSearch(1.0, 0.0, probe_epochs=20, enough_epochs=30)
    steps, _ = _fake_fit(search, rates, tol=1e-13, max_epochs=5000)
    assert search.done and search.step == 4.0
    assert steps[:3] == [1.0, 1.0, 4.0]


def test_restart_point_keeps_the_prox_and_the_subgradient():
    rng = np.random.RandomState(0)
    V = rng.randn(6, 4)
    penalty, alpha, s1, s2 = TraceNorm(), 0.7, 0.5, 8.0
    W = penalty.prox(V, s1 * alpha)
    V0 = restart_point(None, W, None, s2, V, s1)
    np.testing.assert_allclose(penalty.prox(V0, s2 * alpha), W, atol=1e-10)
    np.testing.assert_allclose((V0 - W) / s2, (V - W) / s1, atol=1e-12)

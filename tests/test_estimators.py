"""Tests of the centralized estimators against independent references.

The objective is written here from scratch (numpy, no skmtl code) and checked
against cvxpy's optimum; the closed forms (alpha_max, alpha = 0, repeated rows)
against scikit-learn; then the data modes, the classifier's labels, and the
estimators inside Pipeline / GridSearchCV on real data.
"""

import pickle
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import TraceNormMTLClassifier, TraceNormMTLRegressor
from skmtl.datafits._losses import LogisticLoss, SquaredLoss, TaskBlocks
from skmtl.solvers._fista import alpha_max

ESTIMATORS = {"squared": TraceNormMTLRegressor, "logistic": TraceNormMTLClassifier}
UNEVEN = (23, 9, 40, 14)  # task sizes in long format
TIGHT = dict(tol=1e-10, max_iter=100_000)


# --------------------------------------------------------------------------- #
# Independent helpers: data, stacking, the objective and alpha_max
# --------------------------------------------------------------------------- #
def make_tasks(rng, loss, sizes, d=5, rank=2, shared_X=None):
    """Per-task lists (Xs, ys): related tasks whose weights share a subspace."""
    U = rng.randn(d, rank)
    Xs, ys = [], []
    for n in sizes:
        X = rng.randn(n, d) if shared_X is None else shared_X
        margin = X @ (U @ rng.randn(rank)) + rng.randn()
        if loss == "squared":
            y = margin + 0.5 * rng.randn(n)
        else:
            y = (margin + 1.5 * rng.logistic(size=n) > 0).astype(int)
            y[:2] = [0, 1]  # both classes in every task
        Xs.append(X)
        ys.append(y)
    return Xs, ys


def stack(Xs, ys, labels=None, dtype=float):
    """Long format, task label in the last column (own code, not stack_tasks)."""
    labels = range(len(Xs)) if labels is None else labels
    X = np.vstack(
        [
            np.column_stack([X.astype(object), np.full(len(X), lab, dtype=object)])
            for X, lab in zip(Xs, labels, strict=True)
        ]
    )
    return X.astype(dtype), np.concatenate(ys)


def signed(y):
    """Labels to -1/+1: the larger of the task's two labels is positive."""
    return np.where(y == np.max(y), 1.0, -1.0)


def objective(Xs, ys, ss, W, b, alpha, loss, scaling):
    """F(W, b) written out: sum_t (1/c_t) sum_i s_i loss_i + alpha ||W||_*."""
    total = 0.0
    for t, (X, y, s) in enumerate(zip(Xs, ys, ss, strict=True)):
        m = X @ W[:, t] + b[t]
        if loss == "squared":
            per_row = 0.5 * (y - m) ** 2
        else:
            per_row = np.logaddexp(0.0, -signed(y) * m)
        c = s.sum() if scaling == "mean" else 1.0
        total += s @ per_row / c
    return total + alpha * np.linalg.svd(W, compute_uv=False).sum()


def cvxpy_optimum(Xs, ys, ss, alpha, loss, scaling, fit_intercept):
    cp = pytest.importorskip("cvxpy")
    d, T = Xs[0].shape[1], len(Xs)
    W = cp.Variable((d, T))
    b = cp.Variable(T) if fit_intercept else np.zeros(T)
    terms = []
    for t, (X, y, s) in enumerate(zip(Xs, ys, ss, strict=True)):
        m = X @ W[:, t] + b[t]
        c = s.sum() if scaling == "mean" else 1.0
        if loss == "squared":
            per_row = 0.5 * cp.square(y - m)
        else:
            per_row = cp.logistic(-cp.multiply(signed(y), m))
        terms.append(cp.sum(cp.multiply(s, per_row)) / c)
    problem = cp.Problem(cp.Minimize(sum(terms) + alpha * cp.normNuc(W)))
    problem.solve(solver=cp.CLARABEL)
    assert problem.status == cp.OPTIMAL
    return problem.value


def alpha_max_reference(Xs, ys, ss, loss, scaling, fit_intercept):
    """Spectral norm of the gradient at W = 0, intercepts optimal for W = 0."""
    G = []
    for X, y, s in zip(Xs, ys, ss, strict=True):
        c = s.sum() if scaling == "mean" else 1.0
        if loss == "squared":
            b = s @ y / s.sum() if fit_intercept else 0.0
            residual = y - b
        else:
            ys_ = signed(y)
            p = s[ys_ > 0].sum() / s.sum()
            b = np.log(p / (1 - p)) if fit_intercept else 0.0
            residual = ys_ * expit(-ys_ * b)
        G.append(-X.T @ (s * residual) / c)
    return np.linalg.norm(np.column_stack(G), 2)


def fit(est, Xs, ys, ss, mode):
    """Fit ``est`` on per-task lists in the given data mode."""
    if mode == "shared":
        est.set_params(task_column=None)
        return est.fit(Xs[0], np.column_stack(ys), sample_weight=ss[0])
    est.set_params(task_column=-1)
    X, y = stack(Xs, ys)
    return est.fit(X, y, sample_weight=np.concatenate(ss))


# --------------------------------------------------------------------------- #
# The oracle: cvxpy's optimum
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("mode", ["long", "shared"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("scaling", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_objective_matches_cvxpy(loss, scaling, fit_intercept, weighted, mode):
    seed = zlib.crc32(repr((loss, scaling, fit_intercept, weighted, mode)).encode())
    rng = np.random.RandomState(seed)
    if mode == "shared":
        X = rng.randn(30, 6)
        Xs, ys = make_tasks(rng, loss, [30] * 4, d=6, shared_X=X)
        s = rng.uniform(0.1, 3.0, 30) if weighted else np.ones(30)
        ss = [s] * 4
    else:
        Xs, ys = make_tasks(rng, loss, UNEVEN, d=6)
        ss = [
            rng.uniform(0.1, 3.0, len(X)) if weighted else np.ones(len(X)) for X in Xs
        ]
    # Scale one feature up so the problem is not perfectly conditioned.
    Xs = [X * np.array([4.0, 1, 1, 1, 1, 0.3]) for X in Xs]
    amax = alpha_max_reference(Xs, ys, ss, loss, scaling, fit_intercept)
    alpha = (0.3 if weighted else 0.05) * amax

    est = ESTIMATORS[loss](
        alpha=alpha, loss_scaling=scaling, fit_intercept=fit_intercept
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit(est, Xs, ys, ss, mode)

    W, b = est.coef_.T, est.intercept_
    assert est.coef_.shape == (4, 6)
    if not fit_intercept:
        assert_array_equal(b, 0.0)
    ours = objective(Xs, ys, ss, W, b, alpha, loss, scaling)
    best = cvxpy_optimum(Xs, ys, ss, alpha, loss, scaling, fit_intercept)
    assert abs(ours - best) <= 1e-6 * abs(best)
    # The recorded objective is the objective of the returned model.
    assert_allclose(est.objective_history_[-1], ours, rtol=1e-9)
    assert 0 <= est.dual_gap_ <= est.tol
    assert np.abs(W).max() > 1e-3  # alpha < alpha_max: a non-trivial solution


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_small_alpha_matches_cvxpy(loss, rng):
    """A weakly regularized, harder problem (more tasks than features)."""
    Xs, ys = make_tasks(rng, loss, (15, 30, 12, 25, 18, 22, 9), d=4)
    ss = [np.ones(len(X)) for X in Xs]
    alpha = 1e-3 * alpha_max_reference(Xs, ys, ss, loss, "mean", True)
    est = fit(ESTIMATORS[loss](alpha=alpha), Xs, ys, ss, "long")
    ours = objective(Xs, ys, ss, est.coef_.T, est.intercept_, alpha, loss, "mean")
    best = cvxpy_optimum(Xs, ys, ss, alpha, loss, "mean", True)
    assert abs(ours - best) <= 1e-6 * abs(best)


# --------------------------------------------------------------------------- #
# Closed forms
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("mode", ["long", "shared"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("scaling", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_alpha_max(loss, scaling, fit_intercept, mode, rng):
    if mode == "shared":
        Xs, ys = make_tasks(rng, loss, [25] * 3, shared_X=rng.randn(25, 5))
        s = rng.uniform(0.5, 2.0, 25)
        ss = [s] * 3
    else:
        Xs, ys = make_tasks(rng, loss, UNEVEN)
        ss = [rng.uniform(0.5, 2.0, len(X)) for X in Xs]
    amax = alpha_max_reference(Xs, ys, ss, loss, scaling, fit_intercept)
    Est = ESTIMATORS[loss]
    kw = dict(loss_scaling=scaling, fit_intercept=fit_intercept)

    # skmtl's own alpha_max (it anchors the regularization paths) agrees.
    blocks = TaskBlocks(
        Xs,
        [signed(y) if loss == "logistic" else y for y in ys],
        ss,
        np.array([s.sum() if scaling == "mean" else 1.0 for s in ss]),
        shared=mode == "shared",
    )
    Datafit = SquaredLoss if loss == "squared" else LogisticLoss
    assert_allclose(
        alpha_max(Datafit(blocks, fit_intercept=fit_intercept)), amax, rtol=1e-10
    )

    for factor in (1 + 1e-7, 1.5):
        est = fit(Est(alpha=factor * amax, **kw), Xs, ys, ss, mode)
        assert_array_equal(est.coef_, 0.0)
        # The intercepts are then the optimal ones for W = 0.
        for t, (y, s) in enumerate(zip(ys, ss, strict=True)):
            if not fit_intercept:
                expected = 0.0
            elif loss == "squared":
                expected = s @ y / s.sum()
            else:
                p = s[signed(y) > 0].sum() / s.sum()
                expected = np.log(p / (1 - p))
            assert_allclose(est.intercept_[t], expected, rtol=1e-8, atol=1e-10)

    est = fit(Est(alpha=0.99 * amax, **kw), Xs, ys, ss, mode)
    assert np.abs(est.coef_).max() > 1e-6
    # Just below alpha_max, the solution has rank one.
    sv = np.linalg.svd(est.coef_, compute_uv=False)
    assert sv[1] <= 1e-8 * sv[0]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("mode", ["long", "shared"])
def test_alpha_zero_is_least_squares_per_task(mode, fit_intercept, rng):
    if mode == "shared":
        X = rng.randn(40, 5)
        Xs, ys = make_tasks(rng, "squared", [40] * 3, shared_X=X)
        s = rng.uniform(0.5, 2.0, 40)
        ss = [s] * 3
    else:
        Xs, ys = make_tasks(rng, "squared", (30, 12, 50))
        ss = [rng.uniform(0.5, 2.0, len(X)) for X in Xs]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = fit(
            TraceNormMTLRegressor(alpha=0.0, fit_intercept=fit_intercept),
            Xs,
            ys,
            ss,
            mode,
        )
    for t, (X, y, s) in enumerate(zip(Xs, ys, ss, strict=True)):
        ref = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=s)
        assert_allclose(est.coef_[t], ref.coef_, rtol=1e-6, atol=1e-8)
        assert_allclose(est.intercept_[t], ref.intercept_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_alpha_zero_is_logistic_regression_per_task(fit_intercept, rng):
    Xs, ys = make_tasks(rng, "logistic", (80, 60, 120), d=3)
    ss = [rng.uniform(0.5, 2.0, len(X)) for X in Xs]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = fit(
            TraceNormMTLClassifier(alpha=0.0, fit_intercept=fit_intercept, tol=1e-9),
            Xs,
            ys,
            ss,
            "long",
        )
    for t, (X, y, s) in enumerate(zip(Xs, ys, ss, strict=True)):
        ref = LogisticRegression(
            C=np.inf, fit_intercept=fit_intercept, tol=1e-12, max_iter=10_000
        ).fit(X, y, sample_weight=s)
        assert_allclose(est.coef_[t], ref.coef_[0], rtol=1e-5, atol=1e-7)
        assert_allclose(est.intercept_[t], ref.intercept_, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_shared_design_equals_long_format_with_repeated_rows(loss, rng):
    X = rng.randn(30, 4)
    Xs, ys = make_tasks(rng, loss, [30] * 3, d=4, shared_X=X)
    Est = ESTIMATORS[loss]
    shared = Est(alpha=0.05, **TIGHT).fit(X, np.column_stack(ys))
    Xl, yl = stack(Xs, ys)
    long = Est(alpha=0.05, task_column=-1, **TIGHT).fit(Xl, yl)
    assert_allclose(shared.coef_, long.coef_, atol=1e-6)
    assert_allclose(shared.intercept_, long.intercept_, atol=1e-6)
    assert np.abs(shared.coef_).max() > 0.1
    # The same predictions, in each layout.
    pred = shared.predict(X)
    assert pred.shape == (30, 3)
    assert_allclose(long.predict(Xl), pred.T.ravel(), atol=1e-5)


@pytest.mark.parametrize("scaling", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_sample_weight_equals_repeated_rows(loss, scaling, rng):
    Xs, ys = make_tasks(rng, loss, UNEVEN)
    X, y = stack(Xs, ys)
    counts = rng.randint(0, 4, len(y))
    counts[np.r_[0, 23, 32, 72]] = 1  # keep both classes and every task
    counts[[1, 24, 33, 73]] = 1
    Est = ESTIMATORS[loss]
    params = dict(alpha=0.05, task_column=-1, loss_scaling=scaling, **TIGHT)
    weighted = Est(**params).fit(X, y, sample_weight=counts.astype(float))
    repeated = Est(**params).fit(np.repeat(X, counts, 0), np.repeat(y, counts))
    assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6)
    assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-6)
    # Unit weights change nothing; weights matter otherwise.
    unit = Est(**params).fit(X, y, sample_weight=np.ones(len(y)))
    plain = Est(**params).fit(X, y)
    assert_allclose(unit.coef_, plain.coef_, atol=1e-12)
    assert np.abs(weighted.coef_ - plain.coef_).max() > 1e-3


@pytest.mark.parametrize("mode", ["long", "shared"])
@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_float32_and_sparse_match_dense_float64(loss, mode, rng):
    Est = ESTIMATORS[loss]
    if mode == "shared":
        X0 = rng.randn(40, 5)
        X0[X0 < 0.3] = 0.0  # sparse-ish
        Xs, ys = make_tasks(rng, loss, [40] * 3, shared_X=X0)
        X, y, est = X0, np.column_stack(ys), Est(alpha=0.05, **TIGHT)
    else:
        Xs, ys = make_tasks(rng, loss, UNEVEN)
        for X_t in Xs:
            X_t[X_t < 0.3] = 0.0
        X, y = stack(Xs, ys)
        est = Est(alpha=0.05, task_column=-1, **TIGHT)
    ref = clone(est).fit(X, y)
    variants = {
        "float32": X.astype(np.float32),
        "csr": sp.csr_matrix(X),
        "csc": sp.csc_array(X),
        "csr_float32": sp.csr_matrix(X.astype(np.float32)),
    }
    for name, Xv in variants.items():
        other = clone(est).fit(Xv, y)
        # float32 rounds X to about 1e-7 relative: that moves the solution too.
        atol = 1e-5 if "float32" in name else 1e-9
        assert_allclose(other.coef_, ref.coef_, atol=atol, err_msg=name)
        assert_allclose(other.intercept_, ref.intercept_, atol=atol, err_msg=name)
        assert other.coef_.dtype == np.float64
        assert_allclose(other.predict(Xv), ref.predict(X), atol=10 * atol)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_string_and_int_task_labels(loss, rng):
    Xs, ys = make_tasks(rng, loss, UNEVEN)
    Est = ESTIMATORS[loss]
    Xn, y = stack(Xs, ys)
    ref = Est(alpha=0.05, task_column=-1).fit(Xn, y)
    assert_array_equal(ref.tasks_, [0.0, 1.0, 2.0, 3.0])
    # Labels in the order of appearance are not sorted: tasks_ is sorted and
    # coef_ follows tasks_.
    for labels, dtype in [(["b", "d", "a", "c"], object), ([7, 30, -2, 11], float)]:
        X, _ = stack(Xs, ys, labels=labels, dtype=dtype)
        est = Est(alpha=0.05, task_column=-1).fit(X, y)
        order = np.argsort(labels)
        assert_array_equal(est.tasks_, np.sort(labels))
        assert_allclose(est.coef_, ref.coef_[order], atol=1e-12)
        assert_allclose(est.intercept_, ref.intercept_[order], atol=1e-12)
        assert_allclose(est.predict(X), ref.predict(Xn), atol=1e-10)
    # Integer labels, in an int array (the task column is the first one here).
    Xi = np.column_stack([np.repeat(np.arange(4), UNEVEN) * 10, Xn[:, :-1]])
    est = Est(alpha=0.05, task_column=0).fit(Xi, y)
    assert_array_equal(est.tasks_, [0, 10, 20, 30])
    assert_allclose(est.coef_, ref.coef_, atol=1e-12)


def test_dataframe_with_named_task_column(rng):
    Xs, ys = make_tasks(rng, "squared", UNEVEN)
    Xn, y = stack(Xs, ys)
    schools = np.array(["north", "east", "south", "west"])[Xn[:, -1].astype(int)]
    df = pd.DataFrame(Xn[:, :-1], columns=[f"x{i}" for i in range(5)])
    df.insert(2, "school", schools)
    est = TraceNormMTLRegressor(alpha=0.05, task_column="school").fit(df, y)
    assert_array_equal(est.feature_names_in_, ["x0", "x1", "school", "x2", "x3", "x4"])
    assert est.n_features_in_ == 6
    assert_array_equal(est.tasks_, ["east", "north", "south", "west"])
    ref = TraceNormMTLRegressor(alpha=0.05, task_column=-1).fit(Xn, y)
    order = [1, 0, 2, 3]  # tasks_ sorts the names: east=1, north=0, ...
    assert_allclose(est.coef_, ref.coef_[order], atol=1e-12)
    assert_allclose(est.predict(df), ref.predict(Xn), atol=1e-12)
    assert isinstance(est.score(df, y), float)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_handle_unknown_task(loss, rng):
    Xs, ys = make_tasks(rng, loss, UNEVEN)
    X, y = stack(Xs, ys, labels=["a", "b", "c", "d"], dtype=object)
    Est = ESTIMATORS[loss]
    est = Est(alpha=0.05, task_column=-1, handle_unknown_task="mean").fit(X, y)
    Xnew = X[:6].copy()
    Xnew[:3, -1] = "zz"  # unseen; the other three rows are task "a"
    features = Xnew[:, :-1].astype(float)
    mean_margin = features @ est.coef_.mean(axis=0) + est.intercept_.mean()
    own_margin = features @ est.coef_[0] + est.intercept_[0]
    expected = np.r_[mean_margin[:3], own_margin[3:]]
    if loss == "squared":
        assert_allclose(est.predict(Xnew), expected, atol=1e-12)
    else:
        assert_allclose(est.decision_function(Xnew), expected, atol=1e-12)
        assert_allclose(est.predict_proba(Xnew)[:, 1], expit(expected), atol=1e-12)
        assert_array_equal(est.predict(Xnew), np.where(expected > 0, 1, 0))

    strict = clone(est).set_params(handle_unknown_task="error").fit(X, y)
    with pytest.raises(ValueError, match=r"Unknown task label.*'zz'"):
        strict.predict(Xnew)


def test_handle_unknown_task_mean_needs_shared_label_pair(rng):
    Xs, ys = make_tasks(rng, "logistic", UNEVEN)
    pairs = [("a", "b"), ("a", "b"), ("b", "c"), ("a", "b")]
    ys = [np.array(p)[y] for p, y in zip(pairs, ys, strict=True)]
    X, y = stack(Xs, ys)
    est = TraceNormMTLClassifier(task_column=-1, handle_unknown_task="mean")
    est.set_params(alpha=0.05).fit(X, y)
    Xnew = X[:2].copy()
    Xnew[:, -1] = 99
    with pytest.raises(ValueError, match="same two labels"):
        est.predict(Xnew)
    # Known tasks still predict.
    assert set(est.predict(X[:5])) <= {"a", "b"}


# --------------------------------------------------------------------------- #
# The classifier's labels
# --------------------------------------------------------------------------- #
def test_classifier_label_pairs_per_task(rng):
    Xs, ys01 = make_tasks(rng, "logistic", UNEVEN)
    pairs = [("a", "b"), ("b", "c"), ("x", "a"), ("no", "yes")]
    ys = [np.array(p)[y] for p, y in zip(pairs, ys01, strict=True)]
    X, y = stack(Xs, ys)
    X01, y01 = stack(Xs, ys01)
    est = TraceNormMTLClassifier(alpha=0.02, task_column=-1).fit(X, y)
    ref = TraceNormMTLClassifier(alpha=0.02, task_column=-1).fit(X01, y01)
    assert_array_equal(est.classes_, ["a", "b", "c", "no", "x", "yes"])

    # The larger label of each pair is the positive class: for ("x", "a")
    # that is "x", i.e. label 0 of the 0/1 coding, so that task's sign flips.
    flip = np.array([1, 1, -1, 1])
    assert_allclose(est.coef_, ref.coef_ * flip[:, None], atol=1e-12)
    assert_allclose(est.intercept_, ref.intercept_ * flip, atol=1e-12)

    proba = est.predict_proba(X)
    decision = est.decision_function(X)
    pred = est.predict(X)
    assert proba.shape == (len(y), 6)
    assert_allclose(proba.sum(axis=1), 1.0)
    task = X[:, -1].astype(int)
    for t, (neg, pos) in enumerate(sorted(p) for p in pairs):
        rows = task == t
        cols = np.isin(est.classes_, [neg, pos])
        assert_array_equal(proba[np.ix_(rows, ~cols)], 0.0)
        p_pos = proba[rows, list(est.classes_).index(pos)]
        assert_allclose(p_pos, expit(decision[rows]))
        assert_array_equal(pred[rows], np.where(decision[rows] > 0, pos, neg))
        # predict is the most probable class.
        assert_array_equal(pred[rows], est.classes_[proba[rows].argmax(axis=1)])
    assert est.score(X, y) > 0.6


def test_classifier_int_label_pairs(rng):
    Xs, ys01 = make_tasks(rng, "logistic", UNEVEN)
    pairs = [(3, 7), (-1, 1), (0, 1), (7, 10)]
    ys = [np.array(p)[y] for p, y in zip(pairs, ys01, strict=True)]
    X, y = stack(Xs, ys)
    est = TraceNormMTLClassifier(alpha=0.02, task_column=-1).fit(X, y)
    assert_array_equal(est.classes_, [-1, 0, 1, 3, 7, 10])
    pred = est.predict(X)
    task = X[:, -1].astype(int)
    for t, pair in enumerate(pairs):
        assert set(pred[task == t]) <= set(pair)
    assert est.score(X, y) > 0.6


def test_classifier_shared_design_multi_output(rng):
    X = rng.randn(60, 4)
    _, ys01 = make_tasks(rng, "logistic", [60] * 3, d=4, shared_X=X)
    pairs = [(0, 1), (2, 5), (-1, 1)]
    Y = np.column_stack([np.array(p)[y] for p, y in zip(pairs, ys01, strict=True)])
    est = TraceNormMTLClassifier(alpha=0.02).fit(X, Y)
    assert isinstance(est.classes_, list)
    for c, pair in zip(est.classes_, pairs, strict=True):
        assert_array_equal(c, pair)
    decision = est.decision_function(X)
    pred = est.predict(X)
    proba = est.predict_proba(X)
    log_proba = est.predict_log_proba(X)
    assert decision.shape == pred.shape == (60, 3)
    assert isinstance(proba, list) and len(proba) == 3
    for t, (neg, pos) in enumerate(pairs):
        assert proba[t].shape == (60, 2)
        assert_allclose(proba[t].sum(axis=1), 1.0)
        assert_allclose(proba[t][:, 1], expit(decision[:, t]))
        assert_allclose(log_proba[t], np.log(proba[t]))
        assert_array_equal(pred[:, t], np.where(decision[:, t] > 0, pos, neg))
        assert_array_equal(pred[:, t], est.classes_[t][proba[t].argmax(axis=1)])

    # One task, 1-D y: classes_ is an array and predict_proba one (n, 2) array.
    single = TraceNormMTLClassifier(alpha=0.02).fit(X, Y[:, 1])
    assert_array_equal(single.classes_, [2, 5])
    assert single.predict_proba(X).shape == (60, 2)
    assert_array_equal(
        single.predict(X), np.where(single.decision_function(X) > 0, 5, 2)
    )


# --------------------------------------------------------------------------- #
# scikit-learn integration
# --------------------------------------------------------------------------- #
def test_pipeline_grid_search_cross_val_on_school(school_tasks):
    Xs, ys = school_tasks
    Xs, ys = Xs[:10], ys[:10]  # a subset of the 139 schools keeps it fast
    X, y = stack(Xs, ys)
    task = X[:, -1]
    n_features = X.shape[1] - 1
    pre = ColumnTransformer(
        [("scale", StandardScaler(), list(range(n_features)))], remainder="passthrough"
    )
    pipe = Pipeline([("pre", pre), ("mtl", TraceNormMTLRegressor(task_column=-1))])
    # Folds stratified on the task keep every school in every training fold.
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, task))
    grid = {"mtl__alpha": [0.3, 1.0, 3.0, 1e4]}  # 1e4 >= alpha_max: coef_ == 0
    search = GridSearchCV(pipe, grid, cv=cv).fit(X, y)

    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["mtl__alpha"] < 1e4
    # Sharing structure beats the intercept-only model (alpha >= alpha_max).
    assert scores.max() > scores[-1] + 0.1
    best = search.best_estimator_
    assert_array_equal(best["mtl"].tasks_, np.arange(10.0))

    # The pipeline is the estimator on standardized features.
    Xs_std = StandardScaler().fit_transform(X[:, :-1])
    manual = TraceNormMTLRegressor(alpha=search.best_params_["mtl__alpha"])
    manual.set_params(task_column=-1).fit(np.column_stack([Xs_std, task]), y)
    assert_allclose(best["mtl"].coef_, manual.coef_, atol=1e-10)
    assert_allclose(best.predict(X), manual.predict(np.column_stack([Xs_std, task])))

    cv_scores = cross_val_score(best, X, y, cv=cv)
    assert cv_scores.shape == (3,)
    assert_allclose(cv_scores.mean(), scores.max(), rtol=1e-8)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_clone_and_pickle(loss, rng):
    Xs, ys = make_tasks(rng, loss, UNEVEN)
    X, y = stack(Xs, ys, labels=["a", "b", "c", "d"], dtype=object)
    est = ESTIMATORS[loss](alpha=0.05, task_column=-1).fit(X, y)

    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "coef_")

    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.coef_, est.coef_)
    assert_array_equal(restored.tasks_, est.tasks_)
    assert_array_equal(restored.predict(X), est.predict(X))
    if loss == "logistic":
        assert_array_equal(restored.classes_, est.classes_)
        assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    # A fit is deterministic, bit for bit.
    again = clone(est).fit(X, y)
    assert_array_equal(again.coef_, est.coef_)
    assert_array_equal(again.intercept_, est.intercept_)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_warm_start(loss, rng):
    Xs, ys = make_tasks(rng, loss, UNEVEN)
    X, y = stack(Xs, ys)
    Est = ESTIMATORS[loss]
    params = dict(alpha=0.02, task_column=-1, tol=1e-8)
    cold = Est(**params).fit(X, y)
    # n_iter_ counts ADMM iterations (squared) or proximal Newton steps
    # (logistic, a handful from zero): a warm start must save most of them.
    assert cold.n_iter_ >= (50 if loss == "squared" else 5)

    warm = Est(warm_start=True, **params).fit(X, y)
    first = warm.n_iter_
    assert first == cold.n_iter_  # the first fit starts from zero too
    warm.fit(X, y)
    assert warm.n_iter_ < first / 3
    assert_allclose(warm.coef_, cold.coef_, atol=1e-5)
    assert_allclose(warm.intercept_, cold.intercept_, atol=1e-5)

    # Without warm_start a refit starts again from zero.
    cold.fit(X, y)
    assert cold.n_iter_ == first


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_max_iter_raises_convergence_warning(loss, rng):
    Xs, ys = make_tasks(rng, loss, UNEVEN)
    X, y = stack(Xs, ys)
    est = ESTIMATORS[loss](alpha=0.02, task_column=-1, max_iter=3)
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=3"):
        est.fit(X, y)
    assert est.n_iter_ == 3
    assert est.dual_gap_ > est.tol
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.set_params(max_iter=10_000).fit(X, y)
    assert est.n_iter_ > 3

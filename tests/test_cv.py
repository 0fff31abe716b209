"""Tests of the cross-validated estimators and of alpha_max.

The reference for the CV estimators is ``GridSearchCV`` over the plain
estimator with the same folds, grid and scoring: it must pick the same alpha.
"""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from _checks import expected_failed_checks, long_format_pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, StratifiedKFold
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmtl import TraceNormMTLClassifier, TraceNormMTLRegressor
from skmtl.estimators._cv import (
    TraceNormMTLClassifierCV,
    TraceNormMTLRegressorCV,
    alpha_max,
)
from skmtl.metrics import get_task_scorer
from skmtl.model_selection import TaskStratifiedKFold

# -- data ----------------------------------------------------------------------


def low_rank_tasks(rng, n_tasks=4, n_per_task=40, d=6, noise=0.5, shift=True):
    """Long-format regression data whose task weights have rank one."""
    W = rng.randn(d, 1) @ rng.randn(1, n_tasks)
    task = np.repeat(np.arange(n_tasks), n_per_task)
    X = rng.randn(len(task), d)
    y = np.einsum("ij,ji->i", X, W[:, task]) + noise * rng.randn(len(task))
    if shift:
        y += task  # different intercepts
    return np.column_stack([X, task]), y


def classification_tasks(rng, n_tasks=3, n_per_task=80, d=4):
    task = np.repeat(np.arange(n_tasks), n_per_task)
    X = rng.randn(len(task), d)
    w = rng.randn(d)
    margin = X @ w * (1 + 0.3 * task) + 0.8 * rng.randn(len(task))
    return np.column_stack([X, task]), (margin > 0).astype(int)


def shared_design(rng, n=60, d=5, n_tasks=3, noise=0.5):
    X = rng.randn(n, d)
    W = rng.randn(d, 1) @ rng.randn(1, n_tasks)
    return X, X @ W + noise * rng.randn(n, n_tasks)


def grid_search(estimator, X, y, alphas, cv, scoring=None):
    # Decreasing grid, as the CV estimators: ties go to the same (first) alpha.
    grid = {"alpha": list(np.sort(alphas)[::-1])}
    return GridSearchCV(estimator, grid, cv=cv, scoring=scoring).fit(X, y)


# -- alpha_max -----------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("mode", ["shared", "long"])
@pytest.mark.parametrize(
    "fit_intercept, loss_scaling", [(True, "mean"), (False, "sum")]
)
def test_alpha_max_gives_zero_coef(loss, mode, fit_intercept, loss_scaling, rng):
    if loss == "squared":
        X, y = low_rank_tasks(rng)
        cls = TraceNormMTLRegressor
    else:
        X, y = classification_tasks(rng)
        cls = TraceNormMTLClassifier
    task_column = -1
    if mode == "shared":  # one column of y per task, rows shared
        X, y = X[:40, :-1], y.reshape(-1, 40).T
        task_column = None
    sw = rng.uniform(0.5, 2.0, size=len(X))
    a_max = alpha_max(
        X,
        y,
        task_column=task_column,
        loss=loss,
        fit_intercept=fit_intercept,
        loss_scaling=loss_scaling,
        sample_weight=sw,
    )
    params = dict(
        task_column=task_column, fit_intercept=fit_intercept, loss_scaling=loss_scaling
    )
    at_max = cls(alpha=a_max, **params).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(at_max.coef_, 0.0, atol=1e-12)
    below = cls(alpha=0.95 * a_max, **params).fit(X, y, sample_weight=sw)
    assert np.abs(below.coef_).max() > 1e-6
    # A rank-one solution just below alpha_max.
    assert np.linalg.matrix_rank(below.coef_, tol=1e-8 * np.abs(below.coef_).max()) == 1


def test_alpha_max_validates_like_the_estimators(rng):
    X, y = low_rank_tasks(rng)
    with pytest.raises(ValueError, match="task_column=7 is out of range"):
        alpha_max(X, y, task_column=7)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        alpha_max(X_nan, y, task_column=-1)
    with pytest.raises(InvalidParameterError, match="loss"):
        alpha_max(X, y, loss="hinge")
    # Sparse X gives the same value as dense X.
    assert alpha_max(sp.csr_matrix(X), y, task_column=-1) == pytest.approx(
        alpha_max(X, y, task_column=-1), rel=1e-12
    )


# -- the alpha picked: the same as GridSearchCV's --------------------------------


def test_regressor_cv_matches_grid_search_shared_design(rng):
    X, Y = shared_design(rng)
    cv = KFold(4, shuffle=True, random_state=0)
    model = TraceNormMTLRegressorCV(alphas=8, cv=cv).fit(X, Y)
    search = grid_search(TraceNormMTLRegressor(), X, Y, model.alphas_, cv)
    assert model.alpha_ == search.best_params_["alpha"]
    # The path is warm-started and the grid search starts every fit from zero:
    # both solutions are certified to tol=1e-6 (relative duality gap), which
    # leaves about 1e-4 of play in the scores.
    np.testing.assert_allclose(
        model.mean_cv_scores_, search.cv_results_["mean_test_score"], rtol=1e-3
    )
    # Neither end of the grid: the choice is not trivial.
    assert model.alphas_[-1] < model.alpha_ < model.alphas_[0]
    np.testing.assert_allclose(model.coef_, search.best_estimator_.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.predict(X), search.predict(X), rtol=1e-10)


@pytest.mark.parametrize("scoring", [None, "neg_mean_absolute_error", "nmse"])
def test_regressor_cv_matches_grid_search_long_format(scoring, rng):
    X, y = low_rank_tasks(rng, n_tasks=5)
    model = TraceNormMTLRegressorCV(
        alphas=8, cv=4, task_column=-1, scoring=scoring
    ).fit(X, y)
    gs_scoring = get_task_scorer("nmse") if scoring == "nmse" else scoring
    # What cv=4 means in long format: task- (and class-) stratified, unshuffled.
    cv = TaskStratifiedKFold(4, task_column=-1, shuffle=False)
    search = grid_search(
        TraceNormMTLRegressor(task_column=-1), X, y, model.alphas_, cv, gs_scoring
    )
    assert model.alpha_ == search.best_params_["alpha"]
    np.testing.assert_allclose(
        model.mean_cv_scores_, search.cv_results_["mean_test_score"], rtol=1e-3
    )
    folds = np.array([search.cv_results_[f"split{k}_test_score"] for k in range(4)])
    np.testing.assert_allclose(model.cv_scores_, folds, rtol=1e-3)


@pytest.mark.parametrize("scoring", [None, "roc_auc_macro"])
def test_classifier_cv_matches_grid_search_long_format(scoring, rng):
    X, y = classification_tasks(rng)
    alphas = np.geomspace(0.5, 0.005, 5)
    model = TraceNormMTLClassifierCV(
        alphas=alphas, cv=3, task_column=-1, scoring=scoring
    ).fit(X, y)
    gs_scoring = get_task_scorer(scoring) if scoring else None
    cv = TaskStratifiedKFold(3, task_column=-1, shuffle=False)
    search = grid_search(
        TraceNormMTLClassifier(task_column=-1), X, y, alphas, cv, gs_scoring
    )
    assert model.alpha_ == search.best_params_["alpha"]
    np.testing.assert_allclose(
        model.mean_cv_scores_, search.cv_results_["mean_test_score"], rtol=1e-4
    )
    np.testing.assert_array_equal(model.classes_, [0, 1])
    np.testing.assert_array_equal(model.predict(X), search.predict(X))


def test_classifier_shared_design_1d_y_uses_stratified_folds(rng):
    X = rng.randn(60, 3)
    y = (X[:, 0] + 0.5 * rng.randn(60) > 1.0).astype(int)  # imbalanced
    model = TraceNormMTLClassifierCV(alphas=[0.3, 0.1, 0.03], cv=4).fit(X, y)
    search = grid_search(
        TraceNormMTLClassifier(), X, y, model.alphas_, StratifiedKFold(4)
    )
    assert model.alpha_ == search.best_params_["alpha"]
    np.testing.assert_array_equal(model.classes_, [0, 1])


# -- the grid and the fitted attributes -------------------------------------------


def test_default_grid(rng):
    X, Y = shared_design(rng)
    model = TraceNormMTLRegressorCV().fit(X, Y)
    a_max = alpha_max(X, Y)
    np.testing.assert_allclose(model.alphas_, np.geomspace(a_max, 1e-3 * a_max, 20))
    assert model.cv_scores_.shape == (5, 20)
    np.testing.assert_allclose(model.mean_cv_scores_, model.cv_scores_.mean(axis=0))
    assert model.alpha_ == model.alphas_[np.argmax(model.mean_cv_scores_)]
    short = TraceNormMTLRegressorCV(alphas=4, eps=0.1, cv=3).fit(X, Y)
    np.testing.assert_allclose(short.alphas_, np.geomspace(a_max, 0.1 * a_max, 4))
    assert short.cv_scores_.shape == (3, 4)


def test_explicit_alphas_are_sorted_decreasing(rng):
    X, Y = shared_design(rng)
    model = TraceNormMTLRegressorCV(alphas=[0.1, 1.0, 0.01], cv=3).fit(X, Y)
    np.testing.assert_array_equal(model.alphas_, [1.0, 0.1, 0.01])


@pytest.mark.parametrize(
    "alphas, match",
    [
        ([], "non-empty"),
        ([[0.1, 0.2]], "1-D"),
        ([0.1, -1.0], "non-negative"),
        ([0.1, np.nan], "finite"),
    ],
)
def test_bad_alphas(alphas, match, rng):
    X, Y = shared_design(rng)
    with pytest.raises(ValueError, match=match):
        TraceNormMTLRegressorCV(alphas=alphas).fit(X, Y)


@pytest.mark.parametrize(
    "params",
    [
        dict(alphas=0),
        dict(eps=0.0),
        dict(eps=1.5),
        dict(cv="five"),
        dict(scoring="bad"),
    ],
)
def test_parameter_validation(params, rng):
    X, Y = shared_design(rng)
    with pytest.raises(InvalidParameterError):
        TraceNormMTLRegressorCV(**params).fit(X, Y)


def test_task_scorer_needs_long_format(rng):
    X, Y = shared_design(rng)
    with pytest.raises(ValueError, match="needs long format"):
        TraceNormMTLRegressorCV(scoring="nmse").fit(X, Y)


def test_y_none_raises(rng):
    X, _ = shared_design(rng)
    with pytest.raises(ValueError, match="requires y to be passed"):
        TraceNormMTLRegressorCV().fit(X, None)


def test_refit_attributes_are_the_best_estimators(rng):
    X, y = low_rank_tasks(rng)
    model = TraceNormMTLRegressorCV(alphas=5, cv=3, task_column=-1).fit(X, y)
    best = model.best_estimator_
    assert isinstance(best, TraceNormMTLRegressor)
    assert best.alpha == model.alpha_
    assert best.task_column == -1 and not best.warm_start
    for name in [
        "coef_",
        "intercept_",
        "tasks_",
        "n_iter_",
        "dual_gap_",
        "objective_history_",
        "n_features_in_",
    ]:
        np.testing.assert_array_equal(getattr(model, name), getattr(best, name))
    # The refit is an ordinary fit at alpha_ on all the data.
    alone = TraceNormMTLRegressor(alpha=model.alpha_, task_column=-1).fit(X, y)
    np.testing.assert_array_equal(model.coef_, alone.coef_)
    np.testing.assert_array_equal(model.predict(X), alone.predict(X))
    assert model.score(X, y) == alone.score(X, y)


def test_refit_on_other_data_forgets_the_old_fit(rng):
    pd = pytest.importorskip("pandas")
    X, y = low_rank_tasks(rng)
    columns = [f"x{k}" for k in range(X.shape[1] - 1)] + ["task"]
    model = TraceNormMTLRegressorCV(alphas=3, cv=3, task_column=-1)
    model.fit(pd.DataFrame(X, columns=columns), y)
    assert list(model.feature_names_in_) == columns
    model.fit(X, y)
    assert not hasattr(model, "feature_names_in_")


def test_sample_weight_is_used_in_the_fits(rng):
    X, y = low_rank_tasks(rng)
    sw = rng.uniform(0.2, 3.0, size=len(y))
    cv = TaskStratifiedKFold(3, task_column=-1, shuffle=False)
    model = TraceNormMTLRegressorCV(alphas=5, cv=cv, task_column=-1)
    model.fit(X, y, sample_weight=sw)
    search = GridSearchCV(
        TraceNormMTLRegressor(task_column=-1), {"alpha": list(model.alphas_)}, cv=cv
    ).fit(X, y, sample_weight=sw)
    assert model.alpha_ == search.best_params_["alpha"]
    np.testing.assert_allclose(model.coef_, search.best_estimator_.coef_, rtol=1e-10)
    unweighted = TraceNormMTLRegressorCV(alphas=5, cv=cv, task_column=-1).fit(X, y)
    assert not np.allclose(model.cv_scores_, unweighted.cv_scores_)


def test_group_splitters_split_by_task(rng):
    X, y = low_rank_tasks(rng, n_tasks=6)
    model = TraceNormMTLRegressorCV(
        alphas=4, cv=GroupKFold(3), task_column=-1, handle_unknown_task="mean"
    ).fit(X, y)
    assert model.cv_scores_.shape == (3, 4)
    assert np.all(np.isfinite(model.cv_scores_))


def test_n_jobs_gives_the_same_result(rng):
    X, y = low_rank_tasks(rng)
    one = TraceNormMTLRegressorCV(alphas=5, cv=3, task_column=-1).fit(X, y)
    two = TraceNormMTLRegressorCV(alphas=5, cv=3, task_column=-1, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.cv_scores_, two.cv_scores_)
    np.testing.assert_array_equal(one.coef_, two.coef_)


def test_pickle_and_clone(rng):
    X, y = classification_tasks(rng)
    model = TraceNormMTLClassifierCV(alphas=[0.3, 0.03], cv=3, task_column=-1)
    model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert restored.alpha_ == model.alpha_
    fresh = clone(model)
    assert fresh.get_params() == model.get_params()
    assert not hasattr(fresh, "coef_") and not hasattr(fresh, "alpha_")


# -- real data: School in long format ------------------------------------------------


@pytest.fixture(scope="module")
def school(shared_data_dir, tmp_path_factory):
    """load_school and its splits, read from a temporary data home."""
    from skmtl.datasets import _loaders

    home = tmp_path_factory.mktemp("skmtl_data")
    sources = {
        "school": "school_malsar/school.mat",
        "school_b": "school_argyriou/school_b.mat",
        "school_split_1": "school_argyriou/school_1_indexes.mat",
    }
    for key, relative in sources.items():
        source = Path(shared_data_dir) / relative
        if not source.exists():
            pytest.skip(f"{source} not available")
        remote = _loaders._REMOTE_FILES[key]
        (home / remote.folder).mkdir(exist_ok=True)
        shutil.copyfile(source, home / remote.folder / remote.filename)
    X, y = _loaders.load_school(data_home=home, return_X_y=True)
    train, test = _loaders.load_school_splits(1, data_home=home)
    return X, y, train, test


def test_school_long_format_with_task_stratified_folds(school):
    X, y, train, test = school
    model = TraceNormMTLRegressorCV(alphas=6, eps=1e-2, cv=3, task_column=-1)
    model.fit(X[train], y[train])
    assert model.coef_.shape == (139, 27)
    assert model.alphas_[-1] < model.alpha_ < model.alphas_[0]  # an inner optimum
    # Shared structure beats the intercept-only model (alpha_max) on held-out rows.
    assert model.mean_cv_scores_.max() > model.mean_cv_scores_[0] + 0.1
    intercepts_only = TraceNormMTLRegressor(alpha=model.alphas_[0], task_column=-1)
    intercepts_only.fit(X[train], y[train])
    assert model.score(X[test], y[test]) > intercepts_only.score(X[test], y[test]) + 0.1


# -- the path and its early termination --------------------------------------------


def overfitting_tasks(seed):
    """Few rows, many noise features: held-out R^2 falls below the
    intercept-only model as alpha decreases (early termination fires)."""
    rng = np.random.RandomState(seed)
    T, n, d = 3, 25, 15
    task = np.repeat(np.arange(T), n)
    X = rng.randn(T * n, d)
    y = 0.3 * X[:, 0] + rng.randn(T * n) + task
    return np.column_stack([X, task]), y


@pytest.mark.parametrize(
    "scores, stop",
    [
        ([0.5, 0.6, 0.4, 0.4], False),  # too few alphas after the first
        ([0.5, 0.6, 0.4, 0.4, 0.45], True),  # three in a row below alpha_max's
        ([0.5, 0.6, 0.4, 0.5, 0.4], False),  # one tie with alpha_max's: not below
        ([0.5, 0.9, 0.6, 0.6, 0.6], False),  # degraded from the best, above 0.5
        ([0.5, 0.4, 0.4, 0.4, np.nan], False),  # a NaN score: never stop
    ],
)
def test_should_stop(scores, stop):
    from skmtl.estimators._cv import _should_stop

    assert _should_stop(np.array(scores)) is stop


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_early_termination_keeps_the_choice(n_jobs, monkeypatch):
    X, y = overfitting_tasks(0)
    model = TraceNormMTLRegressorCV(task_column=-1, n_jobs=n_jobs).fit(X, y)
    monkeypatch.setattr(TraceNormMTLRegressorCV, "_early_stopping", False)
    full = TraceNormMTLRegressorCV(task_column=-1).fit(X, y)
    assert not np.isnan(full.cv_scores_).any()
    # Every fold stopped at the same alpha; the scores fitted are the full
    # grid's (same warm-started path), the rest NaN.
    fitted = ~np.isnan(model.cv_scores_)
    assert not fitted.all()
    cut = fitted.sum(axis=1)
    assert np.all(cut == cut[0]) and np.all(fitted[:, : cut[0]])
    np.testing.assert_allclose(model.cv_scores_[fitted], full.cv_scores_[fitted])
    # The fold that stopped first scored below alpha_max's score three times.
    below = full.cv_scores_[:, cut[0] - 3 : cut[0]] < full.cv_scores_[:, :1]
    assert below.all(axis=1).any()
    assert model.alpha_ == full.alpha_
    np.testing.assert_allclose(model.coef_, full.coef_)


def test_explicit_alphas_are_all_fitted():
    X, y = overfitting_tasks(0)
    alphas = TraceNormMTLRegressorCV(task_column=-1).fit(X, y).alphas_
    model = TraceNormMTLRegressorCV(alphas=alphas, task_column=-1).fit(X, y)
    assert not np.isnan(model.cv_scores_).any()


def test_each_fold_is_validated_once(monkeypatch, rng):
    """The path validates a fold's training rows once, not once per alpha."""
    from skmtl.estimators import _cv

    calls = []
    original = _cv.validate_fit_data

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(_cv, "validate_fit_data", counting)
    X, y = classification_tasks(rng)
    TraceNormMTLClassifierCV(alphas=6, cv=3, task_column=-1).fit(X, y)
    assert len(calls) == 1 + 3  # alpha_max on all rows, then one per fold


# -- scikit-learn's estimator checks ----------------------------------------------


# Small paths (2 alphas, 2 folds): the checks are about the API, not the solver.
CHECKED = [
    TraceNormMTLRegressorCV(alphas=2, cv=2),
    # Explicit, moderate alphas and max_iter: some check data (X ~ N(100, 1),
    # random labels) make every logistic fit slow to certify; the solver
    # itself is checked on TraceNormMTLClassifier in test_common.py.
    TraceNormMTLClassifierCV(alphas=[1.0, 0.1], cv=2, max_iter=1000),
    # Long format through TaskStratifiedKFold (cv=2): one task in a pipeline,
    # since the checks' random float task columns make every row its own task.
    long_format_pipeline(TraceNormMTLRegressorCV(alphas=2, cv=2, task_column=-1)),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

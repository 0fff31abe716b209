"""Bad input gets a clear ValueError that says what is wrong."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from skmtl import TraceNormMTLClassifier, TraceNormMTLRegressor, alpha_max

ESTIMATORS = [TraceNormMTLRegressor, TraceNormMTLClassifier]
N = 24


@pytest.fixture
def data():
    """Long format (task label last, two tasks) and the shared design."""
    rng = np.random.RandomState(0)
    X = rng.randn(N, 3)
    task = np.repeat([0.0, 1.0], N // 2)
    y_reg = rng.randn(N)
    y_clf = np.tile([0, 1], N // 2)
    return {
        "X": X,
        "X_long": np.column_stack([X, task]),
        TraceNormMTLRegressor: y_reg,
        TraceNormMTLClassifier: y_clf,
    }


def _long(Est, **params):
    return Est(task_column=-1, **params)


# --------------------------------------------------------------------------- #
# NaN and inf
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "infinity")])
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_non_finite_X(Est, value, word, data):
    y = data[Est]
    X = data["X"].copy()
    X[3, 1] = value
    with pytest.raises(ValueError, match=f"Input X contains {word}"):
        Est().fit(X, y)
    X_long = data["X_long"].copy()
    X_long[5, 0] = value
    with pytest.raises(ValueError, match=f"Input X contains {word}"):
        _long(Est).fit(X_long, y)
    # At predict time too.
    est = _long(Est).fit(data["X_long"], y)
    with pytest.raises(ValueError, match=f"Input X contains {word}"):
        est.predict(X_long)
    est = Est().fit(data["X"], y)
    with pytest.raises(ValueError, match=f"Input X contains {word}"):
        est.predict(X)


@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "infinity")])
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_non_finite_y(Est, value, word, data):
    y = data[Est].astype(float)
    y[2] = value
    with pytest.raises(ValueError, match=f"Input y contains {word}"):
        Est().fit(data["X"], y)
    with pytest.raises(ValueError, match=f"Input y contains {word}"):
        _long(Est).fit(data["X_long"], y)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_task_label(value, data):
    X_long = data["X_long"].copy()
    X_long[4, -1] = value
    with pytest.raises(
        ValueError, match=r"task labels contain 1 missing.*row\(s\) \[4\]"
    ):
        _long(TraceNormMTLRegressor).fit(X_long, data[TraceNormMTLRegressor])


def test_non_finite_sample_weight(data):
    sw = np.ones(N)
    sw[0] = np.nan
    with pytest.raises(ValueError, match="sample_weight contains NaN"):
        _long(TraceNormMTLRegressor).fit(
            data["X_long"], data[TraceNormMTLRegressor], sample_weight=sw
        )


# --------------------------------------------------------------------------- #
# Tasks without data, classes per task
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_task_without_positive_weight(Est, data):
    sw = np.ones(N)
    sw[N // 2 :] = 0.0  # task 1.0 keeps its rows but none of them counts
    with pytest.raises(
        ValueError, match=r"Task\(s\) \[1\.0\] have no rows with positive sample weight"
    ):
        _long(Est).fit(data["X_long"], data[Est], sample_weight=sw)


def test_shared_design_without_positive_weight(data):
    with pytest.raises(ValueError, match="at least one non-zero"):
        TraceNormMTLRegressor().fit(
            data["X"], data[TraceNormMTLRegressor], sample_weight=np.zeros(N)
        )


def test_classifier_task_with_one_class(data):
    y = np.tile([0, 1], N // 2)
    y[: N // 2] = 1  # task 0.0 is all ones
    with pytest.raises(ValueError, match=r"Task 0\.0 has only one class \(1\)"):
        _long(TraceNormMTLClassifier).fit(data["X_long"], y)
    Y = np.column_stack([np.tile([0, 1], N // 2), np.full(N, 7)])
    with pytest.raises(
        ValueError, match=r"Task 1 has only one class \(7\) in column 1"
    ):
        TraceNormMTLClassifier().fit(data["X"], Y)


def test_classifier_one_class_after_zero_weights(data):
    """A class whose rows all weigh zero does not count (it used to give NaN)."""
    y = np.tile([0, 1], N // 2)
    sw = np.where((y == 0) & (np.arange(N) < N // 2), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"Task 0\.0 has only one class \(1\)"):
        _long(TraceNormMTLClassifier).fit(data["X_long"], y, sample_weight=sw)


def test_classifier_more_than_two_classes_per_task(data):
    y = np.arange(N) % 3
    with pytest.raises(ValueError, match=r"binary.*task 0\.0 has 3 classes"):
        _long(TraceNormMTLClassifier).fit(data["X_long"], y)
    Y = np.column_stack([np.tile([0, 1], N // 2), np.arange(N) % 4])
    with pytest.raises(ValueError, match=r"binary.*task 1 has 4 classes in column 1"):
        TraceNormMTLClassifier().fit(data["X"], Y)


@pytest.mark.parametrize("task_column", [None, -1])
def test_classifier_continuous_target(task_column, data):
    X = data["X"] if task_column is None else data["X_long"]
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        TraceNormMTLClassifier(task_column=task_column).fit(
            X, data[TraceNormMTLRegressor]
        )


# --------------------------------------------------------------------------- #
# Predict-time mismatches
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_mismatched_columns_at_predict(Est, data):
    est = _long(Est).fit(data["X_long"], data[Est])
    with pytest.raises(ValueError, match="X has 3 features, but .* expecting 4"):
        est.predict(data["X_long"][:, 1:])
    est = Est().fit(data["X"], data[Est])
    with pytest.raises(ValueError, match="X has 4 features, but .* expecting 3"):
        est.predict(data["X_long"])


def test_mismatched_dataframe_columns_at_predict(data):
    df = pd.DataFrame(data["X_long"], columns=["a", "b", "c", "school"])
    y = data[TraceNormMTLRegressor]
    est = TraceNormMTLRegressor(task_column="school").fit(df, y)
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(df[["b", "a", "c", "school"]])
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        est.predict(df.rename(columns={"a": "z"}))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_unknown_task_at_predict(Est, data):
    est = _long(Est).fit(data["X_long"], data[Est])
    X_new = data["X_long"][:4].copy()
    X_new[1, -1] = 5.0
    X_new[2, -1] = 6.0
    with pytest.raises(
        ValueError, match=r"Unknown task label\(s\) \['5\.0', '6\.0'\].*known tasks"
    ):
        est.predict(X_new)


def test_unknown_string_task_at_predict(data):
    X = data["X_long"].astype(object)
    X[:, -1] = np.where(X[:, -1] == 0.0, "north", "south")
    est = _long(TraceNormMTLClassifier).fit(X, data[TraceNormMTLClassifier])
    X[0, -1] = "west"
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(ValueError, match=r"Unknown task label\(s\) \['west'\]"):
            getattr(est, method)(X)


def test_predict_with_1d_X(data):
    est = _long(TraceNormMTLRegressor).fit(data["X_long"], data[TraceNormMTLRegressor])
    with pytest.raises(ValueError, match="Reshape your data"):
        est.predict(data["X_long"][0])


# --------------------------------------------------------------------------- #
# Shapes of y and of X
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_2d_y_in_long_format(Est, data):
    Y = np.column_stack([data[Est], data[Est]])
    with pytest.raises(ValueError, match=r"y must be 1-D in long format.*\(24, 2\)"):
        _long(Est).fit(data["X_long"], Y)


def test_column_vector_y_in_long_format_is_raveled(data):
    y = data[TraceNormMTLRegressor]
    with pytest.warns(Warning, match="column-vector y"):
        est = _long(TraceNormMTLRegressor).fit(data["X_long"], y[:, None])
    ref = _long(TraceNormMTLRegressor).fit(data["X_long"], y)
    np.testing.assert_array_equal(est.coef_, ref.coef_)


@pytest.mark.parametrize("task_column", [None, -1])
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_y_of_wrong_length(Est, task_column, data):
    X = data["X"] if task_column is None else data["X_long"]
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples.*24.*23"):
        Est(task_column=task_column).fit(X, data[Est][:-1])


def test_3d_y_in_shared_design(data):
    y = data[TraceNormMTLRegressor][:, None, None]
    with pytest.raises(ValueError, match="dim 3"):
        TraceNormMTLRegressor().fit(data["X"], y)


def test_long_format_needs_a_feature_column(data):
    with pytest.raises(ValueError, match=r"1 feature\(s\).*task column"):
        _long(TraceNormMTLRegressor).fit(data["X_long"][:, -1:], np.ones(N))


@pytest.mark.parametrize("task_column", [None, -1])
def test_empty_data(task_column, data):
    X = data["X"] if task_column is None else data["X_long"]
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        TraceNormMTLRegressor(task_column=task_column).fit(X[:0], np.empty(0))


# --------------------------------------------------------------------------- #
# The task column
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("task_column", [4, -5, 10])
def test_task_column_out_of_range(task_column, data):
    with pytest.raises(
        ValueError, match=rf"task_column={task_column} is out of range: X has 4"
    ):
        TraceNormMTLRegressor(task_column=task_column).fit(
            data["X_long"], data[TraceNormMTLRegressor]
        )


def test_task_column_unknown_name(data):
    df = pd.DataFrame(data["X_long"], columns=["a", "b", "c", "school"])
    with pytest.raises(ValueError, match="task_column='shcool' is not a column of X"):
        TraceNormMTLRegressor(task_column="shcool").fit(df, data[TraceNormMTLRegressor])


def test_task_column_name_without_column_names(data):
    with pytest.raises(ValueError, match="X has no column names"):
        TraceNormMTLRegressor(task_column="school").fit(
            data["X_long"], data[TraceNormMTLRegressor]
        )


# --------------------------------------------------------------------------- #
# Sample weights and parameters
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("task_column", [None, -1])
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_negative_sample_weight(Est, task_column, data):
    X = data["X"] if task_column is None else data["X_long"]
    sw = np.ones(N)
    sw[3] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        Est(task_column=task_column).fit(X, data[Est], sample_weight=sw)


def test_sample_weight_of_wrong_length(data):
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(5,\), expected"):
        _long(TraceNormMTLRegressor).fit(
            data["X_long"], data[TraceNormMTLRegressor], sample_weight=np.ones(5)
        )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "'alpha' parameter .* must be a float in the range"),
        ({"loss_scaling": "foo"}, "'loss_scaling' parameter .* must be a str among"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"tol": -1e-3}, "'tol' parameter"),
        ({"handle_unknown_task": "ignore"}, "'handle_unknown_task' parameter"),
        ({"task_column": 1.5}, "'task_column' parameter"),
    ],
)
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_invalid_parameters(Est, params, match, data):
    with pytest.raises(InvalidParameterError, match=match):
        Est(**params).fit(data["X"], data[Est])
    assert issubclass(InvalidParameterError, ValueError)


def test_async_n_jobs_zero_is_an_error(data):
    from skmtl import AsyncTraceNormMTLRegressor

    with pytest.raises(InvalidParameterError, match="n_jobs"):
        AsyncTraceNormMTLRegressor(n_jobs=0).fit(data["X"], data[TraceNormMTLRegressor])


# --------------------------------------------------------------------------- #
# Issue 12, item 7: huge values, divergence, strings, complex y, Categorical
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("scale", [1e60, 1e130, 1e200])
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_huge_finite_X_is_refused_up_front(Est, scale, data):
    """Not "H must not contain NaN" from the solver, nor a silent all-zero fit."""
    y = data[Est]
    with pytest.raises(ValueError, match=r"X holds values as large as .* Rescale"):
        Est().fit(data["X"] * scale, y)
    with pytest.raises(ValueError, match=r"X holds values as large as .* Rescale"):
        _long(Est).fit(np.column_stack([data["X"] * scale, data["X_long"][:, -1]]), y)


def test_huge_finite_y_and_weights_are_refused(data):
    y = data[TraceNormMTLRegressor]
    with pytest.raises(ValueError, match=r"^y holds values as large as"):
        TraceNormMTLRegressor().fit(data["X"], y * 1e154)
    with pytest.raises(ValueError, match=r"^y holds values as large as"):
        _long(TraceNormMTLRegressor).fit(data["X_long"], y * 1e154)
    with pytest.raises(ValueError, match=r"^sample_weight holds values as large"):
        TraceNormMTLRegressor().fit(data["X"], y, sample_weight=np.full(N, 1e200))


def test_large_values_below_the_limit_still_fit(data):
    """The limit (1e50) is far above real data and far below overflow."""
    from skmtl.utils._validation import MAX_ABS_VALUE

    X = data["X"] / np.abs(data["X"]).max() * MAX_ABS_VALUE
    y = X @ np.array([1.0, -2.0, 0.5]) / MAX_ABS_VALUE
    model = TraceNormMTLRegressor().fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.any(model.coef_ != 0)
    assert model.score(X, y) > 0.9


def test_diverging_async_run_says_what_to_change():
    """A relaxation far above its stable range with a step near 2/L diverges:
    the error says so and names the parameters, whichever way it surfaces
    (a failed eigendecomposition in the prox or non-finite objectives)."""
    from skmtl import AsyncTraceNormMTLRegressor

    rng = np.random.RandomState(0)
    X = rng.randn(40, 5)
    Y = X @ rng.randn(5, 4)
    X[:, 0] *= 30
    L = np.linalg.norm(X, 2) ** 2 / 40  # every task's Lipschitz constant
    # Forward-backward (the 2/L bound is its own; Douglas-Rachford, the
    # default, is stable for any step).
    fb = dict(splitting="forward-backward")
    for schedule in ("async", "sync"):
        est = AsyncTraceNormMTLRegressor(
            relaxation=1.99, step_size=1.99 / L, schedule=schedule, **fb
        )
        with pytest.raises(ValueError, match=r"iteration diverged .*relaxation=1\.99"):
            est.fit(X, Y)
    # The same step without the relaxation is proximal gradient: it does not
    # diverge (a few hundred rounds are not enough to converge here).
    est = AsyncTraceNormMTLRegressor(
        step_size=1.99 / L, schedule="sync", max_iter=300, **fb
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    assert np.all(np.isfinite(est.coef_))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_string_feature_names_its_column(Est, data):
    y = data[Est]
    X = data["X"].astype(object)
    X[3, 1] = "abc"
    with pytest.raises(ValueError, match=r"Column 1 of X holds non-numeric.*'abc'"):
        Est().fit(X, y)
    df = pd.DataFrame(data["X"], columns=["a", "b", "c"])
    df["b"] = df["b"].astype(str)
    df.loc[2, "b"] = "x"
    with pytest.raises(ValueError, match=r"Column 'b' of X holds non-numeric.*'x'"):
        Est().fit(df, y)
    # Long format: the task column (last, here strings) is not a feature, and
    # positions are those of X.
    X_long = data["X_long"].astype(object)
    X_long[:, -1] = np.where(X_long[:, -1] == 0, "t0", "t1")
    Est(task_column=-1).fit(X_long, y)  # string task labels are fine
    X_long[5, 2] = "oops"
    with pytest.raises(ValueError, match=r"Column 2 of X holds non-numeric.*'oops'"):
        Est(task_column=-1).fit(X_long, y)
    # At predict time too.
    est = Est().fit(data["X"], y)
    with pytest.raises(ValueError, match=r"Column 1 of X holds non-numeric"):
        est.predict(X)


@pytest.mark.parametrize("task_column", [None, -1])
def test_complex_y_error_is_short(task_column, data):
    X = data["X"] if task_column is None else data["X_long"]
    y = data[TraceNormMTLRegressor] + 1j
    with pytest.raises(ValueError, match=r"Complex data not supported") as info:
        TraceNormMTLRegressor(task_column=task_column).fit(X, y)
    assert "y holds complex values" in str(info.value)
    assert len(str(info.value)) < 200  # the array is not printed


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_categorical_task_column_with_unused_category(Est, data):
    """An unused category is a declared task without rows: no silent drop."""
    y = data[Est]
    df = pd.DataFrame(data["X"], columns=["a", "b", "c"])
    df["task"] = pd.Categorical(data["X_long"][:, -1], categories=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"categories \[2\.0\] have no row in X"):
        Est(task_column="task").fit(df, y)
    df["task"] = df["task"].cat.remove_unused_categories()
    model = Est(task_column="task").fit(df, y)
    assert model.tasks_.tolist() == [0.0, 1.0]


def test_divergence_message_counts_task_updates_not_history_rows():
    """The history is recorded at checks, so the row of the first non-finite
    objective is not an epoch: the error gives the task updates instead."""
    from types import SimpleNamespace

    from skmtl import AsyncTraceNormMTLRegressor
    from skmtl.utils._validation import guard_divergence

    history = np.zeros(3, dtype=[("n_updates", np.int64), ("objective", float)])
    history["n_updates"] = [139, 2780, 27800]
    history["objective"] = [1.0, 0.5, np.nan]
    result = SimpleNamespace(history=history, W=np.zeros((2, 2)), b=None)
    run = guard_divergence(AsyncTraceNormMTLRegressor(), lambda: result)
    with pytest.raises(ValueError, match="non-finite within 27800 task updates"):
        run()
    # a non-finite model with a finite history is reported as such
    history["objective"][2] = 0.25
    result.W = np.full((2, 2), np.inf)
    with pytest.raises(ValueError, match="final model is non-finite"):
        run()
    # finite everywhere, but stopped because the norm of V overflowed
    result.W = np.full((2, 2), 1e300)
    result.stop_reason = "diverged"
    with pytest.raises(ValueError, match="norm of the iterates overflowed"):
        run()
    result.stop_reason = "converged"
    assert run() is result


def _sparse_frame(X):
    return pd.DataFrame.sparse.from_spmatrix(X, columns=list("abcdt"))


def _sparse_long(seed=0, n=40):
    rng = np.random.RandomState(seed)
    X = sp.random(n, 4, density=0.5, random_state=rng, format="csr")
    t = rng.randint(3, size=n)
    X = sp.hstack([X, sp.csr_matrix(t[:, None].astype(float) + 1)]).tocsr()
    return X, rng.randn(n)


def test_alpha_max_of_a_sparse_dataframe_equals_that_of_its_matrix():
    """A sparse DataFrame converts to a sparse matrix in validation: alpha_max
    then takes the sparse route, not the chunked pass over dense rows."""
    X, y = _sparse_long()
    expected = alpha_max(X, y, task_column=-1)
    assert alpha_max(_sparse_frame(X), y, task_column="t") == pytest.approx(
        expected, rel=1e-12
    )


@pytest.mark.parametrize(
    "value, message", [(np.nan, "Input X contains NaN"), (np.inf, "infinity")]
)
@pytest.mark.parametrize("classifier", [False, True])
def test_sparse_dataframe_with_non_finite_values_is_refused(value, message, classifier):
    X, y = _sparse_long()
    X.data[0] = value
    est = TraceNormMTLClassifier if classifier else TraceNormMTLRegressor
    target = (y > 0).astype(int) if classifier else y
    with pytest.raises(ValueError, match=message):
        est(alpha=0.01, task_column="t").fit(_sparse_frame(X), target)


def test_unit_weights_of_long_data_are_read_only_views():
    """Without sample_weight, every task's weights view one vector of ones:
    it is read-only, so an in-place write cannot change every task's weights."""
    from skmtl.utils._validation import validate_fit_data

    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(30, 3), np.repeat([0, 1, 2], 10)])
    data = validate_fit_data(TraceNormMTLRegressor(task_column=-1), X, rng.randn(30))
    for s in data.blocks.sample_weights:
        np.testing.assert_array_equal(s, 1.0)
        with pytest.raises(ValueError, match="read-only"):
            s[0] = 2.0


@pytest.mark.parametrize(
    "value, message", [(np.nan, "Input X contains NaN"), (np.inf, "infinity")]
)
@pytest.mark.parametrize("zero_coef", [False, True])
@pytest.mark.parametrize("classifier", [False, True])
@pytest.mark.parametrize("layout", ["dense", "csr", "sparse frame"])
def test_predict_refuses_non_finite_long_X(
    value, message, zero_coef, classifier, layout
):
    """predict finds NaN and infinity in a long-format X from the margins (an
    infinity times a zero coefficient included), with the usual message; a
    finite X is predicted as before."""
    X, y = _sparse_long(n=60)
    X = X.toarray()
    est = TraceNormMTLClassifier if classifier else TraceNormMTLRegressor
    model = est(alpha=0.01, task_column=-1).fit(X, (y > 0) if classifier else y)
    if zero_coef:
        model.coef_[:, 2] = 0.0
    predict = model.decision_function if classifier else model.predict
    expected = predict(X)
    bad = X.copy()
    bad[7, 2] = value
    if layout != "dense":
        bad = sp.csr_matrix(bad)
        if layout == "sparse frame":
            model.set_params(task_column="t")
            bad = _sparse_frame(bad)
    with pytest.raises(ValueError, match=message):
        predict(bad)
    model.set_params(task_column=-1)
    np.testing.assert_array_equal(predict(X), expected)

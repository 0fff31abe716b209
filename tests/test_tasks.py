"""Tests for the long-format helpers in skmtl._tasks."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

import skmtl._tasks
from skmtl import TraceNormMTLRegressor
from skmtl._tasks import (
    _count_int_labels,
    group_rows,
    lookup_codes,
    resolve_task_column,
    split_task_column,
    stack_tasks,
    unstack_tasks,
)
from skmtl.utils._validation import _search_task_index, validate_fit_data


def _per_task_data(sizes=(3, 1, 4), n_features=2, seed=0):
    rng = np.random.default_rng(seed)
    Xs = [rng.normal(size=(n, n_features)) for n in sizes]
    ys = [rng.normal(size=n) for n in sizes]
    return Xs, ys


# resolve_task_column ---------------------------------------------------------


@pytest.mark.parametrize(
    "task_column, expected", [(0, 0), (2, 2), (-1, 2), (-3, 0), (np.int64(1), 1)]
)
def test_resolve_task_column_positions(task_column, expected):
    assert resolve_task_column(task_column, 3) == expected


def test_resolve_task_column_names():
    columns = pd.Index(["x0", "school", "x1"])
    assert resolve_task_column("school", 3, columns=columns) == 1
    # ints are positions even when the names are ints (as in ColumnTransformer)
    assert resolve_task_column(0, 3, columns=[2, 1, 0]) == 0


@pytest.mark.parametrize(
    "task_column, columns, match",
    [
        (3, None, "out of range"),
        (-4, None, "out of range"),
        ("task", None, "no column names"),
        ("task", ["a", "b", "c"], "not a column of X"),
        ("a", ["a", "b", "a"], "names 2 columns"),
        (None, None, "must be a column position"),
        (True, None, "must be a column position"),
        (1.0, None, "int position or a column name"),
    ],
)
def test_resolve_task_column_errors(task_column, columns, match):
    with pytest.raises(ValueError, match=match):
        resolve_task_column(task_column, 3, columns=columns)


def test_resolve_task_column_columns_length_mismatch():
    with pytest.raises(ValueError, match="columns has 2 names"):
        resolve_task_column(0, 3, columns=["a", "b"])


# split_task_column -----------------------------------------------------------


def test_split_task_column_numpy():
    X = np.array([[1.0, 0.0, 2.0], [3.0, 1.0, 4.0]])
    X_features, tasks, index = split_task_column(X, 1)
    assert_array_equal(X_features, [[1.0, 2.0], [3.0, 4.0]])
    assert_array_equal(tasks, [0.0, 1.0])
    assert index == 1


def test_split_task_column_keeps_dtypes():
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    X_features, _, _ = split_task_column(X, -1)
    assert X_features.dtype == np.float32
    X = np.array([[1.5, "a"], [2.5, "b"]], dtype=object)
    X_features, tasks, _ = split_task_column(X, -1)
    assert X_features.dtype == object
    assert tasks.tolist() == ["a", "b"]


def test_split_task_column_list_with_mixed_values():
    # np.asarray would turn every value into a string; we keep the objects
    X_features, tasks, _ = split_task_column([[1.5, "a"], [2.5, "b"]], -1)
    assert X_features.dtype == object
    assert X_features[:, 0].tolist() == [1.5, 2.5]
    assert tasks.tolist() == ["a", "b"]


def test_split_task_column_dataframe():
    df = pd.DataFrame(
        {"x0": [1.0, 2.0], "school": ["s1", "s2"], "x1": np.array([3, 4], "int32")}
    )
    for task_column in ("school", 1, -2):
        X_features, tasks, index = split_task_column(df, task_column)
        assert isinstance(X_features, pd.DataFrame)
        assert list(X_features.columns) == ["x0", "x1"]
        assert X_features["x1"].dtype == np.int32
        assert tasks.tolist() == ["s1", "s2"]
        assert index == 1


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("container", ["matrix", "array"])
def test_split_task_column_sparse(fmt, container):
    dense = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [3.0, 0.0, 2.0]])
    make = sp.csr_matrix if container == "matrix" else sp.csr_array
    X = make(dense).asformat(fmt)
    X_features, tasks, index = split_task_column(X, -1)
    assert sp.issparse(X_features)
    assert X_features.format == ("csr" if fmt == "coo" else fmt)
    assert_array_equal(X_features.toarray(), dense[:, :2])
    assert_array_equal(tasks, [0.0, 1.0, 2.0])
    assert index == 2


def test_split_task_column_empty_rows_allowed():
    X_features, tasks, _ = split_task_column(np.empty((0, 3)), -1)
    assert X_features.shape == (0, 2)
    assert tasks.shape == (0,)


@pytest.mark.parametrize(
    "X, task_column, match",
    [
        (np.array([[1.0, np.nan], [2.0, 0.0]]), -1, "missing"),
        (np.array([[1.0, np.inf], [2.0, 0.0]]), -1, "non-finite"),
        (np.array([[1.0, None], [2.0, "a"]], dtype=object), -1, "missing"),
        (np.array([[1.0, 0.0], [2.0, 1.0]]), 2, "out of range"),
        (np.array([[1.0, 0.0], [2.0, 1.0]]), "task", "no column names"),
        (np.array([[0.0], [1.0]]), 0, "only the task column"),
        (np.array([1.0, 2.0]), 0, "must be 2-D"),
        (sp.csr_matrix(np.array([[0.0], [1.0]])), -1, "only the task column"),
    ],
)
def test_split_task_column_errors(X, task_column, match):
    with pytest.raises(ValueError, match=match):
        split_task_column(X, task_column)


def test_split_task_column_dataframe_errors():
    df = pd.DataFrame({"x": [1.0, 2.0], "task": ["a", None]})
    with pytest.raises(ValueError, match="missing"):
        split_task_column(df, "task")
    df = pd.DataFrame({"x": [1.0, 2.0], "task": pd.array([1, pd.NA], dtype="Int64")})
    with pytest.raises(ValueError, match="missing"):
        split_task_column(df, "task")
    with pytest.raises(ValueError, match="'school' is not a column of X"):
        split_task_column(df, "school")
    with pytest.raises(ValueError, match="only the task column"):
        split_task_column(df[["task"]].fillna(0), "task")


# stack_tasks -----------------------------------------------------------------


def test_stack_tasks_numeric_default_labels():
    Xs, ys = _per_task_data()
    X, y = stack_tasks(Xs, ys)
    assert X.dtype == np.float64
    assert X.shape == (8, 3)
    assert_array_equal(X[:, -1], [0, 0, 0, 1, 2, 2, 2, 2])
    assert_array_equal(X[:, :-1], np.vstack(Xs))
    assert_array_equal(y, np.concatenate(ys))


@pytest.mark.parametrize("task_column, index", [(0, 0), (1, 1), (-1, 2), (-3, 0)])
def test_stack_tasks_position(task_column, index):
    Xs, ys = _per_task_data(sizes=(2, 2))
    X, _ = stack_tasks(Xs, ys, tasks=[7, 3], task_column=task_column)
    assert_array_equal(X[:, index], [7, 7, 3, 3])
    assert_array_equal(np.delete(X, index, axis=1), np.vstack(Xs))


def test_stack_tasks_string_labels_give_object_array():
    Xs, ys = _per_task_data(sizes=(1, 2))
    X, _ = stack_tasks(Xs, ys, tasks=np.array(["a", "b"]))
    assert X.dtype == object
    assert X[:, -1].tolist() == ["a", "b", "b"]
    assert_array_equal(X[:, :-1].astype(float), np.vstack(Xs))


def test_stack_tasks_float32_kept_and_y_column():
    Xs = [np.ones((2, 2), np.float32), np.zeros((1, 2), np.float32)]
    ys = [np.ones((2, 1)), np.zeros((1, 1))]
    X, y = stack_tasks(Xs, ys)
    assert X.dtype == np.float32
    assert y.shape == (3,)
    # labels float32 cannot hold exactly: fall back to float64
    X, _ = stack_tasks(Xs, ys, tasks=[2**24 + 1, 0])
    assert X.dtype == np.float64
    assert X[0, -1] == 2**24 + 1


def test_stack_tasks_matlab_cell_array():
    Xs, ys = _per_task_data(sizes=(2, 3))
    cell_X = np.empty((1, 2), dtype=object)
    cell_y = np.empty((2, 1), dtype=object)
    for t in range(2):
        cell_X[0, t] = Xs[t]
        cell_y[t, 0] = ys[t].reshape(-1, 1)
    X, y = stack_tasks(cell_X, cell_y)
    assert X.shape == (5, 3)
    assert_array_equal(y, np.concatenate(ys))


@pytest.mark.parametrize("make", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
@pytest.mark.parametrize("task_column", [0, -1])
def test_stack_tasks_sparse(make, task_column):
    Xs, ys = _per_task_data(sizes=(2, 3))
    X, _ = stack_tasks([make(x) for x in Xs], ys, tasks=[0, 5], task_column=task_column)
    assert sp.issparse(X) and X.format == "csr"
    assert isinstance(X, sp.sparray) == (make is sp.csr_array)
    expected, _ = stack_tasks(Xs, ys, tasks=[0, 5], task_column=task_column)
    assert_array_equal(X.toarray(), expected)


def test_stack_tasks_sparse_mixed_with_dense():
    Xs, ys = _per_task_data(sizes=(2, 3))
    X, _ = stack_tasks([sp.csr_matrix(Xs[0]), Xs[1]], ys)
    assert sp.issparse(X)
    assert_array_equal(X.toarray(), stack_tasks(Xs, ys)[0])


def test_stack_tasks_sparse_string_labels_error():
    Xs, ys = _per_task_data(sizes=(2, 3))
    with pytest.raises(ValueError, match="sparse"):
        stack_tasks([sp.csr_matrix(x) for x in Xs], ys, tasks=["a", "b"])


def test_stack_tasks_dataframes():
    Xs, ys = _per_task_data(sizes=(2, 3))
    frames = [pd.DataFrame(x, columns=["f0", "f1"]) for x in Xs]
    X, _ = stack_tasks(frames, ys, tasks=["a", "b"])
    assert list(X.columns) == ["f0", "f1", "task"]
    assert X["task"].tolist() == ["a", "a", "b", "b", "b"]
    assert_array_equal(X.index, np.arange(5))
    X, _ = stack_tasks(frames, ys, task_column="school")
    assert list(X.columns) == ["f0", "f1", "school"]
    X, _ = stack_tasks(frames, ys, task_column=0)
    assert list(X.columns) == ["task", "f0", "f1"]


@pytest.mark.parametrize(
    "Xs, ys, kwargs, match",
    [
        ([], [], {}, "at least one task"),
        ([np.ones((2, 2))], [np.ones(2), np.ones(2)], {}, "ys has 2"),
        ([np.ones((2, 2)), np.ones((0, 2))], [np.ones(2), np.ones(0)], {}, "no rows"),
        ([np.ones((2, 2))], [np.ones(3)], {}, r"ys\[0\] has 3 targets"),
        ([np.ones((2, 2))], [np.ones((2, 2))], {}, r"ys\[0\] must have shape"),
        ([np.ones((2, 2)), np.ones((2, 3))], [np.ones(2)] * 2, {}, "same features"),
        ([np.ones(2)], [np.ones(2)], {}, "must be 2-D"),
        ([np.ones((2, 2))] * 2, [np.ones(2)] * 2, {"tasks": [1, 1]}, "unique"),
        ([np.ones((2, 2))] * 2, [np.ones(2)] * 2, {"tasks": [1]}, "1 labels for 2"),
        ([np.ones((2, 2))] * 2, [np.ones(2)] * 2, {"tasks": [1, None]}, "missing"),
        ([np.ones((2, 2))], [np.ones(2)], {"task_column": 3}, "out of range"),
        (np.ones((2, 2)), [np.ones(2)], {}, "one entry per task"),
        ([np.ones((2, 2))], 3, {}, "one entry per task"),
        ([np.ones((2, 2))], [np.ones(2)], {"tasks": [2**60 + 1]}, "too large"),
    ],
)
def test_stack_tasks_errors(Xs, ys, kwargs, match):
    with pytest.raises(ValueError, match=match):
        stack_tasks(Xs, ys, **kwargs)


def test_stack_tasks_dataframe_errors():
    a = pd.DataFrame({"f0": [1.0], "task": [2.0]})
    b = pd.DataFrame({"f0": [1.0], "g": [2.0]})
    with pytest.raises(ValueError, match="same columns"):
        stack_tasks([a, b], [[1.0], [2.0]], task_column="t")
    with pytest.raises(ValueError, match="already have a column named 'task'"):
        stack_tasks([a, a], [[1.0], [2.0]])


# unstack_tasks and round trips ----------------------------------------------


def _assert_round_trip(X_long, y, Xs, ys, tasks, task_column):
    labels, Xs_back, ys_back = unstack_tasks(X_long, y, task_column=task_column)
    order = np.argsort(tasks, kind="stable")
    assert_array_equal(labels, np.asarray(tasks)[order])
    for k, t in enumerate(order):
        X_back = Xs_back[k]
        if sp.issparse(X_back):
            X_back = X_back.toarray()
        elif isinstance(X_back, pd.DataFrame):
            X_back = X_back.to_numpy()
        assert_array_equal(np.asarray(X_back, dtype=float), Xs[t])
        assert_array_equal(ys_back[k], ys[t])


@pytest.mark.parametrize("task_column", [0, 1, -1])
def test_round_trip_numpy(task_column):
    Xs, ys = _per_task_data()
    tasks = [5, 2, 9]
    X, y = stack_tasks(Xs, ys, tasks=tasks, task_column=task_column)
    _assert_round_trip(X, y, Xs, ys, tasks, task_column)


def test_round_trip_object_strings():
    Xs, ys = _per_task_data()
    tasks = ["school_b", "school_a", "school_c"]
    X, y = stack_tasks(Xs, ys, tasks=tasks, task_column=0)
    _assert_round_trip(X, y, Xs, ys, tasks, 0)


def test_round_trip_dataframe():
    Xs, ys = _per_task_data()
    frames = [pd.DataFrame(x, columns=["a", "b"]) for x in Xs]
    tasks = ["t2", "t0", "t1"]
    X, y = stack_tasks(frames, ys, tasks=tasks, task_column="school")
    _assert_round_trip(X, y, Xs, ys, tasks, "school")
    _, Xs_back, _ = unstack_tasks(X, y, task_column="school")
    assert all(list(x.columns) == ["a", "b"] for x in Xs_back)


@pytest.mark.parametrize("make", [sp.csr_matrix, sp.csc_matrix])
def test_round_trip_sparse(make):
    Xs, ys = _per_task_data()
    tasks = [3, 1, 2]
    X, y = stack_tasks([make(x) for x in Xs], ys, tasks=tasks)
    _assert_round_trip(X, y, Xs, ys, tasks, -1)
    _assert_round_trip(make(X), y, Xs, ys, tasks, -1)


def test_unstack_keeps_row_order_and_y_none():
    X = np.array([[1.0, 1], [2.0, 0], [3.0, 1], [4.0, 0]])
    tasks, Xs, ys = unstack_tasks(X)
    assert_array_equal(tasks, [0, 1])
    assert_array_equal(Xs[0].ravel(), [2.0, 4.0])
    assert_array_equal(Xs[1].ravel(), [1.0, 3.0])
    assert ys is None
    _, _, ys = unstack_tasks(X, np.array([[1], [2], [3], [4]]))
    assert_array_equal(ys[1], [1, 3])


def test_unstack_errors():
    X = np.array([[1.0, 1], [2.0, 0]])
    with pytest.raises(ValueError, match="X has 2 rows but y has 3"):
        unstack_tasks(X, [1, 2, 3])
    with pytest.raises(ValueError, match="y must be 1-D"):
        unstack_tasks(X, np.ones((2, 2)))
    mixed = np.array([[1.0, 1], [2.0, "a"]], dtype=object)
    with pytest.raises(ValueError, match="mix types"):
        unstack_tasks(mixed)


# group_rows ------------------------------------------------------------------


def _naive_groups(labels):
    """The per-task boolean masks that group_rows replaces."""
    tasks = np.unique(labels)
    return tasks, [np.flatnonzero(labels == t) for t in tasks]


def _assert_groups_equal_masks(labels):
    g = group_rows(labels)
    tasks, rows = _naive_groups(labels)
    assert_array_equal(g.tasks, tasks)
    assert g.tasks.dtype == tasks.dtype
    assert g.n_tasks == len(tasks)
    assert_array_equal(g.counts, [len(r) for r in rows])
    for k in range(g.n_tasks):
        assert_array_equal(g.rows(k), rows[k])  # in their original order
        assert_array_equal(g.codes[rows[k]], k)
    assert_array_equal(g.order, np.argsort(g.codes, kind="stable"))
    return g


@pytest.mark.parametrize(
    "make",
    [
        # counted: small integer ranges, with unused values (missing tasks)
        lambda rng, n: rng.choice([7, -3, 100, 42, 0, 5], size=n),
        lambda rng, n: rng.choice([3.0, -1.0, 250.0], size=n),
        lambda rng, n: rng.choice([3, 1, 250], size=n).astype(np.float32),
        lambda rng, n: rng.choice([3, 1, 250], size=n).astype(np.uint8),
        lambda rng, n: rng.choice([-128, 0, 127], size=n).astype(np.int8),
        lambda rng, n: rng.choice([2**63 + 5, 2**63 + 1], size=n).astype(np.uint64),
        # sorted: fractions, wide ranges, strings, bools
        lambda rng, n: rng.choice([0.5, -1.25, 2.0], size=n),
        lambda rng, n: rng.choice([-(2**40), 0, 2**40], size=n),
        lambda rng, n: rng.choice([1e300, -1e300, 3.0], size=n),
        lambda rng, n: rng.choice(["b", "a", "task-10", "task-9"], size=n),
        lambda rng, n: rng.choice(["b", "a", "c"], size=n).astype(object),
        lambda rng, n: rng.choice([True, False], size=n),
    ],
)
def test_group_rows_equals_masks_on_unsorted_labels(make):
    rng = np.random.default_rng(0)
    for n in (1, 2, 50, 301):
        _assert_groups_equal_masks(make(rng, n))


def test_group_rows_more_tasks_than_a_16_bit_radix_pass():
    # Above 65536 tasks the order takes two 16-bit radix passes.
    rng = np.random.default_rng(1)
    n_tasks = 70_000
    labels = rng.permutation(np.repeat(np.arange(n_tasks), 2))[:100_001] * 3 - 7
    g = group_rows(labels)
    tasks, codes = np.unique(labels, return_inverse=True)
    assert_array_equal(g.tasks, tasks)
    assert_array_equal(g.codes, codes)
    assert_array_equal(g.order, np.argsort(codes, kind="stable"))


def test_group_rows_empty_and_sorted():
    g = group_rows(np.array([], dtype=float))
    assert g.n_tasks == 0 and g.starts.tolist() == [0] and g.is_sorted
    g = _assert_groups_equal_masks(np.array([1, 1, 4, 4, 4, 9]))
    assert g.is_sorted
    assert not group_rows(np.array([4, 1, 1])).is_sorted


def _labels_for(kind, rng):
    """Unsorted labels of unequal tasks: consecutive (0..T-1 or lo..hi) or not."""
    T = 30
    base = rng.permutation(np.r_[np.arange(T), rng.integers(0, T, 70)])  # n = 100
    return {
        "0..T-1 float": base.astype(np.float64),
        "0..T-1 int": base,
        "0..T-1 float32": base.astype(np.float32),
        "consecutive from -12": base - 12,
        "gaps": base * 3 + 1,
        "gaps float": base * 2.0 - 5.0,
        "int8 full range": rng.permutation(np.arange(-128, 128).repeat(2)).astype(
            np.int8
        ),
        "uint8 gaps": (base * 7).astype(np.uint8),
        "uint64": base.astype(np.uint64) + np.uint64(2**40),
        "float32 past 2**24": (base * 2 + 2**24).astype(np.float32),
    }[kind]


@pytest.mark.parametrize(
    "kind",
    [
        "0..T-1 float",
        "0..T-1 int",
        "0..T-1 float32",
        "consecutive from -12",
        "gaps",
        "gaps float",
        "int8 full range",
        "uint8 gaps",
        "uint64",
        "float32 past 2**24",
    ],
)
@pytest.mark.parametrize("chunk", [7, 1 << 16])
def test_counted_labels_in_chunks_equal_unique(monkeypatch, kind, chunk):
    # Chunks of 7 rows: n is no multiple of 7, the last chunk is partial.
    monkeypatch.setattr(skmtl._tasks, "_LOOKUP_CHUNK", chunk)
    labels = _labels_for(kind, np.random.default_rng(4))
    counted = _count_int_labels(labels)
    assert counted is not None
    tasks, codes = np.unique(labels, return_inverse=True)
    assert counted[0].dtype == labels.dtype and counted[1].dtype == np.intp
    assert_array_equal(counted[0], tasks)
    assert_array_equal(counted[1], codes)
    _assert_groups_equal_masks(labels)
    # predict's lookup of the same labels, and of labels not among the tasks
    idx = lookup_codes(tasks, labels)
    assert_array_equal(idx, codes)
    wide = np.float64 if labels.dtype.kind == "f" else np.int64  # no overflow
    lo, hi = wide(labels.min()), wide(labels.max())
    others = np.r_[labels[:9].astype(wide), hi + 1, lo - 1]
    if labels.dtype.kind == "f":
        others = np.r_[others, 0.5, 1e-300, np.nan, np.inf, -np.inf, 2.0**60 + 1]
    assert_array_equal(lookup_codes(tasks, others), _searched(tasks, others))


@pytest.mark.parametrize(
    "labels",
    [
        np.r_[np.arange(20.0), 2.0**53],  # past 2**53, in the last chunk
        np.r_[np.arange(20), 10**9],  # a range too wide to count
        np.array(list(range(20)) + [2**63 + 7], dtype=np.uint64),  # wraps as intp
        np.r_[np.arange(20.0), np.nan],
        np.r_[np.arange(20.0), -np.inf, 3.0],
    ],
)
def test_counted_labels_decline_in_a_late_chunk(monkeypatch, labels):
    monkeypatch.setattr(skmtl._tasks, "_LOOKUP_CHUNK", 7)
    assert _count_int_labels(labels) is None
    if np.isfinite(labels.astype(float)).all():
        _assert_groups_equal_masks(labels)  # sorted instead


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_task_labels_non_finite_in_any_chunk(monkeypatch, dtype, bad):
    # The finiteness check reads the labels in chunks (of 7 here): a bad
    # label in the last, partial chunk, in a strided column of X.
    monkeypatch.setattr(skmtl._tasks, "_LOOKUP_CHUNK", 7)
    X = np.zeros((30, 3), dtype=dtype)
    X[:, -1] = np.arange(30) % 4
    X[:, 0] = 1.0
    assert_array_equal(split_task_column(X, -1)[1], X[:, -1])
    X[28, -1] = bad
    with pytest.raises(ValueError, match=r"1 missing or non-finite.*\[28\]"):
        split_task_column(X, -1)


def test_counted_labels_fraction_in_the_last_chunk(monkeypatch):
    monkeypatch.setattr(skmtl._tasks, "_LOOKUP_CHUNK", 7)
    labels = np.r_[np.arange(20.0), 3.5]
    assert _count_int_labels(labels) is None  # sorted instead
    _assert_groups_equal_masks(labels)


@pytest.mark.parametrize("label_dtype", [np.int64, np.uint64, np.float64, np.int16])
@pytest.mark.parametrize("lo", [0, -5, 1000])
def test_lookup_codes_consecutive_tasks_equal_exact_matching(
    monkeypatch, label_dtype, lo
):
    # Consecutive tasks (0..T-1 and others): the offset is the index, no table.
    monkeypatch.setattr(skmtl._tasks, "_LOOKUP_CHUNK", 7)
    rng = np.random.default_rng(5)
    for task_dtype in (np.int64, np.float64, np.float32):
        tasks = np.arange(lo, lo + 25).astype(task_dtype)
        labels = rng.integers(max(lo - 10, 0), lo + 40, 101).astype(label_dtype)
        if np.dtype(label_dtype).kind == "i":
            labels = np.r_[labels, -(2**15) + 1, 2**15 - 1].astype(label_dtype)
        if np.dtype(label_dtype).kind == "f":
            labels = np.r_[labels, lo + 0.5, lo - 0.5, np.nan, 1e30, 2.0**60]
        assert_array_equal(lookup_codes(tasks, labels), _searched(tasks, labels))


@pytest.mark.parametrize("task_column", [0, -1, 1])
@pytest.mark.parametrize("shuffle", [False, True])
def test_validated_blocks_equal_masks_and_copy_x(task_column, shuffle):
    # The blocks built from one gather equal the rows picked by per-task masks,
    # and never alias the user's X (the task column is dropped by a view).
    rng = np.random.default_rng(2)
    labels = np.repeat([5.0, 2.0, 9.0], [4, 3, 5])
    if shuffle:
        labels = rng.permutation(labels)
    features = rng.normal(size=(len(labels), 3))
    X = np.insert(features, task_column % 4, labels, axis=1)
    y = rng.normal(size=len(labels))
    data = validate_fit_data(TraceNormMTLRegressor(task_column=task_column), X, y)
    assert_array_equal(data.tasks, [2.0, 5.0, 9.0])
    for k, task in enumerate(data.tasks):
        assert_array_equal(data.blocks.Xs[k], features[labels == task])
        assert_array_equal(data.blocks.ys[k], y[labels == task])
        assert not np.may_share_memory(data.blocks.Xs[k], X)
    assert data.blocks.stacked.flags.c_contiguous


# lookup_codes (predict's task index) -------------------------------------------


def _searched(tasks, labels):
    """The index of every label by exact comparison with every task."""
    match = np.asarray(labels)[:, None] == tasks[None, :]
    return np.where(match.any(axis=1), match.argmax(axis=1), -1)


@pytest.mark.parametrize("task_dtype", [np.int64, np.float64, np.uint8, np.float32])
@pytest.mark.parametrize("label_dtype", [np.int64, np.float64, np.uint64, np.int16])
def test_lookup_codes_equals_exact_matching(task_dtype, label_dtype):
    rng = np.random.default_rng(0)
    tasks = np.unique(rng.integers(0, 60, 30)).astype(task_dtype)
    labels = np.r_[rng.integers(0, 80, 200), 0, 59, 60, 79].astype(label_dtype)
    if labels.dtype.kind == "f":  # fractions, far labels, labels past 2**53
        labels = np.r_[labels, 0.5, -1.0, 1e30, -1e30, 3.0000001, 2.0**60 + 1]
    idx = lookup_codes(tasks, labels)
    assert idx.dtype == np.intp
    assert_array_equal(idx, _searched(tasks, labels))


def test_lookup_codes_only_exact_matches():
    # 1e-300 - (-1.0) rounds to the offset of task 0.0: it must not match it.
    idx = lookup_codes(np.array([-1.0, 0.0, 1.0]), np.array([1e-300, 0.0]))
    assert idx.tolist() == [-1, 1]
    # A grid of step 1 that does not start at an integer.
    idx = lookup_codes(np.array([0.5, 1.5]), np.array([0.5, 1.5, 1.0]))
    assert idx.tolist() == [0, 1, -1]
    # Integer labels against such a grid (consecutive: no table) match nothing.
    idx = lookup_codes(np.array([0.5, 1.5, 2.5]), np.array([0, 1, 2, 3]))
    assert idx.tolist() == [-1, -1, -1, -1]
    idx = lookup_codes(np.array([-0.5, 0.5]), np.array([-1, 0, 1], dtype=np.int8))
    assert idx.tolist() == [-1, -1, -1]
    # Integer tasks past 2**53 share float64 offsets: searched instead.
    tasks = np.array([2**53, 2**53 + 1, 2**53 + 2], dtype=np.int64)
    labels = np.array([2**53 + 1, 2**53 + 2, 2**53 + 3], dtype=np.int64)
    assert lookup_codes(tasks, labels) is None
    assert _search_task_index(tasks, labels).tolist() == [1, 2, -1]
    # NaN and infinite labels match no task.
    idx = lookup_codes(np.array([0, 1, 2]), np.array([0.0, np.nan, 2.0, np.inf]))
    assert idx.tolist() == [0, -1, 2, -1]


@pytest.mark.parametrize(
    "tasks, labels",
    [
        (np.array(["a", "b"]), np.array(["a"])),  # strings: searched instead
        (np.array([0.1, 0.35]), np.array([0.1])),  # not on an integer grid
        (np.array([0, 10**9]), np.array([0])),  # a range much wider than T
        (np.array([0, 1]), np.array(["a"], dtype=object)),
    ],
)
def test_lookup_codes_declines(tasks, labels):
    assert lookup_codes(tasks, labels) is None

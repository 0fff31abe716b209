"""Lazy task blocks (long format): the same data as the eager lists, made once.

Also the chunked row pass they stream (``task_chunks``) and the Gram form's
one-pass build from it, against the per-task loop it replaced.
"""

import threading

import numpy as np
import pytest
import scipy.sparse as sp

from skmtl import TraceNormMTLRegressor
from skmtl.datafits._blocks import TaskBlocks, streamed_gram
from skmtl.datafits._linalg import centered_gram, data_sizes
from skmtl.datafits._losses import SquaredLoss
from skmtl.utils import _rowpass as rowpass
from skmtl.utils._rowpass import task_chunks
from skmtl.utils._validation import validate_fit_data


def _long_data(sizes, d=4, seed=0, weights=True):
    rng = np.random.default_rng(seed)
    codes = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    n = codes.size
    X = rng.normal(size=(n, d))
    y = rng.normal(size=n)
    sw = rng.uniform(0.5, 2.0, size=n) if weights else None
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)))
    return X, order, starts, y, sw


def _eager(X, order, starts, y, sw):
    Xo, yo = X[order], y[order]
    so = np.ones(len(order)) if sw is None else sw[order]
    cut = [slice(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    blocks = TaskBlocks(
        [Xo[r] for r in cut],
        [yo[r] for r in cut],
        [so[r] for r in cut],
        np.ones(len(cut)),
    )
    blocks.stacked = Xo
    return blocks


def _lazy(X, order, starts, y, sw):
    so = None if sw is None else sw[order]
    return TaskBlocks.from_rows(
        X, order, starts, y[order], so, np.ones(len(starts) - 1)
    )


@pytest.mark.parametrize("weights", [True, False])
def test_lazy_blocks_equal_eager(weights):
    args = _long_data([3, 1, 7, 2, 5], weights=weights)
    eager, lazy = _eager(*args), _lazy(*args)
    assert lazy.is_lazy and lazy.n_tasks == 5 and lazy.n_features == 4
    np.testing.assert_array_equal(lazy.sizes, [3, 1, 7, 2, 5])
    np.testing.assert_array_equal(lazy.task_totals(), eager.task_totals())
    assert lazy.is_lazy  # sizes and totals did not copy X
    for name in ("Xs", "ys", "sample_weights"):
        for a, b in zip(getattr(lazy, name), getattr(eager, name), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lazy.stacked, eager.stacked)
    assert not lazy.is_lazy
    # The Xs are views of the one stacked copy, which does not alias X.
    assert all(np.shares_memory(Xt, lazy.stacked) for Xt in lazy.Xs)
    assert not np.shares_memory(lazy.stacked, args[0])
    if not weights:
        assert not lazy.sample_weights[0].flags.writeable


def test_sorted_lazy_blocks_copy_only_when_asked():
    X, _, starts, y, sw = _long_data([2, 3])
    aliased = TaskBlocks.from_rows(X, None, starts, y, sw, np.ones(2), copy=True)
    fresh = TaskBlocks.from_rows(X, None, starts, y, sw, np.ones(2), copy=False)
    assert not np.shares_memory(aliased.stacked, X)
    assert fresh.stacked is X
    np.testing.assert_array_equal(aliased.Xs[1], X[2:])


def test_materialization_happens_once_and_is_thread_safe():
    blocks = _lazy(*_long_data([50] * 40, d=30))
    barrier, seen = threading.Barrier(4), []

    def read():
        barrier.wait()
        seen.append((blocks.Xs, blocks.ys, blocks.sample_weights, blocks.stacked))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(seen) == 4
    for k in range(4):
        assert all(s[k] is seen[0][k] for s in seen)
    assert blocks.Xs is seen[0][0]


def test_lazy_sparse_blocks():
    X, _, starts, y, sw = _long_data([2, 3, 1])
    Xs = sp.csr_matrix(X)
    with pytest.raises(ValueError, match="task order"):
        TaskBlocks.from_rows(Xs, np.arange(6), starts, y, sw, np.ones(3))
    blocks = TaskBlocks.from_rows(Xs, None, starts, y, sw, np.ones(3), copy=False)
    assert blocks.is_sparse() and blocks.n_stored() == Xs.nnz
    chunks = list(blocks.task_chunks(max_rows=4))
    assert [(t0, t1) for t0, t1, _ in chunks] == [(0, 1), (1, 3)]
    np.testing.assert_array_equal(chunks[1][2].toarray(), X[2:])
    assert blocks.is_lazy
    np.testing.assert_array_equal(blocks.Xs[1].toarray(), X[2:5])


def _rows_seen(X, rows, starts, max_rows):
    covered, t_next = [], 0
    for t0, t1, chunk in task_chunks(X, rows, starts, max_rows=max_rows):
        assert t0 == t_next and t1 > t0
        a, b = starts[t0], starts[t1]
        assert chunk.shape == (b - a, X.shape[1]) and chunk.flags.c_contiguous
        assert b - a <= max_rows or t1 == t0 + 1  # only a lone task overflows
        expect = X[a:b] if rows is None else X[rows[a:b]]
        np.testing.assert_array_equal(chunk, expect)
        covered.append(np.arange(a, b))
        t_next = t1
    assert t_next == len(starts) - 1
    return np.concatenate(covered) if covered else np.array([], dtype=int)


@pytest.mark.parametrize("sorted_rows", [True, False])
@pytest.mark.parametrize(
    "sizes, max_rows",
    [
        ([3, 1, 7, 2, 5], 6),  # unequal sizes, a task larger than the chunk
        ([4] * 10, 8),  # exact fits
        ([4] * 10, 1),  # every task alone, each larger than the chunk
        ([100], 7),  # a single huge task
        ([2, 0, 3, 0, 0, 1], 3),  # empty tasks
        ([5, 5], 1000),  # one chunk for all
    ],
)
def test_task_chunks_cover_every_row_once_in_task_order(sizes, max_rows, sorted_rows):
    rng = np.random.default_rng(1)
    n = sum(sizes)
    X = rng.normal(size=(n, 3))
    rows = None if sorted_rows else rng.permutation(n)
    starts = np.concatenate(([0], np.cumsum(sizes)))
    np.testing.assert_array_equal(_rows_seen(X, rows, starts, max_rows), np.arange(n))


def test_task_chunks_of_a_strided_view_and_no_tasks():
    rng = np.random.default_rng(2)
    Xl = rng.normal(size=(12, 5))
    X = Xl[:, 1:]  # the features beside a task column
    starts = np.array([0, 5, 12])
    _rows_seen(X, rng.permutation(12), starts, 6)
    _rows_seen(X, None, starts, 6)
    assert list(task_chunks(X, None, np.array([0]))) == []


def _old_gram(blocks, ycs, centered):
    """The per-task loop ``SquaredLoss._build_gram`` ran before (reference)."""
    T, d = blocks.n_tasks, blocks.n_features
    xbar = np.zeros((d, T))
    H, Q, c = np.empty((T, d, d)), np.empty((d, T)), np.empty(T)
    for t in range(T):
        X, s, yc, scale = (
            blocks.Xs[t],
            blocks.sample_weights[t],
            ycs[t],
            blocks.scales[t],
        )
        if centered:
            xbar[:, t] = (s @ X) / s.sum()
        H[t] = centered_gram(X, s, xbar[:, t] if centered else None) / scale
        Q[:, t] = (X.T @ (s * yc)) / scale
        c[t] = s @ (yc * yc) / scale
    return xbar.T, H, Q, c


@pytest.mark.parametrize("centered", [True, False])
@pytest.mark.parametrize("weights", [True, False])
@pytest.mark.parametrize("scaling", ["mean", "sum"])
@pytest.mark.parametrize("sizes", [[6] * 9, [3, 1, 7, 2, 5, 6, 6, 6]])
def test_streamed_gram_matches_the_per_task_loop(
    centered, weights, scaling, sizes, monkeypatch
):
    args = _long_data(sizes, d=5, seed=3, weights=weights)
    lazy, eager = _lazy(*args), _eager(*args)
    for b in (lazy, eager):
        b.scales = b.task_totals() if scaling == "mean" else np.ones(b.n_tasks)
    ycs = [y - y.mean() for y in eager.ys]
    ref = _old_gram(eager, ycs, centered)
    # Chunks of 13 rows at most: several, some of equal sizes, some mixed.
    monkeypatch.setattr(rowpass, "_chunk_rows", lambda d: 13)
    for blocks in (lazy, eager):
        got = streamed_gram(blocks, ycs, centered)
        for a, b in zip(got, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    assert lazy.is_lazy  # streamed, never copied


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_squared_loss_gram_form_from_lazy_blocks(fit_intercept):
    rng = np.random.default_rng(4)
    T, n_t, d = 30, 12, 4
    codes = rng.permutation(np.repeat(np.arange(T), n_t))
    Xl = np.column_stack([rng.normal(size=(T * n_t, d)), codes])
    y = rng.normal(size=T * n_t)
    sw = rng.uniform(0.5, 2.0, size=T * n_t)
    est = TraceNormMTLRegressor(task_column=-1)
    blocks = validate_fit_data(est, Xl, y, sw).blocks
    assert blocks.is_lazy
    sizes, stored, nnz = data_sizes(blocks, False)
    assert sizes == [n_t] * T and stored == nnz == T * n_t * d
    loss = SquaredLoss(blocks, fit_intercept=fit_intercept, use_gram=True)
    assert blocks.is_lazy
    xbarT, H, Q, c = _old_gram(_eager_from(blocks), loss.ycs, fit_intercept)
    np.testing.assert_allclose(loss.H, H, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(loss.Q, Q, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(loss.c, c, rtol=1e-13)
    np.testing.assert_allclose(loss.xbar, xbarT.T, rtol=1e-13, atol=1e-15)


def _eager_from(blocks):
    return TaskBlocks(
        [X.copy() for X in blocks.Xs], blocks.ys, blocks.sample_weights, blocks.scales
    )


def _reference_blocks(Xl, y, sw, classifier=False):
    """The blocks long-format validation built before: X[order] cut per task."""
    codes = Xl[:, -1]
    tasks, inverse = np.unique(codes, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    sizes = np.bincount(inverse)
    starts = np.concatenate(([0], np.cumsum(sizes)))
    Xo, yo = np.ascontiguousarray(Xl[order, :-1]), y[order]
    so = np.ones(len(y)) if sw is None else sw[order]
    cut = [slice(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    ys = [yo[r] for r in cut]
    if classifier:
        ys = [np.where(v == np.unique(v).max(), 1.0, -1.0) for v in ys]
    return [Xo[r] for r in cut], ys, [so[r] for r in cut]


@pytest.mark.parametrize("layout", ["unsorted", "sorted", "fortran"])
@pytest.mark.parametrize("weights", [True, False])
@pytest.mark.parametrize("classifier", [False, True])
def test_validated_long_blocks_are_lazy_and_equal_the_old_ones(
    layout, weights, classifier
):
    rng = np.random.default_rng(5)
    sizes = [4, 7, 2, 5, 5]
    codes = np.repeat(np.arange(len(sizes)) * 10.0, sizes)
    if layout == "unsorted":
        codes = rng.permutation(codes)
    n = codes.size
    Xl = np.column_stack([rng.normal(size=(n, 3)), codes])
    if layout == "fortran":
        Xl = np.asfortranarray(Xl)
    y = rng.normal(size=n)
    if classifier:  # two classes in every task
        y = np.zeros(n)
        for c in np.unique(codes):
            y[np.flatnonzero(codes == c)[:1]] = 1.0
    sw = rng.uniform(0.5, 2.0, size=n) if weights else None
    est = TraceNormMTLRegressor(task_column=-1)
    blocks = validate_fit_data(est, Xl, y, sw, classifier=classifier).blocks
    assert blocks.is_lazy
    np.testing.assert_array_equal(blocks.sizes, sizes)
    Xs, ys, ss = _reference_blocks(Xl, y, sw, classifier)
    np.testing.assert_allclose(blocks.scales, [s.sum() for s in ss], rtol=0)
    for got, ref in ((blocks.Xs, Xs), (blocks.ys, ys), (blocks.sample_weights, ss)):
        for a, b in zip(got, ref, strict=True):
            np.testing.assert_array_equal(a, b)
    assert blocks.stacked.flags.c_contiguous
    assert not np.shares_memory(blocks.stacked, Xl)


@pytest.mark.parametrize("logistic", [False, True])
def test_certified_curvatures_stream_lazy_blocks(logistic):
    from skmtl._amtl._certified import _mean_curvatures
    from skmtl.datafits._losses import LogisticLoss

    args = _long_data([3, 1, 7, 2, 5, 5, 5], d=4, seed=6)
    y = np.sign(args[3]) + (args[3] == 0)
    args = (*args[:3], y, args[4])
    lazy, eager = _lazy(*args), _eager(*args)
    make = LogisticLoss if logistic else SquaredLoss
    W = np.random.default_rng(0).normal(size=(4, 7))
    for kw in ({}, {"W": W}) if logistic else ({},):
        ref = _mean_curvatures(make(eager), **kw)
        got = _mean_curvatures(make(lazy), **kw)
        np.testing.assert_array_equal(got, ref)
    assert lazy.is_lazy


def test_threading_step_flops_read_sizes_only():
    from skmtl._amtl.backends._threading import _step_flops

    lazy = _lazy(*_long_data([3, 9, 2], d=4))
    loss = SquaredLoss(lazy, use_gram=False)
    assert _step_flops(loss) == 4 * 9
    assert lazy.is_lazy

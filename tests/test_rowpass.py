"""The chunked row gather copies exactly the rows asked for, whatever the layout."""

import numpy as np
import pytest
import scipy.sparse as sp

from skmtl.utils import _rowpass
from skmtl.utils._rowpass import _CHUNK_BYTES, gather_rows, task_row_sums


def _layouts(rng, n, d):
    base = rng.normal(size=(n, d + 1))
    base[rng.random(base.shape) < 0.05] = -0.0
    yield "C", base[:, :d].copy()
    yield "features beside a last column", base[:, :d]
    yield "features beside a first column", base[:, 1:]
    yield "F", np.asfortranarray(base[:, :d])
    yield "every other column", np.repeat(base[:, :d], 2, axis=1)[:, ::2]
    yield "reversed columns", base[:, d - 1 :: -1]
    yield "reversed rows", base[::-1, :d]
    yield "float32", base[:, :d].astype(np.float32)
    yield "big-endian", base[:, :d].astype(">f8")


@pytest.mark.parametrize("d", [1, 3, 50])
def test_gather_rows_matches_fancy_indexing(d):
    rng = np.random.default_rng(0)
    n = 2 * _CHUNK_BYTES // (8 * d) + 17  # several chunks and a partial one
    order = rng.permutation(n)
    for name, X in _layouts(rng, n, d):
        out, stats = gather_rows(X, order)
        expected = np.asarray(X[order], dtype=np.float64)
        assert out.flags.c_contiguous and out.dtype == np.float64, name
        # the same bytes: signed zeros included
        assert np.array_equal(out.view(np.int64), expected.view(np.int64)), name
        assert stats.finite and stats.largest == np.abs(expected).max(), name


def test_gather_rows_reports_non_finite_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1000, 6))[:, :5]
    X[123, 2] = np.nan
    out, stats = gather_rows(X, rng.permutation(1000))
    assert not stats.finite
    assert np.isnan(out).sum() == 1


def test_task_row_sums_matches_per_task_sums():
    rng = np.random.default_rng(2)
    n, d, T = 5000, 4, 37
    Xl = rng.normal(size=(n, d + 1))
    X = Xl[:, :d]
    codes = rng.integers(0, T, n)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(T + 1))
    w = rng.random(n)
    sums, stats = task_row_sums(X, order, starts, lambda rows: w[rows])
    expected = np.array(
        [(w[codes == t, None] * X[codes == t]).sum(0) for t in range(T)]
    )
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)
    assert stats.finite


def _reference_sums(X, codes, w, T):
    """Per task, the weighted sum of its rows, by np.add.at."""
    expected = np.zeros((T, X.shape[1]))
    np.add.at(expected, codes, w[:, None] * np.asarray(X, dtype=np.float64))
    return expected


@pytest.mark.parametrize("in_order", [False, True])
@pytest.mark.parametrize("chunk_bytes", [8 * 3 * 5, 8 * 3 * 64, _CHUNK_BYTES])
def test_task_row_sums_one_product_per_chunk(monkeypatch, in_order, chunk_bytes):
    # Unequal tasks: some of one row, some longer than a chunk (so a chunk may
    # hold no task start at all), tasks in an unsorted order; n not a
    # multiple of the chunk size.
    monkeypatch.setattr(_rowpass, "_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(3)
    sizes = np.r_[1, 1, 200, 3, 1, 77, 1, rng.integers(1, 12, 40)]
    T, d = len(sizes), 3
    codes = rng.permutation(np.repeat(np.arange(T), sizes))
    if in_order:
        codes = np.sort(codes)
    n = len(codes)
    X = rng.normal(size=(n, d + 1))[:, :d]  # the features of a long X
    w = rng.normal(size=n)
    order = np.argsort(codes, kind="stable")
    starts = np.r_[0, np.cumsum(sizes)]
    sums, stats = task_row_sums(
        X, None if in_order else order, starts, lambda rows: w[rows]
    )
    np.testing.assert_allclose(
        sums, _reference_sums(X, codes, w, T), rtol=1e-13, atol=1e-13
    )
    assert stats.finite and stats.largest == np.abs(X).max()


def test_task_row_sums_float32_and_unit_weights():
    rng = np.random.default_rng(4)
    n, d, T = 3001, 5, 13
    X = rng.normal(size=(n, d)).astype(np.float32)
    codes = rng.integers(0, T, n)
    codes[:T] = np.arange(T)  # every task has a row
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(T + 1))
    sums, _ = task_row_sums(X, order, starts, lambda rows: np.ones(len(rows)))
    expected = _reference_sums(X, codes, np.ones(n), T)
    np.testing.assert_allclose(sums, expected, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_segment_sums_dense_or_sparse_with_empty_segments(sparse):
    rng = np.random.default_rng(5)
    chunk = rng.normal(size=(10, 4))
    chunk[rng.random(chunk.shape) < 0.5] = 0.0
    w = rng.normal(size=10)
    # Segments clipped to the chunk: the first and last run past it, and
    # empty ones (equal bounds) sum to zero.
    bounds = np.array([-3, 2, 2, 7, 7, 7, 15])
    cols = np.arange(10, dtype=np.int32)
    data = sp.csr_matrix(chunk) if sparse else chunk
    out = _rowpass._segment_sums(data, bounds, w, cols)
    clipped = np.clip(bounds, 0, 10)
    expected = [
        (w[a:b, None] * chunk[a:b]).sum(0)
        for a, b in zip(clipped[:-1], clipped[1:], strict=True)
    ]
    assert isinstance(out, np.ndarray) and out.shape == (6, 4)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    assert not out[[1, 3]].any()

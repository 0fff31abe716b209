"""The chunked row gather copies exactly the rows asked for, whatever the layout."""

import numpy as np
import pytest

from skmtl.utils._rowpass import _CHUNK_BYTES, gather_rows, task_row_sums


def _layouts(rng, n, d):
    base = rng.normal(size=(n, d + 1))
    base[rng.random(base.shape) < 0.05] = -0.0
    yield "C", base[:, :d].copy()
    yield "features beside a last column", base[:, :d]
    yield "features beside a first column", base[:, 1:]
    yield "F", np.asfortranarray(base[:, :d])
    yield "every other column", np.ascontiguousarray(base[:, :2])[:, ::2]
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

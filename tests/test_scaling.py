"""Linear-time task handling and the cost-aware forms of the data-fits.

Every fast path is compared with the naive computation it replaces: per-task
boolean masks for grouping and prediction, dense eigenvalue problems for the
Lipschitz constants, and the Gram-form solver for the other forms.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skmtl import TraceNormMTLClassifier, TraceNormMTLRegressor
from skmtl._tasks import group_rows
from skmtl.datafits._linalg import (
    RowOperator,
    centered_gram,
    centered_kernel,
    choose_form,
    lanczos_max_eig,
    max_eig_gram,
    row_margins,
)


def _labels(kind, n, n_tasks, rng):
    codes = rng.integers(0, n_tasks, size=n)
    if kind == "int":
        return np.array([7, -3, 100, 42, 0, 5, 9, 11, 13, 17][:n_tasks])[codes]
    if kind == "float":
        return np.linspace(-1.5, 2.5, n_tasks)[codes]
    return np.array([f"task-{k * 37 % 11}" for k in range(n_tasks)], dtype=object)[
        codes
    ]


@pytest.mark.parametrize("kind", ["int", "float", "str"])
def test_group_rows_equals_mask_grouping(kind):
    rng = np.random.default_rng(0)
    labels = _labels(kind, 200, 7, rng)
    g = group_rows(labels)
    naive_tasks = np.unique(labels)
    assert_array_equal(g.tasks, naive_tasks)
    assert g.n_tasks == len(naive_tasks)
    for k, name in enumerate(naive_tasks):
        assert_array_equal(g.rows(k), np.flatnonzero(labels == name))
        assert_array_equal(g.order[g.slices()[k]], np.flatnonzero(labels == name))
    assert_array_equal(g.tasks[g.codes], labels)
    assert_array_equal(g.counts, [np.sum(labels == t) for t in naive_tasks])
    assert not g.is_sorted
    assert group_rows(np.sort(labels)).is_sorted


def test_group_rows_mixed_types_error():
    with pytest.raises(ValueError, match="cannot be sorted"):
        group_rows(np.array([1, "a", 2.0], dtype=object))


@pytest.mark.parametrize("sparse", [False, True])
def test_row_margins_equals_per_row_products(sparse):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 9))
    X[rng.random(X.shape) < 0.6] = 0.0
    C = rng.normal(size=(5, 9))
    model = rng.integers(0, 5, size=300)
    expected = np.array([X[i] @ C[model[i]] for i in range(300)])
    Xin = sp.csr_matrix(X) if sparse else X
    assert_allclose(row_margins(Xin, C, model), expected, rtol=1e-12, atol=1e-12)


def _long_data(n_tasks=6, n_per=15, d=4, seed=0, classify=False):
    rng = np.random.default_rng(seed)
    names = np.array([f"s{k}" for k in rng.permutation(n_tasks)], dtype=object)
    labels = np.repeat(names, n_per)
    perm = rng.permutation(len(labels))
    labels = labels[perm]
    X = rng.normal(size=(len(labels), d))
    y = X @ rng.normal(size=d) + rng.normal(size=len(labels))
    if classify:
        y = np.where(y > 0, "yes", "no")
    Xl = np.column_stack([X.astype(object), labels])
    return Xl, y, X, labels


@pytest.mark.parametrize("classify", [False, True])
def test_predict_gather_equals_per_task_predict(classify):
    Xl, y, X, labels = _long_data(classify=classify)
    Est = TraceNormMTLClassifier if classify else TraceNormMTLRegressor
    est = Est(alpha=0.01, task_column=-1).fit(Xl, y)
    margin = est.decision_function(Xl) if classify else est.predict(Xl)
    naive = np.empty(len(y))
    for k, name in enumerate(est.tasks_):
        rows = np.flatnonzero(labels == name)
        naive[rows] = X[rows] @ est.coef_[k] + est.intercept_[k]
    assert_allclose(margin, naive, rtol=1e-12, atol=1e-12)


def test_fit_on_shuffled_rows_equals_fit_on_grouped_rows():
    """The one gather of validation gives each task its rows in order."""
    Xl, y, X, labels = _long_data(seed=3)
    order = np.argsort(labels, kind="stable")
    a = TraceNormMTLRegressor(alpha=0.05, task_column=-1, tol=1e-10).fit(Xl, y)
    b = TraceNormMTLRegressor(alpha=0.05, task_column=-1, tol=1e-10).fit(
        Xl[order], y[order]
    )
    assert_array_equal(a.tasks_, b.tasks_)
    assert_allclose(a.coef_, b.coef_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("extra_ones", [False, True])
@pytest.mark.parametrize("shape", [(40, 6), (6, 40)])
def test_max_eig_gram_every_path(sparse, center, extra_ones, shape):
    rng = np.random.default_rng(2)
    X = rng.normal(size=shape) * (rng.random(shape) < 0.5)
    s = rng.uniform(0.2, 2.0, size=shape[0])
    xbar = (s @ X) / s.sum() if center else None
    A = X - xbar if center else X
    if extra_ones:
        A = np.column_stack([A, np.ones(shape[0])])
    expected = np.linalg.eigvalsh(A.T @ (A * s[:, None]))[-1]
    Xin = sp.csr_matrix(X) if sparse else X
    assert_allclose(max_eig_gram(Xin, s, xbar, extra_ones), expected, rtol=1e-10)
    op = RowOperator(Xin, s, xbar, extra_ones=extra_ones)
    lan = lanczos_max_eig(op, tol=1e-10)
    assert expected <= lan <= 1.02 * expected


def test_centered_gram_and_kernel_sparse_equal_dense():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(12, 30)) * (rng.random((12, 30)) < 0.2)
    s = rng.uniform(0.5, 1.5, 12)
    xbar = (s @ X) / s.sum()
    B = (X - xbar) * np.sqrt(s / 3.0)[:, None]
    assert_allclose(
        centered_kernel(sp.csr_matrix(X), s, xbar, 3.0), B @ B.T, atol=1e-12
    )
    assert_allclose(centered_gram(sp.csr_matrix(X), s, xbar), 3.0 * B.T @ B, atol=1e-12)


def test_choose_form_follows_the_costs():
    # Many short tasks, few features: Gram form (School-like).
    assert choose_form([110] * 139, 28, 110 * 139 * 28) == "gram"
    # Wide tasks: the n_t x n_t kernels are cheaper (T = 100, d = 5000).
    assert choose_form([100] * 100, 5000, 100 * 100 * 5000) == "sample"
    assert choose_form([100] * 1000, 200, 100 * 1000 * 200) == "sample"
    # Very wide, very sparse, long tasks: first-order on the data.
    assert choose_form([1000] * 20, 20_000, 20 * 1000 * 100) == "data"

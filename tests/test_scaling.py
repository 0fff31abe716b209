"""Linear-time task handling and the cost-aware forms of the data-fits.

Every fast path is compared with the naive computation it replaces: per-task
boolean masks for grouping and prediction, dense eigenvalue problems for the
Lipschitz constants, and the Gram-form solver for the other forms.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import skmtl._tasks
from skmtl import TraceNormMTLClassifier, TraceNormMTLRegressor, alpha_max
from skmtl._tasks import group_rows, lookup_codes
from skmtl.datafits import _linalg
from skmtl.datafits._linalg import (
    RowOperator,
    centered_gram,
    centered_kernel,
    choose_form,
    lanczos_max_eig,
    max_eig_gram,
    row_margins,
)
from skmtl.datafits._losses import SquaredLoss
from skmtl.penalties._base import make_penalty
from skmtl.utils import _rowpass
from skmtl.utils._validation import validate_fit_data


def _labels(kind, n, n_tasks, rng):
    codes = rng.integers(0, n_tasks, size=n)
    if kind == "int":
        return np.array([7, -3, 100, 42, 0, 5, 9, 11, 13, 17][:n_tasks])[codes]
    if kind == "float":
        return np.linspace(-1.5, 2.5, n_tasks)[codes]
    return np.array([f"task-{k * 37 % 11}" for k in range(n_tasks)], dtype=object)[
        codes
    ]


@pytest.mark.parametrize("chunk", [None, 7])
@pytest.mark.parametrize("kind", ["int", "float", "str"])
def test_group_rows_equals_mask_grouping(kind, chunk, monkeypatch):
    if chunk is not None:  # labels mapped in chunks of 7 rows
        monkeypatch.setattr(skmtl._tasks, "_LOOKUP_CHUNK", chunk)
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
    # predict's table lookup (chunked too), with a label not seen in fit
    idx = lookup_codes(np.arange(1.0, g.n_tasks), g.codes.astype(float))
    assert_array_equal(idx, g.codes - 1)


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


@pytest.mark.parametrize("block", [7, 64, 1 << 13])
@pytest.mark.parametrize("layout", ["long", "float32", "csr", "csc", "C"])
@pytest.mark.parametrize("offsets", [False, True])
def test_row_margins_in_blocks_equal_a_full_gather(monkeypatch, block, layout, offsets):
    # Blocks of 7 and 64 rows: n = 1000 is no multiple of either, and the
    # last block is partial; one block (8192) covers every row.
    monkeypatch.setattr(_linalg, "_MARGIN_BLOCK", block)
    rng = np.random.default_rng(2)
    n, d, T = 1000, 6, 40
    Xl = rng.normal(size=(n, d + 1))
    Xl[rng.random(Xl.shape) < 0.3] = 0.0
    C = rng.normal(size=(T, d))
    model = rng.integers(0, T, size=n)
    b = rng.normal(size=T) if offsets else None
    X = {
        "long": Xl[:, :d],  # the features beside the task column: a view
        "float32": Xl[:, :d].astype(np.float32),
        "csr": sp.csr_matrix(Xl[:, :d]),
        "csc": sp.csc_matrix(Xl[:, :d]),
        "C": np.ascontiguousarray(Xl[:, :d]),
    }[layout]
    dense = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    expected = (dense * C[model]).sum(axis=1)  # the full n x d gather
    if offsets:
        expected += b[model]
    out = row_margins(X, C, model, b)
    assert out.shape == (n,) and out.dtype == np.float64
    assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("values", [1, 5, 64, 1 << 19])
def test_sparse_row_margins_in_blocks_equal_one_bincount(monkeypatch, values):
    # Blocks of about 1, 5 and 64 stored entries, and one block: empty rows
    # and a run of empty rows (an empty block), unsorted indices.
    monkeypatch.setattr(_linalg, "_MARGIN_VALUES", values)
    rng = np.random.default_rng(7)
    n, d, T = 301, 8, 12
    X = sp.random(n, d, density=0.3, format="csr", random_state=7)
    keep = rng.random((n, 1)) > 0.2  # empty rows
    keep[100:160] = False
    X = sp.csr_matrix(X.multiply(keep))
    X.eliminate_zeros()
    X.indices = X.indices.copy()
    for i in range(0, n, 3):  # reverse the indices of some rows
        a, b = X.indptr[i], X.indptr[i + 1]
        X.indices[a:b], X.data[a:b] = X.indices[a:b][::-1], X.data[a:b][::-1]
    C = rng.normal(size=(T, d))
    model = rng.integers(0, T, size=n)
    b = rng.normal(size=T)
    row_of = np.repeat(np.arange(n), np.diff(X.indptr))
    whole = np.bincount(
        row_of, weights=X.data * C[model[row_of], X.indices], minlength=n
    )
    # the same sums, in the same order: bit-identical to one bincount
    assert_array_equal(row_margins(X, C, model), whole)
    # CSC: converted to CSR with sorted indices, another order of the sums
    out = row_margins(X.tocsc(), C, model, b)
    assert_allclose(out, whole + b[model], rtol=1e-13, atol=1e-13)
    assert_allclose(whole, (X.toarray() * C[model]).sum(1), rtol=1e-13, atol=1e-13)


def test_row_margins_wide_x_bounds_the_block(monkeypatch):
    monkeypatch.setattr(_linalg, "_MARGIN_VALUES", 100)  # 3 rows of 30
    rng = np.random.default_rng(3)
    X, C = rng.normal(size=(10, 30)), rng.normal(size=(4, 30))
    model = rng.integers(0, 4, size=10)
    assert_allclose(row_margins(X, C, model), (X * C[model]).sum(1), rtol=1e-13)
    assert row_margins(X[:0], C, model[:0]).shape == (0,)


@pytest.mark.parametrize("unseen", [True, False])
@pytest.mark.parametrize("labels_kind", ["0..T-1", "gaps"])
def test_predict_in_blocks_equals_per_row_model(monkeypatch, labels_kind, unseen):
    # Numeric labels (0..T-1: no remap, no table; with gaps: both), unequal
    # unsorted tasks, blocks and label chunks of 7 rows (n = 103), with or
    # without a label unseen in fit (the mean model: coef_ is copied with it
    # appended; without, coef_ itself is read).
    monkeypatch.setattr(_linalg, "_MARGIN_BLOCK", 7)
    monkeypatch.setattr(skmtl._tasks, "_LOOKUP_CHUNK", 7)
    rng = np.random.default_rng(6)
    codes = rng.permutation(np.r_[np.arange(9), rng.integers(0, 9, 94)])
    labels = codes * (1.0 if labels_kind == "0..T-1" else 3.0) + 0.0
    X = rng.normal(size=(len(codes), 5))
    y = X @ rng.normal(size=5) + codes + rng.normal(size=len(codes))
    est = TraceNormMTLRegressor(
        alpha=0.01, task_column=-1, handle_unknown_task="mean"
    ).fit(np.column_stack([X, labels]), y)
    if unseen:
        labels[:4] = 100.0
    pred = est.predict(np.column_stack([X, labels]))
    coef = np.vstack([est.coef_, est.coef_.mean(0)])
    intercept = np.append(est.intercept_, est.intercept_.mean())
    model = np.where(labels == 100.0, 9, codes)
    expected = np.array([X[i] @ coef[k] + intercept[k] for i, k in enumerate(model)])
    assert_allclose(pred, expected, rtol=1e-13, atol=1e-13)


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


# The forms of the squared loss --------------------------------------------------


def _blocks(sizes, d, *, sparse=False, shared=False, seed=0):
    from skmtl.datafits._losses import TaskBlocks

    rng = np.random.default_rng(seed)
    T = len(sizes)
    W = rng.normal(size=(d, 2)) @ rng.normal(size=(2, T))

    def design(n):
        X = rng.normal(size=(n, d)) + 1.0
        X[rng.random(X.shape) < 0.6] = 0.0
        return sp.csr_matrix(X) if sparse else X

    if shared:
        X, s = design(sizes[0]), rng.uniform(0.5, 2.0, sizes[0])
        ys = [
            np.asarray(X @ W[:, t]).ravel() + rng.normal(size=sizes[0]) + 3
            for t in range(T)
        ]
        return TaskBlocks([X] * T, ys, [s] * T, np.full(T, s.sum()), shared=True)
    Xs = [design(n) for n in sizes]
    ys = [
        np.asarray(X @ W[:, t]).ravel() + rng.normal(size=X.shape[0]) + 2
        for t, X in enumerate(Xs)
    ]
    ss = [rng.uniform(0.5, 2.0, n) for n in sizes]
    return TaskBlocks(Xs, ys, ss, np.array([s.sum() for s in ss]))


def _optimum(blocks, form, alpha_ratio, fit_intercept, tol=1e-12):
    from skmtl.datafits._losses import SquaredLoss
    from skmtl.penalties import TraceNorm
    from skmtl.solvers._fista import solve
    from skmtl.solvers._gaps import alpha_max

    df = SquaredLoss(blocks, fit_intercept=fit_intercept, form=form)
    alpha = alpha_ratio * alpha_max(df, TraceNorm())
    res = solve(df, alpha, tol=tol, max_iter=50_000)
    assert res.converged
    objective = df.value(res.W) + alpha * np.linalg.svd(res.W, compute_uv=False).sum()
    return res.W, objective, df


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize(
    "sizes, d, sparse, shared",
    [
        ([10, 12, 8, 15, 9], 30, False, False),  # n_t < d, unequal sizes
        ([10] * 5, 30, False, False),  # equal sizes: the batched path
        ([10, 12, 8, 15, 9], 30, True, False),
        ([25], 40, False, True),  # shared design, one kernel
        ([25], 40, True, True),
        ([40, 35, 50], 6, False, False),  # n_t > d
    ],
)
def test_every_form_reaches_the_same_optimum(sizes, d, sparse, shared, fit_intercept):
    n_tasks = 5 if shared else len(sizes)
    blocks = _blocks(
        sizes * n_tasks if shared else sizes, d, sparse=sparse, shared=shared
    )
    W_g, P_g, _ = _optimum(blocks, "gram", 0.2, fit_intercept)
    W_s, P_s, df = _optimum(blocks, "sample", 0.2, fit_intercept)
    assert df.form == "sample"
    assert abs(P_s - P_g) <= 1e-8 * abs(P_g)
    assert_allclose(W_s, W_g, rtol=1e-6, atol=1e-6 * np.abs(W_g).max())
    W_d, P_d, _ = _optimum(blocks, "data", 0.2, fit_intercept, tol=1e-10)
    assert abs(P_d - P_g) <= 1e-8 * abs(P_g)


@pytest.mark.parametrize("shared", [False, True])
def test_sample_form_least_squares_and_zero_solution(shared):
    blocks = _blocks([12] * 4 if shared else [12, 9, 14, 11], 20, shared=shared)
    from skmtl.datafits._losses import SquaredLoss
    from skmtl.solvers._admm import solve_squared

    df = SquaredLoss(blocks, form="sample")
    res = solve_squared(df, 0.0, tol=1e-10)
    assert res.converged and res.n_iter == 0
    # n_t < d: every task is interpolated exactly by the minimum-norm solution.
    assert df.value(res.W) <= 1e-20 * (1.0 + df.value(np.zeros_like(res.W)))
    assert_allclose(
        res.W, solve_squared(SquaredLoss(blocks, form="gram"), 0.0).W, atol=1e-8
    )
    Q, _ = df.linear_terms()
    big = 2.0 * np.linalg.norm(Q, 2)
    res = solve_squared(df, big)
    assert res.converged and not np.any(res.W)


@pytest.mark.parametrize("sparse", [False, True])
def test_squared_task_prox_woodbury_sparse(sparse):
    from skmtl.datafits._losses import SquaredLoss

    blocks = _blocks([8, 11], 25, sparse=sparse)
    dense = _blocks([8, 11], 25, sparse=False)
    df, ref = SquaredLoss(blocks, form="data"), SquaredLoss(dense, form="gram")
    x = np.random.default_rng(5).normal(size=25)
    for t in range(2):
        w, _ = df.task_prox(t, x, step_size=0.3)
        assert_allclose(w, ref.task_prox(t, x, step_size=0.3)[0], rtol=1e-9, atol=1e-11)


def test_task_rows_equal_per_task_products():
    from skmtl.datafits._stacked import TaskRows

    rng = np.random.default_rng(6)
    sizes, d = [7, 1, 12, 5], 9
    Xs = [
        sp.random(n, d, density=0.4, format="csr", random_state=k)
        for k, n in enumerate(sizes)
    ]
    rows = TaskRows(sp.vstack(Xs, format="csr"), sizes)
    WT = rng.normal(size=(len(sizes), d))
    u = rng.normal(size=sum(sizes))
    expected_m = np.concatenate([X @ w for X, w in zip(Xs, WT, strict=True)])
    assert_allclose(rows.margins(WT), expected_m, rtol=1e-13, atol=1e-14)
    parts = np.split(u, np.cumsum(sizes)[:-1])
    expected_g = np.stack([X.T @ v for X, v in zip(Xs, parts, strict=True)])
    assert_allclose(rows.task_products(u), expected_g, rtol=1e-13, atol=1e-14)
    assert_allclose(rows.task_sums(u), [v.sum() for v in parts], rtol=1e-13)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_data_form_equals_dense(fit_intercept):
    """The stacked sparse route of the data form (one CSR product for all
    tasks) gives the per-task loop's values, gradient and dual value."""
    from skmtl.datafits._losses import SquaredLoss

    sizes = [10, 12, 8, 15, 9]
    df = SquaredLoss(
        _blocks(sizes, 30, sparse=True), form="data", fit_intercept=fit_intercept
    )
    ref = SquaredLoss(_blocks(sizes, 30), form="data", fit_intercept=fit_intercept)
    assert df._rows is not None and ref._rows is None
    W = np.random.default_rng(7).normal(size=(30, len(sizes)))
    assert_allclose(df.task_values(W), ref.task_values(W), rtol=1e-12)
    assert_allclose(df.gradient(W)[0], ref.gradient(W)[0], rtol=1e-11, atol=1e-12)
    assert_allclose(
        df.dual_objective(W, None, 0.7), ref.dual_objective(W, None, 0.7), rtol=1e-12
    )
    _, value, G, dual = df.gap_terms(W)
    assert ref.gap_terms(W) is None
    assert_allclose(value, ref.value(W), rtol=1e-12)
    assert_allclose(G, ref.gradient(W)[0], rtol=1e-11, atol=1e-12)
    assert_allclose(dual(0.7), ref.dual_objective(W, None, 0.7), rtol=1e-12)


def test_max_eig_gram_lanczos_on_wide_sparse_rows():
    """Wide sparse rows take Lanczos (cheaper by the cost model than the
    1000 x 1000 kernel's eigenvalues); its value bounds the exact one."""
    from skmtl.datafits._linalg import max_eig_costs

    rng = np.random.default_rng(8)
    X = sp.random(1000, 20_000, density=0.005, format="csr", random_state=3)
    X.data = rng.normal(size=X.nnz)
    exact_cost, lanczos_cost = max_eig_costs(1000, 20_000, X.nnz)
    assert lanczos_cost < exact_cost
    s = rng.uniform(0.5, 2.0, 1000)
    xbar = np.asarray(X.T @ s).ravel() / s.sum()
    expected = np.linalg.eigvalsh(centered_kernel(X, s, xbar))[-1]
    assert expected <= max_eig_gram(X, s, xbar) <= 1.02 * expected
    # Dense and narrow: the exact route.
    assert np.less(*max_eig_costs(100, 200, 100 * 200))


@pytest.mark.parametrize("free", [False, True])
@pytest.mark.parametrize("shape", [(10, 30), (40, 6)])
def test_logistic_task_prox_sparse_equals_dense(free, shape):
    from skmtl.datafits._losses import LogisticLoss, TaskBlocks

    rng = np.random.default_rng(6)
    X = rng.normal(size=shape) * (rng.random(shape) < 0.5)
    y = np.where(rng.random(shape[0]) < 0.5, -1.0, 1.0)
    s = rng.uniform(0.5, 2.0, shape[0])
    x, xb = rng.normal(size=shape[1]), 0.3
    out = []
    for Xin in (X, sp.csr_matrix(X)):
        blocks = TaskBlocks([Xin], [y], [s], np.array([s.sum()]))
        df = LogisticLoss(blocks, fit_intercept=free)
        w, b = df.task_prox(0, x, xb, step_size=2.0)
        # Optimality: gradient of the loss + (w - x) / step = 0.
        g, gb = df.task_gradient(0, w, b)
        assert_allclose(g + (w - x) / 2.0, 0.0, atol=1e-9)
        if free:
            assert abs(gb + (b - xb) / 2.0) <= 1e-9
        out.append(w)
    assert_allclose(out[0], out[1], rtol=1e-10, atol=1e-12)


def test_long_format_estimator_dense_equals_csr():
    rng = np.random.default_rng(7)
    T, n_t, d = 4, 12, 30  # n_t < d: the sample-space form
    X = rng.normal(size=(T * n_t, d)) * (rng.random((T * n_t, d)) < 0.3)
    tasks = np.repeat(np.arange(T), n_t)
    y = X @ rng.normal(size=d) + rng.normal(size=T * n_t)
    w = rng.uniform(0.5, 2.0, T * n_t)
    Xl = np.column_stack([X, tasks])
    fits = [
        TraceNormMTLRegressor(alpha=0.05, task_column=-1, tol=1e-10).fit(Xin, y, w)
        for Xin in (Xl, sp.csr_matrix(Xl))
    ]
    assert_allclose(fits[0].coef_, fits[1].coef_, rtol=1e-7, atol=1e-9)
    assert_allclose(fits[0].intercept_, fits[1].intercept_, rtol=1e-7, atol=1e-9)
    assert_allclose(fits[0].predict(Xl), fits[1].predict(sp.csr_matrix(Xl)), rtol=1e-9)


def test_unknown_form_is_refused():
    from skmtl.datafits._losses import SquaredLoss

    with pytest.raises(ValueError, match="form must be 'auto', 'gram', 'sample'"):
        SquaredLoss(_blocks([5, 6], 3), form="kernel")


def _unsorted_string_tasks(n, rng):
    names = np.array(["task-b", "task-a", "zz", "c"], dtype=object)
    return names[rng.integers(0, len(names), n)]


def test_task_metrics_equal_per_task_masks():
    # The metrics take each task's rows from one grouping; the naive reference
    # selects them with a boolean mask per task.
    from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score

    from skmtl.metrics import amse, macro_roc_auc_score, per_task_score

    rng = np.random.default_rng(3)
    n = 120
    tasks = _unsorted_string_tasks(n, rng)
    y = rng.normal(size=n)
    pred = y + rng.normal(size=n)
    w = rng.random(n)
    names = np.unique(tasks)
    masks = [tasks == t for t in names]
    labels, scores = per_task_score(y, pred, tasks, sample_weight=w)
    assert_array_equal(labels, names)
    expected = [r2_score(y[m], pred[m], sample_weight=w[m]) for m in masks]
    assert_allclose(scores, expected, rtol=1e-12)
    expected = np.mean([mean_squared_error(y[m], pred[m]) for m in masks])
    assert_allclose(amse(y, pred, tasks), expected, rtol=1e-12)
    yc = (y > 0).astype(int)
    expected = np.mean([roc_auc_score(yc[m], pred[m]) for m in masks])
    assert_allclose(macro_roc_auc_score(yc, pred, tasks), expected, rtol=1e-12)


def test_leave_task_out_equals_per_task_masks():
    from skmtl.model_selection import LeaveTaskOut

    rng = np.random.default_rng(4)
    tasks = _unsorted_string_tasks(50, rng)
    X = np.zeros((50, 2))
    splits = list(LeaveTaskOut().split(X, groups=tasks))
    assert len(splits) == len(np.unique(tasks))
    for (train, test), t in zip(splits, np.unique(tasks), strict=True):
        assert_array_equal(test, np.flatnonzero(tasks == t))
        assert_array_equal(train, np.flatnonzero(tasks != t))


def test_group_codes_keeps_tasks_without_rows():
    from skmtl._tasks import group_codes

    rng = np.random.default_rng(5)
    codes = rng.choice([0, 2, 3], size=40)  # task 1 and task 4 have no row
    g = group_codes(codes, np.array(["a", "b", "c", "d", "e"]))
    assert g.n_tasks == 5
    for k in range(5):
        assert_array_equal(g.rows(k), np.flatnonzero(codes == k))
    assert_array_equal(g.counts, np.bincount(codes, minlength=5))


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "fit_intercept, loss_scaling", [(True, "mean"), (False, "sum")]
)
@pytest.mark.parametrize("penalty", ["trace", "l21"])
def test_alpha_max_row_pass_equals_the_blocks(
    grouped, weighted, fit_intercept, loss_scaling, penalty, monkeypatch
):
    """alpha_max's chunked per-task sums (chunks of 7 rows, across task
    boundaries) equal the gradient at zero of the validated blocks."""
    monkeypatch.setattr(_rowpass, "_CHUNK_BYTES", 7 * 8 * 4)
    rng = np.random.default_rng(0)
    n, d = 200, 4
    labels = rng.integers(0, 9, size=n) * 3.0 - 5.0  # tasks of 10 to 35 rows
    if grouped:
        labels = np.sort(labels)
    X = np.column_stack([rng.normal(size=(n, d)), labels])
    y = rng.normal(size=n) + labels
    sw = rng.uniform(0.5, 2.0, size=n) if weighted else None
    est = TraceNormMTLRegressor(
        task_column=-1, fit_intercept=fit_intercept, loss_scaling=loss_scaling
    )
    blocks = validate_fit_data(est, X, y, sw).blocks
    loss = SquaredLoss(blocks, fit_intercept=fit_intercept, use_gram=False)
    expected = make_penalty(penalty).dual_norm(loss.gradient_at_zero())
    got = alpha_max(
        X,
        y,
        task_column=-1,
        fit_intercept=fit_intercept,
        loss_scaling=loss_scaling,
        sample_weight=sw,
        penalty=penalty,
    )
    assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("grouped", [False, True])
def test_chunked_validation_checks_every_row(grouped, monkeypatch):
    """The checks fused into the chunked gather see every chunk: a NaN or a
    huge value in the last row is refused with the usual messages, and the
    task-ordered copy equals the rows taken by mask."""
    monkeypatch.setattr(_rowpass, "_CHUNK_BYTES", 5 * 8 * 3)
    rng = np.random.default_rng(1)
    n = 60
    labels = rng.integers(0, 4, size=n).astype(float)
    if grouped:
        labels = np.sort(labels)
    X = np.column_stack([rng.normal(size=(n, 3)), labels])
    y = rng.normal(size=n)
    est = TraceNormMTLRegressor(task_column=-1)
    data = validate_fit_data(est, X, y)
    for t, task in enumerate(data.tasks):
        assert_array_equal(data.blocks.Xs[t], X[labels == task, :3])
    assert not np.may_share_memory(data.blocks.stacked, X)
    for bad, message in [(np.nan, "contains NaN"), (1e60, "as large as 1e\\+60")]:
        Xb = X.copy()
        Xb[-1, 1] = bad
        with pytest.raises(ValueError, match=message):
            validate_fit_data(est, Xb, y)
        with pytest.raises(ValueError, match=message):
            alpha_max(Xb, y, task_column=-1)

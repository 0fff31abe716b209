"""Scaling of skmtl in tasks, features, rows and sparsity, next to scikit-learn.

Tables (time in seconds, peak memory in MB of traced allocations):

* ``tasks``: T from 50 to 50,000 tasks of 100 rows, d = 50 (long format, rows
  in random task order): validation, ``alpha_max``, the regressor's and the
  classifier's fit, ``predict``, the trace-norm prox of the d x T matrix,
  against per-task ``Ridge`` / ``LogisticRegression`` fits (with the
  classifier, up to T = 5,000: beyond, the loops take many minutes), one pooled
  ``Ridge`` and a plain numpy gather of ``X @ coef`` rows; then the growth
  ratios between the two largest T, from single runs.
* ``growth``: those ratios measured properly, T = 20,000 against 50,000
  (target: at most 3x for 2.5x the tasks): validation, ``alpha_max``, ``fit``
  and ``predict`` on both sizes in one process, interleaved, median of 3, wall
  clock, user and system CPU time and page faults, with memory just freed by
  the same operation (``warm``) and by the other size (``cold``).
* ``margins``: predict's gather of coefficient rows on one X of 2 million
  rows, T = 2,000 to 200,000, random and sorted labels: the cost per row
  against the size of the coefficients (the cache, not T).
* ``forms``: T = 1000, d = 200 and T = 100, d = 5000 (100 rows per task), and
  T = 1000, d = 200 with columns scaled 1..100: the squared-loss fit in each
  form (Gram, sample space, data) and 'auto' (which races FISTA against the
  sample form), interleaved, median of 3, wall and CPU time, peak memory
  against the data's size; 'auto' against the best form, and the cost model's
  estimate (given the measured iteration counts) against the CPU times.
* ``features``: d from 50 to 5,000 (T = 100, 100 rows per task).
* ``rows``: n up to a million rows (T = 100, d = 50).
* ``sparse``: CSR, d = 20,000, 0.5 % dense, T = 20 tasks of 1,000 rows: regressor
  and classifier against 20 ``Ridge`` / ``LogisticRegression`` fits with the
  matching L2 strength (``C = 1 / (alpha n_t)``), and the peak memory against
  what a dense copy would take.
* ``sparse_forms``: the ``forms`` table on that data (the regressor's
  problem), one run per form: 'auto' takes the data form there.
* ``cv``: the CV estimators on a small grid (5 alphas, 3 folds) against 5-value
  ``RidgeCV`` / ``LogisticRegressionCV`` per task.
* ``school``: raw School, the ADMM solve to a certified 1e-6 gap per alpha
  (the figure of ``bench_centralized.py``), and the form chosen for it.

Every fit uses ``alpha = 0.1 alpha_max`` unless said otherwise. Each operation
is timed once without tracing, then run again under :mod:`tracemalloc` for its
peak memory (``--no-memory`` skips that second run).

Run::

    python benchmarks/bench_scaling.py            # full: tens of minutes, ~8 GB
    python benchmarks/bench_scaling.py --quick    # a few minutes
    python benchmarks/bench_scaling.py --only tasks,sparse
"""

import argparse
import os
import platform
import resource
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from skmtl import (  # noqa: E402
    TraceNormMTLClassifier,
    TraceNormMTLClassifierCV,
    TraceNormMTLRegressor,
    TraceNormMTLRegressorCV,
    alpha_max,
)
from skmtl.datafits._linalg import form_costs  # noqa: E402
from skmtl.datafits._losses import SquaredLoss  # noqa: E402
from skmtl.penalties import TraceNorm  # noqa: E402
from skmtl.solvers._fista import solve  # noqa: E402
from skmtl.utils._validation import validate_fit_data  # noqa: E402

MB = 2.0**20
MEMORY = True


# --------------------------------------------------------------------------- #
# Measurement
# --------------------------------------------------------------------------- #
def measure(fn, memory=None):
    """(seconds, peak MB or nan, result) of ``fn()``: timed, then traced."""
    t = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t
    peak = float("nan")
    if MEMORY if memory is None else memory:
        del out
        tracemalloc.start()
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
    return seconds, peak, out


def nbytes(X):
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


# --------------------------------------------------------------------------- #
# Data: long format, a low-rank W, rows in random task order
# --------------------------------------------------------------------------- #
def make_data(T, n_t, d, *, density=None, seed=0):
    rng = np.random.default_rng(seed)
    n = T * n_t
    W = rng.normal(size=(d, 3)) @ rng.normal(size=(3, T)) / np.sqrt(d)
    tasks = rng.permutation(np.repeat(np.arange(T), n_t))
    if density is None:
        X = rng.normal(size=(n, d))
        margin = np.empty(n)
        for a in range(0, n, 1 << 16):  # chunks: no n x d temporary
            b = min(a + (1 << 16), n)
            margin[a:b] = np.einsum("ij,ji->i", X[a:b], W[:, tasks[a:b]])
        Xl = np.empty((n, d + 1))
        Xl[:, :d] = X
        Xl[:, d] = tasks
        del X
    else:
        X = sp.random(n, d, density=density, format="csr", random_state=seed)
        X.data = rng.normal(size=X.nnz)
        row = np.repeat(np.arange(n), np.diff(X.indptr))
        margin = np.bincount(row, X.data * W[X.indices, tasks[row]], minlength=n)
        Xl = sp.hstack([X, sp.csr_matrix(tasks[:, None].astype(float))], format="csr")
    y = margin + 0.5 * rng.normal(size=n)
    return Xl, y, tasks


def per_task(Xl, tasks, y, make):
    """Fit ``make()`` on every task's rows: the scikit-learn per-task baseline.

    With BLAS limited to one thread, as skmtl does for small problems: many
    tiny multi-threaded BLAS calls stall on a loaded machine, and a user
    fitting thousands of small models would do the same.
    """
    order = np.argsort(tasks, kind="stable")
    bounds = np.searchsorted(tasks[order], np.arange(tasks.max() + 2))
    X = Xl[:, :-1]
    with threadpool_limits(limits=1):
        for t in range(len(bounds) - 1):
            rows = order[bounds[t] : bounds[t + 1]]
            make().fit(X[rows], y[rows])


def fmt(x, width=8):
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return f"{'-':>{width}}"
    return f"{x:>{width}.3g}"


def header(title, cols):
    print(f"\n{title}")
    line = " ".join(f"{c:>9}" for c in cols)
    print(line)
    print("-" * len(line))


def row(values):
    print(" ".join(v if isinstance(v, str) else fmt(v, 9) for v in values))


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #
def _tasks_row(T, n_t, d, classifier):
    Xl, y, tasks = make_data(T, n_t, d)
    yc = (y > 0).astype(int)
    est = TraceNormMTLRegressor(task_column=-1)
    tv, _, _ = measure(lambda: validate_fit_data(est, Xl, y), memory=False)
    ta, _, a = measure(lambda: alpha_max(Xl, y, task_column=-1), memory=False)
    reg = TraceNormMTLRegressor(alpha=0.1 * a, task_column=-1)
    tf, mf, reg = measure(lambda: reg.fit(Xl, y))
    tp, _, _ = measure(lambda: reg.predict(Xl), memory=False)
    coef = reg.coef_
    tg, _, _ = measure(
        lambda: np.einsum("ij,ij->i", Xl[:, :-1], coef[tasks]), memory=False
    )
    V = np.random.default_rng(1).normal(size=(d, T))
    theta = 0.5 * np.linalg.norm(V, 2)
    tx, _, _ = measure(lambda: TraceNorm().prox(V, theta), memory=False)
    tc = tl = None
    if classifier:
        ac = alpha_max(Xl, yc, task_column=-1, loss="logistic")
        clf = TraceNormMTLClassifier(alpha=0.1 * ac, task_column=-1)
        tc, _, _ = measure(lambda: clf.fit(Xl, yc), memory=False)
        C = 1.0 / (0.1 * ac * n_t)
        tl, _, _ = measure(
            lambda: per_task(Xl, tasks, yc, lambda: LogisticRegression(C=C)),
            memory=False,
        )
    tr = None
    if classifier:  # the per-task loops take minutes beyond a few thousand tasks
        tr, _, _ = measure(lambda: per_task(Xl, tasks, y, Ridge), memory=False)
    tpool, _, _ = measure(lambda: Ridge().fit(Xl[:, :-1], y), memory=False)
    row([str(T).rjust(9), tv, ta, tf, reg.n_iter_, mf, Xl.nbytes / MB, tp, tg, tx])
    print(
        " ".join(fmt(v, 9) for v in (tc, tr, tpool, tl)),
        "(clf fit, Ridge/t, Ridge, LogReg/t)",
    )
    return {"validation": tv, "alpha_max": ta, "fit": tf, "predict": tp}


def table_tasks(quick):
    Ts = [50, 500, 2000, 5000] if quick else [50, 500, 2000, 5000, 20_000, 50_000]
    clf_max = 2000 if quick else 5000
    n_t, d = 100, 50
    cols = ["T", "val", "amax", "fit", "it", "fit MB", "data MB", "predict", "gather"]
    cols += ["prox"]
    header(f"Tasks: {n_t} rows per task, d = {d}, alpha = 0.1 alpha_max", cols)
    times = {}
    for T in Ts:
        times[T] = _tasks_row(T, n_t, d, T <= clf_max)
    if len(Ts) >= 2:
        a, b = Ts[-2], Ts[-1]
        print(
            f"growth from T = {a} to T = {b} ({b / a:.2g}x the tasks; target <= 3x "
            "when that factor is 2.5), single runs (see --only growth):"
        )
        for k in times[a]:
            print(f"  {k:>10}: {times[b][k] / times[a][k]:.2f}x")


def _growth_ops(T, n_t, d):
    """The four operations whose growth in T is targeted, on one data set,
    after a reference: ``X.copy()``, one sequential pass writing as many
    fresh bytes as validation's copy into task order (what the machine's
    memory alone costs at each size, in each memory condition)."""
    Xl, y, _ = make_data(T, n_t, d)
    est = TraceNormMTLRegressor(task_column=-1)
    a = alpha_max(Xl, y, task_column=-1)
    reg = TraceNormMTLRegressor(alpha=0.1 * a, task_column=-1).fit(Xl, y)
    return {
        "X.copy()": lambda: Xl.copy(),
        "validation": lambda: validate_fit_data(est, Xl, y),
        "alpha_max": lambda: alpha_max(Xl, y, task_column=-1),
        "predict": lambda: reg.predict(Xl),
        "fit": lambda: clone(reg).fit(Xl, y),  # last: the longest
    }


def table_growth(quick, repeats=3):
    """Growth from T = 20,000 to 50,000 tasks: interleaved runs, medians.

    Both sizes live in one process and their timed runs alternate (a, b, a,
    b, ...), in two memory conditions, one row each:

    * ``warm``: each timed run follows an untimed run of the same operation
      on the same size, so it gets the memory that run just freed;
    * ``cold``: each timed run follows the other size's run (after one
      untimed run of each).

    The two differ because of the virtual machine, not of skmtl: its kernel
    hands freed memory back to the host (``page_reporting``), and memory
    touched again is faulted in by the host, at a cost that is not linear in
    its size (measured here: 0.8 GB and 2 GB of ``np.ones`` after 4 s idle,
    3.7 s and 18 s wall, 1 s and 5 s system time, at load 4.4; 0.24 and 0.33 s
    when the memory was just freed). In the ``cold`` row a size-b run touches
    the memory a size-a run freed plus 1.5 times as much fresh memory, while
    a size-a run only reuses: the cold ratio charges the machine's fault cost
    to the larger size. Wall-clock, user and system CPU time (all threads) and
    minor page faults are reported apart, with the load average; on a loaded
    machine the wall clock mostly measures the other processes.

    Measured 2026-12-02 before the chunked row passes (main at 13021ee, 2
    vCPUs, load 3.4-5.6, ratios 50,000 / 20,000): warm wall / user CPU /
    system seconds at 20,000 -> 50,000: validation 3.21 / 2.97 / 0.15 -> 0.79,
    alpha_max 3.05 / 2.79 / 0.13 -> 0.54, predict 2.68 / 2.53 / 0.002 ->
    0.09, fit 3.20 / 2.49 / 1.4 -> 5.6; cold wall 5.11, 5.83, 2.69, 2.24;
    page faults 10.8x, 10.1x, 5.3x, 3.9x. Since then (skmtl.utils._rowpass)
    validation checks X's values in its one chunked gather into task order,
    alpha_max sums each task's weighted rows in a chunked pass without the
    task-ordered copy of X (its largest allocation is now the n row indices),
    predict and the label grouping work in 64k-row chunks, and no array of n
    unit weights is made. Measured after them (2026-12-02, load 1.0, same
    command, ratios 50,000 / 20,000), warm / cold wall: validation 3.02 /
    4.92, alpha_max 2.86 / 2.84, predict 2.75 / 2.54, fit 2.82 / 3.07; user
    CPU 2.96, 2.83, 2.59, 2.57; system seconds 20,000 -> 50,000, cold:
    validation 0.14 -> 1.77, alpha_max 0.0003 -> 0.02. What was left in
    validation is the one copy into task order: its random-row gather took
    0.40 s and 1.13 s of CPU (2.8x, reads scattered over 0.8 and 2 GB), and
    its 2 GB of fresh pages the cold row's system time. The gather now copies
    rows as records (one block copy per row, skmtl.utils._rowpass). Measured
    after it (2026-12-02, load 1.0-1.1, same command), warm / cold wall:
    X.copy() (the reference row) 2.63 / 2.59, validation 2.70 / 2.93,
    alpha_max 2.84 / 3.02, predict 2.86 / 3.20, fit 2.72 / 3.33; user CPU
    warm 2.41, 2.43, 2.51, 2.85, 2.66. The cold fit's system time went from
    0.41 s to 9.4 s (fresh pages). A sequential copy of the same bytes grows
    2.6x here: ratios near 3 are within 15 % of what the memory alone costs.
    Since then validation makes no copy of X (lazy blocks,
    skmtl.datafits._blocks: the rows are checked in place and copied into
    task order only if a consumer needs them; the Gram form streams them).
    Measured in one process against main at 61dc996, same sizes and
    protocol (2026-12-03, load 1.9-3.8; /work/notes/lazyblocks/ab_growth.py),
    20,000 -> 50,000, old then new: validation cold wall 0.72 -> 7.02 s
    (9.7x, sys 5.3 s) and 0.31 -> 0.56 s (1.8x, sys 0.04 s); warm user CPU
    0.45 -> 1.24 s (2.8x) and 0.24 -> 0.62 s (2.6x); fit cold wall 3.66x
    and 2.60x, user CPU 2.51x and 2.38x, sys at 50,000 9.6 s and 5.3 s (the
    rest is the solver's own arrays of T d^2 values).

    With the lazy blocks, the Gram eigendecomposition in H's buffer, the
    row paths and predict's finiteness check read from its margins (main at
    f5370a7, 2026-12-03, load 1.0, this command), 20,000 -> 50,000 wall,
    warm / cold: X.copy() 2.66 / 2.54, validation 3.05 / 2.92 (0.21 ->
    0.64 s; 0.55 -> 1.70 s at 61dc996), alpha_max 2.49 / 2.43, predict
    3.92 / 3.18 (0.090 -> 0.354 s; 0.29 -> 0.87 s at 61dc996), fit 2.59 /
    2.51 (6.6 -> 17.2 s; 11.3 -> 28.6 s). What is left in predict is the
    gather of each row's coefficients, random in a T x d array that leaves
    the cache between 20,000 and 50,000 tasks: see ``--only margins``, where
    at equal n the cost per row is 31, 39, 87 and 97 ns for T = 2,000,
    20,000, 50,000 and 200,000 (flat past the cache; 31 ns with the labels
    sorted).

    Earlier (2 vCPUs, load 5.7-6.9, ratios 50,000 / 20,000):
    warm wall / user CPU: validation 2.91 / 2.53, alpha_max 3.35 / 2.20,
    predict 3.05 / 2.77, fit 2.56 / 2.40; cold wall 3.75, 3.65, 2.97, 3.60.
    The page faults grow 9x in validation and alpha_max at 2.5x the rows:
    arrays of n = 5 million 8-byte values (40 MB) are above glibc's largest
    mmap threshold (32 MB), so every one is mapped and faulted in afresh,
    where the 16 MB arrays of T = 20,000 reuse the heap; NumPy's radix
    argsort takes its 40 MB work buffer from malloc, faulted in 4 kB pages
    (10,334 faults at T = 50,000). With glibc told to keep freed memory
    (``MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184``
    in the environment) validation took no system time at either size, its
    faults grew 2.9x and its user CPU 2.51x (warm, load 8; 0.43 and 3.79 s of
    system time without).
    """
    Ta, Tb = (2000, 5000) if quick else (20_000, 50_000)
    n_t, d = 100, 50
    print(
        f"\nGrowth from T = {Ta} to T = {Tb} ({Tb / Ta:.2g}x the tasks, {n_t} rows "
        f"per task, d = {d}; target <= 3x): median of {repeats} interleaved runs"
    )
    ops = {T: _growth_ops(T, n_t, d) for T in (Ta, Tb)}
    cols = ["operation", "memory", f"wall {Ta}", f"wall {Tb}", "wall x"]
    cols += [f"user {Ta}", f"user {Tb}", "user x", f"sys {Ta}", f"sys {Tb}"]
    header("", cols + ["faults x", "load"])
    for name in ops[Ta]:
        for T in (Ta, Tb):
            ops[T][name]()  # warm-up, untimed
        for memory in ("warm", "cold"):
            runs = {Ta: [], Tb: []}
            for _ in range(repeats):
                for T in (Ta, Tb):
                    if memory == "warm":
                        ops[T][name]()
                    before = _clocks()
                    ops[T][name]()
                    runs[T].append(_clocks() - before)
            a, b = np.median(runs[Ta], axis=0), np.median(runs[Tb], axis=0)
            row(
                [name.rjust(9), memory.rjust(9), a[0], b[0], b[0] / a[0], a[1], b[1]]
                + [b[1] / a[1], a[2], b[2], b[3] / max(a[3], 1), os.getloadavg()[0]]
            )
            sys.stdout.flush()


def table_margins(quick, repeats=3):
    """predict's gather of coefficient rows at equal n, as T grows.

    ``row_margins`` (predict's one pass, :mod:`skmtl.datafits._linalg`) reads
    X's rows in order and, for each, its task's row of coefficients: for
    random task labels those reads are random in a T x d array (8 MB at T =
    20,000, d = 50; 20 MB at 50,000, about the 32 MB L3 cache this VM shares,
    while X streams through it). The table times it on the same X (n rows,
    random labels) for several T, and with the labels sorted: a cost per row
    that grows with T up to the cache size and is flat after it is the
    memory hierarchy, not a term in T. CPU seconds, medians, load stated.
    """
    from skmtl.datafits._linalg import row_margins

    n, d = (200_000 if quick else 2_000_000), 50
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d + 1))[:, :d]  # a view, as predict reads it
    print(f"\nrow_margins (predict's gather) on one X, n = {n}, d = {d}:")
    header("", ["T", "coef MB", "random s", "sorted s", "ns/row", "load"])
    for T in (2_000, 20_000, 50_000, 200_000):
        C, off = rng.normal(size=(T, d)), rng.normal(size=T)
        codes = rng.integers(0, T, n)
        times = {}
        for name, rows in (("random", codes), ("sorted", np.sort(codes))):
            row_margins(X, C, rows, off)
            runs = []
            for _ in range(repeats):
                t = time.process_time()
                row_margins(X, C, rows, off)
                runs.append(time.process_time() - t)
            times[name] = float(np.median(runs))
        row(
            [T, C.nbytes / 2**20, times["random"], times["sorted"]]
            + [1e9 * times["random"] / n, os.getloadavg()[0]]
        )
        sys.stdout.flush()


def _clocks():
    """(wall, user, system seconds, minor page faults) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return np.array(
        [time.perf_counter(), usage.ru_utime, usage.ru_stime, usage.ru_minflt]
    )


def _forms_case(
    T, n_t, d, alpha_ratio=0.1, repeats=3, scale_columns=False, density=None
):
    """Each form's fit and 'auto''s, interleaved (median of ``repeats``).

    'auto' is run apart: where the cost model chose the sample form it races
    FISTA on the data form against it (:mod:`skmtl.solvers._race`), so it is
    not the same computation as any one form. The peak memory is one further
    traced run per form. ``scale_columns`` multiplies the columns by 1..100;
    ``density`` makes X sparse (CSR).
    """
    Xl, y, tasks = make_data(T, n_t, d, density=density)
    nnz = Xl[:, :d].nnz if density is not None else T * n_t * d
    if scale_columns:
        Xl[:, :d] *= np.linspace(1.0, 100.0, d)
    est = TraceNormMTLRegressor(task_column=-1)
    data = validate_fit_data(est, Xl, y)
    data_mb = nbytes(Xl) / MB
    a = alpha_ratio * alpha_max(Xl, y, task_column=-1)
    chosen = SquaredLoss(data.blocks).form
    print(
        f"\nT = {T}, d = {d}, {n_t} rows per task"
        f"{', columns scaled 1..100' if scale_columns else ''}"
        f"{f', CSR {density:.1%} dense' if density is not None else ''}"
        f": data {data_mb:.0f} MB; "
        f"the cost model chooses {chosen!r}; median of {repeats} interleaved "
        f"runs, load {os.getloadavg()[0]:.1f}"
    )
    forms = ["gram", "sample", "data", "auto"]
    if 2 * T * d * d * 8 > 4 * 2**30:
        print(
            f"gram not run: the H_t and their eigenvectors need "
            f"{2 * T * d * d * 8 / 2**30:.0f} GB"
        )
        forms.remove("gram")
    header("", ["form", "wall s", "cpu s", "iters", "gap", "peak MB", "peak/data"])
    runs = {form: [] for form in forms}
    last = {}
    for _ in range(repeats):
        for form in forms:
            c, w = time.process_time(), time.perf_counter()
            last[form] = solve(SquaredLoss(data.blocks, form=form), a, tol=1e-6)
            runs[form].append((time.perf_counter() - w, time.process_time() - c))
    results = {}
    for form in forms:
        res, peak = last[form], float("nan")
        if MEMORY:  # one more run, traced
            tracemalloc.start()
            solve(SquaredLoss(data.blocks, form=form), a, tol=1e-6)
            peak = tracemalloc.get_traced_memory()[1] / MB
            tracemalloc.stop()
        wall = np.median([r[0] for r in runs[form]])
        cpu = np.median([r[1] for r in runs[form]])
        results[form] = (wall, cpu, res.n_iter)
        row([form.rjust(9), wall, cpu, res.n_iter, res.gap, peak, peak / data_mb])
    race = (last["auto"].info or {}).get("race")
    if race is not None:
        print(f"auto raced: {race[0]} form won, after {race[1]} FISTA iterations")
    fixed = [k for k in forms if k != "auto"]
    for i, clock in ((0, "wall"), (1, "cpu")):
        best = min(fixed, key=lambda k: results[k][i])
        print(
            f"auto / best form ({best}), {clock}: "
            f"{results['auto'][i] / results[best][i]:.2f}x"
        )
    # The cost model with the iteration counts measured above, against the
    # CPU times: its setup and per-iteration flops are checked, not its
    # assumed iteration counts (ADMM_ITERS, FISTA_ITERS).
    model = form_costs([n_t] * T, d, nnz, per_iteration=True)
    flops = {k: model[k][0] + results[k][2] * model[k][1] for k in fixed}
    for k in flops:
        if k != "data":
            print(
                f"{k} / data: cpu time {results[k][1] / results['data'][1]:.2f}x, "
                f"cost model with these iteration counts "
                f"{flops[k] / flops['data']:.2f}x"
            )
    tr, _, _ = measure(lambda: per_task(Xl, tasks, y, Ridge), memory=False)
    print(f"{T} per-task Ridge fits: {tr:.3g} s")


def table_forms(quick):
    print(
        "\nForms of the squared-loss fit (auto = the cost model's choice, raced "
        "against FISTA when that is the sample form), alpha = 0.1 alpha_max, tol 1e-6"
    )
    _forms_case(1000 if not quick else 300, 100, 200)
    _forms_case(100 if not quick else 30, 100, 5000)
    if not quick:  # ill-conditioned columns: FISTA slows down, the race switches
        _forms_case(1000, 100, 200, scale_columns=True)


def _features_row(T, n_t, d):
    Xl, y, tasks = make_data(T, n_t, d)
    a = alpha_max(Xl, y, task_column=-1)
    reg = TraceNormMTLRegressor(alpha=0.1 * a, task_column=-1)
    tf, mf, reg = measure(lambda: reg.fit(Xl, y))
    form = SquaredLoss(validate_fit_data(reg, Xl, y).blocks).form
    tr, _, _ = measure(lambda: per_task(Xl, tasks, y, Ridge), memory=False)
    tpool, _, _ = measure(lambda: Ridge().fit(Xl[:, :-1], y), memory=False)
    row([str(d).rjust(9), form.rjust(9), tf, reg.n_iter_, mf, Xl.nbytes / MB])
    print(" ".join(fmt(v, 9) for v in (tr, tpool)), "(Ridge/t, Ridge)")


def table_features(quick):
    ds = [50, 500, 2000] if quick else [50, 500, 2000, 5000]
    T, n_t = 100, 100
    header(
        f"Features: T = {T}, {n_t} rows per task",
        ["d", "form", "fit", "it", "peak MB", "data MB"],
    )
    for d in ds:
        _features_row(T, n_t, d)


def _rows_row(T, n_t, d):
    Xl, y, tasks = make_data(T, n_t, d)
    est = TraceNormMTLRegressor(task_column=-1)
    tv, _, _ = measure(lambda: validate_fit_data(est, Xl, y), memory=False)
    a = alpha_max(Xl, y, task_column=-1)
    reg = TraceNormMTLRegressor(alpha=0.1 * a, task_column=-1)
    tf, mf, reg = measure(lambda: reg.fit(Xl, y))
    tp, _, _ = measure(lambda: reg.predict(Xl), memory=False)
    tr, _, _ = measure(lambda: per_task(Xl, tasks, y, Ridge), memory=False)
    tpool, _, _ = measure(lambda: Ridge().fit(Xl[:, :-1], y), memory=False)
    row([str(T * n_t).rjust(9), tv, tf, reg.n_iter_, mf, Xl.nbytes / MB, tp, tr, tpool])


def table_rows(quick):
    sizes = [1000] if quick else [1000, 10_000]
    T, d = 100, 50
    header(
        f"Rows: T = {T}, d = {d}",
        ["n", "val", "fit", "it", "fit MB", "data MB", "predict", "Ridge/t", "Ridge"],
    )
    for n_t in sizes:
        _rows_row(T, n_t, d)


def table_sparse_forms(quick):
    print(
        "\nForms of the squared-loss fit on the sparse table's data (CSR, "
        "d = 20,000, 0.5 % dense, T = 20), alpha = 0.1 alpha_max, tol 1e-6"
    )
    _forms_case(20, 300 if quick else 1000, 20_000, repeats=1, density=0.005)


def pairs_fmt(pairs):
    return ", ".join(f"{r:.3g}" for _, _, r in pairs)


def table_sparse(quick):
    T, n_t, d, density = 20, (300 if quick else 1000), 20_000, 0.005
    Xl, y, tasks = make_data(T, n_t, d, density=density)
    yc = (y > 0).astype(int)
    dense_mb = T * n_t * d * 8 / MB
    print(
        f"\nSparse: CSR d = {d}, {density:.1%} dense, T = {T}, {n_t} rows per task;"
        f" data {nbytes(Xl) / MB:.1f} MB (dense copy: {dense_mb:.0f} MB)"
    )
    header("", ["model", "seconds", "iters", "peak MB", "baseline", "ratio"])
    a = alpha_max(Xl, y, task_column=-1)
    reg = TraceNormMTLRegressor(alpha=0.1 * a, task_column=-1)
    t, m, reg = measure(lambda: reg.fit(Xl, y))
    tb, _, _ = measure(lambda: per_task(Xl, tasks, y, Ridge), memory=False)
    row(["regressor", t, reg.n_iter_, m, tb, t / tb])
    ac = alpha_max(Xl, yc, task_column=-1, loss="logistic")
    clf = TraceNormMTLClassifier(alpha=0.1 * ac, task_column=-1)
    C = 1.0 / (0.1 * ac * n_t)
    # Interleaved fit / baseline pairs, the median of 3 (the machine is shared).
    pairs = []

    def fit_clf():
        return clf.fit(Xl, yc)

    for _ in range(3):
        t, _, _ = measure(fit_clf, memory=False)
        tb, _, _ = measure(
            lambda: per_task(Xl, tasks, yc, lambda: LogisticRegression(C=C)),
            memory=False,
        )
        pairs.append((t, tb, t / tb))
    t, tb, ratio = np.median(np.array(pairs), axis=0)
    m = measure(fit_clf)[1]
    row(["classif.", t, clf.n_iter_, m, tb, ratio])
    print(
        "baselines: 20 Ridge() fits; 20 LogisticRegression(C = 1 / (alpha n_t))"
        f" fits; classifier: median of 3 interleaved pairs, ratios {pairs_fmt(pairs)}"
    )


def table_cv(quick):
    Ts = [100] if quick else [100, 1000]
    n_t, d = 100, 50
    header(
        f"CV estimators: 5 alphas, 3 folds, {n_t} rows per task, d = {d}",
        ["T", "regCV", "RidgeCV/t", "clfCV", "LogRegCV/t"],
    )
    for T in Ts:
        _cv_row(T, n_t, d)


def _cv_row(T, n_t, d):
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV

    Xl, y, tasks = make_data(T, n_t, d)
    yc = (y > 0).astype(int)
    reg = TraceNormMTLRegressorCV(alphas=5, cv=3, task_column=-1)
    tr, _, _ = measure(lambda: reg.fit(Xl, y), memory=False)
    ridge = lambda: RidgeCV(alphas=np.logspace(-3, 1, 5))  # noqa: E731
    trb, _, _ = measure(lambda: per_task(Xl, tasks, y, ridge), memory=False)
    clf = TraceNormMTLClassifierCV(alphas=5, cv=3, task_column=-1)
    tc, _, _ = measure(lambda: clf.fit(Xl, yc), memory=False)
    logreg = lambda: LogisticRegressionCV(Cs=5, cv=3)  # noqa: E731
    tcb, _, _ = measure(lambda: per_task(Xl, tasks, yc, logreg), memory=False)
    row([str(T).rjust(9), tr, trb, tc, tcb])


def table_school(quick):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_centralized as bc

    from skmtl.solvers._admm import solve_quadratic

    if not bc.SCHOOL.exists():
        print("\nSchool: data not found, skipped")
        return
    Xs, ys = bc.load_school()
    H, Q, c = bc.gram_raw(Xs, ys)
    repeats = 3 if quick else 7
    print(
        "\nSchool raw (sum scaling, no intercept): solve_quadratic to a certified "
        f"1e-6 gap, median of {repeats}"
    )
    for alpha in (1.0, 10.0, 100.0, 1000.0):
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            res = solve_quadratic(H, Q, c, alpha, tol=1e-6)
            ts.append(time.perf_counter() - t)
        print(
            f"  alpha {alpha:>6g}: {1e3 * np.median(ts):6.1f} ms, "
            f"{res.n_iter} iterations, gap {res.gap:.1e}"
        )
    from skmtl.datafits._losses import TaskBlocks

    T = len(Xs)
    blocks = TaskBlocks(
        [np.asarray(X, float) for X in Xs],
        [np.asarray(y, float).ravel() for y in ys],
        [np.ones(len(y)) for y in ys],
        np.ones(T),
    )
    print(f"  form chosen for School (long format): {SquaredLoss(blocks).form}")


TABLES = {
    "tasks": table_tasks,
    "growth": table_growth,
    "margins": table_margins,
    "forms": table_forms,
    "features": table_features,
    "rows": table_rows,
    "sparse": table_sparse,
    "sparse_forms": table_sparse_forms,
    "cv": table_cv,
    "school": table_school,
}


def main():
    global MEMORY
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument(
        "--only", default=",".join(TABLES), help="comma-separated tables"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip tracemalloc runs"
    )
    args = parser.parse_args()
    MEMORY = not args.no_memory
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(
        f"{platform.platform()}, {os.cpu_count()} CPUs, numpy {np.__version__}, "
        f"load average at start {load[0]:.2f}"
    )
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name in args.only.split(","):
        TABLES[name.strip()](args.quick)
        sys.stdout.flush()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"\nload average at end {load[0]:.2f}")


if __name__ == "__main__":
    main()

"""Per-task convergence monitoring and distillation: does monitoring save updates?

Does stopping, freezing or distilling converged tasks
(``doc/user_guide/per_task_convergence.rst``, ``skmtl.TaskMonitor``) predict
better than plain trace-norm MTL?  Measured on

* School (139 tasks, 15,362 pupils) on its 10 standard 75/25 splits
  (``school_argyriou/school_{1..10}_indexes.mat``), features z-scored on the
  training rows, one intercept per task, ``loss_scaling='mean'``;
* synthetic tasks of uneven size (8 to 300 training rows, log-uniform) and
  noise (sigma 0.5 to 4, log-uniform), a rank-3 model with d = 30, 40 tasks and
  200 test rows per task; 10 draws play the role of the splits.

Methods, each evaluated on the test rows of every split:

* ``CV alpha``: the plain estimator, converged, with ``alpha`` chosen by 3-fold
  cross-validation on the training rows only (folds within every task);
* at a given ``alpha`` (the CV one, and a small one, ``alpha_cv / 100``):
  ``plain`` (no monitor, all training rows, converged), ``continue`` (the
  monitor's 80 % training rows, no intervention: the price of holding out),
  ``snapshot`` (each task's best validation snapshot), ``freeze`` and
  ``distill`` (weight 1 and 0.5).  The monitor uses its defaults
  (``validation_fraction=0.2``, ``warm_up=5``, ``patience=5``,
  ``check_every=10``, ``min_improvement=1e-3``), its validation rows carved
  from the training rows of each task; nothing is tuned on test rows.

Errors: MSE over all test rows, nMSE (``skmtl.metrics.nmse``: per-task MSE over
the task's variance, averaged by task size) and the nMSE of the third of the
tasks with the fewest training rows ("small").  Differences are paired per
split (method minus baseline; negative is better), with their mean, standard
error, the number of splits won and a paired t-test p-value.

``tuned alpha``: snapshot and distill, each with its own alpha chosen by the
same inner CV among ``alpha_cv``, ``alpha_cv / 10`` and ``alpha_cv / 100``.

Compute (asynchronous case): AMTL (simulated clock, a task's compute time
proportional to its rows, no network delay, ``tol=1e-5``, at most 3000 epochs)
without and with a monitor ('snapshot', 'freeze', 'distill'): epochs, task
updates and rows read by the task nodes (relative to no monitor), the updates
saved as reported by ``updates_saved_``, virtual time and test nMSE.  On the
synthetic draws at ``alpha_cv`` and ``alpha_cv / 100``; on 3 School splits at
``alpha_cv`` only (an AMTL run on School takes about 40 s).

Run::

    python benchmarks/bench_distillation.py            # full (about 30 minutes)
    python benchmarks/bench_distillation.py --quick    # 2 splits (about 2 minutes)

School is read with skmtl's loaders (``load_school`` and ``load_school_splits``
with ``path=``) from ``$SKMTL_DATA`` or, when that is unset, from
``../shared/data`` next to the checkout; nothing is downloaded, and School is
skipped with a message when its files are absent.
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from skmtl import (  # noqa: E402
    AsyncTraceNormMTLRegressor,
    SimulatedBackend,
    TaskMonitor,
    TraceNormMTLRegressor,
)
from skmtl.datasets import load_school, load_school_splits  # noqa: E402
from skmtl.metrics import nmse  # noqa: E402
from skmtl.solvers._fista import alpha_max  # noqa: E402
from skmtl.utils._validation import validate_fit_data  # noqa: E402

DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
ASYNC_MONITORS = (
    ("none", None),
    ("snapshot", {"policy": "snapshot"}),
    ("freeze", {"policy": "freeze"}),
    ("distill a=1", {"policy": "distill"}),
)
TUNED = (
    ("snapshot", {"policy": "snapshot"}),
    ("distill a=1", {"policy": "distill", "distill_weight": 1.0}),
)
POLICIES = (
    ("continue", {"policy": "continue"}),
    ("snapshot", {"policy": "snapshot"}),
    ("freeze", {"policy": "freeze"}),
    ("distill a=1", {"policy": "distill", "distill_weight": 1.0}),
    ("distill a=.5", {"policy": "distill", "distill_weight": 0.5}),
)


# --------------------------------------------------------------------------- #
# Problems: long format (features, task column last), train and test
# --------------------------------------------------------------------------- #
def _standardize(X_tr, X_te):
    mu, sd = X_tr.mean(axis=0), X_tr.std(axis=0)
    sd[sd == 0] = 1.0
    return (X_tr - mu) / sd, (X_te - mu) / sd


def _school():
    """School (features, task column last) and its 10 standard splits, or None."""
    try:
        X, y = load_school(path=DATA, return_X_y=True)
        return X, y, load_school_splits(None, path=DATA)
    except OSError as exc:  # FileNotFoundError included
        print(f"School not available ({exc}): skipped.")
        return None


def school_splits(n_splits):
    """The standard School splits: (name, X_tr, y_tr, X_te, y_te) in long format."""
    X, y, splits = _school()
    X, task = X[:, :-1], X[:, -1] - 1  # schools 0..138
    for k, (tr, te) in enumerate(splits[:n_splits], start=1):
        X_tr, X_te = _standardize(X[tr], X[te])
        yield (
            f"split {k}",
            np.column_stack([X_tr, task[tr]]),
            y[tr],
            np.column_stack([X_te, task[te]]),
            y[te],
        )


def synthetic_splits(n_splits, n_tasks=40, d=30, rank=3, n_test=200):
    """Uneven tasks: sizes 8-300 and noise 0.5-4, both log-uniform."""
    for seed in range(n_splits):
        rng = np.random.RandomState(1000 + seed)
        W = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, n_tasks))
        W /= np.sqrt(rank)
        sizes = np.exp(rng.uniform(np.log(8), np.log(300), n_tasks)).astype(int)
        noise = np.exp(rng.uniform(np.log(0.5), np.log(4.0), n_tasks))
        parts = {"tr": ([], [], []), "te": ([], [], [])}
        for t in range(n_tasks):
            for key, n in (("tr", sizes[t]), ("te", n_test)):
                Xt = rng.standard_normal((n, d))
                parts[key][0].append(Xt)
                parts[key][1].append(Xt @ W[:, t] + noise[t] * rng.standard_normal(n))
                parts[key][2].append(np.full(n, t))
        out = []
        for key in ("tr", "te"):
            Xs, ys, ts = (np.concatenate(p) for p in parts[key])
            out += [np.column_stack([Xs, ts]), ys]
        yield (f"draw {seed}", *out)


# --------------------------------------------------------------------------- #
# Fitting
# --------------------------------------------------------------------------- #
def _alpha_max(X, y):
    est = TraceNormMTLRegressor(task_column=-1)
    return alpha_max(est._make_datafit(validate_fit_data(est, X, y).blocks))


def _folds(task, n_folds, seed):
    """Fold of every row: each task's rows spread evenly over the folds."""
    rng = np.random.RandomState(seed)
    fold = np.empty(task.size, dtype=int)
    for t in np.unique(task):
        rows = np.flatnonzero(task == t)
        fold[rng.permutation(rows)] = np.arange(rows.size) % n_folds
    return fold


def cv_select(X, y, grid, make, *, n_folds=3, seed=0, warm_start=False):
    """The alpha of ``grid`` with the least pooled MSE in a 3-fold CV.

    The folds split every task's training rows; ``make(alpha)`` builds the
    estimator (one per fold refitted along the grid with ``warm_start``).
    """
    fold = _folds(X[:, -1], n_folds, seed)
    sse = np.zeros(len(grid))
    for k in range(n_folds):
        tr, te = fold != k, fold == k
        est = make(grid[0])
        for i, alpha in enumerate(grid):
            if not warm_start:
                est = make(alpha)
            est.set_params(alpha=alpha).fit(X[tr], y[tr])
            sse[i] += np.sum((est.predict(X[te]) - y[te]) ** 2)
    return float(grid[np.argmin(sse)])


def cv_alpha(X, y, *, n_alphas=13, seed=0):
    """alpha of the plain estimator, from alpha_max down to alpha_max / 1e4."""
    grid = _alpha_max(X, y) * np.geomspace(1.0, 1e-4, n_alphas)

    def make(alpha):
        return TraceNormMTLRegressor(alpha=alpha, task_column=-1, warm_start=True)

    return cv_select(X, y, grid, make, seed=seed, warm_start=True), grid


def _errors(est, X_te, y_te, small):
    pred = est.predict(X_te)
    task = X_te[:, -1]
    rows = np.isin(task, small)
    return {
        "MSE": float(np.mean((pred - y_te) ** 2)),
        "nMSE": nmse(y_te, pred, task),
        "small nMSE": nmse(y_te[rows], pred[rows], task[rows]),
    }


def run_split(X_tr, y_tr, X_te, y_te, *, seed):
    """Every method on one split: {(regime, method): metrics}."""
    sizes = np.bincount(X_tr[:, -1].astype(int))
    small = np.argsort(sizes, kind="stable")[: max(1, sizes.size // 3)]
    alpha_cv, _ = cv_alpha(X_tr, y_tr, seed=seed)
    out = {}
    plain = TraceNormMTLRegressor(alpha=alpha_cv, task_column=-1).fit(X_tr, y_tr)
    out["-", "CV alpha"] = {**_errors(plain, X_te, y_te, small), "iter": np.nan}
    for regime, alpha in (("CV alpha", alpha_cv), ("small alpha", alpha_cv / 100)):
        if regime != "CV alpha":
            plain = TraceNormMTLRegressor(alpha=alpha, task_column=-1).fit(X_tr, y_tr)
            out[regime, "plain"] = {**_errors(plain, X_te, y_te, small), "iter": np.nan}
        else:
            out[regime, "plain"] = out["-", "CV alpha"]
        for name, params in POLICIES:
            mon = TaskMonitor(random_state=seed, **params)
            est = TraceNormMTLRegressor(alpha=alpha, task_column=-1, task_monitor=mon)
            est.fit(X_tr, y_tr)
            diag = est.task_convergence_
            out[regime, name] = {
                **_errors(est, X_te, y_te, small),
                "iter": est.n_iter_,
                "converged %": 100 * diag["converged"].mean(),
            }
    # Each monitored method with its own alpha, chosen by the same inner CV
    # among alpha_cv, alpha_cv / 10 and alpha_cv / 100.
    for name, params in TUNED:
        grid = alpha_cv * np.array([1.0, 0.1, 0.01])

        def make(alpha, params=params):
            mon = TaskMonitor(random_state=seed, **params)
            return TraceNormMTLRegressor(alpha=alpha, task_column=-1, task_monitor=mon)

        alpha = cv_select(X_tr, y_tr, grid, make, seed=seed)
        est = make(alpha).fit(X_tr, y_tr)
        out["tuned alpha", name] = {
            **_errors(est, X_te, y_te, small),
            "iter": est.n_iter_,
            "converged %": 100 * est.task_convergence_["converged"].mean(),
            "alpha / alpha_cv": alpha / alpha_cv,
        }
    out["-", "alpha_cv"] = alpha_cv
    return out


def run_async(X_tr, y_tr, X_te, y_te, alpha, *, seed, max_iter):
    """AMTL without and with a monitor on the simulated clock."""
    sizes = np.bincount(X_tr[:, -1].astype(int))
    small = np.argsort(sizes, kind="stable")[: max(1, sizes.size // 3)]
    rows = {}
    for name, params in ASYNC_MONITORS:
        mon = None if params is None else TaskMonitor(random_state=seed, **params)
        est = AsyncTraceNormMTLRegressor(
            alpha=alpha,
            task_column=-1,
            backend=SimulatedBackend(compute_time=1e-5 * sizes),
            max_iter=max_iter,
            tol=1e-5,
            task_monitor=mon,
            random_state=seed,
        )
        est.fit(X_tr, y_tr)
        n = est.task_stats_["n_updates"]
        rows[name] = {
            "epochs": est.n_iter_,
            "updates": est.n_updates_,
            # Rows read by the task nodes: the work of the forward steps.
            "rows": float(n @ sizes),
            "saved": getattr(est, "updates_saved_", 0),
            "time": float(est.objective_history_["time"][-1]),
            "stop": est.stop_reason_,
            **_errors(est, X_te, y_te, small),
        }
    return rows


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #
def _table(title, header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True))
    print(f"\n{title}\n{line}\n{'-' * len(line)}")
    for row in rows:
        print("  ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)))


def _fmt(x, spec=".4f"):
    return (
        "nan" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:{spec}}"
    )


def report(dataset, results):
    keys = [k for k in results[0] if isinstance(k, tuple) and k[0] != "-"]
    alphas = [r["-", "alpha_cv"] for r in results]
    print(
        f"\n=== {dataset}: {len(results)} splits; alpha_cv median "
        f"{np.median(alphas):.4g} (range {min(alphas):.3g}-{max(alphas):.3g}) ==="
    )
    rows = []
    for key in [("-", "CV alpha")] + keys:
        vals = [r[key] for r in results]
        row = [key[0], key[1]]
        for m in ("MSE", "nMSE", "small nMSE"):
            x = np.array([v[m] for v in vals])
            row.append(f"{x.mean():.4f} +- {x.std(ddof=1) if x.size > 1 else 0:.4f}")
        it = [v["iter"] for v in vals]
        row.append(
            _fmt(float(np.nanmedian(it)) if not np.all(np.isnan(it)) else np.nan, ".0f")
        )
        conv = [v.get("converged %", np.nan) for v in vals]
        row.append(_fmt(float(np.mean(conv)), ".0f"))
        rows.append(row)
    _table(
        f"{dataset}: test errors (mean +- sd over splits; lower is better)",
        ["alpha", "method", "MSE", "nMSE", "small-task nMSE", "iter", "conv %"],
        rows,
    )
    for name, _ in TUNED:
        ratios = [r["tuned alpha", name]["alpha / alpha_cv"] for r in results]
        print(
            f"tuned alpha, {name}: alpha / alpha_cv chosen per split: "
            + " ".join(f"{x:g}" for x in ratios)
        )
    rows = []
    for method, base in _comparisons():
        row = [method[0], method[1], f"{base[1]} ({base[0]})"]
        for m in ("nMSE", "small nMSE", "MSE"):
            a = np.array([r[method][m] for r in results])
            b = np.array([r[base][m] for r in results])
            d = a - b
            se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else 0.0
            p = np.nan
            if d.size > 1 and np.any(d != 0):
                p = float(stats.ttest_rel(a, b).pvalue)
            row.append(
                f"{d.mean():+.4f} ({se:.4f}) {int((d < 0).sum())}/{d.size} "
                f"p={_fmt(p, '.2g')}"
            )
        rows.append(row)
    _table(
        f"{dataset}: paired differences per split, method - baseline: mean (SE), "
        "splits won, paired t-test p",
        ["alpha", "method", "baseline", "nMSE", "small-task nMSE", "MSE"],
        rows,
    )


def _comparisons():
    """(method, baseline) keys: every policy against plain, snapshot, CV alpha."""
    out = []
    for regime in ("CV alpha", "small alpha"):
        same = (regime, "plain")
        out.append(((regime, "continue"), same))
        for name, _ in POLICIES[1:]:
            out.append(((regime, name), same))
            if name != "snapshot":
                out.append(((regime, name), (regime, "snapshot")))
            if regime == "small alpha":
                out.append(((regime, name), ("-", "CV alpha")))
    out.append((("small alpha", "plain"), ("-", "CV alpha")))
    for name, _ in TUNED:
        out.append((("tuned alpha", name), ("-", "CV alpha")))
    return out


def report_async(dataset, results, regime):
    rows = []
    for name, _ in ASYNC_MONITORS:
        vals = [r[name] for r in results]

        def med(key, vals=vals):
            return float(np.median([v[key] for v in vals]))

        def ratio(key, vals=vals):
            pairs = zip(vals, results, strict=True)
            return float(np.median([v[key] / r["none"][key] for v, r in pairs]))

        rows.append(
            [
                name,
                f"{med('epochs'):.0f}",
                f"{med('updates'):.0f}",
                f"{ratio('updates'):.3f}",
                f"{ratio('rows'):.3f}",
                f"{med('saved'):.0f}",
                f"{med('time'):.3f}",
                ",".join(sorted({v["stop"] for v in vals})),
                f"{np.mean([v['nMSE'] for v in vals]):.4f}",
                f"{np.mean([v['small nMSE'] for v in vals]):.4f}",
            ]
        )
    _table(
        f"{dataset}: AMTL (simulated clock) at {regime}; medians over "
        f"{len(results)} splits (nMSE: means)",
        [
            "monitor",
            "epochs",
            "updates",
            "upd / none",
            "rows / none",
            "updates_saved_",
            "virtual s",
            "stop",
            "nMSE",
            "small nMSE",
        ],
        rows,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 splits, 1 AMTL run")
    parser.add_argument("--splits", type=int, default=None)
    parser.add_argument("--no-async", action="store_true")
    args = parser.parse_args()
    n_splits = args.splits or (2 if args.quick else 10)
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} cores; BLAS limited to 1 thread"
    )
    # (name, splits, AMTL runs: how many splits, at which alphas)
    datasets = [
        (
            "synthetic (uneven sizes and noise)",
            synthetic_splits,
            1 if args.quick else n_splits,
            (("alpha_cv", 1.0),)
            if args.quick
            else (("alpha_cv", 1.0), ("alpha_cv / 100", 0.01)),
        )
    ]
    if _school() is not None:
        # AMTL on School is slow (~40 s a run): 3 splits, at alpha_cv only.
        school_async = 0 if args.quick else min(3, n_splits)
        datasets.insert(
            0, ("School", school_splits, school_async, (("alpha_cv", 1.0),))
        )
    warnings.simplefilter("ignore")  # small-task and convergence warnings
    start = time.perf_counter()
    with threadpool_limits(1):
        for name, make, n_async, regimes in datasets:
            results, async_rows = [], {regime: [] for regime, _ in regimes}
            for k, (split, X_tr, y_tr, X_te, y_te) in enumerate(make(n_splits)):
                t0 = time.perf_counter()
                res = run_split(X_tr, y_tr, X_te, y_te, seed=k)
                results.append(res)
                if k < n_async and not args.no_async:
                    for regime, factor in regimes:
                        async_rows[regime].append(
                            run_async(
                                X_tr,
                                y_tr,
                                X_te,
                                y_te,
                                factor * res["-", "alpha_cv"],
                                seed=k,
                                max_iter=3000,
                            )
                        )
                print(f"  {name} {split}: {time.perf_counter() - t0:.1f}s", flush=True)
            report(name, results)
            for regime, rows in async_rows.items():
                if rows:
                    report_async(name, rows, regime)
    print(f"\nTotal {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()

"""Default asynchronous fits against the centralized estimator (issue 11, items 1, 5).

Every async fit uses the defaults only, plus ``task_column`` and an ``alpha``
of ``RATIO * alpha_max`` (default 0.05; the issue allows 0.01 to 0.2).  For
each data set the centralized estimator is fitted first, then the async
estimator on each backend, all in this process, side by side; the table gives
the async time, its ratio to the centralized time of the same run, the
relative objective gap ``(F_async - F_centralized) / |F_centralized|``, the
certified ``dual_gap_``, epochs, restarts of the step search, the step in
units of ``1 / L`` and the warnings raised.

Data sets (from ``$SKMTL_DATA``, default ``../shared/data`` next to the
checkout, through the skmtl loaders): School standardized (features z-scored
over all rows) and raw, Landmine standardized and raw (classifier),
Parkinson's (motor_UPDRS, raw features) and the paper's synthetic setting
(``make_low_rank_regression``: 10 tasks, 100 rows each, d = 50, rank 3).

Targets (issue 11): no ConvergenceWarning anywhere, relative objective within
1e-6 of the centralized one; threaded standardized School at most 10x the
centralized time, sequential at most 2x threaded; Landmine threaded at most
10x the centralized classifier.

Every fit is printed (``refresh`` is the ``refresh_every_`` used); then, per
data set, the median times and the medians over the rounds of the ratios
sequential/threading, threading/central, ... of fits run side by side in the
same round (``--repeat`` rounds, interleaved).

Usage::

    python benchmarks/bench_async_defaults.py [--ratio 0.01,0.05,0.2,default]
        [--repeat 3] [--datasets school-std,landmine-std]
        [--backends threading,sequential]

Measured with batched task steps (2 cores shared, load 5.7-8.5; medians of
the per-round ratios, 3 rounds): standardized School, default alpha,
threading/central 4.77 (11.90 before batching, same load),
sequential/threading 1.06 (0.99); 0.05 alpha_max 3.23 (5.97) and 1.01
(1.06); raw Landmine, default alpha, 1.64 (1.43) and 1.14 (1.13), 0.05
alpha_max 6.99 (5.39; the async fit itself 0.56 s vs 0.65 s) and 1.10
(1.20).  Every default fit of the full table converged without a warning.

``--ratio`` takes a comma-separated list; ``default`` is the estimators'
default ``alpha`` (0.05, absolute: e.g. 0.0005 alpha_max on standardized
School).  A summary of the epochs per fit ends the output.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from skmtl import (  # noqa: E402
    AsyncTraceNormMTLClassifier,
    AsyncTraceNormMTLRegressor,
    TraceNormMTLClassifier,
    TraceNormMTLRegressor,
)
from skmtl.datasets import (  # noqa: E402
    load_landmine,
    load_parkinsons,
    load_school,
    make_low_rank_regression,
)
from skmtl.solvers._gaps import alpha_max, penalized_objective  # noqa: E402
from skmtl.utils._validation import validate_fit_data  # noqa: E402

DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)


def _standardized(X):
    X = X.astype(float)
    X[:, :-1] = StandardScaler().fit_transform(X[:, :-1])
    return X


def school(std):
    X, y = load_school(data_home=DATA, return_X_y=True, download_if_missing=False)
    X = X.astype(float)
    return (_standardized(X) if std else X), y.astype(float)


def landmine(std):
    X, y = load_landmine(data_home=DATA, return_X_y=True, download_if_missing=False)
    X = X.astype(float)
    return (_standardized(X) if std else X), y


def parkinsons():
    X, y = load_parkinsons(data_home=DATA, return_X_y=True, download_if_missing=False)
    return X.astype(float), y


def synthetic():
    X, y, _ = make_low_rank_regression(
        n_samples=100,
        n_features=50,
        n_tasks=10,
        rank=3,
        return_long=True,
        random_state=0,
    )
    return X, y


DATASETS = {
    "school-std": (lambda: school(True), False),
    "school-raw": (lambda: school(False), False),
    "landmine-std": (lambda: landmine(True), True),
    "landmine-raw": (lambda: landmine(False), True),
    "parkinsons": (parkinsons, False),
    "synthetic": (synthetic, False),
}


def objective(est, datafit, alpha):
    b = est.intercept_ if datafit.has_free_intercept else None
    return penalized_objective(datafit, None, est.coef_.T, b, alpha)


def timed_fit(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - start
    names = sorted({w.category.__name__ for w in caught})
    return elapsed, names


def load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


HEADER = (
    f"{'dataset':13s} {'ratio':>7s} {'backend':10s} {'time s':>8s} {'cent. s':>8s} "
    f"{'ratio':>6s} {'rel. obj':>9s} {'dual_gap_':>9s} {'epochs':>6s} "
    f"{'restarts':>8s} {'refresh':>7s} {'step*L':>8s}  warnings"
)


def run_dataset(name, backends, ratios, repeat, epochs):
    """Fit the centralized and the async estimators ``repeat`` times per alpha,
    interleaved (central, then each backend, in every round); print every
    fit, record (epochs, restarts, bad) per backend in ``epochs`` and return
    the times: {(ratio, 'central'): [...], (ratio, backend): [...]}."""
    make, classifier = DATASETS[name]
    try:
        X, y = make()
    except OSError as exc:
        print(f"{name:13s} skipped: {exc}")
        return None
    cent_cls = TraceNormMTLClassifier if classifier else TraceNormMTLRegressor
    async_cls = (
        AsyncTraceNormMTLClassifier if classifier else AsyncTraceNormMTLRegressor
    )
    probe = cent_cls(task_column=-1)
    datafit = probe._make_datafit(
        validate_fit_data(probe, X, y, classifier=classifier).blocks
    )
    amax = alpha_max(datafit)
    L = float(np.max(datafit.lipschitz))
    times = {}
    for ratio in ratios:
        alpha = async_cls().alpha if ratio == "default" else float(ratio) * amax
        label = f"{alpha / amax:.2g}" if ratio == "default" else ratio
        for _ in range(repeat):
            cent = cent_cls(alpha, task_column=-1)
            t_cent, w_cent = timed_fit(cent, X, y)
            times.setdefault((label, "central"), []).append(t_cent)
            f_cent = objective(cent, datafit, alpha)
            print(
                f"{name:13s} {label:>7s} {'central':10s} {t_cent:8.3f} "
                f"{t_cent:8.3f} {1.0:6.2f} {0.0:9.1e} {cent.dual_gap_:9.1e} "
                f"{cent.n_iter_:6d} {'':>8s} {'':>7s} {'':>8s}  "
                f"{','.join(w_cent) or '-'}",
                flush=True,
            )
            row = []
            for backend in backends:
                est = async_cls(alpha, task_column=-1, backend=backend)
                t_async, w_async = timed_fit(est, X, y)
                times.setdefault((label, backend), []).append(t_async)
                rel = (objective(est, datafit, alpha) - f_cent) / abs(f_cent)
                refresh = getattr(est, "refresh_every_", 1)  # older checkouts: 1
                print(
                    f"{name:13s} {label:>7s} {backend:10s} {t_async:8.3f} "
                    f"{t_cent:8.3f} {t_async / t_cent:6.2f} {rel:9.1e} "
                    f"{est.dual_gap_:9.1e} {est.n_iter_:6d} {est.n_restarts_:8d} "
                    f"{refresh:7d} {est.step_size_ * L:8.3g}  "
                    f"{','.join(w_async) or '-'}",
                    flush=True,
                )
                row.append((est.n_iter_, est.n_restarts_, bool(w_async) or rel > 1e-6))
            epochs[(name, label)] = row
    return times


def side_by_side(name, all_times):
    """Median times and the medians of the per-round ratios of one data set."""
    for label in dict.fromkeys(k[0] for k in all_times):
        times = {b: v for (r, b), v in all_times.items() if r == label}
        _side_by_side(f"{name} {label}", times)


def _side_by_side(name, times):
    def ratio(a, b):
        if a not in times or b not in times:
            return None
        return float(np.median(np.array(times[a]) / np.array(times[b])))

    medians = ", ".join(f"{k} {np.median(v):.3f} s" for k, v in times.items())
    pairs = [
        ("sequential", "threading"),
        ("threading", "central"),
        ("sequential", "central"),
        ("simulated", "central"),
    ]
    ratios = ", ".join(
        f"{a}/{b} {r:.2f}" for a, b in pairs if (r := ratio(a, b)) is not None
    )
    print(f"{name:18s} medians of {len(times['central'])}: {medians}")
    print(f"{name:18s} side-by-side ratios (median per round): {ratios}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ratio", default="0.05")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--backends", default="sequential,threading,simulated")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of interleaved fits per data set; the summary gives the "
        "medians of the per-round time ratios",
    )
    args = parser.parse_args()
    backends = list(dict.fromkeys(args.backends.split(",")))  # each once a round
    print(
        f"alpha = {args.ratio} x alpha_max; defaults otherwise; load average "
        f"{load():.2f} at start"
    )
    epochs = {}
    print(HEADER)
    print("-" * len(HEADER))
    summaries = []
    for name in args.datasets.split(","):
        times = run_dataset(name, backends, args.ratio.split(","), args.repeat, epochs)
        if times is not None:
            summaries.append((name, times))
    print()
    for name, times in summaries:
        side_by_side(name, times)
    print(f"load average {load():.2f} at end")
    print("\nepochs (restarts) per backend, last round; * = warned or rel. obj > 1e-6")
    print(f"{'dataset':13s} {'ratio':>7s} " + " ".join(f"{b:>12s}" for b in backends))
    for (name, label), row in epochs.items():
        cells = [f"{e:5d} ({r:2d}){'*' if bad else ' '}" for e, r, bad in row]
        print(f"{name:13s} {label:>7s} " + " ".join(f"{c:>12s}" for c in cells))


if __name__ == "__main__":
    main()

"""Where cross-validation chooses alpha, and what the bottom of the grid costs.

For the early-termination rule of the CV estimators' paths (issue 10 item 4,
``skmtl.estimators._cv._should_stop``): on School (regression, 139 tasks),
Landmine (classification, 29 tasks) and Parkinson's (regression, 42 tasks),
long format, raw features, the CV estimators' defaults (20 alphas from
alpha_max to 1e-3 alpha_max, 5 task-stratified folds, default scoring), every
fold's whole path is fitted (warm-started, as the CV estimators do) and the
held-out score and seconds of every alpha are recorded.  Printed per data set:

* the score curve (mean over folds) and the seconds per alpha;
* which alpha full-grid CV chooses (as a fraction of alpha_max);
* the rule replayed on the recorded scores: where every fold would stop, the
  fits and seconds saved, and whether the chosen alpha is unchanged.

Run::

    python benchmarks/bench_cv_path.py            # all three data sets
    python benchmarks/bench_cv_path.py --only landmine

The data are read from ``$SKMTL_DATA`` or ``../shared/data`` next to the
checkout.
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from sklearn.base import clone  # noqa: E402
from sklearn.utils import _safe_indexing  # noqa: E402

from skmtl import TraceNormMTLClassifierCV, TraceNormMTLRegressorCV  # noqa: E402
from skmtl.datasets import load_landmine, load_parkinsons, load_school  # noqa: E402
from skmtl.estimators import _cv  # noqa: E402
from skmtl.solvers._path import datafit_path  # noqa: E402
from skmtl.utils._validation import validate_fit_data  # noqa: E402

DATA = Path(
    os.environ.get(
        "SKMTL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)

SETS = {
    "school": (load_school, TraceNormMTLRegressorCV),
    "landmine": (load_landmine, TraceNormMTLClassifierCV),
    "parkinsons": (load_parkinsons, TraceNormMTLRegressorCV),
}


def full_paths(cv_est, X, y):
    """Scores and seconds of every fold and alpha, the whole grid."""
    estimator = cv_est._base_estimator()
    alphas = cv_est._alpha_grid(estimator, X, y, None)
    scorer = cv_est._scorer(estimator)
    splits = cv_est._splits(X, y)
    scores = np.full((len(splits), len(alphas)), np.nan)
    seconds = np.full_like(scores, np.nan)
    for f, (train, test) in enumerate(splits):
        est = clone(estimator)
        est._warn_zero_coef = False
        Xtr, ytr = _safe_indexing(X, train), _safe_indexing(y, train)
        Xte, yte = _safe_indexing(X, test), _safe_indexing(y, test)
        t0 = [time.perf_counter()]
        data = validate_fit_data(
            est, Xtr, ytr, None, classifier=est._loss == "logistic"
        )
        datafit = est._make_datafit(data.blocks)

        def callback(
            k,
            alpha,
            res,
            f=f,
            est=est,
            data=data,
            datafit=datafit,
            t0=t0,
            Xte=Xte,
            yte=yte,
        ):
            est.alpha = alpha
            est._set_fitted(datafit, data, res)
            scores[f, k] = scorer(est, Xte, yte)
            now = time.perf_counter()
            seconds[f, k] = now - t0[0]
            t0[0] = now
            return False

        datafit_path(
            datafit,
            alphas,
            penalty=est._penalty(),
            tol=est.tol,
            max_iter=est.max_iter,
            callback=callback,
        )
    return alphas, scores, seconds


def replay(scores):
    """Index of the last alpha each fold fits under the rule."""
    stops = []
    for row in scores:
        last = len(row) - 1
        for k in range(len(row)):
            if _cv._should_stop(row[: k + 1]):
                last = k
                break
        stops.append(last)
    return np.array(stops)


def report(name, alphas, scores, seconds):
    a_max = alphas[0]
    mean = scores.mean(axis=0)
    best = int(np.nanargmax(mean))
    print(f"\n== {name}: {scores.shape[0]} folds, {len(alphas)} alphas ==")
    print(
        f"{'k':>3} {'alpha/amax':>10} {'mean score':>10} {'fold min':>9} "
        f"{'fold max':>9} {'s (all folds)':>13}"
    )
    for k in range(len(alphas)):
        mark = " <- CV" if k == best else ""
        print(
            f"{k:3d} {alphas[k] / a_max:10.2e} {mean[k]:10.4f} "
            f"{scores[:, k].min():9.4f} "
            f"{scores[:, k].max():9.4f} {seconds[:, k].sum():13.3f}{mark}"
        )
    fold_best = np.argmax(scores, axis=1)
    print(
        f"full grid: CV picks alpha = {alphas[best] / a_max:.3g} alpha_max (k={best});"
        f" per-fold best k = {fold_best.tolist()}"
    )
    stops = replay(scores)
    kept = np.zeros_like(scores, dtype=bool)
    for f, s in enumerate(stops):
        kept[f, : s + 1] = True
    masked = np.where(kept, scores, np.nan).mean(axis=0)
    best_rule = int(np.nanargmax(masked))
    saved_fits = 1 - kept.mean()
    saved_s = 1 - seconds[kept].sum() / seconds.sum()
    same = "same" if best_rule == best else "DIFFERENT"
    # As the CV estimators do: every fold stops at the first fold's stop.
    cut = int(stops.min())
    shared_fits = 1 - (cut + 1) / len(alphas)
    shared_s = 1 - seconds[:, : cut + 1].sum() / seconds.sum()
    best_cut = int(np.nanargmax(mean[: cut + 1]))
    print(
        f"rule (below the alpha_max score {_cv._STOP_PATIENCE} times in a row): "
        f"folds stop at k = "
        f"{stops.tolist()}; fits saved {saved_fits:.0%}, path seconds saved "
        f"{saved_s:.0%}; choice {same} (k={best_rule})"
    )
    print(
        f"CV estimators (every fold stops at k = {cut}): fits saved "
        f"{shared_fits:.0%}, path seconds saved {shared_s:.0%}; choice "
        f"{'same' if best_cut == best else 'DIFFERENT'} (k={best_cut})"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SETS), default=None)
    parser.add_argument("--save", default=None, help="folder for the raw curves")
    args = parser.parse_args(argv)
    load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {load}; "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    for name in [args.only] if args.only else list(SETS):
        loader, Est = SETS[name]
        X, y = loader(path=DATA, return_X_y=True)
        cv_est = Est(task_column=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            t0 = time.perf_counter()
            alphas, scores, seconds = full_paths(cv_est, X, y)
            total = time.perf_counter() - t0
        report(name, alphas, scores, seconds)
        if args.save:
            out = Path(args.save) / f"cv_path_{name}.npz"
            np.savez(out, alphas=alphas, scores=scores, seconds=seconds)
        print(f"whole grid, all folds: {total:.2f} s")


if __name__ == "__main__":
    main()

"""Which default ``alpha`` learns on standardized data (issue 12, item 2).

For every data set, features (and regression targets) are standardized on the
training rows, then the centralized estimator is fitted at a grid of absolute
``alpha`` values and scored on held-out rows:

* School (139 tasks, regression, R^2 of all test rows), 75/25 split per task;
* Parkinson's (42 tasks, regression of motor_UPDRS, R^2), 75/25 split per task;
* Landmine (29 tasks, binary, mean per-task ROC AUC), 50/50 split per task;
* blobs (one binary task, 2 features: scikit-learn's ``check_classifiers_train``
  data; accuracy), 2/3 - 1/3 split;
* load_digits (10 classes, one-vs-rest tasks coupled by the trace norm;
  accuracy), 2/3 - 1/3 split;
* diabetes (one regression task, R^2), 2/3 - 1/3 split.

Each cell is the held-out score; ``alpha_max`` (all coefficients zero at and
above it) is printed per data set, and a ``*`` marks fits whose coefficients
are all zero.  The last table gives, per ``alpha``, each data set's loss of
score against its best ``alpha`` on the grid (the regret of choosing that
``alpha`` as the default without tuning).

Run::

    python benchmarks/bench_default_alpha.py            # all data sets
    python benchmarks/bench_default_alpha.py --quick    # blobs, digits, diabetes

The real data sets are read with the skmtl loaders (``path=``, no network) from
``$SKMTL_DATA`` or, when that is unset, from ``../shared/data`` next to the
checkout; they are skipped with a message when absent.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from sklearn.datasets import load_diabetes, load_digits, make_blobs  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skmtl import (  # noqa: E402
    TraceNormMTLClassifier,
    TraceNormMTLRegressor,
    alpha_max,
)
from skmtl.datasets import load_landmine, load_parkinsons, load_school  # noqa: E402
from skmtl.metrics import macro_roc_auc_score  # noqa: E402

ALPHAS = (1.0, 0.3, 0.1, 0.07, 0.05, 0.03, 0.01, 0.003, 0.001)
DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)


def _standardize_long(X, y, tasks, test_size, regression, seed=0):
    """Per-task split; global z-score of features (and y) on the training rows."""
    tr, te = train_test_split(
        np.arange(len(y)), test_size=test_size, stratify=tasks, random_state=seed
    )
    scaler = StandardScaler().fit(X[tr, :-1])
    Xs = np.column_stack([scaler.transform(X[:, :-1]), X[:, -1]])
    y = np.asarray(y, dtype=float)
    if regression:
        y = (y - y[tr].mean()) / y[tr].std()
    return Xs[tr], y[tr], Xs[te], y[te]


def _standardize(X, y, regression, seed=0):
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=1 / 3, random_state=seed, stratify=None if regression else y
    )
    scaler = StandardScaler().fit(Xtr)
    if regression:
        mu, sd = ytr.mean(), ytr.std()
        ytr, yte = (ytr - mu) / sd, (yte - mu) / sd
    return scaler.transform(Xtr), ytr, scaler.transform(Xte), yte


def _landmine_auc(est, X, y):
    return macro_roc_auc_score(y, est.decision_function(X), X[:, -1])


def datasets(quick, path=DATA):
    """(name, estimator class, task_column, train/test data, scorer, what)."""
    out = []
    if not quick:
        loaders = [
            ("School", load_school, True, 0.25),
            ("Parkinson's", load_parkinsons, True, 0.25),
            ("Landmine", load_landmine, False, 0.5),
        ]
        for name, loader, regression, test_size in loaders:
            try:
                X, y = loader(path=path, return_X_y=True)
            except OSError as exc:
                print(f"[skip] {name}: {exc}")
                continue
            split = _standardize_long(X, y, X[:, -1], test_size, regression)
            if regression:
                out.append((name, TraceNormMTLRegressor, -1, split, None, "R^2"))
            else:
                out.append(
                    (name, TraceNormMTLClassifier, -1, split, _landmine_auc, "AUC")
                )
    X, y = make_blobs(n_samples=300, random_state=0)
    keep = y != 2  # the binary problem of check_classifiers_train
    split = _standardize(X[keep], y[keep], regression=False)
    out.append(("blobs", TraceNormMTLClassifier, None, split, None, "acc"))
    X, y = load_digits(return_X_y=True)
    split = _standardize(X, y, regression=False)
    out.append(("digits", TraceNormMTLClassifier, None, split, None, "acc"))
    X, y = load_diabetes(return_X_y=True)
    split = _standardize(X, y, regression=True)
    out.append(("diabetes", TraceNormMTLRegressor, None, split, None, "R^2"))
    return out


def _fit_score(cls, task_column, split, scorer, alpha):
    Xtr, ytr, Xte, yte = split
    est = cls(alpha=alpha, task_column=task_column)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(Xtr, ytr)
    elapsed = time.perf_counter() - t0
    score = scorer(est, Xte, yte) if scorer else est.score(Xte, yte)
    kinds = {type(w.message).__name__ for w in caught}
    return score, bool(np.all(est.coef_ == 0)), elapsed, kinds


def _alpha_max(cls, task_column, split):
    Xtr, ytr = split[:2]
    loss = "logistic" if cls is TraceNormMTLClassifier else "squared"
    return alpha_max(Xtr, ytr, task_column=task_column, loss=loss)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data sets only")
    args = parser.parse_args(argv)
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average)")
    sets = datasets(args.quick)
    rows, regret = [], {}
    header = f"{'data set':12s} {'score':5s} {'a_max':>7s} " + " ".join(
        f"{a:>8g}" for a in ALPHAS
    )
    print("\nHeld-out score at each alpha (* = all coefficients zero)")
    print(header)
    timing, warned = [], []
    for name, cls, task_column, split, scorer, what in sets:
        a_max = _alpha_max(cls, task_column, split)
        scores, cells, times = [], [], []
        for alpha in ALPHAS:
            score, zero, elapsed, kinds = _fit_score(
                cls, task_column, split, scorer, alpha
            )
            scores.append(score)
            times.append(elapsed)
            cells.append(f"{score:7.3f}{'*' if zero else ' '}")
            if kinds:
                warned.append(f"{name} alpha={alpha:g}: {sorted(kinds)}")
        rows.append(f"{name:12s} {what:5s} {a_max:7.3f} " + " ".join(cells))
        print(rows[-1], flush=True)
        best = max(scores)
        regret[name] = [best - s for s in scores]
        timing.append(f"{name:12s} " + " ".join(f"{t:8.2f}" for t in times))
    print("\nLoss of score against the best alpha of the grid")
    print(f"{'data set':12s} " + " ".join(f"{a:>8g}" for a in ALPHAS))
    for name, values in regret.items():
        print(f"{name:12s} " + " ".join(f"{v:8.3f}" for v in values))
    worst = np.max(np.array(list(regret.values())), axis=0)
    print(f"{'worst':12s} " + " ".join(f"{v:8.3f}" for v in worst))
    print("\nFit time (s)")
    print("\n".join(timing))
    print("\nWarnings raised by the fits")
    print("\n".join(warned) if warned else "none")
    print(f"\nload: {os.getloadavg()[0]:.2f} (1-min average)")


if __name__ == "__main__":
    main()

"""Accuracy of trace-norm MTL on the classic benchmarks, against simple baselines.

Not a speed benchmark: every number here is a held-out score.  For each data
set, trace-norm MTL with alpha chosen by inner cross-validation
(``TraceNormMTLRegressorCV`` / ``TraceNormMTLClassifierCV``, task-stratified
folds) is compared with three baselines fitted on the same rows:

* independent: one ridge (``RidgeCV``, its own alpha by leave-one-out) or one
  logistic regression (``LogisticRegression()``) per task;
* pooled: one model for all rows, the task ignored;
* pooled + task intercept: the pooled model with one-hot task indicators as
  extra features (a separate intercept per task, shared slopes).

Data sets and protocols:

* School (139 schools, regression): the 10 standard 75/25 splits of Argyriou,
  Evgeniou & Pontil; pooled explained variance (the literature's measure,
  :func:`skmtl.metrics.multitask_explained_variance`) and the mean over
  schools of the per-school R^2 (``1 - SSE_t / SST_t`` on its test rows).
* Landmine (29 fields, binary, 2.9-9.4 % mines): 20 % and 40 % of every task's
  rows for training (class-stratified within tasks), the rest for testing,
  ``--reps`` repetitions; mean over tasks of the per-task ROC AUC.
* Parkinson's telemonitoring (42 subjects, motor UPDRS from 16 voice
  measures): random 75/25 splits within every subject, ``--reps`` repetitions;
  pooled explained variance and the median over subjects of the per-subject
  R^2 (the mean is dominated by single subjects where a baseline explodes).
  Recordings of one subject are a time series, so a random split is an easy,
  interpolating protocol; read the absolute numbers with that in mind.
* Computer survey (190 respondents, ratings 0-10 of 20 profiles): trained on
  the 16 calibration profiles, tested on the 4 hold-out profiles of every
  respondent (one fixed split); RMSE and pooled explained variance.

Features are standardized on the training rows; every model fits intercepts.
Scores are printed as mean +- standard deviation over splits, with the number
of splits on which trace-norm MTL beats each baseline.

Run::

    python benchmarks/bench_accuracy.py              # all four (about 20 min)
    python benchmarks/bench_accuracy.py --reps 2     # quicker
    python benchmarks/bench_accuracy.py --only school landmine

The data are read with skmtl's loaders from ``$SKMTL_DATA`` or, when that is
unset, from ``../shared/data`` next to the checkout; a data set whose files
are absent is skipped with a message (nothing is downloaded).
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from skmtl import TraceNormMTLClassifierCV, TraceNormMTLRegressorCV  # noqa: E402
from skmtl.datasets import (  # noqa: E402
    load_computer_survey,
    load_landmine,
    load_parkinsons,
    load_school,
    load_school_splits,
)
from skmtl.metrics import (  # noqa: E402
    macro_roc_auc_score,
    multitask_explained_variance,
    per_task_score,
)
from skmtl.model_selection import train_test_split_tasks  # noqa: E402

DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
RIDGE_ALPHAS = np.logspace(-3, 4, 15)
MODELS = ["trace-norm MTL (CV)", "independent", "pooled", "pooled + task intercept"]


# --------------------------------------------------------------------------- #
# Models
# --------------------------------------------------------------------------- #
def standardize(X_train, X_test):
    """z-score the feature columns on the training rows; the task stays last."""
    mean = X_train[:, :-1].mean(axis=0)
    std = X_train[:, :-1].std(axis=0)
    std[std == 0] = 1.0
    out = []
    for X in (X_train, X_test):
        Z = X.copy()
        Z[:, :-1] = (X[:, :-1] - mean) / std
        out.append(Z)
    return out


def one_hot(tasks, labels):
    return (tasks[:, None] == labels[None, :]).astype(float)


def baselines(X_train, y_train, X_test, classify):
    """Predictions (scores for a classifier) of the three baselines."""
    tasks_tr, tasks_te = X_train[:, -1], X_test[:, -1]
    labels = np.unique(tasks_tr)

    def model():
        return LogisticRegression(max_iter=5000) if classify else RidgeCV(RIDGE_ALPHAS)

    def predict(est, X):
        return est.decision_function(X) if classify else est.predict(X)

    independent = np.empty(len(X_test))
    for t in labels:
        tr, te = tasks_tr == t, tasks_te == t
        est = model().fit(X_train[tr, :-1], y_train[tr])
        independent[te] = predict(est, X_test[te, :-1])
    pooled = predict(model().fit(X_train[:, :-1], y_train), X_test[:, :-1])
    with_task = [
        np.hstack([X[:, :-1], one_hot(X[:, -1], labels)]) for X in (X_train, X_test)
    ]
    intercepts = predict(model().fit(with_task[0], y_train), with_task[1])
    return [independent, pooled, intercepts]


def all_predictions(X_train, y_train, X_test, classify, mtl):
    X_train, X_test = standardize(X_train, X_test)
    mtl.fit(X_train, y_train)
    first = mtl.decision_function(X_test) if classify else mtl.predict(X_test)
    return [first, *baselines(X_train, y_train, X_test, classify)], mtl.alpha_


def mtl_regressor():
    return TraceNormMTLRegressorCV(task_column=-1, cv=5)


def mtl_classifier():
    return TraceNormMTLClassifierCV(
        task_column=-1, cv=3, alphas=10, eps=1e-3, scoring="roc_auc_macro"
    )


# --------------------------------------------------------------------------- #
# Scores
# --------------------------------------------------------------------------- #
def mean_per_task_r2(y, pred, tasks):
    return float(np.mean(per_task_score(y, pred, tasks, score_func=r2_score)[1]))


def median_per_task_r2(y, pred, tasks):
    return float(np.median(per_task_score(y, pred, tasks, score_func=r2_score)[1]))


def rmse(y, pred, tasks):
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def table(title, scores, metrics, percent, alphas):
    """Print one RST table: mean +- std over splits, and MTL's wins."""
    n = len(next(iter(scores.values())))
    print(
        f"\n{title} ({n} split{'s' * (n > 1)}; alpha chosen: median "
        f"{np.median(alphas):.3g}, range {min(alphas):.3g}-{max(alphas):.3g})\n"
    )
    header = ["model", *[f"{name}" for name, _, _ in metrics]]
    rows = []
    for m, model in enumerate(MODELS):
        row = [model]
        for name, _, greater in metrics:
            values = np.array([s[m] for s in scores[name]])
            scale = 100 if percent else 1
            cell = (
                f"{scale * values.mean():.{1 if percent else 3}f} +- "
                f"{scale * values.std():.{1 if percent else 3}f}"
            )
            if m > 0:
                mtl = np.array([s[0] for s in scores[name]])
                wins = np.sum(mtl > values) if greater else np.sum(mtl < values)
                cell += f" (MTL better {wins}/{n})"
            row.append(cell)
        rows.append(row)
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    print(rule)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(rule)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(rule, flush=True)


def evaluate(splits, X, y, classify, make_mtl, metrics):
    scores = {name: [] for name, _, _ in metrics}
    alphas = []
    for k, (train, test) in enumerate(splits):
        t0 = time.perf_counter()
        preds, alpha = all_predictions(
            X[train], y[train], X[test], classify, make_mtl()
        )
        alphas.append(alpha)
        for name, func, _ in metrics:
            scores[name].append([func(y[test], p, X[test, -1]) for p in preds])
        print(
            f"  split {k + 1}/{len(splits)}: {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return scores, alphas


# --------------------------------------------------------------------------- #
# Data sets
# --------------------------------------------------------------------------- #
def school(reps):
    X, y = load_school(path=DATA, return_X_y=True)
    splits = load_school_splits(None, path=DATA)
    metrics = [
        ("explained variance %", multitask_explained_variance, True),
        ("mean per-school R^2 %", mean_per_task_r2, True),
    ]
    scores, alphas = evaluate(splits, X, y, False, mtl_regressor, metrics)
    table("School, the 10 standard 75/25 splits", scores, metrics, True, alphas)


def random_splits(X, y, test_size, reps):
    """Row indices of ``reps`` splits by :func:`train_test_split_tasks`."""
    rows = np.column_stack([np.arange(len(y)), X[:, -1]])  # row number, task
    splits = []
    for seed in range(reps):
        train, test, _, _ = train_test_split_tasks(
            rows, y, test_size=test_size, random_state=seed
        )
        splits.append(
            (np.sort(train[:, 0]).astype(int), np.sort(test[:, 0]).astype(int))
        )
    return splits


def landmine(reps):
    X, y = load_landmine(path=DATA, return_X_y=True)
    metrics = [("mean per-task AUC", macro_roc_auc_score, True)]
    for share in (0.2, 0.4):
        splits = random_splits(X, y, 1 - share, reps)
        scores, alphas = evaluate(splits, X, y, True, mtl_classifier, metrics)
        table(
            f"Landmine, {share:.0%} of every task for training",
            scores,
            metrics,
            False,
            alphas,
        )


def parkinsons(reps):
    X, y = load_parkinsons(path=DATA, return_X_y=True)
    metrics = [
        ("explained variance %", multitask_explained_variance, True),
        ("median per-subject R^2 %", median_per_task_r2, True),
    ]
    splits = random_splits(X, y, 0.25, reps)
    scores, alphas = evaluate(splits, X, y, False, mtl_regressor, metrics)
    table(
        "Parkinson's (motor UPDRS), random 75/25 within subjects",
        scores,
        metrics,
        True,
        alphas,
    )


def computer_survey(reps):
    survey = load_computer_survey(path=DATA)
    X, y = survey.data, survey.target
    split = [(np.flatnonzero(~survey.holdout), np.flatnonzero(survey.holdout))]
    metrics = [
        ("RMSE", rmse, False),
        ("explained variance", multitask_explained_variance, True),
    ]
    scores, alphas = evaluate(split, X, y, False, mtl_regressor, metrics)
    table(
        "Computer survey, 16 calibration -> 4 hold-out profiles",
        scores,
        metrics,
        False,
        alphas,
    )


SETS = {
    "school": school,
    "landmine": landmine,
    "parkinsons": parkinsons,
    "computer_survey": computer_survey,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reps",
        type=int,
        default=10,
        help="repetitions of the random splits (default 10)",
    )
    parser.add_argument("--only", nargs="+", choices=sorted(SETS), default=list(SETS))
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}; data {DATA}"
    )
    for name in args.only:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # Per-task AUCs of test folds without a mine, convergence notes of
                # the logistic baselines: the tables say what matters.
                warnings.simplefilter("ignore")
                SETS[name](args.reps)
        except OSError as exc:
            print(f"\n{name}: skipped, data not available ({exc})")
            continue
        print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

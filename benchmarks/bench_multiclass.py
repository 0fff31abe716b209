"""Multiclass trace-norm MTL against LogisticRegression on load_digits (issue 12).

``TraceNormMTLClassifier`` fits a 1-D ``y`` with K > 2 classes as K
one-vs-rest binary tasks sharing the rows, coupled by the trace norm.  This
compares it, at its default ``alpha`` and at the other ``--alphas``, with
scikit-learn's ``LogisticRegression()`` (defaults: multinomial, C=1, lbfgs) on
scikit-learn's digits (1797 images, 64 pixels, 10 classes):

* ``--splits`` stratified 75/25 train/test splits (``random_state`` 0, 1, ...);
* pixels standardized on the training rows (``StandardScaler``), as the
  defaults of both estimators assume;
* test accuracy (mean, standard deviation and worst split), wall-clock fit
  time, and the rank of the d x K weight matrix (singular values above 1e-8
  times the largest) - the low-rank structure the trace norm buys.

The last column is the difference of mean accuracy against
``LogisticRegression()``; issue 12 asks the default ``TraceNormMTLClassifier()``
to be within 2 points.  Nothing here is specific to digits: the estimators run
with their defaults (``--dataset iris`` or ``wine`` runs the same comparison
on those scikit-learn multiclass sets).

Run::

    python benchmarks/bench_multiclass.py                  # digits, 5 splits
    python benchmarks/bench_multiclass.py --splits 2 --alphas 0.1 0.03
    python benchmarks/bench_multiclass.py --dataset wine
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from skmtl import TraceNormMTLClassifier  # noqa: E402

LOADERS = {"digits": load_digits, "iris": load_iris, "wine": load_wine}


def _rank(coef):
    s = np.linalg.svd(np.atleast_2d(coef), compute_uv=False)
    return int(np.sum(s > 1e-8 * s.max())) if s.size and s.max() > 0 else 0


def _fit(est, Xtr, ytr, Xte, yte):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        est.fit(Xtr, ytr)
        elapsed = time.perf_counter() - t0
    kinds = {type(w.message).__name__ for w in caught}
    return est.score(Xte, yte), elapsed, _rank(est.coef_), kinds


def main(argv=None):
    default_alpha = TraceNormMTLClassifier().alpha
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="digits")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument(
        "--alphas",
        type=float,
        nargs="*",
        default=[0.1, 0.05, 0.03],
        help="alphas besides the default (%(default)s)",
    )
    args = parser.parse_args(argv)
    X, y = LOADERS[args.dataset](return_X_y=True)
    print(
        f"{args.dataset}: {X.shape[0]} rows, {X.shape[1]} features, "
        f"{np.unique(y).size} classes; {args.splits} stratified 75/25 splits; "
        f"load {os.getloadavg()[0]:.2f} (1-min average)"
    )
    models = [("LogisticRegression()", lambda: LogisticRegression())]
    models.append(("TraceNormMTLClassifier()", lambda: TraceNormMTLClassifier()))
    for alpha in args.alphas:
        if alpha != default_alpha:
            models.append(
                (
                    f"TraceNormMTLClassifier(alpha={alpha:g})",
                    lambda a=alpha: TraceNormMTLClassifier(alpha=a),
                )
            )
    results = {name: [] for name, _ in models}
    warned = set()
    for seed in range(args.splits):
        Xtr, Xte, ytr, yte = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        for name, make in models:
            acc, elapsed, rank, kinds = _fit(make(), Xtr, ytr, Xte, yte)
            results[name].append((acc, elapsed, rank))
            warned |= {f"{name}: {k}" for k in kinds}
        print(f"  split {seed} done (load {os.getloadavg()[0]:.2f})", flush=True)
    ref = np.mean([r[0] for r in results["LogisticRegression()"]])
    title = f"model (default alpha = {default_alpha:g})"
    print(
        f"\n{title:40s} {'accuracy':>15s} "
        f"{'worst':>6s} {'fit s':>7s} {'rank':>5s} {'vs LR':>7s}"
    )
    for name, rows in results.items():
        acc, secs, ranks = (np.array(col) for col in zip(*rows, strict=True))
        print(
            f"{name:40s} {acc.mean():8.3f} +- {acc.std():.3f} {acc.min():6.3f} "
            f"{np.median(secs):7.2f} {int(np.median(ranks)):5d} "
            f"{100 * (acc.mean() - ref):+6.1f}pt"
        )
    print("(fit s: median wall-clock seconds over the splits; rank: median)")
    print("warnings:", ", ".join(sorted(warned)) if warned else "none")
    print(f"load {os.getloadavg()[0]:.2f} (1-min average)")


if __name__ == "__main__":
    main()

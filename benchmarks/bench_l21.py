"""Benchmark of the l2,1 estimators against scikit-learn's MultiTaskLasso.

Shared design, ``loss_scaling='mean'``, intercepts: the problem of
:class:`sklearn.linear_model.MultiTaskLasso`, on a synthetic row-sparse task
matrix (10 relevant features out of d) at ``alpha = r * alpha_max`` for
several ratios ``r``. For each solver the table gives the median wall time of
``fit`` and the relative objective gap ``(F - F_best) / F_best`` to the best
of the two solutions (``F`` computed here with numpy):

- ``skmtl``: :class:`skmtl.L21MTLRegressor` (ADMM on the Gram form, stops on a
  certified relative duality gap ``tol``);
- ``sklearn``: ``MultiTaskLasso`` (block coordinate descent, stops on its own
  duality gap ``tol``, scaled by ``||Y||^2``);
- ``async``: :class:`skmtl.AsyncL21MTLRegressor`, sequential backend,
  Douglas-Rachford splitting (a fixed-point residual ``tol``).

Within a repeat the solvers run in turn, so that load from other processes
hits them alike; the ratios are ``sklearn / skmtl`` and ``async / skmtl``.

``--parkinsons`` instead fits the defaults (``task_column=-1``, nothing else)
on standardized Parkinson's (``SKMTL_DATA``), whose nearly collinear columns
(``Jitter:DDP = 3 Jitter:RAP``, ``Shimmer:DDA = 3 Shimmer:APQ3``, rounded) made
the l2,1 solvers drift (ADMM 8,104 iterations; AMTL stopped at max_iter=2000),
next to the trace norm: iterations (epochs for AMTL), median time, gap.

Run::

    python benchmarks/bench_l21.py            # n=500, d=200, T=20
    python benchmarks/bench_l21.py --quick    # smaller, fewer repeats
    python benchmarks/bench_l21.py --parkinsons
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import MultiTaskLasso

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import skmtl  # noqa: E402
from skmtl import AsyncL21MTLRegressor, L21MTLRegressor, alpha_max  # noqa: E402


def problem(n, d, T, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = np.zeros((d, T))
    W[:10] = rng.standard_normal((10, T))
    Y = X @ W + 0.5 * rng.standard_normal((n, T)) + 1.0
    return X, Y


def objective(X, Y, coef, intercept, alpha):
    R = Y - X @ coef.T - intercept
    return np.sum(R**2) / (2 * X.shape[0]) + alpha * np.linalg.norm(coef, axis=0).sum()


def run(args):
    X, Y = problem(args.n, args.d, args.T)
    a_max = alpha_max(X, Y, penalty="l21")
    print(
        f"n={args.n} d={args.d} T={args.T}, shared design, 'mean' scaling, "
        f"intercepts; alpha_max = {a_max:.4g}; tol = {args.tol:g}; "
        f"median of {args.repeats}; load {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'alpha/amax':>10} {'skmtl ms':>9} {'sklearn ms':>10} {'async ms':>9} "
        f"{'sk/skmtl':>8} {'async/skmtl':>11} {'gap skmtl':>9} {'gap sk':>9} "
        f"{'gap async':>9} {'nnz rows':>8}"
    )
    print(header)
    for ratio in args.ratios:
        alpha = ratio * a_max
        solvers = {
            "skmtl": L21MTLRegressor(alpha=alpha, tol=args.tol),
            "sklearn": MultiTaskLasso(alpha=alpha, tol=args.tol, max_iter=100_000),
            "async": AsyncL21MTLRegressor(
                alpha=alpha,
                backend="sequential",
                splitting="douglas-rachford",
                tol=args.tol,
                max_iter=100_000,
            ),
        }
        times = {name: [] for name in solvers}
        fitted = {}
        for _ in range(args.repeats):
            for name, est in solvers.items():
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted[name] = est.fit(X, Y)
                times[name].append(time.perf_counter() - start)
        med = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
        F = {
            name: objective(X, Y, est.coef_, est.intercept_, alpha)
            for name, est in fitted.items()
        }
        best = min(F.values())
        gap = {name: (f - best) / best for name, f in F.items()}
        nnz = int(np.count_nonzero(np.abs(fitted["skmtl"].coef_).sum(axis=0)))
        print(
            f"{ratio:>10g} {med['skmtl']:>9.1f} {med['sklearn']:>10.1f} "
            f"{med['async']:>9.1f} {med['sklearn'] / med['skmtl']:>8.2f} "
            f"{med['async'] / med['skmtl']:>11.2f} {gap['skmtl']:>9.1e} "
            f"{gap['sklearn']:>9.1e} {gap['async']:>9.1e} {nnz:>8d}"
        )


def parkinsons(repeats):
    """Default fits on standardized Parkinson's, l2,1 next to the trace norm."""
    from skmtl.datasets import load_parkinsons

    X, y = load_parkinsons(return_X_y=True)
    X = X.copy()
    X[:, :-1] = (X[:, :-1] - X[:, :-1].mean(0)) / X[:, :-1].std(0)
    fits = {}
    for central in (True, False):
        for pen in ("L21", "TraceNorm"):
            name = f"{pen}MTLRegressor" if central else f"Async{pen}MTLRegressor"
            for backend in ("-",) if central else ("sequential", "threading"):
                kw = {} if central else {"backend": backend}
                if backend == "threading":
                    kw["n_jobs"] = 2
                fits[(name, backend)] = (getattr(skmtl, name), kw)
    print(
        f"standardized Parkinson's, defaults; median of {repeats}; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'estimator':28s} {'backend':10s} {'iter':>9s} {'ms':>8s} {'gap':>8s} warn")
    rows = {key: ([], [], [], 0) for key in fits}
    for _ in range(repeats):
        for key, (cls, kw) in fits.items():
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                start = time.perf_counter()
                est = cls(task_column=-1, **kw).fit(X, y)
                elapsed = time.perf_counter() - start
            its, times, gaps, n_warn = rows[key]
            its.append(est.n_iter_)
            times.append(elapsed)
            gaps.append(est.dual_gap_)
            rows[key] = (its, times, gaps, n_warn + len(w))
    for (name, backend), (its, times, gaps, n_warn) in rows.items():
        print(
            f"{name:28s} {backend:10s} {'/'.join(map(str, its)):>9s} "
            f"{1e3 * np.median(times):8.0f} {max(gaps):8.1e} {n_warn}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--parkinsons", action="store_true")
    parser.add_argument("--tol", type=float, default=1e-6)
    args = parser.parse_args()
    if args.parkinsons:
        parkinsons(repeats=3)
        return
    if args.quick:
        args.n, args.d, args.T, args.repeats = 200, 50, 10, 3
    else:
        args.n, args.d, args.T, args.repeats = 500, 200, 20, 5
    args.ratios = [0.5, 0.1, 0.01]
    run(args)


if __name__ == "__main__":
    main()

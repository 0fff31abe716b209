"""Benchmark of the trace-norm prox (timings of the prox and its scaling).

Times, at several (d, T):

- ``svd SVT``: a plain singular value thresholding through ``numpy.linalg.svd``;
- ``prox``: :func:`skmtl.prox_trace_norm` (Gram + ``eigh``, SVD fallback);
- ``incr``: one incremental single-column refresh of
  :class:`skmtl.penalties._trace_norm.TraceNormProx` (``set_column`` then ``refresh``).

The matrix is rank 10 plus noise and the threshold is half its 10th singular
value, so the prox keeps a low rank, as it does in a trace-norm MTL fit. Each
time is the median of several repeats; within a repeat the three methods run in
turn, so that load from other processes hits them alike. The ratios are
``svd SVT / prox`` and ``svd SVT / incr``. The last column is the
largest error of the prox and of the incremental refresh against the SVD
reference, relative to the spectral norm.

Run::

    python benchmarks/bench_prox.py           # figure 6 and scaling rows
    python benchmarks/bench_prox.py --quick   # fewer repeats, smaller sizes
    python benchmarks/bench_prox.py --blas-threads 1

On a loaded 2-core machine a multithreaded BLAS can stall small calls for a
scheduler time slice (~10 ms); ``--blas-threads 1`` shows the single-core cost.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

# Run from a source checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skmtl.penalties._trace_norm import TraceNormProx, prox_trace_norm  # noqa: E402

FIGURE_6 = [(50, 100), (1000, 100), (1000, 1000)]
SCALING_T = [(50, T) for T in (50, 100, 200, 500, 1000)]
SCALING_D = [(d, 100) for d in (50, 100, 200, 500, 1000)]


def svd_svt(V, threshold):
    """Plain SVT through numpy.linalg.svd: the baseline."""
    U, s, Qt = np.linalg.svd(V, full_matrices=False)
    return (U * np.maximum(s - threshold, 0.0)) @ Qt


def low_rank_plus_noise(d, T, rank=10, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, T))
    return signal + noise * np.sqrt(rank) * rng.standard_normal((d, T))


def measure(d, T, repeats, seed=0):
    """One table row: median times in ms and the largest relative error.

    The three methods run in turn within each repeat, so that a burst of load
    from other processes hits all of them alike.
    """
    V = low_rank_plus_noise(d, T, seed=seed)
    s = np.linalg.svd(V, compute_uv=False)
    threshold = 0.5 * s[min(9, len(s) - 1)]
    rng = np.random.default_rng(seed + 1)

    # Incremental: each repeat replaces one column by a perturbed copy of itself
    # (as a KM update does) and refreshes the prox.
    prox = TraceNormProx(V, threshold)
    W = V.copy()

    def one_update():
        t = int(rng.integers(T))
        W[:, t] += 0.01 * rng.standard_normal(d)
        prox.set_column(t, W[:, t])
        prox.refresh()

    methods = {
        "svd": lambda: svd_svt(V, threshold),
        "prox": lambda: prox_trace_norm(V, threshold),
        "incr": one_update,
    }
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, func in methods.items():
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    t_svd, t_prox, t_incr = (1e3 * float(np.median(times[k])) for k in methods)

    ref = svd_svt(W, threshold)
    err = max(
        np.linalg.norm(prox.P - ref),
        np.linalg.norm(prox_trace_norm(W, threshold) - ref),
    ) / np.linalg.norm(W, 2)
    return {
        "d": d,
        "T": T,
        "rank": prox.rank,
        "svd": t_svd,
        "prox": t_prox,
        "incr": t_incr,
        "err": err,
        "repeats": repeats,
    }


def print_table(title, rows):
    print(f"\n{title}")
    header = (
        f"{'d':>5} {'T':>5} {'rank':>4} {'reps':>4} {'svd SVT ms':>11} "
        f"{'prox ms':>9} {'incr ms':>9} {'svd/prox':>9} {'svd/incr':>9} "
        f"{'max rel err':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['d']:>5} {r['T']:>5} {r['rank']:>4} {r['repeats']:>4} "
            f"{r['svd']:>11.2f} {r['prox']:>9.2f} {r['incr']:>9.2f} "
            f"{r['svd'] / r['prox']:>8.1f}x {r['svd'] / r['incr']:>8.1f}x "
            f"{r['err']:>11.1e}"
        )


def repeats_for(d, T, quick):
    work = d * T * min(d, T)
    if work >= 1e8:
        return 2 if quick else 5
    return 5 if quick else 21


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and sizes (a smoke run)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit the BLAS threads (through threadpoolctl); default: unchanged",
    )
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        blas = [
            f"{i.get('internal_api')} ({i.get('num_threads')} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        print(
            f"numpy {np.__version__}, python {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs, BLAS: {', '.join(blas)}"
        )
        run(args.quick)


def run(quick):
    print("threshold = half the 10th singular value of rank-10 + noise; median ms")

    fig6 = [(d, T) for d, T in FIGURE_6 if not (quick and d * T > 1e5)]
    print_table(
        "Figure 6: one prox and one incremental single-column refresh",
        [measure(d, T, repeats_for(d, T, quick)) for d, T in fig6],
    )
    limit = 200 if quick else 1000
    for title, sizes in [
        ("Scaling in T at d = 50", SCALING_T),
        ("Scaling in d at T = 100", SCALING_D),
    ]:
        sizes = [(d, T) for d, T in sizes if max(d, T) <= limit]
        print_table(title, [measure(d, T, repeats_for(d, T, quick)) for d, T in sizes])


if __name__ == "__main__":
    main()

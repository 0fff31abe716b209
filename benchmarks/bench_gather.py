"""The random-row gather of long-format validation, in isolation.

Validation copies the rows of a long-format X into task order once
(:func:`skmtl.utils._rowpass.gather_rows`): rows scattered over all of X,
written in 4 MB chunks. This benchmark times ways of doing that copy at two
sizes (T = 20,000 and 50,000 tasks of 100 rows, d = 50, X with the task label
as its last column: 0.8 GB and 2 GB), alternating sizes and variants in one
process, medians of CPU (time.process_time) and wall time:

* ``values``: ``out[a:b] = X[rows[a:b]]`` (fancy indexing copies a row value
  by value), the gather before skmtl copied rows as records;
* ``values-sorted``: the same, each chunk's source rows read in ascending
  order (then placed), so that the reads sweep X monotonically;
* ``records``: each row copied as one opaque record (skmtl's gather);
* ``records-fresh`` / ``records-fresh-4k``: into a destination allocated for
  each run, as validation does, with and without NumPy's huge-page advice.

Measured 2026-12-02 (2 vCPUs, CPU s, 20,000 -> 50,000; two processes):
with all of X and the destinations in transparent huge pages (5.5 GB of
AnonHugePages, load 2.6-4.7) values 0.26 -> 0.75 (2.85x), values-sorted
0.39 -> 1.07 (2.75x: ascending rows are still ~200 kB apart, a page each),
records 0.15 -> 0.41 (2.80x); with half of them in huge pages (2.8 GB, the
machine shared, load 3.2-3.9, ``--repeats 3``) values 0.92 -> 2.06 (2.24x),
values-sorted 0.67 -> 1.36 (2.03x), records 0.22 -> 0.57 (2.63x),
records-fresh 1.56 -> 3.69, records-fresh-4k 0.65 -> 2.44. NumPy advises huge
pages for large arrays (``/sys/kernel/mm/transparent_hugepage/enabled`` is
``madvise``); whether it gets them depends on the machine. A fresh
destination's page faults cost more than the gather and depend on the
virtual machine's state: memory freed just before is cheap, memory idle for
seconds has been handed back to the host (``page_reporting``).

Run: ``python benchmarks/bench_gather.py [--quick] [--repeats N]``.
"""

import argparse
import os
import time

import numpy as np

from skmtl.utils._rowpass import _CHUNK_BYTES, _as_records

N_T, D = 100, 50


def make_long(T, seed=0):
    """A long X (n x (D + 1), task label last) and the stable order by task."""
    rng = np.random.default_rng(seed)
    n = T * N_T
    tasks = rng.permutation(np.repeat(np.arange(T), N_T))
    Xl = np.empty((n, D + 1))
    for a in range(0, n, 1 << 16):
        b = min(a + (1 << 16), n)
        Xl[a:b, :D] = rng.normal(size=(b - a, D))
    Xl[:, D] = tasks
    return Xl, np.argsort(tasks, kind="stable")


def _chunks(n):
    step = _CHUNK_BYTES // (8 * D)
    return [(a, min(a + step, n)) for a in range(0, n, step)]


def values(X, rows, out):
    for a, b in _chunks(len(rows)):
        out[a:b] = X[rows[a:b]]
    return out


def values_sorted(X, rows, out):
    for a, b in _chunks(len(rows)):
        idx = rows[a:b]
        p = np.argsort(idx)
        out[a:b][p] = X[idx[p]]
    return out


def records(X, rows, out):
    src, dst = _as_records(X), _as_records(out)
    for a, b in _chunks(len(rows)):
        dst[a:b] = src[rows[a:b]]
    return out


def _fresh(huge):
    def run(X, rows, out):
        madvise = np._core.multiarray
        madvise._set_madvise_hugepage(huge)
        try:
            dest = np.empty(out.shape)
        finally:
            madvise._set_madvise_hugepage(True)
        return records(X, rows, dest)

    return run


VARIANTS = {
    "values": values,
    "values-sorted": values_sorted,
    "records": records,
    "records-fresh": _fresh(True),
    "records-fresh-4k": _fresh(False),
}


def huge_pages_mb():
    """This process's anonymous memory in transparent huge pages, MB."""
    with open("/proc/self/smaps") as f:
        kb = sum(int(ln.split()[1]) for ln in f if ln.startswith("AnonHugePages:"))
    return kb // 1024


def main(quick=False, repeats=5):
    sizes = (2000, 5000) if quick else (20_000, 50_000)
    data = {T: make_long(T) for T in sizes}
    outs = {T: np.zeros((T * N_T, D)) for T in sizes}
    print(f"huge pages: {huge_pages_mb()} MB; load {os.getloadavg()[0]:.1f}")
    ref = {
        T: values(Xl[:, :D], order, np.empty_like(outs[T]))
        for T, (Xl, order) in data.items()
    }
    runs = {(k, T): [] for k in VARIANTS for T in sizes}
    for _ in range(repeats):
        for name, f in VARIANTS.items():
            for T, (Xl, order) in data.items():
                c, w = time.process_time(), time.perf_counter()
                res = f(Xl[:, :D], order, outs[T])
                runs[name, T].append((time.process_time() - c, time.perf_counter() - w))
                assert np.array_equal(res, ref[T]), name
                del res
    a, b = sizes
    print(
        f"{'variant':>18} {'cpu ' + str(a):>10} {'cpu ' + str(b):>10} {'x':>6}"
        f" {'wall ' + str(a):>10} {'wall ' + str(b):>10} {'x':>6}"
    )
    for name in VARIANTS:
        ra, rb = np.median(runs[name, a], axis=0), np.median(runs[name, b], axis=0)
        print(
            f"{name:>18} {ra[0]:10.3f} {rb[0]:10.3f} {rb[0] / ra[0]:6.2f}"
            f" {ra[1]:10.3f} {rb[1]:10.3f} {rb[1] / ra[1]:6.2f}"
        )
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    main(args.quick, args.repeats)

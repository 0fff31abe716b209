"""Memory and system time of the Gram-form eigendecomposition, old vs new.

A squared-loss fit in Gram form at T = 50,000 tasks, d = 50, 100 rows per
task holds ``H`` of shape (T, d, d), 1 GB.  The former path decomposed it with
one ``numpy.linalg.eigh`` on the whole stack (a second GB for ``V``, fresh
pages: system time); :meth:`skmtl.datafits._losses.SquaredLoss.gram_eig`
decomposes it in chunks of 4 MB and writes ``V`` over ``H``.

Every case runs in a subprocess of its own, one after the other (so that one
case's freed memory does not serve the next), and reports for its step only:
wall, user and system time (``resource.getrusage``), minor page faults, and
the peak resident memory (``VmHWM`` after resetting it through
``/proc/self/clear_refs``; the resident memory before the step is printed
beside it).

* ``eig old`` / ``eig new``: from a data-fit whose data were dropped (only
  ``H``, ``Q``, ``c`` left, then 3 s of sleep so that freed pages went back):
  ``quadratic_eigh(H)`` against ``datafit.gram_eig()``.
* ``fit``: ``TraceNormMTLRegressor(task_column=-1).fit`` on the long-format
  data (data generated before the step), with this checkout's ``skmtl`` and,
  with ``--ref-src DIR``, with another checkout's (e.g. ``/work/main``).

Usage::

    python benchmarks/bench_gram_eig.py [--tasks 20000 50000] [--ref-src DIR]

Measured (2-core VM, load 2.4-2.7 from other jobs; ``--ref-src`` main 61dc996;
peak includes the resident data, RSS0)::

          T case   source   wall s  user s  sys s  faults  RSS0 MB  peak MB
      20000 eig    old        5.58    4.79   0.66     660      608      991
      20000 eig    new        4.79    4.66   0.01      91      608      609
      20000 fit    main      14.55    9.52   4.87   19624      991     2704
      20000 fit    branch    11.81    8.51   2.97   19513      991     2316
      50000 eig    old       12.83   10.72   1.59    1286     1205     2178
      50000 eig    new       11.70   11.41   0.04    1403     1205     1229
      50000 fit    main      49.40   23.69  13.11   55770     2204     6520
      50000 fit    branch    36.66   22.86  11.39   40390     2204     5550

(Faults count 2 MB transparent huge pages where the kernel used them, so a
1 GB array may cost only ~500 faults; the system time is the better measure.)
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
D, N_T = 50, 100


def _status(key):
    """A ``/proc/self/status`` entry in MB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _measure(step):
    """Run ``step()``; return its clocks, faults and memory as a dict."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current resident size
    except OSError:
        pass
    rss0 = _status("VmRSS")
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    step()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall": wall,
        "user": r1.ru_utime - r0.ru_utime,
        "sys": r1.ru_stime - r0.ru_stime,
        "faults": r1.ru_minflt - r0.ru_minflt,
        "rss0": rss0,
        "peak": _status("VmHWM"),
    }


def _gram_datafit(T):
    """A Gram-form SquaredLoss on the benchmark data, its data dropped."""
    import gc

    from bench_scaling import make_data

    from skmtl import TraceNormMTLRegressor
    from skmtl.utils._validation import validate_fit_data

    Xl, y, _ = make_data(T, N_T, D)
    est = TraceNormMTLRegressor(task_column=-1)
    est._validate_params()
    data = validate_fit_data(est, Xl, y, None, classifier=False)
    del Xl, y
    datafit = est._make_datafit(data.blocks)
    assert datafit.form == "gram", datafit.form
    datafit.blocks = data = None  # keep H, Q, c only
    gc.collect()
    time.sleep(3.0)  # freed pages go back to the host meanwhile
    return datafit


def run_case(case, T):
    """One case, in this process (the subprocess side)."""
    import skmtl  # from PYTHONPATH, before bench_scaling puts ROOT first

    sys.path.insert(0, str(HERE))
    if case == "fit":
        from bench_scaling import make_data

        from skmtl import TraceNormMTLRegressor

        assert (
            Path(skmtl.__file__)
            .resolve()
            .is_relative_to(Path(os.environ["PYTHONPATH"]).resolve())
        )
        Xl, y, _ = make_data(T, N_T, D)
        time.sleep(3.0)
        est = TraceNormMTLRegressor(task_column=-1)
        out = _measure(lambda: est.fit(Xl, y))
        out["n_iter"] = int(est.n_iter_)
        return out
    datafit = _gram_datafit(T)
    if case == "eig old":
        from skmtl.solvers._admm import quadratic_eigh

        return _measure(lambda: quadratic_eigh(datafit.H))
    return _measure(datafit.gram_eig)


def _spawn(case, T, src):
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, __file__, "--case", case, "--tasks", str(T)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[20_000, 50_000])
    parser.add_argument("--ref-src", default=None, help="checkout of the old skmtl")
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:  # subprocess side
        print(json.dumps(run_case(args.case, args.tasks[0])))
        return
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), d = {D}, {N_T} rows per task")
    cases = [("eig old", ROOT), ("eig new", ROOT)]
    if args.ref_src:
        cases.append(("fit", Path(args.ref_src).resolve()))
    cases.append(("fit", ROOT))
    print(
        f"{'T':>7} {'case':<10} {'source':<22} {'wall s':>7} {'user s':>7} "
        f"{'sys s':>6} {'faults':>8} {'RSS0 MB':>8} {'peak MB':>8}"
    )
    for T in args.tasks:
        for case, src in cases:
            r = _spawn(case, T, src)
            print(
                f"{T:>7} {case:<10} {str(src)[-22:]:<22} {r['wall']:7.2f} "
                f"{r['user']:7.2f} {r['sys']:6.2f} {r['faults']:8d} "
                f"{r['rss0']:8.0f} {r['peak']:8.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()

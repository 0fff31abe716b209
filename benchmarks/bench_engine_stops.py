"""Stop conditions of the AMTL engine, BLAS after overlapping fits, and whether
the one-thread BLAS limit pays.

Part 1 (issue 11 item 3, issue 9's BLAS must-show), wall seconds:

* a straggler with a 1e6 s delay and ``max_time=3``: time for ``fit`` to
  return (threading; Dask with the cluster started beforehand);
* a task step that blocks forever with ``task_timeout=2``: time to the
  ``TimeoutError`` (threading), and a delay callable that blocks
  (threading: drawn in the worker; sequential: drawn by the guarded helper);
* every Dask worker stopped for good mid-fit with ``task_timeout=5``: time
  from the stop to the error;
* two threaded AMTL fits and a centralized one overlapping in three Python
  threads: the BLAS thread count (threadpoolctl) before and after.

Part 2 (issue 11 item 4): the same fits with the reference-counted one-thread
limit and with no global change at all (``skmtl.utils._blas._ENABLED``),
alternated in one process, median of ``--repeats`` runs, on School
(standardized, T = 139, d = 27) and on a synthetic problem with d = T = 100.

Run::

    python benchmarks/bench_engine_stops.py            # everything
    python benchmarks/bench_engine_stops.py --no-dask  # skip the Dask rows
    python benchmarks/bench_engine_stops.py --part 2 --repeats 5
"""

import argparse
import logging
import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from skmtl import (
    AsyncTraceNormMTLRegressor,
    DelayModel,
    TraceNormMTLRegressor,
    stack_tasks,
)
from skmtl._amtl import ThreadingBackend, make_backend, make_delay_model, run_amtl
from skmtl.datafits._losses import SquaredLoss, TaskBlocks
from skmtl.utils import _blas

DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
SCHOOL = DATA / "school_malsar" / "school.mat"


def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def long_problem(T=8, d=10, n=60, seed=0):
    rng = np.random.RandomState(seed)
    W = rng.randn(d, 2) @ rng.randn(2, T)
    Xs = [rng.randn(n, d) for _ in range(T)]
    ys = [X @ W[:, t] + 0.1 * rng.randn(n) for t, X in enumerate(Xs)]
    return stack_tasks(Xs, ys)


def small_datafit(T=5, d=8, seed=0):
    rng = np.random.RandomState(seed)
    Xs = [rng.randn(40, d) for _ in range(T)]
    ys = [X @ rng.randn(d) for X in Xs]
    blocks = TaskBlocks(Xs, ys, [np.ones(40)] * T, np.full(T, 40.0))
    return SquaredLoss(blocks, fit_intercept=True)


def straggler(T):
    offsets = np.full(T, 1e-3)
    offsets[-1] = 1e6
    return DelayModel(offset=offsets, jitter=None)


class BlockingStep(SquaredLoss):
    """Task 2's gradient blocks on its second call until released."""

    def __init__(self, datafit):
        self.__dict__.update(datafit.__dict__)
        self.release, self.calls = threading.Event(), 0
        self._lock = threading.Lock()

    def task_gradient(self, t, w, bt=None):
        if t == 2:
            with self._lock:
                self.calls += 1
                n = self.calls
            if n == 2:
                self.release.wait()
        return super().task_gradient(t, w, bt)


def timed(func):
    start = time.perf_counter()
    try:
        out = func()
    except Exception as exc:  # the error is the result here
        out = exc
    return time.perf_counter() - start, out


def describe(out):
    if isinstance(out, Exception):
        return f"{type(out).__name__}: {str(out)[:70]}"
    reason = getattr(out, "stop_reason_", None) or getattr(out, "stop_reason", None)
    return f"stop_reason={reason!r}"


# --------------------------------------------------------------------------- #
# Part 1
# --------------------------------------------------------------------------- #
def part1(use_dask):
    rows = []
    X, y = long_problem()
    T = 8

    def fit(**kw):
        est = AsyncTraceNormMTLRegressor(
            task_column=-1, delay=straggler(T), max_staleness=2, max_time=3.0, **kw
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit(X, y)

    secs, out = timed(lambda: fit(backend="threading", n_jobs=2))
    rows.append(("straggler 1e6 s, max_time=3, threading", secs, "< 5", describe(out)))
    secs, out = timed(lambda: fit(backend="sequential"))
    rows.append(("straggler 1e6 s, max_time=3, sequential", secs, "< 5", describe(out)))

    datafit = BlockingStep(small_datafit())
    secs, out = timed(
        lambda: run_amtl(
            datafit,
            0.05,
            ThreadingBackend(n_jobs=2, task_timeout=2.0),
            max_epochs=10**6,
            tol=0.0,
        )
    )
    datafit.release.set()
    rows.append(
        ("blocked step, task_timeout=2, threading", secs, "< 10", describe(out))
    )

    for name in ("threading", "sequential"):
        gate = threading.Event()
        calls = []

        def blocking_delay(t, rng, gate=gate, calls=calls):
            calls.append(t)
            if len(calls) == 20:
                gate.wait()
            return 1e-4

        secs, out = timed(
            lambda name=name, f=blocking_delay: run_amtl(
                small_datafit(),
                0.05,
                make_backend(name, n_jobs=2, task_timeout=2.0),
                delay_model=make_delay_model(f, 5),
                max_epochs=10**6,
                tol=0.0,
            )
        )
        gate.set()
        rows.append(
            (
                f"blocking delay callable, task_timeout=2, {name}",
                secs,
                "no hang",
                describe(out),
            )
        )

    if use_dask:
        rows.extend(dask_rows(X, y, T))

    before = blas_threads()
    errors = []

    def run(est):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ests = [
        AsyncTraceNormMTLRegressor(
            task_column=-1, backend="threading", n_jobs=2, max_iter=300, tol=1e-12
        ),
        AsyncTraceNormMTLRegressor(
            task_column=-1,
            backend="threading",
            n_jobs=2,
            splitting="douglas-rachford",
            max_iter=300,
        ),
        TraceNormMTLRegressor(task_column=-1),
    ]
    threads = [threading.Thread(target=run, args=(e,)) for e in ests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = blas_threads()
    left = [t.name for t in threading.enumerate() if t.name.startswith("skmtl-")]
    print_part1(rows)
    print(
        f"\nBLAS threads (threadpoolctl, per library) before 3 overlapping fits: "
        f"{before}, after: {after} -> {'unchanged' if before == after else 'CHANGED'}"
        f"; errors: {errors or 'none'}; skmtl threads left: {left or 'none'}"
    )


def dask_rows(X, y, T):
    import distributed

    from skmtl.distributed import DaskBackend

    rows = []
    start = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=120)
        print(f"(LocalCluster of 2 workers up in {time.perf_counter() - start:.1f} s)")
        est = AsyncTraceNormMTLRegressor(
            task_column=-1,
            backend="dask",
            client=client,
            delay=straggler(T),
            max_staleness=2,
            max_time=3.0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            secs, out = timed(lambda: est.fit(X, y))
        rows.append(
            ("straggler 1e6 s, max_time=3, dask (fit)", secs, "< 5", describe(out))
        )
    start = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(1, timeout=120)
        stopped = {}

        def stop_every_worker(P, b, n_updates):
            if n_updates.sum() >= 30 and "t" not in stopped:
                stopped["t"] = time.perf_counter()
                cluster.scale(0)

        _, out = timed(
            lambda: run_amtl(
                small_datafit(),
                0.05,
                DaskBackend(client=client, reply_timeout=5.0),
                delay_model=DelayModel(offset=0.01, jitter=None),
                max_epochs=10**7,
                tol=0.0,
                on_check=stop_every_worker,
            )
        )
        secs = time.perf_counter() - stopped.get("t", np.nan)
        rows.append(
            (
                "every Dask worker gone, task_timeout=5: stop -> error",
                secs,
                "~5",
                describe(out),
            )
        )
    return rows


def print_part1(rows):
    print(f"\n{'case':58s} {'seconds':>8s} {'target':>8s}  result")
    for case, secs, target, result in rows:
        print(f"{case:58s} {secs:8.2f} {target:>8s}  {result}")


# --------------------------------------------------------------------------- #
# Part 2
# --------------------------------------------------------------------------- #
def load_school():
    from scipy.io import loadmat

    m = loadmat(SCHOOL)
    T = m["X"].shape[1]
    Xs = [m["X"][0, t].astype(float)[:, :-1] for t in range(T)]
    ys = [m["Y"][0, t].astype(float).ravel() for t in range(T)]
    X_all = np.vstack(Xs)
    mu, sd = X_all.mean(axis=0), X_all.std(axis=0)
    Xs = [(X - mu) / np.where(sd > 0, sd, 1.0) for X in Xs]
    return stack_tasks(Xs, ys)


def part2(repeats):
    problems = []
    if SCHOOL.exists():
        problems.append(("School (T=139, d=27)", *load_school(), 0.02))
    else:
        print(f"School not found at {SCHOOL}: its rows are skipped.")
    problems.append(
        ("synthetic (T=100, d=100)", *long_problem(T=100, d=100, n=60), 0.05)
    )
    # The async fits run a fixed number of epochs (tol=0), so that both
    # settings do the same work.
    fits = {
        "centralized (to tol)": lambda a: TraceNormMTLRegressor(
            alpha=a, task_column=-1
        ),
        "async DR threading, 20 epochs": lambda a: AsyncTraceNormMTLRegressor(
            alpha=a,
            task_column=-1,
            backend="threading",
            n_jobs=2,
            splitting="douglas-rachford",
            max_iter=20,
            tol=0.0,
        ),
        "async DR sequential, 20 epochs": lambda a: AsyncTraceNormMTLRegressor(
            alpha=a,
            task_column=-1,
            backend="sequential",
            splitting="douglas-rachford",
            max_iter=20,
            tol=0.0,
        ),
    }
    print(
        f"\n{'problem':26s} {'fit':32s} {'limit 1 thread':>15s} "
        f"{'no change':>10s} {'ratio':>6s}   (median of {repeats}, seconds)"
    )
    for pname, X, y, alpha in problems:
        for fname, make in fits.items():
            times = {True: [], False: []}
            for r in range(repeats):
                for enabled in (True, False) if r % 2 == 0 else (False, True):
                    _blas._ENABLED = enabled
                    est = make(alpha)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        start = time.perf_counter()
                        est.fit(X, y)
                        times[enabled].append(time.perf_counter() - start)
            _blas._ENABLED = True
            on, off = np.median(times[True]), np.median(times[False])
            print(f"{pname:26s} {fname:32s} {on:15.3f} {off:10.3f} {off / on:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, choices=(1, 2))
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}, cores: {os.cpu_count()}, BLAS: {blas_threads()}")
    if args.part in (None, 1):
        use_dask = not args.no_dask
        if use_dask:
            try:
                import distributed  # noqa: F401
            except ImportError:
                print("distributed not installed: Dask rows skipped.")
                use_dask = False
        part1(use_dask)
    if args.part in (None, 2):
        part2(args.repeats)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

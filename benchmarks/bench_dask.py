"""The Dask backend on a local cluster of 2 worker processes: round trips, traffic.

(a) Round trip per task update, one activation in flight at a time: the
    client reads the prox column, sends it to the task node's worker, the node
    takes its forward step, the answer comes back and is handed to the central
    loop (target: at most 3 ms).  Measured through the backend itself, with
    the bytes of one update as they go over TCP (frames and their headers)
    against the payload (the vectors alone).
(b) Updates per second of a whole AMTL (and SMTL) run without delays, on the
    paper's synthetic setting (n = 100 per task, d = 50, T = 10, rank 3).
(c) AMTL vs SMTL to the same target (a 1e-4 relative objective gap) with one
    deliberately slow worker: the tasks of the first worker get a 10x larger
    delay (offset plus exponential jitter of the same mean) than the others;
    median over seeds of the time to target and of the per-seed ratio.

Run::

    python benchmarks/bench_dask.py            # about two minutes
    python benchmarks/bench_dask.py --quick    # a smoke run
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from skmtl._amtl._nodes import (
    CentralNode,  # noqa: E402
    TaskStep,  # noqa: E402
)
from skmtl.distributed import DaskBackend  # noqa: E402
from skmtl.experiments import (  # noqa: E402
    format_table,
    run_schedule,
    synthetic_problem,
)


def round_trips(client, d, n_calls, T=10):
    """Median and 90th percentile of one task update's round trip (ms)."""
    prob = synthetic_problem(T, n_samples=100, n_features=d, random_state=0)
    datafit, alpha = prob["datafit"], prob["alpha"]
    step = 1.0 / float(np.max(datafit.lipschitz))
    central = CentralNode(np.zeros((d, T)), None, step * alpha)
    backend = DaskBackend(client=client)
    backend.start(datafit, TaskStep("forward-backward", step), central.read)
    times = []
    try:
        for i in range(n_calls + 20):
            t = i % T
            start = time.perf_counter()
            backend.activate(t, 0.0)
            (reply,) = backend.next_replies()
            elapsed = time.perf_counter() - start
            central.write(t, reply.z, reply.zb, 1.0)
            central.refresh()
            if i >= 20:  # warm connections first
                times.append(elapsed)
    finally:
        backend.close()
    traffic = next(e for e in backend.events if e["event"] == "traffic")
    # Local cost of the same step, for reference.
    local = []
    for t in range(50):
        read = central.read(t % T)
        s = time.perf_counter()
        TaskStep("forward-backward", step)(datafit, t % T, read)
        local.append(time.perf_counter() - s)
    ms = 1e3 * np.asarray(times)
    return {
        "d": d,
        "median": float(np.median(ms)),
        "p90": float(np.percentile(ms, 90)),
        "step": 1e3 * float(np.median(local)),
        "wire": traffic["bytes_per_update"],
        "payload": 2 * 8 * d,
    }


def throughput(client, schedule, seed=0, T=10):
    prob = synthetic_problem(T, random_state=seed)
    res = run_schedule(
        prob["datafit"],
        prob["alpha"],
        schedule=schedule,
        backend=DaskBackend(client=client),
        f_star=prob["f_star"],
        tol=1e-9,
        max_epochs=20000,
        random_state=seed,
    )
    return {
        "schedule": "AMTL" if schedule == "async" else "SMTL",
        "updates": res["n_updates"],
        "ups": res["updates_per_second"],
        "staleness": res["staleness_mean"],
        "rt": 1e3 * res["round_trip_mean"],
        "ttt": res["time_to_target"],
    }


def slow_worker(client, seeds, T=10, fast=0.002, factor=10.0):
    """AMTL vs SMTL when the tasks of one worker are ``factor`` x slower."""
    # The backend gives each worker a contiguous block of tasks (first worker
    # first): the first half of the tasks live on the slow worker.
    offsets = np.full(T, fast)
    offsets[: T // 2] *= factor
    from skmtl import DelayModel

    delay = DelayModel(offset=offsets.tolist(), jitter="exponential")
    rows = []
    for seed in seeds:
        prob = synthetic_problem(T, random_state=seed)
        row = {"seed": str(seed)}
        for schedule in ("async", "sync"):
            res = run_schedule(
                prob["datafit"],
                prob["alpha"],
                schedule=schedule,
                backend=DaskBackend(client=client),
                delay=delay,
                f_star=prob["f_star"],
                tol=1e-9,
                max_epochs=20000,
                random_state=seed,
            )
            row[schedule] = res["time_to_target"]
            row[schedule + "_updates"] = res["updates_to_target"]
        row["ratio"] = row["async"] / row["sync"]
        rows.append(row)
    med = {
        k: float(np.median([r[k] for r in rows])) for k in ("async", "sync", "ratio")
    }
    return rows, med


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    import distributed

    n_calls = 100 if args.quick else 500
    seeds = [0] if args.quick else [0, 1, 2]
    print(
        f"# {platform.platform()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, distributed {distributed.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        rows = [round_trips(client, d, n_calls) for d in (50, 1000)]
        print(
            format_table(
                rows,
                [
                    ("d", "d", "d"),
                    ("round trip median (ms)", "median", ".2f"),
                    ("p90 (ms)", "p90", ".2f"),
                    ("step alone (ms)", "step", ".3f"),
                    ("bytes/update on the wire", "wire", ".0f"),
                    ("payload bytes", "payload", "d"),
                ],
                title="(a) one task update, one in flight (target: <= 3 ms)",
            )
        )
        print()
        rows = [throughput(client, s) for s in ("async", "sync")]
        print(
            format_table(
                rows,
                [
                    ("schedule", "schedule", "s"),
                    ("updates", "updates", "d"),
                    ("updates/s", "ups", ".0f"),
                    ("mean staleness", "staleness", ".2f"),
                    ("mean round trip (ms)", "rt", ".2f"),
                    ("time to 1e-4 (s)", "ttt", ".3f"),
                ],
                title="(b) T=10, d=50, n=100 per task, no injected delay",
            )
        )
        print()
        rows, med = slow_worker(client, seeds)
        rows.append({"seed": "median", **med})
        print(
            format_table(
                rows,
                [
                    ("seed", "seed", "s"),
                    ("AMTL to 1e-4 (s)", "async", ".3f"),
                    ("SMTL to 1e-4 (s)", "sync", ".3f"),
                    ("AMTL/SMTL", "ratio", ".2f"),
                    ("AMTL updates", "async_updates", "d"),
                    ("SMTL updates", "sync_updates", "d"),
                ],
                title=(
                    "(c) one slow worker: its 5 tasks 20 ms + exp(20 ms) per "
                    "round trip, the other 5 2 ms + exp(2 ms)"
                ),
            )
        )


if __name__ == "__main__":
    main()

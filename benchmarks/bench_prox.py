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

Three more sections (issues 10 and 11):

- ``lowrank``: at (1000, 1000), rank 10: the exact prox against the certified
  low-rank prox of :mod:`skmtl.penalties._lowrank`, cold (a fresh
  ``ProxState``) and warm (the state of the previous, slightly different
  matrix, as in consecutive solver iterations), with ratios and the error
  relative to the exact prox, on three spectra (the figure-6 matrix, a
  harder one whose noise reaches half the threshold, and one whose noise
  reaches 0.95 of it, where the route cannot pay and must decline cheaply).
- ``admm``: the centralized regressor (ADMM in sample space, whose every
  iteration takes one trace-norm prox) at (d, T) = (400, 400) and
  (1000, 1000), rank-5 tasks: fit time with the low-rank prox on (the
  default) and off, interleaved, and how many proxes the low-rank route
  answered.
- ``threads``: AMTL updates per second on heavy task steps (T = 100,
  d = 1000, 2,000 rows per task, data-form gradients) with the threading
  backend at ``n_jobs`` = 1 and 2, with the prox republished after every
  update (the threading default) and with batched refreshes
  (``refresh_every=T // 8``).
- ``school``: the asynchronous regressor on standardized School
  (Douglas-Rachford), sequential and threaded, ``refresh_every`` 1 and
  'auto' (the default: batched on the sequential backend only):
  time, updates, cost per update and the gap to the centralized objective.
- ``landmine``: the asynchronous classifier on Landmine (Douglas-Rachford,
  sequential) with the warm per-task logistic prox
  (:class:`skmtl._amtl._nodes.WarmLogisticProx`) against the data-fit's cold
  Newton prox at every activation.

Run::

    python benchmarks/bench_prox.py           # every section
    python benchmarks/bench_prox.py --quick   # fewer repeats, smaller sizes
    python benchmarks/bench_prox.py --blas-threads 1 --section lowrank threads school

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
from skmtl.penalties._lowrank import ProxState  # noqa: E402
from skmtl.penalties._trace_norm import TraceNormProx, prox_trace_norm  # noqa: E402

DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
SECTIONS = ("figure6", "lowrank", "admm", "threads", "school", "landmine")

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
    parser.add_argument(
        "--section",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="which tables to print (default: all)",
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
        print(f"load average at start: {os.getloadavg()}")
        if "figure6" in args.section:
            run(args.quick)
        if "lowrank" in args.section:
            run_lowrank(args.quick)
        if "admm" in args.section:
            run_admm(args.quick)
        if "threads" in args.section:
            run_threads(args.quick)
        if "school" in args.section:
            run_school(args.quick)
        if "landmine" in args.section:
            run_landmine(args.quick)
        print(f"load average at end: {os.getloadavg()}")


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


# --------------------------------------------------------------------------- #
# Low-rank prox: exact vs cold vs warm
# --------------------------------------------------------------------------- #
def hard_low_rank(d, T, rank=10, seed=0, noise=0.5):
    """Singular values 20 .. 2 (x theta = 1) plus noise of spectral norm ``noise``."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((d, rank)))[0]
    X = np.linalg.qr(rng.standard_normal((T, rank)))[0]
    N = rng.standard_normal((d, T))
    signal = (U * np.linspace(20, 2, rank)) @ X.T
    return signal + N * (noise / np.linalg.norm(N, 2)), 1.0


def near_threshold(d, T, seed=0):
    """Noise up to 0.95 theta: the low-rank route cannot pay (about 100 values
    between 0.6 and 0.95 theta must be captured); the rule must fall back."""
    return hard_low_rank(d, T, seed=seed, noise=0.95)


def figure6_low_rank(d, T, seed=0):
    V = low_rank_plus_noise(d, T, seed=seed)
    return V, 0.5 * np.linalg.svd(V, compute_uv=False)[9]


def measure_lowrank(name, make, d, T, repeats, step=1e-3, seed=0):
    """Median ms of exact / cold / warm prox of a sequence of nearby matrices."""
    V, theta = make(d, T, seed=seed)
    rng = np.random.default_rng(seed + 1)
    warm_state = ProxState()
    prox_trace_norm(V, theta, state=warm_state)  # the previous iterate
    times = {"exact": [], "cold": [], "warm": []}
    err_cold = err_warm = 0.0
    iters = {"cold": [], "warm": []}
    routes = {"cold": [], "warm": []}
    norm_v = np.linalg.norm(V)
    for _ in range(repeats):
        # the next iterate: a relative change of `step` in Frobenius norm
        D = rng.standard_normal(V.shape)
        V = V + D * (step * norm_v / np.linalg.norm(D))
        t0 = time.perf_counter()
        P = prox_trace_norm(V, theta)
        t1 = time.perf_counter()
        cold = ProxState()
        Pc = prox_trace_norm(V, theta, state=cold)
        t2 = time.perf_counter()
        Pw = prox_trace_norm(V, theta, state=warm_state)
        t3 = time.perf_counter()
        times["exact"].append(t1 - t0)
        times["cold"].append(t2 - t1)
        times["warm"].append(t3 - t2)
        nP = np.linalg.norm(P)
        err_cold = max(err_cold, np.linalg.norm(Pc - P) / nP)
        err_warm = max(err_warm, np.linalg.norm(Pw - P) / nP)
        for key, st in (("cold", cold), ("warm", warm_state)):
            routes[key].append(st.last_info["route"] == "lowrank")
            lr = st.last_info.get("lowrank", st.last_info)
            iters[key].append(lr.get("iterations", 0))
    med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    return {
        "name": name,
        "d": d,
        "T": T,
        "rank": warm_state.rank,
        "reps": repeats,
        **med,
        "err_cold": err_cold,
        "err_warm": err_warm,
        "it_cold": float(np.median(iters["cold"])),
        "it_warm": float(np.median(iters["warm"])),
        "lr_cold": sum(routes["cold"]),
        "lr_warm": sum(routes["warm"]),
    }


def run_lowrank(quick):
    print(
        "\nLow-rank prox (issue 10 item 3): exact = Gram + eigh; cold = fresh "
        "ProxState; warm = state of the previous matrix (relative change 1e-3); "
        "median ms; err = ||P - P_exact||_F / ||P_exact||_F (max over reps); "
        "lr c/w = calls answered by the low-rank route (the rest: exact fallback)"
    )
    header = (
        f"{'matrix':>14} {'d':>5} {'T':>5} {'rank':>4} {'reps':>4} {'exact':>8} "
        f"{'cold':>8} {'warm':>8} {'ex/cold':>8} {'ex/warm':>8} {'it c/w':>7} "
        f"{'err cold':>9} {'err warm':>9} {'lr c/w':>7}"
    )
    print(header)
    print("-" * len(header))
    reps = 3 if quick else 7
    matrices = (
        ("figure-6", figure6_low_rank),
        ("noise 0.5 th", hard_low_rank),
        ("noise 0.95 th", near_threshold),
    )
    for name, make in matrices:
        r = measure_lowrank(name, make, 1000, 1000, reps)
        print(
            f"{r['name']:>14} {r['d']:>5} {r['T']:>5} {r['rank']:>4} {r['reps']:>4} "
            f"{r['exact']:>8.1f} {r['cold']:>8.1f} {r['warm']:>8.1f} "
            f"{r['exact'] / r['cold']:>7.1f}x {r['exact'] / r['warm']:>7.1f}x "
            f"{r['it_cold']:>3.0f}/{r['it_warm']:<3.0f} "
            f"{r['err_cold']:>9.1e} {r['err_warm']:>9.1e} "
            f"{r['lr_cold']:>3d}/{r['lr_warm']:<3d}"
        )


# --------------------------------------------------------------------------- #
# ADMM: fit time with the low-rank prox on vs off
# --------------------------------------------------------------------------- #
def admm_problem(d, T, n, rank=5, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, T)) / np.sqrt(d)
    X = rng.standard_normal((T * n, d))
    tasks = np.repeat(np.arange(T), n)
    y = np.einsum("ij,ji->i", X, W[:, tasks]) + 0.5 * rng.standard_normal(T * n)
    return np.column_stack([X, tasks]), y


def admm_fit(X, y, alpha, lowrank):
    """One fit; the low-rank prox is switched off by giving ADMM no state."""
    from skmtl import TraceNormMTLRegressor
    from skmtl.penalties._trace_norm import TraceNorm

    states = []

    def prox_state(self):
        states.append(ProxState())
        return states[-1]

    original = TraceNorm.prox_state
    TraceNorm.prox_state = prox_state if lowrank else (lambda self: None)
    try:
        t0 = time.perf_counter()
        est = TraceNormMTLRegressor(alpha=alpha, task_column=-1, tol=1e-6).fit(X, y)
        elapsed = time.perf_counter() - t0
    finally:
        TraceNorm.prox_state = original
    return elapsed, est, (states[0] if states else None)


def run_admm(quick):
    from skmtl import alpha_max

    sizes = [(400, 400, 40)] + ([] if quick else [(1000, 1000, 20)])
    reps = 1 if quick else 3
    print(
        "\nADMM (centralized regressor, sample space, tol 1e-6), rank-5 tasks: "
        "fit time with the low-rank prox on / off (interleaved, median s); "
        "lr = proxes answered by the low-rank route"
    )
    header = (
        f"{'d':>5} {'T':>5} {'n_t':>4} {'alpha/amax':>10} {'rank':>4} {'iters':>5} "
        f"{'reps':>4} {'off s':>8} {'on s':>8} {'off/on':>7} {'lr':>9}"
    )
    print(header)
    print("-" * len(header))
    for d, T, n in sizes:
        X, y = admm_problem(d, T, n)
        a_max = alpha_max(X, y, task_column=-1)
        for frac in (0.1, 0.3):
            times = {False: [], True: []}
            for _ in range(reps):
                for on in (False, True):
                    elapsed, est, state = admm_fit(X, y, frac * a_max, on)
                    times[on].append(elapsed)
            coef = est.coef_
            rank = np.linalg.matrix_rank(coef, tol=1e-8 * np.abs(coef).max())
            off, on = (float(np.median(times[k])) for k in (False, True))
            print(
                f"{d:>5} {T:>5} {n:>4} {frac:>10.2f} {rank:>4} {est.n_iter_:>5} "
                f"{reps:>4} {off:>8.2f} {on:>8.2f} {off / on:>6.2f}x "
                f"{state.n_lowrank:>4}/{state.n_calls:<4}",
                flush=True,
            )


# --------------------------------------------------------------------------- #
# AMTL: updates per second, n_jobs = 1 vs 2, per-update vs batched refresh
# --------------------------------------------------------------------------- #
def heavy_datafit(T, d, n, seed=0):
    from skmtl.datafits._losses import SquaredLoss, TaskBlocks

    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, 5)) @ rng.standard_normal((5, T)) / np.sqrt(d)
    Xs, ys = [], []
    for t in range(T):
        X = rng.standard_normal((n, d))
        Xs.append(X)
        ys.append(X @ W[:, t] + 0.1 * rng.standard_normal(n))
    blocks = TaskBlocks(Xs, ys, [np.ones(n)] * T, np.full(T, float(n)))
    return SquaredLoss(blocks, use_gram=False)  # data form: heavy task steps


def amtl_rate(datafit, alpha, n_jobs, refresh_every, epochs, splitting):
    from skmtl._amtl import run_amtl
    from skmtl._amtl.backends import ThreadingBackend

    backend = ThreadingBackend(n_jobs=n_jobs)
    res = run_amtl(
        datafit,
        alpha,
        backend,
        splitting=splitting,
        refresh_every=refresh_every,
        max_epochs=epochs,
        tol=0.0,
        random_state=0,
        objective=lambda W, b: 0.0,  # the history's objective is not timed
    )
    # the run's own clock: from the first activation to the last update
    return res.n_updates / float(res.history["time"][-1]), res


def run_threads(quick):
    from skmtl.solvers._gaps import alpha_max

    T, d, n = (100, 1000, 2000) if not quick else (40, 500, 1000)
    epochs = 3 if quick else 5
    datafit = heavy_datafit(T, d, n)
    alpha = 0.05 * alpha_max(datafit)
    print(
        f"\nAMTL updates/s, threading backend, T={T}, d={d}, {n} rows per task "
        f"(forward-backward, data-form gradients, {epochs} epochs, tol=0); "
        "refresh 1 = prox after every update (the threading default), "
        f"{T // 8} = batched (T // 8)"
    )
    header = (
        f"{'refresh':>8} {'n_jobs=1 upd/s':>15} {'n_jobs=2 upd/s':>15} "
        f"{'2 / 1':>6} {'max staleness 1/2':>18}"
    )
    print(header)
    print("-" * len(header))
    amtl_rate(datafit, alpha, 1, 1, 1, "forward-backward")  # warm-up (caches)
    for refresh in (1, T // 8):
        rates, stale = {}, {}
        for _ in range(1 if quick else 2):  # interleave n_jobs, keep the best
            for n_jobs in (1, 2):
                rate, res = amtl_rate(
                    datafit, alpha, n_jobs, refresh, epochs, "forward-backward"
                )
                rates[n_jobs] = max(rates.get(n_jobs, 0.0), rate)
                stale[n_jobs] = int(res.task_stats["staleness_max"].max())
        print(
            f"{refresh!s:>8} {rates[1]:>15.0f} {rates[2]:>15.0f} "
            f"{rates[2] / rates[1]:>5.2f}x {stale[1]:>8d}/{stale[2]:<9d}"
        )


# --------------------------------------------------------------------------- #
# School: sequential vs threaded cost per update
# --------------------------------------------------------------------------- #
def run_school(quick):
    from skmtl import AsyncTraceNormMTLRegressor, TraceNormMTLRegressor
    from skmtl.datasets import load_school
    from skmtl.estimators._cv import alpha_max as alpha_max_xy

    try:
        X, y = load_school(path=DATA, return_X_y=True, download_if_missing=False)
    except Exception as exc:  # noqa: BLE001 - data are optional
        print(f"\nSchool: skipped ({exc})")
        return
    X = np.asarray(X, dtype=float)
    feats = X[:, :-1]
    sd = feats.std(axis=0)
    sd[sd == 0] = 1.0
    X = np.column_stack([(feats - feats.mean(axis=0)) / sd, X[:, -1]])
    alpha = 0.05 * alpha_max_xy(X, y, task_column=-1)

    def objective(est):
        tasks = X[:, -1]
        coef = np.asarray(est.coef_)
        labels = list(est.tasks_) if hasattr(est, "tasks_") else None
        F = 0.0
        for k, t in enumerate(labels):
            rows = tasks == t
            r = y[rows] - X[rows, :-1] @ coef[k] - est.intercept_[k]
            F += 0.5 * float(r @ r) / rows.sum()
        return F + alpha * np.linalg.svd(coef, compute_uv=False).sum()

    t0 = time.perf_counter()
    ref = TraceNormMTLRegressor(alpha=alpha, task_column=-1, tol=1e-10).fit(X, y)
    t_ref = time.perf_counter() - t0
    F_ref = objective(ref)
    print(
        f"\nSchool (standardized, alpha = 0.05 alpha_max, Douglas-Rachford, "
        f"tol 1e-8): centralized fit {t_ref:.3f} s"
    )
    header = (
        f"{'backend':>10} {'refresh':>8} {'time s':>8} {'updates':>8} "
        f"{'us/update':>10} {'stop':>10} {'rel obj gap':>12}"
    )
    print(header)
    print("-" * len(header))
    for refresh in (1, "auto"):
        for backend, n_jobs in (("sequential", None), ("threading", 2)):
            est = AsyncTraceNormMTLRegressor(
                alpha=alpha,
                task_column=-1,
                backend=backend,
                n_jobs=n_jobs,
                splitting="douglas-rachford",
                tol=1e-8,
                max_iter=5000,
                random_state=0,
                refresh_every=refresh,
            )
            t0 = time.perf_counter()
            est.fit(X, y)
            elapsed = time.perf_counter() - t0
            gap = (objective(est) - F_ref) / abs(F_ref)
            print(
                f"{backend:>10} {refresh!s:>8} {elapsed:>8.3f} {est.n_updates_:>8d} "
                f"{1e6 * elapsed / est.n_updates_:>10.1f} {est.stop_reason_:>10} "
                f"{gap:>12.1e}"
            )


def run_landmine(quick):
    from skmtl import AsyncTraceNormMTLClassifier
    from skmtl._amtl import _nodes as _update
    from skmtl.datasets import load_landmine
    from skmtl.estimators._cv import alpha_max as alpha_max_xy

    try:
        X, y = load_landmine(path=DATA, return_X_y=True, download_if_missing=False)
    except Exception as exc:  # noqa: BLE001 - data are optional
        print(f"\nLandmine: skipped ({exc})")
        return
    X = np.asarray(X, dtype=float)
    alpha = 0.05 * alpha_max_xy(X, y, task_column=-1, loss="logistic")
    print(
        "\nLandmine (raw, alpha = 0.05 alpha_max, Douglas-Rachford, sequential, "
        "tol 1e-6): warm per-task logistic prox vs the cold Newton prox"
    )
    header = (
        f"{'task prox':>10} {'time s':>8} {'updates':>8} {'us/update':>10} "
        f"{'stop':>10} {'max |coef diff|':>16}"
    )
    print(header)
    print("-" * len(header))
    coefs = {}
    original = _update.WarmLogisticProx.__dict__["applies"]  # the staticmethod
    for name in ("cold", "warm"):
        if name == "cold":
            _update.WarmLogisticProx.applies = staticmethod(lambda datafit, t: False)
        try:
            est = AsyncTraceNormMTLClassifier(
                alpha=alpha,
                task_column=-1,
                backend="sequential",
                splitting="douglas-rachford",
                tol=1e-6,
                max_iter=5000,
                random_state=0,
            )
            t0 = time.perf_counter()
            est.fit(X, y)
            elapsed = time.perf_counter() - t0
        finally:
            _update.WarmLogisticProx.applies = original
        coefs[name] = np.asarray(est.coef_)
        diff = np.abs(coefs[name] - coefs["cold"]).max()
        print(
            f"{name:>10} {elapsed:>8.3f} {est.n_updates_:>8d} "
            f"{1e6 * elapsed / est.n_updates_:>10.1f} {est.stop_reason_:>10} "
            f"{diff:>16.1e}"
        )


if __name__ == "__main__":
    main()

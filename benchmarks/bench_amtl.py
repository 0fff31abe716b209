"""AMTL vs SMTL, dynamic step, threaded AMTL on School, jitter distributions.

Figure 3: AMTL vs SMTL on the paper's synthetic setting (n = 100 per task,
d = 50, rank 3, noise 1, squared loss summed, alpha = 0.1 alpha_max), both
schedules on the same backend and delay model (offset + exponential jitter of
mean offset), time to a 1e-4 relative objective gap, median over seeds (each
seed draws the data and the delays; the ratios are medians of per-seed ratios
of side-by-side runs).  (a) simulated clock, offsets 5, 10, 30 s; (b) real
threads (``n_jobs=2``) with millisecond delays; (c) one and two stragglers
(10x offset) on the simulated clock.  "SMTL" with relaxation 1 is exactly
proximal gradient; the 1.4 rows give both schedules the same larger
relaxation, so that the comparison is honest.

Figure 4: the paper's dynamic step size table: final objective after 10T AMTL
updates without and with it, with the base relaxation at ARock's bound and at 1,
the dynamic step driven by staleness (updates) or by round-trip time
(seconds), and a constant relaxation equal to the mean dynamic relaxation used.

Figure 5: threaded AMTL without delays on School standardized (global z-score,
intercepts, 'mean' scaling) to a 1e-4 relative gap, against the centralized
solver on the same data-fit; updates per second and staleness; the sequential
backend for comparison.

Figure 6: when AMTL pays off.  (a) AMTL/SMTL on the simulated clock under each
jitter distribution (constant, uniform on [0, 2 offset], lognormal of shape 0.5,
exponential; offset 5 s, jitter of mean 5 s) with 0, 1 and 2 stragglers (10x
offset), with the expected wait ratio (mean round trip / mean synchronous
round); (b) real threads without any injected delay.

Figures 3, 4 and 6 use the paper's forward-backward splitting, relaxation 1 (or
the stated one) and a staleness cap of 4T, passed explicitly
(``skmtl.experiments.paper_settings``).

Run::

    python benchmarks/bench_amtl.py              # everything (several minutes)
    python benchmarks/bench_amtl.py --quick      # a smoke run
    python benchmarks/bench_amtl.py --figure 4   # one figure
    python benchmarks/bench_amtl.py --figure 6   # jitter distributions, stragglers

School is read from ``../shared/data`` next to the checkout (or
``$SKMTL_DATA``); figure 5 is skipped with a message when it is absent.
"""

import argparse
import inspect
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from skmtl._amtl import run_amtl  # noqa: E402
from skmtl._tasks import stack_tasks  # noqa: E402
from skmtl.experiments import (  # noqa: E402
    DEFAULT_RATIOS,
    DEFAULT_VARIANTS,
    JITTERS,
    compare_schedules,
    dynamic_step_table,
    format_jitter_table,
    format_table,
    jitter_table,
    make_datafit,
    paper_settings,
    reference_objective,
    run_centralized,
    run_schedule,
)

DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
SCHOOL = DATA / "school_malsar" / "school.mat"

# Paper, Table I: (AMTL, SMTL) seconds per offset and T.
PAPER = {
    5: {5: (156, 239), 10: (173, 248), 15: (173, 257)},
    10: {5: (297, 453), 10: (309, 471), 15: (314, 494)},
    30: {5: (902, 1238), 10: (910, 1367), 15: (881, 1455)},
}
RATIO_KEYS = [f"{a}/{b}" for a, b in DEFAULT_RATIOS]
RATIO_HEADERS = ["AMTL/SMTL", "A1.4/SMTL", "A1.4/S1.4"]


def header():
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load}; Python {platform.python_version()}, numpy {np.__version__}"
    )


def verdict(rows, key, limit, label):
    met = [r["label"] for r in rows if r[key] <= limit]
    missed = [r["label"] for r in rows if not r[key] <= limit]
    print(
        f"  {label} <= {limit}: met for {', '.join(met) or 'none'}"
        + (f"; missed for {', '.join(missed)}" if missed else "")
    )


def wait_ratio(T):
    """Mean task cycle over mean round: ``2 / (1 + H_T)`` for offset + Exp(offset).

    AMTL/SMTL would equal it if both needed the same updates per task.
    """
    return 2.0 / (1.0 + sum(1.0 / k for k in range(1, T + 1)))


def comparison_row(cmp, scale=1.0):
    v = cmp["variants"]
    row = {f"t {k}": v[k]["time"] * scale for k in v}
    row["wait"] = wait_ratio(cmp["n_tasks"])
    row.update({k: cmp["ratios"][k] for k in RATIO_KEYS})
    row["upd S/A"] = f"{v['SMTL']['updates']:.0f}/{v['AMTL']['updates']:.0f}"
    row["stale"] = f"{v['AMTL']['staleness_mean']:.1f}/{v['AMTL']['staleness_max']}"
    row["reached"] = f"{min(x['reached'] for x in v.values())}/{cmp['n_seeds']}"
    return row


def time_columns(unit, fmt):
    cols = [(f"{k} {unit}", f"t {k}", fmt) for k, _ in DEFAULT_VARIANTS]
    cols += [(h, k, ".3f") for h, k in zip(RATIO_HEADERS, RATIO_KEYS, strict=True)]
    cols.append(("2/(1+H_T)", "wait", ".3f"))
    cols += [
        ("upd to target S/A", "upd S/A", "s"),
        ("AMTL stale mean/max", "stale", "s"),
        ("reached", "reached", "s"),
    ]
    return cols


# --------------------------------------------------------------------------- #
# Figure 3
# --------------------------------------------------------------------------- #
def figure3(quick):
    Ts = [5, 10, 15]
    seeds = range(3 if quick else 7)
    print(
        "\nFigure 3: AMTL vs SMTL, synthetic (n=100/task, d=50, rank 3, noise 1, "
        "sum scaling, alpha = 0.1 alpha_max),\ntime to a 1e-4 relative gap "
        "(first check, every T updates); delay = offset + Exp(mean offset);\n"
        f"median over {len(seeds)} seeds; ratios = median of per-seed ratios; "
        "S = SMTL, A = AMTL, 1.4 = KM relaxation 1.4 (else 1.0);\n"
        "2/(1+H_T) = mean task cycle / mean SMTL round: AMTL/SMTL if both needed "
        "the same updates per task"
    )
    # (a) simulated clock
    offsets = [5.0] if quick else [5.0, 10.0, 30.0]
    rows = []
    for offset in offsets:
        for T in Ts:
            cmp = compare_schedules(
                T, offset=offset, seeds=seeds, tol=1e-5, **paper_settings(T)
            )
            row = comparison_row(cmp)
            row.update(label=f"off {offset:g} T {T}", offset=offset, T=T)
            paper = PAPER.get(int(offset), {}).get(T)
            row["paper"] = paper[0] / paper[1] if paper else None
            rows.append(row)
    cols = [("offset", "offset", "g"), ("T", "T", "d")] + time_columns("s", ".0f")
    cols.insert(-3, ("paper A/S", "paper", ".3f"))
    print(format_table(rows, cols, title="\n(a) simulated clock (virtual seconds)"))
    print(
        "  note: with zero compute time the simulated run scales exactly with the "
        "offset,\n  so the ratios do not depend on it (the paper's do, through its "
        "real compute)."
    )
    verdict(rows, "AMTL/SMTL", 0.5, "same relaxation 1.0, AMTL/SMTL")
    verdict(rows, "AMTL 1.4/SMTL", 0.5, "AMTL 1.4 vs proximal gradient")
    verdict(rows, "AMTL 1.4/SMTL 1.4", 0.5, "same relaxation 1.4")

    # (b) real threads
    offset = 0.002
    rows = []
    t_seeds = range(2 if quick else 5)
    for T in Ts:
        start = time.perf_counter()
        cmp = compare_schedules(
            T,
            offset=offset,
            backend="threading",
            seeds=t_seeds,
            tol=1e-5,
            max_time=30.0,
            **paper_settings(T),
        )
        row = comparison_row(cmp, scale=1e3)
        amtl = cmp["variants"]["AMTL"]["runs"]
        row["rt"] = float(np.median([r["round_trip_mean"] for r in amtl])) * 1e3
        row["ups"] = float(np.median([r["updates_per_second"] for r in amtl]))
        row["bench"] = time.perf_counter() - start
        row.update(label=f"T {T}", T=T)
        rows.append(row)
    cols = [("T", "T", "d")] + time_columns("ms", ".1f")
    cols += [
        ("AMTL rtt ms", "rt", ".2f"),
        ("AMTL upd/s", "ups", ".0f"),
        ("wall s", "bench", ".1f"),
    ]
    print(
        format_table(
            rows,
            cols,
            title=f"\n(b) threads (backend='threading', n_jobs=2), offset "
            f"{offset * 1e3:g} ms + Exp(mean {offset * 1e3:g} ms), wall-clock ms, "
            f"median of {len(t_seeds)} seeds",
        )
    )
    verdict(rows, "AMTL/SMTL", 0.7, "same relaxation 1.0, AMTL/SMTL")
    verdict(rows, "AMTL 1.4/SMTL", 0.7, "AMTL 1.4 vs proximal gradient")
    verdict(rows, "AMTL 1.4/SMTL 1.4", 0.7, "same relaxation 1.4")

    # (c) stragglers
    rows = []
    for T in Ts:
        for k in (0, 1, 2):
            cmp = compare_schedules(
                T, offset=5.0, stragglers=k, seeds=seeds, tol=1e-5, **paper_settings(T)
            )
            row = comparison_row(cmp)
            counts = np.median(
                [r["updates_per_task"] for r in cmp["variants"]["AMTL"]["runs"]],
                axis=0,
            )
            row["per task"] = f"{counts.min():.0f}-{counts.max():.0f}"
            row.update(label=f"T {T} k {k}", T=T, k=k)
            rows.append(row)
    cols = [("T", "T", "d"), ("stragglers", "k", "d")] + time_columns("s", ".0f")
    cols = [c for c in cols if c[1] != "wait"]  # the bound assumes no stragglers
    cols.insert(-1, ("AMTL upd/task", "per task", "s"))
    print(
        format_table(
            rows,
            cols,
            title="\n(c) stragglers: k tasks with 10x offset (50 s + Exp(mean 50 s)), "
            "others 5 s + Exp(5 s); simulated clock",
        )
    )
    for key, label in [
        ("AMTL/SMTL", "same relaxation 1.0"),
        ("AMTL 1.4/SMTL", "AMTL 1.4 vs proximal gradient"),
    ]:
        parts = []
        for T in Ts:
            r = [x[key] for x in rows if x["T"] == T]
            trend = ", ".join(
                f"{k} {'better' if r[k] < r[0] else 'WORSE'}" for k in (1, 2)
            )
            parts.append(f"T={T}: {r[0]:.2f} -> {r[1]:.2f} -> {r[2]:.2f} ({trend})")
        print(f"  {label}, ratio for 0 -> 1 -> 2 stragglers:\n    " + "; ".join(parts))


# --------------------------------------------------------------------------- #
# Figure 4
# --------------------------------------------------------------------------- #
def figure4(quick):
    Ts = [5] if quick else [5, 10, 15]
    offsets = [5.0, 20.0] if quick else [5.0, 10.0, 15.0, 20.0]
    seeds = range(3 if quick else 7)
    rows = []
    for T in Ts:
        for offset in offsets:
            for base in ("arock", 1.0):
                tab = dynamic_step_table(
                    T, offset, base=base, seeds=seeds, **paper_settings(T)
                )
                tab.update(T=T, offset=offset)
                for m in ("staleness", "time"):
                    tab[f"gain_{m}"] = (
                        100 * (tab["without"] - tab[f"with_{m}"]) / (tab["without"])
                    )
                    tab[f"vs_{m}"] = (
                        100
                        * (tab[f"with_{m}"] - tab[f"const_{m}"])
                        / (tab[f"const_{m}"])
                    )
                rows.append(tab)
    cols = [
        ("T", "T", "d"),
        ("offset", "offset", "g"),
        ("base relax", "base", ".4f"),
        ("F(0)", "f_zero", ".0f"),
        ("F*", "f_star", ".1f"),
        ("without", "without", ".1f"),
        ("dyn stal", "with_staleness", ".1f"),
        ("relax", "relax_staleness", ".3f"),
        ("const", "const_staleness", ".1f"),
        ("dyn time", "with_time", ".1f"),
        ("relax", "relax_time", ".3f"),
        ("const", "const_time", ".1f"),
        ("gain time %", "gain_time", ".1f"),
        ("dyn-const %", "vs_time", ".2f"),
    ]
    print(
        format_table(
            rows,
            cols,
            title="\nFigure 4: dynamic step size, final objective after 10T AMTL "
            "updates (simulated clock,\noffset + Exp(mean offset), same synthetic "
            f"problem as figure 3; median of {len(seeds)} seeds).\n"
            "dyn: relaxation x log(max(mean of last 5 delays, 10)), clipped at 1.4, "
            "delays as staleness\n(stal, updates) or round-trip time (time, s); "
            "relax: mean relaxation it used; const: a\nconstant relaxation equal to "
            "that mean; gain: (without - dyn)/without; dyn-const: (dyn - const)/const",
        )
    )
    print(
        "  paper (T=5, offset 5): 163.6 -> 144.8 (gain 11.5 %); its problem scale "
        "is not stated."
    )


# --------------------------------------------------------------------------- #
# Figure 5
# --------------------------------------------------------------------------- #
def load_school_standardized():
    """School without its constant last column, z-scored over all rows, long format."""
    from scipy.io import loadmat

    m = loadmat(SCHOOL)
    T = m["X"].shape[1]
    Xs = [m["X"][0, t].astype(float)[:, :-1] for t in range(T)]
    ys = [m["Y"][0, t].astype(float).ravel() for t in range(T)]
    X_all = np.vstack(Xs)
    mu, sd = X_all.mean(axis=0), X_all.std(axis=0)
    Xs = [(X - mu) / np.where(sd > 0, sd, 1.0) for X in Xs]
    return stack_tasks(Xs, ys)


def _epochs(runs, T):
    hits = [r["updates_to_target"] / T for r in runs if r["reached"]]
    return f"{np.median(hits):.0f}" if hits else "n/a"


def figure5(quick):
    if not SCHOOL.exists():
        print(
            f"\nFigure 5 skipped: School data not found at {SCHOOL} (put the shared "
            "data folder next to the checkout or set SKMTL_DATA)."
        )
        return
    X, y = load_school_standardized()
    datafit = make_datafit(X, y, task_column=-1, fit_intercept=True)
    T = datafit.n_tasks
    from skmtl import TraceNormMTLRegressor
    from skmtl.solvers._fista import alpha_max

    a_max = alpha_max(datafit)
    alphas = [1.0] if quick else [0.1, 1.0]
    repeats = 1 if quick else 3
    cap = 10.0 if quick else 60.0
    has_dr = "splitting" in inspect.signature(run_amtl).parameters
    print(
        f"\nFigure 5: AMTL without delays on School standardized ({T} tasks, "
        f"{datafit.n_features} features, {X.shape[0]} rows; global z-score, "
        "intercepts,\n'mean' scaling; alpha_max = "
        f"{a_max:.3g}), time to a 1e-4 relative gap; centralized = solve() on the "
        "same data-fit\nto a certified gap of 1e-4 (median of runs interleaved "
        "with the AMTL runs); AMTL: median of "
        f"{repeats} run(s), each capped at {cap:g} s; FB = forward-backward\n"
        "(the paper's gradient step), DR = Douglas-Rachford (exact per-task prox)"
    )
    rows = []
    for alpha in alphas:
        f_star = reference_objective(datafit, alpha)
        cent = []  # centralized runs, interleaved with the AMTL runs (load drifts)

        def centralized(alpha=alpha, f_star=f_star, cent=cent):
            cent.append(run_centralized(datafit, alpha, f_star=f_star))

        for _ in range(5):
            centralized()
        fits = []
        for _ in range(5):
            start = time.perf_counter()
            TraceNormMTLRegressor(alpha=alpha, task_column=-1, tol=1e-4).fit(X, y)
            fits.append(time.perf_counter() - start)
        alpha_rows = [
            {
                "alpha": alpha,
                "method": "TraceNormMTLRegressor.fit",
                "time": float(np.median(fits)),
            }
        ]
        splittings = ["forward-backward"] + (["douglas-rachford"] if has_dr else [])
        for splitting in splittings:
            extra = {"splitting": splitting} if has_dr else {}
            short = "FB" if splitting == "forward-backward" else "DR"

            def run(
                backend, schedule, max_epochs, extra=extra, alpha=alpha, f_star=f_star
            ):
                centralized()
                return run_schedule(
                    datafit,
                    alpha,
                    backend=backend,
                    schedule=schedule,
                    f_star=f_star,
                    max_epochs=max_epochs,
                    tol=1e-9,
                    max_time=cap,
                    **extra,
                )

            # Calibrate the epochs to the target once (threads), then cap the
            # timed runs a little beyond, so that they do not run on for long.
            epochs, first = 64, None
            while True:
                first = run("threading", "async", epochs)
                if first["reached"] or first["stop_reason"] != "max_iter":
                    break
                epochs *= 4
            need = first["updates_to_target"] / T if first["reached"] else epochs
            budget = int(math.ceil(1.3 * need)) + 2
            configs = [
                ("threading", "async", repeats - 1),
                ("sequential", "async", 1),
                ("sequential", "sync", 1),
            ]
            for backend, schedule, reps in configs:
                runs = [run(backend, schedule, budget) for _ in range(reps)]
                if backend == "threading":
                    runs.insert(0, first)  # the calibration run counts as one
                name = "AMTL" if schedule == "async" else "SMTL"
                where = "threads n_jobs=2" if backend == "threading" else "sequential"
                alpha_rows.append(
                    {
                        "alpha": alpha,
                        "method": f"{name} {short}, {where}",
                        "time": float(np.median([r["time_to_target"] for r in runs])),
                        "epochs": _epochs(runs, T),
                        "ups": float(
                            np.median([r["updates_per_second"] for r in runs])
                        ),
                        "stale": "{:.1f}/{}".format(
                            np.median([r["staleness_mean"] for r in runs]),
                            max(r["staleness_max"] for r in runs),
                        ),
                        "gap": float(np.median([r["final_gap"] for r in runs])),
                        "reached": f"{sum(r['reached'] for r in runs)}/{len(runs)}",
                    }
                )
        t_cent = float(np.median([c["time"] for c in cent]))
        rows.append(
            {
                "alpha": alpha,
                "method": "centralized solve (ADMM)",
                "time": t_cent,
                "epochs": f"{cent[0]['n_iter']} it",
                "gap": max(c["final_gap"] for c in cent),
            }
        )
        for row in alpha_rows:
            row["ratio"] = row["time"] / t_cent
        rows.extend(alpha_rows)
    cols = [
        ("alpha", "alpha", "g"),
        ("method", "method", "s"),
        ("time to 1e-4 s", "time", ".4f"),
        ("x centralized", "ratio", ".1f"),
        ("epochs", "epochs", "s"),
        ("updates/s", "ups", ".0f"),
        ("staleness mean/max", "stale", "s"),
        ("final gap", "gap", ".1e"),
        ("reached", "reached", "s"),
    ]
    print(format_table(rows, cols))
    amtl = [
        r for r in rows if r["method"].startswith("AMTL") and "threads" in r["method"]
    ]
    for r in amtl:
        ok = "met" if r["ratio"] <= 3 else "NOT met"
        print(f"  target <= 3 x centralized, alpha {r['alpha']:g}, {r['method']}: {ok}")


# --------------------------------------------------------------------------- #
# Figure 6
# --------------------------------------------------------------------------- #
def figure6(quick):
    Ts = [10] if quick else [5, 10, 15]
    seeds = range(1 if quick else 3)
    rows = jitter_table(Ts, JITTERS, stragglers=(0, 1, 2), seeds=seeds)
    print(
        "\nFigure 6 (a): AMTL/SMTL under each delay distribution, simulated clock, "
        "synthetic setting of figure 3;\noffset 5 virtual s + jitter of mean 5 s "
        "(constant: none; uniform on [0, 10]; lognormal, shape 0.5;\nexponential); "
        "stragglers: that many tasks with a 10x offset. Time to a 1e-4 relative "
        f"gap,\nvirtual seconds, median of {len(seeds)} seed(s); wait ratio = "
        "mean round trip / mean synchronous round\n(AMTL/SMTL if both needed the "
        "same updates; 2/(1+H_T) for exponential jitter); updates A/S =\nAMTL's "
        "updates to target / SMTL's."
    )
    print(format_jitter_table(rows))
    slower = [f"{r['jitter']} T={r['T']}" for r in rows if r["ratio"] >= 1]
    print(f"  AMTL slower than SMTL (ratio >= 1) for: {', '.join(slower) or 'none'}")
    for jitter in JITTERS:
        parts = []
        for T in Ts:
            r = [x["ratio"] for x in rows if x["jitter"] == jitter and x["T"] == T]
            parts.append(f"T={T}: " + " -> ".join(f"{v:.2f}" for v in r))
        print(f"  {jitter}, 0 -> 1 -> 2 stragglers: " + "; ".join(parts))

    # (b) real threads, no injected delay: nothing for asynchrony to save.
    variants = DEFAULT_VARIANTS[:1] + DEFAULT_VARIANTS[2:3]  # SMTL, AMTL (1.0)
    t_seeds = range(2 if quick else 5)
    rows = []
    for T in Ts:
        cmp = compare_schedules(
            T, variants=variants, ratios=(("AMTL", "SMTL"),), delay=0.0,
            backend="threading", seeds=t_seeds, tol=1e-7, max_time=30.0,
            **paper_settings(T),
        )  # fmt: skip
        v = cmp["variants"]
        rows.append(
            {
                "T": T,
                "amtl": v["AMTL"]["time"] * 1e3,
                "smtl": v["SMTL"]["time"] * 1e3,
                "ratio": cmp["ratios"]["AMTL/SMTL"],
                "upd": f"{v['AMTL']['updates']:.0f}/{v['SMTL']['updates']:.0f}",
                "stale": f"{v['AMTL']['staleness_mean']:.1f}/"
                f"{v['AMTL']['staleness_max']}",
                "reached": f"{min(x['reached'] for x in v.values())}/{len(t_seeds)}",
            }
        )
    print(
        format_table(
            rows,
            [
                ("T", "T", "d"),
                ("AMTL ms", "amtl", ".1f"),
                ("SMTL ms", "smtl", ".1f"),
                ("AMTL/SMTL", "ratio", ".2f"),
                ("updates A/S", "upd", "s"),
                ("AMTL stale mean/max", "stale", "s"),
                ("reached", "reached", "s"),
            ],
            title="\n(b) real threads (n_jobs=2), no injected delay, wall-clock ms "
            f"to a 1e-4 gap, median of {len(t_seeds)} seeds",
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument(
        "--figure", type=int, choices=(3, 4, 5, 6), default=None, help="run one figure"
    )
    args = parser.parse_args(argv)
    header()
    start = time.perf_counter()
    figures = {3: figure3, 4: figure4, 5: figure5, 6: figure6}
    for number, figure in figures.items():
        if args.figure in (None, number):
            figure(args.quick)
    print(
        f"\ntotal {time.perf_counter() - start:.0f} s; load average now "
        "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )


if __name__ == "__main__":
    main()

"""The paper's experiments as reusable functions: AMTL against SMTL, dynamic step.

Used by ``benchmarks/bench_amtl.py`` and ``python -m skmtl demo``; functions
return plain dicts and arrays, :func:`format_table` prints them.

The synthetic setting is the paper's (Baytas et al., 2016): ``n = 100`` samples
per task, ``d = 50``, a rank-3 task matrix with unit noise, the squared loss
summed (``loss_scaling='sum'``, no intercept), ``alpha = 0.1 alpha_max`` (a
rank-3 solution).  A delay is an offset plus exponential jitter of mean offset
(the paper does not name the distribution).  Both schedules run on the same
backend and delay model; the time to target is that of the first check (every
``T`` updates) with ``(F - F*) / F* <= rel_gap``.
"""

import time
from contextlib import nullcontext
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from .._amtl import DelayModel, DynamicStep, make_backend, make_delay_model, run_amtl
from ..datasets import make_low_rank_regression
from ..estimators._centralized import TraceNormMTLClassifier, TraceNormMTLRegressor
from ..solvers._fista import alpha_max, solve
from ..solvers._gaps import penalized_objective
from ..utils._validation import validate_fit_data

__all__ = [
    "DEFAULT_RATIOS", "DEFAULT_VARIANTS", "compare_schedules", "dynamic_step_table",
    "format_table", "make_datafit", "objective_value", "paper_delay",
    "reference_objective", "run_centralized", "run_schedule", "synthetic_problem",
    "time_to_target",
]  # fmt: skip

# Schedules compared in figure 3: SMTL with relaxation 1 is proximal gradient.
DEFAULT_VARIANTS = (
    ("SMTL", {"schedule": "sync", "relaxation": 1.0}),
    ("SMTL 1.4", {"schedule": "sync", "relaxation": 1.4}),
    ("AMTL", {"schedule": "async", "relaxation": 1.0}),
    ("AMTL 1.4", {"schedule": "async", "relaxation": 1.4}),
)
DEFAULT_RATIOS = (("AMTL", "SMTL"), ("AMTL 1.4", "SMTL"), ("AMTL 1.4", "SMTL 1.4"))


# -- problems --------------------------------------------------------------- #
def make_datafit(
    X, y, *, task_column=-1, fit_intercept=True, loss_scaling="mean", loss="squared"
):
    """The data-fit the estimators build from long-format ``(X, y)`` (same validation).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.experiments import make_datafit
    >>> X = np.array([[1.0, 0], [2.0, 0], [1.0, 1], [3.0, 1]])
    >>> datafit = make_datafit(X, [1.0, 2.0, 0.5, 1.0], fit_intercept=False)
    >>> datafit.n_tasks, datafit.n_features
    (2, 1)
    """
    if loss not in ("squared", "logistic"):
        raise ValueError(f"loss must be 'squared' or 'logistic'; got {loss!r}.")
    cls = TraceNormMTLRegressor if loss == "squared" else TraceNormMTLClassifier
    est = cls(
        task_column=task_column, fit_intercept=fit_intercept, loss_scaling=loss_scaling
    )
    data = validate_fit_data(est, X, y, classifier=loss == "logistic")
    # The data-fit outlives this call: it must not read the caller's X.
    return est._make_datafit(data.blocks.materialize())


def objective_value(datafit, alpha, W, b=None):
    """``F(W, b) = f(W, b) + alpha ||W||_*``."""
    return penalized_objective(datafit, None, W, b, alpha)


def reference_objective(datafit, alpha, *, tol=1e-12, max_iter=100_000):
    """``F*`` from the centralized solver run to a certified relative gap ``tol``.

    Examples
    --------
    >>> from skmtl.experiments import reference_objective, synthetic_problem
    >>> prob = synthetic_problem(3, n_samples=20, n_features=5, rank=1)
    >>> f_star = reference_objective(prob["datafit"], prob["alpha"])
    >>> bool(abs(f_star - prob["f_star"]) <= 1e-9 * f_star)
    True
    """
    res = solve(datafit, alpha, tol=tol, max_iter=max_iter)
    return objective_value(datafit, alpha, res.W, res.b)


def synthetic_problem(
    n_tasks=5, *, n_samples=100, n_features=50, rank=3, noise=1.0, alpha_ratio=0.1,
    loss_scaling="sum", random_state=0,
):  # fmt: skip
    """The paper's synthetic regression problem, ready for :func:`run_schedule`.

    Data from :func:`skmtl.datasets.make_low_rank_regression`, squared loss
    without intercept, ``alpha = alpha_ratio * alpha_max``.

    Returns
    -------
    problem : dict
        ``datafit``, ``alpha``, ``alpha_max``, ``f_star`` (certified to a
        relative gap of 1e-12), ``f_zero`` (the objective at ``W = 0``),
        ``W_true`` (d x T) and ``n_tasks``.

    Examples
    --------
    >>> from skmtl.experiments import synthetic_problem
    >>> prob = synthetic_problem(n_tasks=4, random_state=0)
    >>> prob["datafit"].n_tasks, prob["datafit"].n_features
    (4, 50)
    >>> bool(prob["f_star"] < prob["f_zero"])
    True
    """
    X, y, W_true = make_low_rank_regression(
        n_samples, n_features, n_tasks, rank=rank, noise=noise,
        return_long=True, random_state=random_state,
    )  # fmt: skip
    datafit = make_datafit(X, y, fit_intercept=False, loss_scaling=loss_scaling)
    a_max = alpha_max(datafit)
    alpha = alpha_ratio * a_max
    zero = np.zeros((n_features, n_tasks))
    return {
        "datafit": datafit,
        "alpha": alpha,
        "alpha_max": a_max,
        "f_star": reference_objective(datafit, alpha),
        "f_zero": objective_value(datafit, alpha, zero),
        "W_true": W_true,
        "n_tasks": n_tasks,
    }


def paper_delay(offset, n_tasks=None, *, stragglers=0, straggler_factor=10.0):
    """Offset plus exponential jitter of mean ``offset``, with optional stragglers.

    The first ``stragglers`` tasks get ``straggler_factor`` times the offset
    (and so the same factor on their jitter's mean).

    Examples
    --------
    >>> from skmtl.experiments import paper_delay
    >>> model = paper_delay(5.0)
    >>> model.offset, model.jitter
    (5.0, 'exponential')
    >>> paper_delay(5.0, 3, stragglers=1).offset
    [50.0, 5.0, 5.0]
    """
    if stragglers == 0:
        return DelayModel(offset=float(offset), jitter="exponential")
    if n_tasks is None or not 0 <= stragglers <= n_tasks:
        raise ValueError(
            f"stragglers must be between 0 and n_tasks; got {stragglers} for "
            f"n_tasks={n_tasks}."
        )
    offsets = np.full(n_tasks, float(offset))
    offsets[:stragglers] *= straggler_factor
    return DelayModel(offset=offsets.tolist(), jitter="exponential")


# -- runs ------------------------------------------------------------------- #
def time_to_target(history, f_star, rel_gap=1e-4):
    """First check of a run whose objective is within ``rel_gap`` of ``F*``.

    ``history`` has fields 'time', 'n_updates' and 'objective' (as the
    ``objective_history`` of :func:`~skmtl._amtl.run_amtl`'s result); the
    target is ``(F - F*) / |F*| <= rel_gap``.
    Returns a dict: ``reached``, and ``time`` and ``n_updates`` at that check
    (NaN and -1 when the run never got there).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.experiments import time_to_target
    >>> h = np.zeros(3, dtype=[("time", float), ("n_updates", int),
    ...                        ("objective", float)])
    >>> h["time"], h["n_updates"], h["objective"] = [1, 2, 3], [5, 10, 15], [9, 2, 1]
    >>> time_to_target(h, 1.0, rel_gap=1.5)
    {'reached': True, 'time': 2.0, 'n_updates': 10}
    >>> time_to_target(h, 0.5)["reached"]
    False
    """
    gap = (history["objective"] - f_star) / max(abs(f_star), np.finfo(float).tiny)
    hits = np.flatnonzero(gap <= rel_gap)
    if len(hits) == 0:
        return {"reached": False, "time": float("nan"), "n_updates": -1}
    i = hits[0]
    return {
        "reached": True,
        "time": float(history["time"][i]),
        "n_updates": int(history["n_updates"][i]),
    }


def _blas_limit(blas_threads):
    # On a loaded machine a multithreaded BLAS stalls small eigh calls for a
    # scheduler slice; the threading backend already limits it while it runs.
    if blas_threads is None:
        return nullcontext()
    return threadpool_limits(limits=blas_threads, user_api="blas")


def run_schedule(
    datafit, alpha, *, schedule="async", backend="simulated", n_jobs=2, delay=None,
    f_star=None, rel_gap=1e-4, max_epochs=1000, tol=1e-7, random_state=0,
    blas_threads=1, **run_kwargs,
):  # fmt: skip
    """Run AMTL (``schedule='async'``) or SMTL (``'sync'``) and summarize it.

    Parameters
    ----------
    datafit, alpha : data-fit, float
        The problem (see :func:`make_datafit` and :func:`synthetic_problem`).
    schedule : {'async', 'sync'}, default='async'
        AMTL or the synchronous SMTL baseline.
    backend, n_jobs : str or Backend, int
        As the estimators' ``backend`` (``n_jobs`` threads for 'threading').
    delay : None, float, DelayModel or callable, default=None
        Network delay per round trip (see :func:`paper_delay`).
    f_star, rel_gap : float or None, float
        Optimal objective and target relative gap for the time to target.
    max_epochs, tol, random_state
        Stopping rules and the seed of the delays, as in ``run_amtl``.
    blas_threads : int or None, default=1
        BLAS threads during the run (None: leave them alone).
    **run_kwargs
        Passed to :func:`skmtl._amtl.run_amtl` (``relaxation``,
        ``max_staleness``, ``dynamic_step``, ``max_time``, ``splitting``...).

    Returns
    -------
    summary : dict
        ``reached``, ``time_to_target``, ``updates_to_target`` (NaN / -1 if not
        reached); ``elapsed`` and ``updates_per_second`` on the backend clock
        (virtual for 'simulated'), ``wall``; ``final_objective``, ``final_gap``;
        means over updates of ``staleness``, ``round_trip`` and the relaxation
        actually used; ``staleness_max``, ``updates_per_task``, ``history``...

    Examples
    --------
    >>> from skmtl.experiments import paper_delay, run_schedule, synthetic_problem
    >>> prob = synthetic_problem(3, n_samples=30, n_features=8, rank=1)
    >>> amtl = run_schedule(prob["datafit"], prob["alpha"], delay=paper_delay(5.0),
    ...                     f_star=prob["f_star"])
    >>> amtl["reached"], amtl["stop_reason"]
    (True, 'converged')
    >>> bool(amtl["staleness_max"] <= 4 * 3)
    True
    """
    T = datafit.n_tasks
    backend_obj = make_backend(backend, n_jobs=n_jobs)
    delay_model = make_delay_model(delay, T)
    start = time.perf_counter()
    with _blas_limit(blas_threads):
        res = run_amtl(
            datafit, alpha, backend_obj, schedule=schedule, delay_model=delay_model,
            max_epochs=max_epochs, tol=tol, random_state=random_state, **run_kwargs,
        )  # fmt: skip
    wall = time.perf_counter() - start
    hist, stats = res.history, res.task_stats
    counts = stats["n_updates"]

    def over_updates(key):
        return float((stats[key] * counts).sum() / max(int(counts.sum()), 1))

    elapsed = float(hist["time"][-1]) if len(hist) else 0.0
    final = objective_value(datafit, alpha, res.W, res.b)
    target = {"reached": False, "time": np.nan, "n_updates": -1}
    if f_star is not None:
        target = time_to_target(hist, f_star, rel_gap)
    return {
        "reached": target["reached"],
        "time_to_target": target["time"],
        "updates_to_target": target["n_updates"],
        "schedule": schedule,
        "backend": backend_obj.name,
        "relaxation": res.relaxation,
        "relaxation_mean": over_updates("relaxation_mean"),
        "n_updates": res.n_updates,
        "elapsed": elapsed,
        "wall": wall,
        "updates_per_second": res.n_updates / elapsed if elapsed > 0 else np.nan,
        "final_objective": final,
        "final_gap": np.nan if f_star is None else (final - f_star) / abs(f_star),
        "staleness_mean": over_updates("staleness_mean"),
        "staleness_max": int(stats["staleness_max"].max()),
        "round_trip_mean": over_updates("round_trip_mean"),
        "updates_per_task": counts.copy(),
        "stop_reason": res.stop_reason,
        "history": hist,
    }


def run_centralized(datafit, alpha, *, tol=1e-4, f_star=None, blas_threads=1):
    """Time the centralized solver to a certified relative duality gap ``tol``.

    The certified gap bounds the objective gap, so ``time`` is a time to a
    relative objective gap of at most ``tol``.

    Examples
    --------
    >>> from skmtl.experiments import run_centralized, synthetic_problem
    >>> prob = synthetic_problem(3, n_samples=30, n_features=8, rank=1)
    >>> res = run_centralized(prob["datafit"], prob["alpha"], f_star=prob["f_star"])
    >>> res["converged"], bool(res["final_gap"] <= 1e-4)
    (True, True)
    """
    with _blas_limit(blas_threads):
        start = time.perf_counter()
        res = solve(datafit, alpha, tol=tol)
        seconds = time.perf_counter() - start
    final = objective_value(datafit, alpha, res.W, res.b)
    return {
        "time": seconds,
        "n_iter": int(res.n_iter),
        "converged": bool(res.converged),
        "certified_gap": float(res.gap),
        "final_objective": final,
        "final_gap": np.nan if f_star is None else (final - f_star) / abs(f_star),
        "W": res.W,
    }


# -- the paper's comparisons ------------------------------------------------ #
def compare_schedules(
    n_tasks, *, variants=DEFAULT_VARIANTS, ratios=DEFAULT_RATIOS, offset=5.0,
    stragglers=0, delay=None, backend="simulated", seeds=(0, 1, 2), rel_gap=1e-4,
    problem_kwargs=None, **run_kwargs,
):  # fmt: skip
    """AMTL against SMTL on the synthetic problem, side by side per seed.

    For every seed: one problem (data seeded with it) and one run per variant
    (delays seeded with it), all on the same backend and delay model.

    Parameters
    ----------
    n_tasks : int
        Number of tasks T.
    variants : sequence of (label, dict), default=DEFAULT_VARIANTS
        Keyword arguments of :func:`run_schedule` per variant.
    ratios : sequence of (label, label), default=DEFAULT_RATIOS
        Time ratios to report, numerator over denominator.
    offset, stragglers : float, int
        :func:`paper_delay`'s offset (seconds) and number of 10x stragglers;
        ``delay`` (a delay model) overrides both.
    backend, seeds, rel_gap
        Backend of every run, one side-by-side comparison per seed, target.
    problem_kwargs : dict or None
        Passed to :func:`synthetic_problem`; ``run_kwargs`` to every run.

    Returns
    -------
    comparison : dict
        ``variants``: per label, the medians over seeds of ``time``,
        ``updates``, ``staleness_mean``, the largest ``staleness_max``,
        ``reached`` (runs that reached the target) and the raw ``runs``;
        ``ratios``: per ``"A/B"``, the median over seeds of the time ratio
        (NaN if a run missed the target) and the per-seed ``ratio_runs``.

    Examples
    --------
    >>> from skmtl.experiments import compare_schedules
    >>> cmp = compare_schedules(3, seeds=(0,), problem_kwargs=dict(
    ...     n_samples=30, n_features=8, rank=1))
    >>> sorted(cmp["variants"])
    ['AMTL', 'AMTL 1.4', 'SMTL', 'SMTL 1.4']
    >>> bool(cmp["ratios"]["AMTL/SMTL"] < 1)
    True
    """
    if delay is None:
        delay = paper_delay(offset, n_tasks, stragglers=stragglers)
    runs = {label: [] for label, _ in variants}
    for seed in seeds:
        prob = synthetic_problem(n_tasks, random_state=seed, **(problem_kwargs or {}))
        for label, kwargs in variants:
            res = run_schedule(
                prob["datafit"], prob["alpha"], backend=backend, delay=delay,
                f_star=prob["f_star"], rel_gap=rel_gap, random_state=seed,
                **{**run_kwargs, **kwargs},
            )  # fmt: skip
            runs[label].append(res)
    summary = {}
    for label, rs in runs.items():
        summary[label] = {
            "time": float(np.median([r["time_to_target"] for r in rs])),
            "updates": float(np.median([r["updates_to_target"] for r in rs])),
            "staleness_mean": float(np.median([r["staleness_mean"] for r in rs])),
            "staleness_max": max(r["staleness_max"] for r in rs),
            "reached": sum(r["reached"] for r in rs),
            "runs": rs,
        }
    out_ratios, ratio_runs = {}, {}
    for num, den in ratios:
        per_seed = [
            a["time_to_target"] / b["time_to_target"]
            for a, b in zip(runs[num], runs[den], strict=True)
        ]
        ratio_runs[f"{num}/{den}"] = per_seed
        out_ratios[f"{num}/{den}"] = float(np.median(per_seed))
    return {
        "n_tasks": n_tasks,
        "n_seeds": len(seeds),
        "variants": summary,
        "ratios": out_ratios,
        "ratio_runs": ratio_runs,
    }


def dynamic_step_table(
    n_tasks, offset, *, base="arock", measures=("staleness", "time"), epochs=10,
    seeds=(0, 1, 2), problem_kwargs=None, **run_kwargs,
):  # fmt: skip
    """Final objective after ``epochs * T`` AMTL updates, with and without dynamic step.

    The paper's table (simulated clock, delay ``offset`` + exponential jitter).
    For every measure of the delay that drives the dynamic step (staleness in
    updates, or round-trip time in seconds), also a run whose constant
    relaxation equals the mean relaxation the dynamic step actually used: if it
    does as well, the dynamic step is no more than a larger relaxation.

    Returns
    -------
    table : dict
        Medians over seeds: ``f_zero``, ``f_star``, ``without`` and, per
        measure ``m``, ``with_m``, ``const_m`` and ``relax_m`` (the mean
        dynamic relaxation); ``base`` is the base relaxation used.

    Examples
    --------
    >>> from skmtl.experiments import dynamic_step_table
    >>> tab = dynamic_step_table(3, 5.0, seeds=(0,), measures=("time",),
    ...                          problem_kwargs=dict(n_samples=30, n_features=8,
    ...                                              rank=1))
    >>> bool(tab["with_time"] < tab["without"])
    True
    """
    rows = []
    for seed in seeds:
        prob = synthetic_problem(n_tasks, random_state=seed, **(problem_kwargs or {}))
        run = partial(
            run_schedule, prob["datafit"], prob["alpha"], delay=paper_delay(offset),
            max_epochs=epochs, tol=0.0, random_state=seed, **run_kwargs,
        )  # fmt: skip
        without = run(relaxation=base)
        row = {"f_zero": prob["f_zero"], "f_star": prob["f_star"]}
        row.update(without=without["final_objective"], base=without["relaxation"])
        for m in measures:
            dyn = run(relaxation=base, dynamic_step=DynamicStep(measure=m))
            const = run(relaxation=dyn["relaxation_mean"])
            row[f"with_{m}"] = dyn["final_objective"]
            row[f"relax_{m}"] = dyn["relaxation_mean"]
            row[f"const_{m}"] = const["final_objective"]
        rows.append(row)
    return {key: float(np.median([r[key] for r in rows])) for key in rows[0]}


# -- text tables ------------------------------------------------------------ #
def _cell(value, fmt):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not np.isfinite(value):
        return "n/a"
    return format(value, fmt)


def format_table(rows, columns, *, title=None):
    """Format ``rows`` (dicts) as a right-aligned text table.

    ``columns`` lists ``(header, key, format spec)``: the spec formats numbers
    (NaN prints as ``n/a``, a missing entry or None as ``-``, strings as they
    are); ``title`` is a line above the table.

    Examples
    --------
    >>> from skmtl.experiments import format_table
    >>> print(format_table([{"T": 5, "ratio": 0.5}, {"T": 10, "ratio": float("nan")}],
    ...                    [("T", "T", "d"), ("AMTL/SMTL", "ratio", ".2f")]))
     T | AMTL/SMTL
    ---+----------
     5 |      0.50
    10 |       n/a
    """
    cells = [[_cell(row.get(key), fmt) for _, key, fmt in columns] for row in rows]
    widths = [
        max([len(h)] + [len(c[j]) for c in cells])
        for j, (h, _, _) in enumerate(columns)
    ]
    lines = [] if title is None else [title]

    def line(values, sep=" | "):
        return sep.join(v.rjust(w) for v, w in zip(values, widths, strict=True))

    lines.append(line([h for h, _, _ in columns]))
    lines.append(line(["-" * w for w in widths], "-+-"))
    lines.extend(line(c) for c in cells)
    return "\n".join(lines)

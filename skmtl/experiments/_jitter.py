"""When AMTL pays off: AMTL against SMTL under each jitter distribution.

The paper's claim (AMTL reaches a target sooner than SMTL) rests on the delays
being random: a synchronous round waits for the slowest of T messages, while
an asynchronous task only waits for its own.  How much that saves depends on
the distribution of the delays.  With ``offset`` plus a jitter of mean
``offset``, the mean round trip is ``2 offset`` for every distribution; the
mean synchronous round is ``offset + E[max of T jitters]``.  Their quotient,
:func:`expected_wait_ratio`, is what AMTL/SMTL would be if both needed the
same number of updates per task; AMTL needs more (its updates are stale), so
its measured ratio is higher.  For exponential jitter the quotient is
``2 / (1 + H_T)`` (``H_T`` the harmonic number); constant delays give 1, and
AMTL is then slower than SMTL.  Stragglers (tasks with a larger offset) break
the equal-rate picture: SMTL waits for them every round, AMTL does not.

Everything runs on the simulated clock (virtual seconds, no compute time),
with the paper's forward-backward splitting, relaxation 1 and a staleness cap
of ``4 T``, passed explicitly so that the estimators' defaults do not move the
reproduction.
"""

import math

import numpy as np

from .._amtl import DelayModel
from ._library import compare_schedules, format_table

__all__ = [
    "JITTERS", "expected_wait_ratio", "format_jitter_table", "jitter_delay",
    "jitter_table", "paper_settings",
]  # fmt: skip

# Delay distributions, in the order of the tables: 'constant' is no jitter.
JITTERS = ("constant", "uniform", "lognormal", "exponential")
_LOGNORMAL_SIGMA = 0.5  # DelayModel's default shape
_VARIANTS = (
    ("SMTL", {"schedule": "sync", "relaxation": 1.0}),
    ("AMTL", {"schedule": "async", "relaxation": 1.0}),
)


def paper_settings(n_tasks):
    """The paper's AMTL settings, explicit: forward-backward, staleness cap 4T.

    Examples
    --------
    >>> from skmtl.experiments import paper_settings
    >>> paper_settings(5)
    {'splitting': 'forward-backward', 'max_staleness': 20}
    """
    return {"splitting": "forward-backward", "max_staleness": 4 * int(n_tasks)}


def _check_jitter(jitter):
    if jitter not in JITTERS:
        raise ValueError(f"jitter must be one of {JITTERS}; got {jitter!r}.")


def jitter_delay(
    jitter, offset=5.0, n_tasks=None, *, stragglers=0, straggler_factor=10.0
):
    """``offset`` plus a jitter of mean ``offset`` from the named distribution.

    'constant' has no jitter (every message takes ``offset``); 'uniform' draws
    from ``[0, 2 offset]``; 'lognormal' has shape 0.5; 'exponential' is the
    paper's reading (:func:`paper_delay`).  The first ``stragglers`` tasks get
    ``straggler_factor`` times the offset (and so the same factor on their
    jitter's mean).

    Examples
    --------
    >>> from skmtl.experiments import jitter_delay
    >>> jitter_delay("uniform", 5.0)
    DelayModel(offset=5.0, jitter='uniform', scale=None)
    >>> jitter_delay("constant", 2.0, 3, stragglers=1).offset
    [20.0, 2.0, 2.0]
    """
    _check_jitter(jitter)
    kind = None if jitter == "constant" else jitter
    if stragglers == 0:
        return DelayModel(offset=float(offset), jitter=kind)
    if n_tasks is None or not 0 <= stragglers <= n_tasks:
        raise ValueError(
            f"stragglers must be between 0 and n_tasks; got {stragglers} for "
            f"n_tasks={n_tasks}."
        )
    offsets = np.full(n_tasks, float(offset))
    offsets[:stragglers] *= straggler_factor
    return DelayModel(offset=offsets.tolist(), jitter=kind)


def _expected_max_jitter(jitter, n_tasks):
    """``E[max of n_tasks jitters]`` for a jitter of mean 1."""
    T = int(n_tasks)
    if jitter == "constant":
        return 1.0
    if jitter == "exponential":
        return sum(1.0 / k for k in range(1, T + 1))
    if jitter == "uniform":  # on [0, 2]
        return 2.0 * T / (T + 1.0)
    from scipy import integrate, stats

    s = _LOGNORMAL_SIGMA
    dist = stats.lognorm(s, scale=math.exp(-0.5 * s * s))  # mean 1
    value, _ = integrate.quad(lambda x: 1.0 - dist.cdf(x) ** T, 0.0, np.inf)
    return float(value)


def expected_wait_ratio(jitter, n_tasks):
    """Mean round trip over the mean synchronous round, without stragglers.

    With ``offset + jitter`` (jitter of mean ``offset``) this is
    ``2 / (1 + E[max of T jitters] / offset)``: the AMTL/SMTL time ratio if
    both schedules needed the same updates per task.  For exponential jitter
    it is ``2 / (1 + H_T)``; for constant delays it is 1.

    Examples
    --------
    >>> from skmtl.experiments import expected_wait_ratio
    >>> round(expected_wait_ratio("exponential", 10), 3)
    0.509
    >>> expected_wait_ratio("constant", 10)
    1.0
    >>> round(expected_wait_ratio("uniform", 10), 3)
    0.71
    """
    _check_jitter(jitter)
    if int(n_tasks) < 1:
        raise ValueError(f"n_tasks must be >= 1; got {n_tasks}.")
    return 2.0 / (1.0 + _expected_max_jitter(jitter, n_tasks))


def jitter_table(
    n_tasks=(5, 10, 15), jitters=JITTERS, *, stragglers=(0,), offset=5.0,
    seeds=(0, 1, 2), rel_gap=1e-4, tol=1e-7, problem_kwargs=None, progress=None,
    **run_kwargs,
):  # fmt: skip
    """AMTL/SMTL time to target under each jitter distribution and straggler count.

    For every distribution, number of stragglers (10x offset) and ``T``:
    :func:`compare_schedules` of SMTL and AMTL (relaxation 1, the paper's
    forward-backward splitting, staleness cap 4T) on the paper's synthetic
    problem, on the simulated clock, one side-by-side comparison per seed.

    Parameters
    ----------
    n_tasks : sequence of int
        Values of T.
    jitters : sequence of str
        Names from :data:`JITTERS`.
    stragglers : sequence of int
        Numbers of straggling tasks (0: none).
    offset, seeds, rel_gap, tol
        Delay offset (virtual seconds), one comparison per seed, target
        relative objective gap, and the residual at which a run stops.
    problem_kwargs : dict or None
        Passed to :func:`synthetic_problem`.
    progress : callable(str) or None
        Called with a line after every cell.
    **run_kwargs
        Passed to every run (they override :func:`paper_settings`).

    Returns
    -------
    rows : list of dict
        One per (jitter, stragglers, T): ``jitter``, ``stragglers``, ``T``,
        ``amtl`` and ``smtl`` (median time to target, virtual seconds),
        ``ratio`` (median over seeds of the per-seed AMTL/SMTL ratio; NaN if
        a run missed the target), ``wait`` (:func:`expected_wait_ratio`, None
        with stragglers), ``updates`` (median AMTL over median SMTL updates
        to target), ``reached`` (seeds whose two runs both reached it) and
        ``n_seeds``.

    Examples
    --------
    >>> from skmtl.experiments import jitter_table
    >>> rows = jitter_table((3,), ("constant", "exponential"), seeds=(0,),
    ...                     problem_kwargs=dict(n_samples=20, n_features=5, rank=1))
    >>> [(r["jitter"], r["T"], r["reached"]) for r in rows]
    [('constant', 3, 1), ('exponential', 3, 1)]
    """
    for jitter in jitters:
        _check_jitter(jitter)
    rows, cells, done = [], len(jitters) * len(stragglers) * len(n_tasks), 0
    for jitter in jitters:
        for k in stragglers:
            for T in n_tasks:
                delay = jitter_delay(jitter, offset, T, stragglers=k)
                cmp = compare_schedules(
                    T, variants=_VARIANTS, ratios=(("AMTL", "SMTL"),), delay=delay,
                    seeds=seeds, rel_gap=rel_gap, problem_kwargs=problem_kwargs,
                    tol=tol, **{**paper_settings(T), **run_kwargs},
                )  # fmt: skip
                v = cmp["variants"]
                rows.append(
                    {
                        "jitter": jitter,
                        "stragglers": k,
                        "T": T,
                        "amtl": v["AMTL"]["time"],
                        "smtl": v["SMTL"]["time"],
                        "ratio": cmp["ratios"]["AMTL/SMTL"],
                        "wait": None if k else expected_wait_ratio(jitter, T),
                        "updates": v["AMTL"]["updates"] / v["SMTL"]["updates"],
                        "reached": sum(
                            a["reached"] and b["reached"]
                            for a, b in zip(
                                v["AMTL"]["runs"], v["SMTL"]["runs"], strict=True
                            )
                        ),
                        "n_seeds": len(seeds),
                    }
                )
                done += 1
                if progress is not None:
                    progress(
                        f"  [{done}/{cells}] {jitter} jitter, {k} straggler(s), "
                        f"T = {T}: AMTL/SMTL {rows[-1]['ratio']:.2f}"
                    )
    return rows


def format_jitter_table(rows):
    """The rows of :func:`jitter_table` as a text table."""
    table = [
        {**r, "reached": f"{r['reached']}/{r['n_seeds']}", "faster": _verdict(r)}
        for r in rows
    ]
    return format_table(
        table,
        [
            ("jitter", "jitter", "s"),
            ("stragglers", "stragglers", "d"),
            ("T", "T", "d"),
            ("AMTL", "amtl", ".0f"),
            ("SMTL", "smtl", ".0f"),
            ("AMTL/SMTL", "ratio", ".2f"),
            ("wait ratio", "wait", ".2f"),
            ("updates A/S", "updates", ".2f"),
            ("reached", "reached", "s"),
            ("faster", "faster", "s"),
        ],
    )


def _verdict(row):
    ratio = row["ratio"]
    if not np.isfinite(ratio):
        return "n/a"
    return "AMTL" if ratio < 1 else "SMTL" if ratio > 1 else "tie"

"""The data form against the sample form of a squared-loss fit: a short race.

The cost model (:func:`skmtl.datafits._linalg.form_costs`) knows the setup
and per-iteration flops of each form; what it cannot know is how many
iterations FISTA needs on the data form: 35 on Gaussian data at T = 1000,
d = 200 (where it beats ADMM in sample space, whose setup is a 9 n_t^3
eigendecomposition per task), 140 with columns scaled 1..100 and 360 at
T = 100, d = 5000 (where ADMM wins), about 47,000 on raw School.  ADMM with
exact solves depends far less on the conditioning.

So when 'auto' chose the sample form and FISTA could still win by more than
a lost probe costs (its break-even iteration count,
:func:`break_even_iterations`, is at least ``RACE_MIN_ITERS``), the fit
starts with FISTA on the data form, checks its certified gap at iterations
``PROBE_FIRST`` and ``PROBE_SECOND``, and extrapolates the gap's geometric
decay (:func:`predict_remaining`).  It goes on with FISTA (nothing is lost:
the probe is FISTA's own first iterations) while the predicted remaining
FISTA iterations cost less than a whole ADMM solve in sample space;
otherwise it switches to ADMM from ADMM's own start (a warm start from the
probe's iterate measured no better), having lost ``PROBE_SECOND`` FISTA
iterations and the eigenvalues of the kernels (the kernels themselves, which
gave FISTA its Lipschitz constants, are handed to the sample form).  The
rule is re-evaluated at every later gap check, so a FISTA run that slows
down still switches.
"""

import math

import numpy as np

from ..datafits._linalg import data_sizes, form_costs

__all__ = ["break_even_iterations", "predict_remaining", "race_squared"]

# ADMM iterations assumed for the sample form: 24 (T = 1000, d = 200,
# Gaussian), 45 (columns scaled 1..100), 152 (T = 100, d = 5000); a low
# guess favours ADMM, whose count varies less than FISTA's.
ADMM_EXPECTED = 30
# The gap checks of the probe; FISTA checks every PROBE_SECOND afterwards.
PROBE_FIRST = 5
PROBE_SECOND = 10
# FISTA's fewest iterations to a certified 1e-6 gap on the best-conditioned
# case measured (Gaussian, T = 1000, d = 200: 35 with checks every 5).
FISTA_BEST = 40
# A race only where the best plausible FISTA beats the sample form by more
# than a lost probe costs: break even at least FISTA_BEST + PROBE_SECOND (63
# at T = 1000, d = 200: race; 39.5 at T = 100, d = 5000: the sample form at
# once, where FISTA needs 360 iterations and a probe would cost ~5 %).
RACE_MIN_ITERS = FISTA_BEST + PROBE_SECOND


def break_even_iterations(costs, exact="sample"):
    """FISTA iterations on the data form that cost as much as the ``exact``
    form's ADMM solve (setup + ``ADMM_EXPECTED`` iterations).

    ``costs`` is ``form_costs(..., per_iteration=True)``. Returns
    ``(before, after)``: counted from scratch (the data form's setup, the
    Lipschitz constants, included) and once FISTA has started (its setup
    sunk), the figure the race compares the remaining iterations with.
    """
    setup_x, iter_x = costs[exact]
    setup_d, iter_d = costs["data"]
    exact_total = setup_x + ADMM_EXPECTED * iter_x
    return (exact_total - setup_d) / iter_d, exact_total / iter_d


def predict_remaining(checks, tol):
    """FISTA iterations still needed to reach ``tol``, from its gap checks.

    ``checks`` is a list of ``(iteration, relative gap)``; the gap is taken to
    decay geometrically at its average rate since the first check (the gap of
    restarted FISTA is not monotone, so two neighbouring checks can mislead).
    Returns ``inf`` when the gap has not decreased.
    """
    if len(checks) < 2:
        return math.inf
    (i0, g0), (i1, g1) = checks[0], checks[-1]
    if g1 <= tol:
        return 0.0
    if not (g1 < g0 and i1 > i0 and g1 > 0):
        return math.inf
    rate = math.log(g0 / g1) / (i1 - i0)  # per iteration
    return math.log(g1 / tol) / rate


def should_switch(checks, tol, after):
    """Whether to leave FISTA for ADMM at this check (see the module)."""
    return len(checks) >= 2 and predict_remaining(checks, tol) > after


def race_costs(datafit):
    """``form_costs(per_iteration=True)`` of a squared-loss data-fit."""
    shared = bool(datafit._shared_gram)
    sizes, _, nnz = data_sizes(datafit.blocks, shared)
    return form_costs(sizes, datafit.n_features, nnz, shared=shared, per_iteration=True)


def wants_race(datafit):
    """True for an 'auto' sample-form data-fit where FISTA may still win."""
    if getattr(datafit, "form", None) != "sample" or not datafit.auto_form:
        return False
    if datafit._shared_gram:  # one kernel for all tasks: the setup is cheap
        return False
    if datafit.race_winner == "sample":  # an earlier solve (a path) switched
        return False
    before, _ = break_even_iterations(race_costs(datafit))
    return before >= RACE_MIN_ITERS


def race_squared(datafit, alpha, *, penalty, W0=None, tol, max_iter, verbose=0):
    """FISTA on the data form, switching to sample-space ADMM when predicted
    slower (see the module). The result's ``info['race']`` says which won and
    after how many FISTA iterations."""
    from ._admm_sample import task_kernels

    _, after = break_even_iterations(race_costs(datafit))
    # The Lipschitz constants from the kernels the sample form would form too:
    # a switch then costs only their eigendecompositions (no second pass).
    if datafit._lipschitz is None:
        datafit._kernels = task_kernels(datafit)
        datafit._lipschitz = np.maximum(_top_eigenvalues(datafit._kernels), 0.0)
    try:
        return _race(datafit, alpha, penalty, W0, tol, max_iter, verbose, after)
    finally:
        datafit._kernels = None  # FISTA won, or the sample form took them


def _top_eigenvalues(K):
    """The largest eigenvalue of each symmetric ``K[t]`` (LAPACK's ``syevr``
    on the top one only: 0.24 s for 1000 kernels of size 100, against 0.34 s
    for all eigenvalues)."""
    from scipy.linalg import eigh

    def top(k):
        n = k.shape[0]
        if n == 0:
            return 0.0
        last = [n - 1, n - 1]
        return eigh(k, eigvals_only=True, subset_by_index=last, driver="evr")[0]

    return np.array([top(k) for k in K])


def _race(datafit, alpha, penalty, W0, tol, max_iter, verbose, after):
    from ._admm import solve_squared
    from ._fista import fista

    checks = []

    def on_check(it, gap):
        checks.append((it, gap))
        # Too little budget left for ADMM to finish: FISTA keeps its progress.
        if int(max_iter) - it < ADMM_EXPECTED:
            return False
        return should_switch(checks, tol, after)

    res = fista(
        datafit,
        alpha,
        penalty=penalty,
        W0=W0,
        tol=tol,
        max_iter=max_iter,
        check_every=PROBE_SECOND,
        first_check=PROBE_FIRST,
        on_check=on_check,
        verbose=verbose,
    )
    if res.stop_reason != "switch":
        return res.with_info(race=("data", res.n_iter))
    if verbose > 0:
        print(
            f"[race] FISTA predicted {predict_remaining(checks, tol):.0f} more "
            f"iterations (break even {after:.0f}): ADMM in sample space"
        )
    datafit.race_winner = "sample"
    out = solve_squared(
        datafit,
        alpha,
        penalty=penalty,
        W0=W0,  # a warm start from the probe measured no better (52 vs 45)
        tol=tol,
        max_iter=int(max_iter) - res.n_iter,
        verbose=verbose,
    )
    # n_iter counts both solvers' iterations, as max_iter bounds them together.
    out = out._replace(n_iter=out.n_iter + res.n_iter)
    return out.with_info(race=("sample", res.n_iter))

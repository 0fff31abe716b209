"""Configuration of an AMTL run: every parameter checked and resolved once.

:func:`resolve_config` turns the estimators' parameters (strings such as
``'auto'``, numbers, delay models) into the concrete values that the engine
uses: the step ``eta``, the relaxation and its ARock bound, the staleness cap
and the stopping rules.  Nothing here runs the algorithm.
"""

from numbers import Real
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

from ..penalties._base import make_penalty
from ..solvers._gaps import alpha_max
from ._delays import NoDelay
from ._nodes import (
    SPLITTINGS,
    DynamicStep,
    arock_relaxation_bound,
    resolve_refresh_every,
)


def resolve_step_size(
    step_size, datafit, alpha, splitting="forward-backward", penalty=None
):
    """The step ``eta`` shared by the task steps and the threshold ``eta alpha``.

    Forward-backward: 'auto' is ``1 / L`` and a float must lie in
    ``(0, 2 / L)``.  Douglas-Rachford converges for any ``eta > 0``; 'auto' is
    ``alpha_max / (alpha L)`` (clipped to ``[1, 1e4] / L``), which put the
    threshold where the fewest epochs were needed on School and synthetic data
    for alpha from alpha_max / 1000 to alpha_max / 10.
    """
    L = float(np.max(datafit.lipschitz))
    L = L if L > 0 else 1.0
    if isinstance(step_size, str):
        if step_size != "auto":
            raise ValueError(f"step_size must be 'auto' or a float; got {step_size!r}.")
        if splitting == "forward-backward":
            return 1.0 / L
        amax = alpha_max(datafit, penalty)
        ratio = amax / alpha if alpha > 0 else np.inf
        return float(np.clip(ratio, 1.0, 1e4)) / L
    step = float(step_size)
    if not step > 0:
        raise ValueError(f"step_size must be > 0; got {step}.")
    if splitting == "forward-backward" and step >= 2.0 / L:
        raise ValueError(
            f"step_size must be in (0, 2/L) = (0, {2.0 / L:.4g}) for this data "
            f"(L = {L:.4g}, the largest per-task Lipschitz constant); got {step}."
        )
    return step


def resolve_max_staleness(max_staleness, n_tasks):
    if isinstance(max_staleness, str):
        if max_staleness != "auto":
            raise ValueError(
                f"max_staleness must be 'auto' or an int; got {max_staleness!r}."
            )
        # A cap of T throttles AMTL to nearly synchronous under the conservative
        # back-pressure rule; 4T lets tasks run ahead (measured, see the docs).
        return 4 * int(n_tasks)
    tau = int(max_staleness)
    if tau < 0:
        raise ValueError(f"max_staleness must be >= 0; got {max_staleness}.")
    return tau


def resolve_relaxation(relaxation, schedule, n_tasks, max_staleness):
    """The KM relaxation: 'auto', 'arock' (the guaranteed bound) or a float."""
    bound = arock_relaxation_bound(n_tasks, max_staleness)
    if isinstance(relaxation, str):
        if relaxation == "arock":
            return bound, bound
        if relaxation != "auto":
            raise ValueError(
                f"relaxation must be 'auto', 'arock' or a float; got {relaxation!r}."
            )
        # Plain KM for both schedules (SMTL is then exactly proximal gradient):
        # beyond ARock's bound, but it converged in every experiment together
        # with the staleness cap (see the docs); 'arock' gives the guarantee.
        return 1.0, bound
    value = float(relaxation)
    if not 0 < value < 2:
        raise ValueError(f"relaxation must be in (0, 2); got {relaxation}.")
    return value, bound


def batches_refresh(backend):
    """Whether ``refresh_every='auto'`` batches the prox refresh on ``backend``.

    True for the backends that run the task steps in the central thread
    (``backend.steps_in_central_thread``: the sequential one): there every
    refresh is paid in full between two updates, while a threaded central
    node batches by itself (it refreshes when it gets to it, the workers
    computing meanwhile), and the simulated backend models a central node
    whose work takes no time.
    """
    return bool(getattr(backend, "steps_in_central_thread", False))


def resolve_batch(refresh_every, n_tasks, max_staleness, backend=None):
    """Writes per published prox (``refresh_every``) for this backend.

    'auto' is ``T // 2`` (at least 1, at most ``max_staleness``) on the
    backends that :func:`batches_refresh`, 1 (a prox after every write)
    elsewhere; an int must lie in ``[1, max(1, max_staleness)]``.

    Examples
    --------
    >>> from skmtl._amtl import SequentialBackend, SimulatedBackend
    >>> resolve_batch("auto", 139, 556, SequentialBackend())
    69
    >>> resolve_batch("auto", 139, 556, SimulatedBackend())
    1
    >>> resolve_batch(5, 139, 556, SimulatedBackend())
    5
    """
    tau = resolve_max_staleness(max_staleness, n_tasks)
    if isinstance(refresh_every, str) and refresh_every == "auto":
        if not batches_refresh(backend):
            return 1
    return resolve_refresh_every(refresh_every, n_tasks, tau)


class AMTLConfig(NamedTuple):
    """The resolved parameters of one run (see :func:`resolve_config`)."""

    schedule: str
    splitting: str
    penalty: object
    step_size: float
    relaxation: float
    relaxation_bound: float
    max_staleness: int
    refresh_every: int
    dynamic_step: object  # DynamicStep or None
    delay_model: object
    max_epochs: int
    max_time: float | None
    tol: float
    rng: np.random.RandomState

    @property
    def synchronous(self):
        return self.schedule == "sync"


def resolve_config(
    datafit,
    alpha,
    *,
    schedule="async",
    splitting="forward-backward",
    step_size="auto",
    relaxation="auto",
    max_staleness="auto",
    dynamic_step=None,
    delay_model=None,
    max_epochs=1000,
    max_time=None,
    tol=1e-6,
    random_state=None,
    penalty=None,
    refresh_every="auto",
    backend=None,
):
    """Check and resolve the parameters of :func:`~skmtl._amtl._engine.run_amtl`.

    ``backend`` only decides what ``refresh_every='auto'`` means
    (:func:`resolve_batch`).
    """
    if schedule not in ("async", "sync"):
        raise ValueError(f"schedule must be 'async' or 'sync'; got {schedule!r}.")
    if splitting not in SPLITTINGS:
        raise ValueError(f"splitting must be one of {SPLITTINGS}; got {splitting!r}.")
    T = datafit.n_tasks
    penalty = make_penalty(penalty)
    step = resolve_step_size(step_size, datafit, alpha, splitting, penalty)
    tau = resolve_max_staleness(max_staleness, T)
    relax, bound = resolve_relaxation(relaxation, schedule, T, tau)
    refresh = resolve_batch(refresh_every, T, tau, backend)
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, (int, np.integer)):
        raise ValueError(f"max_epochs must be an int; got {max_epochs!r}.")
    if max_time is not None and not (isinstance(max_time, Real) and max_time > 0):
        raise ValueError(f"max_time must be None or > 0 seconds; got {max_time!r}.")
    delay_model = NoDelay() if delay_model is None else delay_model
    if hasattr(delay_model, "check"):  # per-task sizes must match T
        delay_model.check(T)
    if dynamic_step is True:
        dynamic_step = DynamicStep()
    return AMTLConfig(
        schedule=schedule,
        splitting=splitting,
        penalty=penalty,
        step_size=step,
        relaxation=relax,
        relaxation_bound=bound,
        max_staleness=tau,
        refresh_every=refresh,
        dynamic_step=dynamic_step or None,
        delay_model=delay_model,
        max_epochs=max_epochs,
        max_time=max_time,
        tol=tol,
        rng=check_random_state(random_state),
    )

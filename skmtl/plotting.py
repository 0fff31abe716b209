"""Plotting helpers (need matplotlib: ``pip install skmtl[plot]``)."""

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib; install it with `pip install skmtl[plot]`."
        ) from exc
    return plt


def convergence_curve(estimator, *, x="time", y="objective", reference=None):
    """The convergence curve of a fitted estimator as two arrays.

    Parameters
    ----------
    estimator : fitted skmtl estimator
        Its ``objective_history_`` is read: a structured array (asynchronous
        estimators, one row per epoch) or a plain array of objective values
        (centralized estimators, one per convergence check).
    x : {'time', 'n_updates', 'check'}, default='time'
        Horizontal axis; only 'check' exists for centralized estimators.
    y : {'objective', 'residual'}, default='objective'
        Vertical axis ('residual': asynchronous estimators only).
    reference : float, default=None
        With ``y='objective'``, plot the relative gap ``(F - reference) /
        |reference|`` instead of ``F`` (e.g. the centralized optimum).

    Returns
    -------
    xs, ys : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import AsyncTraceNormMTLRegressor
    >>> from skmtl.plotting import convergence_curve
    >>> rng = np.random.RandomState(0)
    >>> X, Y = rng.randn(40, 3), rng.randn(40, 2)
    >>> est = AsyncTraceNormMTLRegressor(alpha=0.1, backend="simulated").fit(X, Y)
    >>> xs, ys = convergence_curve(est, x="n_updates")
    >>> bool(np.all(np.diff(xs) > 0)), xs.shape == ys.shape
    (True, True)
    """
    hist = np.asarray(estimator.objective_history_)
    if hist.dtype.names is None:
        if x != "check" and x != "time":
            raise ValueError(
                f"x={x!r} needs an asynchronous estimator; centralized histories "
                "have one value per convergence check (use x='check')."
            )
        if y != "objective":
            raise ValueError("A centralized history holds objective values only.")
        xs, ys = np.arange(1, hist.size + 1, dtype=float), hist.astype(float)
    else:
        if x not in ("time", "n_updates", "check"):
            raise ValueError(f"x must be 'time', 'n_updates' or 'check'; got {x!r}.")
        if y not in ("objective", "residual"):
            raise ValueError(f"y must be 'objective' or 'residual'; got {y!r}.")
        xs = np.arange(1, len(hist) + 1, dtype=float) if x == "check" else hist[x]
        ys = hist[y].astype(float)
        keep = np.isfinite(ys)  # thinned snapshots have no objective
        xs, ys = np.asarray(xs, dtype=float)[keep], ys[keep]
    if reference is not None and y == "objective":
        ys = (ys - reference) / max(abs(reference), np.finfo(float).tiny)
    return xs, ys


def plot_convergence(
    estimators,
    *,
    labels=None,
    x="time",
    y="objective",
    reference=None,
    ax=None,
    log=True,
):
    """Plot convergence curves of fitted estimators on one axis.

    Parameters
    ----------
    estimators : estimator or list of estimators
        Fitted skmtl estimators (see :func:`convergence_curve`).
    labels : list of str, default=None
        Legend entries; default: the class names.
    x, y, reference :
        See :func:`convergence_curve`.
    ax : matplotlib Axes, default=None
        Where to draw; default: a new figure.
    log : bool, default=True
        Logarithmic vertical axis.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skmtl import AsyncTraceNormMTLRegressor
    >>> from skmtl.plotting import plot_convergence
    >>> rng = np.random.RandomState(0)
    >>> X, Y = rng.randn(40, 3), rng.randn(40, 2)
    >>> runs = [AsyncTraceNormMTLRegressor(alpha=0.1, backend="simulated",
    ...                                    schedule=s).fit(X, Y)
    ...         for s in ("async", "sync")]
    >>> ax = plot_convergence(runs, labels=["AMTL", "SMTL"], x="n_updates",
    ...                       y="residual")
    >>> [line.get_label() for line in ax.get_lines()]
    ['AMTL', 'SMTL']
    """
    plt = _pyplot()
    if not isinstance(estimators, (list, tuple)):
        estimators = [estimators]
    if labels is None:
        labels = [type(e).__name__ for e in estimators]
    if len(labels) != len(estimators):
        raise ValueError(
            f"{len(labels)} labels for {len(estimators)} estimators; give one each."
        )
    if ax is None:
        _, ax = plt.subplots()
    for est, label in zip(estimators, labels, strict=True):
        xs, ys = convergence_curve(est, x=x, y=y, reference=reference)
        ax.plot(xs, ys, label=label)
    if log:
        ax.set_yscale("log")
    names = {"time": "time (s)", "n_updates": "task updates", "check": "check"}
    ax.set_xlabel(names[x])
    if y == "objective" and reference is not None:
        ax.set_ylabel("relative objective gap")
    else:
        ax.set_ylabel(y)
    ax.legend()
    return ax

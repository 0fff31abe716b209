"""Fit on a Dask cluster with data that stay on the workers.

:func:`fit_from_loaders` fits an asynchronous estimator
(:class:`~skmtl.AsyncTraceNormMTLRegressor` or
:class:`~skmtl.AsyncTraceNormMTLClassifier` with ``backend='dask'``) from
per-task *loader* callables that run on the workers: each task node calls the
loaders of its tasks where it lives, validates what they return there, and
keeps the rows.  The client only ever sees the model columns, per-task
summaries (Lipschitz constants, intercepts, loss values) and each task's
labels; see the user guide page "Dask" for what this does and does not
protect.

:class:`DaskBackend` is the backend behind ``backend='dask'``, for settings
such as timeouts (pass an instance as ``backend``).  This module imports
without Dask installed; using it needs ``pip install skmtl[dask]``.
"""

import copy
from collections.abc import Mapping

import numpy as np

from ._amtl.backends.dask._backend import DaskBackend
from ._amtl.backends.dask._node import LoaderSpec, TaskLoaderError
from .utils._validation import FitData

__all__ = ["DaskBackend", "RemoteDatafit", "TaskLoaderError", "fit_from_loaders"]


class RemoteDatafit:
    """The data-fit protocol of the central loop, evaluated on the task nodes.

    Holds only what the nodes reported when they loaded their tasks (sizes,
    Lipschitz constants, the gradient and intercepts at zero, each task's
    labels); values, gradients and intercepts at a given model are computed
    remotely, one call per node.
    """

    def __init__(self, pool):
        self.pool = pool
        self.n_tasks = len(pool.node_of)
        widths = {}
        for node in pool.nodes:
            widths.setdefault(node.info["n_features"], []).extend(node.labels)
        if len(widths) > 1:
            raise ValueError(
                "The loaded tasks have different numbers of features: "
                + "; ".join(f"{d} for tasks {labs}" for d, labs in widths.items())
            )
        d = next(iter(widths))
        T = self.n_tasks
        self.n_features = d
        self.lipschitz = np.empty(T)
        self._G0 = np.empty((d, T))
        self.has_free_intercept = pool.nodes[0].info["has_free_intercept"]
        self._b0 = np.empty(T) if self.has_free_intercept else None
        self.classes = [None] * T
        self.n_samples = np.zeros(T, dtype=np.int64)
        for node in pool.nodes:
            info, idx = node.info, node.tasks
            self.lipschitz[idx] = info["lipschitz"]
            self._G0[:, idx] = info["gradient_at_zero"]
            if self._b0 is not None:
                self._b0[idx] = info["initial_intercept"]
            for t, cls, n in zip(idx, info["classes"], info["n_samples"], strict=True):
                self.classes[t] = cls
                self.n_samples[t] = n

    def initial_intercept(self):
        return None if self._b0 is None else self._b0.copy()

    def gradient_at_zero(self):
        return self._G0.copy()

    def _per_node(self, function, W, b):
        args = [
            (W[:, node.tasks], None if b is None else np.asarray(b)[node.tasks])
            for node in self.pool.nodes
        ]
        return zip(self.pool.nodes, self.pool.call_nodes(function, args), strict=True)

    def task_values(self, W, b=None):
        out = np.empty(self.n_tasks)
        for node, values in self._per_node("values", W, b):
            out[node.tasks] = values
        return out

    def value(self, W, b=None):
        return float(self.task_values(W, b).sum())

    def gradient(self, W, b=None):
        G = np.empty_like(W, dtype=float)
        gb = np.empty(self.n_tasks) if self.has_free_intercept else None
        for node, (g, gbn) in self._per_node("gradient", W, b):
            G[:, node.tasks] = g
            if gb is not None:
                gb[node.tasks] = gbn
        return G, gb

    def intercept(self, W, b=None):
        out = np.empty(self.n_tasks)
        for node, values in self._per_node("intercepts", W, b):
            out[node.tasks] = values
        return out


def _check_loaders(loaders):
    if not isinstance(loaders, Mapping) or len(loaders) == 0:
        raise ValueError(
            "loaders must be a non-empty dict {task label: callable returning "
            f"(X, y) or (X, y, sample_weight)}}; got {type(loaders).__name__}."
        )
    for label, loader in loaders.items():
        if not callable(loader):
            raise TypeError(
                f"The loader of task {label!r} is not callable "
                f"({type(loader).__name__})."
            )
    try:
        labels = sorted(loaders)
    except TypeError as exc:
        raise ValueError(
            f"The task labels must be of one sortable type ({exc})."
        ) from None
    return labels, [loaders[label] for label in labels]


def _resolve_backend(estimator, client):
    backend = estimator.backend
    if isinstance(backend, DaskBackend):
        backend = copy.copy(backend)
        backend.events = []
        if client is not None:
            backend.client = client
        return backend
    if backend != "dask":
        raise ValueError(
            "fit_from_loaders runs the task nodes on Dask: set backend='dask' (or "
            f"a DaskBackend instance) on the estimator; got backend={backend!r}."
        )
    return DaskBackend(
        client=estimator.client if client is None else client,
        n_jobs=estimator.n_jobs,
        reply_timeout=getattr(estimator, "task_timeout", 60.0),
    )


def fit_from_loaders(estimator, loaders, *, client=None):
    """Fit an asynchronous estimator on data loaded on the Dask workers.

    Each loader runs on the worker that will hold its task, so the raw rows
    never pass through the client; the fitted attributes are those of
    ``fit`` (``coef_``, ``intercept_``, ``tasks_`` = the sorted labels,
    ``classes_`` for a classifier, ``n_iter_``, ``objective_history_``,
    ``task_stats_``, ``events_``, ...); ``objective_history_`` is evaluated
    on the nodes after the run (one call per recorded epoch).  The model is
    then used as usual:
    with ``task_column=None``, ``predict(X)`` gives one column per task; with
    an int ``task_column``, X holds the task labels in that column.

    Parameters
    ----------
    estimator : AsyncTraceNormMTLRegressor or AsyncTraceNormMTLClassifier
        With ``backend='dask'`` (or a :class:`DaskBackend`); fitted in place.
    loaders : dict
        ``{task label: callable}``; each callable takes no argument and
        returns ``(X_t, y_t)`` or ``(X_t, y_t, sample_weight_t)`` for its
        task (arrays or sparse matrices).  Loaders are pickled to the workers
        and may run more than once (a task re-created after a worker failure
        loads again), so they should read data, not capture it.
    client : distributed.Client, str or None, default=None
        Overrides the estimator's ``client``; None with an estimator client
        of None starts a ``LocalCluster`` for the fit.

    Returns
    -------
    estimator : the fitted estimator

    Raises
    ------
    TaskLoaderError
        A loader raised on its worker (the message names the task).
    ValueError
        A loader returned invalid data (the message names the task).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import AsyncTraceNormMTLRegressor
    >>> from skmtl.distributed import fit_from_loaders
    >>> def load(seed):
    ...     def loader():  # runs on a worker: read a file, a database, ...
    ...         rng = np.random.RandomState(seed)
    ...         X = rng.randn(40, 5)
    ...         return X, X @ np.ones(5) + 0.1 * rng.randn(40)
    ...     return loader
    >>> est = AsyncTraceNormMTLRegressor(alpha=0.01, backend="dask")
    >>> fit_from_loaders(est, {"a": load(0), "b": load(1)})  # doctest: +SKIP
    AsyncTraceNormMTLRegressor(alpha=0.01, backend='dask')
    >>> est.coef_.shape, est.tasks_  # doctest: +SKIP
    ((2, 5), array(['a', 'b'], dtype='<U1'))
    """
    from .estimators._async import _AsyncMTL

    if not isinstance(estimator, _AsyncMTL):
        raise TypeError(
            "fit_from_loaders fits AsyncTraceNormMTLRegressor or "
            f"AsyncTraceNormMTLClassifier; got {type(estimator).__name__}."
        )
    estimator._validate_params()
    if isinstance(estimator.task_column, str):
        raise ValueError(
            "With loaders there are no column names: task_column must be None "
            f"or an int; got {estimator.task_column!r}."
        )
    if getattr(estimator, "task_monitor", None) is not None:
        raise ValueError(
            "task_monitor needs held-out rows in the client, which loaders do "
            "not provide; set task_monitor=None for fit_from_loaders."
        )
    labels, funcs = _check_loaders(loaders)
    backend = _resolve_backend(estimator, client)
    pool = backend.make_pool()
    pool.want_info = True
    try:
        T = len(labels)
        pool.connect(T)
        groups = np.array_split(np.arange(T), pool.n_nodes(T))
        pool.place(
            [
                LoaderSpec(
                    g.tolist(),
                    [labels[t] for t in g],
                    [funcs[t] for t in g],
                    estimator._loss,
                    estimator.fit_intercept,
                    estimator.loss_scaling,
                )
                for g in groups
            ],
            step=None,
        )
        datafit = RemoteDatafit(pool)
        _fit(estimator, datafit, labels)
    finally:
        pool.close()
    return estimator


def _fit(est, datafit, labels):
    """``fit`` after validation (:meth:`MTLBase._fit_datafit`), remote data-fit.

    The loaded tasks play the part of the validated data: their labels are
    ``tasks_``, ``y`` has one column per task in the shared design, and each
    task's labels come from its node.  ``_solve`` makes its own DaskBackend
    from the estimator's parameters; that backend adopts the loaded nodes
    (``datafit.pool``) instead of connecting.
    """
    T, d = datafit.n_tasks, datafit.n_features
    # What validate_data records in fit: the width of X (with the task column).
    est.n_features_in_ = d if est.task_column is None else d + 1
    est.__dict__.pop("feature_names_in_", None)
    data = FitData(
        blocks=None,
        tasks=np.asarray(labels),
        y_ndim=2 if est.task_column is None and T > 1 else 1,
        classes=datafit.classes,
    )
    est._fit_datafit(datafit, data)

"""Worker side of the Dask backend: the task node and how it gets its data.

A :class:`TaskNode` is a Dask actor: a long-lived object on one worker that
holds the data-fit of a group of tasks and answers one task step per call.
It is built from a *spec*, a small picklable recipe:

* :class:`BlocksSpec`: the tasks' rows, shipped once from the client (the
  in-memory ``fit(X, y)`` path);
* :class:`DatafitSpec`: a whole custom data-fit, shipped once;
* :class:`LoaderSpec`: per-task loader callables that run *on the worker*, so
  the raw data never pass through the client
  (:func:`skmtl.distributed.fit_from_loaders`).

Nothing here imports Dask: the module is plain Python that workers unpickle.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import _check_sample_weight, check_consistent_length

from ....datafits._losses import LogisticLoss, SquaredLoss, TaskBlocks
from ....utils._validation import _binary_targets
from ..._nodes import Read


class TaskLoaderError(RuntimeError):
    """A per-task loader raised on its worker (the message names the task)."""


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except Exception:  # not on a worker (tests, a plain call)
        return "this process"


def _nbytes(X):
    if sp.issparse(X):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(np.asarray(X).nbytes)


class BlocksSpec:
    """The rows of a group of tasks, shipped from the client once."""

    def __init__(self, tasks, labels, datafit_class, blocks, kwargs):
        self.tasks = list(tasks)
        self.labels = list(labels)
        self.datafit_class = datafit_class
        self.blocks = blocks
        self.kwargs = kwargs

    def build(self):
        local = {t: i for i, t in enumerate(self.tasks)}
        return self.datafit_class(self.blocks, **self.kwargs), local, {}


class DatafitSpec:
    """A whole data-fit of another type (tasks keep their global index)."""

    def __init__(self, tasks, labels, datafit):
        self.tasks = list(tasks)
        self.labels = list(labels)
        self.datafit = datafit

    def build(self):
        return self.datafit, {t: t for t in self.tasks}, {}


class LoaderSpec:
    """Per-task loaders, run on the worker; the loaded data are validated there."""

    def __init__(self, tasks, labels, loaders, loss, fit_intercept, loss_scaling):
        self.tasks = list(tasks)
        self.labels = list(labels)
        self.loaders = list(loaders)
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.loss_scaling = loss_scaling

    def build(self):
        classifier = self.loss == "logistic"
        Xs, ys, sws, classes = [], [], [], []
        for label, loader in zip(self.labels, self.loaders, strict=True):
            X, y, sw, cls = load_task(label, loader, classifier)
            Xs.append(X)
            ys.append(y)
            sws.append(sw)
            classes.append(cls)
        widths = {X.shape[1] for X in Xs}
        if len(widths) > 1:
            found = {lab: X.shape[1] for lab, X in zip(self.labels, Xs, strict=True)}
            raise ValueError(
                f"The loaded tasks have different numbers of features: {found}."
            )
        totals = np.array([s.sum() for s in sws])
        scales = totals if self.loss_scaling == "mean" else np.ones(len(Xs))
        blocks = TaskBlocks(Xs, ys, sws, scales, shared=False)
        if classifier:
            datafit = LogisticLoss(blocks, fit_intercept=self.fit_intercept)
        else:
            datafit = SquaredLoss(blocks, fit_intercept=self.fit_intercept)
        extra = {
            "classes": classes,
            "n_samples": [X.shape[0] for X in Xs],
            "data_bytes": sum(
                _nbytes(X) + y.nbytes + s.nbytes
                for X, y, s in zip(Xs, ys, sws, strict=True)
            ),
        }
        return datafit, {t: i for i, t in enumerate(self.tasks)}, extra


def load_task(label, loader, classifier):
    """Run one task's loader and validate what it returns (on the worker).

    Returns ``(X, y, sample_weight, classes)`` with ``X`` float64 (dense or
    CSR), ``y`` float64 (-1/+1 for a classifier) and ``classes`` the task's
    two labels (None for a regressor).
    """
    try:
        out = loader()
    except Exception as exc:
        raise TaskLoaderError(
            f"The loader of task {label!r} raised {type(exc).__name__}: {exc} "
            f"(on worker {_worker_address()})."
        ) from None
    if not isinstance(out, tuple | list) or len(out) not in (2, 3):
        raise ValueError(
            f"The loader of task {label!r} must return (X, y) or "
            f"(X, y, sample_weight); got {type(out).__name__}."
        )
    X, y = out[0], out[1]
    sw = out[2] if len(out) == 3 else None
    try:
        X = check_array(
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            input_name="X",
        )
        X = X.astype(np.float64).tocsr() if sp.issparse(X) else np.asarray(X, float)
        y = check_array(
            y, ensure_2d=False, dtype=None if classifier else np.float64, input_name="y"
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D; got shape {y.shape}.")
        check_consistent_length(X, y)
        sw = _check_sample_weight(sw, X, dtype=np.float64, ensure_non_negative=True)
        if not sw.sum() > 0:
            raise ValueError("no row has a positive sample weight.")
        classes = None
        if classifier:
            y, classes = _binary_targets(y, sw, label, "in its loaded data")
        y = np.ascontiguousarray(y, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"Task {label!r} (from its loader): {exc}") from None
    return X, y, sw, classes


class TaskNode:
    """A task node on a Dask worker: its tasks' data-fit and the task step.

    Parameters
    ----------
    spec : BlocksSpec, DatafitSpec or LoaderSpec
        Where the data come from.
    step : TaskStep or None
        What one activation computes (can be set later with :meth:`set_step`).
    """

    def __init__(self, spec, step=None):
        self.tasks = list(spec.tasks)
        self.labels = list(spec.labels)
        self.datafit, self.local, self.extra = spec.build()
        self.step_fn = step

    def set_step(self, step):
        self.step_fn = step

    def step(self, payload):
        """One activation: ``payload = (t, u, ub, v, vb)`` -> ``(z, zb)``."""
        t, u, ub, v, vb = payload
        return self.step_fn(self.datafit, self.local[t], Read(u, ub, -1, v, vb))

    # -- what the client needs when the data never leave the workers ---------
    def _columns(self, W, b):
        if b is None:
            return W, None
        return W, np.asarray(b, dtype=float)

    def info(self):
        """Per-task facts for the client: sizes, Lipschitz constants, labels."""
        df = self.datafit
        b0 = df.initial_intercept()
        return {
            "tasks": self.tasks,
            "n_features": int(df.n_features),
            "lipschitz": np.asarray(df.lipschitz, dtype=float),
            "has_free_intercept": bool(df.has_free_intercept),
            "initial_intercept": None if b0 is None else np.asarray(b0, float),
            "gradient_at_zero": np.asarray(df.gradient_at_zero(), dtype=float),
            **self.extra,
        }

    def values(self, W, b=None):
        """Data-fit value of each of the node's tasks at its columns ``W``."""
        return np.asarray(self.datafit.task_values(*self._columns(W, b)))

    def gradient(self, W, b=None):
        return self.datafit.gradient(*self._columns(W, b))

    def intercepts(self, W, b=None):
        return np.asarray(self.datafit.intercept(*self._columns(W, b)), dtype=float)

"""Batched task steps: several tasks' steps from one published prox at once.

When several queued activations read the same published snapshot (the
sequential backend's calls between two refreshes, a threaded worker that
takes the ready activations: all of them, its share of heavy steps, and at
most about 0.1 s of steps, see :class:`~.backends.ThreadingBackend`), their
steps are computed together:

* one read of the snapshot (:meth:`~skmtl._amtl._nodes.CentralNode.read_batch`)
  gives the tasks' prox columns and blocks of V as task-major rows
  (:class:`BatchRead`), all of the same version, so the staleness of every
  update is still exact (each one is applied as the write it is, see
  :meth:`~skmtl._amtl._engine.Schedule.apply_batch`);
* for the squared loss in Gram form the steps are array operations over the
  batch: the forward step ``u - eta (H_t u - q_t)`` and the Douglas-Rachford
  prox ``(H_t + I / eta)^{-1} (q_t + x / eta)`` with the inverses of all
  tasks computed once per step size (:class:`SquaredProxBatch`);
* any other data-fit (logistic, data form, a user's wrapper) runs its own
  per-task step in a loop, so it computes exactly what it did one task at a
  time (and a user's ``task_gradient`` is still called once per task).

The products are :func:`numpy.einsum` over rows (no BLAS; the batch's
matrices gathered for one call up to d = 64, one call per row above), so a
task's row does not depend on which other tasks share its batch: the
sequential backend gives the same run bit for bit whatever it batches.
"""

from typing import NamedTuple

import numpy as np

from ..datafits._losses import SquaredLoss

# Up to this d the batch's d x d matrices are gathered for one einsum call
# (a copy of B d^2 floats, cheaper than B calls); above it, one product per
# row (at d = 200 the gather cost more than the per-task loop). The choice
# depends on d only, so a row is computed alike in every batch of a fit.
_GATHER_MAX_D = 64
# Largest stack of per-task inverses (T d^2 floats) kept by SquaredProxBatch.
_MAX_INVERSE_BYTES = 256 << 20


class BatchRead(NamedTuple):
    """What a batch of task nodes receives from one snapshot: the prox rows
    ``U`` (one per task, ``B x d``), intercepts, the version and (for
    Douglas-Rachford) the tasks' rows of V."""

    tasks: list
    U: np.ndarray
    ub: np.ndarray | None
    version: int
    V: np.ndarray | None = None
    vb: np.ndarray | None = None


class ReplyBatch(NamedTuple):
    """The answers of a batch of task nodes, all computed from one read."""

    tasks: list
    Z: np.ndarray  # B x d, row i is task tasks[i]'s z
    zb: np.ndarray | None
    version: int
    round_trips: np.ndarray

    def replies(self):
        """The batch as single replies (in order)."""
        from .backends._base import Reply

        zb = [None] * len(self.tasks) if self.zb is None else self.zb.tolist()
        return [
            Reply(t, self.Z[i], zb[i], self.version, float(self.round_trips[i]))
            for i, t in enumerate(self.tasks)
        ]


def gram_form(datafit):
    """A Gram-form squared loss whose per-task steps are SquaredLoss's own
    (a subclass that overrides ``task_gradient`` or ``task_prox`` is called
    task by task, as it was written to be)."""
    cls, own = type(datafit), getattr(datafit, "__dict__", {})
    return (
        isinstance(datafit, SquaredLoss)
        and datafit.use_gram
        and cls.task_gradient is SquaredLoss.task_gradient
        and cls.task_prox is SquaredLoss.task_prox
        and "task_gradient" not in own  # nor patched on the instance
        and "task_prox" not in own
    )


def _rows(M, X, tasks=None):
    """Row ``i`` of the result is ``M_i @ X[i]``: ``M`` one matrix, or a stack
    of which row ``i`` uses ``M[tasks[i]]``."""
    if M.ndim == 2:
        return np.einsum("ij,bj->bi", M, X)
    if M.shape[-1] <= _GATHER_MAX_D:  # small matrices: one call on a copy
        return np.einsum("bij,bj->bi", M[tasks], X)
    out = np.empty_like(X)
    for i, t in enumerate(tasks):
        np.einsum("ij,j->i", M[t], X[i], out=out[i])
    return out


class SquaredProxBatch:
    """``(H_t + I / eta)^{-1}`` of every task of a Gram-form squared loss,
    computed once per step size and Gram (and dropped when they would take
    more than 256 MB: the per-task prox then serves)."""

    def __init__(self):
        self._key = None
        self._inv = None

    def inverses(self, datafit, step_size):
        H = datafit.H
        key = (id(H), float(step_size))
        if self._key != key or self._inv is None:
            if H.nbytes > _MAX_INVERSE_BYTES:
                return None
            d = H.shape[-1]
            A = H + np.eye(d) / step_size  # stacks broadcast the identity
            self._inv, self._key, self._H = np.linalg.inv(A), key, H
        return self._inv

    def __call__(self, datafit, tasks, X, step_size):
        """Rows ``prox_{eta l_t}(x_t)`` of the tasks, or None (not batched)."""
        inv = self.inverses(datafit, step_size)
        if inv is None:
            return None
        rhs = datafit.Q[:, tasks].T + X / step_size
        return _rows(inv, rhs, tasks)

    def __getstate__(self):  # a Dask node recomputes its inverses
        return {"_key": None, "_inv": None}


def forward_batch(datafit, tasks, read, step_size, one_step, on_task=None):
    """Forward steps of a batch: rows ``Z`` and intercepts ``zb``."""
    if gram_form(datafit):
        G = _rows(datafit.H, read.U, tasks) - datafit.Q[:, tasks].T
        return read.U - step_size * G, None
    return _loop(read.U, read.ub, tasks, one_step, on_task)


def douglas_rachford_batch(
    datafit, tasks, read, step_size, prox_batch, one_prox, on_task=None
):
    """Douglas-Rachford steps of a batch: ``z = v + prox(2u - v) - u`` per row."""
    X = 2.0 * read.U - read.V
    xb = None if read.ub is None else 2.0 * read.ub - read.vb
    Y = prox_batch(datafit, tasks, X, step_size) if gram_form(datafit) else None
    yb = None
    if Y is None:
        Y, yb = _loop(X, xb, tasks, one_prox, on_task)
    Z = read.V + (Y - read.U)
    zb = None if yb is None else read.vb + (yb - read.ub)
    return Z, zb


def _loop(X, xb, tasks, one, on_task):
    """Rows ``one(t, x_t, xb_t)`` (and intercepts) of each task in turn."""
    Z = np.empty_like(X)
    zb = None
    for i, t in enumerate(tasks):
        if on_task is not None:
            on_task(t)
        z, b = one(t, X[i], None if xb is None else float(xb[i]))
        Z[i] = z
        if b is not None:
            if zb is None:
                zb = np.empty(len(tasks))
            zb[i] = b
    return Z, zb

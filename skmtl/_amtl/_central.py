"""The central node of AMTL: the auxiliary matrix V, its prox, and versions.

The central node holds V (d x T), NOT the model: the model is
``W = prox_{eta alpha}(V)`` for the penalty (by default the trace norm), kept
current by the penalty's incremental prox.  Task nodes read columns of the last
published prox ``P`` together with the version of V it was computed from; every write
(one task's KM update) makes a new version.  The published state is an
immutable snapshot replaced as a whole, so a reader in another thread always
sees a ``P`` and a version that belong together.

Batched refresh
---------------
By default the prox is republished after every write (``refresh_every=1``).
With ``refresh_every=k > 1`` (or 'auto': ``T // 8`` for ``T >= 16``, clipped
to the staleness cap) :meth:`CentralNode.refresh` publishes only once ``k``
writes have accumulated, so one prox serves ``k`` updates.  The staleness stays
exact: every read carries the version of the snapshot it came from, and the
engine measures staleness and applies back-pressure from those versions (a
snapshot that lags by ``k - 1 <= tau - 1`` versions still lets the engine
activate a task when nothing is outstanding, so no deadlock).  The update of a
task's block stays anchored at the current ``v_t`` (``v_t <- v_t + relaxation
* (z - v_t)``, as in the unbatched node): a task that reads a snapshot older
than its own last write then recomputes a step it already took instead of
taking it twice (ARock's form ``v_t + relaxation * (z - v_hat_t)`` did exactly
that and stalled at a 1e-3 residual with relaxation 1 on the simulated
backend).

The options reach the node through its constructor, whose defaults come from
:func:`central_node_options` (a context variable, so they apply to the fits
started in that context only)::

    with central_node_options(refresh_every="auto", max_staleness=4 * T):
        est.fit(X, y)
"""

import contextlib
import contextvars
import operator
from typing import NamedTuple

import numpy as np

from ..penalties._base import make_penalty
from ._update import km_update


class Snapshot(NamedTuple):
    """The published state: ``P = prox(V)`` (d x T), free intercepts ``b``, the
    version of V, and V itself (only kept for Douglas-Rachford reads)."""

    P: np.ndarray
    b: np.ndarray | None
    version: int
    V: np.ndarray | None = None


class Read(NamedTuple):
    """What a task node receives: its prox column and intercept, the read
    version, and (Douglas-Rachford only) its own block of V."""

    u: np.ndarray
    ub: float | None
    version: int
    v: np.ndarray | None = None
    vb: float | None = None


_OPTIONS = contextvars.ContextVar("skmtl_central_node_options", default=None)


@contextlib.contextmanager
def central_node_options(*, refresh_every=1, max_staleness=None):
    """Defaults of :class:`CentralNode` for the fits started in this context.

    Parameters
    ----------
    refresh_every : int or 'auto', default=1
        Writes per published prox (see the module docstring).
    max_staleness : int or None, default=None
        The engine's staleness cap ``tau``; 'auto' is clipped to it.  None means
        ``4 * T`` (the engine's default cap).
    """
    token = _OPTIONS.set(
        {"refresh_every": refresh_every, "max_staleness": max_staleness}
    )
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def resolve_refresh_every(refresh_every, n_tasks, max_staleness=None):
    """Writes per published prox: an int >= 1, or 'auto'.

    'auto' is ``T // 8`` for ``T >= 16`` (else 1), at most ``max_staleness``
    (default ``4 T``).  An int larger than ``max(1, max_staleness)`` is refused:
    the engine could then wait forever for a fresh prox.

    Examples
    --------
    >>> resolve_refresh_every("auto", 139), resolve_refresh_every("auto", 10)
    (17, 1)
    >>> resolve_refresh_every("auto", 1000, max_staleness=50)
    50
    """
    tau = 4 * int(n_tasks) if max_staleness is None else int(max_staleness)
    bad = f"refresh_every must be 'auto' or a positive int; got {refresh_every!r}."
    if isinstance(refresh_every, str):
        if refresh_every != "auto":
            raise ValueError(bad)
        k = n_tasks // 8 if n_tasks >= 16 else 1
        return max(1, min(k, tau))
    try:
        k = operator.index(refresh_every)
    except TypeError:
        raise ValueError(bad) from None
    if k < 1:
        raise ValueError(f"refresh_every must be >= 1; got {k}.")
    if k > max(1, tau):
        raise ValueError(
            f"refresh_every={k} exceeds the staleness cap max_staleness={tau}: the "
            "engine could wait forever for a fresh prox."
        )
    return k


class CentralNode:
    """State of the central node; every method runs in the central loop only,
    except :meth:`read`, which any thread may call.

    ``refresh_every`` and ``max_staleness`` default to the values of
    :func:`central_node_options` (1 and None outside it).
    """

    def __init__(
        self,
        V0,
        b0,
        threshold,
        *,
        publish_v=False,
        penalty=None,
        refresh_every=None,
        max_staleness=None,
    ):
        options = _OPTIONS.get() or {}
        if refresh_every is None:
            refresh_every = options.get("refresh_every", 1)
        if max_staleness is None:
            max_staleness = options.get("max_staleness")
        self.threshold = float(threshold)
        self.publish_v = publish_v
        self.penalty = make_penalty(penalty)
        self._prox = self.penalty.incremental_prox(V0, self.threshold)
        self.refresh_every = resolve_refresh_every(
            refresh_every, self._prox.V.shape[1], max_staleness
        )
        self.b = None if b0 is None else np.array(b0, dtype=float)
        self.version = 0
        self.n_publications = 0
        self.snapshot = None
        self.refresh(force=True)

    @property
    def V(self):
        return self._prox.V

    @property
    def prox_version(self):
        return self.snapshot.version

    def read(self, t):
        """Column ``t`` of the published prox (safe from any thread)."""
        snap = self.snapshot  # one atomic reference read
        ub = None if snap.b is None else float(snap.b[t])
        if not self.publish_v:
            return Read(snap.P[:, t].copy(), ub, snap.version)
        # The intercept is not under the trace norm: its prox is the identity.
        return Read(snap.P[:, t].copy(), ub, snap.version, snap.V[:, t].copy(), ub)

    def write(self, t, z, zb, relaxation):
        """KM update of task ``t``'s block; returns ``||z - v_t||^2``.

        The step is anchored at ``v_t`` (the central block), never at the read
        ``u``, and V is never overwritten by its prox.
        """
        v = np.array(self._prox.V[:, t])
        sq = float(np.dot(z - v, z - v))
        self._prox.set_column(t, km_update(v, z, relaxation))
        if zb is not None:
            sq += (zb - self.b[t]) ** 2
            self.b[t] += relaxation * (zb - self.b[t])
        self.version += 1
        return sq

    def refresh(self, force=False):
        """Publish the prox of the current V when due; return the snapshot.

        Due when ``refresh_every`` writes have accumulated since the last
        publication (every write by default), or when ``force`` is true.
        """
        snap = self.snapshot
        if snap is not None and snap.version == self.version:
            return snap
        if (
            snap is not None
            and not force
            and (self.version - snap.version < self.refresh_every)
        ):
            return snap
        P = np.array(self._prox.refresh())
        b = None if self.b is None else self.b.copy()
        V = np.array(self._prox.V) if self.publish_v else None
        self.snapshot = Snapshot(P, b, self.version, V)
        self.n_publications += 1
        return self.snapshot

    def final_model(self):
        """The backward step on the final V, computed exactly (not incrementally)."""
        W = self.penalty.prox(np.array(self._prox.V), self.threshold)
        return W, (None if self.b is None else self.b.copy())

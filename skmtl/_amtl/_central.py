"""The central node of AMTL: the auxiliary matrix V, its prox, and versions.

The central node holds V (d x T), NOT the model: the model is
``W = prox_{eta alpha}(V)`` for the penalty (by default the trace norm), kept
current by the penalty's incremental prox.  Task nodes read columns of the last
published prox ``P`` together with the version of V it was computed from; every write
(one task's KM update) makes a new version.  The published state is an
immutable snapshot replaced as a whole, so a reader in another thread always
sees a ``P`` and a version that belong together.
"""

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


class CentralNode:
    """State of the central node; every method runs in the central loop only,
    except :meth:`read`, which any thread may call."""

    def __init__(self, V0, b0, threshold, *, publish_v=False, penalty=None):
        self.threshold = float(threshold)
        self.publish_v = publish_v
        self.penalty = make_penalty(penalty)
        self._prox = self.penalty.incremental_prox(V0, self.threshold)
        self.b = None if b0 is None else np.array(b0, dtype=float)
        self.version = 0
        self.snapshot = None
        self.refresh()

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
        if snap.V is None:
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

    def refresh(self):
        """Publish the prox of the current V (no-op when already current)."""
        if self.snapshot is not None and self.snapshot.version == self.version:
            return self.snapshot
        P = np.array(self._prox.refresh())
        b = None if self.b is None else self.b.copy()
        V = np.array(self._prox.V) if self.publish_v else None
        self.snapshot = Snapshot(P, b, self.version, V)
        return self.snapshot

    def final_model(self):
        """The backward step on the final V, computed exactly (not incrementally)."""
        W = self.penalty.prox(np.array(self._prox.V), self.threshold)
        return W, (None if self.b is None else self.b.copy())

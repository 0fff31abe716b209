"""The penalty protocol: what a solver or the AMTL engine asks of a penalty.

A penalty here is a *norm* ``Omega`` of the d x T weight matrix ``W`` (one
column per task), so that the problem is

.. math::

    \\min_{W, b} \\; f(W, b) + \\alpha \\, \\Omega(W) .

Everything the solvers need follows from four operations, in the spirit of
skglm's penalties:

* :meth:`Penalty.value` -- ``Omega(W)``;
* :meth:`Penalty.prox` -- ``argmin_P 0.5 ||P - V||_F^2 + theta Omega(P)``;
* :meth:`Penalty.dual_norm` -- ``Omega^*(G) = max {<G, W> : Omega(W) <= 1}``,
  which scales a dual point into the feasible set ``Omega^*(G) <= alpha`` in
  the duality gaps (:mod:`skmtl.solvers._gaps`) and gives
  ``alpha_max = Omega^*(grad f(0))``;
* :meth:`Penalty.incremental_prox` -- an object that keeps ``prox(V)`` of a
  matrix whose columns change one at a time (the AMTL central node).

Because ``Omega`` is a norm, the proximal map satisfies
``<P, V - P> = theta * Omega(P)`` (Moreau), which ADMM uses to read
``Omega(P)`` off the prox without recomputing it.
"""

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["IncrementalProx", "Penalty", "make_penalty"]


class Penalty(ABC):
    """A norm of the d x T weight matrix, used as the coupling penalty.

    Subclasses implement :meth:`value`, :meth:`prox` and :meth:`dual_norm`;
    the defaults of :meth:`prox_state`, :meth:`incremental_prox` and
    :meth:`transposed` are correct for any norm and may be overridden for
    speed.
    """

    #: Short name used by the string form of ``penalty`` ('trace', 'l21').
    name = None

    @abstractmethod
    def value(self, W):
        """``Omega(W)`` for ``W`` of shape (n_features, n_tasks)."""

    @abstractmethod
    def prox(self, V, threshold, state=None):
        """``argmin_P 0.5 ||P - V||_F^2 + threshold * Omega(P)``.

        Parameters
        ----------
        V : array-like of shape (n_features, n_tasks)
            The point.
        threshold : float
            ``theta >= 0`` (``step * alpha`` in a proximal gradient step).
        state : object or None, default=None
            Optional warm-start object from :meth:`prox_state`, kept by the
            caller across calls; None computes the prox from scratch.

        Returns
        -------
        P : ndarray of shape (n_features, n_tasks)
        """

    @abstractmethod
    def dual_norm(self, G):
        """``Omega^*(G)``, the dual norm (e.g. of a data-fit gradient)."""

    def prox_state(self):
        """A fresh warm-start object for :meth:`prox`; None when not used."""
        return None

    def incremental_prox(self, V, threshold):
        """An :class:`IncrementalProx` of ``V`` (for the AMTL central node).

        The default recomputes the whole prox at every refresh.
        """
        return IncrementalProx(self, V, threshold)

    def transposed(self):
        """The penalty acting on ``W^T`` (n_tasks x n_features).

        Solvers that hold their iterates task-major call it once; a penalty
        invariant under transposition (the trace norm) returns itself.
        """
        return _Transposed(self)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class _Transposed(Penalty):
    """``W -> Omega(W^T)``: a penalty seen on task-major matrices."""

    def __init__(self, penalty):
        self.penalty = penalty

    def value(self, W):
        return self.penalty.value(np.asarray(W).T)

    def prox(self, V, threshold, state=None):
        return self.penalty.prox(np.asarray(V).T, threshold, state=state).T

    def dual_norm(self, G):
        return self.penalty.dual_norm(np.asarray(G).T)

    def prox_state(self):
        return self.penalty.prox_state()

    def transposed(self):
        return self.penalty

    def __repr__(self):
        return f"{self.penalty!r}.transposed()"

    def __eq__(self, other):
        return isinstance(other, _Transposed) and other.penalty == self.penalty

    def __hash__(self):
        return hash((_Transposed, self.penalty))


class IncrementalProx:
    """``prox(V)`` of a matrix whose columns change one at a time.

    The interface the AMTL central node uses (the trace norm's
    :class:`~skmtl.penalties._trace_norm.TraceNormProx` implements the same
    one with incremental factorizations). This generic version keeps ``V``
    and recomputes ``P = penalty.prox(V, threshold)`` at :meth:`refresh`
    when something changed; for a separable penalty such as ``L21`` that is
    already linear in the size of ``V``.

    Not thread-safe: the caller serializes calls.

    Parameters
    ----------
    penalty : Penalty
        The penalty whose prox is kept.
    V : array-like of shape (n_features, n_tasks)
        The initial matrix; copied to float64.
    threshold : float
        The threshold ``theta >= 0``.
    """

    def __init__(self, penalty, V, threshold):
        self.penalty = penalty
        self._V = np.array(V, dtype=np.float64, order="F", copy=True)
        if self._V.ndim != 2:
            raise ValueError(
                "V must be a 2-D array of shape (n_features, n_tasks); got shape "
                f"{self._V.shape}."
            )
        if not np.isfinite(self._V).all():
            raise ValueError("V must not contain NaN or infinity.")
        self._threshold = float(threshold)
        self._state = penalty.prox_state()
        self.P = None
        self.n_updates = 0
        self.n_refreshes = 0
        self._p_stale = True
        self.refresh()

    @property
    def V(self):
        """The maintained matrix (read-only view)."""
        view = self._V.view()
        view.flags.writeable = False
        return view

    @property
    def threshold(self):
        """The current threshold."""
        return self._threshold

    def set_column(self, t, v):
        """Replace column ``t`` of ``V`` by ``v``; ``P`` follows at refresh."""
        d, T = self._V.shape
        if not 0 <= t < T:
            raise IndexError(f"column index {t} is out of range for {T} tasks.")
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        if v.shape != (d,):
            raise ValueError(
                f"the new column must have shape ({d},); got shape {v.shape}."
            )
        if not np.isfinite(v).all():
            raise ValueError("the new column must not contain NaN or infinity.")
        self._V[:, t] = v
        self.n_updates += 1
        self._p_stale = True

    def set_columns(self, cols, rows):
        """:meth:`set_column` for each of the distinct ``cols`` in turn, with
        the rows of ``rows`` (``len(cols) x d``)."""
        for t, v in zip(cols, rows, strict=True):
            self.set_column(t, v)

    def set_threshold(self, threshold):
        """Set the threshold; ``P`` follows at the next :meth:`refresh`."""
        threshold = float(threshold)
        if threshold != self._threshold:
            self._threshold = threshold
            self._p_stale = True

    def refresh(self):
        """Recompute ``P = prox(V)`` if ``V`` or the threshold changed; return it."""
        if self._p_stale:
            P = self.penalty.prox(self._V, self._threshold, state=self._state)
            P = np.array(P, dtype=np.float64)
            P.flags.writeable = False
            self.P = P
            self._p_stale = False
            self.n_refreshes += 1
        return self.P

    def column(self, t):
        """Column ``t`` of ``P`` as of the last :meth:`refresh` (a copy)."""
        return self.P[:, t].copy()


def make_penalty(penalty):
    """Resolve ``None``, a name or a :class:`Penalty` to a :class:`Penalty`.

    Parameters
    ----------
    penalty : None, {'trace', 'l21'} or Penalty
        None means the trace norm.

    Returns
    -------
    Penalty

    Examples
    --------
    >>> from skmtl.penalties import make_penalty
    >>> make_penalty(None), make_penalty("l21")
    (TraceNorm(), L21())
    """
    if isinstance(penalty, Penalty):
        return penalty
    from ._l21 import L21
    from ._trace_norm import TraceNorm

    if penalty is None:
        return TraceNorm()
    names = {"trace": TraceNorm, "l21": L21}
    if isinstance(penalty, str) and penalty in names:
        return names[penalty]()
    raise ValueError(
        f"penalty must be None, one of {sorted(names)} or a Penalty instance; got "
        f"{penalty!r}."
    )

"""Per-task Gram matrices and their eigendecompositions in one buffer.

A squared-loss data-fit in Gram form holds ``H`` of shape (T, d, d): 1 GB at
T = 50,000 and d = 50.  The centralized solver needs ``H_t = V_t diag(lam_t)
V_t^T`` for every task, and ``numpy.linalg.eigh`` on the whole stack allocates
another (T, d, d) array for ``V`` at once (plus LAPACK's work arrays): fresh
pages, which this kind of VM charges 2-3 s of system time per GB.  Once
``lam`` and ``V`` are known, ``H`` itself is redundant, so :class:`GramEig`
decomposes the stack in chunks of a few MB and writes each chunk's ``V`` over
the chunk of ``H`` it came from: the only new memory is ``lam`` (T x d) and one
chunk's work arrays, reused from chunk to chunk.

Code that reads ``H`` after that (per-task gradients, the AMTL batches) gets
it rebuilt from ``(lam, V)`` once, then cached: within ``1e-15`` relative of
the original (rounding of the products), exactly symmetric.  Caching makes
per-task reads (``H[t]`` in a loop) cost one rebuild, not one per read, and
keeps ``id(H)`` stable for the caches keyed on it
(:class:`skmtl._amtl._batch.SquaredProxBatch`).

The switch happens under a lock, so threads reading ``H`` (the AMTL threading
backend) never see a half-overwritten buffer through the property.  An array
obtained from ``H`` *before* :meth:`GramEig.gram_eig` must not be kept across
it: its buffer then holds the eigenvectors.
"""

import threading

import numpy as np

from ..utils._blas import SMALL, single_blas_thread

__all__ = ["GramEig", "eigh_in_place", "rebuild_gram"]

# Bytes of matrices per eigh call: large enough that the Python loop costs
# nothing (209 matrices 50 x 50), small enough that a chunk's eigenvectors and
# work arrays are reused by the allocator from one chunk to the next.
_CHUNK_BYTES = 4 << 20


def _chunk(d):
    """Matrices of size d x d per chunk of about ``_CHUNK_BYTES``."""
    return max(1, _CHUNK_BYTES // (8 * max(d, 1) ** 2))


def eigh_in_place(H):
    """Eigendecompose a stack of symmetric matrices, overwriting it with ``V``.

    Chunk by chunk, ``numpy.linalg.eigh`` (the same LAPACK call per matrix as
    on the whole stack, so the same values), with one BLAS thread for
    ``d <= 512`` as :func:`skmtl.solvers._admm.quadratic_eigh`.

    Parameters
    ----------
    H : ndarray of shape (n_tasks, d, d), float64, writeable
        The matrices; on return, ``H[t]`` holds the eigenvectors of the
        original ``H[t]`` as columns.

    Returns
    -------
    lam : ndarray of shape (n_tasks, d)
        The eigenvalues, in ascending order per task.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.stack([np.diag([2.0, 1.0])] * 3)
    >>> lam = eigh_in_place(H)
    >>> lam[0].tolist(), np.abs(H[0]).tolist()
    ([1.0, 2.0], [[0.0, 1.0], [1.0, 0.0]])
    """
    T, d = H.shape[0], H.shape[-1]
    lam = np.empty((T, d))
    step = _chunk(d)
    with single_blas_thread(d <= SMALL):
        for a in range(0, T, step):
            b = min(a + step, T)
            lam[a:b], H[a:b] = np.linalg.eigh(H[a:b])
    return lam


def rebuild_gram(lam, V, out=None):
    """``H_t = V_t diag(lam_t) V_t^T`` for every task, chunk by chunk.

    The result is symmetrized (``(A + A^T) / 2`` per chunk), so that it is
    exactly symmetric as the original Gram matrices were.

    Parameters
    ----------
    lam : ndarray of shape (n_tasks, d)
    V : ndarray of shape (n_tasks, d, d)
    out : ndarray of shape (n_tasks, d, d), default=None
        Where to write (a new array when None); must not be ``V``.

    Returns
    -------
    H : ndarray of shape (n_tasks, d, d)
    """
    T, d = lam.shape
    H = np.empty((T, d, d)) if out is None else out
    step = _chunk(d)
    with single_blas_thread(d <= SMALL):
        for a in range(0, T, step):
            b = min(a + step, T)
            Vc = V[a:b]
            A = np.matmul(Vc * lam[a:b, None, :], Vc.transpose(0, 2, 1))
            np.add(A, A.transpose(0, 2, 1), out=H[a:b])
            H[a:b] *= 0.5
    return H


class GramEig:
    """Mixin: the Gram matrices ``H`` and, on demand, their eigen-pairs.

    ``H`` is a property: assign it (2-D, shared by all tasks, or 3-D, one per
    task) and read it as an attribute.  :meth:`gram_eig` returns
    ``(lam, V)``, equal to ``numpy.linalg.eigh(H)``; for a 3-D ``H`` it
    computes them in ``H``'s own buffer (see the module docstring), after
    which reading ``H`` rebuilds it once from them.
    """

    def _gram_state(self):
        """``(lock, buffer)``; AttributeError when no ``H`` was assigned."""
        buf = self.__dict__.get("_gram_buf")
        if buf is None:
            raise AttributeError(f"{type(self).__name__!r} object has no Gram form H")
        return self.__dict__["_gram_lock"], buf

    @property
    def H(self):
        """The Gram matrices (d x d shared, or n_tasks x d x d)."""
        lock, _ = self._gram_state()
        with lock:
            if self._gram_lam is None:
                return self._gram_buf
            if self._gram_H is None:
                self._gram_H = rebuild_gram(self._gram_lam, self._gram_buf)
            return self._gram_H

    @H.setter
    def H(self, H):
        if "_gram_lock" not in self.__dict__:
            self._gram_lock = threading.RLock()
        with self._gram_lock:
            self._gram_buf, self._gram_lam, self._gram_H = H, None, None
            self._gram_shared_eig = None

    @property
    def gram_ndim(self):
        """``H.ndim`` (2: shared, 3: one per task), without rebuilding ``H``."""
        return self._gram_state()[1].ndim

    def gram_eig(self):
        """``(lam, V)``: ``numpy.linalg.eigh(H)``, computed once.

        A 3-D ``H`` is overwritten by ``V`` (see :func:`eigh_in_place`); a
        shared 2-D ``H`` is kept and its pair stored beside it.  Safe to call
        from several threads: the first computes, the others wait for it.
        """
        lock, buf = self._gram_state()
        with lock:
            buf = self._gram_buf
            if buf.ndim == 2:
                if self._gram_shared_eig is None:
                    with single_blas_thread(buf.shape[-1] <= SMALL):
                        self._gram_shared_eig = np.linalg.eigh(buf)
                return self._gram_shared_eig
            if self._gram_lam is None:
                self._gram_lam = eigh_in_place(buf)
            return self._gram_lam, buf

    def gram_eig_computed(self):
        """``(lam, V)`` if :meth:`gram_eig` ran already, else None."""
        lock, _ = self._gram_state()
        with lock:
            if self._gram_buf.ndim == 2:
                return self._gram_shared_eig
            if self._gram_lam is None:
                return None
            return self._gram_lam, self._gram_buf

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_gram_lock", None)  # locks do not pickle
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_gram_buf" in state:
            self._gram_lock = threading.RLock()

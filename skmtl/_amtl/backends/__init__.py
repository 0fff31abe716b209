"""AMTL backends: where task nodes run and when their answers arrive."""

from ._base import Backend, Reply
from ._sequential import SequentialBackend
from ._simulated import SimulatedBackend
from ._threading import ThreadingBackend

BACKENDS = {
    "sequential": SequentialBackend,
    "threading": ThreadingBackend,
    "simulated": SimulatedBackend,
}


def make_backend(backend, n_jobs=None, client=None):
    """Resolve the estimators' ``backend`` parameter to a Backend instance.

    'auto' picks sequential for ``n_jobs`` in (None, 1) and threading
    otherwise; a Backend instance is used as is.
    """
    if isinstance(backend, Backend):
        return backend
    if backend == "auto":
        backend = "sequential" if n_jobs in (None, 1) else "threading"
    if backend == "threading":
        from joblib import effective_n_jobs

        return ThreadingBackend(n_jobs=effective_n_jobs(n_jobs or 2))
    if backend == "dask":
        from .dask._backend import DaskBackend

        return DaskBackend(client=client, n_jobs=n_jobs)
    if backend not in BACKENDS:
        raise ValueError(
            f"backend must be one of 'auto', {sorted(BACKENDS)}, 'dask' or a "
            f"Backend instance; got {backend!r}."
        )
    return BACKENDS[backend]()


__all__ = [
    "BACKENDS",
    "Backend",
    "Reply",
    "SequentialBackend",
    "SimulatedBackend",
    "ThreadingBackend",
    "make_backend",
]

"""AMTL backends: where task nodes run and when their answers arrive."""

from ._base import Backend, Reply, check_task_timeout
from ._sequential import SequentialBackend
from ._simulated import SimulatedBackend
from ._threading import ThreadingBackend

BACKENDS = {
    "sequential": SequentialBackend,
    "threading": ThreadingBackend,
    "simulated": SimulatedBackend,
}


def make_backend(backend, n_jobs=None, client=None, task_timeout=60.0):
    """Resolve the estimators' ``backend`` parameter to a Backend instance.

    'auto' picks sequential for ``n_jobs`` in (None, 1) and threading
    otherwise; a Backend instance is used as is (with its own timeouts).
    ``task_timeout`` (seconds or None) bounds one task step on the threading
    and Dask backends and a user's delay callable on every backend.
    """
    if isinstance(backend, Backend):
        return backend
    task_timeout = check_task_timeout(task_timeout)
    if backend == "auto":
        backend = "sequential" if n_jobs in (None, 1) else "threading"
    if backend == "threading":
        from joblib import effective_n_jobs

        return ThreadingBackend(
            n_jobs=effective_n_jobs(n_jobs or 2), task_timeout=task_timeout
        )
    if backend == "dask":
        from .dask._backend import DaskBackend

        return DaskBackend(client=client, n_jobs=n_jobs, reply_timeout=task_timeout)
    if backend not in BACKENDS:
        raise ValueError(
            f"backend must be one of 'auto', {sorted(BACKENDS)}, 'dask' or a "
            f"Backend instance; got {backend!r}."
        )
    instance = BACKENDS[backend]()
    instance.task_timeout = task_timeout  # bounds a user's delay callable
    return instance


__all__ = [
    "BACKENDS",
    "Backend",
    "Reply",
    "SequentialBackend",
    "SimulatedBackend",
    "ThreadingBackend",
    "make_backend",
]

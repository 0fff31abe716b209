"""One process-wide BLAS limit, shared by every fit and restored by the last.

Many small BLAS/LAPACK calls (the trace-norm prox of a 28 x 139 matrix, the
Gram products of a per-task step) are slower with a multi-threaded OpenBLAS
when the cores are shared: each call may wake a BLAS worker thread and wait a
scheduler time slice for it (measured: an ``eigh`` of a 28 x 28 matrix took
5 ms instead of 70 us on a loaded 2-core machine).  The solvers and the AMTL
engine therefore run with one BLAS thread while they fit a small problem.

The number of BLAS threads is process-wide, so two fits that overlap (in two
Python threads, or a fit inside a cross-validation) must share one limit:
:func:`single_blas_thread` counts the holders under a lock; the first one sets
the limit and the last one restores what was there before.

Who may change it.  OpenBLAS (0.3.x with pthreads) only honours
``openblas_set_num_threads`` from the thread that first called it, for as long
as that thread lives: a restore issued from another Python thread is silently
ignored (measured with threadpoolctl 3.8 and OpenBLAS 0.3.31), which is how
two overlapping fits used to leave BLAS at one thread for good.  So the limit
is set and restored by a short-lived control thread of its own, started by the
first holder and ended (after the restore) by the last: no caller thread ever
becomes the owner, and once no fit runs, nobody owns the setting, so a user's
own ``threadpool_limits`` works as before.  If another thread owned the
setting already (e.g. the user called ``threadpool_limits`` in the main
thread), OpenBLAS ignores both the limit and the restore: the fit then runs
with the user's setting and changes nothing.
"""

import contextlib
import threading

# Problems whose matrices are all at most this size run with one BLAS thread.
SMALL = 512

# Benchmarks switch the limit off to measure what it buys (see
# benchmarks/bench_blas_limit.py); nothing else should touch this.
_ENABLED = True

_LOCK = threading.Lock()
_HOLDERS = 0
_CONTROL = None  # the control thread while the limit is held
_CONTROLLER = None  # threadpoolctl.ThreadpoolController, built once (1-2 ms)


class _ControlThread(threading.Thread):
    """Sets the limit, waits until released, restores it, and exits."""

    def __init__(self):
        super().__init__(name="skmtl-blas-limit", daemon=True)
        self.release = threading.Event()
        self.ready = threading.Event()
        self.error = None

    def run(self):
        limiter = None
        try:
            limiter = _controller().limit(limits=1, user_api="blas")
        except Exception as exc:  # pragma: no cover - threadpoolctl failing
            self.error = exc
        finally:
            self.ready.set()
        self.release.wait()
        if limiter is not None:
            limiter.restore_original_limits()


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _acquire():
    global _HOLDERS, _CONTROL
    with _LOCK:
        if _HOLDERS == 0:
            control = _ControlThread()
            control.start()
            control.ready.wait()
            _CONTROL = control
        _HOLDERS += 1


def _release():
    global _HOLDERS, _CONTROL
    with _LOCK:
        _HOLDERS -= 1
        if _HOLDERS == 0:
            control, _CONTROL = _CONTROL, None
            control.release.set()
            control.join()  # the restore is done before anyone acquires again


@contextlib.contextmanager
def single_blas_thread(active=True):
    """Run the block with one BLAS thread (process-wide, reference-counted).

    Parameters
    ----------
    active : bool, default=True
        False makes this a no-op (e.g. for a problem too large to gain).

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> from skmtl.utils._blas import single_blas_thread
    >>> before = [i["num_threads"] for i in threadpool_info()]
    >>> with single_blas_thread():
    ...     with single_blas_thread():  # nested or concurrent: one limit
    ...         pass
    >>> [i["num_threads"] for i in threadpool_info()] == before
    True
    """
    if not (active and _ENABLED):
        yield
        return
    _acquire()
    try:
        yield
    finally:
        _release()


def blas_thread_holders():
    """How many blocks hold the limit now (for tests and diagnostics)."""
    return _HOLDERS

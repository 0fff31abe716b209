"""The process-wide BLAS limit: shared, reference-counted, always restored.

OpenBLAS only honours thread-count changes from the thread that first made
one, while that thread lives; once the pytest process's main thread has
called ``threadpool_limits`` (other tests do), it owns the setting.  The
tests that need a clean owner therefore run in a fresh interpreter.
"""

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from skmtl.utils._blas import blas_thread_holders, single_blas_thread

pytestmark = pytest.mark.timeout(120)


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def _run(code, prelude=True):
    """Run ``code`` in a fresh interpreter; return its stdout (fails on error)."""
    code = textwrap.dedent(code)
    if prelude:
        code = _PRELUDE + code
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


_PRELUDE = """
import threading
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
import skmtl  # loads every BLAS library before `before` is read
from skmtl.utils._blas import single_blas_thread

def blas():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

# >= 2 threads even on a 1-core runner, set from a thread that then ends, so
# that no thread owns the setting afterwards.
_setter = threading.Thread(target=threadpool_limits, args=(2, "blas"))
_setter.start()
_setter.join()
before = blas()
assert all(n == 2 for n in before), before
"""


def test_nested_blocks_restore_and_count():
    before = _blas_threads()
    with single_blas_thread():
        assert blas_thread_holders() == 1
        with single_blas_thread():
            assert blas_thread_holders() == 2
        with single_blas_thread(active=False):
            assert blas_thread_holders() == 1
    assert blas_thread_holders() == 0
    assert _blas_threads() == before
    assert not [t for t in threading.enumerate() if t.name == "skmtl-blas-limit"]


def test_released_on_error():
    before = _blas_threads()
    with pytest.raises(RuntimeError, match="inside"):
        with single_blas_thread():
            raise RuntimeError("inside")
    assert blas_thread_holders() == 0
    assert _blas_threads() == before


def test_overlapping_blocks_in_two_threads_restore():
    """A enters, B enters, A leaves, B leaves: the last one restores, whatever
    thread it runs in; while either holds it, BLAS has one thread."""
    out = _run(
        """
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        seen = {}

        def fit_a():
            with single_blas_thread():
                a_in.set()
                b_in.wait()
                seen["a"] = blas()
            a_out.set()

        def fit_b():
            a_in.wait()
            with single_blas_thread():
                b_in.set()
                a_out.wait()
                seen["b"] = blas()

        threads = [threading.Thread(target=f) for f in (fit_a, fit_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(before, seen["a"], seen["b"], blas())
        """
    )
    before, during_a, during_b, after = out.strip().split("] [")
    assert before.strip("[") == after.strip("]")
    assert during_a == during_b == "1" or during_a == during_b == "1, 1"


def test_overlapping_threaded_fits_restore_blas():
    """Two AMTL fits (threading backend) and a centralized one, overlapping in
    three Python threads, leave the BLAS thread count what it was."""
    out = _run(
        """
        from skmtl import AsyncTraceNormMTLRegressor, TraceNormMTLRegressor
        rng = np.random.RandomState(0)
        X = np.column_stack([rng.randn(300, 6), np.repeat(np.arange(5), 60)])
        y = X[:, :6] @ rng.randn(6) + 0.1 * rng.randn(300)
        errors = []

        def fit(est):
            try:
                est.fit(X, y)
            except BaseException as exc:
                errors.append(exc)

        ests = [
            AsyncTraceNormMTLRegressor(task_column=-1, backend="threading", n_jobs=2,
                                       splitting="douglas-rachford", max_iter=300),
            AsyncTraceNormMTLRegressor(task_column=-1, backend="threading", n_jobs=2,
                                       max_iter=200, tol=1e-12),
            TraceNormMTLRegressor(task_column=-1),
        ]
        threads = [threading.Thread(target=fit, args=(e,)) for e in ests]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        alive = [t.name for t in threading.enumerate() if t.name.startswith("skmtl")]
        print(before == blas(), before, blas(), alive)
        """
    )
    assert out.startswith("True"), out
    assert out.strip().endswith("[]"), out


def test_main_thread_owner_is_left_alone():
    """When the main thread owns the setting (the user limited BLAS), a fit
    neither changes nor 'restores' it."""
    out = _run(
        """
        with threadpool_limits(2, user_api="blas"):
            with single_blas_thread():
                during = blas()
            print(during == before, blas() == before)
        """
    )
    assert out.split() == ["True", "True"]


def test_backend_start_failure_restores_blas():
    out = _run(
        """
        import skmtl
        from skmtl import AsyncTraceNormMTLRegressor, SimulatedBackend
        rng = np.random.RandomState(0)
        X = np.column_stack([rng.randn(60, 4), np.repeat(np.arange(3), 20)])
        y = rng.randn(60)
        est = AsyncTraceNormMTLRegressor(task_column=-1,
                                         backend=SimulatedBackend(compute_time=-1))
        try:
            est.fit(X, y)
        except ValueError as exc:
            assert "compute_time" in str(exc), exc
        else:
            raise AssertionError("no error")
        print(before == blas(), before, blas())
        """
    )
    assert out.startswith("True"), out


def test_limit_applies_in_a_clean_process():
    """With no other owner, the block really runs with one BLAS thread."""
    out = _run(
        """
        import numpy as np
        from threadpoolctl import threadpool_info
        from skmtl.utils._blas import single_blas_thread
        def blas():
            return [i["num_threads"] for i in threadpool_info()
                    if i["user_api"] == "blas"]
        before = blas()
        with single_blas_thread():
            during = blas()
        print(all(n == 1 for n in during), before == blas())
        """,
        prelude=False,
    )
    assert out.split() == ["True", "True"]


def test_solvers_leave_blas_unchanged():
    from skmtl import TraceNormMTLClassifier, TraceNormMTLRegressor

    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(90, 4), np.repeat(np.arange(3), 30)])
    y = rng.randn(90)
    before = _blas_threads()
    TraceNormMTLRegressor(task_column=-1).fit(X, y)  # ADMM (squared loss)
    TraceNormMTLClassifier(task_column=-1).fit(X, y > 0)  # FISTA
    assert _blas_threads() == before
    assert blas_thread_holders() == 0

"""Shared fixtures: real data from $SKMTL_DATA or ../shared/data (else skipped)."""

import faulthandler
import os
from pathlib import Path

import numpy as np
import pytest
from _checks import worker_threads
from threadpoolctl import threadpool_info

# Dump every thread's traceback if a test hangs (pytest-timeout then fails it).
faulthandler.enable()


def _data_folder():
    """The real data: ``$SKMTL_DATA`` (the loaders' own variable) or ../shared/data.

    The folder may use the loaders' cache layout (``school/school.mat``) or the
    shared layout (``school_malsar/school.mat``): tests find files with the
    loaders' own lookup, as users do.
    """
    if os.environ.get("SKMTL_DATA"):
        return Path(os.environ["SKMTL_DATA"]).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "data"


SHARED_DATA = _data_folder()


def _require(path):
    if not path.exists():
        pytest.skip(f"shared data not available at {path}")
    return path


def data_file(key):
    """Path of the loaders' file ``key`` in the data folder; skip when absent."""
    from skmtl.datasets._fetch import _fetch

    try:
        return _fetch(key, SHARED_DATA, download_if_missing=False)
    except OSError as exc:
        pytest.skip(f"real data not available: {exc}")


@pytest.fixture(scope="session")
def shared_data_dir():
    """The folder of real multi-task data sets (``$SKMTL_DATA`` or ../shared/data)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def school_tasks():
    """School (MALSAR copy): lists of per-task X (n_t, 28) and y (n_t,)."""
    from scipy.io import loadmat

    m = loadmat(data_file("school"))
    Xs = [m["X"][0, t].astype(float) for t in range(m["X"].shape[1])]
    ys = [m["Y"][0, t].astype(float).ravel() for t in range(m["Y"].shape[1])]
    return Xs, ys


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture
def no_leaked_threads():
    """Fail when a test leaves task worker threads or changed BLAS limits."""
    assert not worker_threads()
    blas = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    yield
    assert not worker_threads(), [t.name for t in worker_threads()]
    assert [(i["internal_api"], i["num_threads"]) for i in threadpool_info()] == blas

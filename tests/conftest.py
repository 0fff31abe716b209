"""Shared fixtures: real data from ../shared/data (skipped when absent)."""

import faulthandler
import os
from pathlib import Path

import numpy as np
import pytest
from _checks import worker_threads
from threadpoolctl import threadpool_info

# Dump every thread's traceback if a test hangs (pytest-timeout then fails it).
faulthandler.enable()

SHARED_DATA = Path(
    os.environ.get(
        "SKMTL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


def _require(path):
    if not path.exists():
        pytest.skip(f"shared data not available at {path}")
    return path


@pytest.fixture(scope="session")
def shared_data_dir():
    """The folder of real multi-task data sets (``../shared/data``)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def school_tasks(shared_data_dir):
    """School (MALSAR copy): lists of per-task X (n_t, 28) and y (n_t,)."""
    from scipy.io import loadmat

    m = loadmat(_require(shared_data_dir / "school_malsar" / "school.mat"))
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

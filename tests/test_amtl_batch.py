"""Batched task steps (_amtl/_batch.py): a batch computes what its tasks'
steps compute one at a time, the central node writes a batch as its writes
in turn, the staleness of each write is exact, and batched fits reach the
centralized optimum on every backend."""

import numpy as np
import pytest
from _amtl_reference import Problem, objective

from skmtl._amtl import SequentialBackend, ThreadingBackend, run_amtl
from skmtl._amtl._batch import ReplyBatch, SquaredProxBatch
from skmtl._amtl._nodes import CentralNode, TaskStep
from skmtl.datafits._losses import SquaredLoss, TaskBlocks
from skmtl.penalties._trace_norm import TraceNormProx
from skmtl.solvers._fista import solve


def _shared_squared(T=6, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, d))
    s = np.ones(40)
    ys = [X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(40) for _ in range(T)]
    blocks = TaskBlocks([X] * T, ys, [s] * T, np.full(T, 40.0), shared=True)
    return SquaredLoss(blocks, fit_intercept=True, use_gram=True)


DATAFITS = {
    "gram": lambda: Problem("squared", True, 0.1, T=7, d=6).datafit(),
    "shared": _shared_squared,
    "data": lambda: Problem("squared", True, 0.1, T=7, d=6, gram=False).datafit(),
    "logistic": lambda: Problem("logistic", True, 0.1, T=7, d=6).datafit(),
}


@pytest.mark.parametrize("splitting", ["forward-backward", "douglas-rachford"])
@pytest.mark.parametrize("kind", list(DATAFITS))
def test_batch_step_is_the_steps_one_at_a_time(kind, splitting):
    datafit = DATAFITS[kind]()
    T, d = datafit.n_tasks, datafit.n_features
    rng = np.random.default_rng(1)
    V = rng.standard_normal((d, T))
    b0 = datafit.initial_intercept() if datafit.has_free_intercept else None
    node = CentralNode(V, b0, 0.05, publish_v=splitting == "douglas-rachford")
    eta = 0.7 / float(np.max(datafit.lipschitz))
    tasks = [4, 0, 2]
    Z, zb = TaskStep(splitting, eta).batch(datafit, node.read_batch(tasks))
    one = TaskStep(splitting, eta)
    for i, t in enumerate(tasks):
        z, b = one(datafit, t, node.read(t))
        np.testing.assert_allclose(Z[i], z, rtol=1e-11, atol=1e-12)
        if b is None:
            assert zb is None
        else:
            assert zb[i] == pytest.approx(b, rel=1e-11, abs=1e-12)


def test_squared_prox_batch_solves_the_prox_problem():
    """Row t is ``argmin l_t(w) + ||w - x_t||^2 / (2 eta)``: its gradient
    ``H_t w - q_t + (w - x_t) / eta`` vanishes (an optimality check
    independent of the solver)."""
    datafit = DATAFITS["gram"]()
    rng = np.random.default_rng(2)
    tasks = [6, 1, 3]
    X = rng.standard_normal((3, datafit.n_features))
    Y = SquaredProxBatch()(datafit, tasks, X, 0.3)
    for i, t in enumerate(tasks):
        g = datafit.task_gradient(t, Y[i])[0] + (Y[i] - X[i]) / 0.3
        assert np.linalg.norm(g) <= 1e-10 * np.linalg.norm(X[i] / 0.3)


def test_write_batch_is_the_writes_in_turn():
    rng = np.random.default_rng(3)
    V0 = rng.standard_normal((5, 9))
    a = CentralNode(V0, np.zeros(9), 0.4)
    b = CentralNode(V0, np.zeros(9), 0.4)
    tasks = [7, 2, 5]
    Z, zb = rng.standard_normal((3, 5)), rng.standard_normal(3)
    sq = a.write_batch(tasks, Z, zb, 0.8)
    for i, t in enumerate(tasks):
        assert b.write(t, Z[i], zb[i], 0.8) == pytest.approx(sq[i], rel=1e-12)
    assert a.version == b.version == 3
    np.testing.assert_allclose(a.V, b.V, rtol=1e-14)
    np.testing.assert_allclose(a.b, b.b, rtol=1e-14)
    np.testing.assert_allclose(a.refresh(force=True).P, b.refresh(force=True).P)


def test_set_columns_is_set_column_in_turn():
    rng = np.random.default_rng(4)
    V0 = rng.standard_normal((8, 5))  # d > T and d < T sides
    for V in (V0, V0.T.copy()):
        d, T = V.shape
        rows = rng.standard_normal((3, d))
        a, b = TraceNormProx(V, 0.3), TraceNormProx(V, 0.3)
        a.set_columns([4, 0, 2], rows)
        for t, v in zip([4, 0, 2], rows, strict=True):
            b.set_column(t, v)
        assert a.n_updates == b.n_updates == 3
        np.testing.assert_allclose(a.refresh(), b.refresh(), rtol=1e-12, atol=1e-14)
        with pytest.raises(ValueError, match="NaN"):
            a.set_columns([1], np.full((1, d), np.nan))
        with pytest.raises(IndexError):
            a.set_columns([T], rows[:1])
        with pytest.raises(ValueError, match="shape"):
            a.set_columns([1, 2], rows[:1])


class _RecordingSequential(SequentialBackend):
    """Batches of whatever the engine allows; remembers the batches."""

    def next_replies(self, timeout=None):
        out = super().next_replies(timeout)
        self.sizes = getattr(self, "sizes", []) + [len(r.tasks) for r in out]
        return out


def test_staleness_of_a_batch_counts_its_own_writes():
    """A batch of B rows read at version r and applied from version k: its
    i-th write has staleness k + i - r (the writes before it in the batch
    were not seen), as if applied one at a time."""
    prob = Problem("squared", True, 0.05, T=24, d=8, seed=3)
    backend = _RecordingSequential()
    res = run_amtl(
        prob.datafit(), prob.alpha, backend, refresh_every=6, max_epochs=3, tol=0.0
    )
    assert max(backend.sizes) == 6
    # refresh every 6 writes, batches of 6: staleness 0..5 within a batch
    assert res.task_stats["staleness_max"].max() == 5
    assert res.info["n_updates"] == 72


@pytest.mark.parametrize("max_batch", [1, 3, None])
@pytest.mark.parametrize("splitting", ["forward-backward", "douglas-rachford"])
def test_threaded_batches_reach_the_optimum(splitting, max_batch):
    prob = Problem("squared", True, 0.05, T=12, d=6, seed=5)
    datafit = prob.datafit()
    res = run_amtl(
        datafit,
        prob.alpha,
        ThreadingBackend(n_jobs=2, max_batch=max_batch),
        splitting=splitting,
        max_epochs=3000,
        tol=1e-10,
    )
    assert res.converged
    ref = solve(datafit, prob.alpha, tol=1e-12, max_iter=100_000)
    f_ref = objective(datafit, prob.alpha, ref.W, None)
    f_res = objective(datafit, prob.alpha, res.W, None)
    assert abs(f_res - f_ref) <= 1e-8 * abs(f_ref)
    np.testing.assert_allclose(res.W, ref.W, atol=1e-5 * np.abs(ref.W).max())


def test_reply_batch_splits_into_replies():
    batch = ReplyBatch([3, 1], np.arange(4.0).reshape(2, 2), None, 7, np.ones(2))
    replies = batch.replies()
    assert [r.task for r in replies] == [3, 1]
    np.testing.assert_array_equal(replies[1].z, [2.0, 3.0])
    assert replies[0].zb is None and replies[0].version == 7


@pytest.mark.parametrize("bad", [0, -2, 1.5, "3", True])
def test_max_batch_is_checked(bad):
    with pytest.raises(ValueError, match="max_batch"):
        ThreadingBackend(max_batch=bad)


class _CountingSquared(SquaredLoss):
    """A user's Gram-form squared loss whose steps do more than the stock ones
    (here: count themselves); a batch must call them, not bypass them."""

    def __init__(self, datafit):
        self.__dict__.update(datafit.__dict__)
        self.gradients = self.proxes = 0

    def task_gradient(self, t, w, bt=None):
        self.gradients += 1
        return super().task_gradient(t, w, bt)

    def task_prox(self, t, x, xb=None, step_size=1.0):
        self.proxes += 1
        return super().task_prox(t, x, xb, step_size)


@pytest.mark.parametrize("splitting", ["forward-backward", "douglas-rachford"])
def test_batch_calls_a_subclass_own_steps(splitting):
    datafit = _CountingSquared(DATAFITS["gram"]())
    assert datafit.use_gram
    res = run_amtl(
        datafit,
        0.05,
        SequentialBackend(),
        splitting=splitting,
        refresh_every=datafit.n_tasks,
        max_epochs=3,
        tol=0.0,
        objective=lambda W, b: 0.0,
    )
    calls = datafit.gradients if splitting == "forward-backward" else datafit.proxes
    assert calls >= res.n_updates > 0


def test_threaded_workers_share_heavy_steps_and_take_all_light_ones():
    """One worker takes every queued activation of light steps (a regular
    run), its share ``ceil(queued / n_jobs)`` of heavy ones (workers run
    them side by side)."""
    import queue
    import threading

    from skmtl._amtl.backends._threading import _HEAVY_STEP_FLOPS, _step_flops

    light = DATAFITS["gram"]()  # d = 6
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 600))  # d n_t = 300,000 flops a step
    blocks = TaskBlocks([X] * 2, [X[:, 0]] * 2, [np.ones(500)] * 2, np.full(2, 500.0))
    heavy = SquaredLoss(blocks, fit_intercept=False, use_gram=False)
    assert _step_flops(light) == 36 < _HEAVY_STEP_FLOPS <= _step_flops(heavy)

    def takes(share, n_jobs=2, queued=5, step_seconds=0.0):
        backend = ThreadingBackend(n_jobs=n_jobs)
        backend._jobs, backend._closing = queue.SimpleQueue(), threading.Event()
        backend.read_batch, backend._share = object(), share
        backend._step_seconds = step_seconds
        for t in range(queued):
            backend.activate(t, 0.0)
        sizes = []
        while not backend._jobs.empty():
            sizes.append(len(backend._take()))
        return sizes

    assert takes(False) == [5]
    assert takes(True) == [3, 1, 1]
    assert takes(True, n_jobs=3, queued=7) == [3, 2, 1, 1]
    # The first take measures one step; then at most about 0.1 s of steps.
    assert takes(False, step_seconds=None) == [1] + [1] * 4
    assert takes(False, queued=9, step_seconds=0.03) == [3, 3, 3]


def test_batch_calls_an_instance_patched_step():
    """A step patched on the instance (a spy, ``mock.patch.object``) is
    called, not bypassed by the batched Gram form."""
    datafit = DATAFITS["gram"]()
    calls = []
    stock = datafit.task_gradient

    def spy(t, w, bt=None):
        calls.append(t)
        return stock(t, w, bt)

    datafit.task_gradient = spy
    res = run_amtl(
        datafit,
        0.05,
        SequentialBackend(),
        refresh_every=datafit.n_tasks,
        max_epochs=3,
        tol=0.0,
        objective=lambda W, b: 0.0,
    )
    assert len(calls) >= res.n_updates > 0


def test_closed_threading_backend_lets_the_central_node_go():
    datafit = DATAFITS["gram"]()
    backend = ThreadingBackend(n_jobs=2)
    run_amtl(datafit, 0.05, backend, max_epochs=2, tol=0.0)
    assert backend.read_batch is None

"""The certified warm-started low-rank trace-norm prox (penalties/_lowrank.py).

Every low-rank result is compared with the exact prox (Gram + eigh, or SVD);
the certificate's failure paths must end in the exact prox.
"""

import numpy as np
import pytest

from skmtl.penalties import TraceNorm
from skmtl.penalties._lowrank import ProxState, _probe_bound, lowrank_svt
from skmtl.penalties._trace_norm import prox_trace_norm


def low_rank_plus_noise(rng, d, T, rank, theta, top=20.0, bottom=2.0, noise=0.5):
    """Rank ``rank`` with singular values in [bottom, top] * theta, plus Gaussian
    noise of spectral norm ``noise * theta``."""
    U = np.linalg.qr(rng.standard_normal((d, rank)))[0]
    X = np.linalg.qr(rng.standard_normal((T, rank)))[0]
    s = np.linspace(top, bottom, rank) * theta
    N = rng.standard_normal((d, T))
    N *= noise * theta / np.linalg.norm(N, 2)
    return (U * s) @ X.T + N


def rel_err(P, Q):
    return np.linalg.norm(P - Q) / max(np.linalg.norm(Q), 1e-300)


def small_state(**kw):
    # small matrices, where the exact prox is cheap: lift the size and work
    # limits so that the low-rank route itself is exercised
    kw.setdefault("min_size", 16)
    kw.setdefault("work_budget", 100.0)
    return ProxState(**kw)


@pytest.mark.parametrize("shape", [(300, 200), (200, 300), (250, 250)])
def test_cold_and_warm_match_exact(shape):
    rng = np.random.default_rng(0)
    theta = 1.0
    V = low_rank_plus_noise(rng, *shape, rank=6, theta=theta)
    state = small_state()
    P, rank = prox_trace_norm(V, theta, return_rank=True, state=state)
    assert state.last_info["route"] == "lowrank"
    assert rank == 6
    assert rel_err(P, prox_trace_norm(V, theta)) < 1e-10
    # a nearby matrix (the next iterate of a solver): warm start
    for _ in range(3):
        V = V + 1e-3 * rng.standard_normal(V.shape) / np.sqrt(shape[1])
        P = prox_trace_norm(V, theta, state=state)
        assert state.last_info["route"] == "lowrank"
        assert rel_err(P, prox_trace_norm(V, theta)) < 1e-10
    assert state.n_lowrank == 4 and state.n_exact == 0


def test_warm_start_needs_fewer_iterations():
    rng = np.random.default_rng(1)
    V = low_rank_plus_noise(rng, 300, 300, rank=5, theta=1.0)
    state = small_state()
    prox_trace_norm(V, 1.0, state=state)
    cold = state.last_info["iterations"]
    prox_trace_norm(V + 1e-8 * rng.standard_normal(V.shape), 1.0, state=state)
    assert state.last_info["route"] == "lowrank"
    assert state.last_info["iterations"] < cold


def test_rank_grows_between_calls():
    rng = np.random.default_rng(2)
    state = small_state(oversampling=4)
    V = low_rank_plus_noise(rng, 400, 300, rank=3, theta=1.0)
    prox_trace_norm(V, 1.0, state=state)
    assert state.rank == 3
    # the next matrix has rank 20: the block of 3 + 4 is too small and grows
    V2 = low_rank_plus_noise(rng, 400, 300, rank=20, theta=1.0)
    P, rank = prox_trace_norm(V2, 1.0, return_rank=True, state=state)
    assert rank == 20
    assert state.n_backoffs >= 1
    assert state.last_info["route"] == "lowrank"
    assert rel_err(P, prox_trace_norm(V2, 1.0)) < 1e-10


def test_fallback_to_exact_when_rank_is_large():
    rng = np.random.default_rng(3)
    V = rng.standard_normal((200, 150))
    # about half of the singular values survive
    theta = float(np.median(np.linalg.svd(V, compute_uv=False)))
    state = small_state()
    P, rank = prox_trace_norm(V, theta, return_rank=True, state=state)
    assert rank > 150 // 4
    assert state.last_info["route"] == "exact"
    assert rel_err(P, prox_trace_norm(V, theta)) < 1e-12
    # the exact route keeps the right singular vectors for the next call
    assert state.basis.shape[0] == 150
    assert state.rank == rank


def test_certificate_failure_when_noise_sits_at_the_threshold():
    # Flat noise just below the threshold: the probabilistic bound (inflated
    # by (||A^q Omega|| / beta)^(1/2q)) cannot certify, so every block size
    # fails and the exact prox is returned.
    rng = np.random.default_rng(4)
    V = low_rank_plus_noise(rng, 200, 200, rank=3, theta=1.0, noise=0.99)
    state = small_state(max_iter=8)
    P = prox_trace_norm(V, 1.0, state=state)
    assert state.last_info["route"] == "exact"
    assert state.n_backoffs >= 1
    assert rel_err(P, prox_trace_norm(V, 1.0)) < 1e-12


def test_probe_detects_a_missed_singular_value():
    rng = np.random.default_rng(5)
    V = low_rank_plus_noise(rng, 200, 150, rank=4, theta=1.0)
    Ub, s, Xt = np.linalg.svd(V, full_matrices=False)
    state = small_state()
    # deflate by the top 3 triplets only: the 4th (2 theta) is above the threshold
    upper, lower, _ = _probe_bound(V, Ub[:, :3], Xt[:3].T, 1.0, state)
    assert lower > 1.0
    assert upper >= s[3] * (1 - 1e-12)
    # deflated by all four: certified below the threshold, and a valid bound
    upper, lower, _ = _probe_bound(V, Ub[:, :4], Xt[:4].T, 1.0, state)
    assert lower <= s[4] * (1 + 1e-12) <= upper
    assert upper <= 1.0


def test_probe_upper_bound_holds_over_seeds():
    rng = np.random.default_rng(6)
    V = rng.standard_normal((80, 60)) * np.linspace(1, 0.01, 60)
    U = np.zeros((80, 0))
    X = np.zeros((60, 0))
    s_max = np.linalg.norm(V, 2)
    for seed in range(50):
        state = small_state(random_state=seed, max_power=2)
        # theta just above s_max: neither early exit fires, every power runs
        upper, lower, q = _probe_bound(V, U, X, s_max * (1 + 1e-6), state)
        assert q == 2
        assert lower <= s_max * (1 + 1e-12) <= upper


def test_lowrank_svt_returns_none_for_small_matrices():
    state = ProxState()  # min_size 128
    assert lowrank_svt(np.ones((50, 50)), 1.0, state) is None
    assert state.last_info["reason"] == "small"


def test_penalty_prox_state_and_transposed():
    rng = np.random.default_rng(7)
    pen = TraceNorm()
    state = pen.prox_state()
    assert isinstance(state, ProxState)
    state.min_size, state.work_budget = 16, 100.0
    V = low_rank_plus_noise(rng, 220, 180, rank=4, theta=0.3)
    P = pen.prox(V, 0.3, state=state)
    assert rel_err(P, pen.prox(V, 0.3)) < 1e-10
    assert state.last_info["route"] == "lowrank"
    # zeros and everything-thresholded keep working with a state
    assert not pen.prox(np.zeros((200, 200)), 1.0, state=state).any()
    assert not pen.prox(V, 1e6, state=state).any()
    # a shape change drops the warm start instead of failing
    P2 = pen.prox(V.T, 0.3, state=state)
    assert rel_err(P2, P.T) < 1e-10


@pytest.mark.parametrize(
    "kwargs",
    [
        {"oversampling": 0},
        {"n_probes": 0},
        {"max_power": 0},
        {"max_fraction": 0.0},
        {"work_budget": 0.0},
    ],
)
def test_bad_options(kwargs):
    with pytest.raises(ValueError):
        ProxState(**kwargs)


def test_power_of_two_scaling_with_state():
    rng = np.random.default_rng(8)
    V = low_rank_plus_noise(rng, 200, 200, rank=3, theta=1.0) * 2.0**200
    state = small_state()
    P = prox_trace_norm(V, 2.0**200, state=state)
    assert rel_err(P, prox_trace_norm(V, 2.0**200)) < 1e-10


def test_exact_route_on_the_features_side_seeds_the_warm_start():
    # d < T: the exact prox works on V V^T; its left vectors are mapped to the
    # right ones, which then warm-start the low-rank route.
    rng = np.random.default_rng(9)
    V = low_rank_plus_noise(rng, 140, 400, rank=30, theta=1.0)
    state = small_state()
    prox_trace_norm(V, 1.0, state=state)
    assert state.last_info["route"] == "exact"  # 30 > 140 / 4
    X = state.basis
    assert X.shape[0] == 400
    np.testing.assert_allclose(X.T @ X, np.eye(X.shape[1]), atol=1e-8)
    V2 = low_rank_plus_noise(rng, 140, 400, rank=5, theta=1.0)
    state.max_fraction = 0.5
    # after a failure the route is skipped once, then tried again
    prox_trace_norm(V2, 1.0, state=state)
    assert state.last_info["lowrank"]["reason"] == "skipped after a failure"
    P = prox_trace_norm(V2, 1.0, state=state)
    assert state.last_info["route"] == "lowrank"
    assert rel_err(P, prox_trace_norm(V2, 1.0)) < 1e-10


def test_work_budget_and_skipping_after_failures():
    rng = np.random.default_rng(10)
    V = low_rank_plus_noise(rng, 200, 200, rank=3, theta=1.0, noise=0.99)
    # only the work budget stops it; no plan from the exact spectra, so the
    # route is retried on the skipping schedule alone
    state = small_state(max_fraction=1.0, work_budget=1.0)
    state.plan = lambda s, theta, shape: None
    routes = []
    for _ in range(8):
        P = prox_trace_norm(V, 1.0, state=state)
        routes.append(state.last_info.get("lowrank", {}).get("reason"))
        assert rel_err(P, prox_trace_norm(V, 1.0)) < 1e-12
    assert routes[0] == "work budget"
    # skipped 1, then 2, then 4 calls after each consecutive failure
    assert routes[1:] == [
        "skipped after a failure",
        "work budget",
        "skipped after a failure",
        "skipped after a failure",
        "work budget",
        "skipped after a failure",
        "skipped after a failure",
    ]


def test_plan_declines_when_values_crowd_below_the_threshold():
    # noise up to 0.99 theta: after one failure the exact spectra predict that
    # the route cannot pay, so it declines at once (no iteration, no budget)
    rng = np.random.default_rng(11)
    V = low_rank_plus_noise(rng, 200, 200, rank=3, theta=1.0, noise=0.99)
    state = small_state(max_fraction=1.0, work_budget=1.0)
    reasons = []
    for _ in range(6):
        V = V + 1e-4 * rng.standard_normal(V.shape) / 200
        P = prox_trace_norm(V, 1.0, state=state)
        assert rel_err(P, prox_trace_norm(V, 1.0)) < 1e-12
        reasons.append(state.last_info.get("lowrank", {}).get("reason"))
    assert reasons[0] == "work budget"
    assert reasons[1] == "skipped after a failure"
    assert reasons[2:] == ["predicted not to pay"] * 4
    assert "iterations" not in state.last_info["lowrank"]


def test_plan_gives_the_block_that_certifies():
    # a spectrum the route handles: the plan from an exact prox is a block of
    # at least rank + oversampling, the exact vectors kept are that many, and
    # the next (nearby) matrix certifies on that block
    rng = np.random.default_rng(12)
    V = low_rank_plus_noise(rng, 300, 250, rank=6, theta=1.0, noise=0.5)
    state = small_state()
    s = np.linalg.svd(V, compute_uv=False)
    k = state.plan(s, 1.0, V.shape)
    assert 6 + state.oversampling <= k <= 250 // 4
    state._skip = 1  # force the exact route once
    prox_trace_norm(V, 1.0, state=state)
    assert state.last_info["route"] == "exact"
    assert state.basis.shape[1] == k
    V2 = V + 1e-4 * rng.standard_normal(V.shape) / 250
    P = prox_trace_norm(V2, 1.0, state=state)
    assert state.last_info["route"] == "lowrank"
    assert state.last_info["k"] == k
    assert state.last_info["bound"] <= 1.0
    assert rel_err(P, prox_trace_norm(V2, 1.0)) < 1e-10
    # the plan is zero when too many values must be captured
    flat = np.concatenate([[5.0, 4.0], np.full(248, 0.98)])
    assert state.plan(flat, 1.0, V.shape) == 0
    # and None below min_size (no prediction)
    assert state.plan(s[:10], 1.0, (10, 10)) is None


def test_doomed_attempt_gives_up_early():
    # noise up to 0.95 theta on a fresh state (no spectrum to plan from): the
    # Ritz values show that converging every value above the probe's reach
    # would overrun the budget, so the attempt stops after a few iterations
    # instead of spending the whole budget (and the result is the exact prox)
    rng = np.random.default_rng(13)
    V = low_rank_plus_noise(rng, 300, 300, rank=4, theta=1.0, noise=0.95)
    state = small_state(max_fraction=1.0, work_budget=1.0)
    P = prox_trace_norm(V, 1.0, state=state)
    tried = state.last_info["lowrank"]
    assert tried["reason"] == "work budget"
    assert tried["iterations"] <= 6
    assert state._spent < 0.25 * state._budget
    assert rel_err(P, prox_trace_norm(V, 1.0)) < 1e-12


def test_shifted_iteration_is_exact_and_not_slower():
    rng = np.random.default_rng(14)
    V = low_rank_plus_noise(rng, 300, 300, rank=6, theta=1.0, noise=0.5)
    ref = prox_trace_norm(V, 1.0)
    iterations = {}
    for shift in (False, True):
        state = small_state()
        state.shift = shift
        P = prox_trace_norm(V, 1.0, state=state)
        assert state.last_info["route"] == "lowrank"
        assert rel_err(P, ref) < 1e-10
        iterations[shift] = state.last_info["iterations"]
    assert iterations[True] <= iterations[False]

"""Every backend and schedule reaches the centralized optimum; SMTL with
relaxation 1 is exactly proximal gradient; sequential AMTL is cyclic block KM.
"""

import numpy as np
import pytest
from _amtl_reference import (
    PROBLEMS,
    Problem,
    backend_config,
    np_prox,
    objective,
    reference,
)

from skmtl._amtl import (
    DelayModel,
    SequentialBackend,
    run_amtl,
)
from skmtl.datafits._losses import SquaredLoss, TaskBlocks
from skmtl.solvers._fista import solve


# --------------------------------------------------------------------------- #
# Convergence to the centralized optimum
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize(
    "backend_name", ["sequential", "threading", "simulated", "simulated-delays"]
)
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("splitting", ["forward-backward", "douglas-rachford"])
def test_reaches_centralized_optimum(problem, backend_name, schedule, splitting):
    """Both task steps (gradient, exact per-task prox) reach the same optimum."""
    prob, W_ref, b_ref, F_ref = reference(problem)
    df = prob.datafit()
    backend, delay = backend_config(backend_name)
    res = run_amtl(
        df,
        prob.alpha,
        backend,
        schedule=schedule,
        splitting=splitting,
        delay_model=delay,
        tol=1e-8,
        max_epochs=20_000,
        random_state=0,
    )
    assert res.stop_reason == "converged" and res.converged
    assert res.splitting == splitting
    assert np.all(res.task_stats["staleness_max"] <= res.max_staleness)
    F = objective(df, prob.alpha, res.W, res.b)
    assert abs(F - F_ref) <= 1e-6 * abs(F_ref)
    np.testing.assert_allclose(res.W, W_ref, atol=1e-5 * np.abs(W_ref).max())
    if b_ref is not None:
        np.testing.assert_allclose(res.b, b_ref, atol=1e-5)
    else:
        assert res.b is None
    # The history: one row per epoch, objective of the prox at that time.
    h = res.history
    assert h["n_updates"][-1] == res.n_updates == res.task_stats["n_updates"].sum()
    assert np.all(np.diff(h["n_updates"]) > 0) and np.all(np.diff(h["time"]) >= 0)
    assert abs(h["objective"][-1] - F) <= 1e-6 * abs(F)
    assert h["residual"][-1] <= 1e-8 and res.residual <= 1e-8
    if schedule == "sync":
        assert np.all(res.task_stats["n_updates"] == res.n_epochs)


def test_douglas_rachford_accepts_any_positive_step():
    prob, *_ = reference("squared")
    df = prob.datafit()
    L = float(np.max(df.lipschitz))
    res = run_amtl(
        df,
        prob.alpha,
        SequentialBackend(),
        splitting="douglas-rachford",
        step_size=10.0 / L,
        max_epochs=2,
        tol=0.0,
    )
    assert res.step_size == 10.0 / L
    with pytest.raises(ValueError, match="step_size"):
        run_amtl(
            df,
            prob.alpha,
            SequentialBackend(),
            splitting="douglas-rachford",
            step_size=0.0,
        )
    with pytest.raises(ValueError, match="splitting"):
        run_amtl(df, prob.alpha, SequentialBackend(), splitting="admm")


@pytest.fixture(scope="module")
def school_problem(school_tasks):
    """Ten School tasks, features standardized over them, squared loss."""
    Xs, ys = school_tasks
    idx = range(0, len(Xs), 14)
    X_all = np.vstack([Xs[t] for t in idx])
    mu, sd = X_all.mean(axis=0), X_all.std(axis=0)
    sd[sd == 0] = 1.0
    bx = [(Xs[t] - mu) / sd for t in idx]
    by = [ys[t] for t in idx]
    ns = np.array([len(y) for y in by], dtype=float)
    blocks = TaskBlocks(bx, by, [np.ones(len(y)) for y in by], ns)
    df = SquaredLoss(blocks)
    alpha = 5.0
    ref = solve(df, alpha, tol=1e-10, max_iter=100_000)
    assert ref.converged
    return df, alpha, ref.W, objective(df, alpha, ref.W, None)


@pytest.mark.parametrize("schedule", ["async", "sync"])
@pytest.mark.parametrize("backend_name", ["sequential", "threading", "simulated"])
def test_school_reaches_centralized_optimum(school_problem, backend_name, schedule):
    df, alpha, W_ref, F_ref = school_problem
    backend, _ = backend_config(backend_name)
    delay = None
    if backend_name == "simulated":
        delay = DelayModel(offset=np.linspace(1.0, 3.0, df.n_tasks))
    res = run_amtl(
        df,
        alpha,
        backend,
        schedule=schedule,
        delay_model=delay,
        tol=1e-8,
        max_epochs=20_000,
        random_state=0,
    )
    assert res.stop_reason == "converged"
    # The solution is not trivial: several singular values survive.
    assert np.sum(np.linalg.svd(W_ref, compute_uv=False) > 1e-8) >= 2
    F = objective(df, alpha, res.W, None)
    assert abs(F - F_ref) <= 1e-6 * abs(F_ref)


# --------------------------------------------------------------------------- #
# SMTL is proximal gradient; sequential AMTL is cyclic block KM
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_rounds", [1, 2, 7])
@pytest.mark.parametrize("backend_name", ["sequential", "threading", "simulated"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_smtl_is_proximal_gradient(problem, backend_name, n_rounds):
    prob = Problem(**PROBLEMS[problem])
    eta = 0.9 / prob.lipschitz()
    theta = eta * prob.alpha
    W, b = np.zeros((prob.d, prob.T)), prob.initial_intercept()
    for _ in range(n_rounds):
        G, gb = prob.gradient(W, b)
        W = np_prox(W - eta * G, theta)
        if b is not None:
            b = b - eta * gb
    backend, _ = backend_config(backend_name)
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        backend,
        schedule="sync",
        step_size=eta,
        relaxation=1.0,
        max_epochs=n_rounds,
        tol=0.0,
    )
    assert res.stop_reason == "max_iter" and res.n_epochs == n_rounds
    assert res.step_size == eta and res.relaxation == 1.0
    assert len(res.history) == n_rounds
    assert np.linalg.norm(res.W - W) <= 1e-12 * np.linalg.norm(W)
    if b is None:
        assert res.b is None
    else:
        np.testing.assert_allclose(res.b, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("relaxation", [1.0, 0.5])
@pytest.mark.parametrize("problem", ["squared", "logistic"])
def test_sequential_amtl_is_cyclic_block_km(problem, relaxation):
    """Each update reads the fresh prox (refresh_every=1); the KM step is
    anchored at v_t."""
    prob = Problem(**PROBLEMS[problem])
    eta = 1.0 / prob.lipschitz()
    theta = eta * prob.alpha
    V, b = np.zeros((prob.d, prob.T)), prob.initial_intercept()
    n_epochs = 4
    for _ in range(n_epochs):
        for t in range(prob.T):
            P = np_prox(V, theta)
            G, gb = prob.gradient(P, b)  # only column t (and b_t) is used
            V[:, t] += relaxation * (P[:, t] - eta * G[:, t] - V[:, t])
            if b is not None:
                b[t] += relaxation * (b[t] - eta * gb[t] - b[t])
    res = run_amtl(
        prob.datafit(),
        prob.alpha,
        SequentialBackend(),
        step_size=eta,
        relaxation=relaxation,
        refresh_every=1,
        max_epochs=n_epochs,
        tol=0.0,
    )
    W = np_prox(V, theta)
    assert np.linalg.norm(res.W - W) <= 1e-10 * np.linalg.norm(W)
    if b is not None:
        np.testing.assert_allclose(res.b, b, rtol=1e-10)
    assert np.all(res.task_stats["staleness_max"] == 0)

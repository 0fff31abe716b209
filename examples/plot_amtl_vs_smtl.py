"""
===========================================
AMTL against SMTL under network delays
===========================================

Asynchronous multi-task learning (AMTL) lets every task node send its update
as soon as it is ready; its synchronous counterpart (SMTL) waits, every round,
for the slowest of the ``T`` task nodes.  With random network delays, and even
more with a straggler, AMTL reaches the same optimum in less (virtual) time.

Both schedules run here on the ``'simulated'`` backend: a seeded
discrete-event simulation in *virtual* seconds, so a run with delays of
several seconds per message takes a fraction of a second of real time and is
reproducible bit for bit.  The setting is the synthetic one of the AMTL paper
(Baytas et al., 2016): 100 samples per task, 50 features, a rank-3 task
matrix, the squared loss summed over samples and no intercept.
"""

# %%
# The problem and its optimum
# ---------------------------
import matplotlib.pyplot as plt
import numpy as np

from skmtl import (
    AsyncTraceNormMTLRegressor,
    DelayModel,
    SimulatedBackend,
    TraceNormMTLRegressor,
    spectral_norm,
    trace_norm,
)
from skmtl.datasets import make_low_rank_regression

n_tasks = 10
X, y, _ = make_low_rank_regression(
    n_samples=100,
    n_features=50,
    n_tasks=n_tasks,
    rank=3,
    return_long=True,
    random_state=0,
)
task = X[:, -1].astype(int)

# alpha_max for the 'sum' loss without intercept: ||[X_t^T y_t]_t||_2.
gradient_at_zero = np.column_stack(
    [X[task == t, :-1].T @ y[task == t] for t in range(n_tasks)]
)
alpha = 0.1 * spectral_norm(gradient_at_zero)
common = dict(alpha=alpha, task_column=-1, loss_scaling="sum", fit_intercept=False)


def objective(coef):
    """F(W) = sum_t 0.5 ||y_t - X_t w_t||^2 + alpha ||W||_*."""
    residual = y - np.einsum("ij,ij->i", X[:, :-1], coef[task])
    return 0.5 * residual @ residual + alpha * trace_norm(coef)


# The centralized solver gives the reference optimum F*.
f_star = objective(TraceNormMTLRegressor(tol=1e-12, **common).fit(X, y).coef_)
print(f"F* = {f_star:.6f}")


# %%
# A simulated backend that also records a timeline
# ------------------------------------------------
# The estimators accept a backend object.  This subclass of
# :class:`~skmtl.SimulatedBackend` notes, for every reply, the task and the
# virtual times at which its activation started and its answer arrived (each
# reply carries its round-trip time).  It is a diagnostic for this example
# only; the plain ``backend='simulated'`` is all a fit needs.
class TimelineBackend(SimulatedBackend):
    def __init__(self, compute_time=0.0, timeline=None):
        super().__init__(compute_time=compute_time)
        self.timeline = timeline

    def next_replies(self, timeout=None):
        replies = super().next_replies(timeout)
        arrival = self.now()
        for reply in replies:
            self.timeline.append((reply.task, arrival - reply.round_trip, arrival))
        return replies


def run(schedule, delay, **params):
    """Fit with one schedule; return the model and its timeline."""
    timeline = []
    model = AsyncTraceNormMTLRegressor(
        backend=TimelineBackend(timeline=timeline),
        schedule=schedule,
        delay=delay,
        tol=1e-9,
        max_iter=1000,
        random_state=0,
        **common,
        **params,
    ).fit(X, y)
    return model, np.array(timeline)


def time_to_gap(model, rel_gap=1e-4):
    """First check (every T updates) within rel_gap of F*, in virtual seconds."""
    history = model.objective_history_
    hit = np.flatnonzero((history["objective"] - f_star) / f_star <= rel_gap)
    return history["time"][hit[0]] if len(hit) else np.nan


# %%
# Delays: the paper's offset plus a random part
# ---------------------------------------------
# Each round trip between a task node and the central node takes
# ``offset + jitter`` seconds; the paper does not name the distribution of the
# jitter, so :class:`~skmtl.DelayModel` defaults to an exponential one whose
# mean equals the offset.  A per-task offset makes a straggler: here task 0 is
# ten times slower than the others.
scenarios = {
    "equal delays (5 s + exp)": DelayModel(offset=5.0),
    "one straggler (50 s + exp)": DelayModel(offset=[50.0] + [5.0] * (n_tasks - 1)),
}
runs = {}
for name, delay in scenarios.items():
    for schedule in ("async", "sync"):
        runs[name, schedule] = run(schedule, delay)
    t_async = time_to_gap(runs[name, "async"][0])
    t_sync = time_to_gap(runs[name, "sync"][0])
    print(
        f"{name:28s} time to a 1e-4 gap: AMTL {t_async:7.0f} s, "
        f"SMTL {t_sync:7.0f} s, ratio {t_async / t_sync:.2f}"
    )

# %%
# Objective against virtual time
# ------------------------------
# ``objective_history_`` holds one row per epoch (``T`` updates) with the
# backend's clock in ``'time'``.  Both schedules converge to the same optimum;
# AMTL gets there sooner, and much sooner with a straggler, which SMTL waits
# for at every round while AMTL keeps updating the other tasks.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
for ax, name in zip(axes, scenarios, strict=True):
    for schedule, label in (("async", "AMTL"), ("sync", "SMTL")):
        history = runs[name, schedule][0].objective_history_
        gap = np.maximum((history["objective"] - f_star) / f_star, 1e-16)
        ax.semilogy(history["time"], gap, label=label)
    ax.axhline(1e-4, color="k", ls=":", lw=1)
    ax.set_xlabel("virtual time (s)")
    ax.set_title(name)
    ax.set_xlim(0, 2.5 * time_to_gap(runs[name, "sync"][0]))
axes[0].set_ylabel(r"relative gap $(F - F^*) / F^*$")
axes[0].set_ylim(1e-10, 10)
_ = axes[0].legend()

# %%
# Timeline: who works when
# ------------------------
# Each bar is one activation of a task: it reads its column of the published
# proximal map, computes a gradient step and sends it back.  Under SMTL all
# tasks start together and every round waits for the straggler (task 0): the
# gaps are idle task nodes.  Under AMTL the fast tasks keep going while the
# straggler's answer travels, but they too pause now and then.  That is the
# staleness cap at work: the straggler's pending read may not fall more than
# ``max_staleness`` (here 40) versions behind, so after about 40 updates of
# the others, they wait for its answer.
name = "one straggler (50 s + exp)"
fig, axes = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, layout="constrained")
for ax, (schedule, label) in zip(
    axes, (("async", "AMTL"), ("sync", "SMTL")), strict=True
):
    timeline = runs[name, schedule][1]
    for t in range(n_tasks):
        rows = timeline[timeline[:, 0] == t]
        ax.broken_barh(
            list(zip(rows[:, 1], rows[:, 2] - rows[:, 1], strict=True)),
            (t - 0.4, 0.8),
            facecolors=f"C{t % 10}",
            edgecolor="white",
            linewidth=0.5,
        )
    ax.set_yticks(range(n_tasks))
    ax.set_ylabel("task")
    ax.set_title(f"{label}, {name}")
axes[1].set_xlim(0, 400)
_ = axes[1].set_xlabel("virtual time (s)")

# %%
# Per-task statistics and staleness
# ---------------------------------
# ``task_stats_`` counts, per task, the updates applied and their
# *staleness*: how many updates of other tasks were applied between the
# moment a task read the model and the moment its own update was applied.
# The straggler contributes few updates, all of them stale; the theory of AMTL
# assumes that every task is activated at the same rate, which stragglers
# break, so look at these counts when a fit behaves oddly.  Staleness is
# capped by ``max_staleness`` (``4 * n_tasks`` by default): a task that gets
# too far ahead waits.
model = runs[name, "async"][0]
stats = model.task_stats_
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.5), layout="constrained")
positions = np.arange(n_tasks)
ax.bar(positions, stats["n_updates"])
ax.set_ylabel("updates applied")
ax.set_xticks(positions)
ax.set_xlabel("task")
ax.set_title(f"AMTL, {name}: updates per task")
ax2.plot(positions, stats["staleness_mean"], "o", label="mean")
ax2.plot(positions, stats["staleness_max"], "^", label="max")
ax2.axhline(model.max_staleness_, color="k", ls=":", lw=1, label="cap")
ax2.set_ylim(0, 1.15 * model.max_staleness_)
ax2.set_xticks(positions)
ax2.set_xlabel("task")
ax2.set_ylabel("staleness (updates)")
ax2.set_title(f"staleness, max_staleness_ = {model.max_staleness_}")
ax2.legend(loc="center right")
print("updates per task:", stats["n_updates"])
print("stop reason:", model.stop_reason_, "after", model.n_updates_, "updates")

# %%
# How far may fast tasks run ahead?
# ---------------------------------
# A tighter cap makes the fast tasks wait for the straggler more often; a
# looser one lets them make more updates, but beyond a point those extra
# updates no longer help: the straggler's column is what remains to be
# learned.  ARock's guaranteed relaxation shrinks as the cap grows
# (``relaxation_bound_``), which is why skmtl defaults to a relaxation of 1
# with a moderate cap rather than to the bound.
for max_staleness in (10, 20, 40, 80, 160):
    capped, _ = run("async", scenarios[name], max_staleness=max_staleness)
    print(
        f"max_staleness {max_staleness:3d}: time to 1e-4 "
        f"{time_to_gap(capped):5.0f} s, updates of the fast tasks "
        f"{capped.task_stats_['n_updates'][1:].sum():5d}, ARock's bound "
        f"{capped.relaxation_bound_:.3f}"
    )

# %%
# The dynamic step size is a larger relaxation
# --------------------------------------------
# The paper's dynamic step multiplies each task's relaxation by
# ``log(max(mean of its last 5 delays, 10))``, at least ``log(10) = 2.30``.
# skmtl clips the result at ``DynamicStep.max_relaxation`` (1.4), so with the
# default relaxation of 1 every update uses 1.4: exactly the same run as a
# constant ``relaxation=1.4``.
delay = scenarios["equal delays (5 s + exp)"]
dynamic, _ = run("async", delay, dynamic_step=True)
constant, _ = run("async", delay, relaxation=1.4)
print(
    f"dynamic step: {time_to_gap(dynamic):.0f} s, relaxation used "
    f"{dynamic.task_stats_['relaxation_mean'].mean():.2f}; "
    f"constant relaxation 1.4: {time_to_gap(constant):.0f} s"
)
print(
    "same coefficients:",
    np.array_equal(dynamic.coef_, constant.coef_),
)
plt.show()

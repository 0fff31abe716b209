"""
=============================================
Low-rank recovery and the singular values
=============================================

The trace norm :math:`\\|W\\|_*` is the sum of the singular values of the
task matrix :math:`W = [w_1 \\dots w_T]`.  Penalizing it does to the singular
values what the lasso does to coefficients: it shrinks them all by the same
amount and sets the small ones exactly to zero, so the fitted tasks share a
low-dimensional subspace.

Here 30 regression tasks share a rank-3 weight matrix, and each task has only
40 training rows for 50 features: alone, no task can be learned well.  We fit
:class:`~skmtl.TraceNormMTLRegressor` along a grid of ``alpha`` and watch the
spectrum of ``coef_``, the rank, and the error against the true weights.
"""

# %%
# Data: 30 tasks, 50 features, a rank-3 task matrix
# -------------------------------------------------
# :func:`~skmtl.datasets.make_low_rank_regression` draws
# ``W = A B / sqrt(rank)`` with Gaussian ``A`` and ``B``, one Gaussian design
# per task and Gaussian noise.  We draw 240 rows per task and keep 40 of each
# task for training (long format: the task index is the last column of ``X``).
import matplotlib.pyplot as plt
import numpy as np

from skmtl import TraceNormMTLRegressor, spectral_norm
from skmtl.datasets import make_low_rank_regression
from skmtl.metrics import multitask_explained_variance
from skmtl.model_selection import train_test_split_tasks

n_tasks, n_features, rank = 30, 50, 3
X, y, W_true = make_low_rank_regression(
    n_samples=240,
    n_features=n_features,
    n_tasks=n_tasks,
    rank=rank,
    noise=3.0,
    return_long=True,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split_tasks(
    X, y, test_size=200, random_state=0
)
print(f"train: {X_train.shape}, test: {X_test.shape}")
print("true singular values:", np.linalg.svd(W_true, compute_uv=False)[:5].round(2))

# %%
# The largest useful alpha
# ------------------------
# Above ``alpha_max``, the spectral norm of the gradient of the data fit at
# ``W = 0`` (intercepts at their optimum), the solution is ``W = 0``.  With
# the default ``loss_scaling='mean'`` and per-task intercepts, task ``t``'s
# column of that gradient is :math:`-X_t^{c\top} y_t^c / n_t` with the task's
# rows centered.
tasks = X_train[:, -1]
gradient_at_zero = []
for t in np.unique(tasks):
    Xt, yt = X_train[tasks == t, :-1], y_train[tasks == t]
    gradient_at_zero.append((Xt - Xt.mean(0)).T @ (yt - yt.mean()) / len(yt))
alpha_max = spectral_norm(np.column_stack(gradient_at_zero))
print(f"alpha_max = {alpha_max:.3f}")

# %%
# A path over alpha
# -----------------
# Each fit is solved to a certified duality gap; warm starts reuse the
# previous solution along the decreasing grid.
ratios = np.geomspace(1, 1e-3, 16)
model = TraceNormMTLRegressor(task_column=-1, warm_start=True)
spectra, errors, scores = [], [], []
for ratio in ratios:
    model.set_params(alpha=ratio * alpha_max).fit(X_train, y_train)
    spectra.append(np.linalg.svd(model.coef_, compute_uv=False))
    errors.append(np.linalg.norm(model.coef_.T - W_true) / np.linalg.norm(W_true))
    scores.append(
        multitask_explained_variance(y_test, model.predict(X_test), X_test[:, -1])
    )
spectra = np.array(spectra)
ranks = (spectra > 1e-10 * max(spectra.max(), 1e-300)).sum(axis=1)
best = int(np.argmax(scores))
print(
    f"best alpha = {ratios[best]:.3g} alpha_max: rank {ranks[best]}, "
    f"relative error {errors[best]:.3f}, test explained variance {scores[best]:.3f}"
)
exact = ratios[ranks == rank]
print(f"rank {rank} for alpha / alpha_max in [{exact.min():.3g}, {exact.max():.3g}]")
print(
    f"smallest alpha = {ratios[-1]:.3g} alpha_max: rank {ranks[-1]}, "
    f"relative error {errors[-1]:.3f}, test explained variance {scores[-1]:.3f}"
)

# %%
# The spectrum along the path
# ---------------------------
# Every singular value of ``coef_`` is plotted against ``alpha``.  The three
# large ones (solid) follow the true singular values (dashed) once ``alpha``
# is small enough; the others, pure noise, stay at zero until ``alpha`` gets
# small and then grow: the fit starts to explain noise.
true_sv = np.linalg.svd(W_true, compute_uv=False)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
ax = axes[0]
for k in range(min(12, spectra.shape[1])):
    ax.plot(ratios, spectra[:, k], color="C0" if k < rank else "C7", lw=1.5)
for s in true_sv[:rank]:
    ax.axhline(s, color="C3", ls="--", lw=1)
ax.axvline(ratios[best], color="k", ls=":", lw=1)
ax.axvspan(exact.min(), exact.max(), color="C2", alpha=0.15, label=f"rank = {rank}")
ax.legend(loc="upper left")
ax.set_xscale("log")
ax.set_xlabel(r"$\alpha / \alpha_{max}$")
ax.set_ylabel("singular values of coef_")
ax.set_title("Spectrum along the path (dashed: true W)")
ax.invert_xaxis()

ax = axes[1]
ax.plot(ratios, errors, "o-", label=r"$\|\hat W - W\|_F / \|W\|_F$")
ax.plot(ratios, scores, "s-", label="test explained variance")
ax.axvline(ratios[best], color="k", ls=":", lw=1)
ax.set_xscale("log")
ax.set_xlabel(r"$\alpha / \alpha_{max}$")
ax.set_ylim(-0.05, 1.05)
ax.invert_xaxis()
ax2 = ax.twinx()
ax2.step(ratios, ranks, where="mid", color="C2", alpha=0.6)
ax2.set_ylabel("rank of coef_", color="C2")
ax.legend(loc="center left")
_ = ax.set_title("Error, test score and rank")

# %%
# What to read from it
# --------------------
# * In the shaded range the fit has exactly the true rank: three directions
#   shared by all 30 tasks.
# * The ``alpha`` that predicts best (dotted line) is somewhat smaller and
#   keeps a few small extra singular values: as with the lasso, the penalty
#   that predicts best is not the one that recovers the structure exactly.
#   Its error is still far below that of the nearly unregularized fit on the
#   right, which spreads over all 30 dimensions and fits the noise.
# * The trace norm also shrinks the singular values it keeps, which is why
#   they stay below the dashed lines: the bias of a convex penalty.
#
# In practice choose ``alpha`` by cross-validation with a task-aware splitter
# (see :ref:`sphx_glr_auto_examples_plot_school_grid_search.py`).
plt.show()

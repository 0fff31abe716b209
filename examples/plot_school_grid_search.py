"""
=======================================================
Grid search over a Pipeline on the School data
=======================================================

The School data (exam scores of 15,362 pupils in 139 London secondary
schools, one regression task per school) is the classic benchmark of
trace-norm multi-task learning.  It comes in *long format*: one row per pupil,
with the school in a column.  That is the layout skmtl's estimators take with
``task_column``, and the one that works with scikit-learn's ``Pipeline``,
``ColumnTransformer`` and ``GridSearchCV``, because the task travels with the
row through every split.

.. note::

   The School data is not shipped with skmtl, and this example never
   downloads anything.  It reads the real data with
   :func:`skmtl.datasets.load_school` when a local copy is at hand: in the
   data folder (``$SKMTL_DATA``, else ``~/skmtl_data``), or in a
   ``shared/data`` folder next to the checkout (MALSAR's
   ``school_malsar/school.mat``).  Otherwise it runs on a **generated
   stand-in with the same layout** (school id in the first column, 27
   features on very different scales, schools of 20 to 250 pupils), and says
   so in its output and figure titles: the stand-in's scores are not School's
   (on the real data the trace norm's gain over the baselines is far
   smaller).
"""

# %%
# The data: school id first, then the features
# --------------------------------------------
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import TraceNormMTLRegressor
from skmtl.datasets import load_school
from skmtl.metrics import get_task_scorer, multitask_explained_variance, per_task_score
from skmtl.model_selection import TaskStratifiedKFold, train_test_split_tasks


def make_school_like(n_schools=60, random_state=0):
    """School's layout on generated data.

    Column 0 is the school id, then 20 pupil-level features and 7 school-level
    features (constant within a school), all on different scales.  The school
    models share a common part plus a rank-2 variation, and the score is
    rounded and clipped to 1..70 like the exam scores of School.
    """
    rng = np.random.RandomState(random_state)
    sizes = rng.randint(20, 251, size=n_schools)
    scale = np.r_[rng.uniform(0.5, 40, 20), rng.uniform(1, 30, 7)]
    offset = np.r_[rng.uniform(0, 60, 20), rng.uniform(0, 50, 7)]
    W = rng.randn(27, 1) + 0.5 * rng.randn(27, 2) @ rng.randn(2, n_schools)
    rows, targets = [], []
    for t, n_t in enumerate(sizes):
        Z = np.c_[rng.randn(n_t, 20), np.tile(rng.randn(1, 7), (n_t, 1))]
        y = 25 + 2.5 * Z @ W[:, t] + 12 * rng.randn(n_t)
        rows.append(np.c_[np.full(n_t, t), offset + scale * Z])
        targets.append(np.clip(np.round(y), 1, 70))
    return np.vstack(rows), np.concatenate(targets)


def _shared_data_folders():
    """The ``shared/data`` folder next to the checkout holding this example."""
    try:
        return [Path(__file__).resolve().parents[2] / "shared" / "data"]
    except NameError:  # run interactively, from the checkout or examples/
        cwd = Path.cwd().resolve()
        return [cwd.parent / "shared" / "data", cwd.parents[1] / "shared" / "data"]


def load_data():
    """Real School from a local copy (never downloaded), else the stand-in."""
    try:  # the data folder: $SKMTL_DATA, else ~/skmtl_data; nothing is created
        X, y = load_school(download_if_missing=False, return_X_y=True)
    except OSError:
        X = None
    for folder in _shared_data_folders():
        if X is None and folder.is_dir():
            try:
                X, y = load_school(path=folder, return_X_y=True)
            except OSError:
                pass
    if X is not None:  # skmtl's layout has the school last: put it first
        return np.column_stack([X[:, -1], X[:, :-1]]), y, "School"
    return *make_school_like(), "generated School-like data (NOT School)"


X, y, source = load_data()
n_schools = len(np.unique(X[:, 0]))
print(f"{source}: {X.shape[0]} pupils, {n_schools} schools, {X.shape[1] - 1} features")

# %%
# A train/test split that keeps every school in both sets
# -------------------------------------------------------
# :func:`~skmtl.model_selection.train_test_split_tasks` draws 25 % of each
# school's rows for the test set.  The school id is column 0 here, so every
# task-aware helper gets ``task_column=0``.
X_train, X_test, y_train, y_test = train_test_split_tasks(
    X, y, test_size=0.25, task_column=0, random_state=0
)

# %%
# The pipeline
# ------------
# The features are on very different scales, so they are standardized; the
# school id must pass through untouched.  ``ColumnTransformer`` puts the
# ``remainder='passthrough'`` columns *after* the transformed ones, so the
# school id, column 0 of the raw data, becomes the **last** column of what
# the estimator sees: hence ``task_column=-1`` on the estimator, while the
# splitter and the scorer, which see the raw ``X``, use ``task_column=0``.
features = list(range(1, X.shape[1]))
preprocess = ColumnTransformer(
    [("scale", StandardScaler(), features)], remainder="passthrough"
)
model = make_pipeline(preprocess, TraceNormMTLRegressor(task_column=-1))
print(model)

# %%
# Grid search with a task-aware splitter and scorer
# -------------------------------------------------
# :class:`~skmtl.model_selection.TaskStratifiedKFold` splits every school's
# rows across the folds, so each training fold has every school (a school
# missing from training could not be predicted).  The scorer from
# :func:`~skmtl.metrics.get_task_scorer` reads the school of each test row
# from column 0 and computes the explained variance of the School literature
# (:func:`~skmtl.metrics.multitask_explained_variance`): one minus the squared
# error summed over all test rows, divided by the total variance of the
# scores around their overall mean.
cv = TaskStratifiedKFold(n_splits=5, task_column=0, shuffle=True, random_state=0)
scoring = get_task_scorer("explained_variance", task_column=0)
alphas = np.logspace(-2, 1.5, 15)  # up to ~alpha_max / 3 on School
search = GridSearchCV(
    model, {"tracenormmtlregressor__alpha": alphas}, cv=cv, scoring=scoring
)
search.fit(X_train, y_train)
best_alpha = search.best_params_["tracenormmtlregressor__alpha"]
print(f"best alpha = {best_alpha:.4g}, CV explained variance {search.best_score_:.3f}")

# %%
# Against two baselines
# ---------------------
# *Pooled*: one ridge model for all schools, which ignores the school id (the
# ColumnTransformer drops it).  *Independent*: one ridge model per school,
# each with its own cross-validated penalty, on the same standardized
# features.
pooled = make_pipeline(
    ColumnTransformer([("scale", StandardScaler(), features)], remainder="drop"),
    RidgeCV(alphas=np.logspace(-3, 3, 13)),
).fit(X_train, y_train)


def independent_ridge_predict(X_train, y_train, X_test):
    scaler = StandardScaler().fit(X_train[:, 1:])
    y_pred = np.empty(len(X_test))
    for school in np.unique(X_train[:, 0]):
        train, test = X_train[:, 0] == school, X_test[:, 0] == school
        ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(
            scaler.transform(X_train[train, 1:]), y_train[train]
        )
        if test.any():
            y_pred[test] = ridge.predict(scaler.transform(X_test[test, 1:]))
    return y_pred


predictions = {
    "pooled ridge": pooled.predict(X_test),
    "independent ridge": independent_ridge_predict(X_train, y_train, X_test),
    "trace norm": search.predict(X_test),
}
test_scores = {}
for name, y_pred in predictions.items():
    test_scores[name] = multitask_explained_variance(y_test, y_pred, X_test[:, 0])
    print(f"{name:18s} test explained variance {test_scores[name]:.3f}")

fitted = search.best_estimator_[-1]
singular_values = np.linalg.svd(fitted.coef_, compute_uv=False)
print(
    "rank of the selected model:",
    int(np.sum(singular_values > 1e-10 * singular_values[0])),
    "of",
    min(fitted.coef_.shape),
)

# %%
# The validation curve and the test scores
# ----------------------------------------
results = search.cv_results_
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
ax = axes[0]
mean, std = results["mean_test_score"], results["std_test_score"]
ax.semilogx(alphas, mean, "o-")
ax.fill_between(alphas, mean - std, mean + std, alpha=0.2)
ax.axvline(best_alpha, color="k", ls=":")
ax.set_xlabel("alpha")
ax.set_ylabel("explained variance (5-fold CV)")
ax.set_title("TaskStratifiedKFold, task-aware scorer")

ax = axes[1]
names = list(test_scores)
ax.barh(names, [test_scores[n] for n in names], color=["C7", "C1", "C0"])
for k, n in enumerate(names):
    ax.text(test_scores[n], k, f" {test_scores[n]:.3f}", va="center")
ax.set_xlabel("explained variance on the test rows")
ax.set_xlim(0, 1.15 * max(test_scores.values()))
_ = ax.set_title(source)

# %%
# Per-school scores
# -----------------
# :func:`~skmtl.metrics.per_task_score` scores every school separately (R^2
# by default).  Each dot compares one school's test R^2 under independent
# ridge and under the trace-norm model; most dots lie above the diagonal.
sizes = np.bincount(X_test[:, 0].astype(int))
per_school = {}
for name, y_pred in predictions.items():
    labels, per_school[name] = per_task_score(y_test, y_pred, X_test[:, 0])
    print(f"{name:18s} median per-school R^2 {np.median(per_school[name]):.3f}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
r2_ind, r2_mtl = per_school["independent ridge"], per_school["trace norm"]
ax.scatter(r2_ind, r2_mtl, s=8 + sizes[labels.astype(int)] / 2, alpha=0.6)
low = min(r2_ind.min(), r2_mtl.min())
ax.plot([low, 1], [low, 1], "k:", lw=1)
ax.set_xlabel("per-school R^2, independent ridge")
ax.set_ylabel("per-school R^2, trace norm")
ax.set_title("One dot per school (size: test rows)")
plt.show()

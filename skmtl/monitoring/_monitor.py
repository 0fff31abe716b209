"""Per-task convergence monitoring and distillation.

User guide: ``doc/user_guide/per_task_convergence.rst``.

Opt-in: an estimator given ``task_monitor=TaskMonitor(...)`` holds out a
validation fraction of every task, scores each task on it during the fit, and
flags a task as converged when its score has stopped improving.  What happens
then is the monitor's ``policy``.  This module holds the pieces that do not
depend on a solver: the parameters, the per-task validation split, the
detection rule and the distillation targets.  :mod:`skmtl.monitoring._hooks` runs them
inside the centralized solver and the AMTL engine.
"""

import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

from ..datafits._losses import TaskBlocks

__all__ = [
    "ConvergenceDetector",
    "TaskMonitor",
    "distill_soft_targets",
    "distill_targets",
    "split_validation",
]

POLICIES = ("continue", "snapshot", "freeze", "distill")
_METRICS = {"squared": ("mse",), "logistic": ("log_loss", "accuracy")}
# A task is monitored only if its validation part has at least this many rows.
MIN_VALIDATION_ROWS = 2


class TaskMonitor:
    """Per-task convergence monitoring, for the ``task_monitor`` parameter.

    During the fit, every ``check_every`` solver iterations (centralized
    estimators) or epochs (asynchronous ones), each task is scored on its own
    validation rows.  A task has converged when, after ``warm_up`` checks, its
    score has not improved by more than ``min_improvement`` (relative) for
    ``patience`` checks in a row.  The ``policy`` says what happens then.

    Parameters
    ----------
    validation_fraction : float, default=0.2
        Share of each task's training rows held out for validation (per class
        within each task for classifiers), unless ``X_val`` and ``y_val`` are
        passed to ``fit``.  A task too small to hold out
        ``MIN_VALIDATION_ROWS = 2`` rows (and keep two training rows, or one of
        each class) keeps all its rows and is never flagged, with a warning.
    warm_up : int, default=5
        Checks during which no task can be flagged (early validation curves
        oscillate under acceleration).
    patience : int, default=5
        Checks in a row without a significant improvement before a task is
        flagged.
    min_improvement : float, default=1e-3
        An improvement counts when the score beats the reference score by more
        than ``min_improvement * |reference|``.
    check_every : int, default=10
        Iterations (centralized) or epochs (asynchronous) between checks.
    metric : {'auto', 'mse', 'log_loss', 'accuracy'}, default='auto'
        Validation metric: 'mse' for regressors, 'log_loss' (the 'auto'
        choice) or 'accuracy' for classifiers.
    policy : {'continue', 'snapshot', 'freeze', 'distill'}, default='continue'
        What to do with a converged task:

        - 'continue': nothing; the fit runs to its tolerance and only the
          diagnostics are recorded;
        - 'snapshot': train as usual, then return each monitored task's best
          validation snapshot (its coefficients and intercept);
        - 'freeze': hold the task at its best snapshot from then on (its
          column stays in the trace norm; the other tasks keep learning);
        - 'distill': replace the task's targets by a blend of them and its best
          snapshot's predictions (see ``distill_weight``) and keep training.

        With any policy but 'continue' the fit also stops once every task has
        converged (a task that is not monitored never converges).
    distill_weight : float, default=1.0
        Blend weight ``a`` in [0, 1] of the distillation targets: squared loss
        ``(1 - a) y_t + a (X_t w_snap + b_snap)``; logistic loss
        ``(1 - a) * hard-label loss + a * tau^2 * soft-label loss`` with soft
        targets ``sigmoid(m_snap / tau)``.  0 trains on the labels alone.
    temperature : float, default=1.0
        Distillation temperature ``tau`` (logistic loss only).
    distill_period : int, default=4
        Asynchronous estimators with ``policy='distill'``: a distilled task is
        activated about once for every ``distill_period`` activations of a task
        still learning (a frozen task never again).
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split; None uses the estimator's
        ``random_state``.

    See Also
    --------
    TraceNormMTLRegressor, TraceNormMTLClassifier : take ``task_monitor``.

    Notes
    -----
    With a monitor, the centralized estimators always run the accelerated
    proximal gradient (FISTA), also for the squared loss whose default solver
    is ADMM: per-task early stopping needs a gradient path, which ADMM does not
    follow, and ADMM cannot be paused and resumed without its dual state.
    The user guide (``doc/user_guide/per_task_convergence.rst``) warns that
    gains were seen only with early stopping and a small ``alpha``; measure
    before relying on it
    (``benchmarks/bench_distillation.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import TaskMonitor, TraceNormMTLRegressor
    >>> monitor = TaskMonitor(warm_up=1, patience=2)
    >>> monitor.detect([5.0, 4.0, 3.0, 3.1, 3.2, 2.0])  # flagged at check 4
    4
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(100, 5)
    >>> Y = X @ rng.randn(5, 3) + rng.randn(100, 3)
    >>> model = TraceNormMTLRegressor(
    ...     alpha=0.01, task_monitor=TaskMonitor(policy="snapshot", random_state=0)
    ... ).fit(X, Y)
    >>> sorted(model.task_convergence_)
    ['best_at', 'best_score', 'converged', 'converged_at', 'monitored', 'policy']
    >>> model.task_convergence_["monitored"]
    array([ True,  True,  True])
    """

    _parameter_constraints = {
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_up": [Interval(Integral, 0, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "min_improvement": [Interval(Real, 0, None, closed="left")],
        "check_every": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"auto", "mse", "log_loss", "accuracy"})],
        "policy": [StrOptions(set(POLICIES))],
        "distill_weight": [Interval(Real, 0, 1, closed="both")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "distill_period": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        validation_fraction=0.2,
        *,
        warm_up=5,
        patience=5,
        min_improvement=1e-3,
        check_every=10,
        metric="auto",
        policy="continue",
        distill_weight=1.0,
        temperature=1.0,
        distill_period=4,
        random_state=None,
    ):
        self.validation_fraction = validation_fraction
        self.warm_up = warm_up
        self.patience = patience
        self.min_improvement = min_improvement
        self.check_every = check_every
        self.metric = metric
        self.policy = policy
        self.distill_weight = distill_weight
        self.temperature = temperature
        self.distill_period = distill_period
        self.random_state = random_state

    # -- the parameter protocol of scikit-learn (clone, nested set_params) --
    @classmethod
    def _get_param_names(cls):
        params = inspect.signature(cls.__init__).parameters
        return sorted(name for name in params if name != "self")

    def get_params(self, deep=True):
        """Parameters of the monitor (for ``clone`` and grid searches)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set parameters; ``estimator.set_params(task_monitor__patience=3)``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for TaskMonitor; valid "
                    f"parameters are {valid}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name in defaults
            if name != "self"
            and getattr(self, name) is not defaults[name]
            and getattr(self, name) != defaults[name]
        ]
        return f"TaskMonitor({', '.join(changed)})"

    def _validate(self, loss):
        """Check the parameters; return the metric for ``loss``."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        metric = self.metric
        if metric == "auto":
            metric = _METRICS[loss][0]
        if metric not in _METRICS[loss]:
            raise ValueError(
                f"metric={metric!r} does not fit the {loss} loss; use one of "
                f"{_METRICS[loss]} (or 'auto')."
            )
        return metric

    def detect(self, scores, greater_is_better=False):
        """Check at which a validation curve is flagged as converged.

        Parameters
        ----------
        scores : array-like of shape (n_checks,)
            One task's validation scores, one per check.
        greater_is_better : bool, default=False
            True for accuracy, False for errors and losses.

        Returns
        -------
        check : int
            Index of the check at which the task is flagged; -1 if never.
        """
        detector = ConvergenceDetector(
            1,
            warm_up=self.warm_up,
            patience=self.patience,
            min_improvement=self.min_improvement,
            greater_is_better=greater_is_better,
        )
        for k, score in enumerate(np.asarray(scores, dtype=float).ravel()):
            if detector.update(np.array([score]))[1][0]:
                return k
        return -1


class ConvergenceDetector:
    """Patience rule on per-task validation curves, one check at a time.

    For each task: ``best`` is the best score seen (its check is where the
    snapshot is taken); from check ``warm_up`` on, a reference score is reset
    whenever a score beats it by more than ``min_improvement * |reference|``,
    and the task is flagged after ``patience`` checks in a row that do not.
    NaN scores (tasks not monitored) never count.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.monitoring._monitor import ConvergenceDetector
    >>> det = ConvergenceDetector(2, warm_up=0, patience=1, min_improvement=0.0)
    >>> det.update(np.array([1.0, 1.0]))[1], det.update(np.array([0.5, 2.0]))[1]
    (array([False, False]), array([False,  True]))
    """

    def __init__(
        self,
        n_tasks,
        *,
        warm_up,
        patience,
        min_improvement,
        greater_is_better=False,
    ):
        self.warm_up = int(warm_up)
        self.patience = int(patience)
        self.min_improvement = float(min_improvement)
        self.sign = -1.0 if greater_is_better else 1.0
        self.n_checks = 0
        self.best = np.full(n_tasks, np.inf)  # in loss units (sign applied)
        self.best_check = np.full(n_tasks, -1)
        self.reference = np.full(n_tasks, np.nan)
        self.wait = np.zeros(n_tasks, dtype=int)
        self.converged = np.zeros(n_tasks, dtype=bool)
        self.converged_check = np.full(n_tasks, -1)

    def update(self, scores):
        """Record one check; return (improved, newly converged) boolean masks."""
        k = self.n_checks
        self.n_checks += 1
        loss = self.sign * np.asarray(scores, dtype=float)
        valid = ~np.isnan(loss)
        improved = valid & (loss < self.best)
        self.best[improved] = loss[improved]
        self.best_check[improved] = k
        newly = np.zeros_like(self.converged)
        if k < self.warm_up:
            return improved, newly
        ref = self.reference
        first = valid & np.isnan(ref)
        better = valid & ~first & (loss < ref - self.min_improvement * np.abs(ref))
        reset = first | better
        ref[reset] = loss[reset]
        self.wait[reset] = 0
        self.wait[valid & ~reset] += 1
        newly = valid & ~self.converged & (self.wait >= self.patience)
        self.converged |= newly
        self.converged_check[newly] = k
        return improved, newly

    @property
    def best_score(self):
        """Best score per task in the metric's own sign (NaN if never scored)."""
        out = self.sign * self.best
        out[~np.isfinite(self.best)] = np.nan
        return out


# --------------------------------------------------------------------------- #
# Validation split and scoring
# --------------------------------------------------------------------------- #
def _split_task(labels, fraction, rng, classifier):
    """Validation row positions of one task (stratified by class), or None."""
    n = labels.shape[0]
    if classifier:
        val = []
        for cls in np.unique(labels):
            rows = np.flatnonzero(labels == cls)
            n_val = min(int(round(fraction * rows.size)), rows.size - 1)
            val.append(rng.permutation(rows)[:n_val])
        val = np.sort(np.concatenate(val))
    else:
        n_val = int(round(fraction * n))
        if n - n_val < 2:
            return None
        val = np.sort(rng.permutation(n)[:n_val])
    if val.size < MIN_VALIDATION_ROWS:
        return None
    return val


def split_validation(blocks, fraction, random_state, *, classifier, mean_scaling):
    """Hold out ``fraction`` of every task's rows for validation.

    Long format: each task's block is cut in two.  Shared design (all tasks on
    the same rows): the held-out rows of a task get weight zero in its
    training block, so ``X`` is neither copied nor split (each task holds out
    its own rows).  Rows with zero weight in the validation part still count
    for nothing.

    Returns
    -------
    train : TaskBlocks
        The training blocks (new lists; the input is not modified).
    val : list of (X_t, y_t, s_t) or None
        Per task, its validation rows; None for a task too small to hold any
        out (it keeps all its rows).
    """
    rng = check_random_state(random_state)
    Xs, ys, sws = [], [], []
    val = []
    for t in range(blocks.n_tasks):
        X, y, s = blocks.Xs[t], blocks.ys[t], blocks.sample_weights[t]
        rows = _split_task(y, fraction, rng, classifier)
        if rows is not None:
            keep = np.ones(y.shape[0], dtype=bool)
            keep[rows] = False
            s_train, s_val = s * keep, s[rows]
            if (
                s_train.sum() <= 0
                or s_val.sum() <= 0
                or (classifier and np.unique(y[s_train > 0]).size < 2)
            ):
                rows = None
        if rows is None:
            Xs.append(X)
            ys.append(y)
            sws.append(s)
            val.append(None)
            continue
        val.append((X[rows], y[rows], s_val))
        if blocks.shared:
            Xs.append(X)
            ys.append(y)
            sws.append(s_train)
        else:
            Xs.append(X[keep])
            ys.append(y[keep])
            sws.append(s[keep])
    scales = np.array([s.sum() for s in sws]) if mean_scaling else blocks.scales
    train = TaskBlocks(Xs, ys, sws, np.asarray(scales, dtype=float), blocks.shared)
    return train, val


def warn_unmonitored(val, tasks, reason):
    """Warn about the tasks that have no validation rows."""
    missing = [t for t, v in enumerate(val) if v is None]
    if missing:
        names = [
            tasks[t].item() if hasattr(tasks[t], "item") else tasks[t]
            for t in missing[:10]
        ]
        warnings.warn(
            f"{len(missing)} task(s) {names}{' ...' if len(missing) > 10 else ''} "
            f"{reason}; they are trained on all their rows and never flagged as "
            "converged.",
            UserWarning,
            stacklevel=4,
        )


def task_scores(val, W, b, metric):
    """Validation score of every task (NaN where it has no validation rows)."""
    out = np.full(len(val), np.nan)
    for t, part in enumerate(val):
        if part is None:
            continue
        X, y, s = part
        m = np.asarray(X @ W[:, t]).ravel() + b[t]
        if metric == "mse":
            loss = (y - m) ** 2
        elif metric == "log_loss":
            loss = np.logaddexp(0.0, -y * m)
        else:  # accuracy; a margin of exactly 0 predicts the negative label
            loss = ((m > 0) == (y > 0)).astype(float)
        out[t] = (s @ loss) / s.sum()
    return out


# --------------------------------------------------------------------------- #
# Distillation targets
# --------------------------------------------------------------------------- #
def _margins(X, w, b):
    m = X @ w
    return (np.asarray(m).ravel() if sp.issparse(X) else m) + b


def distill_targets(y, X, w, b, weight):
    """Squared-loss distillation targets ``(1 - a) y + a (X w + b)``.

    The squared loss on these targets equals, up to a constant,
    ``(1 - a) * loss(y) + a * loss(X w + b)``: with ``a = 1`` the task is
    pulled toward the snapshot ``(w, b)`` in the directions its data see.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.monitoring._monitor import distill_targets
    >>> distill_targets(np.array([1.0, 3.0]), np.eye(2), np.zeros(2), 2.0, 0.5)
    array([1.5, 2.5])
    """
    return (1.0 - weight) * y + weight * _margins(X, w, b)


def distill_soft_targets(X, w, b, temperature):
    """Logistic-loss soft targets ``sigmoid((X w + b) / temperature)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.monitoring._monitor import distill_soft_targets
    >>> distill_soft_targets(np.eye(2), np.array([0.0, 2.0]), 0.0, 2.0).round(3)
    array([0.5  , 0.731])
    """
    return expit(_margins(X, w, b) / temperature)

"""Trace-norm MTL with the penalty ``alpha`` chosen by cross-validation.

As :class:`~sklearn.linear_model.LassoCV`: every fold fits the path of
``alpha`` values (:func:`~skmtl.solvers._path.datafit_path`: its training rows
validated once), from the largest down, each fit warm-started from the
previous one; the ``alpha`` with the best mean held-out score is then refitted
on all the data.  On the automatic grid the folds stop descending once one of
them has scored below its ``alpha_max`` score three times in a row
(:func:`_should_stop`).  :func:`alpha_max`, the smallest ``alpha`` whose solution is
``W = 0``, anchors the default grid.
"""

from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples

from .._tasks import split_task_column
from ..datafits._losses import LogisticLoss, SquaredLoss
from ..metrics import get_task_scorer, get_task_scorer_names
from ..model_selection import TaskStratifiedKFold
from ..penalties._base import make_penalty
from ..solvers._fista import alpha_max as _alpha_max_of_datafit
from ..solvers._path import datafit_path
from ..utils._blas import single_blas_thread
from ..utils._validation import long_gradient_at_zero, validate_fit_data
from ._base import MTLBase, MTLClassifierMixin, MTLRegressorMixin
from ._centralized import TraceNormMTLClassifier, TraceNormMTLRegressor

__all__ = ["TraceNormMTLClassifierCV", "TraceNormMTLRegressorCV", "alpha_max"]

_ESTIMATORS = {"squared": TraceNormMTLRegressor, "logistic": TraceNormMTLClassifier}


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "task_column": [None, Integral, str],
        "loss": [StrOptions(set(_ESTIMATORS))],
        "fit_intercept": ["boolean"],
        "loss_scaling": [StrOptions({"mean", "sum"})],
        "sample_weight": ["array-like", None],
        "penalty": [StrOptions({"trace", "l21"})],
    },
    prefer_skip_nested_validation=True,
)
def alpha_max(
    X,
    y,
    *,
    task_column=None,
    loss="squared",
    fit_intercept=True,
    loss_scaling="mean",
    sample_weight=None,
    penalty="trace",
):
    r"""Smallest ``alpha`` for which every task's coefficients are zero.

    With ``alpha >= alpha_max`` the solution of the penalized problem is
    ``coef_ == 0`` (only the intercepts are fitted).  It is the dual norm of
    the penalty at the gradient of the data-fit at ``W = 0``, with the
    intercepts at their optimum for ``W = 0``: for the trace norm the
    spectral norm, for the l2,1 norm the largest row (feature) norm,

    .. math::

        \alpha_{\max} = \|\nabla f(0)\|_2 \quad \text{or} \quad
        \alpha_{\max} = \max_j \|\nabla f(0)_{j,:}\|_2 .

    The data are validated and weighted exactly as in
    :class:`TraceNormMTLRegressor` / :class:`TraceNormMTLClassifier` with the
    same parameters.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Features; in long format one column holds the task labels.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Targets (``loss='squared'``) or binary labels per task
        (``loss='logistic'``); 2-D only in the shared design.
    task_column : int, str or None, default=None
        None: shared design.  Otherwise the column of ``X`` (position or
        DataFrame name) that holds each row's task label (long format).
    loss : {'squared', 'logistic'}, default='squared'
        The regressor's or the classifier's loss.
    fit_intercept : bool, default=True
        Whether the model has per-task intercepts.
    loss_scaling : {'mean', 'sum'}, default='mean'
        As in the estimators: divide each task's loss by its total sample
        weight, or not.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the rows.
    penalty : {'trace', 'l21'}, default='trace'
        The penalty: trace norm (:class:`TraceNormMTLRegressor`) or l2,1 norm
        (:class:`L21MTLRegressor`).

    Returns
    -------
    alpha_max : float
        The smallest ``alpha`` with an all-zero solution.

    See Also
    --------
    TraceNormMTLRegressorCV : Chooses ``alpha`` on a grid below ``alpha_max``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import TraceNormMTLRegressor, alpha_max
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(50, 4)
    >>> Y = X @ rng.randn(4, 3)                        # three tasks
    >>> a_max = alpha_max(X, Y)
    >>> model = TraceNormMTLRegressor(alpha=a_max).fit(X, Y)
    >>> bool(np.all(model.coef_ == 0))
    True
    >>> model = TraceNormMTLRegressor(alpha=0.5 * a_max).fit(X, Y)
    >>> bool(np.any(model.coef_ != 0))
    True
    """
    est = _ESTIMATORS[loss](
        task_column=task_column, fit_intercept=fit_intercept, loss_scaling=loss_scaling
    )
    if loss == "squared" and task_column is not None:
        # Long format: the gradient from one pass over X, without its copy.
        G = long_gradient_at_zero(est, X, y, sample_weight)
        if G is not None:
            return float(make_penalty(penalty).dual_norm(G))
    data = validate_fit_data(est, X, y, sample_weight, classifier=loss == "logistic")
    if loss == "squared":
        # Only the gradient at zero is needed: no Gram matrices.
        datafit = SquaredLoss(data.blocks, fit_intercept=fit_intercept, use_gram=False)
    else:
        datafit = LogisticLoss(data.blocks, fit_intercept=fit_intercept)
    return float(_alpha_max_of_datafit(datafit, make_penalty(penalty)))


def _path_scores(estimator, X, y, sample_weight, train, test, alphas, scorer, limit):
    """Held-out scores of one fold along the path (``alphas`` decreasing).

    The training rows are validated and turned into a data-fit once; every
    ``alpha`` is then solved warm-started from the previous solution
    (:func:`~skmtl.solvers._path.datafit_path`) and scored on the held-out
    rows.  ``limit`` is None (every ``alpha``) or a one-element list shared
    by the folds: the index of the last ``alpha`` any fold still needs.  A fold
    whose held-out score has plainly degraded (:func:`_should_stop`) lowers it
    to its own index, and every fold stops there: the ``alpha`` below are not
    fitted on every fold, so the choice cannot fall on them.  Scores not
    computed are NaN.
    """
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    sw = None if sample_weight is None else _safe_indexing(sample_weight, train)
    est = clone(estimator)
    est._warn_zero_coef = False  # the grid starts at alpha_max on purpose
    data = validate_fit_data(
        est, X_train, y_train, sw, classifier=est._loss == "logistic"
    )
    datafit = est._make_datafit(data.blocks)
    scores = np.full(len(alphas), np.nan)

    def callback(k, alpha, result):
        est.alpha = alpha
        est._set_fitted(datafit, data, result)
        scores[k] = scorer(est, X_test, y_test)
        if limit is None:
            return False
        if _should_stop(scores[: k + 1]):
            limit[0] = min(limit[0], k)
        return k >= limit[0]

    datafit_path(
        datafit,
        alphas,
        penalty=est._penalty(),
        tol=est.tol,
        max_iter=est.max_iter,
        verbose=est.verbose,
        callback=callback,
    )
    return scores


# Early termination of a fold's path (automatic grid only): stop descending
# once the held-out score has been below the score at alpha_max (the
# intercept-only model) for _STOP_PATIENCE consecutive alphas: the fold then
# overfits plainly, and smaller alphas only fit the noise further.  Measured
# with benchmarks/bench_cv_path.py on School, Landmine and Parkinson's (20
# alphas down to 1e-3 alpha_max, 5 folds): CV chose 0.055, 0.16 and 0.003
# alpha_max, so the grid must reach 1e-3 (Parkinson's scores dip on a plateau,
# then rise again below 0.02 alpha_max: a rule that stops on a drop from the
# best, even 25 % of the gain over alpha_max, stopped a Parkinson's fold on
# that plateau and changed the choice); this rule stops the Landmine folds that
# overfit and leaves every choice unchanged.
_STOP_PATIENCE = 3


def _should_stop(scores):
    """Whether a fold's path may stop after these scores (decreasing alphas)."""
    if len(scores) <= _STOP_PATIENCE or not np.all(np.isfinite(scores)):
        return False
    return bool(np.all(scores[-_STOP_PATIENCE:] < scores[0]))


class _TraceNormMTLCV(MTLBase):
    """Cross-validation over ``alpha`` around a centralized estimator."""

    _estimator_class = None  # set by the concrete classes
    # Early termination of the folds' paths on the automatic grid (see
    # _should_stop); False fits the whole grid (benchmarks, tests).
    _early_stopping = True

    _parameter_constraints = {
        **{
            name: MTLBase._parameter_constraints[name]
            for name in (
                "task_column",
                "fit_intercept",
                "loss_scaling",
                "max_iter",
                "tol",
                "handle_unknown_task",
                "verbose",
                "random_state",
            )
        },
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "cv": ["cv_object"],
        "scoring": [
            StrOptions(set(get_scorer_names()) | set(get_task_scorer_names())),
            callable,
            None,
        ],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        alphas=20,
        eps=1e-3,
        cv=5,
        scoring=None,
        n_jobs=None,
        task_column=None,
        fit_intercept=True,
        loss_scaling="mean",
        max_iter=10_000,
        tol=1e-6,
        handle_unknown_task="error",
        verbose=0,
        random_state=None,
    ):
        self.alphas = alphas
        self.eps = eps
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.loss_scaling = loss_scaling
        self.max_iter = max_iter
        self.tol = tol
        self.handle_unknown_task = handle_unknown_task
        self.verbose = verbose
        self.random_state = random_state

    def _base_estimator(self):
        params = self._estimator_class().get_params()
        shared = {k: v for k, v in self.get_params().items() if k in params}
        return self._estimator_class(**shared)

    def _alpha_grid(self, estimator, X, y, sample_weight):
        # alpha_max validates the data as the estimator does, so that bad input
        # fails here with the estimator's message, before any split.
        a_max = alpha_max(
            X,
            y,
            task_column=self.task_column,
            loss=estimator._loss,
            fit_intercept=self.fit_intercept,
            loss_scaling=self.loss_scaling,
            sample_weight=sample_weight,
            penalty=estimator._penalty.name,
        )
        if not isinstance(self.alphas, Integral):
            alphas = np.asarray(self.alphas, dtype=np.float64)
            if alphas.ndim != 1 or alphas.size == 0:
                raise ValueError(
                    f"alphas must be an int or a non-empty 1-D array of values; "
                    f"got shape {alphas.shape}."
                )
            if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
                raise ValueError(
                    f"alphas must be finite and non-negative; got {alphas.tolist()}."
                )
            return np.sort(alphas)[::-1].copy()
        if a_max <= np.finfo(np.float64).tiny:
            # The data-fit is flat at W = 0: every alpha gives W = 0.
            return np.zeros(1)
        return np.geomspace(a_max, self.eps * a_max, num=self.alphas)

    def _scorer(self, estimator):
        scoring = self.scoring
        if isinstance(scoring, str) and scoring not in get_scorer_names():
            if self.task_column is None:
                raise ValueError(
                    f"scoring={scoring!r} is a task scorer, which reads the task "
                    "column: it needs long format (task_column set)."
                )
            return get_task_scorer(scoring, task_column=self.task_column)
        return check_scoring(estimator, scoring=scoring)

    def _splits(self, X, y):
        groups = None
        if self.task_column is not None:
            groups = split_task_column(X, self.task_column)[1]
        cv = self.cv if self.cv is not None else 5
        if isinstance(cv, Integral) and self.task_column is not None:
            cv = TaskStratifiedKFold(
                n_splits=cv, task_column=self.task_column, shuffle=False
            )
        else:
            cv = check_cv(cv, y, classifier=is_classifier(self))
        return list(cv.split(X, y, groups))

    def _fit_path(self, X, y, sample_weight):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        estimator = self._base_estimator()
        alphas = self._alpha_grid(estimator, X, y, sample_weight)
        X, y, sample_weight = indexable(X, y, sample_weight)
        n_samples = _num_samples(X)
        if n_samples < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to cross-validate; "
                f"got n_samples={n_samples}."
            )
        scorer = self._scorer(estimator)
        splits = self._splits(X, y)
        # Early termination only on the automatic grid: explicit alphas are
        # all fitted, as asked.
        stop = isinstance(self.alphas, Integral) and self._early_stopping
        limit = [len(alphas) - 1] if stop else None
        parallel = Parallel(n_jobs=self.n_jobs, prefer="threads")
        # Folds in parallel threads: one BLAS thread each, or the many small
        # BLAS calls of a fit wait on each other's worker threads.  The limit
        # is process-wide, so it is set once, here, around all the folds.
        parallel_folds = effective_n_jobs(self.n_jobs) > 1 and len(splits) > 1
        with single_blas_thread(parallel_folds):
            scores = parallel(
                delayed(_path_scores)(
                    estimator, X, y, sample_weight, train, test, alphas, scorer, limit
                )
                for train, test in splits
            )
        cv_scores = np.array(scores).reshape(len(splits), len(alphas))
        if limit is not None:
            # Folds run in parallel may have gone past the final limit: the
            # result does not depend on n_jobs.
            cv_scores[:, limit[0] + 1 :] = np.nan
        mean_scores = cv_scores.mean(axis=0)
        if np.all(np.isnan(mean_scores)):
            raise ValueError(
                "Every held-out score is NaN; check the scoring and the folds."
            )
        best = int(np.nanargmax(mean_scores))  # the largest alpha on ties

        refit = clone(estimator).set_params(alpha=alphas[best])
        # alpha_ = alpha_max is the CV's choice (nothing beat W = 0), not a
        # mistake to warn about.
        refit._warn_zero_coef = False
        refit.fit(X, y, sample_weight=sample_weight)
        # The refitted model's fitted state (coef_, tasks_, classes_,
        # n_features_in_ and the private state predict needs) becomes this
        # estimator's; nothing is left over from an earlier fit.
        self._copy_fitted(refit)
        self.best_estimator_ = refit
        self.alpha_ = float(alphas[best])
        self.alphas_ = alphas
        self.cv_scores_ = cv_scores
        self.mean_cv_scores_ = mean_scores
        return self


class TraceNormMTLRegressorCV(MTLRegressorMixin, _TraceNormMTLCV):
    r"""Trace-norm multi-task least squares with ``alpha`` set by cross-validation.

    Fits :class:`TraceNormMTLRegressor` along a decreasing grid of ``alpha``
    values on every fold (warm-started from one ``alpha`` to the next), picks
    the ``alpha`` with the best mean held-out score, and refits on all the
    data.

    For each ``alpha`` of the grid, every fold solves the problem of
    :class:`TraceNormMTLRegressor`,

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \, \|W\|_*

    with the squared loss (:math:`c_t`, :math:`s_i` and :math:`\ell` as there).

    Parameters
    ----------
    alphas : int or array-like of shape (n_alphas,), default=20
        An int: that many values of ``alpha`` on a geometric grid from
        :func:`alpha_max` (computed on all the data) down to
        ``eps * alpha_max``; the folds stop descending once one of them has
        scored below the intercept-only model (``alpha_max``) for three
        ``alpha`` in a row, and the ``alpha`` below are not fitted (NaN
        scores).  An array: the values to try (sorted in decreasing order),
        all fitted.
    eps : float, default=1e-3
        Length of the automatic grid: ``alpha_min / alpha_max``.
    cv : int, cross-validation generator or iterable, default=5
        How to split the data.  An int is a number of folds: in long format
        :class:`~skmtl.model_selection.TaskStratifiedKFold` without shuffling
        (so the fit is deterministic), which keeps every task, and for a
        classifier every class of a task, in every training fold; in the
        shared design ``KFold`` (or
        ``StratifiedKFold`` for a classifier with a 1-D ``y``), as
        :func:`~sklearn.model_selection.check_cv` picks.  In long format the
        task labels are passed to the splitter as ``groups``, so group-aware
        splitters (``GroupKFold``, ``LeaveOneGroupOut``) split by task.
    scoring : str, callable or None, default=None
        The held-out score to maximize.  None: the estimator's ``score``
        (R^2 of all rows).  A scikit-learn scorer name, a callable
        ``scorer(estimator, X, y)``, or in long format the name of a task
        scorer of :func:`skmtl.metrics.get_task_scorer` (such as ``'nmse'``
        or ``'r2_macro'``), which reads the task column.
    n_jobs : int, default=None
        Number of folds fitted in parallel (threads).  None means 1 unless in a
        :obj:`joblib.parallel_backend` context; -1 means all processors.
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` holds one column per task.  Otherwise the
        column of ``X`` (position or DataFrame name) that holds each row's task
        label (long format).
    fit_intercept : bool, default=True
        Fit one unpenalized intercept per task.
    loss_scaling : {'mean', 'sum'}, default='mean'
        ``'mean'`` divides each task's loss by its total sample weight so every
        task weighs the same; ``'sum'`` is the MALSAR/paper convention.
    max_iter : int, default=10000
        Maximum number of solver iterations of every fit.
    tol : float, default=1e-6
        Tolerance on the certified relative duality gap of every fit.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time (and on held-out folds), a task not seen in fit raises,
        or is predicted with the average task model.
    verbose : int, default=0
        Verbosity of the solver.
    random_state : int, RandomState instance or None, default=None
        Unused by the deterministic centralized solver; kept for a uniform API.
        Pass a splitter with its own ``random_state`` as ``cv`` to shuffle.

    Attributes
    ----------
    alpha_ : float
        The chosen ``alpha``: the best mean held-out score (the largest such
        ``alpha`` on ties).
    alphas_ : ndarray of shape (n_alphas,)
        The grid, in decreasing order.
    cv_scores_ : ndarray of shape (n_folds, n_alphas)
        Held-out score of every fold and ``alpha`` (greater is better); NaN
        for the ``alpha`` below an early termination of the automatic grid.
    mean_cv_scores_ : ndarray of shape (n_alphas,)
        Mean of ``cv_scores_`` over the folds (NaN where they are).
    best_estimator_ : TraceNormMTLRegressor
        The model with ``alpha_`` refitted on all the data; its fitted
        attributes are also set on this estimator.
    coef_ : ndarray of shape (n_tasks, n_features)
        One row of weights per task (of the refitted model).
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (sorted) in long format, ``arange(n_tasks)`` otherwise.
    n_iter_ : int
        Solver iterations of the refit.
    dual_gap_ : float
        Final certified relative duality gap of the refit.
    objective_history_ : ndarray
        Objective value at each convergence check of the refit.
    n_features_in_ : int
        Number of columns of X seen in fit (the task column included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X has string column names.

    See Also
    --------
    TraceNormMTLRegressor : The model at one ``alpha``.
    alpha_max : The top of the automatic grid.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import TraceNormMTLRegressorCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 5)
    >>> W = rng.randn(5, 1) @ rng.randn(1, 4)       # four tasks, rank one
    >>> Y = X @ W + 0.5 * rng.randn(60, 4)
    >>> model = TraceNormMTLRegressorCV(alphas=10, cv=3).fit(X, Y)
    >>> model.cv_scores_.shape
    (3, 10)
    >>> bool(model.alpha_ == model.alphas_[np.argmax(model.mean_cv_scores_)])
    True
    >>> print(round(model.score(X, Y), 2))
    0.94
    """

    _estimator_class = TraceNormMTLRegressor

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the path on every fold, choose ``alpha``, refit on all data.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Features; in long format one column holds the task labels.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; (n_samples, n_tasks) only in the shared design.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, used in every fit.  The held-out
            scores are unweighted, as in ``GridSearchCV`` without metadata
            routing.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_path(X, y, sample_weight)


class TraceNormMTLClassifierCV(MTLClassifierMixin, _TraceNormMTLCV):
    r"""Trace-norm multi-task logistic regression, ``alpha`` set by cross-validation.

    Fits :class:`TraceNormMTLClassifier` along a decreasing grid of ``alpha``
    values on every fold (warm-started from one ``alpha`` to the next), picks
    the ``alpha`` with the best mean held-out score, and refits on all the
    data.  Every training fold needs both labels of every task.

    For each ``alpha`` of the grid, every fold solves the problem of
    :class:`TraceNormMTLClassifier`,

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \, \|W\|_*

    with the logistic loss (:math:`c_t`, :math:`s_i` and :math:`\ell` as there).

    Parameters
    ----------
    alphas : int or array-like of shape (n_alphas,), default=20
        An int: that many values of ``alpha`` on a geometric grid from
        :func:`alpha_max` (computed on all the data) down to
        ``eps * alpha_max``; the folds stop descending once one of them has
        scored below the intercept-only model (``alpha_max``) for three
        ``alpha`` in a row, and the ``alpha`` below are not fitted (NaN
        scores).  An array: the values to try (sorted in decreasing order),
        all fitted.
    eps : float, default=1e-3
        Length of the automatic grid: ``alpha_min / alpha_max``.
    cv : int, cross-validation generator or iterable, default=5
        How to split the data.  An int is a number of folds: in long format
        :class:`~skmtl.model_selection.TaskStratifiedKFold` without shuffling
        (so the fit is deterministic), which keeps every task, and for a
        classifier every class of a task, in every training fold; in the
        shared design ``KFold`` (or
        ``StratifiedKFold`` for a classifier with a 1-D ``y``), as
        :func:`~sklearn.model_selection.check_cv` picks.  In long format the
        task labels are passed to the splitter as ``groups``, so group-aware
        splitters (``GroupKFold``, ``LeaveOneGroupOut``) split by task.
    scoring : str, callable or None, default=None
        The held-out score to maximize.  None: the estimator's ``score``
        (accuracy of all rows).  A scikit-learn scorer name, a callable
        ``scorer(estimator, X, y)``, or in long format the name of a task
        scorer of :func:`skmtl.metrics.get_task_scorer` (such as ``'nmse'``
        or ``'r2_macro'``), which reads the task column.
    n_jobs : int, default=None
        Number of folds fitted in parallel (threads).  None means 1 unless in a
        :obj:`joblib.parallel_backend` context; -1 means all processors.
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` holds one column per task.  Otherwise the
        column of ``X`` (position or DataFrame name) that holds each row's task
        label (long format).
    fit_intercept : bool, default=True
        Fit one unpenalized intercept per task.
    loss_scaling : {'mean', 'sum'}, default='mean'
        ``'mean'`` divides each task's loss by its total sample weight so every
        task weighs the same; ``'sum'`` is the MALSAR/paper convention.
    max_iter : int, default=10000
        Maximum number of solver iterations of every fit.
    tol : float, default=1e-6
        Tolerance on the certified relative duality gap of every fit.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time (and on held-out folds), a task not seen in fit raises,
        or is predicted with the average task model.
    verbose : int, default=0
        Verbosity of the solver.
    random_state : int, RandomState instance or None, default=None
        Unused by the deterministic centralized solver; kept for a uniform API.
        Pass a splitter with its own ``random_state`` as ``cv`` to shuffle.

    Attributes
    ----------
    alpha_ : float
        The chosen ``alpha``: the best mean held-out score (the largest such
        ``alpha`` on ties).
    alphas_ : ndarray of shape (n_alphas,)
        The grid, in decreasing order.
    cv_scores_ : ndarray of shape (n_folds, n_alphas)
        Held-out score of every fold and ``alpha`` (greater is better); NaN
        for the ``alpha`` below an early termination of the automatic grid.
    mean_cv_scores_ : ndarray of shape (n_alphas,)
        Mean of ``cv_scores_`` over the folds (NaN where they are).
    best_estimator_ : TraceNormMTLClassifier
        The model with ``alpha_`` refitted on all the data; its fitted
        attributes are also set on this estimator.
    coef_ : ndarray of shape (n_tasks, n_features)
        One row of weights per task (of the refitted model).
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (sorted) in long format, ``arange(n_tasks)`` otherwise.
    n_iter_ : int
        Solver iterations of the refit.
    dual_gap_ : float
        Final certified relative duality gap of the refit.
    objective_history_ : ndarray
        Objective value at each convergence check of the refit.
    n_features_in_ : int
        Number of columns of X seen in fit (the task column included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X has string column names.
    classes_ : ndarray or list of ndarray
        Every label seen in fit (long format); the two labels of the single
        task, or a list of them per task (shared design).

    See Also
    --------
    TraceNormMTLClassifier : The model at one ``alpha``.
    alpha_max : The top of the automatic grid (with ``loss='logistic'``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import TraceNormMTLClassifierCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 4)
    >>> task = rng.randint(3, size=300)              # long format: 3 tasks
    >>> y = (X[:, 0] + 0.3 * task * X[:, 1] + 0.5 * rng.randn(300) > 0).astype(int)
    >>> Xl = np.column_stack([X, task])
    >>> clf = TraceNormMTLClassifierCV(alphas=5, task_column=-1).fit(Xl, y)
    >>> clf.cv_scores_.shape                          # 5 task-stratified folds
    (5, 5)
    >>> clf.tasks_
    array([0., 1., 2.])
    >>> print(clf.score(Xl, y) > 0.8)
    True
    """

    _estimator_class = TraceNormMTLClassifier

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the path on every fold, choose ``alpha``, refit on all data.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Features; in long format one column holds the task labels.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Binary labels per task (any two labels per task);
            (n_samples, n_tasks) only in the shared design.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, used in every fit.  The held-out
            scores are unweighted, as in ``GridSearchCV`` without metadata
            routing.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_path(X, y, sample_weight)

"""Per-task and task-averaged metrics, and scorers that read the task column.

Every metric takes ``y_true``, ``y_pred`` and ``tasks``, the task label of every
row (long format), plus an optional ``sample_weight``. The scorers made by
:func:`make_task_scorer` and :func:`get_task_scorer` read ``tasks`` from the task
column of ``X``, so they work as ``scoring=`` in ``cross_val_score`` and
``GridSearchCV`` with estimators that take long-format ``X``.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from ._tasks import _check_task_labels, _split_task_column, group_rows

__all__ = [
    "amse",
    "get_task_scorer",
    "get_task_scorer_names",
    "macro_average_score",
    "macro_roc_auc_score",
    "make_task_scorer",
    "multitask_explained_variance",
    "nmse",
    "per_task_score",
]


def _as_1d(y, name):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {y.shape}.")
    return y


def _check_task_targets(y_true, y_pred, tasks, sample_weight):
    """Validate the common inputs; return them with the task encoding."""
    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred")
    tasks = _check_task_labels(tasks, name="tasks")
    lengths = {"y_true": len(y_true), "y_pred": len(y_pred), "tasks": len(tasks)}
    if sample_weight is not None:
        sample_weight = _as_1d(sample_weight, "sample_weight").astype(float)
        lengths["sample_weight"] = len(sample_weight)
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must be finite and non-negative.")
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Inconsistent numbers of samples: {lengths}.")
    if len(y_true) == 0:
        raise ValueError("y_true is empty: there is nothing to score.")
    groups = group_rows(tasks)  # the rows of every task, from one grouping
    labels = groups.tasks
    if sample_weight is not None:
        totals = np.bincount(groups.codes, weights=sample_weight, minlength=len(labels))
        if np.any(totals <= 0):
            raise ValueError(
                f"The sample weights of task(s) {labels[totals <= 0].tolist()} "
                "sum to zero."
            )
    return y_true, y_pred, sample_weight, labels, groups


def _task_weights(codes, n_tasks, sample_weight):
    """Size of every task: its number of rows or its total sample weight."""
    return np.bincount(codes, weights=sample_weight, minlength=n_tasks).astype(float)


def _per_task(score_func, y_true, y_pred, groups, n_tasks, sample_weight, kwargs):
    scores = np.empty(n_tasks)
    for k in range(n_tasks):
        rows = groups.rows(k)
        if sample_weight is not None:
            kwargs = {**kwargs, "sample_weight": sample_weight[rows]}
        scores[k] = score_func(y_true[rows], y_pred[rows], **kwargs)
    return scores


def per_task_score(
    y_true,
    y_pred,
    tasks,
    *,
    score_func=r2_score,
    sample_weight=None,
    return_dict=False,
    **kwargs,
):
    """Score every task separately.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets.
    y_pred : array-like of shape (n_samples,)
        Predicted targets (or scores, for a ranking metric).
    tasks : array-like of shape (n_samples,)
        The task label of every row.
    score_func : callable, default=r2_score
        A metric ``score_func(y_true, y_pred, **kwargs)`` such as those of
        :mod:`sklearn.metrics`.
    sample_weight : array-like of shape (n_samples,), default=None
        Passed to ``score_func`` (the rows of each task) when given.
    return_dict : bool, default=False
        Return ``{label: score}`` instead of two arrays.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    labels : ndarray of shape (n_tasks,)
        The task labels, sorted as by ``np.unique``.
    scores : ndarray of shape (n_tasks,)
        ``scores[k]`` is the score of task ``labels[k]``.

    Examples
    --------
    >>> from skmtl.metrics import per_task_score
    >>> y_true = [1.0, 2.0, 3.0, 10.0, 20.0]
    >>> y_pred = [1.0, 2.0, 4.0, 10.0, 30.0]
    >>> labels, scores = per_task_score(y_true, y_pred, ["a", "a", "a", "b", "b"])
    >>> labels.tolist(), scores.round(3).tolist()
    (['a', 'b'], [0.5, -1.0])
    >>> per_task_score(y_true, y_pred, [0, 0, 0, 1, 1], return_dict=True)
    {0: 0.5, 1: -1.0}
    """
    y_true, y_pred, sample_weight, labels, groups = _check_task_targets(
        y_true, y_pred, tasks, sample_weight
    )
    scores = _per_task(
        score_func, y_true, y_pred, groups, len(labels), sample_weight, kwargs
    )
    if return_dict:
        return {
            label: float(score)
            for label, score in zip(labels.tolist(), scores, strict=True)
        }
    return labels, scores


def macro_average_score(
    y_true, y_pred, tasks, *, score_func=r2_score, sample_weight=None, **kwargs
):
    """Unweighted mean over tasks of a per-task score.

    .. math:: \\frac{1}{T} \\sum_{t=1}^{T} \\mathrm{score}(y_t, \\hat y_t)

    Every task counts the same whatever its size.

    Parameters
    ----------
    y_true, y_pred, tasks, score_func, sample_weight, **kwargs
        As in :func:`per_task_score`.

    Returns
    -------
    score : float
        The mean of the per-task scores.

    Examples
    --------
    >>> from skmtl.metrics import macro_average_score
    >>> y_true = [1.0, 2.0, 3.0, 10.0, 20.0]
    >>> y_pred = [1.0, 2.0, 4.0, 10.0, 30.0]
    >>> macro_average_score(y_true, y_pred, [0, 0, 0, 1, 1])
    -0.25
    """
    _, scores = per_task_score(
        y_true,
        y_pred,
        tasks,
        score_func=score_func,
        sample_weight=sample_weight,
        **kwargs,
    )
    return float(np.mean(scores))


def _weighted_mse_and_var(y_true, y_pred, sample_weight):
    """Weighted MSE and (population, ddof=0) variance of y_true."""
    y_true = y_true.astype(float)
    mse = np.average((y_true - y_pred) ** 2, weights=sample_weight)
    mean = np.average(y_true, weights=sample_weight)
    var = np.average((y_true - mean) ** 2, weights=sample_weight)
    return mse, var


def nmse(y_true, y_pred, tasks, *, sample_weight=None):
    """Normalized mean squared error, averaged over tasks by task size.

    The nMSE of task :math:`t` is its mean squared error divided by the
    variance of its targets, and the tasks are averaged with weights
    :math:`n_t` (the number of rows, or the total sample weight, of task t):

    .. math::

        \\mathrm{nMSE} = \\frac{\\sum_t n_t \\, \\mathrm{MSE}_t / \\sigma_t^2}
                              {\\sum_t n_t}, \\qquad
        \\mathrm{MSE}_t = \\frac{1}{n_t} \\sum_{i \\in t} (y_i - \\hat y_i)^2,
        \\qquad
        \\sigma_t^2 = \\frac{1}{n_t} \\sum_{i \\in t} (y_i - \\bar y_t)^2.

    This is the measure of the MALSAR papers (Zhou, Chen & Ye, 2011; Chen, Zhou
    & Ye, 2011: "the mean squared error divided by the variance of the target"),
    with the size-weighted average over tasks that the MALSAR evaluation code
    uses. The variance is the population variance (``ddof=0``, MATLAB's ``var``
    uses ``ddof=1``), so that predicting each task's mean gives exactly 1 and
    ``nMSE_t = 1 - R^2_t``. Lower is better.

    Tasks whose targets are constant have no variance; they are left out of
    the average with an ``UndefinedMetricWarning``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets.
    y_pred : array-like of shape (n_samples,)
        Predicted targets.
    tasks : array-like of shape (n_samples,)
        The task label of every row.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights for the per-task MSE and variance, and (summed) for the tasks.

    Returns
    -------
    score : float
        The nMSE (0 is perfect, 1 is as good as predicting each task's mean).

    Raises
    ------
    ValueError
        If every task has constant targets.

    References
    ----------
    J. Zhou, J. Chen and J. Ye. *MALSAR: Multi-tAsk Learning via StructurAl
    Regularization*. Arizona State University, 2011.

    J. Chen, J. Zhou and J. Ye. Integrating low-rank and group-sparse structures
    for robust multi-task learning. *KDD*, 2011.

    Examples
    --------
    >>> from skmtl.metrics import nmse
    >>> y_true = [1.0, 2.0, 3.0, 10.0, 20.0]
    >>> y_pred = [2.0, 2.0, 2.0, 15.0, 15.0]
    >>> nmse(y_true, y_pred, [0, 0, 0, 1, 1])
    1.0
    """
    y_true, y_pred, sample_weight, labels, groups = _check_task_targets(
        y_true, y_pred, tasks, sample_weight
    )
    weights = _task_weights(groups.codes, len(labels), sample_weight)
    ratios = np.full(len(labels), np.nan)
    for k in range(len(labels)):
        rows = groups.rows(k)
        w = None if sample_weight is None else sample_weight[rows]
        mse, var = _weighted_mse_and_var(y_true[rows], y_pred[rows], w)
        # Test constancy exactly: the computed variance of a constant can be a
        # tiny round-off value that would blow the ratio up.
        support = y_true[rows] if w is None else y_true[rows][w > 0]
        if np.ptp(support) > 0:
            ratios[k] = mse / var
    undefined = np.isnan(ratios)
    if undefined.all():
        raise ValueError(
            "nMSE is undefined: y_true is constant within every task, so no task "
            "has a variance to normalize by."
        )
    if undefined.any():
        warnings.warn(
            f"nMSE: y_true is constant in task(s) {labels[undefined].tolist()}; "
            "they are left out of the average.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    return float(np.average(ratios[~undefined], weights=weights[~undefined]))


def amse(y_true, y_pred, tasks, *, sample_weight=None):
    """Averaged mean squared error: the unweighted mean of per-task MSEs.

    .. math::

        \\mathrm{aMSE} = \\frac{1}{T} \\sum_{t=1}^{T} \\frac{1}{n_t}
                         \\sum_{i \\in t} (y_i - \\hat y_i)^2

    Every task counts the same; lower is better. Unlike the plain MSE over all
    rows, a large task does not drown out the small ones.

    Note that some papers (e.g. Chen, Zhou & Ye, 2011) call "aMSE" a different
    quantity, the MSE divided by the squared norm of the target vector; this
    function is the plain macro average of the MSEs.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets.
    y_pred : array-like of shape (n_samples,)
        Predicted targets.
    tasks : array-like of shape (n_samples,)
        The task label of every row.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights for the per-task MSEs (tasks still count equally).

    Returns
    -------
    score : float
        The aMSE.

    Examples
    --------
    >>> from skmtl.metrics import amse
    >>> y_true = [1.0, 2.0, 3.0, 10.0, 20.0]
    >>> y_pred = [2.0, 2.0, 2.0, 15.0, 15.0]
    >>> amse(y_true, y_pred, [0, 0, 0, 1, 1])  # (2/3 + 25) / 2
    12.8333...
    """
    y_true, y_pred, sample_weight, labels, groups = _check_task_targets(
        y_true, y_pred, tasks, sample_weight
    )
    mses = np.empty(len(labels))
    for k in range(len(labels)):
        rows = groups.rows(k)
        w = None if sample_weight is None else sample_weight[rows]
        mses[k] = np.average((y_true[rows] - y_pred[rows]) ** 2, weights=w)
    return float(np.mean(mses))


def multitask_explained_variance(y_true, y_pred, tasks, *, sample_weight=None):
    """Explained variance over all tasks, as used for the School data.

    One minus the squared error summed over all rows of all tasks, divided by
    the total variance of the targets around their overall mean:

    .. math::

        \\mathrm{EV} = 1 - \\frac{\\sum_i (y_i - \\hat y_i)^2}
                                 {\\sum_i (y_i - \\bar y)^2}

    This is the measure of Bakker & Heskes (2003) that Argyriou, Evgeniou &
    Pontil (2008) report for the School data ("the total variance of the data
    minus the sum-squared error on the test set, as a percentage of the total
    data variance"), here as a fraction: multiply by 100 for their percentages.
    It equals ``sklearn.metrics.r2_score`` on the pooled rows, so it does not
    depend on ``tasks``, which are validated only. Greater is better.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets.
    y_pred : array-like of shape (n_samples,)
        Predicted targets.
    tasks : array-like of shape (n_samples,)
        The task label of every row.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    score : float
        The explained variance (1 is perfect).

    Raises
    ------
    ValueError
        If y_true is constant over all rows.

    References
    ----------
    A. Argyriou, T. Evgeniou and M. Pontil. Convex multi-task feature learning.
    *Machine Learning*, 73(3):243-272, 2008.

    B. Bakker and T. Heskes. Task clustering and gating for Bayesian multitask
    learning. *JMLR*, 4:83-99, 2003.

    Examples
    --------
    >>> from skmtl.metrics import multitask_explained_variance
    >>> y_true = [1.0, 2.0, 3.0, 10.0, 20.0]
    >>> y_pred = [2.0, 2.0, 2.0, 15.0, 15.0]
    >>> # 1 - SSE / SST = 1 - 52 / 254.8
    >>> round(multitask_explained_variance(y_true, y_pred, [0, 0, 0, 1, 1]), 4)
    0.7959
    """
    y_true, y_pred, sample_weight, _, _ = _check_task_targets(
        y_true, y_pred, tasks, sample_weight
    )
    support = y_true if sample_weight is None else y_true[sample_weight > 0]
    if np.ptp(support) == 0:
        raise ValueError(
            "Explained variance is undefined: y_true is constant over all rows."
        )
    mse, var = _weighted_mse_and_var(y_true, y_pred, sample_weight)
    return float(1.0 - mse / var)


def macro_roc_auc_score(y_true, y_score, tasks, *, sample_weight=None):
    """Per-task ROC AUC, averaged over tasks without weights.

    Tasks whose ``y_true`` holds a single class have no ROC AUC; they are left
    out of the average with an ``UndefinedMetricWarning``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels (within every task; the greater label is positive).
    y_score : array-like of shape (n_samples,)
        Scores for the positive class (``decision_function`` or the second column
        of ``predict_proba``).
    tasks : array-like of shape (n_samples,)
        The task label of every row.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    score : float
        The mean ROC AUC of the tasks that have both classes.

    Raises
    ------
    ValueError
        If no task has both classes.

    Examples
    --------
    >>> from skmtl.metrics import macro_roc_auc_score
    >>> y_true = [0, 1, 0, 1, 0, 1]
    >>> y_score = [0.1, 0.9, 0.8, 0.3, 0.2, 0.4]
    >>> macro_roc_auc_score(y_true, y_score, [0, 0, 1, 1, 2, 2])  # (1 + 0 + 1) / 3
    0.666...
    """
    y_true, y_score, sample_weight, labels, groups = _check_task_targets(
        y_true, y_score, tasks, sample_weight
    )
    scores = np.full(len(labels), np.nan)
    for k in range(len(labels)):
        rows = groups.rows(k)
        if len(np.unique(y_true[rows])) < 2:
            continue
        w = None if sample_weight is None else sample_weight[rows]
        scores[k] = roc_auc_score(y_true[rows], y_score[rows], sample_weight=w)
    undefined = np.isnan(scores)
    if undefined.all():
        raise ValueError(
            "ROC AUC is undefined: every task has a single class in y_true."
        )
    if undefined.any():
        warnings.warn(
            f"ROC AUC: task(s) {labels[undefined].tolist()} have a single class in "
            "y_true; they are left out of the average.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    return float(np.mean(scores[~undefined]))


_AVERAGES = ("macro", "weighted", "pooled", None)


def _get_response(estimator, X, response_method):
    """Call the first of ``response_method`` that ``estimator`` has."""
    methods = (
        (response_method,) if isinstance(response_method, str) else response_method
    )
    for name in methods:
        method = getattr(estimator, name, None)
        if method is None:
            continue
        response = np.asarray(method(X))
        if name == "predict_proba" and response.ndim == 2 and response.shape[1] == 2:
            response = response[:, 1]  # the positive (greater) class
        return response
    raise ValueError(
        f"{type(estimator).__name__} has none of the methods {list(methods)} "
        "this scorer needs."
    )


class _TaskScorer:
    """Scorer ``scorer(estimator, X, y_true)`` for long-format data.

    Made by :func:`make_task_scorer`; see there.
    """

    def __init__(self, score_func, sign, kwargs, task_column, average, response_method):
        self._score_func = score_func
        self._sign = sign
        self._kwargs = kwargs
        self._task_column = task_column
        self._average = average
        self._response_method = response_method

    def __call__(self, estimator, X, y_true, sample_weight=None):
        """Score ``estimator`` on long-format ``X`` against ``y_true``.

        Parameters
        ----------
        estimator : object
            A fitted estimator that takes long-format ``X`` (task column in).
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Test data with the task column.
        y_true : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed on to the score function.

        Returns
        -------
        score : float
            The averaged score, negated if lower is better.
        """
        _, tasks, _ = _split_task_column(X, self._task_column, copy=False)
        y_pred = _get_response(estimator, X, self._response_method)
        kwargs = dict(self._kwargs)
        if self._average is None:
            if sample_weight is not None:
                kwargs["sample_weight"] = sample_weight
            score = self._score_func(y_true, y_pred, tasks, **kwargs)
        elif self._average == "pooled":
            _check_task_targets(y_true, y_pred, tasks, sample_weight)
            if sample_weight is not None:
                kwargs["sample_weight"] = sample_weight
            score = self._score_func(y_true, y_pred, **kwargs)
        else:
            y_true, y_pred, sample_weight, labels, groups = _check_task_targets(
                y_true, y_pred, tasks, sample_weight
            )
            scores = _per_task(
                self._score_func,
                y_true,
                y_pred,
                groups,
                len(labels),
                sample_weight,
                kwargs,
            )
            weights = None
            if self._average == "weighted":
                weights = _task_weights(groups.codes, len(labels), sample_weight)
            score = np.average(scores, weights=weights)
        return self._sign * float(score)

    def __repr__(self):
        name = getattr(self._score_func, "__name__", repr(self._score_func))
        parts = [name, f"task_column={self._task_column!r}"]
        if self._sign < 0:
            parts.append("greater_is_better=False")
        parts.append(f"average={self._average!r}")
        if self._response_method != "predict":
            parts.append(f"response_method={self._response_method!r}")
        parts += [f"{key}={value!r}" for key, value in self._kwargs.items()]
        return f"make_task_scorer({', '.join(parts)})"


def make_task_scorer(
    score_func,
    *,
    task_column=-1,
    greater_is_better=True,
    average="macro",
    response_method="predict",
    **kwargs,
):
    """Make a scorer for long-format data from a metric.

    The scorer ``scorer(estimator, X, y)`` reads the task label of every row
    from the task column of ``X``, calls ``estimator.predict(X)`` on the whole of
    ``X`` (the estimator handles its task column), scores every task and
    averages. It can be passed as ``scoring=`` to ``cross_val_score``,
    ``cross_validate`` and ``GridSearchCV``.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)``, or with ``average=None``
        ``score_func(y_true, y_pred, tasks, **kwargs)``.
    task_column : int or str, default=-1
        Position or (DataFrame) name of the task column of ``X``.
    greater_is_better : bool, default=True
        If False the scorer returns the negated score, so that greater is
        always better (the scikit-learn convention).
    average : {'macro', 'weighted', 'pooled'} or None, default='macro'
        ``'macro'``: unweighted mean of the per-task scores; ``'weighted'``: mean
        weighted by task size (rows, or total sample weight); ``'pooled'``:
        ``score_func`` on all rows at once; None: ``score_func`` gets ``tasks``
        and averages by itself (as :func:`nmse`).
    response_method : str or tuple of str, default='predict'
        The estimator method giving ``y_pred``, or several to try in order (for
        example ``("decision_function", "predict_proba")``). The positive-class
        column is taken from a two-column ``predict_proba``.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y_true, sample_weight=None) -> float``.
        ``sample_weight`` is used when passed directly; the scorer does not take
        part in scikit-learn's metadata routing.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.compose import ColumnTransformer
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.metrics import mean_absolute_error
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl.metrics import make_task_scorer
    >>> X = np.array([[0.0, 0], [1.0, 0], [2.0, 0], [0.0, 1], [1.0, 1], [2.0, 1]])
    >>> y = np.array([0.0, 1.0, 2.0, 0.0, 1.0, 3.0])
    >>> drop_task = ColumnTransformer([("task", "drop", [-1])], remainder="passthrough")
    >>> model = make_pipeline(drop_task, LinearRegression()).fit(X, y)
    >>> scorer = make_task_scorer(mean_absolute_error, greater_is_better=False)
    >>> round(scorer(model, X, y), 4)  # -(0.2222 + 0.2778) / 2
    -0.25
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}.")
    if not callable(score_func):
        raise ValueError(f"score_func must be callable, got {score_func!r}.")
    if isinstance(response_method, str):
        response_method_ok = bool(response_method)
    else:
        response_method = tuple(response_method)
        response_method_ok = bool(response_method) and all(
            isinstance(name, str) for name in response_method
        )
    if not response_method_ok:
        raise ValueError(
            "response_method must be a method name or a tuple of method names, "
            f"got {response_method!r}."
        )
    sign = 1 if greater_is_better else -1
    return _TaskScorer(score_func, sign, kwargs, task_column, average, response_method)


# name -> (score_func, greater_is_better, average, response_method)
_SCORERS = {
    "nmse": (nmse, False, None, "predict"),
    "amse": (amse, False, None, "predict"),
    "explained_variance": (multitask_explained_variance, True, None, "predict"),
    "r2_macro": (r2_score, True, "macro", "predict"),
    "accuracy_macro": (accuracy_score, True, "macro", "predict"),
    "roc_auc_macro": (
        macro_roc_auc_score,
        True,
        None,
        ("decision_function", "predict_proba"),
    ),
}
_ALIASES = {"neg_nmse": "nmse", "neg_amse": "amse"}


def get_task_scorer_names():
    """Names accepted by :func:`get_task_scorer`.

    Returns
    -------
    names : list of str
        Sorted scorer names.

    Examples
    --------
    >>> from skmtl.metrics import get_task_scorer_names
    >>> get_task_scorer_names()
    ['accuracy_macro', 'amse', 'explained_variance', 'neg_amse', 'neg_nmse', 'nmse', 'r2_macro', 'roc_auc_macro']
    """  # noqa: E501
    return sorted([*_SCORERS, *_ALIASES])


def get_task_scorer(name, *, task_column=-1):
    """Get a ready-made long-format scorer by name.

    ========================  ====================================================
    name                      score (greater is always better)
    ========================  ====================================================
    ``'nmse'``                ``-nmse`` (alias ``'neg_nmse'``)
    ``'amse'``                ``-amse`` (alias ``'neg_amse'``)
    ``'explained_variance'``  :func:`multitask_explained_variance`
    ``'r2_macro'``            mean over tasks of ``r2_score``
    ``'accuracy_macro'``      mean over tasks of ``accuracy_score``
    ``'roc_auc_macro'``       :func:`macro_roc_auc_score` of ``decision_function``
                              (or ``predict_proba``)
    ========================  ====================================================

    Parameters
    ----------
    name : str
        One of :func:`get_task_scorer_names`.
    task_column : int or str, default=-1
        Position or (DataFrame) name of the task column of ``X``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y_true, sample_weight=None) -> float``.

    Examples
    --------
    >>> from skmtl.metrics import get_task_scorer
    >>> get_task_scorer("nmse")
    make_task_scorer(nmse, task_column=-1, greater_is_better=False, average=None)
    """
    key = _ALIASES.get(name, name) if isinstance(name, str) else None
    if key not in _SCORERS:
        raise ValueError(
            f"{name!r} is not a task scorer; valid names are {get_task_scorer_names()}."
        )
    score_func, greater_is_better, average, response_method = _SCORERS[key]
    return make_task_scorer(
        score_func,
        task_column=task_column,
        greater_is_better=greater_is_better,
        average=average,
        response_method=response_method,
    )

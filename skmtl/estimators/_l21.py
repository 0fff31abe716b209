"""The l2,1 (joint feature selection) estimators.

The same estimators as the trace-norm ones, with another penalty: each class
only sets ``_penalty``; data handling, solvers, the AMTL engine, backends and
fitted attributes are those of the shared bases.
"""

from sklearn.base import _fit_context

from ..penalties._l21 import L21
from ._async import _ASYNC_ATTRIBUTES, _ASYNC_PARAMS, _AsyncMTL
from ._base import MTLClassifierMixin, MTLRegressorMixin
from ._centralized import _ATTRIBUTES, _PARAMS, _SOLVER_ATTRIBUTES, _CentralizedMTL
from ._cv import _CV_ATTRIBUTES, _CV_PARAMS, _TraceNormMTLCV

__all__ = [
    "AsyncL21MTLClassifier",
    "AsyncL21MTLRegressor",
    "L21MTLClassifier",
    "L21MTLClassifierCV",
    "L21MTLRegressor",
    "L21MTLRegressorCV",
]

_OBJECTIVE_L21 = r"""
    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \sum_{j=1}^{d} \|W_{j,:}\|_2

    where :math:`W_{j,:}` is the row of feature :math:`j` in the d x T matrix
    of task weights (its weight in every task), :math:`c_t` is the task's total
    sample weight (``loss_scaling='mean'``) or 1 (``'sum'``), and the
    intercepts are not penalized.  The penalty zeroes whole rows: every task
    uses the same features.
"""


class L21MTLRegressor(MTLRegressorMixin, _CentralizedMTL):
    __doc__ = (
        """Multi-task least squares with joint feature selection (l2,1 penalty).

    Each task t has its own linear model (w_t, b_t); the l2,1 penalty on the
    rows of W = [w_1 ... w_T] selects one set of features shared by all
    tasks.  In the shared design with ``loss_scaling='mean'`` and no sample
    weights this is scikit-learn's
    :class:`~sklearn.linear_model.MultiTaskLasso` (same objective), but it
    also fits tasks with their own rows (long format), sample weights and the
    sum scaling.  Solved centrally to a certified optimum.
"""
        + _OBJECTIVE_L21
        + "\n    with the squared loss :math:`\\ell(y, m) = (y - m)^2 / 2`.\n"
        + _PARAMS
        + _ATTRIBUTES
        + _SOLVER_ATTRIBUTES
        + """
    See Also
    --------
    AsyncL21MTLRegressor : the same model fitted by asynchronous AMTL.
    TraceNormMTLRegressor : the trace-norm (shared subspace) penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import L21MTLRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 6)
    >>> W = np.zeros((6, 3))
    >>> W[:2] = rng.randn(2, 3)                       # two relevant features
    >>> Y = X @ W + 0.01 * rng.randn(60, 3)
    >>> model = L21MTLRegressor(alpha=0.05).fit(X, Y)
    >>> np.flatnonzero(np.abs(model.coef_).sum(axis=0))
    array([0, 1])
"""
    )

    _penalty = L21


class L21MTLClassifier(MTLClassifierMixin, _CentralizedMTL):
    __doc__ = (
        """Multi-task logistic regression with joint feature selection (l2,1).

    Every task is a binary problem with its own two labels and its own linear
    model; the l2,1 penalty on the rows of the task weights selects one set of
    features shared by all tasks.
"""
        + _OBJECTIVE_L21
        + "\n    with the logistic loss :math:`\\ell(y, m) = \\log(1 + e^{-y m})`, "
        "y in {-1, +1}.\n"
        + _PARAMS
        + _ATTRIBUTES
        + _SOLVER_ATTRIBUTES
        + """    classes_ : ndarray or list of ndarray
        Every label seen in fit (long format); the two labels of the single
        task, or a list of them per task (shared design).

    See Also
    --------
    AsyncL21MTLClassifier : the same model fitted by asynchronous AMTL.
    TraceNormMTLClassifier : the trace-norm (shared subspace) penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import L21MTLClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 5)
    >>> task = rng.randint(3, size=300)              # long format: 3 tasks
    >>> y = (X[:, 0] + 0.5 * task * X[:, 1] > 0).astype(int)
    >>> Xl = np.column_stack([X, task])
    >>> clf = L21MTLClassifier(alpha=0.05, task_column=-1).fit(Xl, y)
    >>> np.flatnonzero(np.abs(clf.coef_).sum(axis=0))
    array([0, 1])
"""
    )

    _penalty = L21


class AsyncL21MTLRegressor(MTLRegressorMixin, _AsyncMTL):
    __doc__ = (
        """Multi-task least squares with the l2,1 penalty, fitted by AMTL.

    The asynchronous engine of :class:`AsyncTraceNormMTLRegressor` with the
    group soft-thresholding of the rows of V as the central proximal map.
    Converges to the same optimum as :class:`L21MTLRegressor`.
"""
        + _OBJECTIVE_L21
        + "\n    with the squared loss.\n"
        + _ASYNC_PARAMS
        + _ATTRIBUTES
        + _ASYNC_ATTRIBUTES
        + """
    See Also
    --------
    L21MTLRegressor : the same model, solved centrally.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import AsyncL21MTLRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(80, 6)
    >>> W = np.zeros((6, 4))
    >>> W[:2] = rng.randn(2, 4)
    >>> Y = X @ W + 0.01 * rng.randn(80, 4)
    >>> amtl = AsyncL21MTLRegressor(
    ...     alpha=0.05, backend="simulated", random_state=0).fit(X, Y)
    >>> amtl.stop_reason_, np.flatnonzero(np.abs(amtl.coef_).sum(axis=0))
    ('converged', array([0, 1]))
"""
    )

    _penalty = L21


class AsyncL21MTLClassifier(MTLClassifierMixin, _AsyncMTL):
    __doc__ = (
        """Multi-task logistic regression with the l2,1 penalty, fitted by AMTL.

    Every task is binary with its own two labels; see
    :class:`AsyncL21MTLRegressor` for the algorithm.
"""
        + _OBJECTIVE_L21
        + "\n    with the logistic loss; intercepts are unpenalized coordinates of\n"
        "    each task's block.\n"
        + _ASYNC_PARAMS
        + _ATTRIBUTES
        + """    classes_ : ndarray or list of ndarray
        Every label seen in fit (long format), or the labels per task.
"""
        + _ASYNC_ATTRIBUTES
        + """
    See Also
    --------
    L21MTLClassifier : the same model, solved centrally.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import AsyncL21MTLClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 4)
    >>> task = rng.randint(3, size=300)
    >>> y = np.where(X[:, 0] + 0.2 * task * X[:, 1] > 0, "yes", "no")
    >>> Xl = np.column_stack([X, task])
    >>> clf = AsyncL21MTLClassifier(alpha=0.01, task_column=-1).fit(Xl, y)
    >>> clf.classes_
    array(['no', 'yes'], dtype='<U3')
    >>> print(clf.score(Xl, y) > 0.9)
    True
"""
    )

    _penalty = L21


class L21MTLRegressorCV(MTLRegressorMixin, _TraceNormMTLCV):
    __doc__ = (
        """l2,1 multi-task least squares with ``alpha`` set by cross-validation.

    Fits :class:`L21MTLRegressor` along a decreasing grid of ``alpha`` values
    on every fold (warm-started from one ``alpha`` to the next), picks the
    ``alpha`` with the best mean held-out score, and refits on all the data.
    The automatic grid starts at :func:`alpha_max` with ``penalty='l21'``.
"""
        + _CV_PARAMS.format(score="R^2 of all rows")
        + _CV_ATTRIBUTES.format(estimator="L21MTLRegressor")
        + """
    See Also
    --------
    L21MTLRegressor : The model at one ``alpha``.
    sklearn.linear_model.MultiTaskLassoCV : The shared-design counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import L21MTLRegressorCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 6)
    >>> W = np.zeros((6, 4))
    >>> W[:2] = rng.randn(2, 4)                       # two relevant features
    >>> Y = X @ W + 0.5 * rng.randn(60, 4)
    >>> model = L21MTLRegressorCV(alphas=10, cv=3).fit(X, Y)
    >>> model.cv_scores_.shape
    (3, 10)
    >>> bool(model.alpha_ == model.alphas_[np.argmax(model.mean_cv_scores_)])
    True
"""
    )

    _estimator_class = L21MTLRegressor

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
            Non-negative weights of the rows, used in every fit.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_path(X, y, sample_weight)


class L21MTLClassifierCV(MTLClassifierMixin, _TraceNormMTLCV):
    __doc__ = (
        """l2,1 multi-task logistic regression, ``alpha`` set by cross-validation.

    Fits :class:`L21MTLClassifier` along a decreasing grid of ``alpha`` values
    on every fold (warm-started from one ``alpha`` to the next), picks the
    ``alpha`` with the best mean held-out score, and refits on all the data.
    Every training fold needs both labels of every task.
"""
        + _CV_PARAMS.format(score="accuracy of all rows")
        + _CV_ATTRIBUTES.format(estimator="L21MTLClassifier")
        + """    classes_ : ndarray or list of ndarray
        Every label seen in fit (long format); the two labels of the single
        task, or a list of them per task (shared design).

    See Also
    --------
    L21MTLClassifier : The model at one ``alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import L21MTLClassifierCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 4)
    >>> task = rng.randint(3, size=300)              # long format: 3 tasks
    >>> y = (X[:, 0] + 0.3 * task * X[:, 1] + 0.5 * rng.randn(300) > 0).astype(int)
    >>> Xl = np.column_stack([X, task])
    >>> clf = L21MTLClassifierCV(alphas=5, task_column=-1).fit(Xl, y)
    >>> clf.cv_scores_.shape                          # 5 task-stratified folds
    (5, 5)
"""
    )

    _estimator_class = L21MTLClassifier

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
            Non-negative weights of the rows, used in every fit.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_path(X, y, sample_weight)

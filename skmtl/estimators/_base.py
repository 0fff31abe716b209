"""What every skmtl estimator shares: parameters, fit plumbing and prediction.

Concrete estimators only choose a solver (``_solve``, which returns a
:class:`~skmtl.solvers._result.SolverResult`); validation, warm start, storing
results and predicting live here, so the centralized and asynchronous
estimators behave the same way on the same data.  :meth:`MTLBase._set_fitted`
is the one place where fitted attributes are written.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._exceptions import ZeroCoefficientsWarning
from ..datafits._linalg import row_margins
from ..datafits._losses import LogisticLoss, SquaredLoss
from ..monitoring._hooks import prepare_monitor
from ..penalties._trace_norm import TraceNorm
from ..solvers._gaps import alpha_max
from ..utils._blas import SMALL, single_blas_thread
from ..utils._validation import (
    check_margins_finite,
    validate_fit_data,
    validate_predict_data,
)

# Smallest alpha / alpha_max a classifier accepts (see _check_alpha_scale).
_ALPHA_RATIO_FLOOR = 1e-8


class MTLBase(BaseEstimator):
    """Base class: shared parameters, data handling and prediction."""

    _loss = None  # "squared" or "logistic", set by the mixins below
    # Factory of the penalty (a skmtl.penalties.Penalty class): the trace norm
    # unless a concrete estimator says otherwise (the L21 estimators).
    _penalty = TraceNorm

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "task_column": [None, Integral, str],
        "fit_intercept": ["boolean"],
        "loss_scaling": [StrOptions({"mean", "sum"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "handle_unknown_task": [StrOptions({"error", "mean"})],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # -- fitting -------------------------------------------------------------
    def _make_datafit(self, blocks):
        if self._loss == "squared":
            return SquaredLoss(blocks, fit_intercept=self.fit_intercept)
        return LogisticLoss(blocks, fit_intercept=self.fit_intercept)

    def _warm_start_point(self, datafit):
        """Initial (W0, b0): the previous solution when warm starting fits."""
        if not self.warm_start or not hasattr(self, "coef_"):
            return None, None
        if self.coef_.shape != (datafit.n_tasks, datafit.n_features):
            return None, None
        b0 = self.intercept_.copy() if datafit.has_free_intercept else None
        return self.coef_.T.copy(), b0

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_with_context(self, X, y, sample_weight, X_val=None, y_val=None):
        classifier = self._loss == "logistic"
        if X_val is None and y_val is None:
            return self._fit(X, y, sample_weight, classifier=classifier)
        return self._fit(X, y, sample_weight, classifier, X_val=X_val, y_val=y_val)

    def _fit(self, X, y, sample_weight, classifier, X_val=None, y_val=None):
        data = validate_fit_data(self, X, y, sample_weight, classifier=classifier)
        run = None
        monitored = getattr(self, "task_monitor", None) is not None
        if data.multiclass and (monitored or X_val is not None):
            raise ValueError(
                "task_monitor does not support a multiclass y (one-vs-rest "
                "tasks); binarize y into a 2-D y of one column per class, or "
                "fit without a task_monitor."
            )
        if monitored or X_val is not None or y_val is not None:
            # Opt-in (TaskMonitor): hold out validation rows, monitor each task.
            data, run = prepare_monitor(self, data, X_val, y_val, classifier)
        return self._fit_datafit(self._make_datafit(data.blocks), data, run)

    def _fit_datafit(self, datafit, data, run=None):
        """Solve on a data-fit and store the result: ``fit`` after validation.

        ``data`` gives the tasks and the layout of ``y`` (a
        :class:`~skmtl.utils._validation.FitData`; its blocks are not read),
        ``run`` the monitor of a ``task_monitor`` fit.  Shared with
        :func:`skmtl.distributed.fit_from_loaders`, whose data-fit lives on
        the Dask workers.
        """
        self._check_alpha_scale(datafit)
        W0, b0 = self._warm_start_point(datafit)
        if run is None:
            result = self._solve(datafit, W0, b0)
        else:
            result = self._solve(datafit, W0, b0, monitor=run)
        self._set_fitted(datafit, data, result, run)
        return self

    # Fitted attributes read from the SolverResult besides coef_, intercept_,
    # n_iter_ and objective_history_: {attribute: field or info key}.  An
    # attribute whose key is absent from the result is removed (e.g.
    # ``updates_saved_``, only set by a monitored fit).
    _result_attributes = {}

    def _set_fitted(self, datafit, data, result, run=None):
        """Write every fitted attribute, from the data and a SolverResult.

        The one place where a fit's outcome becomes estimator state (the CV
        estimators copy a refitted model's state with :meth:`_copy_fitted`).
        """
        W = result.W
        if not np.all(np.isfinite(W)):
            raise FloatingPointError(
                "The fit produced non-finite coefficients; check the scale of X "
                "and the step size."
            )
        self.coef_ = np.ascontiguousarray(W.T)
        self.intercept_ = datafit.intercept(W, result.b)
        self.tasks_ = data.tasks
        self._y_ndim = data.y_ndim
        self._multiclass = data.multiclass
        if self._loss == "logistic":
            self._task_classes = data.classes
            self.classes_ = self._fitted_classes(data)
        self.n_iter_ = int(result.n_iter)
        self.objective_history_ = result.objective_history
        for name, key in self._result_attributes.items():
            if key in result._fields:
                setattr(self, name, getattr(result, key))
            elif result.info is not None and key in result.info:
                setattr(self, name, result.info[key])
            else:
                self.__dict__.pop(name, None)
        if run is None:
            self.__dict__.pop("task_convergence_", None)
        else:
            self.task_convergence_ = run.diagnostics()
        self._warn_if_zero(datafit)
        if not result.converged:
            if getattr(self, "stop_reason_", None) == "max_time":
                stop = f"stopped at max_time={self.max_time:g} s before converging"
                fix = "max_time"
            else:
                stop, fix = f"did not converge in max_iter={self.max_iter}", "max_iter"
            warnings.warn(
                f"{type(self).__name__} {stop} (final relative gap or residual "
                f"{result.gap:.2e} > tol={self.tol}). Increase {fix}, raise tol, "
                f"or scale the features.{self._small_alpha_hint(datafit)}",
                ConvergenceWarning,
            )

    def _small_alpha_hint(self, datafit):
        """A sentence for the ConvergenceWarning when alpha is tiny (logistic).

        Between ``_ALPHA_RATIO_FLOOR`` and ``1e-5`` times alpha_max the
        logistic gap is limited by rounding (see :meth:`_check_alpha_scale`):
        more iterations do not help, a larger alpha or scaled features do.
        """
        if self._loss != "logistic" or not self.alpha > 0:
            return ""
        a_max = alpha_max(datafit, self._penalty())
        if not a_max > 0 or self.alpha >= 1e-5 * a_max:
            return ""
        return (
            f" Note that alpha is only {self.alpha / a_max:.1e} times alpha_max="
            f"{a_max:.4g}: so nearly unregularized, the logistic gap is limited by "
            "rounding and more iterations rarely help; choose alpha relative to "
            "alpha_max (skmtl.alpha_max) or standardize the features."
        )

    def _fitted_classes(self, data):
        """``classes_`` of a classifier: every label, or the labels per task."""
        classes = data.classes
        if data.multiclass:
            return np.concatenate(classes)
        if self.task_column is None and data.y_ndim == 2:
            return [np.asarray(c) for c in classes]
        if self.task_column is None:
            return np.asarray(classes[0])
        return np.unique(np.concatenate(classes))

    def _copy_fitted(self, other):
        """Make ``other``'s fitted state (public and private) this estimator's.

        Removes this estimator's own fitted attributes first, so nothing is
        left over from an earlier fit.
        """
        for name in [n for n in vars(self) if n.endswith("_") and n[0] != "_"]:
            delattr(self, name)
        params = other.get_params(deep=False)
        for name, value in vars(other).items():
            if name not in params:
                setattr(self, name, value)

    def _check_alpha_scale(self, datafit):
        """ValueError when a classifier's alpha is negligible against alpha_max.

        The certificate needs ``Omega^*(grad f) <= alpha (1 + tol / 2)`` (see
        :mod:`skmtl.solvers._gaps`), i.e. a gradient exact to ``tol / 2``
        times ``alpha``.  The logistic gradient is computed from the margins,
        whose rounding grows with the (large) coefficients of a nearly
        unregularized fit: measured on Landmine and on a small synthetic
        problem, the relative gap at the end of the fit is about 0.5-1 below
        ``1e-8 alpha_max`` whatever ``max_iter`` (and 1e-4 .. 1e-1 between
        1e-7 and 1e-6).  Features on a very large scale (``X * 1e10``) put the
        default alpha there: fail at once and say so instead of running to
        ``max_iter`` for a gap of 1.0.
        """
        if self._loss != "logistic" or not self.alpha > 0:
            return
        if not getattr(self, "_warn_zero_coef", True):
            return  # a CV path point or refit: the grid was chosen on purpose
        # One BLAS thread for the spectral norm of a long thin d x T gradient,
        # as in the solvers: a multi-threaded Gram of a 20,000 x 20 one stalled
        # 0.4-1.2 s on the loaded 2-core machine (0.5 ms with one thread).
        # Small problems skip the limit's control thread (BLAS runs their
        # tiny products on one thread anyway).
        sizes = (datafit.n_features, datafit.n_tasks)
        with single_blas_thread(min(sizes) <= SMALL < max(sizes)):
            a_max = alpha_max(datafit, self._penalty())
        ratio = self.alpha / a_max if a_max > 0 else np.inf
        if ratio >= _ALPHA_RATIO_FLOOR:
            return
        raise ValueError(
            f"{type(self).__name__}: alpha={self.alpha:.4g} is only {ratio:.1e} "
            f"times alpha_max={a_max:.4g} of these data (the alpha at which every "
            "coefficient is zero). At that ratio the logistic problem is "
            "numerically unregularized and its duality gap cannot be certified "
            "in float64: the fit would stop at max_iter with a relative gap "
            "near 1. alpha_max grows with the scale of the features, so this "
            "usually means X is on a very large scale: standardize the features "
            "(e.g. sklearn.preprocessing.StandardScaler), or choose alpha "
            "relative to alpha_max (skmtl.alpha_max(X, y, ...) gives it; "
            f"alpha >= {_ALPHA_RATIO_FLOOR:g} * alpha_max is accepted), or let "
            "a CV estimator choose it."
        )

    def _warn_if_zero(self, datafit):
        """ZeroCoefficientsWarning when ``coef_ == 0`` because alpha >= alpha_max."""
        if not getattr(self, "_warn_zero_coef", True):
            return  # a CV path point: alpha_max is on the grid on purpose
        if self.alpha <= 0 or np.any(self.coef_ != 0):
            return
        a_max = alpha_max(datafit, self._penalty())
        if a_max <= np.finfo(np.float64).tiny:
            return  # the data-fit is flat at W = 0: zero whatever alpha is
        if self.alpha >= a_max * (1 - 1e-9):
            warnings.warn(
                f"{type(self).__name__}: every coefficient is zero because "
                f"alpha={self.alpha:.4g} >= alpha_max={a_max:.4g} for these data "
                "(only the intercepts are fitted; each task predicts a "
                "constant). Use an alpha well below alpha_max (see "
                "skmtl.alpha_max), or a CV estimator to choose it.",
                ZeroCoefficientsWarning,
                stacklevel=8,  # the caller of fit
            )

    # -- predicting ------------------------------------------------------------
    def _task_models(self, idx):
        """Coefficients and intercepts per row (-1 = unknown: the mean model)."""
        unknown = idx < 0
        if not unknown.any():  # no copy of coef_ nor of the n row indices
            return self.coef_, self.intercept_, idx
        # The mean model is row T of a copy (at 50,000 tasks and d = 50 a
        # 20 MB copy, 15 ms of fresh pages: only when a row needs it).
        coef = np.vstack([self.coef_, self.coef_.mean(axis=0)])
        intercept = np.append(self.intercept_, self.intercept_.mean())
        return coef, intercept, np.where(unknown, len(self.tasks_), idx)

    def _linear_predict(self, X):
        """Margins: (n,) in long format, (n, T) or (n,) in the shared design."""
        check_is_fitted(self)
        Xf, idx = validate_predict_data(self, X)
        if idx is None:
            M = np.asarray(Xf @ self.coef_.T) + self.intercept_
            if self._y_ndim == 1 and not getattr(self, "_multiclass", False):
                return M.ravel()
            return M
        # The caller gets ``idx`` with -1 for unknown tasks (see _row_classes).
        coef, intercept, model = self._task_models(idx)
        # One gather of each row's coefficients: O(nnz + n), whatever n_tasks.
        out = row_margins(Xf, coef, model, intercept)
        check_margins_finite(Xf, out)
        return out, idx

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class MTLRegressorMixin(RegressorMixin):
    """fit / predict for the squared loss."""

    _loss = "squared"

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Features; in long format one column holds the task labels.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; (n_samples, n_tasks) only in the shared design mode.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.
        X_val, y_val : array-like, default=None
            Validation data in the layout of ``X`` and ``y``, used by the
            ``task_monitor`` instead of holding out rows of each task.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_with_context(X, y, sample_weight, X_val, y_val)

    def predict(self, X):
        """Predict with each row's task model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Samples, in the layout used in fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Predictions; (n_samples, n_tasks) in the shared design mode with
            a 2-D y in fit.
        """
        out = self._linear_predict(X)
        return out[0] if isinstance(out, tuple) else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Several targets per row only in the shared design; long format is 1-D.
        tags.target_tags.multi_output = self.task_column is None
        return tags


class MTLClassifierMixin(ClassifierMixin):
    """fit / predict / predict_proba / decision_function for the logistic loss.

    Every task is binary, with its own two labels; ``classes_`` lists every
    label seen in fit.  The positive class of a task is the larger of its two
    labels.  In the shared design a 1-D ``y`` with K > 2 classes is fitted as
    K one-vs-rest tasks (class k against the rest) coupled by the trace norm,
    as scikit-learn's one-vs-rest multiclass classifiers.
    """

    _loss = "logistic"

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Features; in long format one column holds the task labels.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Binary labels per task (any two labels per task);
            (n_samples, n_tasks) only in the shared design mode.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.
        X_val, y_val : array-like, default=None
            Validation data in the layout of ``X`` and ``y``, used by the
            ``task_monitor`` instead of holding out rows of each task.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_with_context(X, y, sample_weight, X_val, y_val)

    def decision_function(self, X):
        """Margin ``x . w_t + b_t`` of the task's positive (larger) label.

        Multiclass (a 1-D ``y`` with K > 2 classes in fit): one column per
        class of ``classes_``, the margin of class k against the rest.

        Returns
        -------
        scores : ndarray of shape (n_samples,), (n_samples, n_tasks) or \
                (n_samples, n_classes)
        """
        out = self._linear_predict(X)
        return out[0] if isinstance(out, tuple) else out

    def _row_classes(self, idx):
        """Per row: the (negative, positive) labels of its task."""
        pairs = np.asarray(self._task_classes)
        if np.any(idx < 0):
            if not np.all(pairs == pairs[0]):
                raise ValueError(
                    "handle_unknown_task='mean' needs every task to use the same "
                    "two labels in a classifier; these tasks use different ones."
                )
            pairs = np.vstack([pairs, pairs[:1]])
            idx = np.where(idx < 0, len(self.tasks_), idx)
        return pairs[idx]

    def predict_proba(self, X):
        """Probability of each label.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of them
            Long format: columns follow ``classes_``; a row's mass is on its
            task's two labels.  Shared design with a 2-D y: one (n_samples, 2)
            array per task, as scikit-learn's multi-output classifiers.
            Multiclass: the one-vs-rest probabilities of the K classes,
            normalized to sum to one.
        """
        out = self._linear_predict(X)
        if isinstance(out, tuple):
            margin, idx = out
            pairs = self._row_classes(idx)
            p = expit(margin)
            proba = np.zeros((margin.shape[0], len(self.classes_)))
            rows = np.arange(margin.shape[0])
            proba[rows, np.searchsorted(self.classes_, pairs[:, 0])] = 1 - p
            proba[rows, np.searchsorted(self.classes_, pairs[:, 1])] = p
            return proba
        p = expit(out)
        if self._multiclass:
            # Normalized one-vs-rest, as scikit-learn's OvR LogisticRegression.
            return p / p.sum(axis=1, keepdims=True)
        if out.ndim == 1:
            return np.column_stack([1 - p, p])
        return [np.column_stack([1 - p[:, t], p[:, t]]) for t in range(p.shape[1])]

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            if isinstance(proba, list):
                return [np.log(p) for p in proba]
            return np.log(proba)

    def predict(self, X):
        """Predict each row's label with its task model.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
        """
        out = self._linear_predict(X)
        if isinstance(out, tuple):
            margin, idx = out
            pairs = self._row_classes(idx)
            return np.where(margin > 0, pairs[:, 1], pairs[:, 0])
        if self._multiclass:
            return self.classes_[np.argmax(out, axis=1)]
        if out.ndim == 1:
            c = self.classes_
            return np.where(out > 0, c[1], c[0])
        return np.column_stack(
            [np.where(out[:, t] > 0, c[1], c[0]) for t, c in enumerate(self.classes_)]
        )

    def score(self, X, y, sample_weight=None):
        """Accuracy: of all rows, or the mean of the per-task accuracies.

        With a 2-D ``y`` in the shared design the result is the mean over tasks
        of each task's accuracy (as the regressors' R^2 averages over tasks),
        not the share of rows where every task is right.

        Returns
        -------
        score : float
        """
        if self.task_column is None and getattr(self, "_y_ndim", 1) == 2:
            Y = np.asarray(y)
            if Y.ndim != 2 or Y.shape[1] != len(self.tasks_):
                raise ValueError(
                    f"y must have shape (n_samples, {len(self.tasks_)}) like in fit;"
                    f" got {Y.shape}."
                )
            pred = self.predict(X)
            return float(
                np.mean(
                    [
                        accuracy_score(Y[:, t], pred[:, t], sample_weight=sample_weight)
                        for t in range(Y.shape[1])
                    ]
                )
            )
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Multiclass as one-vs-rest tasks: a 1-D y in the shared design only.
        tags.classifier_tags.multi_class = self.task_column is None
        # The shared design takes one binary target per column of a 2-D y.
        tags.target_tags.multi_output = self.task_column is None
        return tags

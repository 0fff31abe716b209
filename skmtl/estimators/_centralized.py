"""The centralized trace-norm MTL estimators (the fast in-memory reference)."""

from ..monitoring._hooks import fit_centralized
from ..monitoring._monitor import TaskMonitor
from ..solvers._fista import solve
from ._base import MTLBase, MTLClassifierMixin, MTLRegressorMixin


class _CentralizedMTL(MTLBase):
    _parameter_constraints = {
        **MTLBase._parameter_constraints,
        "task_monitor": [None, TaskMonitor],
    }

    def __init__(
        self,
        alpha=0.05,
        *,
        task_column=None,
        fit_intercept=True,
        loss_scaling="mean",
        max_iter=10_000,
        tol=1e-6,
        warm_start=False,
        handle_unknown_task="error",
        verbose=0,
        random_state=None,
        task_monitor=None,
    ):
        self.alpha = alpha
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.loss_scaling = loss_scaling
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.handle_unknown_task = handle_unknown_task
        self.verbose = verbose
        self.random_state = random_state
        self.task_monitor = task_monitor

    _result_attributes = {"dual_gap_": "gap"}

    def _solve(self, datafit, W0, b0, monitor=None):
        kwargs = dict(
            penalty=self._penalty(),
            W0=W0,
            b0=b0,
            tol=self.tol,
            max_iter=self.max_iter,
            verbose=self.verbose,
        )
        if monitor is not None:
            return fit_centralized(datafit, self.alpha, monitor, **kwargs)
        return solve(datafit, self.alpha, **kwargs)


class TraceNormMTLRegressor(MTLRegressorMixin, _CentralizedMTL):
    r"""Trace-norm regularized multi-task least squares.

    Each task t has its own linear model (w_t, b_t); the trace-norm penalty on
    the matrix W = [w_1 ... w_T] pulls the tasks toward a shared low-dimensional
    subspace.  Solved centrally to a certified optimum.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \, \|W\|_*

    where :math:`\|W\|_*` is the trace (nuclear) norm of the d x T matrix of task
    weights :math:`W = [w_1, \dots, w_T]`, :math:`s_i` is the weight of row
    :math:`i`, :math:`c_t` is the task's total sample weight
    (``loss_scaling='mean'``) or 1 (``'sum'``), and the intercepts are not
    penalized.

    The loss is the squared loss :math:`\ell(y, m) = (y - m)^2 / 2`.

    Parameters
    ----------
    alpha : float, default=0.05
        Strength of the penalty; ``alpha >= alpha_max`` gives
        ``coef_ == 0`` (see :func:`skmtl.alpha_max`) and a
        :class:`skmtl.ZeroCoefficientsWarning`.  The default is chosen for
        standardized data (``benchmarks/bench_default_alpha.py``: held-out
        score within 0.012 of each data set's best ``alpha`` on Parkinson's,
        Landmine, blobs, digits and diabetes, 0.044 on School, which prefers
        ``alpha`` near 1; 0.1 had 0.037 on School but 0.027 on 10-class
        digits); tune it, e.g. with a CV estimator.
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
        Maximum number of solver iterations.
    tol : float, default=1e-6
        Tolerance on the certified relative duality gap.
    warm_start : bool, default=False
        Start from the previous solution when refitting.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time, a task not seen in fit raises, or is predicted with
        the average task model.
    verbose : int, default=0
        Verbosity.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split of ``task_monitor`` (when the monitor has
        no seed of its own); the solver itself is deterministic.
    task_monitor : TaskMonitor or None, default=None
        Opt-in per-task convergence monitoring on held-out rows of each task
        (or on ``X_val, y_val`` passed to ``fit``), with a policy for the
        tasks that have converged (snapshot, freeze, distill); see
        :class:`skmtl.TaskMonitor`.  The fit then runs FISTA in every case and
        sets ``task_convergence_``.  None (default): no monitoring.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        One row of weights per task.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (sorted) in long format, ``arange(n_tasks)`` otherwise.
    n_features_in_ : int
        Number of columns of X seen in fit (the task column included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X has string column names.
    n_iter_ : int
        Solver iterations.
    dual_gap_ : float
        Final certified relative duality gap (with ``alpha=0``, where no dual
        certificate exists, the gradient norm relative to ``alpha_max``).
    objective_history_ : ndarray
        Objective value at each convergence check.
    task_convergence_ : dict of ndarray of shape (n_tasks,)
        Only with a ``task_monitor``: per task, 'monitored' (it had validation
        rows), 'converged', 'converged_at' (iteration, -1 if never),
        'best_score' (best validation score in the monitor's metric),
        'best_at' (its iteration) and 'policy' (what was applied: the
        monitor's policy, 'none' or 'unmonitored').

    See Also
    --------
    AsyncTraceNormMTLRegressor : The same model fitted by asynchronous AMTL.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import TraceNormMTLRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 5)
    >>> W = rng.randn(5, 1) @ rng.randn(1, 3)       # three tasks, rank one
    >>> Y = X @ W + 0.01 * rng.randn(60, 3)
    >>> model = TraceNormMTLRegressor(alpha=0.01).fit(X, Y)
    >>> model.coef_.shape
    (3, 5)
    >>> print(round(model.score(X, Y), 3))
    1.0
    """


class TraceNormMTLClassifier(MTLClassifierMixin, _CentralizedMTL):
    r"""Trace-norm regularized multi-task logistic regression.

    Every task is a binary problem with its own two labels and its own linear
    model; the trace-norm penalty couples the tasks through a shared subspace.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \, \|W\|_*

    where :math:`\|W\|_*` is the trace (nuclear) norm of the d x T matrix of task
    weights :math:`W = [w_1, \dots, w_T]`, :math:`s_i` is the weight of row
    :math:`i`, :math:`c_t` is the task's total sample weight
    (``loss_scaling='mean'``) or 1 (``'sum'``), and the intercepts are not
    penalized.

    The loss is the logistic loss :math:`\ell(y, m) = \log(1 + e^{-y m})`,
    with each task's two labels coded as :math:`y \in \{-1, +1\}` (the
    larger label is +1).

    Parameters
    ----------
    alpha : float, default=0.05
        Strength of the penalty; ``alpha >= alpha_max`` gives
        ``coef_ == 0`` (see :func:`skmtl.alpha_max`) and a
        :class:`skmtl.ZeroCoefficientsWarning`.  The default is chosen for
        standardized data (``benchmarks/bench_default_alpha.py``: held-out
        score within 0.012 of each data set's best ``alpha`` on Parkinson's,
        Landmine, blobs, digits and diabetes, 0.044 on School, which prefers
        ``alpha`` near 1; 0.1 had 0.037 on School but 0.027 on 10-class
        digits); tune it, e.g. with a CV estimator.
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
        Maximum number of solver iterations.
    tol : float, default=1e-6
        Tolerance on the certified relative duality gap.
    warm_start : bool, default=False
        Start from the previous solution when refitting.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time, a task not seen in fit raises, or is predicted with
        the average task model.
    verbose : int, default=0
        Verbosity.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split of ``task_monitor`` (when the monitor has
        no seed of its own); the solver itself is deterministic.
    task_monitor : TaskMonitor or None, default=None
        Opt-in per-task convergence monitoring on held-out rows of each task
        (or on ``X_val, y_val`` passed to ``fit``), with a policy for the
        tasks that have converged (snapshot, freeze, distill); see
        :class:`skmtl.TaskMonitor`.  The fit then runs FISTA in every case and
        sets ``task_convergence_``.  None (default): no monitoring.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        One row of weights per task.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (sorted) in long format, ``arange(n_tasks)`` otherwise.
    n_features_in_ : int
        Number of columns of X seen in fit (the task column included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X has string column names.
    n_iter_ : int
        Solver iterations.
    dual_gap_ : float
        Final certified relative duality gap (with ``alpha=0``, where no dual
        certificate exists, the gradient norm relative to ``alpha_max``).
    objective_history_ : ndarray
        Objective value at each convergence check.
    task_convergence_ : dict of ndarray of shape (n_tasks,)
        Only with a ``task_monitor``: per task, 'monitored' (it had validation
        rows), 'converged', 'converged_at' (iteration, -1 if never),
        'best_score' (best validation score in the monitor's metric),
        'best_at' (its iteration) and 'policy' (what was applied: the
        monitor's policy, 'none' or 'unmonitored').
    classes_ : ndarray or list of ndarray
        Every label seen in fit (long format); the two labels of the single
        task, or a list of them per task (shared design).

    See Also
    --------
    AsyncTraceNormMTLClassifier : The same model fitted by asynchronous AMTL.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import TraceNormMTLClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 4)
    >>> task = rng.randint(3, size=200)              # long format: 3 tasks
    >>> y = (X[:, 0] + 0.3 * task * X[:, 1] > 0).astype(int)
    >>> Xl = np.column_stack([X, task])
    >>> clf = TraceNormMTLClassifier(alpha=0.01, task_column=-1).fit(Xl, y)
    >>> clf.tasks_
    array([0., 1., 2.])
    >>> print(clf.score(Xl, y) > 0.9)
    True
    """

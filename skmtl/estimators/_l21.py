"""The l2,1 (joint feature selection) estimators.

The same estimators as the trace-norm ones, with another penalty: each class
only sets ``_penalty``; data handling, solvers, the AMTL engine, backends and
fitted attributes are those of the shared bases.
"""

from sklearn.base import _fit_context

from ..penalties._l21 import L21
from ._async import _AsyncMTL
from ._base import MTLClassifierMixin, MTLRegressorMixin
from ._centralized import _CentralizedMTL
from ._cv import _TraceNormMTLCV

__all__ = [
    "AsyncL21MTLClassifier",
    "AsyncL21MTLRegressor",
    "L21MTLClassifier",
    "L21MTLClassifierCV",
    "L21MTLRegressor",
    "L21MTLRegressorCV",
]


class L21MTLRegressor(MTLRegressorMixin, _CentralizedMTL):
    r"""Multi-task least squares with joint feature selection (l2,1 penalty).

    Each task t has its own linear model (w_t, b_t); the l2,1 penalty on the
    rows of W = [w_1 ... w_T] selects one set of features shared by all
    tasks.  In the shared design with ``loss_scaling='mean'`` and no sample
    weights this is scikit-learn's
    :class:`~sklearn.linear_model.MultiTaskLasso` (same objective), but it
    also fits tasks with their own rows (long format), sample weights and the
    sum scaling.  Solved centrally to a certified optimum.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \sum_{j=1}^{d} \|W_{j,:}\|_2

    where :math:`W_{j,:}` is the row of feature :math:`j` in the d x T matrix
    of task weights :math:`W = [w_1, \dots, w_T]` (its weight in every task),
    :math:`s_i` is the weight of row :math:`i`, :math:`c_t` is the task's total
    sample weight (``loss_scaling='mean'``) or 1 (``'sum'``), and the
    intercepts are not penalized.  The penalty zeroes whole rows: every task
    uses the same features.

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
    AsyncL21MTLRegressor : The same model fitted by asynchronous AMTL.
    TraceNormMTLRegressor : The trace-norm (shared subspace) penalty.

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

    _penalty = L21


class L21MTLClassifier(MTLClassifierMixin, _CentralizedMTL):
    r"""Multi-task logistic regression with joint feature selection (l2,1).

    Every task is a binary problem with its own two labels and its own linear
    model; the l2,1 penalty on the rows of the task weights selects one set of
    features shared by all tasks.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \sum_{j=1}^{d} \|W_{j,:}\|_2

    where :math:`W_{j,:}` is the row of feature :math:`j` in the d x T matrix
    of task weights :math:`W = [w_1, \dots, w_T]` (its weight in every task),
    :math:`s_i` is the weight of row :math:`i`, :math:`c_t` is the task's total
    sample weight (``loss_scaling='mean'``) or 1 (``'sum'``), and the
    intercepts are not penalized.  The penalty zeroes whole rows: every task
    uses the same features.

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
    AsyncL21MTLClassifier : The same model fitted by asynchronous AMTL.
    TraceNormMTLClassifier : The trace-norm (shared subspace) penalty.

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

    _penalty = L21


class AsyncL21MTLRegressor(MTLRegressorMixin, _AsyncMTL):
    r"""Multi-task least squares with the l2,1 penalty, fitted by AMTL.

    The asynchronous engine of :class:`AsyncTraceNormMTLRegressor` with the
    group soft-thresholding of the rows of V as the central proximal map.
    Converges to the same optimum as :class:`L21MTLRegressor`.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \sum_{j=1}^{d} \|W_{j,:}\|_2

    where :math:`W_{j,:}` is the row of feature :math:`j` in the d x T matrix
    of task weights :math:`W = [w_1, \dots, w_T]` (its weight in every task),
    :math:`s_i` is the weight of row :math:`i`, :math:`c_t` is the task's total
    sample weight (``loss_scaling='mean'``) or 1 (``'sum'``), and the
    intercepts are not penalized.  The penalty zeroes whole rows: every task
    uses the same features.

    The loss is the squared loss :math:`\ell(y, m) = (y - m)^2 / 2`.

    Parameters
    ----------
    alpha : float, default=0.05
        Strength of the penalty (default chosen for standardized
        data, see :class:`TraceNormMTLRegressor`).
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` holds one column per task.  Otherwise the
        column of ``X`` (position or DataFrame name) holding each row's task
        label (long format).
    fit_intercept : bool, default=True
        Fit one unpenalized intercept per task.
    loss_scaling : {'mean', 'sum'}, default='mean'
        ``'mean'`` divides each task's loss by its total sample weight.
    backend : {'auto', 'sequential', 'threading', 'simulated', 'dask'} or Backend
        Where the task nodes run.  'auto' is 'sequential' for ``n_jobs`` in
        (None, 1) and 'threading' otherwise.  'simulated' runs a deterministic
        discrete-event simulation in virtual time (times in the diagnostics
        are then virtual seconds).  'dask' runs task nodes on a Dask cluster
        (needs ``skmtl[dask]``).  A Backend instance (e.g.
        ``SimulatedBackend(compute_time=...)``) is used as is.
    n_jobs : int or None, default=None
        Worker threads of the threading backend (-1: all cores).
    schedule : {'async', 'sync'}, default='async'
        'async' is AMTL; 'sync' is the paper's synchronous baseline (SMTL):
        every round waits for all tasks, then applies one prox.
    splitting : {'douglas-rachford', 'forward-backward'}, default='douglas-rachford'
        What a task node computes: an exact per-task prox (Douglas-Rachford),
        which needs far fewer epochs on ill-conditioned tasks, or the paper's
        gradient step ``z = u - eta grad l_t(u)`` (what ``python -m skmtl
        paper`` reproduces).  Both converge to the same optimum.
    step_size : 'auto' or float, default='auto'
        Step ``eta`` of both the task step and the central prox (threshold
        ``eta * alpha``).  Forward-backward: 'auto' is ``1/L`` and a float must
        be below ``2/L``.  Douglas-Rachford: any ``eta > 0``; 'auto' starts
        at the inverse of the typical curvature of the tasks' losses (median
        over tasks of the mean eigenvalue of their Hessians) and, when the
        data are local, is then chosen by short probes of the progress of the
        certified gap (each probe is a restart from the current model, see
        ``n_restarts_``; not on the 'dask' backend).
    relaxation : 'auto', 'arock' or float, default='auto'
        KM relaxation ``eta_k``.  'auto' is 1 (SMTL is then exactly proximal
        gradient); 'arock' is ARock's guaranteed but conservative bound
        ``0.9 / (1 + 2 tau / sqrt(T))`` (see ``relaxation_bound_``).
    max_staleness : 'auto' or int, default='auto'
        Cap ``tau`` on the staleness of any update (back-pressure blocks the
        tasks that run ahead); 'auto' is ``4 * n_tasks``.
    refresh_every : 'auto' or int, default='auto'
        Task updates per proximal map the central node publishes (a batched
        refresh: one prox serves this many updates).  Every read carries the
        version of the prox it came from, so the staleness stays exact and
        capped by ``max_staleness``, which an int may not exceed.  'auto' is
        ``n_tasks // 2`` (at least 1, at most ``max_staleness``) on
        the sequential backend, where each refresh runs between two task
        steps, and 1 (a prox after every update) on the others: a threaded
        central node batches by itself, refreshing when it gets to it.
        The prox is always refreshed at the epoch checks and at the end of
        a 'sync' round.
    dynamic_step : bool or DynamicStep, default=False
        The paper's dynamic step size: each task's relaxation is multiplied
        by ``log(max(mean of its last 5 delays, 10))`` and clipped; see
        :class:`skmtl.DynamicStep` for the delay that drives it.
    delay : None, float, DelayModel or callable, default=None
        Injected network delay per round trip, in seconds: a constant, a
        :class:`skmtl.DelayModel` (offset plus jitter, per-task offsets for
        stragglers) or a callable ``delay(task, rng)``.  Applied identically
        to both schedules on every backend.
    max_iter : int, default=2000
        Maximum number of epochs (T task updates each; rounds for 'sync').
    max_time : float or None, default=None
        Stop after this many seconds (virtual for the simulated backend).
    tol : float, default=1e-6
        Stop when the certified relative duality gap of the published model
        is at most ``tol``: the same criterion as the centralized estimators
        (see ``dual_gap_``), checked every epoch.  When the data are remote
        (:func:`skmtl.distributed.fit_from_loaders`) no certificate exists and
        ``tol`` bounds the relative fixed-point residual ``||Z - V|| / ||V||``
        instead.
    warm_start : bool, default=False
        Start from the previous solution when refitting.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time, a task not seen in fit raises, or is predicted with
        the average task model.
    verbose : int, default=0
        Print a progress line at most once a second.
    random_state : int, RandomState instance or None, default=None
        Seeds the delay draws; with the sequential or simulated backend the
        fit is then reproducible bit for bit.
    client : distributed.Client, str or None, default=None
        Dask client or scheduler address for ``backend='dask'``; None starts
        a local cluster for the fit.
    task_monitor : TaskMonitor or None, default=None
        Opt-in per-task convergence monitoring on held-out rows (or on
        ``X_val, y_val`` passed to ``fit``), checked every
        ``check_every`` epochs on the published prox.  With
        ``policy='freeze'`` a converged task is no longer activated; with
        'distill' it trains on distillation targets and is activated less
        often (``distill_period``; local backends only, not 'dask').
        See :class:`skmtl.TaskMonitor`.  None (default): no monitoring.
    task_timeout : float or None, default=60.0
        Seconds one task step (with a user's ``delay`` callable) may take.
        Threading backend: the fit stops with a ``TimeoutError`` naming the
        task; Dask: the task's node is re-created on another worker, and the
        fit fails within about this time when no worker is left.  A user's
        delay callable that blocks longer stops the fit on any backend.  None
        waits forever.  Ignored for a Backend instance (set its own).

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
        Epochs (T task updates each; rounds for 'sync').
    objective_history_ : structured ndarray
        One row per epoch with fields 'time', 'n_updates', 'residual' and
        'objective'.
    n_updates_ : int
        Task updates applied.
    task_stats_ : dict of ndarray of shape (n_tasks,)
        Per task: 'n_updates', 'staleness_mean', 'staleness_max',
        'round_trip_mean', 'round_trip_max' (seconds) and 'relaxation_mean'.
    stop_reason_ : str
        'converged', 'max_iter', 'max_time' or, with a ``task_monitor``,
        'tasks_converged' (every task converged and was deactivated).
    residual_ : float
        Final relative fixed-point residual.
    dual_gap_ : float
        Final certified relative duality gap, as for the centralized
        estimators; NaN when the data are remote.
    n_restarts_ : int
        Restarts of the asynchronous loop from its current model: probes of
        the Douglas-Rachford step search (``step_size='auto'``).
    step_size_, relaxation_, max_staleness_ : float, float, int
        The values used.
    relaxation_bound_ : float
        ARock's sufficient relaxation bound for this ``max_staleness_``.
    refresh_every_ : int
        The ``refresh_every`` used.
    events_ : list of dict
        Notable backend events (e.g. a worker lost and its tasks re-created).
    task_convergence_ : dict of ndarray of shape (n_tasks,)
        Only with a ``task_monitor``: as for :class:`TraceNormMTLRegressor`
        (with epochs instead of iterations), plus 'updates_saved' per task.
    updates_saved_ : int
        Only with a ``task_monitor``: task updates avoided by slowing down or
        deactivating converged tasks (for each, the epochs after its switch
        minus the updates it still received).

    See Also
    --------
    L21MTLRegressor : The same model, solved centrally.

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

    _penalty = L21


class AsyncL21MTLClassifier(MTLClassifierMixin, _AsyncMTL):
    r"""Multi-task logistic regression with the l2,1 penalty, fitted by AMTL.

    Every task is binary with its own two labels; see
    :class:`AsyncL21MTLRegressor` for the algorithm.

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \sum_{j=1}^{d} \|W_{j,:}\|_2

    where :math:`W_{j,:}` is the row of feature :math:`j` in the d x T matrix
    of task weights :math:`W = [w_1, \dots, w_T]` (its weight in every task),
    :math:`s_i` is the weight of row :math:`i`, :math:`c_t` is the task's total
    sample weight (``loss_scaling='mean'``) or 1 (``'sum'``), and the
    intercepts are not penalized.  The penalty zeroes whole rows: every task
    uses the same features.

    The loss is the logistic loss :math:`\ell(y, m) = \log(1 + e^{-y m})`,
    with each task's two labels coded as :math:`y \in \{-1, +1\}` (the
    larger label is +1).

    Parameters
    ----------
    alpha : float, default=0.05
        Strength of the penalty (default chosen for standardized
        data, see :class:`TraceNormMTLRegressor`).
    task_column : int, str or None, default=None
        ``None``: shared design, ``y`` holds one column per task.  Otherwise the
        column of ``X`` (position or DataFrame name) holding each row's task
        label (long format).
    fit_intercept : bool, default=True
        Fit one unpenalized intercept per task.
    loss_scaling : {'mean', 'sum'}, default='mean'
        ``'mean'`` divides each task's loss by its total sample weight.
    backend : {'auto', 'sequential', 'threading', 'simulated', 'dask'} or Backend
        Where the task nodes run.  'auto' is 'sequential' for ``n_jobs`` in
        (None, 1) and 'threading' otherwise.  'simulated' runs a deterministic
        discrete-event simulation in virtual time (times in the diagnostics
        are then virtual seconds).  'dask' runs task nodes on a Dask cluster
        (needs ``skmtl[dask]``).  A Backend instance (e.g.
        ``SimulatedBackend(compute_time=...)``) is used as is.
    n_jobs : int or None, default=None
        Worker threads of the threading backend (-1: all cores).
    schedule : {'async', 'sync'}, default='async'
        'async' is AMTL; 'sync' is the paper's synchronous baseline (SMTL):
        every round waits for all tasks, then applies one prox.
    splitting : {'douglas-rachford', 'forward-backward'}, default='douglas-rachford'
        What a task node computes: an exact per-task prox (Douglas-Rachford),
        which needs far fewer epochs on ill-conditioned tasks, or the paper's
        gradient step ``z = u - eta grad l_t(u)`` (what ``python -m skmtl
        paper`` reproduces).  Both converge to the same optimum.
    step_size : 'auto' or float, default='auto'
        Step ``eta`` of both the task step and the central prox (threshold
        ``eta * alpha``).  Forward-backward: 'auto' is ``1/L`` and a float must
        be below ``2/L``.  Douglas-Rachford: any ``eta > 0``; 'auto' starts
        at the inverse of the typical curvature of the tasks' losses (median
        over tasks of the mean eigenvalue of their Hessians) and, when the
        data are local, is then chosen by short probes of the progress of the
        certified gap (each probe is a restart from the current model, see
        ``n_restarts_``; not on the 'dask' backend).
    relaxation : 'auto', 'arock' or float, default='auto'
        KM relaxation ``eta_k``.  'auto' is 1 (SMTL is then exactly proximal
        gradient); 'arock' is ARock's guaranteed but conservative bound
        ``0.9 / (1 + 2 tau / sqrt(T))`` (see ``relaxation_bound_``).
    max_staleness : 'auto' or int, default='auto'
        Cap ``tau`` on the staleness of any update (back-pressure blocks the
        tasks that run ahead); 'auto' is ``4 * n_tasks``.
    refresh_every : 'auto' or int, default='auto'
        Task updates per proximal map the central node publishes (a batched
        refresh: one prox serves this many updates).  Every read carries the
        version of the prox it came from, so the staleness stays exact and
        capped by ``max_staleness``, which an int may not exceed.  'auto' is
        ``n_tasks // 2`` (at least 1, at most ``max_staleness``) on
        the sequential backend, where each refresh runs between two task
        steps, and 1 (a prox after every update) on the others: a threaded
        central node batches by itself, refreshing when it gets to it.
        The prox is always refreshed at the epoch checks and at the end of
        a 'sync' round.
    dynamic_step : bool or DynamicStep, default=False
        The paper's dynamic step size: each task's relaxation is multiplied
        by ``log(max(mean of its last 5 delays, 10))`` and clipped; see
        :class:`skmtl.DynamicStep` for the delay that drives it.
    delay : None, float, DelayModel or callable, default=None
        Injected network delay per round trip, in seconds: a constant, a
        :class:`skmtl.DelayModel` (offset plus jitter, per-task offsets for
        stragglers) or a callable ``delay(task, rng)``.  Applied identically
        to both schedules on every backend.
    max_iter : int, default=2000
        Maximum number of epochs (T task updates each; rounds for 'sync').
    max_time : float or None, default=None
        Stop after this many seconds (virtual for the simulated backend).
    tol : float, default=1e-6
        Stop when the certified relative duality gap of the published model
        is at most ``tol``: the same criterion as the centralized estimators
        (see ``dual_gap_``), checked every epoch.  When the data are remote
        (:func:`skmtl.distributed.fit_from_loaders`) no certificate exists and
        ``tol`` bounds the relative fixed-point residual ``||Z - V|| / ||V||``
        instead.
    warm_start : bool, default=False
        Start from the previous solution when refitting.
    handle_unknown_task : {'error', 'mean'}, default='error'
        At predict time, a task not seen in fit raises, or is predicted with
        the average task model.
    verbose : int, default=0
        Print a progress line at most once a second.
    random_state : int, RandomState instance or None, default=None
        Seeds the delay draws; with the sequential or simulated backend the
        fit is then reproducible bit for bit.
    client : distributed.Client, str or None, default=None
        Dask client or scheduler address for ``backend='dask'``; None starts
        a local cluster for the fit.
    task_monitor : TaskMonitor or None, default=None
        Opt-in per-task convergence monitoring on held-out rows (or on
        ``X_val, y_val`` passed to ``fit``), checked every
        ``check_every`` epochs on the published prox.  With
        ``policy='freeze'`` a converged task is no longer activated; with
        'distill' it trains on distillation targets and is activated less
        often (``distill_period``; local backends only, not 'dask').
        See :class:`skmtl.TaskMonitor`.  None (default): no monitoring.
    task_timeout : float or None, default=60.0
        Seconds one task step (with a user's ``delay`` callable) may take.
        Threading backend: the fit stops with a ``TimeoutError`` naming the
        task; Dask: the task's node is re-created on another worker, and the
        fit fails within about this time when no worker is left.  A user's
        delay callable that blocks longer stops the fit on any backend.  None
        waits forever.  Ignored for a Backend instance (set its own).

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
    classes_ : ndarray or list of ndarray
        Every label seen in fit (long format), or the labels per task.
    n_iter_ : int
        Epochs (T task updates each; rounds for 'sync').
    objective_history_ : structured ndarray
        One row per epoch with fields 'time', 'n_updates', 'residual' and
        'objective'.
    n_updates_ : int
        Task updates applied.
    task_stats_ : dict of ndarray of shape (n_tasks,)
        Per task: 'n_updates', 'staleness_mean', 'staleness_max',
        'round_trip_mean', 'round_trip_max' (seconds) and 'relaxation_mean'.
    stop_reason_ : str
        'converged', 'max_iter', 'max_time' or, with a ``task_monitor``,
        'tasks_converged' (every task converged and was deactivated).
    residual_ : float
        Final relative fixed-point residual.
    dual_gap_ : float
        Final certified relative duality gap, as for the centralized
        estimators; NaN when the data are remote.
    n_restarts_ : int
        Restarts of the asynchronous loop from its current model: probes of
        the Douglas-Rachford step search (``step_size='auto'``).
    step_size_, relaxation_, max_staleness_ : float, float, int
        The values used.
    relaxation_bound_ : float
        ARock's sufficient relaxation bound for this ``max_staleness_``.
    refresh_every_ : int
        The ``refresh_every`` used.
    events_ : list of dict
        Notable backend events (e.g. a worker lost and its tasks re-created).
    task_convergence_ : dict of ndarray of shape (n_tasks,)
        Only with a ``task_monitor``: as for :class:`TraceNormMTLRegressor`
        (with epochs instead of iterations), plus 'updates_saved' per task.
    updates_saved_ : int
        Only with a ``task_monitor``: task updates avoided by slowing down or
        deactivating converged tasks (for each, the epochs after its switch
        minus the updates it still received).

    See Also
    --------
    L21MTLClassifier : The same model, solved centrally.

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

    _penalty = L21


class L21MTLRegressorCV(MTLRegressorMixin, _TraceNormMTLCV):
    r"""Multi-task least squares, l2,1 penalty, ``alpha`` set by cross-validation.

    Fits :class:`L21MTLRegressor` along a decreasing grid of ``alpha`` values
    on every fold (warm-started from one ``alpha`` to the next), picks the
    ``alpha`` with the best mean held-out score, and refits on all the data.
    The automatic grid starts at :func:`alpha_max` with ``penalty='l21'``.

    For each ``alpha`` of the grid, every fold solves the problem of
    :class:`L21MTLRegressor`,

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \sum_{j=1}^{d} \|W_{j,:}\|_2

    with the squared loss (:math:`c_t`, :math:`s_i` and :math:`\ell` as there).

    Parameters
    ----------
    alphas : int or array-like of shape (n_alphas,), default=20
        An int: that many values of ``alpha`` on a geometric grid from
        :func:`alpha_max` (computed on all the data) down to
        ``eps * alpha_max``.  An array: the values to try (sorted in decreasing
        order).
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
        Held-out score of every fold and ``alpha`` (greater is better).
    mean_cv_scores_ : ndarray of shape (n_alphas,)
        Mean of ``cv_scores_`` over the folds.
    best_estimator_ : L21MTLRegressor
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
    r"""Multi-task logistic regression, l2,1 penalty, ``alpha`` set by CV.

    Fits :class:`L21MTLClassifier` along a decreasing grid of ``alpha`` values
    on every fold (warm-started from one ``alpha`` to the next), picks the
    ``alpha`` with the best mean held-out score, and refits on all the data.
    Every training fold needs both labels of every task.

    For each ``alpha`` of the grid, every fold solves the problem of
    :class:`L21MTLClassifier`,

    .. math::

        \min_{W, b} \; \sum_{t=1}^{T} \frac{1}{c_t} \sum_{i \in t} s_i \,
        \ell(y_i, x_i^\top w_t + b_t) + \alpha \sum_{j=1}^{d} \|W_{j,:}\|_2

    with the logistic loss (:math:`c_t`, :math:`s_i` and :math:`\ell` as there).

    Parameters
    ----------
    alphas : int or array-like of shape (n_alphas,), default=20
        An int: that many values of ``alpha`` on a geometric grid from
        :func:`alpha_max` (computed on all the data) down to
        ``eps * alpha_max``.  An array: the values to try (sorted in decreasing
        order).
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
        Held-out score of every fold and ``alpha`` (greater is better).
    mean_cv_scores_ : ndarray of shape (n_alphas,)
        Mean of ``cv_scores_`` over the folds.
    best_estimator_ : L21MTLClassifier
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

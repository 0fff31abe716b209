"""Regularization paths: one validation, one preprocessing, warm starts.

:func:`datafit_path` solves the penalized problem for a decreasing sequence of
``alpha`` on one data-fit, each solve warm-started from the previous solution
(and, for the squared loss in Gram form, from the previous ADMM penalty
``rho``, with one eigen-decomposition of the ``H_t`` for the whole path).
:func:`mtl_path` is the same from raw ``(X, y)``: the data are validated and
turned into a data-fit once, as the estimators would.  The CV estimators
(:mod:`skmtl.estimators._cv`) run :func:`datafit_path` on every fold.
"""

from typing import NamedTuple

import numpy as np

from ..datafits._losses import SquaredLoss
from ..penalties._base import make_penalty
from ._admm import solve_gram
from ._fista import solve
from ._gaps import alpha_max

__all__ = ["PathResult", "datafit_path", "default_alphas", "mtl_path"]


class PathResult(NamedTuple):
    """What a regularization path returns, one entry per fitted ``alpha``.

    Attributes
    ----------
    alphas : ndarray of shape (n_fitted,)
        The values of ``alpha`` solved, in decreasing order (fewer than asked
        when a ``callback`` stopped the path).
    coefs : ndarray of shape (n_fitted, n_tasks, n_features)
        The coefficients (the estimators' ``coef_``) at every ``alpha``.
    intercepts : ndarray of shape (n_fitted, n_tasks)
        The intercepts (zeros without intercept).
    gaps : ndarray of shape (n_fitted,)
        Certified relative duality gaps.
    n_iter : ndarray of shape (n_fitted,)
        Solver iterations (ADMM iterations, or Newton steps for the logistic
        loss) of every ``alpha``.
    converged : ndarray of shape (n_fitted,)
        Whether every solve reached ``tol``.
    """

    alphas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    gaps: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


def default_alphas(a_max, n_alphas=20, eps=1e-3):
    """``n_alphas`` values from ``a_max`` down to ``eps * a_max`` (geometric)."""
    if a_max <= np.finfo(np.float64).tiny:
        return np.zeros(1)  # the data-fit is flat at W = 0: one alpha suffices
    return np.geomspace(a_max, eps * a_max, num=int(n_alphas))


def _check_alphas(alphas):
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(
            f"alphas must be a non-empty 1-D array of values; got shape {alphas.shape}."
        )
    if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError(
            f"alphas must be finite and non-negative; got {alphas.tolist()}."
        )
    return np.sort(alphas)[::-1].copy()


def datafit_path(
    datafit,
    alphas,
    *,
    penalty=None,
    tol=1e-6,
    max_iter=10_000,
    verbose=0,
    callback=None,
):
    """Solve for every ``alpha`` (sorted decreasing), each warm-started.

    Parameters
    ----------
    datafit : SquaredLoss or LogisticLoss
    alphas : array-like of shape (n_alphas,)
        Non-negative values, solved from the largest to the smallest.
    penalty : Penalty or None, default=None
        None means the trace norm.
    tol, max_iter, verbose :
        As in :func:`skmtl.solvers._fista.solve`, for every ``alpha``.
    callback : callable, default=None
        ``callback(k, alpha, result)`` after the ``k``-th solve (a
        :class:`~skmtl.solvers._result.SolverResult`); returning True stops the
        path there (e.g. an early-termination rule on held-out scores).

    Returns
    -------
    PathResult
    """
    alphas = _check_alphas(alphas)
    penalty = make_penalty(penalty)
    T, d = datafit.n_tasks, datafit.n_features
    gram = isinstance(datafit, SquaredLoss) and getattr(datafit, "form", None) == (
        "gram"
    )
    W, b, rho = None, None, None
    out = {k: [] for k in PathResult._fields}
    for k, alpha in enumerate(alphas):
        if gram:
            # One eigendecomposition of the H_t for the whole path, in H's
            # own buffer (datafit.gram_eig, computed at the first alpha < alpha_max).
            res = solve_gram(
                datafit,
                alpha,
                W0=W,
                rho=rho,
                tol=tol,
                max_iter=max_iter,
                verbose=verbose,
                penalty=penalty,
            )
            r = getattr(res, "rho", None)
            rho = r if r is not None and np.isfinite(r) else rho
        else:
            res = solve(
                datafit,
                alpha,
                penalty=penalty,
                W0=W,
                b0=b,
                tol=tol,
                max_iter=max_iter,
                verbose=verbose,
            )
        W, b = res.W, res.b
        out["alphas"].append(alpha)
        out["coefs"].append(np.ascontiguousarray(W.T))
        out["intercepts"].append(np.asarray(datafit.intercept(W, b), dtype=float))
        out["gaps"].append(float(res.gap))
        out["n_iter"].append(int(res.n_iter))
        out["converged"].append(bool(res.converged))
        if callback is not None and callback(k, alpha, res):
            break
    return PathResult(
        np.asarray(out["alphas"]),
        np.asarray(out["coefs"]).reshape(-1, T, d),
        np.asarray(out["intercepts"]).reshape(-1, T),
        np.asarray(out["gaps"]),
        np.asarray(out["n_iter"], dtype=int),
        np.asarray(out["converged"], dtype=bool),
    )


def mtl_path(
    X,
    y,
    alphas=None,
    *,
    loss="squared",
    penalty="trace",
    task_column=None,
    fit_intercept=True,
    loss_scaling="mean",
    sample_weight=None,
    n_alphas=20,
    eps=1e-3,
    tol=1e-6,
    max_iter=10_000,
    verbose=0,
):
    """The regularization path of trace-norm (or l2,1) MTL on raw data.

    The data are validated and preprocessed (centering, Gram matrices,
    labels) once, exactly as :class:`~skmtl.TraceNormMTLRegressor` /
    :class:`~skmtl.TraceNormMTLClassifier` (or the ``L21`` estimators) do
    with the same parameters; then every ``alpha`` is solved warm-started
    from the previous one (:func:`datafit_path`).

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Features; in long format one column holds the task labels.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Targets or binary labels per task.
    alphas : array-like, default=None
        The values to solve (sorted decreasing); None: ``n_alphas`` values
        from ``alpha_max`` down to ``eps * alpha_max``.
    loss : {'squared', 'logistic'}, default='squared'
    penalty : {'trace', 'l21'}, default='trace'
    task_column, fit_intercept, loss_scaling, sample_weight :
        As in the estimators.
    n_alphas : int, default=20
    eps : float, default=1e-3
    tol : float, default=1e-6
        Certified relative duality gap of every solve.
    max_iter : int, default=10000
    verbose : int, default=0

    Returns
    -------
    PathResult
        ``coefs[k]`` is the ``coef_`` an estimator with ``alpha=alphas[k]``
        would fit (to ``tol``), ``intercepts[k]`` its ``intercept_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.solvers._path import mtl_path
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(40, 4)
    >>> Y = X @ rng.randn(4, 3) + 0.1 * rng.randn(40, 3)
    >>> path = mtl_path(X, Y, n_alphas=5)
    >>> path.coefs.shape, bool(np.all(path.coefs[0] == 0))
    ((5, 3, 4), True)
    >>> bool(np.all(path.gaps <= 1e-6))
    True
    """
    from ..estimators._centralized import TraceNormMTLClassifier, TraceNormMTLRegressor
    from ..estimators._l21 import L21MTLClassifier, L21MTLRegressor
    from ..utils._validation import validate_fit_data

    classes = {
        ("squared", "trace"): TraceNormMTLRegressor,
        ("logistic", "trace"): TraceNormMTLClassifier,
        ("squared", "l21"): L21MTLRegressor,
        ("logistic", "l21"): L21MTLClassifier,
    }
    if (loss, penalty) not in classes:
        raise ValueError(
            f"loss must be 'squared' or 'logistic' and penalty 'trace' or 'l21'; "
            f"got loss={loss!r}, penalty={penalty!r}."
        )
    est = classes[loss, penalty](
        task_column=task_column, fit_intercept=fit_intercept, loss_scaling=loss_scaling
    )
    est._validate_params()
    data = validate_fit_data(est, X, y, sample_weight, classifier=loss == "logistic")
    datafit = est._make_datafit(data.blocks)
    pen = est._penalty()
    if alphas is None:
        alphas = default_alphas(alpha_max(datafit, pen), n_alphas, eps)
    return datafit_path(
        datafit, alphas, penalty=pen, tol=tol, max_iter=max_iter, verbose=verbose
    )

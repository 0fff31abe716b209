"""The l2,1 norm (joint feature selection): the sum of the row norms of W.

With ``W`` of shape (n_features, n_tasks), row ``j`` holds feature ``j``'s
weight in every task, so

.. math::

    \\Omega(W) = \\|W\\|_{2,1} = \\sum_{j=1}^{d} \\|W_{j,:}\\|_2

zeroes whole rows: a feature is used by all tasks or by none. Its proximal map
is group soft-thresholding of the rows,

.. math::

    \\operatorname{prox}_{\\theta \\Omega}(V)_{j,:}
    = \\max\\left(0, 1 - \\frac{\\theta}{\\|V_{j,:}\\|_2}\\right) V_{j,:},

and its dual norm is the largest row norm, ``||G||_{2,inf} = max_j ||G_{j,:}||``.
"""

import numpy as np

from ._base import Penalty
from ._trace_norm import (
    _check_finite,
    _check_matrix,
    _check_threshold,
    _power_of_two_scale,
)

__all__ = ["L21", "l21_norm", "prox_l21"]


def _row_norms(V, amax):
    """Euclidean norms of the rows of a finite float64 ``V`` (no overflow)."""
    scale = _power_of_two_scale(amax)
    if scale == 1.0:
        return np.sqrt(np.einsum("ij,ij->i", V, V))
    Vs = V * scale  # exact: a power of two
    return np.sqrt(np.einsum("ij,ij->i", Vs, Vs)) / scale


def l21_norm(W):
    """``||W||_{2,1}``: the sum over rows (features) of their Euclidean norms.

    Parameters
    ----------
    W : array-like of shape (n_features, n_tasks)

    Returns
    -------
    norm : float

    Raises
    ------
    ValueError
        If ``W`` is not 2-D or holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties import l21_norm
    >>> print(l21_norm(np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])))
    6.0
    """
    W, _ = _check_matrix(W, "W")
    amax = _check_finite(W, "W")
    if W.size == 0:
        return 0.0
    return float(_row_norms(W, amax).sum())


def prox_l21(V, threshold):
    """Proximal map of ``threshold * ||.||_{2,1}``: group soft-thresholding.

    Each row ``v_j`` of ``V`` becomes ``max(0, 1 - threshold / ||v_j||) v_j``.

    Parameters
    ----------
    V : array-like of shape (n_features, n_tasks)
        The matrix; the work is done in float64.
    threshold : float
        ``theta >= 0``.

    Returns
    -------
    P : ndarray of shape (n_features, n_tasks)
        A new array with the dtype of ``V`` (float64 for integer input).

    Raises
    ------
    ValueError
        If ``V`` is not 2-D or holds NaN or infinity, or if ``threshold`` is not
        a non-negative number.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties import prox_l21
    >>> print(prox_l21(np.array([[3.0, 4.0], [0.3, 0.4]]), 1.0))
    [[2.4 3.2]
     [0.  0. ]]
    """
    V64, out_dtype = _check_matrix(V)
    th = _check_threshold(threshold)
    amax = _check_finite(V64)
    if th == 0.0 or V64.size == 0:
        return np.array(V64, dtype=out_dtype, copy=True)
    norms = _row_norms(V64, amax)
    keep = norms > th
    factor = np.zeros_like(norms)
    factor[keep] = 1.0 - th / norms[keep]
    return (V64 * factor[:, None]).astype(out_dtype, copy=False)


class L21(Penalty):
    """The l2,1 norm of ``W`` (rows = features) as a penalty.

    .. math::

        \\Omega(W) = \\sum_j \\|W_{j,:}\\|_2, \\qquad
        \\Omega^*(G) = \\max_j \\|G_{j,:}\\|_2 .

    With it, the multi-task problem selects the same features for every task
    (scikit-learn's :class:`~sklearn.linear_model.MultiTaskLasso` in the shared
    design).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.penalties import L21
    >>> pen = L21()
    >>> W = np.array([[3.0, 4.0], [0.0, 1.0]])
    >>> print(pen.value(W), pen.dual_norm(W))
    6.0 5.0
    >>> print(pen.prox(W, 1.0))
    [[2.4 3.2]
     [0.  0. ]]
    """

    name = "l21"

    def value(self, W):
        return l21_norm(W)

    def prox(self, V, threshold, state=None):
        return prox_l21(V, threshold)

    def dual_norm(self, G):
        G, _ = _check_matrix(G, "G")
        amax = _check_finite(G, "G")
        if G.size == 0 or amax == 0.0:
            return 0.0
        return float(_row_norms(G, amax).max())

    def support_step(self, W, dW):
        """The step ``s > 0`` at which a row of ``W + s dW`` reaches zero.

        Only rows that head (nearly) straight to zero count: the row's closest
        point to zero on the line is within a tenth of its norm.  A solver drifting at
        constant speed along ``dW`` (a feature trading its weight with a
        nearly collinear one: the objective is almost flat along the
        exchange) changes support there; ADMM jumps to that point
        (:func:`skmtl.solvers._admm.run_admm`).

        Parameters
        ----------
        W, dW : ndarray of shape (n_features, n_tasks)
            A point and a direction (finite float64).

        Returns
        -------
        step : float
            The smallest such step; ``inf`` when no row reaches zero.

        Examples
        --------
        >>> import numpy as np
        >>> W = np.array([[3.0, 4.0], [1.0, 0.0]])
        >>> dW = np.array([[-0.3, -0.4], [0.0, 1.0]])
        >>> print(L21().support_step(W, dW))
        10.0
        """
        toward = -np.einsum("ij,ij->i", W, dW)
        speed2 = np.einsum("ij,ij->i", dW, dW)
        norm2 = np.einsum("ij,ij->i", W, W)
        moving = (toward > 0) & (speed2 > 0)
        if not moving.any():
            return np.inf
        step = toward[moving] / speed2[moving]
        # Squared distance to zero at that step: ||w||^2 - <w, dw>^2 / ||dw||^2.
        closest = norm2[moving] - toward[moving] * step
        straight = closest <= 1e-2 * norm2[moving]
        return float(step[straight].min()) if straight.any() else np.inf

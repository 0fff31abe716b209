"""The logistic loss on all tasks' rows at once: intercepts and certificate.

The certified gap of a logistic fit (:func:`skmtl.solvers._gaps.relative_gap`)
needs, at the model ``(W, b)``: the intercepts refined to their optimum for
``W``, the loss, its gradient in ``W`` and the conjugate side of the dual.
Computed task by task through the data-fit's protocol that is four products
``X_t w_t`` per task and a loop of small array calls per quantity; here the
rows of the tasks are concatenated once (:class:`StackedRows`, kept by the
data-fit) and every quantity comes from one pass over the margins, computed
once.  The asynchronous estimators certify their gap this way at their epoch
checks (:class:`skmtl._amtl._certified.GapCheck`).
"""

import numpy as np
from scipy.special import expit, xlogy

from ._linalg import centered_gram

__all__ = [
    "StackedRows",
    "distillation_conjugate",
    "distillation_terms",
    "gap_terms",
    "identical",
    "intercept_newton",
    "softplus",
]


_EPS = float(np.finfo(np.float64).eps)  # np.finfo costs ~10 us a call


def softplus(v):
    """``log(1 + exp(v))`` without overflow (a third of ``np.logaddexp``'s time)."""
    out = np.log1p(np.exp(-np.abs(v)))
    out += np.maximum(v, 0.0)
    return out


class StackedRows:
    """Labels and weights of the rows of ``tasks``, concatenated in task order.

    ``sw`` holds ``s_i / c_t`` (the weight over the task's scale); ``task``
    the position in ``tasks`` of each row's task; ``s_sum`` the per-task sums
    of the (unscaled) weights.
    """

    def __init__(self, blocks, tasks):
        self.tasks = list(tasks)
        self.shared = bool(blocks.shared) and len(self.tasks) == blocks.n_tasks
        sizes = np.array([blocks.Xs[t].shape[0] for t in self.tasks], dtype=np.intp)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.task = np.repeat(np.arange(len(self.tasks)), sizes)
        self.y = _concat([blocks.ys[t] for t in self.tasks])
        s = _concat([blocks.sample_weights[t] for t in self.tasks])
        self.s = s
        self.sy = s * self.y
        self.sw = s / np.asarray(blocks.scales, dtype=float)[self.tasks][self.task]
        self.s_sum = self.reduce(s)

    def reduce(self, v):
        """Per-task sums of a row vector."""
        return np.bincount(self.task, weights=v, minlength=len(self.tasks))

    def margins(self, blocks, W):
        """``x_i . w_t`` for every row (no intercept)."""
        if self.shared:
            return np.asarray(blocks.Xs[0] @ W).ravel(order="F")
        return _concat([np.asarray(blocks.Xs[t] @ W[:, t]).ravel() for t in self.tasks])

    def gradient(self, blocks, u):
        """``[X_t^T u_t]_t`` (d x len(tasks)) for a row vector ``u``."""
        if self.shared:
            U = u.reshape(len(self.tasks), -1).T
            return np.asarray(blocks.Xs[0].T @ U)
        G = np.empty((blocks.n_features, len(self.tasks)))
        for j, t in enumerate(self.tasks):
            sl = slice(self.offsets[j], self.offsets[j + 1])
            G[:, j] = np.asarray(blocks.Xs[t].T @ u[sl]).ravel()
        return G

    def optimal_intercept(self, m0, b, tol, max_steps):
        """Intercepts minimizing each task's loss for the margins ``m0``."""
        y, s, sy, task = self.y, self.s, self.sy, self.task

        def deriv(bh):
            p = expit(-y * (m0 + bh[task]))
            sp_ = s * p
            return -self.reduce(sy * p), self.reduce(sp_ * (1.0 - p)), self.reduce(sp_)

        return intercept_newton(deriv, b, tol * self.s_sum, max_steps)


def identical(a, b):
    """Whether two sequences hold the very same objects, in order."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _wsum(w, v):
    """``w @ v`` without BLAS: a long dot product may wake OpenBLAS's worker
    threads, which took 27 ms instead of 2 us for 14,820 rows on a loaded
    2-core machine (the sequential backend runs without the BLAS limit)."""
    return float(np.sum(w * v))


def _concat(arrays):
    return np.concatenate(arrays) if arrays else np.empty(0)


def gap_terms(rows, blocks, W, b, tol=1e-13, max_steps=100):
    """Everything a logistic gap needs at ``(W, b)``, margins computed once.

    ``rows`` must cover every task (hard labels).  With intercepts (``b`` not
    None) they are first refined to their optimum for ``W``.

    Returns
    -------
    b : ndarray or None
        The (refined) intercepts.
    value : float
        ``f(W, b)``.
    G : ndarray of shape (n_features, n_tasks)
        ``grad_W f(W, b)``.
    dual : callable
        ``dual(kappa) = -sum_t l_t^*(kappa theta_t)`` at the dual point of
        ``(W, b)`` (as :meth:`LogisticLoss.dual_objective`).
    """
    m = rows.margins(blocks, W)
    if b is not None:
        b = rows.optimal_intercept(m, np.array(b, dtype=float), tol, max_steps)
        m = m + b[rows.task]
    ym = rows.y * m
    p = expit(-ym)
    value = _wsum(rows.sw, softplus(-ym))
    G = rows.gradient(blocks, -(rows.sw * rows.y) * p)

    def dual(kappa):
        q = kappa * p
        return -_wsum(rows.sw, _bernoulli_negentropy(q))

    return b, value, G, dual


def intercept_newton(deriv, b, gtol, max_steps):
    """Roots of increasing 1-D derivatives, one per entry of ``b``.

    ``deriv(b)`` returns, per entry, the derivative ``g``, the curvature
    ``h >= 0`` and the sum of the absolute terms of ``g`` (its rounding
    scale).  Newton steps, kept inside the bracket of the root that the signs
    of ``g`` seen so far give (bisection when a step leaves it) and at most
    doubling in length while the root is not bracketed (so a start far out,
    where the curvature underflows, still walks back).  An entry stops when
    ``|g| <= gtol``, when ``|g|`` is at the rounding level of its sum, or when
    its step is below the resolution of ``b``: the loop never depends on
    comparing loss values, which round.
    """
    b = np.array(b, dtype=float)
    lo = np.full(b.shape, -np.inf)
    hi = np.full(b.shape, np.inf)
    active = np.ones(b.shape, dtype=bool)
    last = np.ones(b.shape)  # the trust radius while unbracketed
    eps = _EPS
    for _ in range(max_steps):
        g, h, size = deriv(b)
        hi = np.where(active & (g > 0), np.minimum(hi, b), hi)
        lo = np.where(active & (g < 0), np.maximum(lo, b), lo)
        active &= np.abs(g) > np.maximum(gtol, 64.0 * eps * size)
        if not active.any():
            break
        # Zero curvature (saturated probabilities far from the root): an
        # infinite step, cut to the trust radius or to the bisection below.
        step = np.divide(g, h, out=np.where(g > 0, np.inf, -np.inf), where=h > 0)
        step = np.where(active, step, 0.0)
        bracketed = np.isfinite(lo) & np.isfinite(hi)
        step = np.where(bracketed, step, np.clip(step, -2.0 * last, 2.0 * last))
        new = b - step
        outside = bracketed & ~((new > lo) & (new < hi))
        mid = 0.5 * (np.where(bracketed, lo, 0.0) + np.where(bracketed, hi, 0.0))
        new = np.where(outside, mid, new)
        active &= np.abs(new - b) > 4.0 * eps * np.maximum(np.abs(b), 1.0)
        last = np.where(active, np.maximum(np.abs(new - b), 1.0), last)
        b = np.where(active, new, b)
    return b


def _newton_step(X, dcurv, g, inv, free, kernel=None):
    """``(A^T diag(dcurv) A + inv I)^{-1} g`` with ``A = X`` or ``[X, 1]``.

    In feature space (a (d + 1)-square system, sparse-safe Gram) or, given
    ``kernel = X X^T`` (n < d), in sample space by the Woodbury identity
    ``(aI + E^T E)^{-1} g = (g - E^T (aI + E E^T)^{-1} E g) / a`` with
    ``E = diag(sqrt(dcurv)) A``; X is never densified.
    """
    d = X.shape[1]
    if kernel is None:
        H = centered_gram(X, dcurv, None)
        H[np.diag_indices_from(H)] += inv
        if free:
            col = np.asarray(X.T @ dcurv).ravel()
            H = np.block(
                [[H, col[:, None]], [col[None, :], np.array([[dcurv.sum() + inv]])]]
            )
        return np.linalg.solve(H, g)
    sq = np.sqrt(dcurv)
    M = (kernel + 1.0) if free else kernel.copy()
    M *= sq[:, None]
    M *= sq[None, :]
    M[np.diag_indices_from(M)] += inv
    Eg = sq * (np.asarray(X @ g[:d]).ravel() + (g[d] if free else 0.0))
    z = sq * np.linalg.solve(M, Eg)
    ETz = np.asarray(X.T @ z).ravel()
    if free:
        ETz = np.append(ETz, z.sum())
    return (g - ETz) / inv


def _bernoulli_negentropy(p):
    return xlogy(p, p) + xlogy(1.0 - p, 1.0 - p)


def distillation_terms(y, m, q, weight, temperature):
    """Value, derivative and curvature per sample of the distillation loss.

    ``(1 - a) log(1 + exp(-y m)) + a tau^2 (log(1 + exp(m/tau)) - q m/tau)``
    with ``a = weight``, ``tau = temperature``, labels ``y`` in {-1, +1} and
    soft targets ``q`` in [0, 1]; derivatives are taken in the margin ``m``.
    """
    a, tau = weight, temperature
    z = m / tau
    value = (1.0 - a) * np.logaddexp(0.0, -y * m) + a * tau * tau * (
        np.logaddexp(0.0, z) - q * z
    )
    p_hard = expit(-y * m)
    p_soft = expit(z)
    deriv = -(1.0 - a) * y * p_hard + a * tau * (p_soft - q)
    curv = (1.0 - a) * p_hard * (1.0 - p_hard) + a * p_soft * (1.0 - p_soft)
    return value, deriv, curv


def distillation_conjugate(y, m, q, weight, temperature, kappa):
    """``phi*(kappa phi'(m))`` per sample, bounded above for the dual.

    The loss is a sum of a hard and a soft part; the conjugate of a sum is the
    infimal convolution of the conjugates, bounded above by splitting the dual
    point the way the gradient splits.  The bound is exact at ``kappa = 1``
    (Fenchel-Young), so the duality gap still vanishes at the optimum.
    """
    a, tau = weight, temperature
    hard = (1.0 - a) * _bernoulli_negentropy(kappa * expit(-y * m))
    soft = (
        a
        * tau
        * tau
        * _bernoulli_negentropy(kappa * expit(m / tau) + (1.0 - kappa) * q)
    )
    return hard + soft

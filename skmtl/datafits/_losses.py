"""Separable multi-task data-fits: squared and logistic losses.

A data-fit is ``f(W, b) = sum_t l_t(w_t, b_t)`` over the columns of the d x T
matrix ``W``.  Every task ``t`` owns its rows ``(X_t, y_t, s_t)``; in the shared
design mode all tasks hold the *same* ``X`` object (never copied) with their own
column of ``Y``.  The intercepts ``b_t`` are never penalized:

* squared loss: the intercept is eliminated by (weighted) centering, exactly;
  ``intercept(W)`` recovers it as ``ybar_t - xbar_t . w_t``;
* logistic loss: ``b_t`` is a free, unpenalized coordinate of the task's block
  (``has_free_intercept``), updated together with ``w_t``.

Every data-fit exposes the same small protocol used by the centralized solver
and by every AMTL backend: ``value``, ``gradient``, ``task_gradient``,
``lipschitz``, ``intercept``, ``gradient_at_zero``, ``initial_intercept`` and
``dual_objective`` (the conjugate side of the duality gap, which
:mod:`skmtl.solvers._gaps` combines with a penalty's dual norm).  Losses per
sample (margin ``m = x.w + b``): squared ``0.5 (y - m)^2``; logistic
``log(1 + exp(-y m))`` with ``y`` in {-1, +1}, computed with
:func:`numpy.logaddexp`.
"""

import numpy as np
from scipy.special import expit, xlogy

from ..solvers._gaps import squared_dual
from ._blocks import TaskBlocks, streamed_gram  # noqa: F401
from ._gram_eig import GramEig
from ._linalg import (
    RowOperator,
    centered_gram,
    centered_kernel,
    choose_form,
    data_sizes,
    max_eig_gram,
    weighted_mean_rows,
)
from ._logistic_rows import (
    StackedRows,
    _newton_step,
    distillation_conjugate,
    distillation_terms,
    gap_terms,
    identical,
    intercept_newton,
)
from ._stacked import task_rows

# Gram matrices are precomputed for the squared loss while they cost less than
# this many bytes in all (and while they make an iteration cheaper, see below).
_GRAM_MAX_BYTES = 1 << 30


_weighted_mean_rows = weighted_mean_rows
_centered_gram = centered_gram
_max_eig_gram = max_eig_gram


def _task_max_eigs(blocks, xbar=None, extra_ones=False):
    """Per task: the largest eigenvalue of its weighted Gram over its scale.

    ``xbar`` (d x T) centers the rows; ``extra_ones`` appends the intercept's
    column of ones.  Tasks that share X and weights share the value.
    """
    L = np.empty(blocks.n_tasks)
    for t in range(blocks.n_tasks):
        s = blocks.sample_weights[t]
        if blocks.shared and t > 0 and s is blocks.sample_weights[0]:
            L[t] = L[0] * blocks.scales[0] / blocks.scales[t]
            continue
        xb = None if xbar is None else xbar[:, t]
        L[t] = _max_eig_gram(blocks.Xs[t], s, xb, extra_ones) / blocks.scales[t]
    return L


class SquaredLoss(GramEig):
    """Squared loss ``l_t = (1 / c_t) sum_i s_i 0.5 (y_i - x_i.w_t - b_t)^2``.

    With ``fit_intercept`` the rows are centered (weighted) per task, which
    eliminates ``b_t`` exactly.  When it is cheaper, the loss is held in Gram
    form: ``l_t(w) = 0.5 (w^T H_t w - 2 q_t^T w + c_t)`` with ``H_t`` shared by
    all tasks in the shared design mode; :meth:`gram_eig` then gives the
    eigendecompositions of the ``H_t``, in ``H``'s own buffer
    (:class:`~skmtl.datafits._gram_eig.GramEig`).
    """

    has_free_intercept = False

    def __init__(self, blocks, *, fit_intercept=True, use_gram="auto", form=None):
        self.blocks = blocks
        self.fit_intercept = fit_intercept
        T, d = blocks.n_tasks, blocks.n_features
        self.n_tasks, self.n_features = T, d
        # The row means (a pass over X) are computed when first needed, not
        # for the gradient at zero alone (alpha_max).
        self._xbar_rows = None
        self.ybar = np.zeros(T)
        if fit_intercept:
            for t in range(T):
                s = blocks.sample_weights[t]
                self.ybar[t] = s @ blocks.ys[t] / s.sum()
        self.ycs = [y - yb for y, yb in zip(blocks.ys, self.ybar, strict=True)]
        shared_gram = blocks.shared and all(
            s is blocks.sample_weights[0] for s in blocks.sample_weights
        )
        self._shared_gram = shared_gram
        requested = use_gram if form is None else form
        # 'auto' may still race the data form against the sample form at
        # solve time (skmtl.solvers._race); race_winner records a switch.
        self.auto_form = isinstance(requested, str) and requested == "auto"
        self.race_winner = None
        self.form = self._resolve_form(requested)
        self.use_gram = self.form == "gram"
        if self.use_gram:
            self._build_gram()
        self._lipschitz = None

    @property
    def _xbarT(self):
        """Task-major row means (T x d): row t, contiguous, is read per task."""
        if self._xbar_rows is None:
            b, xbarT = self.blocks, np.zeros((self.n_tasks, self.n_features))
            for t in range(self.n_tasks if self.fit_intercept else 0):
                s = b.sample_weights[t]
                same = b.shared and t > 0 and s is b.sample_weights[0]
                xbarT[t] = xbarT[0] if same else _weighted_mean_rows(b.Xs[t], s)
            self._xbar_rows = xbarT
        return self._xbar_rows

    @property
    def xbar(self):
        """Weighted row means per task (d x T; zero without an intercept)."""
        return self._xbarT.T

    def _resolve_form(self, form):
        """``"gram"``, ``"sample"`` or ``"data"`` (see :func:`choose_form`)."""
        if form is True or form is False:
            return "gram" if form else "data"
        if form not in ("auto", "gram", "sample", "data"):
            raise ValueError(
                f"form must be 'auto', 'gram', 'sample' or 'data'; got {form!r}."
            )
        if form != "auto":
            return form
        shared = self._shared_gram
        sizes, stored, nnz = data_sizes(self.blocks, shared)
        cap = _GRAM_MAX_BYTES if shared else 2 * _GRAM_MAX_BYTES
        limit = min(max(24.0 * stored, 64.0 * 2**20), cap)
        return choose_form(sizes, self.n_features, nnz, shared=shared, max_bytes=limit)

    # -- Gram form -----------------------------------------------------------
    def _build_gram(self):
        b = self.blocks
        T, d = self.n_tasks, self.n_features
        if not b.shared and not b.is_sparse():
            # One streamed pass: no per-task slices, no copy of lazy rows.
            xbarT, self.H, self.Q, self.c = streamed_gram(
                b, self.ycs, self.fit_intercept
            )
            if self.fit_intercept and self._xbar_rows is None:
                self._xbar_rows = xbarT
            return
        xb = self.xbar if self.fit_intercept else None
        if self._shared_gram:
            s0 = b.sample_weights[0]
            H = _centered_gram(b.Xs[0], s0, None if xb is None else xb[:, 0])
            H /= b.scales[0]
        else:
            H = np.empty((T, d, d))
            for t in range(T):
                xt = None if xb is None else xb[:, t]
                H[t] = _centered_gram(b.Xs[t], b.sample_weights[t], xt) / b.scales[t]
        Q = np.empty((d, T))
        c = np.empty(T)
        for t in range(T):
            X, s, yc = b.Xs[t], b.sample_weights[t], self.ycs[t]
            # X^T S yc equals Xc^T S yc because sum_i s_i yc_i = 0.
            Q[:, t] = np.asarray(X.T @ (s * yc)).ravel() / b.scales[t]
            c[t] = s @ (yc * yc) / b.scales[t]
        self.H, self.Q, self.c = H, Q, c

    def _HW(self, W):
        if self.H.ndim == 2:
            return self.H @ W
        return np.einsum("tij,jt->it", self.H, W)

    # -- data form -----------------------------------------------------------
    @property
    def _rows(self):
        """All tasks' sparse rows as one operator (:mod:`._stacked`), or None
        (dense or shared blocks: a loop over tasks)."""
        if "_task_rows" not in self.__dict__:
            rows = task_rows(self.blocks)
            if rows is not None:
                b = self.blocks
                rows.weights = np.concatenate(
                    [s / c for s, c in zip(b.sample_weights, b.scales, strict=True)]
                )
                rows.y = np.concatenate(self.ycs)  # once, not at every pass
            self._task_rows = rows
        return self._task_rows

    def _stacked_residuals(self, W):
        """``(rows, r)``: the residuals of all stacked rows, in one pass."""
        rows, WT = self._rows, np.ascontiguousarray(W.T)
        r = rows.margins(WT) - rows.y
        if self.fit_intercept:
            r -= np.einsum("td,td->t", self._xbarT, WT)[rows.codes]
        return rows, r

    def gap_terms(self, W, b=None):
        """``(b, value, G, dual)`` at ``W`` from one pass for the residuals and
        one for the gradient (see :func:`skmtl.solvers._gaps.relative_gap`),
        with sparse stacked rows; None otherwise (the protocol's passes)."""
        if self.use_gram or self._rows is None:
            return None
        rows, r = self._stacked_residuals(W)
        wr = rows.weights * r
        S = float(wr @ r)  # sum_t ||r_t||^2 weighted over the task scales
        R = -float(wr @ rows.y)
        G = rows.task_products(wr).T
        return None, 0.5 * S, G, lambda kappa: squared_dual(S, R, kappa)

    def _residual(self, t, w):
        X = self.blocks.Xs[t]
        r = np.asarray(X @ w).ravel() - self.ycs[t]
        if self.fit_intercept:
            r -= self._xbarT[t] @ w
        return r

    # -- protocol --------------------------------------------------------------
    def task_values(self, W, b=None):
        if self.use_gram:
            HW = self._HW(W)
            return (
                0.5
                * (np.einsum("it,it->t", W, HW) - 2 * np.einsum("it,it->t", W, self.Q))
                + 0.5 * self.c
            )
        if self._rows is not None:
            rows, r = self._stacked_residuals(W)
            return 0.5 * rows.task_sums(rows.weights * r * r)
        out = np.empty(self.n_tasks)
        for t in range(self.n_tasks):
            r = self._residual(t, W[:, t])
            out[t] = 0.5 * (self.blocks.sample_weights[t] @ (r * r))
        return out / self.blocks.scales

    def value(self, W, b=None):
        return float(self.task_values(W, b).sum())

    def gradient(self, W, b=None):
        if self.use_gram:
            return self._HW(W) - self.Q, None
        if self._rows is not None:
            # sum_i s_i r_i == 0 per task when centered: X_t^T needs no shift.
            rows, r = self._stacked_residuals(W)
            return rows.task_products(rows.weights * r).T, None
        WT = np.ascontiguousarray(W.T)
        GT = np.empty_like(WT)  # task-major: each task writes a contiguous row
        for t in range(self.n_tasks):
            GT[t] = self.task_gradient(t, WT[t])[0]
        return GT.T, None

    def task_gradient(self, t, w, bt=None):
        if self.use_gram:
            H = self.H if self.H.ndim == 2 else self.H[t]
            return H @ w - self.Q[:, t], None
        sr = self.blocks.sample_weights[t] * self._residual(t, w)
        # sum(sr) == 0 when centered, so the centering term of X^T vanishes.
        g = np.asarray(self.blocks.Xs[t].T @ sr).ravel()
        return g / self.blocks.scales[t], None

    @property
    def lipschitz(self):
        if self._lipschitz is None:
            if self.use_gram:
                if self.H.ndim == 2:
                    L = np.full(self.n_tasks, np.linalg.eigvalsh(self.H)[-1])
                else:
                    L = np.linalg.eigvalsh(self.H)[:, -1]
            else:
                xbar = self.xbar if self.fit_intercept else None
                L = _task_max_eigs(self.blocks, xbar)
            self._lipschitz = np.maximum(L, 0.0)
        return self._lipschitz

    def intercept(self, W, b=None):
        if not self.fit_intercept:
            return np.zeros(self.n_tasks)
        return self.ybar - np.einsum("it,it->t", self.xbar, W)

    def set_task_targets(self, t, y):
        """Replace task ``t``'s targets (e.g. distillation targets), in place.

        Recomputes what depends on them (mean, centered targets and, in Gram
        form, ``Q[:, t]`` and ``c[t]``) with the same expressions as the
        constructor.  ``Q`` and ``c`` are replaced by new arrays rather than
        written into, so a worker thread reading them sees one version.
        """
        b = self.blocks
        y = np.asarray(y, dtype=np.float64)
        if y.shape != b.ys[t].shape:
            raise ValueError(f"y must have shape {b.ys[t].shape}; got {y.shape}.")
        s = b.sample_weights[t]
        b.ys[t] = y
        if self.fit_intercept:
            self.ybar[t] = s @ y / s.sum()
        yc = y - self.ybar[t]
        self.ycs[t] = yc
        if self.use_gram:
            Q, c = self.Q.copy(), self.c.copy()
            Q[:, t] = np.asarray(b.Xs[t].T @ (s * yc)).ravel() / b.scales[t]
            c[t] = s @ (yc * yc) / b.scales[t]
            self.Q, self.c = Q, c

    def initial_intercept(self):
        return None

    def task_operator(self, t):
        """Task ``t``'s :class:`RowOperator` ``B_t`` (``H_t = B_t^T B_t``)."""
        b = self.blocks
        xb = self.xbar[:, t] if self.fit_intercept else None
        return RowOperator(b.Xs[t], b.sample_weights[t], xb, b.scales[t])

    def linear_terms(self):
        """``(Q, c)``: ``q_t = B_t^T D_t yc_t`` (d x T) and ``c_t = ||D_t yc_t||^2``."""
        if self.use_gram:
            return self.Q, self.c
        b = self.blocks
        Q = np.empty((self.n_features, self.n_tasks))
        c = np.empty(self.n_tasks)
        for t in range(self.n_tasks):
            s, yc = b.sample_weights[t], self.ycs[t]
            Q[:, t] = np.asarray(b.Xs[t].T @ (s * yc)).ravel() / b.scales[t]
            c[t] = s @ (yc * yc) / b.scales[t]
        return Q, c

    def _task_eig(self, t):
        """Cached eigendecomposition of task t's Hessian (in the cheaper space).

        Returns ``(lam, U, B)``: with ``B`` None, ``H_t = U diag(lam) U^T``
        (d x d); otherwise ``B`` (the task's :class:`RowOperator`, n_t x d) with
        ``H_t = B^T B`` and ``B B^T = U diag(lam) U^T`` (n_t x n_t, for the
        Woodbury identity). Sparse X stays sparse in both.
        """
        cache = self.__dict__.setdefault("_eig_cache", {})
        key = 0 if (self.use_gram and self.gram_ndim == 2) else t
        if key not in cache:
            done = self.gram_eig_computed() if self.use_gram else None
            if done is not None:  # the same eigh of the same matrix, already done
                lam, U = done
                cache[key] = (lam, U, None) if lam.ndim == 1 else (lam[t], U[t], None)
            elif self.use_gram:
                lam, U = np.linalg.eigh(self.H if self.H.ndim == 2 else self.H[t])
                cache[key] = (lam, U, None)
            else:
                b = self.blocks
                X, s, scale = b.Xs[t], b.sample_weights[t], b.scales[t]
                xb = self.xbar[:, t] if self.fit_intercept else None
                if X.shape[1] <= X.shape[0]:
                    lam, U = np.linalg.eigh(centered_gram(X, s, xb) / scale)
                    cache[key] = (lam, U, None)
                else:
                    lam, U = np.linalg.eigh(centered_kernel(X, s, xb, scale))
                    cache[key] = (lam, U, self.task_operator(t))
        return cache[key]

    def task_prox(self, t, x, xb=None, step_size=1.0):
        """``argmin_w l_t(w) + ||w - x||^2 / (2 step_size)`` (exact).

        One linear solve with the task's cached eigendecomposition, so every
        step size costs the same; in sample space (n_t < d) by the Woodbury
        identity, without densifying a sparse X.
        """
        lam, U, B = self._task_eig(t)
        inv = 1.0 / step_size
        if self.use_gram:
            rhs = self.Q[:, t] + inv * x
        else:
            X, s = self.blocks.Xs[t], self.blocks.sample_weights[t]
            qt = np.asarray(X.T @ (s * self.ycs[t])).ravel() / self.blocks.scales[t]
            rhs = qt + inv * x
        if B is None:
            return U @ ((U.T @ rhs) / (np.maximum(lam, 0.0) + inv)), None
        # (B^T B + I/eta)^{-1} = eta (I - B^T (B B^T + I/eta)^{-1} B)
        Br = B.matvec(rhs)
        inner = U @ ((U.T @ Br) / (np.maximum(lam, 0.0) + inv))
        return step_size * (rhs - B.rmatvec(inner)), None

    def gradient_at_zero(self):
        """``gradient(0)``: ``-Q``, or ``-X_t^T S_t yc_t / c_t`` per task.

        The same values as the gradient at ``W = 0``, without its products
        with zero (two passes over X in the data form).
        """
        if self.use_gram:
            return -self.Q
        b = self.blocks
        GT = np.empty((self.n_tasks, self.n_features))
        for t in range(self.n_tasks):
            sr = b.sample_weights[t] * -self.ycs[t]
            GT[t] = np.asarray(b.Xs[t].T @ sr).ravel() / b.scales[t]
        return GT.T

    def dual_objective(self, W, b, kappa):
        """Dual value at the residuals of ``W`` scaled by ``kappa``.

        The sample-space Fenchel dual of the squared loss,
        :func:`~skmtl.solvers._gaps.squared_dual` of
        ``S = sum_t ||r_t||^2`` and ``R = sum_t r_t^T y_t`` (weighted, over
        the task scales); ``kappa`` makes the point feasible for the penalty
        (see :func:`skmtl.solvers._gaps.duality_gap`).
        """
        sq = 2.0 * self.task_values(W)  # sum_i s_i r_i^2 / c_t per task
        if self.use_gram:
            qw_minus_c = np.einsum("it,it->t", self.Q, W) - self.c
        elif self._rows is not None:
            rows, r = self._stacked_residuals(W)
            qw_minus_c = rows.task_sums(rows.weights * r * rows.y)
        else:
            qw_minus_c = np.empty(self.n_tasks)
            for t in range(self.n_tasks):
                r = self._residual(t, W[:, t])
                s = self.blocks.sample_weights[t]
                qw_minus_c[t] = s @ (r * self.ycs[t]) / self.blocks.scales[t]
        return squared_dual(sq.sum(), -qw_minus_c.sum(), kappa)


class LogisticLoss:
    """Logistic loss ``l_t = (1 / c_t) sum_i s_i log(1 + exp(-y_i (x_i.w_t + b_t)))``.

    Labels are -1/+1.  With ``fit_intercept`` the intercept ``b_t`` is a free
    unpenalized coordinate of task ``t``'s block.
    """

    def __init__(self, blocks, *, fit_intercept=True):
        self.blocks = blocks
        self.fit_intercept = fit_intercept
        self.has_free_intercept = bool(fit_intercept)
        self.n_tasks, self.n_features = blocks.n_tasks, blocks.n_features
        self._lipschitz = None
        # task -> (q, weight, temperature): distillation soft targets, see
        # set_task_soft_targets; tasks not in it use their hard labels only.
        self.soft_targets = {}

    def set_task_soft_targets(self, t, q, weight=1.0, temperature=1.0):
        """Train task ``t`` on soft targets ``q`` in [0, 1] (distillation).

        Its per-sample loss becomes, with ``a = weight``, ``tau = temperature``
        and margin ``m``:

        .. math::

            (1 - a) \\log(1 + e^{-y m})
            + a \\tau^2 \\left(\\log(1 + e^{m / \\tau}) - q \\, m / \\tau\\right),

        the hard-label loss blended with the cross-entropy between ``q`` and
        ``sigmoid(m / tau)``, scaled by ``tau^2`` as usual in distillation.
        Its curvature is still at most 1/4, so ``lipschitz`` is unchanged.
        """
        q = np.asarray(q, dtype=np.float64)
        if q.shape != self.blocks.ys[t].shape or np.any((q < 0) | (q > 1)):
            raise ValueError(
                f"q must hold {self.blocks.ys[t].shape[0]} values in [0, 1]."
            )
        if not (0.0 <= weight <= 1.0 and temperature > 0):
            raise ValueError("weight must be in [0, 1] and temperature > 0.")
        self.soft_targets[t] = (q, float(weight), float(temperature))

    def _soft_terms(self, t, m):
        """Per-sample value, derivative and curvature in ``m`` of a task
        trained on soft targets; None for a task with hard labels only."""
        soft = self.soft_targets.get(t)
        if soft is None:
            return None
        return distillation_terms(self.blocks.ys[t], m, *soft)

    def _margin(self, t, w, bt):
        m = np.asarray(self.blocks.Xs[t] @ w).ravel()
        return m + bt if bt is not None else m

    def _task_terms(self, t, w, bt):
        y, s = self.blocks.ys[t], self.blocks.sample_weights[t]
        ym = y * self._margin(t, w, bt)
        return y, s, ym

    def task_values(self, W, b=None):
        out = np.empty(self.n_tasks)
        for t in range(self.n_tasks):
            bt = None if b is None else b[t]
            if t in self.soft_targets:
                m = self._margin(t, W[:, t], bt)
                out[t] = self.blocks.sample_weights[t] @ self._soft_terms(t, m)[0]
                continue
            _, s, ym = self._task_terms(t, W[:, t], bt)
            out[t] = s @ np.logaddexp(0.0, -ym)
        return out / self.blocks.scales

    def value(self, W, b=None):
        return float(self.task_values(W, b).sum())

    def task_gradient(self, t, w, bt=None):
        if t in self.soft_targets:
            deriv = self._soft_terms(t, self._margin(t, w, bt))[1]
            u = self.blocks.sample_weights[t] * deriv / self.blocks.scales[t]
            g = np.asarray(self.blocks.Xs[t].T @ u).ravel()
            return g, (float(u.sum()) if self.has_free_intercept else None)
        y, s, ym = self._task_terms(t, w, bt)
        u = -(s * y * expit(-ym)) / self.blocks.scales[t]
        g = np.asarray(self.blocks.Xs[t].T @ u).ravel()
        return g, (float(u.sum()) if self.has_free_intercept else None)

    def gradient(self, W, b=None):
        WT = np.ascontiguousarray(W.T)
        GT = np.empty_like(WT)  # task-major: each task writes a contiguous row
        gb = np.empty(self.n_tasks) if self.has_free_intercept else None
        for t in range(self.n_tasks):
            g, gbt = self.task_gradient(t, WT[t], None if b is None else b[t])
            GT[t] = g
            if gb is not None:
                gb[t] = gbt
        return GT.T, gb

    @property
    def lipschitz(self):
        if self._lipschitz is None:
            L = _task_max_eigs(self.blocks, extra_ones=self.has_free_intercept)
            self._lipschitz = np.maximum(L / 4.0, 0.0)
        return self._lipschitz

    def initial_intercept(self):
        """The optimal intercepts for W = 0: the weighted log-odds per task."""
        if not self.has_free_intercept:
            return None
        b0 = np.empty(self.n_tasks)
        for t in range(self.n_tasks):
            y, s = self.blocks.ys[t], self.blocks.sample_weights[t]
            p = s[y > 0].sum() / s.sum()
            b0[t] = np.log(p) - np.log1p(-p)
        return b0

    def optimal_intercept(self, W, b, n_steps=100, tol=1e-13):
        """Minimize over each ``b_t`` with ``W`` fixed.

        A safeguarded Newton method on the derivative of each task's 1-D
        convex problem, all tasks with hard labels at once
        (:func:`~skmtl.datafits._logistic_rows.intercept_newton`).  It never
        compares loss values, so it cannot stall on the rounding of the loss
        near the optimum (the former backtracking halved its step dozens of
        times per task there).
        """
        b = np.array(b, dtype=float)
        for t in self.soft_targets:
            b[t : t + 1] = self._soft_optimal_intercept(t, W, b[t], n_steps, tol)
        rows = self._stacked_rows()
        if rows.tasks:
            m0 = rows.margins(self.blocks, W)
            b[rows.tasks] = rows.optimal_intercept(m0, b[rows.tasks], tol, n_steps)
        return b

    def _stacked_rows(self):
        """The rows of the tasks with hard labels, concatenated (kept)."""
        hard = [t for t in range(self.n_tasks) if t not in self.soft_targets]
        # The arrays themselves, compared by identity (kept alive, so no id
        # is reused while cached); arrays are replaced, never changed in place.
        data = [self.blocks.scales]
        data += [
            a[t] for t in hard for a in (self.blocks.ys, self.blocks.sample_weights)
        ]
        cached = self.__dict__.get("_rows_cache")
        if cached is None or cached[0] != hard or not identical(cached[1], data):
            cached = self.__dict__["_rows_cache"] = (
                hard,
                data,
                StackedRows(self.blocks, hard),
            )
        return cached[2]

    def gap_terms(self, W, b):
        """``(b, f(W, b), grad_W f, dual)`` with ``b`` refined, in one pass
        (:func:`~skmtl.datafits._logistic_rows.gap_terms`); None when some
        task trains on soft targets (then the gap uses the protocol)."""
        if self.soft_targets:
            return None
        b = b if self.has_free_intercept else None
        return gap_terms(self._stacked_rows(), self.blocks, W, b)

    def _soft_optimal_intercept(self, t, W, bt, n_steps, tol):
        """:meth:`optimal_intercept` of one task trained on soft targets."""
        s = self.blocks.sample_weights[t]
        m0 = self._margin(t, W[:, t], None)

        def deriv(bv):
            _, d, c = self._soft_terms(t, m0 + bv[0])
            return np.array([s @ d]), np.array([s @ c]), np.array([s @ np.abs(d)])

        return intercept_newton(
            deriv, np.array([bt], dtype=float), tol * s.sum(), n_steps
        )

    def intercept(self, W, b=None):
        if b is None:
            return np.zeros(self.n_tasks)
        return np.asarray(b, dtype=float)

    def task_prox(self, t, x, xb=None, step_size=1.0, tol=1e-12, max_newton=50):
        """``argmin_{w,b} l_t(w, b) + (||w - x||^2 + (b - xb)^2) / (2 step_size)``.

        Damped Newton from ``(x, xb)``: the objective is smooth and
        ``1/step_size``-strongly convex, so a few steps reach ``tol``.
        """
        X, y, s = self.blocks.Xs[t], self.blocks.ys[t], self.blocks.sample_weights[t]
        scale = self.blocks.scales[t]
        free = self.has_free_intercept
        inv = 1.0 / step_size
        w = np.array(x, dtype=float)
        b = float(xb) if free else 0.0
        soft = t in self.soft_targets
        kernel = None
        if X.shape[1] + free > X.shape[0]:  # Newton systems in sample space
            cache = self.__dict__.setdefault("_kernel_cache", {})
            if t not in cache:
                cache[t] = centered_kernel(X, np.ones(X.shape[0]), None)
            kernel = cache[t]

        def margins(w, b):
            return np.asarray(X @ w).ravel() + b

        def value(w, b):
            reg = np.dot(w - x, w - x) + ((b - xb) ** 2 if free else 0.0)
            if soft:
                loss = s @ self._soft_terms(t, margins(w, b))[0]
                return loss / scale + 0.5 * inv * reg
            m = y * margins(w, b)
            return s @ np.logaddexp(0.0, -m) / scale + 0.5 * inv * reg

        f = value(w, b)
        for _ in range(max_newton):
            if soft:
                _, deriv, curv = self._soft_terms(t, margins(w, b))
                u = s * deriv / scale
                dcurv = s * curv / scale
            else:
                p = expit(-y * margins(w, b))
                u = -(s * y * p) / scale
                dcurv = s * p * (1.0 - p) / scale
            g = np.asarray(X.T @ u).ravel() + inv * (w - x)
            if free:
                g = np.append(g, u.sum() + inv * (b - xb))
            if np.sqrt(np.dot(g, g)) <= tol * max(1.0, inv):
                break
            step = _newton_step(X, dcurv, g, inv, free, kernel)
            for _ in range(40):  # backtracking keeps the damped step monotone
                w_new = w - step[: w.size]
                b_new = b - step[-1] if free else 0.0
                f_new = value(w_new, b_new)
                if f_new <= f:
                    break
                step = 0.5 * step
            w, b, f = w_new, b_new, f_new
        return w, (b if free else None)

    def gradient_at_zero(self):
        W0 = np.zeros((self.n_features, self.n_tasks))
        return self.gradient(W0, self.initial_intercept())[0]

    def dual_objective(self, W, b, kappa):
        """Dual value at the probabilities of ``(W, b)`` scaled by ``kappa``.

        ``-sum_t l_t^*(kappa theta_t)`` (negative Bernoulli entropies, and
        their distillation bound for tasks on soft targets). Exact only when
        ``b`` is optimal for ``W``: the dual constraint of a free intercept is
        ``sum_i theta_i = 0`` per task, so the caller refines ``b`` with
        :meth:`optimal_intercept` first.
        """
        conj = 0.0
        for t in range(self.n_tasks):
            bt = None if b is None else b[t]
            scale = self.blocks.scales[t]
            if t in self.soft_targets:
                s = self.blocks.sample_weights[t]
                m = self._margin(t, W[:, t], bt)
                conj += (
                    s
                    @ distillation_conjugate(
                        self.blocks.ys[t], m, *self.soft_targets[t], kappa
                    )
                    / scale
                )
                continue
            _, s, ym = self._task_terms(t, W[:, t], bt)
            p = kappa * expit(-ym)
            conj += s @ (xlogy(p, p) + xlogy(1 - p, 1 - p)) / scale
        return -conj

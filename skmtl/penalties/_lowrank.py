"""A certified, warm-started low-rank trace-norm prox (partial SVT).

When only a few singular values of ``V`` (d x T) exceed the threshold
``theta``, the prox ``U (S - theta)_+ X^T`` only needs those few singular
triplets.  :func:`lowrank_svt` computes them by block subspace iteration with
a Rayleigh-Ritz step, warm-started from the right singular vectors of the
previous call (kept in a :class:`ProxState`), and returns a result only when
it is *certified*; otherwise the caller computes the exact prox.

The certificate
---------------
Let the iteration stop with orthonormal ``U`` (d x r) and ``X`` (T x r) and
Ritz values ``S`` such that ``V X = U S`` and ``V^T U = X S + R`` (the
residual ``R`` is orthogonal to ``X``).  In the bases ``[U, U_perp]`` and
``[X, X_perp]``,

.. math::

    V = \\begin{pmatrix} S & R^T X_\\perp \\\\ 0 & E \\end{pmatrix},
    \\qquad E = U_\\perp^T V X_\\perp ,

so ``V`` differs from ``M = diag(S, E)`` by ``||R||_F`` in Frobenius norm.
If ``||E||_2 <= theta`` the prox of ``M`` is exactly
``U (S - theta)_+ X^T``, and since a prox is 1-Lipschitz,

.. math::

    \\|U (S - \\theta)_+ X^T - \\operatorname{prox}(V)\\|_F \\le \\|R\\|_F .

Two conditions are therefore checked:

1. **Accuracy** (deterministic): ``||R||_F <= tol * s_max`` (``tol = 1e-12``)
   over the deflated triplets, which include every Ritz value above
   ``theta`` (and as many converged ones below it as possible, to make ``E``
   small).
2. **Nothing missed** (probabilistic, failure probability at most
   ``1e-10``): ``||E||_2 <= theta``.  With a fresh Gaussian block ``Omega``
   (T x p, independent of everything else) and ``A = E^T E`` applied
   implicitly as ``(I - X X^T) V^T (I - U U^T) V (I - X X^T)``: for the unit
   top eigenvector ``x_1`` of ``A``, ``||A^q Omega||_2 >= lambda_1^q
   ||x_1^T Omega||`` and ``||x_1^T Omega||^2`` is chi-squared with ``p``
   degrees of freedom.  Hence, except with probability
   ``F_{chi2_p}(beta^2)``,

   .. math::

       \\|E\\|_2 = \\sqrt{\\lambda_1} \\le
       (\\|A^q \\Omega\\|_2 / \\beta)^{1 / (2q)} .

   The bound is evaluated for ``q = 1 .. q_max``, so ``beta^2`` is the
   chi-squared quantile at ``1e-10 / q_max`` (a union bound).  This is the
   power-method argument of Halko, Martinsson and Tropp (2011, section 4.3),
   with the chi-squared law of the whole block instead of one probe.  The
   Rayleigh quotients of the same block give a *lower* bound on ``||E||``;
   when it exceeds ``theta`` a singular value above the threshold was
   certainly missed.

The iteration is shifted: the next block is ``(V^T V - sigma I) X S^{-1}``
with ``sigma`` half the square of the block's smallest Ritz value, which
maps the unwanted spectrum ``[0, s_{k+1}^2]`` into ``[-sigma, sigma]`` for no
extra product (the certificate does not depend on how the block was found).

When a check fails the block grows (``k <- 2 k``), starting from the Ritz
vectors and the probe's directions of the deflated part; once ``k`` exceeds
``max_fraction * min(d, T)``, or the work exceeds that of an exact prox
(counted as ``2 d T m + 6 m^3`` flops, ``m = min(d, T)``), the low-rank route gives up
and the exact prox is used
(:func:`skmtl.penalties._trace_norm.prox_trace_norm` does that); after such a
failure (or a success that cost more than 70 % of that budget) the route is
skipped for the next 1, 2, 4, ..., 32 calls (reset by a cheap success), and the
block that certified last is the next call's first size.  After an exact
prox, :meth:`ProxState.plan` reads its spectrum: where singular values crowd
just below the threshold (ADMM's iterates near the solution: at (400, 400)
dozens to hundreds of them between 0.6 and 1 times the threshold) the route
cannot pay, and the next call declines at once instead of spending its
budget; otherwise the plan is the next call's block size.  Only
``numpy.linalg`` is used, as in the exact prox (it releases the GIL).
"""

import math

import numpy as np

__all__ = ["ProxState", "lowrank_svt"]

_FAILURE_PROBABILITY = 1e-10
# A plan (see ProxState.plan) asks its predicted bound to be below this
# fraction of the threshold, and its modelled work below this fraction of the
# exact prox's.
_PLAN_MARGIN = 0.9
_PLAN_WORK = 0.7


def _chi2_lower_quantile(prob, dof):
    """``beta`` with ``P(chi2_dof < beta^2) <= prob`` (scipy's quantile)."""
    from scipy.stats import chi2

    return float(np.sqrt(chi2.ppf(prob, dof)))


class ProxState:
    """Warm-start state of the trace-norm prox, held by the caller.

    Created by :meth:`TraceNorm.prox_state`; passed to every
    ``prox(V, theta, state=state)`` of one solver run.  It remembers the right
    singular vectors (and the rank) of the last prox so that the next one,
    of a nearby matrix, starts from them.  Matrices smaller than ``min_size``
    on their short side, or whose thresholded rank is not small, get the
    exact prox.

    Parameters
    ----------
    oversampling : int, default=10
        Extra block columns beyond the previous rank.
    min_size : int, default=128
        ``min(d, T)`` below which the exact prox is always used (it is then
        cheap; measured crossover on a loaded 2-core machine).
    max_fraction : float, default=0.25
        Give up on the low-rank route when the block would exceed this
        fraction of ``min(d, T)``.
    tol : float, default=1e-12
        Accuracy certificate ``||R||_F <= tol * s_max``.
    n_probes, max_power : int, default=20, 4
        Size of the Gaussian probe block and the largest power of the
        deflated Gram in the missed-value bound.
    max_iter : int, default=30
        Subspace iterations per block size.
    work_budget : float, default=1.0
        Work allowed per call, as a multiple of the (modelled) cost of the
        exact prox; the route gives up beyond it.
    random_state : int, default=0
        Seed of the probes and of cold starts.

    Attributes
    ----------
    shift : bool
        Shifted subspace iteration (default True; see the module doc).
    reach : float
        The largest ``||E|| / theta`` the probe can certify (typically):
        every Ritz value above ``reach * theta`` must be deflated.
    basis : ndarray of shape (n_tasks, k) or None
        Right singular vectors of the last prox (warm start).
    rank : int
        Rank of the last prox.
    n_calls, n_lowrank, n_exact, n_backoffs, n_missed : int
        Counters: calls, certified low-rank results, exact fallbacks, block
        growths, and probes that proved a singular value above the threshold
        was missed.
    last_info : dict
        Details of the last call (route, k, iterations, residual, bound).
    """

    def __init__(
        self,
        oversampling=10,
        min_size=128,
        max_fraction=0.25,
        tol=1e-12,
        n_probes=20,
        max_power=4,
        max_iter=30,
        work_budget=1.0,
        random_state=0,
    ):
        self.oversampling = int(oversampling)
        self.min_size = int(min_size)
        self.max_fraction = float(max_fraction)
        self.tol = float(tol)
        self.n_probes = int(n_probes)
        self.max_power = int(max_power)
        self.max_iter = int(max_iter)
        self.work_budget = float(work_budget)
        if not self.work_budget > 0:
            raise ValueError(f"work_budget must be > 0; got {work_budget}.")
        if self.oversampling < 1 or self.n_probes < 1 or self.max_power < 1:
            raise ValueError(
                "oversampling, n_probes and max_power must be positive integers."
            )
        if not 0 < self.max_fraction <= 1:
            raise ValueError(f"max_fraction must be in (0, 1]; got {max_fraction}.")
        self.rng = np.random.default_rng(random_state)
        self.beta = _chi2_lower_quantile(
            _FAILURE_PROBABILITY / self.max_power, self.n_probes
        )
        # The largest ||E|| / theta the probe can certify (at max_power, with
        # ||A^q Omega|| at its typical least ||A||^q sqrt(p)).
        self.reach = (self.beta / math.sqrt(self.n_probes)) ** (
            1.0 / (2 * self.max_power)
        )
        self.basis = None
        self.rank = None
        self.shape = None
        self._directions = None  # the last probe's block (see _probe_bound)
        self.shift = True  # shifted subspace iteration (see _attempt)
        self._plan = self._plan_shape = None  # see plan()
        self._good_k = self._good_shape = None
        self._skip, self._skip_next = 0, 1
        self._budget = self._spent = 0.0
        self.n_calls = 0
        self.n_lowrank = 0
        self.n_exact = 0
        self.n_backoffs = 0
        self.n_missed = 0
        self.last_info = {}

    def __repr__(self):
        return (
            f"ProxState(rank={self.rank}, calls={self.n_calls}, "
            f"lowrank={self.n_lowrank}, exact={self.n_exact})"
        )

    def reset(self):
        """Forget the warm start (the counters are kept)."""
        self.basis, self.rank, self.shape = None, None, None

    def _remember(self, shape, X, rank):
        self.shape, self.basis, self.rank = shape, X, int(rank)

    def plan(self, s, theta, shape):
        """The block size that should certify, predicted from a full spectrum.

        ``s`` are the singular values (descending) of a matrix that the exact
        prox just thresholded at ``theta``; the next matrix of a solver is
        close to it.  The prediction finds the fewest triplets ``j`` to
        deflate for the probe's bound to certify: with ``A = E^T E`` and a
        Gaussian block, ``||A^q Omega||_2 ~ ||A^q||_2 sqrt(p) + ||A^q||_F``,
        so the bound of the module doc is about
        ``s_{j+1} ((sqrt(p) + sqrt(N_q)) / beta)^(1 / 2q)`` with
        ``N_q = sum_{i > j} (s_i / s_{j+1})^(4q)``; it must be below
        ``0.9 theta``.  Those ``j`` triplets must converge to ``tol`` in
        block ``k = j + oversampling``, at the subspace-iteration rate
        ``(s_{k+1} / s_j)^2`` from a cold start.  Returns ``k``, or 0 when
        ``k`` is too large or the modelled work exceeds 70 % of the exact
        prox's: singular values crowding just below the threshold (the
        iterates of ADMM near its solution) make the route cost more than
        the exact prox, and :func:`lowrank_svt` then declines at once
        instead of failing after spending its budget.
        """
        d, T = shape
        m = min(d, T)
        if m < self.min_size or theta <= 0:
            return None
        s = np.asarray(s, dtype=np.float64) / theta
        r = int(np.count_nonzero(s > 1.0))
        tail = s[r:]
        j = q_need = None
        for q in range(1, self.max_power + 1):
            if tail.size == 0:
                j, q_need = r, 1
                break
            with np.errstate(under="ignore", divide="ignore", invalid="ignore"):
                pw = tail ** (4 * q)
                suffix = np.cumsum(pw[::-1])[::-1]
                N = np.where(pw > 0, suffix / np.where(pw > 0, pw, 1.0), 0.0)
            bound = tail * ((math.sqrt(self.n_probes) + np.sqrt(N)) / self.beta) ** (
                1.0 / (2 * q)
            )
            ok = np.flatnonzero(bound <= _PLAN_MARGIN)
            if ok.size and (j is None or r + ok[0] < j):
                j, q_need = r + int(ok[0]), q
        k = None if j is None else j + self.oversampling
        if k is None or k > int(self.max_fraction * m) or k >= s.size:
            return 0
        iters = 1
        if j > 0 and s[j - 1] > 0:
            rate = (s[k] / s[j - 1]) ** 2
            need = math.log(self.tol * s[0] / s[j - 1])
            iters = self.max_iter
            if rate < 1:
                iters = min(self.max_iter, math.ceil(need / math.log(rate)) + 1)
        it_flops, probe_flops = _flops(d, T, k, self.n_probes)
        work = iters * it_flops + q_need * probe_flops
        if work > _PLAN_WORK * self.work_budget * _exact_flops(d, T):
            return 0
        return k

    def record_exact(self, shape, X, rank, reason, plan=None):
        """Called by the exact prox: keep its right vectors as the warm start
        (and the block size :meth:`plan` predicted from its spectrum)."""
        self.n_exact += 1
        self._remember(shape, X, rank)
        self._plan, self._plan_shape = plan, shape
        tried = self.last_info if self.last_info.get("route") == "lowrank" else None
        self.last_info = {"route": "exact", "reason": reason, "rank": int(rank)}
        if tried is not None:
            self.last_info["lowrank"] = tried


def _flops(d, T, k, p):
    """Modelled flops of one subspace iteration (block ``k``) and of one probe
    power (``p`` probes).  Thin products are bound by reading ``V``: they are
    counted as 32 columns wider."""
    return (
        4.0 * d * T * (k + 32) + 10.0 * (d + T) * k * k,
        4.0 * d * T * (p + 32),
    )


def _exact_flops(d, T):
    """Modelled flops of the exact prox (Gram + eigh): ``2 d T m + 6 m^3``.

    With the count of a thin product of :func:`_flops` this matched the
    measured ratios at ``m = 400`` and ``1000`` within 1.5x.
    """
    m = min(d, T)
    return 2.0 * d * T * m + 6.0 * m**3


def _orth(Y):
    """Orthonormal basis of the columns of ``Y`` (reduced QR)."""
    return np.linalg.qr(Y)[0]


def _probe_bound(V, U, X, theta, state):
    """Bound ``||E||_2`` of ``V`` deflated by ``(U, X)``; see the module doc.

    Returns ``(upper, lower, q)``: the probabilistic upper bound at the first
    power that certifies (or at ``max_power``), a deterministic lower bound
    (Rayleigh quotient of the probe block), and the power used.
    """
    T = V.shape[1]
    p = state.n_probes
    Y = state.rng.standard_normal((T, p))

    def apply(Y):  # A Y = P_X^perp V^T P_U^perp V P_X^perp Y
        Y = Y - X @ (X.T @ Y)
        Z = V @ Y
        Z -= U @ (U.T @ Z)
        Y = V.T @ Z
        Y -= X @ (X.T @ Y)
        return Y

    log_scale = 0.0  # log of the norm factored out of Y so far
    Y = Y - X @ (X.T @ Y)  # the bound holds for the projected block as well
    upper, lower = math.inf, 0.0
    for q in range(1, state.max_power + 1):
        Y_prev = Y
        Y = apply(Y)
        # Rayleigh quotients y^T A y / y^T y <= lambda_1: a lower bound.
        num = np.einsum("ij,ij->j", Y_prev, Y)
        den = np.einsum("ij,ij->j", Y_prev, Y_prev)
        ok = den > 0
        if ok.any():
            lower = max(lower, float(np.sqrt(max(np.max(num[ok] / den[ok]), 0.0))))
        norm2 = float(np.linalg.norm(Y, 2))
        if norm2 == 0.0:
            state._directions = None
            return 0.0, lower, q
        log_norm = log_scale + math.log(norm2)
        # ||E|| <= (||A^q Omega|| / beta)^(1 / 2q), with a 1e-8 margin for rounding.
        upper = math.exp((log_norm - math.log(state.beta)) / (2 * q)) * (1 + 1e-8)
        scale = float(np.linalg.norm(Y))
        Y = Y / scale
        # The top directions of E (already orthogonal to X): a failed probe
        # hands them to the next, larger block (see _attempt).
        state._directions = Y
        if upper <= theta or lower > theta:
            return upper, lower, q
        log_scale += math.log(scale)
    return upper, lower, state.max_power


def _doomed(S, cum, need, tol_abs, it_flops, state):
    """Whether converging the top ``need`` Ritz triplets would overrun the budget.

    The residual of triplet ``need`` shrinks per (shifted) iteration by about
    ``(sigma) / (S_need^2 - sigma)``, ``sigma = S_k^2 / 2`` (or
    ``S_k^2 / S_need^2`` unshifted), the smallest Ritz value standing for the
    unwanted spectrum.  Only an early exit: a wrong guess costs time, never
    accuracy.
    """
    if need == 0 or cum[need - 1] <= tol_abs:
        return False
    top, low = S[need - 1] ** 2, S[-1] ** 2
    if low >= top:
        return True
    rate = 0.5 * low / (top - 0.5 * low) if state.shift else low / top
    res = float(
        np.sqrt(
            max(cum[need - 1] ** 2 - (cum[need - 2] ** 2 if need > 1 else 0.0), 0.0)
        )
    )
    if rate <= 0 or res <= tol_abs:
        return False
    iters = math.log(tol_abs / res) / math.log(rate)
    return state._spent + iters * it_flops > state._budget


def _attempt(V, theta, k, state, start):
    """Subspace iteration with block size ``k``; see :func:`lowrank_svt`.

    Returns ``(status, payload)`` with status 'ok' (payload ``(P, rank, X)``),
    'grow' (the block is too small), 'stall' (no convergence in max_iter) or
    'budget'; after 'grow' and 'stall' the payload is the start of the next,
    larger block: the current Ritz vectors, followed by the directions of the
    deflated part that the probe found when it could not certify (so a larger
    block does not start over).
    """
    d, T = V.shape
    if start is None:
        Q = state.rng.standard_normal((T, k))
    elif start.shape[1] < k:
        Q = np.hstack([start, state.rng.standard_normal((T, k - start.shape[1]))])
    else:
        Q = start[:, :k]
    Q = _orth(Q)
    info = state.last_info
    it_flops, probe_flops = _flops(d, T, k, state.n_probes)
    for _ in range(state.max_iter):
        if state._spent + it_flops > state._budget:
            return "budget", None
        state._spent += it_flops
        B = V @ Q
        Ub, S, Wt = np.linalg.svd(B, full_matrices=False)
        Z = V.T @ Ub
        X = Q @ Wt.T
        R = Z - X * S
        r = int(np.count_nonzero(S > theta))
        info["iterations"] = info.get("iterations", 0) + 1
        if r >= k - 1:  # no room to see the first value below the threshold
            return "grow", X
        if S[-1] > state.reach * theta:
            # Gap-aware: the Ritz values are lower bounds, so ||E|| >= S[-1]
            # whatever converges in this block, and the probe's bound
            # (about ||E|| (sqrt(p) / beta)^(1 / 2q) at best) cannot reach
            # the threshold: grow now instead of converging a doomed block.
            return "grow", X
        s_max = S[0]
        tol_abs = state.tol * s_max
        cum = np.sqrt(np.cumsum(np.einsum("ij,ij->j", R, R)))
        # Every Ritz value above the probe's reach must be deflated, so
        # converged: predict the iterations from their residual and the rate,
        # and give up now if they cannot fit in the budget.
        need = int(np.count_nonzero(S > state.reach * theta))
        if _doomed(S, cum, need, tol_abs, it_flops, state):
            return "budget", None
        if cum[max(r - 1, 0)] <= tol_abs or r == 0 and cum[0] <= tol_abs:
            # Deflate by every converged triplet (smaller E, easier bound).
            j = int(np.searchsorted(cum, tol_abs, side="right"))
            j = max(j, r)
            if j < need:
                Q = _orth(Z)  # the probe could not certify yet: iterate
                continue
            upper, lower, q = _probe_bound(V, Ub[:, :j], X[:, :j], theta, state)
            state._spent += q * probe_flops
            info.update(
                residual=float(cum[j - 1]) / s_max if j else 0.0,
                deflated=j,
                bound=upper,
                lower=lower,
                power=q,
            )
            if upper <= theta:
                P = (Ub[:, :r] * (S[:r] - theta)) @ X[:, :r].T
                return "ok", (P, r, X)
            if lower > theta:
                state.n_missed += 1
            # A value above the threshold was missed, or the deflated norm is
            # too close to it for the bound: more iterations would only
            # converge more triplets; a larger block started from the Ritz
            # vectors and the probe's directions of E captures the values
            # near the threshold at once.
            dirs = state._directions
            return "grow", X if dirs is None else np.hstack([X, dirs])
        # Next block: (A - sigma I) X S^-1 with A = V^T V (Z = A X S^-1) and
        # the shift sigma = S_k^2 / 2, half the block's smallest Ritz value
        # (about the top of the unwanted spectrum, which then maps into
        # [-sigma, sigma]): the unwanted components shrink by about
        # (s_{k+1}^2 / 2) / (s_r^2 - sigma) per iteration instead of
        # s_{k+1}^2 / s_r^2, for no extra product.
        if state.shift and S[-1] > 0:
            Z -= X * (0.5 * S[-1] ** 2 / np.where(S > 0, S, 1.0))
        Q = _orth(Z)
    return "stall", X


def lowrank_svt(V, theta, state):
    """Certified partial singular value thresholding of ``V``, or None.

    Parameters
    ----------
    V : ndarray of shape (n_features, n_tasks), float64
        Finite, not all zero.
    theta : float
        Threshold ``> 0``.
    state : ProxState
        Warm start and options; updated in place.

    Returns
    -------
    (P, rank) or None
        ``P = prox_{theta ||.||_*}(V)`` to within ``state.tol * s_max`` in
        Frobenius norm, with probability at least ``1 - 1e-10`` that no
        singular value above ``theta`` was missed; None when the low-rank route
        does not apply or was not certified (the caller then computes the exact
        prox and calls :meth:`ProxState.record_exact`).
    """
    m = min(V.shape)
    state.last_info = {"route": "lowrank"}
    if m < state.min_size:
        state.last_info["reason"] = "small"
        return None
    warm = (
        state.basis
        if state.basis is not None and state.shape == V.shape and state.rank is not None
        else None
    )
    if state._skip > 0:  # the route failed recently: exact for a few calls
        state._skip -= 1
        state.last_info["reason"] = "skipped after a failure"
        return None
    plan = state._plan if state._plan_shape == V.shape else None
    state._plan = None  # a plan is for the call after the exact prox only
    if plan == 0:  # predicted from the last exact spectrum not to pay
        state.last_info["reason"] = "predicted not to pay"
        return None
    prev_rank = state.rank if warm is not None else None
    if prev_rank is None:
        k = 2 * state.oversampling
    else:
        k = prev_rank + state.oversampling
        if state._good_k is not None and state._good_shape == V.shape:
            k = max(k, state._good_k)  # the block that certified last time
    if plan is not None:
        k = max(k, plan)
    d, T = V.shape
    k_max = int(state.max_fraction * m)
    # Give up once the work exceeds the exact prox's (Gram + eigh, counted as
    # 2 d T m + 6 m^3 flops of matrix products; with the count of a thin
    # product above this matched the measured ratios at m = 400 and 1000
    # within 1.5x): a failed attempt then costs at most two exact proxes, and
    # the skipping below amortizes repeated failures.
    state._budget = state.work_budget * _exact_flops(d, T)
    state._spent = 0.0
    status = None
    start = warm
    while k <= k_max:
        status, payload = _attempt(V, theta, k, state, start)
        state.last_info["k"] = k
        if status == "ok":
            P, r, X = payload
            state.n_lowrank += 1
            state._remember(V.shape, X, r)
            state._good_k, state._good_shape = k, V.shape
            state.last_info["rank"] = r
            if state._spent > 0.7 * state._budget:
                # certified but hardly cheaper than the exact prox: treat as a
                # failure for the skipping schedule
                state._skip = state._skip_next
                state._skip_next = min(2 * state._skip_next, 32)
            else:
                state._skip_next = 1
            return P, r
        state.n_backoffs += 1
        state.last_info.setdefault("backoffs", []).append((k, status))
        if status == "budget":
            break
        start = payload
        k *= 2
    reason = "work budget" if status == "budget" else "block too large"
    state.last_info["reason"] = reason
    # Skip the route for the next 1, 2, 4, ... 32 calls after consecutive failures.
    state._skip = state._skip_next
    state._skip_next = min(2 * state._skip_next, 32)
    state._good_k = None
    return None

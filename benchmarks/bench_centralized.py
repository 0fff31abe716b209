"""Centralized squared-loss solver on School: iterations and time to a certified gap.

Figure 1: raw School (28 uint8 columns, the last a constant), ``loss_scaling='sum'``
without intercept, so ``H_t = X_t^T X_t``, ``q_t = X_t^T y_t``, ``c_t = y_t^T y_t``;
for alpha in {1, 10, 100, 1000}, the wall-clock time of
:func:`skmtl.solvers._admm.solve_quadratic` (which stops on a certified relative
duality gap) to ``tol = 1e-4`` and ``1e-6``, median of several runs, with the
actual relative error ``(F - F*) / F*`` reached; ``F*`` comes from a solve to a
certified gap of 1e-12. Targets: 0.5 s and 2 s per alpha. A plain FISTA with
gradient restart (written below, same Gram-form kernels) runs side by side at
alpha = 1 for the ratio.

Figure 2: School standardized (features z-scored over all rows, or per task),
centered per task (intercepts), ``loss_scaling='mean'``; a 20-alpha geometric
path from ``alpha_max = ||Q||_2`` to ``alpha_max / 1000`` with warm starts
(``W0`` and ``rho`` of the previous alpha, one eigen-decomposition for the whole
path). Target: the whole path in 1 s.

Figure 3 (issue 10): Landmine (29 tasks, 9 raw features, 14,820 rows),
intercepts, ``loss_scaling='mean'``; for alpha in {1e-1, 1e-2, 1e-3, 1e-4},
``TraceNormMTLClassifier(alpha, tol=1e-6).fit`` (proximal Newton, certified
relative gap 1e-6) against 29 independent scikit-learn ``LogisticRegression``
fits with the matching L2 strength ``C = 1 / (alpha n_t)``, interleaved in the
same process (median of the runs). Target: at most 3x. Then
``TraceNormMTLClassifierCV()`` with its defaults against 29
``LogisticRegressionCV`` fits with as many ``Cs`` and folds (target: at most
1x, no ConvergenceWarning).

Run::

    python benchmarks/bench_centralized.py            # full (about a minute)
    python benchmarks/bench_centralized.py --quick    # a few seconds

The data are read from ``../shared/data`` next to the checkout (or from the
folder in ``$SKMTL_DATA``).
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from skmtl.penalties._trace_norm import prox_trace_norm  # noqa: E402
from skmtl.solvers._admm import quadratic_eigh, solve_quadratic  # noqa: E402

DATA = Path(
    os.environ.get("SKMTL_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
SCHOOL = DATA / "school_malsar" / "school.mat"


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
def load_school():
    if not SCHOOL.exists():
        sys.exit(
            f"School data not found at {SCHOOL}.\nPut the shared data folder "
            "next to the checkout (../shared/data) or set SKMTL_DATA."
        )
    from scipy.io import loadmat

    m = loadmat(SCHOOL)
    T = m["X"].shape[1]
    Xs = [m["X"][0, t].astype(float) for t in range(T)]
    ys = [m["Y"][0, t].astype(float).ravel() for t in range(T)]
    return Xs, ys


def gram_raw(Xs, ys):
    """Sum scaling, no intercept."""
    H = np.stack([X.T @ X for X in Xs])
    Q = np.stack([X.T @ y for X, y in zip(Xs, ys, strict=True)], axis=1)
    c = np.array([y @ y for y in ys])
    return H, Q, c


def gram_standardized(Xs, ys, per_task):
    """z-scored features (globally or per task), per-task centering, mean scaling.

    Zero-variance columns (the bias, and per task the school-level columns)
    map to 0, as MALSAR's ``zscore`` does.
    """
    if not per_task:
        X_all = np.vstack(Xs)
        mu, sd = X_all.mean(axis=0), X_all.std(axis=0)
    H, Q, c = [], [], []
    for X, y in zip(Xs, ys, strict=True):
        if per_task:
            mu, sd = X.mean(axis=0), X.std(axis=0)
        Z = (X - mu) / np.where(sd > 0, sd, 1.0)
        Z -= Z.mean(axis=0)
        yc = y - y.mean()
        n = len(y)
        H.append(Z.T @ Z / n)
        Q.append(Z.T @ yc / n)
        c.append(yc @ yc / n)
    return np.stack(H), np.stack(Q, axis=1), np.array(c)


def objective(H, Q, c, W, alpha):
    HW = np.einsum("tij,jt->it", H, W)
    fit = 0.5 * (np.sum(W * HW) - 2.0 * np.sum(Q * W) + c.sum())
    return fit + alpha * np.linalg.svd(W, compute_uv=False).sum()


# --------------------------------------------------------------------------- #
# Baseline: plain FISTA with gradient restart (O'Donoghue & Candes, 2015)
# --------------------------------------------------------------------------- #
def fista_restart(H, Q, c, alpha, f_star, targets, max_time, check_every=10):
    """Step 1/L (L = max_t ||H_t||_2), SVT prox, restart when the momentum
    points against the proximal-gradient step. Returns, per target, the seconds
    and iterations until ``(F - F*) / F* <= target`` (None if not reached
    within ``max_time``), and the seconds per iteration. The objective is
    evaluated every ``check_every`` iterations (its cost is included)."""
    t0 = time.perf_counter()
    L = float(np.linalg.eigvalsh(H).max())
    T, d = Q.shape[1], Q.shape[0]
    Ht = H  # (T, d, d); task-major iterates (T, d), batched products as in ADMM
    Qt = np.ascontiguousarray(Q.T)
    csum = float(c.sum())

    def hw(X):
        return np.matmul(Ht, X[:, :, None])[:, :, 0]

    W = np.zeros((T, d))
    Y = W.copy()
    t_k = 1.0
    reached = {}
    it = 0
    todo = sorted(targets, reverse=True)
    while todo and time.perf_counter() - t0 < max_time:
        it += 1
        V = Y - (hw(Y) - Qt) / L
        W_new = prox_trace_norm(V, alpha / L)
        if np.vdot(Y - W_new, W_new - W) > 0:
            t_k = 1.0
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
        Y = W_new + ((t_k - 1.0) / t_next) * (W_new - W)
        W, t_k = W_new, t_next
        if it % check_every == 0:
            nuc = np.linalg.svd(W, compute_uv=False).sum()
            F = 0.5 * (np.vdot(W, hw(W)) - 2.0 * np.vdot(Qt, W) + csum) + alpha * nuc
            while todo and (F - f_star) / f_star <= todo[0]:
                reached[todo.pop(0)] = (time.perf_counter() - t0, it)
    elapsed = time.perf_counter() - t0
    return reached, elapsed / max(it, 1), it, elapsed


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #
def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def figure1(Xs, ys, repeats, quick):
    H, Q, c = gram_raw(Xs, ys)
    print("\nFigure 1: School raw (28 columns incl. constant), sum scaling, ")
    print("no intercept; solve_quadratic (ADMM) with a certified gap, cold start")
    print(f"median of {repeats} runs; each run includes the eigh of the 139 H_t")
    print(f"alpha_max = ||Q||_2 = {np.linalg.norm(Q, 2):.6g}")
    header = (
        f"{'alpha':>6} | {'F*':>14} {'gap(F*)':>8} | {'tol':>5} {'seconds':>8} "
        f"{'iters':>5} {'rel.err':>8} {'cert.gap':>8} {'target':>7} {'ok':>3}"
    )
    print(header)
    print("-" * len(header))
    f_stars, admm_seconds = {}, {}
    for alpha in [1.0, 10.0, 100.0, 1000.0]:
        ref = solve_quadratic(H, Q, c, alpha, tol=1e-12, max_iter=100_000)
        f_star = objective(H, Q, c, ref.W, alpha)
        f_stars[alpha] = f_star
        for tol, target in [(1e-4, 0.5), (1e-6, 2.0)]:
            sec, res = timed(
                lambda a=alpha, t=tol: solve_quadratic(H, Q, c, a, tol=t), repeats
            )
            err = (objective(H, Q, c, res.W, alpha) - f_star) / f_star
            ok = "yes" if sec <= target and err <= tol and res.converged else "NO"
            admm_seconds[alpha, tol] = sec
            print(
                f"{alpha:6g} | {f_star:14.8g} {ref.gap:8.1e} | {tol:5.0e} {sec:8.4f} "
                f"{res.n_iter:5d} {err:8.1e} {res.gap:8.1e} {target:6.1f}s {ok:>3}"
            )

    # FISTA baseline, same process, alpha = 1.
    alpha = 1.0
    targets = [1e-4] if quick else [1e-4, 1e-6]
    max_time = 20.0 if quick else 60.0
    print(
        f"\nBaseline at alpha = 1: plain FISTA with gradient restart, step 1/L "
        f"(objective every 10 iterations), one run, capped at {max_time:g} s"
    )
    try:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(1, user_api="blas")  # as solve_quadratic does
    except ImportError:  # pragma: no cover
        limit = None
    try:
        reached, per_it, n_it, total = fista_restart(
            H, Q, c, alpha, f_stars[alpha], targets, max_time
        )
    finally:
        if limit is not None:
            limit.restore_original_limits()
    print(f"FISTA: {n_it} iterations in {total:.2f} s, {per_it * 1e3:.3f} ms/iteration")
    header = (
        f"{'target':>7} | {'FISTA s':>8} {'iters':>7} | {'ADMM s':>8} | {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for tol in targets:
        admm = admm_seconds[alpha, tol]
        if tol in reached:
            sec, its = reached[tol]
            print(
                f"{tol:7.0e} | {sec:8.3f} {its:7d} | {admm:8.4f} | {sec / admm:6.0f}x"
            )
        else:
            print(
                f"{tol:7.0e} | {'>' + format(total, '.1f'):>8} {'>' + str(n_it):>7} | "
                f"{admm:8.4f} | {'>' + format(total / admm, '.0f'):>6}x"
            )


def figure2(Xs, ys, repeats, quick):
    print(
        "\nFigure 2: School standardized, per-task centering (intercepts), mean "
        "scaling;\n20-alpha path alpha_max -> alpha_max/1000, warm starts (W0, "
        "rho), one eigh;"
    )
    print(f"median of {repeats} runs of the whole path")
    header = (
        f"{'standardization':>15} {'tol':>5} | {'path s':>7} {'target':>6} {'ok':>3} "
        f"| {'iters':>5} {'max rel.err':>11} {'ranks (every 4th alpha)':>24}"
    )
    print(header)
    print("-" * len(header))
    variants = [False] if quick else [False, True]
    for per_task in variants:
        H, Q, c = gram_standardized(Xs, ys, per_task)
        alphas = np.linalg.norm(Q, 2) * np.geomspace(1.0, 1e-3, 20)
        refs = [
            objective(H, Q, c, solve_quadratic(H, Q, c, a, tol=1e-12).W, a)
            for a in alphas
        ]

        def path(tol, H=H, Q=Q, c=c, alphas=alphas):
            eig = quadratic_eigh(H)
            W, rho, out = None, None, []
            for a in alphas:
                res = solve_quadratic(H, Q, c, a, W0=W, rho=rho, tol=tol, H_eig=eig)
                W = res.W
                rho = res.rho if np.isfinite(res.rho) else None
                out.append(res)
            return out

        for tol in [1e-4, 1e-6]:
            sec, results = timed(lambda t=tol, p=path: p(t), repeats)
            errs = [
                (objective(H, Q, c, r.W, a) - f) / f
                for r, a, f in zip(results, alphas, refs, strict=True)
            ]
            iters = sum(r.n_iter for r in results)
            conv = all(r.converged for r in results)
            ranks = [int(np.linalg.matrix_rank(r.W)) for r in results[::4]]
            ok = "yes" if sec <= 1.0 and conv and max(errs) <= tol else "NO"
            name = "per task" if per_task else "global"
            print(
                f"{name:>15} {tol:5.0e} | {sec:7.3f} {1.0:5.1f}s {ok:>3} | {iters:5d} "
                f"{max(errs):11.1e} {str(ranks):>24}"
            )


def load_landmine_long():
    from skmtl.datasets import load_landmine

    return load_landmine(path=DATA, return_X_y=True)


def _interleaved(fns, repeats):
    """Median seconds of each callable, run in turn ``repeats`` times."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[k] = fn()
            times[k].append(time.perf_counter() - t0)
    return [float(np.median(t)) for t in times], outs


def figure3(repeats, quick):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    from skmtl import TraceNormMTLClassifier, TraceNormMTLClassifierCV

    X, y = load_landmine_long()
    task = X[:, -1]
    labels = np.unique(task)
    per_task = [np.flatnonzero(task == t) for t in labels]
    print(
        "\nFigure 3: Landmine raw (29 tasks, 9 features, 14,820 rows), intercepts, "
        "mean scaling;\nTraceNormMTLClassifier(tol=1e-6) (proximal Newton) vs 29 "
        "LogisticRegression(C=1/(alpha n_t)) fits,"
    )
    print(f"interleaved, median of {repeats} runs; target ratio <= 3")
    header = (
        f"{'alpha':>6} | {'skmtl s':>8} {'steps':>5} {'cert.gap':>8} | "
        f"{'29 LR s':>8} | {'ratio':>6} {'ok':>3}"
    )
    print(header)
    print("-" * len(header))
    for alpha in [1e-1, 1e-2, 1e-3, 1e-4]:

        def ours(a=alpha):
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                return TraceNormMTLClassifier(alpha=a, task_column=-1, tol=1e-6).fit(
                    X, y
                )

        def baseline(a=alpha):
            out = []
            for rows in per_task:
                C = 1.0 / (a * len(rows))
                out.append(
                    LogisticRegression(C=C, max_iter=10_000).fit(X[rows, :-1], y[rows])
                )
            return out

        (t_ours, t_lr), (est, _) = _interleaved([ours, baseline], repeats)
        ratio = t_ours / t_lr
        ok = "yes" if ratio <= 3 and est.dual_gap_ <= 1e-6 else "NO"
        print(
            f"{alpha:6.0e} | {t_ours:8.3f} {est.n_iter_:5d} {est.dual_gap_:8.1e} | "
            f"{t_lr:8.3f} | {ratio:5.2f}x {ok:>3}"
        )

    cv_repeats = 1 if quick else max(1, repeats // 2)
    ref = TraceNormMTLClassifierCV(task_column=-1)
    n_alphas, n_folds = ref.alphas, ref.cv
    print(
        f"\nTraceNormMTLClassifierCV() defaults ({n_alphas} alphas, {n_folds} folds) "
        f"vs 29 LogisticRegressionCV(Cs={n_alphas}, cv={n_folds}); median of "
        f"{cv_repeats}; target ratio <= 1"
    )
    n_warn = []

    def cv_ours():
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always", ConvergenceWarning)
            est = TraceNormMTLClassifierCV(task_column=-1).fit(X, y)
        n_warn.append(sum(issubclass(x.category, ConvergenceWarning) for x in w))
        return est

    def cv_baseline():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return [
                LogisticRegressionCV(Cs=n_alphas, cv=n_folds).fit(X[rows, :-1], y[rows])
                for rows in per_task
            ]

    (t_cv, t_lrcv), (est, _) = _interleaved([cv_ours, cv_baseline], cv_repeats)
    ratio = t_cv / t_lrcv
    ok = "yes" if ratio <= 1 and max(n_warn) == 0 else "NO"
    print(
        f"{'CV s':>8} {'warnings':>8} {'alpha_/alpha_max':>16} | {'29 LRCV s':>9} | "
        f"{'ratio':>6} {'ok':>3}"
    )
    print(
        f"{t_cv:8.2f} {max(n_warn):8d} {est.alpha_ / est.alphas_[0]:16.3g} | "
        f"{t_lrcv:9.2f} | {ratio:5.2f}x {ok:>3}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--only", choices=["school", "landmine"], default=None, help="one data set"
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    Xs, ys = load_school()
    load = (
        ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        if hasattr(os, "getloadavg")
        else ""
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores{load}; "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    if args.only != "landmine":
        figure1(Xs, ys, repeats, args.quick)
        figure2(Xs, ys, repeats, args.quick)
    if args.only != "school":
        import warnings

        from threadpoolctl import threadpool_limits

        # One BLAS thread for both sides: these are many small problems, and
        # skmtl's solvers limit BLAS to one thread for them anyway.
        with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            figure3(repeats, args.quick)


if __name__ == "__main__":
    main()

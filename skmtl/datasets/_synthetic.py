"""Multi-task data generators (the paper's synthetic setting) and the digit tasks.

The generators follow scikit-learn's ``make_*`` functions: plain arrays out, a
``random_state`` for reproducibility, and the model written out in the
docstring.  The default sizes are the synthetic setting of Baytas et al. (2016):
``n = 100`` samples per task, ``d = 50`` features and a low-rank task matrix.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._tasks import stack_tasks

__all__ = [
    "load_digits_tasks",
    "make_low_rank_classification",
    "make_low_rank_regression",
]


def _task_sizes(n_samples, n_tasks, task_sizes):
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, Integral) or n_tasks < 1:
        raise ValueError(f"n_tasks must be an int >= 1; got {n_tasks!r}.")
    if task_sizes is None:
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, Integral)
            or n_samples < 1
        ):
            raise ValueError(f"n_samples must be an int >= 1; got {n_samples!r}.")
        return np.full(n_tasks, int(n_samples))
    sizes = np.asarray(task_sizes)
    if sizes.shape != (n_tasks,) or sizes.dtype.kind not in "iu":
        raise ValueError(
            f"task_sizes must hold {n_tasks} ints (one per task); got {task_sizes!r}."
        )
    if np.any(sizes < 1):
        raise ValueError(f"every task needs at least one sample; got {task_sizes!r}.")
    return sizes.astype(int)


def _low_rank_model(n_samples, n_features, n_tasks, rank, task_sizes, random_state):
    """Draw ``W = A B / sqrt(rank)`` and the per-task Gaussian designs."""
    if isinstance(n_features, bool) or not isinstance(n_features, Integral):
        raise ValueError(f"n_features must be an int >= 1; got {n_features!r}.")
    if n_features < 1:
        raise ValueError(f"n_features must be an int >= 1; got {n_features!r}.")
    sizes = _task_sizes(n_samples, n_tasks, task_sizes)
    if isinstance(rank, bool) or not isinstance(rank, Integral):
        raise ValueError(f"rank must be an int; got {rank!r}.")
    if not 1 <= rank <= min(n_features, n_tasks):
        raise ValueError(
            f"rank must be between 1 and min(n_features, n_tasks) = "
            f"{min(n_features, n_tasks)}; got {rank}."
        )
    rng = check_random_state(random_state)
    # Entries of W have unit variance whatever the rank.
    W = rng.standard_normal((n_features, rank)) @ rng.standard_normal((rank, n_tasks))
    W /= np.sqrt(rank)
    Xs = [rng.standard_normal((n_t, n_features)) for n_t in sizes]
    return rng, W, Xs


def _output(Xs, ys, W, return_long, task_column):
    if not return_long:
        return Xs, ys, W
    X, y = stack_tasks(Xs, ys, task_column=task_column)
    return X, y, W


def make_low_rank_regression(
    n_samples=100,
    n_features=50,
    n_tasks=10,
    *,
    rank=3,
    noise=1.0,
    task_sizes=None,
    return_long=False,
    task_column=-1,
    random_state=None,
):
    r"""Generate multi-task regression data whose task weights have low rank.

    The model of the paper's synthetic experiments (Baytas et al., 2016):

    .. math::

        W = A B / \sqrt{r}, \quad A_{ij}, B_{ij} \sim \mathcal{N}(0, 1), \qquad
        y_t = X_t w_t + \sigma \varepsilon_t, \quad
        (X_t)_{ij}, (\varepsilon_t)_i \sim \mathcal{N}(0, 1),

    where ``W = [w_1 ... w_T]`` is ``n_features x n_tasks`` of rank ``r``, task
    ``t`` has its own design ``X_t`` of ``n_t`` rows, and ``sigma`` is
    ``noise``.  The entries of ``W`` have unit variance, so every target has
    variance about ``n_features + noise**2``.

    Parameters
    ----------
    n_samples : int, default=100
        Samples per task (ignored when ``task_sizes`` is given).
    n_features : int, default=50
        Number of features ``d``.
    n_tasks : int, default=10
        Number of tasks ``T``.
    rank : int, default=3
        Rank of ``W``, between 1 and ``min(n_features, n_tasks)``.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise on the targets.
    task_sizes : array-like of int of shape (n_tasks,), default=None
        Samples of each task, for tasks of different sizes.
    return_long : bool, default=False
        Return the long format (one ``X`` with a task column, 1-D ``y``) instead
        of per-task lists.
    task_column : int, default=-1
        Position of the task column in the long format (``-1``: last).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    Xs : list of ndarray of shape (n_t, n_features), or ndarray
        With ``return_long=True``, X of shape (sum n_t, n_features + 1).
        Per-task designs, or the stacked rows with the task index
        (``0 .. n_tasks - 1``) in column ``task_column``.
    ys : list of ndarray of shape (n_t,), or y of shape (sum n_t,)
        Per-task targets, or all targets stacked in task order.
    W_true : ndarray of shape (n_features, n_tasks)
        The true task weights (``coef_`` of a fitted model is its transpose).

    See Also
    --------
    make_low_rank_classification : Binary tasks from the same model.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_low_rank_regression
    >>> Xs, ys, W = make_low_rank_regression(n_tasks=5, random_state=0)
    >>> len(Xs), Xs[0].shape, ys[0].shape, W.shape
    (5, (100, 50), (100,), (50, 5))
    >>> int(np.linalg.matrix_rank(W))
    3
    >>> X, y, W = make_low_rank_regression(
    ...     n_tasks=3, task_sizes=[20, 30, 40], return_long=True, random_state=0)
    >>> X.shape, y.shape, np.unique(X[:, -1])
    ((90, 51), (90,), array([0., 1., 2.]))
    """
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0; got {noise!r}.")
    rng, W, Xs = _low_rank_model(
        n_samples, n_features, n_tasks, rank, task_sizes, random_state
    )
    ys = [
        X @ W[:, t] + noise * rng.standard_normal(X.shape[0]) for t, X in enumerate(Xs)
    ]
    return _output(Xs, ys, W, return_long, task_column)


def make_low_rank_classification(
    n_samples=100,
    n_features=50,
    n_tasks=10,
    *,
    rank=3,
    noise=1.0,
    task_sizes=None,
    return_long=False,
    task_column=-1,
    random_state=None,
):
    r"""Generate binary multi-task data whose task weights have low rank.

    The regression model of :func:`make_low_rank_regression`, thresholded:

    .. math::

        y_{ti} = \mathbb{1}\left[x_{ti}^\top w_t + \sigma \varepsilon_{ti} > 0
        \right] \in \{0, 1\},

    with ``W = A B / sqrt(r)`` of rank ``r`` and standard normal ``X_t`` and
    ``epsilon``.  The margins have standard deviation about
    ``sqrt(n_features)``, so ``noise`` (``sigma``) sets how many labels fall on
    the wrong side of the true boundary.

    Parameters
    ----------
    n_samples : int, default=100
        Samples per task (ignored when ``task_sizes`` is given).
    n_features : int, default=50
        Number of features ``d``.
    n_tasks : int, default=10
        Number of tasks ``T``.
    rank : int, default=3
        Rank of ``W``, between 1 and ``min(n_features, n_tasks)``.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise added to the margins.
    task_sizes : array-like of int of shape (n_tasks,), default=None
        Samples of each task, for tasks of different sizes.
    return_long : bool, default=False
        Return the long format (one ``X`` with a task column, 1-D ``y``).
    task_column : int, default=-1
        Position of the task column in the long format (``-1``: last).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    Xs : list of ndarray of shape (n_t, n_features), or ndarray
        With ``return_long=True``, X of shape (sum n_t, n_features + 1).
        Per-task designs, or the stacked rows with the task column.
    ys : list of ndarray of shape (n_t,), or y of shape (sum n_t,)
        Labels in {0, 1}.
    W_true : ndarray of shape (n_features, n_tasks)
        The true task weights.

    See Also
    --------
    make_low_rank_regression : The same model with continuous targets.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_low_rank_classification
    >>> X, y, W = make_low_rank_classification(
    ...     n_tasks=4, return_long=True, random_state=0)
    >>> X.shape, np.unique(y)
    ((400, 51), array([0, 1]))
    """
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0; got {noise!r}.")
    rng, W, Xs = _low_rank_model(
        n_samples, n_features, n_tasks, rank, task_sizes, random_state
    )
    ys = [
        (X @ W[:, t] + noise * rng.standard_normal(X.shape[0]) > 0).astype(np.int64)
        for t, X in enumerate(Xs)
    ]
    return _output(Xs, ys, W, return_long, task_column)


# --------------------------------------------------------------------------- #
# The paper's real-data classification tasks, built offline from scikit-learn
# --------------------------------------------------------------------------- #
PAPER_DIGIT_PAIRS = ((0, 9), (1, 8), (2, 7), (3, 6), (4, 5))


def load_digits_tasks(pairs=PAPER_DIGIT_PAIRS, *, task_column=-1):
    """Binary digit tasks from :func:`sklearn.datasets.load_digits`, long format.

    Task ``t`` separates the two digits ``pairs[t]``: it holds every 8 x 8
    image of either digit, and its targets are the digits themselves.  The
    default is the paper's five tasks 0 vs 9, 1 vs 8, 2 vs 7, 3 vs 6 and 4 vs 5
    (Baytas et al., 2016, on MNIST and USPS); the data ship with scikit-learn, so
    nothing is downloaded.

    Parameters
    ----------
    pairs : sequence of (int, int), default=((0, 9), (1, 8), (2, 7), (3, 6), (4, 5))
        The two digits of each task; a digit may appear in several tasks.
    task_column : int, default=-1
        Position of the task column (``-1``: last, as ``ColumnTransformer``'s
        passthrough puts it).

    Returns
    -------
    X : ndarray of shape (n_samples, 65)
        The 64 pixel intensities (0 to 16) and the task index
        (``0 .. len(pairs) - 1``) in column ``task_column``.
    y : ndarray of shape (n_samples,)
        The digit of each row: one of the two digits of its task.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import load_digits_tasks
    >>> X, y = load_digits_tasks()
    >>> X.shape, y.shape
    ((1797, 65), (1797,))
    >>> np.unique(y[X[:, -1] == 0])
    array([0, 9])
    """
    from sklearn.datasets import load_digits

    pairs = [tuple(int(v) for v in pair) for pair in pairs]
    if not pairs:
        raise ValueError("pairs is empty: at least one task is needed.")
    for pair in pairs:
        if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(range(10)):
            raise ValueError(
                f"every pair must hold two different digits in 0..9; got {pair}."
            )
    digits = load_digits()
    Xs, ys = [], []
    for pair in pairs:
        rows = np.isin(digits.target, pair)
        Xs.append(digits.data[rows])
        ys.append(digits.target[rows])
    return stack_tasks(Xs, ys, task_column=task_column)

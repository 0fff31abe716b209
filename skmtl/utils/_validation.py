"""Input validation: from what the user passes to per-task blocks.

Two data modes (see the user guide):

* shared design (``task_column=None``): ``X`` is (n, d) and ``y`` is (n,) for one
  task or (n, T) for T tasks sharing the rows;
* long format (``task_column`` set): one column of ``X`` holds each row's task
  label; ``y`` is 1-D; tasks may have any size.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.utils import assert_all_finite, check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    validate_data,
)

from .._tasks import _split_task_column, group_rows, lookup_codes
from ..datafits._losses import TaskBlocks
from ._rowpass import gather_rows, task_row_sums

_ACCEPT_SPARSE = ("csr", "csc")
_DTYPES = (np.float64, np.float32)
# The solvers square and sum the data (losses, Lipschitz constants, duality
# gaps): values near sqrt(float64 max) ~ 1e154 overflow, and from ~1e130 the
# certificates lose all precision.  Far below that, no real data set is
# affected; larger values are refused with a message saying to rescale.
MAX_ABS_VALUE = 1e50


@dataclass
class FitData:
    """Validated training data and what predict needs to know about it."""

    blocks: TaskBlocks
    tasks: np.ndarray
    y_ndim: int
    classes: list = field(default_factory=list)  # per task: its two labels
    multiclass: bool = False  # a 1-D y with K > 2 classes: K one-vs-rest tasks


def _non_numeric_column(X, skip=None):
    """(name, value) of the first column of X holding a non-numeric value, or None.

    ``skip`` is the position of the task column (not a feature).  Columns are
    named as the user knows them: by DataFrame name, else by position in X.
    """
    if hasattr(X, "iloc"):
        columns = [(name, X.iloc[:, j]) for j, name in enumerate(X.columns)]
    else:
        try:
            A = np.asarray(X, dtype=object)
        except Exception:  # ragged lists: not a column problem
            return None
        if A.ndim != 2:
            return None
        columns = [(j, A[:, j]) for j in range(A.shape[1])]
    for j, (name, values) in enumerate(columns):
        if j == skip:
            continue
        for value in np.asarray(values, dtype=object).ravel():
            try:
                float(value)
            except (TypeError, ValueError):
                return name, value
    return None


def _convert_features(X, input_name="X", *, skip=None, original=None, finite=True):
    """check_array for features; a string column gets an error naming it.

    ``finite=False`` leaves the check for NaN and infinities to the caller.
    """
    try:
        return check_array(
            X,
            accept_sparse=_ACCEPT_SPARSE,
            dtype=_DTYPES,
            input_name=input_name,
            ensure_all_finite=finite,
        )
    except ValueError as exc:
        _raise_for_string_column(exc, X if original is None else original, skip)


def _raise_for_string_column(exc, X, skip=None):
    """Re-raise a failed float conversion of X naming the non-numeric column."""
    found = None
    if "could not convert" in str(exc):
        found = _non_numeric_column(X, skip)
    if found is None:
        raise exc
    name, value = found
    where = "" if skip is None else " (the task column may hold strings)"
    raise ValueError(
        f"Column {name!r} of X holds non-numeric values (e.g. {value!r}); every "
        f"feature must be a number{where}. Encode it (e.g. with "
        "sklearn.preprocessing.OneHotEncoder in a ColumnTransformer) or drop it."
    ) from None


def _check_magnitude(A, what):
    """Refuse finite values so large that the solvers' sums of squares overflow."""
    values = A.data if sp.issparse(A) else A
    if values.size == 0:
        return
    # no |values| copy
    _raise_if_huge(max(float(values.max()), -float(values.min())), what)


def _raise_if_huge(largest, what):
    """The error of :func:`_check_magnitude` for a largest ``|value|``."""
    if largest > MAX_ABS_VALUE:
        raise ValueError(
            f"{what} holds values as large as {largest:.3g} in absolute value; "
            f"values above {MAX_ABS_VALUE:g} are refused because the solver "
            "squares and sums them (losses, step sizes, duality gaps), which "
            "overflows float64. Rescale the data (e.g. with "
            "sklearn.preprocessing.StandardScaler, or divide by a constant)."
        )


def _check_magnitudes(X, y, sample_weight):
    if X is not None:
        _check_magnitude(X, "X")
    if y is not None:
        _check_magnitude(np.asarray(y, dtype=np.float64), "y")
    if sample_weight is not None:
        _check_magnitude(sample_weight, "sample_weight")


def _check_unused_categories(X, index, labels):
    """A pandas Categorical task column must not declare tasks without rows.

    The tasks are the labels present in the rows: a declared category with no
    row would otherwise be dropped silently (no model is fitted for it).
    """
    if not hasattr(X, "iloc"):
        return
    column = X.iloc[:, index]
    categories = getattr(getattr(column, "cat", None), "categories", None)
    if categories is None:
        return
    present = set(np.asarray(labels, dtype=object).tolist())
    unused = [_plain(c) for c in categories if c not in present]
    if unused:
        raise ValueError(
            f"The task column {X.columns[index]!r} is a pandas Categorical whose "
            f"categories {unused[:10]}{' ...' if len(unused) > 10 else ''} have no "
            "row in X: a task needs training rows, so these tasks cannot be "
            "fitted. Drop them with .cat.remove_unused_categories() (they are "
            "then unknown tasks at predict time, see handle_unknown_task)."
        )


def _check_not_complex(A, what):
    """A short error for complex input (check_array would print the whole array)."""
    if hasattr(A, "dtypes") and not hasattr(A, "dtype"):
        kinds = {getattr(dt, "kind", "O") for dt in A.dtypes}
    elif hasattr(A, "dtype"):
        kinds = {A.dtype.kind}
    else:
        try:
            kinds = {np.asarray(A).dtype.kind}
        except Exception:
            return
    if "c" in kinds:
        raise ValueError(
            f"Complex data not supported ({what} holds complex values); pass "
            "real numbers, e.g. the real part or the modulus."
        )


def _check_features(X, input_name="X", *, skip=None, original=None, finite=True):
    X = _convert_features(X, input_name, skip=skip, original=original, finite=finite)
    if X.shape[1] == 0:
        raise ValueError(
            "X has no feature column besides the task column; at least one "
            "feature is required."
        )
    if sp.issparse(X):
        return X.astype(np.float64).tocsr()
    return np.asarray(X, dtype=np.float64)


def _encode_labels(labels, what):
    """Sorted unique labels and the inverse index, with a clear error."""
    try:
        return np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            f"The {what} labels mix types that cannot be sorted together "
            f"({exc}); use labels of one type (all int or all str)."
        ) from None


def _plain(value):
    """A numpy scalar as the Python value, so messages read 0.0, not np.float64(0.0)."""
    return value.item() if isinstance(value, np.generic) else value


def _binary_targets(y, sample_weight, task_name, where):
    """Map a task's labels to -1/+1 and return its two classes.

    Only rows with positive weight count: a class whose rows all weigh zero is
    absent from the fit (and would send the intercept to infinity).
    """
    classes = np.unique(y[sample_weight > 0])
    task_name = _plain(task_name)
    if classes.size == 0:
        raise ValueError(
            f"Task(s) {[task_name]} have no rows with positive sample weight; "
            "every task needs at least one."
        )
    if classes.size < 2:
        only = _plain(classes[0])
        raise ValueError(
            f"Task {task_name!r} has only one class ({only!r}) {where} (counting "
            "rows with positive sample weight); a classifier needs samples of "
            "two classes in every task."
        )
    if classes.size > 2:
        raise ValueError(
            f"Only binary classification is supported in each task: task "
            f"{task_name!r} has {classes.size} classes {where}. A multiclass "
            "problem is supported as a 1-D y in the shared design "
            "(task_column=None: one one-vs-rest task per class); in long "
            "format or with a 2-D y, split it into binary tasks first."
        )
    return np.where(y == classes[1], 1.0, -1.0), classes


def _check_long_layout(X, *, check_width=True):
    """Shape and dtype of a long-format X, checked before its task column is split.

    These come first so that the message names the real problem (a 1-D X,
    complex values, no feature column) rather than a consequence of it.
    """
    if hasattr(X, "dtypes"):  # DataFrame: look at its dtypes, do not convert it
        kinds = {dt.kind for dt in X.dtypes if isinstance(dt, np.dtype)}
    else:
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        kinds = {X.dtype.kind}
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise ValueError(
            f"Expected a 2-D X of shape (n_samples, n_columns) holding the "
            f"features and the task column, got an array of shape {shape}. "
            "Reshape your data: every row needs its features and its task label."
        )
    if "c" in kinds:
        raise ValueError("Complex data not supported (X holds complex values).")
    if check_width and shape[1] < 2:
        raise ValueError(
            f"Found array with {shape[1]} feature(s) (shape={shape}) while a "
            "minimum of 2 is required: in long format X holds the task column "
            "and at least one feature column."
        )


def _check_long_y(y, classifier):
    """A 1-D y for long format (a column vector is raveled with a warning)."""
    _check_not_complex(y, "y")
    y = check_array(
        y,
        ensure_2d=False,
        dtype=None if classifier else np.float64,
        input_name="y",
    )
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D in long format (task_column set); got shape "
            f"{y.shape}. For several targets per row use task_column=None."
        )
    if classifier:
        check_classification_targets(y)
    return y


def _long_inputs(est, X, y, sample_weight, classifier):
    """Every check of long-format data but those of X's values, and the groups.

    A dense X is checked for finite and huge values later, in one chunked
    pass over its rows (in place for fit, summing them per task for
    ``alpha_max``; :mod:`skmtl.utils._rowpass`), so those values are
    reported after the checks of y, of the lengths and of ``sample_weight``
    (:func:`_check_long_values` raises the messages of the usual checks). A
    sparse X (also one converted from a sparse DataFrame) is checked here.
    """
    _check_long_layout(X)
    validate_data(est, X, skip_check_array=True, reset=True)
    # A view of the features when possible: the rows are copied once, later.
    view, labels, index = _split_task_column(X, est.task_column, copy=False)
    _check_unused_categories(X, index, labels)
    Xf = _check_features(view, skip=index, original=X, finite=sp.issparse(view))
    y = _check_long_y(y, classifier)
    check_consistent_length(Xf, y, labels)
    sw = None  # all ones: no array of n ones, see _validate_long
    if sample_weight is not None:
        sw = _check_sample_weight(
            sample_weight, Xf, dtype=np.float64, ensure_non_negative=True
        )
    late = (view, index, X, None if classifier else y, sw)
    if sp.issparse(Xf):
        if not sp.issparse(view):  # a sparse DataFrame: not checked above
            assert_all_finite(Xf, input_name="X")
        _check_magnitudes(Xf, late[3], sw)
        late = None
    try:
        groups = group_rows(labels)
    except ValueError:
        if late is not None:  # the checks that came first, in their order
            _check_long_values(late, *gather_rows(Xf, copy=False))
        _encode_labels(labels, "task")  # raises its message for unsortable labels
        raise
    return Xf, y, sw, groups, late


def _check_long_values(late, Xf, stats):
    """Raise for non-finite or huge values of a dense X, then of y and weights.

    ``stats`` are those of the rows of ``Xf``; a non-finite value is reported
    by the feature check (with its usual message).
    """
    if late is None:
        return
    view, index, X, y, sw = late
    if not stats.finite:
        _check_features(view, skip=index, original=X)  # raises
        raise ValueError("Input X contains NaN or infinity.")  # pragma: no cover
    _raise_if_huge(stats.largest, "X")
    _check_magnitudes(None, y, sw)  # (no sw: unit weights)


def _validate_long(est, X, y, sample_weight, classifier):
    Xf, y, sw, groups, late = _long_inputs(est, X, y, sample_weight, classifier)
    tasks = groups.tasks
    order = None if groups.is_sorted else groups.order
    # X's values are checked in one sequential chunked pass; the copy into
    # task order (fresh memory, costly on this VM) and the per-task slices
    # are left to the lazy blocks, for the consumers that need them.
    if sp.issparse(Xf):
        if order is not None:
            Xf = Xf[order]
        copy = False
    else:
        _check_long_values(late, *gather_rows(Xf, copy=False))
        # The blocks never alias the user's X: a view of it is copied when
        # the blocks materialize (a fresh array need not be, when sorted).
        copy = isinstance(X, np.ndarray) and np.may_share_memory(Xf, X)
    if order is not None:
        y = np.take(y, order)
        if sw is not None:
            sw = np.take(sw, order)
    rows = None if sp.issparse(Xf) else order  # a sparse X is now sorted
    classes = []
    if classifier:
        y, classes = _long_binary_targets(y, sw, groups)
    y = np.asarray(y, dtype=np.float64)
    blocks = TaskBlocks.from_rows(
        Xf, rows, groups.starts, y, sw, np.ones(len(tasks)), copy=copy
    )
    return FitData(blocks, tasks, 1, classes)


def _long_binary_targets(y, sw, groups):
    """Every task's labels as -1/+1 (task order), and its two classes."""
    out, classes = np.empty(y.shape[0]), []
    ones = np.ones(int(groups.counts.max(initial=0)))
    for t, rows in enumerate(groups.slices()):
        st = ones[: rows.stop - rows.start] if sw is None else sw[rows]
        where = "in the training data"
        out[rows], cls = _binary_targets(y[rows], st, groups.tasks[t], where)
        classes.append(cls)
    return out, classes


def _validate_shared(est, X, y, sample_weight, classifier):
    _check_not_complex(X, "X")
    _check_not_complex(y, "y")
    original = X
    try:
        X, y = validate_data(
            est,
            X,
            y,
            accept_sparse=_ACCEPT_SPARSE,
            dtype=_DTYPES,
            multi_output=True,
            y_numeric=not classifier,
        )
    except ValueError as exc:
        _raise_for_string_column(exc, original)
    if classifier:
        check_classification_targets(y)
    X = _check_features(X)
    if classifier and np.ndim(y) == 2 and y.shape[1] == 1 and np.unique(y).size > 2:
        y = column_or_1d(y, warn=True)  # a multiclass column vector, as sklearn
    y_ndim = np.ndim(y)
    if y_ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D; got shape {np.shape(y)}.")
    Y = np.asarray(y).reshape(y.shape[0], -1)
    sw = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    _check_magnitudes(X, None if classifier else Y, sw)
    if classifier and y_ndim == 1:
        labels = np.unique(Y[sw > 0, 0])
        if labels.size > 2:
            return _one_vs_rest(X, Y[:, 0], sw, labels)
    T = Y.shape[1]
    ys, classes = [], []
    for t in range(T):
        yt = Y[:, t]
        if classifier:
            yt, cls = _binary_targets(yt, sw, t, f"in column {t} of y")
            classes.append(cls)
        ys.append(np.ascontiguousarray(yt, dtype=np.float64))
    # The same X and weight objects for every task: nothing is copied.
    blocks = TaskBlocks([X] * T, ys, [sw] * T, np.ones(T), shared=True)
    return FitData(blocks, np.arange(T), y_ndim, classes)


def _one_vs_rest(X, y, sw, labels):
    """A 1-D multiclass y as K one-vs-rest binary tasks sharing X.

    ``labels`` are the classes of the rows with positive weight (as for a
    binary task, a class whose rows all weigh zero is absent from the fit).
    """
    ys = [np.where(y == c, 1.0, -1.0) for c in labels]
    classes = [np.array([c]) for c in labels]
    K = labels.size
    blocks = TaskBlocks([X] * K, ys, [sw] * K, np.ones(K), shared=True)
    return FitData(blocks, np.arange(K), 1, classes, multiclass=True)


def validate_fit_data(est, X, y, sample_weight=None, *, classifier=False):
    """Validate training data for ``est`` and split it into per-task blocks.

    Sets ``n_features_in_`` (and ``feature_names_in_``) on ``est``, scales each
    task by its total sample weight for ``loss_scaling='mean'``.
    """
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None."
        )
    if est.task_column is None:
        data = _validate_shared(est, X, y, sample_weight, classifier)
    else:
        data = _validate_long(est, X, y, sample_weight, classifier)
    blocks = data.blocks
    totals = blocks.task_totals()
    _check_totals(totals, data.tasks)
    if est.loss_scaling == "mean":
        blocks.scales = totals
    return data


def long_gradient_at_zero(est, X, y, sample_weight=None):
    """The squared loss's gradient at ``W = 0`` (d x T), long format, dense X.

    What ``SquaredLoss(validate_fit_data(est, X, y, sample_weight).blocks,
    fit_intercept=est.fit_intercept).gradient_at_zero()`` returns (up to the
    order of the sums), with the same checks and errors, but from one chunked
    pass over X (:func:`~skmtl.utils._rowpass.task_row_sums`): no task-ordered
    copy of X is made, only the gradient needs. None when X is (or converts
    to) a sparse matrix.
    """
    if y is None or sp.issparse(X):
        return None
    Xf, y, sw, groups, late = _long_inputs(est, X, y, sample_weight, False)
    if sp.issparse(Xf):  # e.g. a sparse DataFrame
        return None
    codes, T = groups.codes, groups.n_tasks
    totals = groups.counts.astype(np.float64)
    if sw is not None:
        totals = np.bincount(codes, weights=sw, minlength=T)
    ybar = np.zeros(T)
    if est.fit_intercept:
        sy = y if sw is None else sw * y
        with np.errstate(divide="ignore", invalid="ignore"):  # checked below
            ybar = np.bincount(codes, weights=sy, minlength=T) / totals

    def weights(rows):  # -s_i (y_i - ybar_t): row i's weight at W = 0
        w = np.take(ybar, np.take(codes, rows)) - np.take(y, rows)
        return w if sw is None else np.multiply(w, np.take(sw, rows), out=w)

    order = None if groups.is_sorted else groups.order
    GT, stats = task_row_sums(Xf, order, groups.starts, weights)
    _check_long_values(late, Xf, stats)
    _check_totals(totals, groups.tasks)
    if est.loss_scaling == "mean":
        GT /= totals[:, None]
    return GT.T


def _check_totals(totals, tasks):
    """Every task needs a positive total sample weight."""
    if np.any(totals <= 0):
        bad = [_plain(tasks[t]) for t in np.flatnonzero(totals <= 0)]
        raise ValueError(
            f"Task(s) {bad[:10]} have no rows with positive sample weight; every "
            "task needs at least one."
        )


def validate_predict_data(est, X):
    """Validate ``X`` at predict time.

    Returns the feature matrix and, in long format, each row's task index into
    ``est.tasks_`` (-1 for a task not seen in fit, only with
    ``handle_unknown_task='mean'``).
    """
    if est.task_column is None:
        _check_not_complex(X, "X")
        original = X
        try:
            X = validate_data(
                est, X, accept_sparse=_ACCEPT_SPARSE, dtype=_DTYPES, reset=False
            )
        except ValueError as exc:
            _raise_for_string_column(exc, original)
        return _check_features(X), None
    # A column count unlike fit's is the likelier mistake: checked before width.
    _check_long_layout(X, check_width=False)
    validate_data(est, X, skip_check_array=True, reset=False)
    # Prediction only reads the features: a view of X, no copy, when possible.
    # A dense X's values are checked from its margins (check_margins_finite).
    view, labels, index = _split_task_column(X, est.task_column, copy=False)
    Xf = _check_features(view, skip=index, original=X, finite=sp.issparse(view))
    if sp.issparse(Xf) and not sp.issparse(view):  # a sparse DataFrame
        assert_all_finite(Xf, input_name="X")
    return Xf, _task_index(est, labels)


def check_margins_finite(Xf, margins):
    """Raise for NaN or infinity in a long-format ``X``, found from its margins.

    :func:`validate_predict_data` leaves the values of a dense long-format
    ``X`` unchecked: a NaN or an infinity in a row makes that row's margin
    ``x_i . w + b`` non-finite (NaN times anything is NaN; infinity times a
    nonzero coefficient is infinite, times zero NaN), so one pass over the n
    margins stands for a pass over the n x d values (0.25 s of a 0.7 s
    ``predict`` at 5 million rows, d = 50). Only when a margin is not finite
    is ``X`` scanned, for the usual message. A finite ``X`` whose margins
    overflow is returned as before. So a NaN in ``X`` is reported after the
    checks of the task labels (an unknown task comes first).
    """
    if not np.isfinite(margins).all():
        assert_all_finite(Xf, input_name="X")


def _task_index(est, labels):
    tasks = est.tasks_
    # Integer task labels: a table lookup, O(n); else a binary search, O(n log T).
    idx = lookup_codes(tasks, labels)
    if idx is None:
        idx = _search_task_index(tasks, labels)
    unknown = idx < 0
    if unknown.any() and est.handle_unknown_task == "error":
        bad = np.unique(np.asarray(labels, dtype=object)[unknown].astype(str))
        raise ValueError(
            f"Unknown task label(s) {bad[:10].tolist()} in X: they were not seen "
            f"in fit (known tasks: {tasks[:10].tolist()}"
            f"{' ...' if len(tasks) > 10 else ''}). Set "
            "handle_unknown_task='mean' to predict them with the average task model."
        )
    return idx


def _search_task_index(tasks, labels):
    """Index of every label in the sorted ``tasks`` (-1 if absent), by search."""
    idx = None
    try:
        pos = np.clip(np.searchsorted(tasks, labels), 0, len(tasks) - 1)
        known = tasks[pos] == labels
        if isinstance(known, np.ndarray) and known.shape == pos.shape:
            idx = np.where(known, pos, -1)
    except TypeError:
        pass
    if idx is None:  # labels whose type does not compare with tasks_
        lookup = {lab: i for i, lab in enumerate(tasks.tolist())}
        idx = np.array([lookup.get(lab, -1) for lab in np.asarray(labels).tolist()])
    return idx


def guard_divergence(est, run):
    """``run`` (the AMTL engine) with a clear error when its iteration diverges.

    A run diverges when its parameters make the iteration unstable for the
    data (a step near ``2/L`` with a large relaxation, high staleness): the
    iterates overflow, and the failure used to surface as a ``LinAlgError`` or
    "V must not contain NaN or infinity" from inside the prox, or as
    non-finite objectives with a "converged" stop.  The engine stops at the
    first epoch check whose model is non-finite (``stop_reason='diverged'``)
    and flags every check (``info['history_finite']``).  As scikit-learn's
    SGD does on overflow, this raises a ValueError that says what to change.
    """

    def guarded(*args, **kwargs):
        try:
            # Overflow is reported below, as divergence, not as numpy warnings
            # (warnings turned into errors surface the same way).
            with np.errstate(over="ignore", invalid="ignore"):
                result = run(*args, **kwargs)
        except np.linalg.LinAlgError as exc:
            raise _diverged(est, f"the prox failed: {exc}") from exc
        except (ValueError, RuntimeWarning, FloatingPointError) as exc:
            words = ("NaN or inf",) if isinstance(exc, ValueError) else ("overflow",)
            if not any(word in str(exc) for word in words):
                raise
            raise _diverged(est, "the iterates overflowed") from exc
        finite = _finite_checks(result)
        W_ok = all(
            np.isfinite(np.asarray(A, dtype=np.float64)).all()
            for A in (result.W, result.b)
            if A is not None
        )
        if not (finite.all() and W_ok):
            if finite.all():
                raise _diverged(est, "the final model is non-finite")
            # The history is recorded at checks, not at every epoch: say when
            # in task updates, which every row carries.
            first = int(np.argmin(finite))
            updates = int(result.history["n_updates"][first])
            raise _diverged(
                est, f"the model became non-finite within {updates} task updates"
            )
        if getattr(result, "stop_reason", None) == "diverged":
            # Finite but so large that the norm of V overflowed.
            raise _diverged(est, "the norm of the iterates overflowed")
        return result

    return guarded


def _finite_checks(result):
    """Per history row, whether the run was finite at that check.

    The engine records it at every check (``info['history_finite']``); the
    objectives alone cannot tell, as the rows whose model snapshot was thinned
    away to bound memory carry a NaN objective (a long converging run was
    reported as diverged at its second check).
    """
    info = getattr(result, "info", None) or {}
    flags = info.get("history_finite")
    if flags is not None:
        return np.asarray(flags, dtype=bool)
    return np.isfinite(np.asarray(result.history["objective"], dtype=np.float64))


def _diverged(est, what):
    params = ", ".join(
        f"{name}={_plain(getattr(est, name))!r}"
        for name in ("step_size", "relaxation", "max_staleness", "splitting")
    )
    return ValueError(
        f"{type(est).__name__}: the AMTL iteration diverged ({what}) "
        f"with {params}. Use a smaller step_size (step_size='auto' is 1/L), "
        "relaxation='auto' or 'arock' (the guaranteed bound), a smaller "
        "max_staleness, or splitting='douglas-rachford'; standardizing the "
        "features also helps."
    )

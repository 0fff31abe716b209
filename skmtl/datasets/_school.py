"""The School data set (139 London schools as regression tasks) and its splits."""

import os
from numbers import Integral

import numpy as np
from scipy.io import loadmat
from sklearn.utils._param_validation import Interval, validate_params

from ._fetch import _LOADER_CONSTRAINTS, _cells, _fetch, _long_format, _result

__all__ = ["load_school", "load_school_splits"]

# -- School ----------------------------------------------------------------------

_SCHOOL_FEATURES = [
    "year_1",
    "year_2",
    "year_3",
    "pct_free_meals",
    "pct_vr_band_1",
    "gender_1",
    "gender_2",
    "vr_band_1",
    "vr_band_2",
    "vr_band_3",
    *[f"ethnic_group_{k}" for k in range(1, 12)],
    "school_gender_1",
    "school_gender_2",
    "school_gender_3",
    "school_denomination_1",
    "school_denomination_2",
    "school_denomination_3",
]

_SCHOOL_DESCR = """\
.. _school_dataset:

School (ILEA exam scores)
-------------------------

Exam scores (1 to 70) of 15,362 students from 139 secondary schools in London
(Inner London Education Authority, 1985-1987).  Each school is a task (labels
1 to 139, in the order of the source), with 22 to 251 students (median 103).

**Features (27).**  The binary coding of Evgeniou, Micchelli & Pontil (2005)
and Argyriou, Evgeniou & Pontil (2008): 3 year dummies, the percentage of
students eligible for free school meals, the percentage in verbal-reasoning
(VR) band one, 2 gender dummies, 3 VR-band dummies (all zero when the band is
missing), 11 ethnic-group dummies, 3 school-gender and 3 school-denomination
dummies.  The category names are not in the file, so the columns are
numbered.  The school-level columns are constant within a task.

**Preparation.**  The source matrix has 28 columns.  The last one is a
constant bias of ones and is **dropped** here (fit an intercept instead).  Rows
are in the source order, task after task.  :func:`load_school_splits` gives
the 10 standard 75/25 train/test splits as indices into these rows.

**Source.**  ``data/school.mat`` of MALSAR 1.1 (Zhou, Chen & Ye, 2011),
https://github.com/jiayuzhou/MALSAR.  The usual measure is the explained
variance on the test rows (:func:`skmtl.metrics.multitask_explained_variance`).
Check the terms of the source before you redistribute the data.
"""


@validate_params(_LOADER_CONSTRAINTS, prefer_skip_nested_validation=True)
def load_school(
    *,
    path=None,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
):
    """Load the School data set (139 schools as tasks, regression).

    The exam scores of 15,362 London students, one task per school, with 27
    features (the constant bias column of the source is dropped).  The file is
    downloaded from MALSAR's repository on first use, then read from the cache.

    =================   ==================
    Tasks               139
    Samples per task    22 - 251
    Samples total       15362
    Features            27 (+ task column)
    Target              exam score, 1 - 70
    =================   ==================

    Parameters
    ----------
    path : str or path-like, default=None
        A local copy of ``school.mat``, or a folder that holds it (directly
        or in a ``school_malsar/`` or ``school/`` sub-folder).  It is read as
        is, without network and without creating any folder.
    data_home : str or path-like, default=None
        The data folder, looked up (in its cache or shared-data layout)
        before downloading; None means ``$SKMTL_DATA`` or ``~/skmtl_data``
        (see :func:`get_data_home`).  Nothing is created unless a download
        is needed.
    download_if_missing : bool, default=True
        Download the file when it is not in the cache; if False, raise an
        ``OSError`` instead.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a DataFrame (with an int task column) and
        ``target`` as a Series, and fill ``frame``.  Needs pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : {ndarray, DataFrame} of shape (15362, 28)
            The 27 features, then the task label (1 to 139) as the last
            column ``'task'``: long format, use ``task_column=-1``.
        target : {ndarray, Series} of shape (15362,)
            The exam scores (float).
        tasks : ndarray of int of shape (15362,)
            The task label of every row (for example as ``groups``).
        feature_names : list of str
            The column names of ``data``; the last is ``'task'``.
        target_names : list of str
            ``['exam_score']``.
        frame : DataFrame or None
            With ``as_frame=True``, ``data`` and ``target`` in one DataFrame.
        DESCR : str
            Description of the data set and of how it was prepared.

    (data, target) : tuple if ``return_X_y`` is True
        The long-format ``X`` and ``y``.

    Raises
    ------
    OSError
        If the file cannot be downloaded, its SHA-256 checksum is wrong, or
        the data folder cannot be written to.
    FileNotFoundError
        If ``path`` does not name the file or a folder that holds it.

    See Also
    --------
    load_school_splits : The 10 standard 75/25 train/test splits.

    Examples
    --------
    >>> from skmtl.datasets import load_school
    >>> school = load_school()  # doctest: +SKIP
    >>> school.data.shape  # doctest: +SKIP
    (15362, 28)
    >>> len(set(school.tasks))  # doctest: +SKIP
    139
    """
    m = loadmat(_fetch("school", data_home, download_if_missing, path))
    Xs = [X[:, :-1] for X in _cells(m["X"])]  # drop the constant bias column
    ys = [y.astype(np.float64) for y in _cells(m["Y"])]
    X, y, tasks = _long_format(Xs, ys, np.arange(1, len(Xs) + 1))
    return _result(
        "load_school",
        X,
        y,
        tasks,
        _SCHOOL_FEATURES,
        "exam_score",
        _SCHOOL_DESCR,
        (return_X_y, as_frame),
    )


@validate_params(
    {
        "split": [Interval(Integral, 1, 10, closed="both"), None],
        "path": [str, os.PathLike, None],
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_school_splits(split, *, path=None, data_home=None, download_if_missing=True):
    """The standard 75/25 train/test splits of the School data set.

    The 10 random splits of Argyriou, Evgeniou & Pontil (2007, 2008), used for
    the published "explained variance" results: each task has 72 to 75 % of
    its rows in the training set.  The indices are 0-based rows of
    :func:`load_school`.  The split files come with their own copy of the data,
    and this function checks that it holds the same rows in the same order.

    Parameters
    ----------
    split : int in 1..10 or None
        The split to return.  None returns all ten, which can be passed as
        ``cv=`` to ``cross_val_score`` or ``GridSearchCV``.
    path : str or path-like, default=None
        A local folder holding ``school.mat``, ``school_b.mat`` and the
        ``school_<k>_indexes.mat`` files, directly or in skmtl's shared data
        layout (``school_malsar/``, ``school_argyriou/``).  They are read as
        is, without network; the data folder is not used.
    data_home : str or path-like, default=None
        The data folder, looked up (in its cache or shared-data layout)
        before downloading; None means ``$SKMTL_DATA`` or ``~/skmtl_data``.
    download_if_missing : bool, default=True
        Download the files when they are not in the cache; if False, raise an
        ``OSError`` instead.

    Returns
    -------
    train, test : ndarray of int
        Sorted row indices of the training (11,472) and test (3,890) sets.
        With ``split=None``, a list of ten ``(train, test)`` tuples.

    Raises
    ------
    OSError
        If a file cannot be downloaded, or its SHA-256 checksum is wrong.
    FileNotFoundError
        If ``path`` is not a folder that holds the files.
    ValueError
        If the rows of the split files are not those of :func:`load_school`.

    Examples
    --------
    >>> from skmtl.datasets import load_school, load_school_splits
    >>> X, y = load_school(return_X_y=True)  # doctest: +SKIP
    >>> train, test = load_school_splits(1)  # doctest: +SKIP
    >>> len(train), len(test)  # doctest: +SKIP
    (11472, 3890)
    """
    if path is not None and not os.path.isdir(os.path.expanduser(os.fspath(path))):
        raise FileNotFoundError(
            f"path={os.fspath(path)!r} is not a folder: load_school_splits reads "
            "several files, so name the folder that holds them."
        )
    options = (data_home, download_if_missing, path)
    school = loadmat(_fetch("school", *options))
    X = np.concatenate(_cells(school["X"]))
    ys = _cells(school["Y"])
    y = np.concatenate(ys).ravel()
    starts = np.cumsum([0, *(len(t) for t in ys)])[:-1] + 1  # 1-based
    b = loadmat(_fetch("school_b", *options))
    if not (
        np.array_equal(b["x"].T, X)
        and np.array_equal(b["y"].ravel(), y)
        and np.array_equal(b["task_indexes"].ravel(), starts)
    ):
        raise ValueError(
            "The rows of school_b.mat (the data of the splits) are not the rows "
            "of school.mat in the same order, so the split indices do not apply "
            "to load_school."
        )
    splits = []
    for k in range(1, 11) if split is None else [split]:
        m = loadmat(_fetch(f"school_split_{k}", *options))
        # MATLAB's 1-based indices into school_b's rows (= school.mat's rows).
        train = np.sort(m["tr"].ravel().astype(np.int64) - 1)
        test = np.sort(m["tst"].ravel().astype(np.int64) - 1)
        splits.append((train, test))
    return splits if split is None else splits[0]

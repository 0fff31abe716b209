"""Loaders for the classic multi-task benchmarks, downloaded once and cached.

Each loader fetches the original public file (a raw GitHub URL, pinned to a
commit where one is known), checks its SHA-256 checksum, stores it under
:func:`get_data_home` and returns the data in long format: ``X`` holds the
features and, last, the task column ``'task'``; ``y`` is 1-D.  The files are
never shipped with skmtl.

A download goes to a temporary file in the cache folder, which is checked and
only then renamed into place, so an interrupted or corrupted download never
leaves a file that looks valid.  A cached file is checked again at every load
(hashing a megabyte costs milliseconds).
"""

import hashlib
import http.client
import os
import shutil
import tempfile
import warnings
from collections import namedtuple
from numbers import Integral
from pathlib import Path
from urllib.request import urlopen

import numpy as np
from scipy.io import loadmat
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = [
    "clear_data_home",
    "get_data_home",
    "load_computer_survey",
    "load_landmine",
    "load_parkinsons",
    "load_school",
    "load_school_splits",
]

# -- where the files come from ---------------------------------------------------

_RemoteFile = namedtuple("_RemoteFile", ["folder", "filename", "urls", "sha256"])
_RemoteFile.__doc__ = """A file of the cache: its sub-folder, name, mirrors and digest.

The URLs are tried in order; the first one whose content has the right SHA-256
checksum wins.  A URL pinned to a commit comes first (its content cannot
change), then the branch URL.
"""

_RAW = "https://raw.githubusercontent.com"
_MALSAR = (
    f"{_RAW}/jiayuzhou/MALSAR/ca3d55b878cc4113f0d9603e8ac46538aeb1ecd9",
    f"{_RAW}/jiayuzhou/MALSAR/master",
)
_PYMTL = (
    f"{_RAW}/tjanez/PyMTL/970607e070b2a0d616d6c6248e6485b99cbb0d8c",
    f"{_RAW}/tjanez/PyMTL/master",
)
_LANDMINE = (
    f"{_RAW}/daizhongxiang/Federated_Bayesian_Optimization/"
    "9f46a1dfbbcfd5823e026ad9418a4cb881676ae9",
    f"{_RAW}/daizhongxiang/Federated_Bayesian_Optimization/master",
)
_PARKINSONS = (
    f"{_RAW}/behnazrzf/Parkinson-s_Telemonitoring/main",
    f"{_RAW}/behnazrzf/Parkinson-s_Telemonitoring/master",
)


def _remote(folder, filename, roots, path, sha256):
    return _RemoteFile(folder, filename, tuple(f"{r}/{path}" for r in roots), sha256)


_SCHOOL_SPLIT_SHA256 = {
    1: "030c9ca0a73d6264aa1eeac49aba1d760a1b5692cd3124667e74a7a2b7751bc5",
    2: "63d3a076a4cdd3de81825d3cf0c030b93bdc60e912eaed4763ee224efab163f8",
    3: "f7f68e3adb50db8094e230c2b83d548790379cd93ad98fadb35ff2999762dbe6",
    4: "02643928224056a61e25dec8d4841dba5195ed9affdc76fdc697854a2506d142",
    5: "6ed00a453d582dce4397f6f49120cff803c22f53cfb2dd63a3826c359c24bcdf",
    6: "ca853babe5b7f0f5812e7f4261f8b5e5728f1b3b06711e56a76b27b7f959f379",
    7: "b72105509c70f94f48c7c8b0e1359c6c0ea630c7ac588337b412f946ede62283",
    8: "8ad60073b135220f1a6f49fdd79b4430b6a0c8ce9925a22dcc5a09141f5b1c04",
    9: "0de74247d93c413b690ebb65e2e7beb1c55f05b2a2d5db46469e673a552cccf2",
    10: "b408742eab66cd124563493057b080fd39e5075f48b4c391c53e5f6a1a4c8df1",
}

_REMOTE_FILES = {
    "school": _remote(
        "school",
        "school.mat",
        _MALSAR,
        "data/school.mat",
        "57fb3238fdd03a9aa17276e2ce18d9bbb5d128c3261e794fe6233b58b6909068",
    ),
    "school_b": _remote(
        "school",
        "school_b.mat",
        _PYMTL,
        "data/school/school_b.mat",
        "973f1ca99d0d41a838ec6ae86001a48e7b69391eb74646b9e4fc54f62866a146",
    ),
    **{
        f"school_split_{k}": _remote(
            "school",
            f"school_{k}_indexes.mat",
            _PYMTL,
            f"data/school/school_{k}_indexes.mat",
            sha,
        )
        for k, sha in _SCHOOL_SPLIT_SHA256.items()
    },
    "landmine": _remote(
        "landmine",
        "LandmineData.mat",
        _LANDMINE,
        "LandmineData.mat",
        "2163ab20a80e33a8b65593c48cf283c540599dcb291105e63fa4af2ce24c2bea",
    ),
    # Not in our snapshot of PyMTL's pinned commit: the branch only.
    "computer_survey": _remote(
        "computer_survey",
        "conjointAnalysisComputerBuyers.mat",
        (f"{_RAW}/tjanez/PyMTL/master",),
        "data/computer_survey/conjointAnalysisComputerBuyers.mat",
        "6e6b5f98f438c7d15ed6c7adab44322c9345f52263a4f3026322019f184679b5",
    ),
    "parkinsons": _remote(
        "parkinsons",
        "parkinsons_updrs.data",
        _PARKINSONS,
        "data/parkinsons_updrs.data",
        "f2c7d5025dec4e92e7feae367a5f7ccf58789a10ac6b54bdf15976c599f9dd39",
    ),
}

_TIMEOUT = 60  # seconds without data before a download is given up
_CHUNK = 1 << 16

# -- the cache folder ------------------------------------------------------------


@validate_params(
    {"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True
)
def get_data_home(data_home=None):
    """Return the path of the skmtl data folder, creating it if needed.

    The loaders keep downloaded files there so that each is fetched once.  By
    default it is ``~/skmtl_data``; the ``SKMTL_DATA`` environment variable or
    the ``data_home`` argument choose another folder.  ``~`` is expanded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use; None means ``$SKMTL_DATA`` or ``~/skmtl_data``.

    Returns
    -------
    data_home : str
        The path of the (existing) data folder.

    See Also
    --------
    clear_data_home : Delete the data folder and everything in it.

    Examples
    --------
    >>> import os, tempfile
    >>> from skmtl.datasets import get_data_home
    >>> folder = get_data_home(os.path.join(tempfile.mkdtemp(), "skmtl_data"))
    >>> os.path.isdir(folder)
    True
    """
    if data_home is None:
        data_home = os.environ.get("SKMTL_DATA", os.path.join("~", "skmtl_data"))
    data_home = os.path.expanduser(os.fspath(data_home))
    os.makedirs(data_home, exist_ok=True)
    return data_home


@validate_params(
    {"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True
)
def clear_data_home(data_home=None):
    """Delete the skmtl data folder and all the files cached in it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to delete; None means ``$SKMTL_DATA`` or ``~/skmtl_data``.

    Examples
    --------
    >>> import os, tempfile
    >>> from skmtl.datasets import clear_data_home, get_data_home
    >>> folder = get_data_home(os.path.join(tempfile.mkdtemp(), "skmtl_data"))
    >>> clear_data_home(folder)
    >>> os.path.exists(folder)
    False
    """
    shutil.rmtree(get_data_home(data_home))


# -- fetching with checksums -------------------------------------------------------


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url, folder, filename):
    """Stream ``url`` into a temporary file of ``folder``; return (path, sha256)."""
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.part-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, urlopen(url, timeout=_TIMEOUT) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.remove(tmp)
        raise
    return tmp, digest.hexdigest()


def _fetch(key, data_home, download_if_missing):
    """Path of the checked cached file ``key``, downloading it when needed."""
    remote = _REMOTE_FILES[key]
    folder = Path(get_data_home(data_home)) / remote.folder
    path = folder / remote.filename
    manual = (
        f"You can download {remote.filename} from {remote.urls[-1]} yourself and "
        f"put it at {path} (SHA-256 {remote.sha256})."
    )
    if path.exists():
        digest = _sha256(path)
        if digest == remote.sha256:
            return path
        problem = (
            f"The cached file {path} has SHA-256 {digest} instead of "
            f"{remote.sha256}: it is corrupted or not the original file."
        )
        if not download_if_missing:
            raise OSError(f"{problem} Delete it, or set download_if_missing=True.")
        warnings.warn(f"{problem} Downloading it again.", UserWarning, stacklevel=3)
    elif not download_if_missing:
        raise OSError(
            f"{remote.filename} is not in the data folder {folder} and "
            f"download_if_missing=False. {manual}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    failures, mismatches = [], []
    for url in remote.urls:
        try:
            tmp, digest = _download(url, folder, remote.filename)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError, HTTPError, timeouts and refused connections are OSErrors.
            failures.append((url, exc))
            continue
        if digest != remote.sha256:
            os.remove(tmp)
            mismatches.append((url, digest))
            continue
        os.replace(tmp, path)
        return path
    if mismatches:
        got = "; ".join(f"{url} gave {digest}" for url, digest in mismatches)
        raise OSError(
            f"SHA-256 checksum mismatch for {remote.filename}: expected "
            f"{remote.sha256}, but {got}. The remote file has changed or the "
            f"download was corrupted; nothing was saved. {manual}"
        )
    reasons = "; ".join(f"{url}: {exc}" for url, exc in failures)
    raise OSError(
        f"Could not download {remote.filename}: {reasons}. Check your internet "
        f"connection (are you offline?). {manual}"
    ) from failures[-1][1]


def _cells(cell):
    """The matrices of a 1 x T MATLAB cell array, in order."""
    return [np.asarray(c) for c in cell.ravel()]


# -- the Bunch -----------------------------------------------------------------------


def _long_format(Xs, ys, labels):
    """Stack per-task blocks; return X (features), y and every row's label."""
    X = np.concatenate([np.asarray(X, dtype=np.float64) for X in Xs])
    y = np.concatenate([np.ravel(y) for y in ys])
    tasks = np.repeat(np.asarray(labels, dtype=np.int64), [len(y) for y in ys])
    return X, y, tasks


def _result(caller, X, y, tasks, feature_names, target_name, descr, options, **extra):
    """The loader's answer: a Bunch, or (data, target) with return_X_y."""
    return_X_y, as_frame = options
    columns = [*feature_names, "task"]
    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(f"{caller} with as_frame=True needs pandas.") from exc
        frame = pd.DataFrame(X, columns=list(feature_names))
        frame["task"] = tasks
        frame[target_name] = y
        data, target = frame[columns], frame[target_name]
    else:
        data, target = np.column_stack([X, tasks.astype(np.float64)]), y
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        tasks=tasks,
        frame=frame,
        feature_names=columns,
        target_names=[target_name],
        DESCR=descr,
        **extra,
    )


_LOADER_CONSTRAINTS = {
    "data_home": [str, os.PathLike, None],
    "download_if_missing": ["boolean"],
    "return_X_y": ["boolean"],
    "as_frame": ["boolean"],
}

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
    *, data_home=None, download_if_missing=True, return_X_y=False, as_frame=False
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
    data_home : str or path-like, default=None
        The cache folder; None means :func:`get_data_home`'s default.
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
        If the file cannot be downloaded, or its SHA-256 checksum is wrong.

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
    m = loadmat(_fetch("school", data_home, download_if_missing))
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
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_school_splits(split, *, data_home=None, download_if_missing=True):
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
    data_home : str or path-like, default=None
        The cache folder; None means :func:`get_data_home`'s default.
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
    school = loadmat(_fetch("school", data_home, download_if_missing))
    X = np.concatenate(_cells(school["X"]))
    ys = _cells(school["Y"])
    y = np.concatenate(ys).ravel()
    starts = np.cumsum([0, *(len(t) for t in ys)])[:-1] + 1  # 1-based
    b = loadmat(_fetch("school_b", data_home, download_if_missing))
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
        m = loadmat(_fetch(f"school_split_{k}", data_home, download_if_missing))
        # MATLAB's 1-based indices into school_b's rows (= school.mat's rows).
        train = np.sort(m["tr"].ravel().astype(np.int64) - 1)
        test = np.sort(m["tst"].ravel().astype(np.int64) - 1)
        splits.append((train, test))
    return splits if split is None else splits[0]


# -- Landmine ------------------------------------------------------------------------

_LANDMINE_DESCR = """\
.. _landmine_dataset:

Landmine detection
------------------

Radar data of 29 mine fields (Xue, Liao, Carin & Krishnapuram, JMLR 2007).
Each field is a binary classification task (labels 1 to 29, in the order of
the source): is there a mine (1) or clutter (0) at this location?  Tasks 1-15
come from highly foliated regions, tasks 16-29 from bare earth or desert.
Many papers use the 19 tasks 1-10 and 16-24.

**Features (9).**  Radar features, unscaled, as in the source.

**Target.**  1 = mine, 0 = clutter.  Only 2.9 to 9.4 % of the rows of a task
are mines, so report the area under the ROC curve
(:func:`skmtl.metrics.macro_roc_auc_score`), not accuracy.

**Source.**  ``LandmineData.mat``, the original 2006 file, as redistributed in
https://github.com/daizhongxiang/Federated_Bayesian_Optimization.  Check the
terms of the source before you redistribute the data.
"""


@validate_params(_LOADER_CONSTRAINTS, prefer_skip_nested_validation=True)
def load_landmine(
    *, data_home=None, download_if_missing=True, return_X_y=False, as_frame=False
):
    """Load the Landmine data set (29 mine fields as tasks, classification).

    =================   ===============================
    Tasks               29
    Samples per task    445 - 690
    Samples total       14820
    Features            9 (+ task column)
    Target              1 = mine (2.9 - 9.4 %), 0 = clutter
    =================   ===============================

    Parameters
    ----------
    data_home : str or path-like, default=None
        The cache folder; None means :func:`get_data_home`'s default.
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

        data : {ndarray, DataFrame} of shape (14820, 10)
            The 9 features, then the task label (1 to 29) as the last column
            ``'task'``: long format, use ``task_column=-1``.
        target : {ndarray, Series} of shape (14820,)
            The labels, int in {0, 1} (1 = mine).
        tasks : ndarray of int of shape (14820,)
            The task label of every row (for example as ``groups``).
        feature_names : list of str
            The column names of ``data``; the last is ``'task'``.
        target_names : list of str
            ``['mine']``.
        frame : DataFrame or None
            With ``as_frame=True``, ``data`` and ``target`` in one DataFrame.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The long-format ``X`` and ``y``.

    Raises
    ------
    OSError
        If the file cannot be downloaded, or its SHA-256 checksum is wrong.

    Examples
    --------
    >>> from skmtl.datasets import load_landmine
    >>> X, y = load_landmine(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, sorted(set(y.tolist()))  # doctest: +SKIP
    ((14820, 10), [0, 1])
    """
    m = loadmat(_fetch("landmine", data_home, download_if_missing))
    Xs = _cells(m["feature"])
    ys = [y.astype(np.int64) for y in _cells(m["label"])]
    X, y, tasks = _long_format(Xs, ys, np.arange(1, len(Xs) + 1))
    names = [f"feature_{k}" for k in range(1, X.shape[1] + 1)]
    return _result(
        "load_landmine",
        X,
        y,
        tasks,
        names,
        "mine",
        _LANDMINE_DESCR,
        (return_X_y, as_frame),
    )


# -- Computer survey ---------------------------------------------------------------

_COMPUTER_FEATURES = [
    "hot_line",
    "ram",
    "screen_size",
    "cpu_speed",
    "hard_disk",
    "cd_rom",
    "cache",
    "color",
    "availability",
    "warranty",
    "software",
    "guarantee",
    "price",
]

_COMPUTER_DESCR = """\
.. _computer_survey_dataset:

Computer survey (conjoint analysis)
-----------------------------------

The MBA computer survey of Lenk, DeSarbo, Green & Young (Marketing Science,
1996): 190 respondents each rated how likely they were to buy 20 personal
computer profiles, on a 0-10 scale.  Each respondent is a task (labels 1 to
190, in the order of the source), and all tasks share the same 20 profiles.

**Features (13).**  The +1/-1 codes of the 13 binary attributes of a profile:
telephone hot line, RAM, screen size, CPU speed, hard disk, CD-ROM, cache,
colour, availability, warranty, software, money-back guarantee and price.

**Preparation.**  The source design matrix has 14 columns.  Its first column is
the constant intercept and is **dropped** here (fit an intercept instead).
Profiles 1-16 are the "calibration" profiles and 17-20 the "validation"
(hold-out) ones; ``holdout`` marks the rows of the latter.  Papers use 180
respondents.  This copy has 190, and it is not known which 10 they dropped.

**Source.**  ``conjointAnalysisComputerBuyers.mat`` (``designMarix`` and
``likeBuy``), https://github.com/tjanez/PyMTL.  Check the terms of the source
before you redistribute the data.
"""


@validate_params(_LOADER_CONSTRAINTS, prefer_skip_nested_validation=True)
def load_computer_survey(
    *, data_home=None, download_if_missing=True, return_X_y=False, as_frame=False
):
    """Load the computer survey data set (190 respondents as tasks, regression).

    =================   =========================
    Tasks               190
    Samples per task    20 (the same 20 profiles)
    Samples total       3800
    Features            13 (+ task column)
    Target              likelihood to buy, 0 - 10
    =================   =========================

    Parameters
    ----------
    data_home : str or path-like, default=None
        The cache folder; None means :func:`get_data_home`'s default.
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

        data : {ndarray, DataFrame} of shape (3800, 14)
            The 13 attribute codes, then the task label (1 to 190) as the last
            column ``'task'``: long format, use ``task_column=-1``.
        target : {ndarray, Series} of shape (3800,)
            The ratings (float, 0 to 10).
        tasks : ndarray of int of shape (3800,)
            The task label of every row (for example as ``groups``).
        profile : ndarray of int of shape (3800,)
            The profile (1 to 20) of every row.
        holdout : ndarray of bool of shape (3800,)
            True for the rows of the 4 "validation" profiles (17 to 20).
        feature_names : list of str
            The column names of ``data``; the last is ``'task'``.
        target_names : list of str
            ``['likelihood_to_buy']``.
        frame : DataFrame or None
            With ``as_frame=True``, ``data`` and ``target`` in one DataFrame.
        DESCR : str
            Description of the data set and of how it was prepared.

    (data, target) : tuple if ``return_X_y`` is True
        The long-format ``X`` and ``y``.

    Raises
    ------
    OSError
        If the file cannot be downloaded, or its SHA-256 checksum is wrong.

    Examples
    --------
    >>> from skmtl.datasets import load_computer_survey
    >>> survey = load_computer_survey()  # doctest: +SKIP
    >>> survey.data.shape, int(survey.holdout.sum())  # doctest: +SKIP
    ((3800, 14), 760)
    """
    m = loadmat(_fetch("computer_survey", data_home, download_if_missing))
    design = np.asarray(m["designMarix"], dtype=np.float64)[:, 1:]  # no intercept
    ratings = np.asarray(m["likeBuy"], dtype=np.float64)
    n_tasks, n_profiles = ratings.shape
    X, y, tasks = _long_format(
        [design] * n_tasks, list(ratings), np.arange(1, n_tasks + 1)
    )
    profile = np.tile(np.arange(1, n_profiles + 1), n_tasks)
    return _result(
        "load_computer_survey",
        X,
        y,
        tasks,
        _COMPUTER_FEATURES,
        "likelihood_to_buy",
        _COMPUTER_DESCR,
        (return_X_y, as_frame),
        profile=profile,
        holdout=profile > 16,
    )


# -- Parkinson's telemonitoring --------------------------------------------------

_PARKINSONS_VOICE = [
    "Jitter(%)",
    "Jitter(Abs)",
    "Jitter:RAP",
    "Jitter:PPQ5",
    "Jitter:DDP",
    "Shimmer",
    "Shimmer(dB)",
    "Shimmer:APQ3",
    "Shimmer:APQ5",
    "Shimmer:APQ11",
    "Shimmer:DDA",
    "NHR",
    "HNR",
    "RPDE",
    "DFA",
    "PPE",
]
_PARKINSONS_EXTRA = ["age", "sex", "test_time"]

_PARKINSONS_DESCR = """\
.. _parkinsons_dataset:

Parkinson's telemonitoring
--------------------------

5,875 voice recordings of 42 people with early-stage Parkinson's disease in a
six-month trial (Tsanas, Little, McSharry & Ramig, IEEE TBME 2010; the UCI
"Parkinsons Telemonitoring" data).  Each subject is a task (labels 1 to 42,
the ``subject#`` column), with 101 to 168 recordings.

**Features (16, or 19).**  The 16 voice measures (jitter, shimmer, NHR, HNR,
RPDE, DFA and PPE), unscaled.  With ``extra_features=True`` the subject's age,
sex (0 male, 1 female) and the recording's ``test_time`` (days since
recruitment) follow them; age and sex are constant within a task.

**Target.**  ``motor_UPDRS`` (default) or ``total_UPDRS``: the clinician's
score, linearly interpolated between visits.

**Source.**  ``data/parkinsons_updrs.data`` of
https://github.com/behnazrzf/Parkinson-s_Telemonitoring, a copy of the UCI
file with the ``Jitter(Abs)`` exponents intact.  Check the terms of the source
before you redistribute the data.
"""


@validate_params(
    {
        "target": [StrOptions({"motor_UPDRS", "total_UPDRS"})],
        "extra_features": ["boolean"],
        **_LOADER_CONSTRAINTS,
    },
    prefer_skip_nested_validation=True,
)
def load_parkinsons(
    *,
    target="motor_UPDRS",
    extra_features=False,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
):
    """Load the Parkinson's telemonitoring data set (42 subjects as tasks).

    =================   ==========================================
    Tasks               42
    Samples per task    101 - 168
    Samples total       5875
    Features            16 voice measures, 19 with ``extra_features``
    Target              motor_UPDRS or total_UPDRS
    =================   ==========================================

    Parameters
    ----------
    target : {'motor_UPDRS', 'total_UPDRS'}, default='motor_UPDRS'
        The score to predict.
    extra_features : bool, default=False
        Append the subject's age and sex and the recording's ``test_time`` to
        the 16 voice measures.
    data_home : str or path-like, default=None
        The cache folder; None means :func:`get_data_home`'s default.
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

        data : {ndarray, DataFrame} of shape (5875, 17) or (5875, 20)
            The features, then the task label (the subject, 1 to 42) as the
            last column ``'task'``: long format, use ``task_column=-1``.
        target : {ndarray, Series} of shape (5875,)
            The chosen UPDRS score (float).
        tasks : ndarray of int of shape (5875,)
            The task label of every row (for example as ``groups``).
        feature_names : list of str
            The column names of ``data``; the last is ``'task'``.
        target_names : list of str
            ``[target]``.
        frame : DataFrame or None
            With ``as_frame=True``, ``data`` and ``target`` in one DataFrame.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The long-format ``X`` and ``y``.

    Raises
    ------
    OSError
        If the file cannot be downloaded, or its SHA-256 checksum is wrong.

    Examples
    --------
    >>> from skmtl.datasets import load_parkinsons
    >>> X, y = load_parkinsons(target="total_UPDRS", return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (5875, 17)
    """
    path = _fetch("parkinsons", data_home, download_if_missing)
    with open(path, encoding="ascii") as f:
        header = f.readline().strip().split(",")
        values = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    column = {name: k for k, name in enumerate(header)}
    names = _PARKINSONS_VOICE + (_PARKINSONS_EXTRA if extra_features else [])
    X = values[:, [column[name] for name in names]]
    y = values[:, column[target]]
    tasks = values[:, column["subject#"]].astype(np.int64)
    return _result(
        "load_parkinsons",
        X,
        y,
        tasks,
        names,
        target,
        _PARKINSONS_DESCR,
        (return_X_y, as_frame),
    )

"""Loaders for the classic multi-task benchmarks, read locally or downloaded once.

Each loader reads the original public file from a local copy (``path=``, or
the data folder of :func:`get_data_home`: ``SKMTL_DATA`` may name a folder laid
out like skmtl's shared data, e.g. ``school_malsar/school.mat``), or else
fetches it (a raw GitHub URL, pinned to a commit where one is known), checks
its SHA-256 checksum, caches it under :func:`get_data_home` and returns the
data in long format: ``X`` holds the features and, last, the task column
``'task'``; ``y`` is 1-D.  The files are never shipped with skmtl.

This module holds Landmine, the computer survey and Parkinson's; School is in
``_school.py``, finding and downloading files in ``_fetch.py`` and the data
folder in ``_home.py``.
"""

import numpy as np
from scipy.io import loadmat
from sklearn.utils._param_validation import StrOptions, validate_params

from ._fetch import (  # noqa: F401  (_REMOTE_FILES: for tests that patch it)
    _LOADER_CONSTRAINTS,
    _REMOTE_FILES,
    _cells,
    _fetch,
    _long_format,
    _result,
)
from ._home import clear_data_home, get_data_home
from ._school import load_school, load_school_splits

__all__ = [
    "clear_data_home",
    "get_data_home",
    "load_computer_survey",
    "load_landmine",
    "load_parkinsons",
    "load_school",
    "load_school_splits",
]


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
    *,
    path=None,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
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
    path : str or path-like, default=None
        A local copy of ``LandmineData.mat``, or a folder that holds it
        (directly or in a ``landmine/`` sub-folder).  It is read as is,
        without network and without creating any folder.
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
        If the file cannot be downloaded, its SHA-256 checksum is wrong, or
        the data folder cannot be written to.
    FileNotFoundError
        If ``path`` does not name the file or a folder that holds it.

    Examples
    --------
    >>> from skmtl.datasets import load_landmine
    >>> X, y = load_landmine(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, sorted(set(y.tolist()))  # doctest: +SKIP
    ((14820, 10), [0, 1])
    """
    m = loadmat(_fetch("landmine", data_home, download_if_missing, path))
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
    *,
    path=None,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
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
    path : str or path-like, default=None
        A local copy of ``conjointAnalysisComputerBuyers.mat``, or a folder
        that holds it (directly or in a ``computer_survey/`` sub-folder).  It
        is read as is, without network and without creating any folder.
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
        If the file cannot be downloaded, its SHA-256 checksum is wrong, or
        the data folder cannot be written to.
    FileNotFoundError
        If ``path`` does not name the file or a folder that holds it.

    Examples
    --------
    >>> from skmtl.datasets import load_computer_survey
    >>> survey = load_computer_survey()  # doctest: +SKIP
    >>> survey.data.shape, int(survey.holdout.sum())  # doctest: +SKIP
    ((3800, 14), 760)
    """
    m = loadmat(_fetch("computer_survey", data_home, download_if_missing, path))
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
    path=None,
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
    path : str or path-like, default=None
        A local copy of ``parkinsons_updrs.data``, or a folder that holds it
        (directly or in a ``parkinsons/`` sub-folder).  It is read as is,
        without network and without creating any folder.
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
        If the file cannot be downloaded, its SHA-256 checksum is wrong, or
        the data folder cannot be written to.
    FileNotFoundError
        If ``path`` does not name the file or a folder that holds it.

    Examples
    --------
    >>> from skmtl.datasets import load_parkinsons
    >>> X, y = load_parkinsons(target="total_UPDRS", return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (5875, 17)
    """
    source = _fetch("parkinsons", data_home, download_if_missing, path)
    with open(source, encoding="ascii") as f:
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

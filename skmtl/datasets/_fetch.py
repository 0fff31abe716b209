"""Where the benchmark files come from, and how a loader finds or fetches one.

A file is read, in this order, from the ``path=`` the caller names (a file or
a folder), else from the data folder (:func:`~skmtl.datasets.get_data_home`):
its cache layout (``school/school.mat``) or skmtl's shared data layout
(``school_malsar/school.mat``); only when neither holds it is it downloaded.
Every file is checked against its SHA-256 checksum.

A download goes to a temporary file in the cache folder, which is checked and
only then renamed into place, so an interrupted or corrupted download never
leaves a file that looks valid.  A cached file is checked again at every load
(hashing a megabyte costs milliseconds).
"""

import hashlib
import http.client
import os
import tempfile
import warnings
from collections import namedtuple
from pathlib import Path
from urllib.request import urlopen

import numpy as np
from sklearn.utils import Bunch

from ._home import (
    MARKER,
    _data_home_path,
    _DataHomeError,
    _make_data_home,
    _unwritable,
)

# -- where the files come from ---------------------------------------------------

_RemoteFile = namedtuple(
    "_RemoteFile", ["folder", "filename", "urls", "sha256", "shared"]
)
_RemoteFile.__doc__ = """A file: cache sub-folder, name, mirrors, digest, shared folder.

The URLs are tried in order; the first one whose content has the right SHA-256
checksum wins.  A URL pinned to a commit comes first (its content cannot
change), then the branch URL.  ``shared`` is the sub-folder that holds the
file in skmtl's shared data layout (``school_malsar/school.mat``, ...), which
is also looked up in the data folder.
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


_SHARED_FOLDER = {
    "school.mat": "school_malsar",
    "LandmineData.mat": "landmine",
    "conjointAnalysisComputerBuyers.mat": "computer_survey",
    "parkinsons_updrs.data": "parkinsons",
}


def _remote(folder, filename, roots, path, sha256):
    urls = tuple(f"{r}/{path}" for r in roots)
    shared = _SHARED_FOLDER.get(filename, "school_argyriou")
    return _RemoteFile(folder, filename, urls, sha256, shared)


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

_TIMEOUT = 60  # seconds without data before a download is given up
_CHUNK = 1 << 16

# -- finding and fetching a file ---------------------------------------------------


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url, folder, filename):
    """Stream ``url`` into a temporary file of ``folder``; return (path, sha256)."""
    digest = hashlib.sha256()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.part-", dir=folder)
    except OSError as exc:
        raise _unwritable(folder, exc) from exc
    try:
        with os.fdopen(fd, "wb") as out, urlopen(url, timeout=_TIMEOUT) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.remove(tmp)
        raise
    return tmp, digest.hexdigest()


def _local_file(remote, path):
    """The caller's copy of ``remote`` named by ``path`` (a file or a folder)."""
    path = Path(os.path.expanduser(os.fspath(path)))
    if path.is_dir():
        places = [
            path / remote.filename,
            path / remote.shared / remote.filename,
            path / remote.folder / remote.filename,
        ]
        found = next((p for p in places if p.is_file()), None)
        if found is None:
            raise FileNotFoundError(
                f"path={str(path)!r} is a folder without {remote.filename}: looked "
                f"for {', '.join(str(p) for p in places)}."
            )
        path = found
    elif not path.is_file():
        raise FileNotFoundError(
            f"path={str(path)!r} does not exist: name a local copy of "
            f"{remote.filename} or the folder that holds it."
        )
    digest = _sha256(path)
    if digest != remote.sha256:
        warnings.warn(
            f"{path} has SHA-256 {digest} instead of {remote.sha256}: it is not "
            f"the original {remote.filename}. Reading it anyway.",
            UserWarning,
            stacklevel=4,
        )
    return path


def _fetch(key, data_home, download_if_missing, path=None):
    """Path of the checked file ``key``: local, cached, or downloaded."""
    remote = _REMOTE_FILES[key]
    if path is not None:
        return _local_file(remote, path)
    home = Path(_data_home_path(data_home))
    cached = home / remote.folder / remote.filename
    problems = []
    for place in (cached, home / remote.shared / remote.filename):
        if place.is_file():
            digest = _sha256(place)
            if digest == remote.sha256:
                return place
            problems.append(
                f"The file {place} has SHA-256 {digest} instead of {remote.sha256}: "
                "it is corrupted or not the original file."
            )
    manual = (
        f"You can download {remote.filename} from {remote.urls[-1]} yourself and "
        f"pass its path as path=, or put it at {cached} (SHA-256 {remote.sha256})."
    )
    if not download_if_missing:
        if problems:
            raise OSError(
                f"{' '.join(problems)} Delete it, or set download_if_missing=True."
            )
        where = "is not in" if home.is_dir() else "cannot be read: there is no"
        raise OSError(
            f"{remote.filename} {where} data folder {home} and "
            f"download_if_missing=False. {manual}"
        )
    if problems:
        warnings.warn(
            f"{' '.join(problems)} Downloading it again.", UserWarning, stacklevel=3
        )
    return _download_checked(remote, home, cached, manual)


def _download_checked(remote, home, cached, manual):
    """Download ``remote`` into ``cached``; remove the folders made if it fails."""
    made = [p for p in (home, cached.parent) if not p.is_dir()]
    _make_data_home(home)
    try:
        cached.parent.mkdir(exist_ok=True)
    except OSError as exc:
        raise _unwritable(cached.parent, exc) from exc
    try:
        return _download_first_good(remote, cached, manual)
    except BaseException:
        for folder in reversed(made):  # leave nothing behind a failed download
            (folder / MARKER).unlink(missing_ok=True)
            try:
                folder.rmdir()
            except OSError:
                pass
        raise


def _download_first_good(remote, cached, manual):
    """Try the mirrors in order; keep the first file with the right checksum."""
    failures, mismatches = [], []
    for url in remote.urls:
        try:
            tmp, digest = _download(url, cached.parent, remote.filename)
        except _DataHomeError:
            raise
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError, HTTPError, timeouts and refused connections are OSErrors.
            failures.append((url, exc))
            continue
        if digest != remote.sha256:
            os.remove(tmp)
            mismatches.append((url, digest))
            continue
        os.replace(tmp, cached)
        return cached
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
    "path": [str, os.PathLike, None],
    "data_home": [str, os.PathLike, None],
    "download_if_missing": ["boolean"],
    "return_X_y": ["boolean"],
    "as_frame": ["boolean"],
}

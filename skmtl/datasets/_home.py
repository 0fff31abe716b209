"""The skmtl data folder: where it is, creating it, and deleting it safely.

The folder is ``data_home`` when given, else ``$SKMTL_DATA``, else
``~/skmtl_data``.  The loaders only *read* it unless they download: looking a
file up never creates a folder.  When skmtl creates the folder it writes a
marker file in it (:data:`MARKER`), and :func:`clear_data_home` deletes only a
folder that holds one, so pointing ``SKMTL_DATA`` at a folder of your own can
never get it deleted.
"""

import os
import shutil

from sklearn.utils._param_validation import validate_params

__all__ = ["MARKER", "clear_data_home", "get_data_home"]

#: Name of the file skmtl writes in a data folder it creates.
MARKER = ".skmtl_data_home"

_MARKER_TEXT = (
    "This folder was created by skmtl to cache downloaded data sets.\n"
    "skmtl.datasets.clear_data_home() deletes it with everything in it.\n"
)


def _data_home_path(data_home=None):
    """The data folder's path (``~`` expanded), without creating anything."""
    if data_home is None:
        data_home = os.environ.get("SKMTL_DATA") or os.path.join("~", "skmtl_data")
    return os.path.expanduser(os.fspath(data_home))


class _DataHomeError(OSError):
    """The data folder cannot be created or written to."""


def _unwritable(path, exc):
    return _DataHomeError(
        f"The skmtl data folder {path} cannot be created or written to ({exc}). "
        "Choose a writable folder with data_home= or the SKMTL_DATA environment "
        "variable, or pass path= naming a local copy of the file."
    )


def _make_data_home(data_home=None):
    """Create the data folder if needed (with the marker); return its path."""
    path = _data_home_path(data_home)
    if os.path.isdir(path):
        return path
    if os.path.exists(path):
        raise NotADirectoryError(
            f"The skmtl data folder {path} exists but is not a folder. Choose "
            "another one with data_home= or the SKMTL_DATA environment variable."
        )
    try:
        os.makedirs(path)
        with open(os.path.join(path, MARKER), "w", encoding="ascii") as f:
            f.write(_MARKER_TEXT)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    return path


@validate_params(
    {"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True
)
def get_data_home(data_home=None):
    """Return the path of the skmtl data folder, creating it if needed.

    The loaders keep downloaded files there so that each is fetched once.  By
    default it is ``~/skmtl_data``; the ``SKMTL_DATA`` environment variable or
    the ``data_home`` argument choose another folder.  ``~`` is expanded.  A
    folder laid out like the loaders' cache, or like skmtl's shared data
    folder (``school_malsar/school.mat``, ``landmine/LandmineData.mat``, ...),
    is read without downloading.

    The loaders themselves never create the folder unless they download a
    file.  When this function or a download creates it, a marker file
    (``.skmtl_data_home``) is written in it, which :func:`clear_data_home`
    requires before it deletes anything.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use; None means ``$SKMTL_DATA`` or ``~/skmtl_data``.

    Returns
    -------
    data_home : str
        The path of the (existing) data folder.

    Raises
    ------
    OSError
        If the folder does not exist and cannot be created.

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
    return _make_data_home(data_home)


@validate_params(
    {"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True
)
def clear_data_home(data_home=None):
    """Delete the skmtl data folder and all the files cached in it.

    Only a folder that skmtl created is deleted: it must hold the marker file
    ``.skmtl_data_home`` that skmtl writes when it creates the folder.  Any
    other folder (one of your own named by ``SKMTL_DATA``, a shared data
    folder, a folder made by hand) is left alone with an error that says why.
    A folder that does not exist is nothing to delete.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to delete; None means ``$SKMTL_DATA`` or ``~/skmtl_data``.

    Raises
    ------
    ValueError
        If the folder exists but skmtl did not create it (no marker file).

    Examples
    --------
    >>> import os, tempfile
    >>> from skmtl.datasets import clear_data_home, get_data_home
    >>> folder = get_data_home(os.path.join(tempfile.mkdtemp(), "skmtl_data"))
    >>> clear_data_home(folder)
    >>> os.path.exists(folder)
    False
    """
    path = _data_home_path(data_home)
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        raise ValueError(
            f"clear_data_home refuses to delete {path}: it is not a folder that "
            "skmtl created (it is a link or a file). Delete it yourself if you "
            "mean to."
        )
    if not os.path.isfile(os.path.join(path, MARKER)):
        raise ValueError(
            f"clear_data_home refuses to delete {path}: it has no {MARKER} marker "
            "file, so skmtl did not create it and it may hold files of your own "
            "(for example a folder named by SKMTL_DATA). Delete it yourself if "
            "you mean to."
        )
    shutil.rmtree(path)

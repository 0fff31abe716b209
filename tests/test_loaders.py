"""Tests of the benchmark loaders, their local lookup and their download cache.

Nothing here uses the network: the loaders read the real files from the data
folder the whole suite uses (``$SKMTL_DATA`` or ../shared/data, see
conftest.py; the tests skip when they are absent), and the download code runs
against ``file://`` URLs and a fake ``urlopen``.
"""

import hashlib
import os
import shutil
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen as real_urlopen

import numpy as np
import pytest
from conftest import data_file
from scipy.io import loadmat, savemat

from skmtl.datasets import _fetch
from skmtl.datasets._home import MARKER
from skmtl.datasets._loaders import (
    clear_data_home,
    get_data_home,
    load_computer_survey,
    load_landmine,
    load_parkinsons,
    load_school,
    load_school_splits,
)

# Where each cached file comes from in the shared data folder.
SHARED_PATHS = {
    "school": "school_malsar/school.mat",
    "school_b": "school_argyriou/school_b.mat",
    **{
        f"school_split_{k}": f"school_argyriou/school_{k}_indexes.mat"
        for k in range(1, 11)
    },
    "landmine": "landmine/LandmineData.mat",
    "computer_survey": "computer_survey/conjointAnalysisComputerBuyers.mat",
    "parkinsons": "parkinsons/parkinsons_updrs.data",
}


def populate(data_home, shared_data_dir, keys=SHARED_PATHS):
    """Copy the real files into ``data_home`` where the loaders cache them."""
    for key in keys:
        remote = _fetch._REMOTE_FILES[key]
        source = data_file(key)
        target = Path(data_home) / remote.folder / remote.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return str(data_home)


@pytest.fixture(scope="module")
def data_home(shared_data_dir):
    """The suite's data folder, read in place by the loaders (no copy)."""
    for key in SHARED_PATHS:
        data_file(key)
    return shared_data_dir


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any download attempt fails the test (tests that need one re-enable it)."""

    def refuse(url, *args, **kwargs):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(_fetch, "urlopen", refuse)


def file_url(path):
    return Path(path).resolve().as_uri()


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- the cache folder ------------------------------------------------------------


def test_get_data_home_env_default_and_explicit(tmp_path, monkeypatch):
    monkeypatch.setenv("SKMTL_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")
    assert os.path.isdir(tmp_path / "from_env")

    monkeypatch.delenv("SKMTL_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == str(tmp_path / "skmtl_data")

    explicit = tmp_path / "explicit"
    assert get_data_home(explicit) == str(explicit)  # path-like accepted
    assert explicit.is_dir()


def test_clear_data_home(tmp_path):
    home = get_data_home(tmp_path / "home")
    Path(home, "school").mkdir()
    Path(home, "school", "school.mat").write_bytes(b"x")
    clear_data_home(home)
    assert not os.path.exists(home)


def test_get_data_home_writes_the_marker_and_clear_removes_only_marked(tmp_path):
    home = Path(get_data_home(tmp_path / "made"))
    assert (home / MARKER).is_file()
    clear_data_home(home)
    assert not home.exists()
    clear_data_home(home)  # nothing to delete: no error


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_clear_data_home_refuses_a_folder_skmtl_did_not_create(
    tmp_path, monkeypatch, how
):
    mine = tmp_path / "my_files"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    monkeypatch.setenv("SKMTL_DATA", str(mine))
    with pytest.raises(ValueError, match="refuses to delete.*no .skmtl_data_home"):
        clear_data_home(mine if how == "argument" else None)
    assert (mine / "thesis.tex").read_text() == "precious"
    link = tmp_path / "link"
    link.symlink_to(get_data_home(tmp_path / "marked"))
    with pytest.raises(ValueError, match="refuses to delete.*link"):
        clear_data_home(link)
    assert (tmp_path / "marked" / MARKER).exists()


def test_a_download_creates_a_marked_folder(tmp_path, monkeypatch, landmine_source):
    monkeypatch.setattr(_fetch, "urlopen", real_urlopen)
    point_at(monkeypatch, "landmine", file_url(landmine_source))
    home = tmp_path / "new" / "skmtl_data"
    load_landmine(data_home=home)
    assert (home / MARKER).is_file()
    clear_data_home(home)
    assert not home.exists()


def test_load_school_from_a_local_copy_creates_nothing(tmp_path, monkeypatch):
    """MALSAR's school.mat read offline: nothing created under HOME."""
    source = data_file("school")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SKMTL_DATA", raising=False)
    X, y = load_school(path=source, return_X_y=True)  # the file itself
    assert X.shape == (15362, 28) and y.shape == (15362,)
    assert len(np.unique(X[:, -1])) == 139
    X2, _ = load_school(path=source.parent, return_X_y=True)  # its folder
    np.testing.assert_array_equal(X, X2)
    assert list(home.iterdir()) == []  # no ~/skmtl_data
    with pytest.raises(OSError, match="no data folder .*download_if_missing"):
        load_school(download_if_missing=False)  # the default folder: missing
    assert list(home.iterdir()) == []


def test_skmtl_data_in_the_shared_layout_is_read_in_place(
    shared_data_dir, tmp_path, monkeypatch
):
    """SKMTL_DATA naming a folder like ../shared/data: no download, no copy."""
    for key in SHARED_PATHS:
        data_file(key)
    shared = tmp_path / "shared"
    for relative in SHARED_PATHS.values():
        (shared / relative).parent.mkdir(parents=True, exist_ok=True)
        (shared / relative).symlink_to(Path(shared_data_dir, relative).resolve())
    before = sorted(p.relative_to(shared) for p in shared.rglob("*"))
    monkeypatch.setenv("SKMTL_DATA", str(shared))
    assert load_school(return_X_y=True)[0].shape == (15362, 28)
    assert len(load_school_splits(None)) == 10
    assert load_landmine().data.shape == (14820, 10)
    assert load_computer_survey().data.shape == (3800, 14)
    assert load_parkinsons().data.shape == (5875, 17)
    assert sorted(p.relative_to(shared) for p in shared.rglob("*")) == before
    # The same folder as path= (the splits need a folder).
    train, test = load_school_splits(2, path=shared)
    assert (len(train), len(test)) == (11472, 3890)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_school_splits(2, path=shared / SHARED_PATHS["school"])


def test_a_bad_path_gets_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_landmine(path=tmp_path / "nowhere.mat")
    with pytest.raises(FileNotFoundError, match="folder without LandmineData.mat"):
        load_landmine(path=tmp_path)


def test_a_local_copy_that_is_not_the_original_warns(tmp_path, landmine_source):
    m = loadmat(landmine_source)
    copy = tmp_path / "LandmineData.mat"
    savemat(copy, {"feature": m["feature"], "label": m["label"]})
    with pytest.warns(UserWarning, match="not the original LandmineData.mat"):
        mines = load_landmine(path=copy)
    assert mines.data.shape == (14820, 10)


def test_an_unwritable_data_folder_gets_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match="cannot be created or written to"):
        load_parkinsons(data_home=blocker / "skmtl_data")
    with pytest.raises(NotADirectoryError, match="exists but is not a folder"):
        load_parkinsons(data_home=blocker)


def test_every_remote_file_has_a_checksum_and_https_urls():
    for remote in _fetch._REMOTE_FILES.values():
        assert len(remote.sha256) == 64
        assert remote.urls
        assert all(
            url.startswith("https://raw.githubusercontent.com/") for url in remote.urls
        )


def test_checksums_match_the_shared_copies(shared_data_dir):
    for key, relative in SHARED_PATHS.items():
        path = Path(shared_data_dir) / relative
        if not path.exists():
            pytest.skip(f"{path} not available")
        assert sha256(path) == _fetch._REMOTE_FILES[key].sha256, key
        assert relative == f"{_fetch._REMOTE_FILES[key].shared}/{path.name}"


# -- downloading ---------------------------------------------------------------


@pytest.fixture
def landmine_source():
    return data_file("landmine")


def point_at(monkeypatch, key, *urls):
    remote = _fetch._REMOTE_FILES[key]
    monkeypatch.setitem(_fetch._REMOTE_FILES, key, remote._replace(urls=urls))


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if folder.exists() else []


def test_download_verifies_and_caches(tmp_path, monkeypatch, landmine_source):
    monkeypatch.setattr(_fetch, "urlopen", real_urlopen)
    # The first mirror is unreachable: the second one is used.
    missing = file_url(tmp_path / "nowhere" / "LandmineData.mat")
    point_at(monkeypatch, "landmine", missing, file_url(landmine_source))
    X, y = load_landmine(data_home=tmp_path, return_X_y=True)
    assert X.shape == (14820, 10)
    cached = tmp_path / "landmine" / "LandmineData.mat"
    assert sha256(cached) == sha256(landmine_source)
    assert leftovers(tmp_path / "landmine") == ["LandmineData.mat"]  # no .part file

    # Once cached, nothing is downloaded again.
    def refuse(url, *args, **kwargs):
        raise AssertionError("downloaded a cached file")

    monkeypatch.setattr(_fetch, "urlopen", refuse)
    X2, _ = load_landmine(data_home=tmp_path, return_X_y=True)
    np.testing.assert_array_equal(X, X2)


def test_checksum_mismatch_raises_and_saves_nothing(
    tmp_path, monkeypatch, landmine_source
):
    monkeypatch.setattr(_fetch, "urlopen", real_urlopen)
    tampered = tmp_path / "tampered.mat"
    tampered.write_bytes(landmine_source.read_bytes() + b"\0")
    point_at(monkeypatch, "landmine", file_url(tampered))
    home = tmp_path / "home"
    with pytest.raises(OSError, match="SHA-256 checksum mismatch for LandmineData.mat"):
        load_landmine(data_home=home)
    assert leftovers(home / "landmine") == []


def test_offline_raises_a_clear_error(tmp_path, monkeypatch):
    calls = []
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SKMTL_DATA", raising=False)

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_fetch, "urlopen", offline)
    point_at(monkeypatch, "school", "https://example.invalid/school.mat")
    with pytest.raises(OSError, match="Could not download school.mat.*offline") as info:
        load_school(data_home=tmp_path)
    assert calls == ["https://example.invalid/school.mat"]
    assert isinstance(info.value.__cause__, URLError)
    assert "name resolution" in str(info.value)
    assert leftovers(tmp_path / "school") == []
    # A failed download into the default folder leaves nothing behind either.
    with pytest.raises(OSError, match="Could not download school.mat"):
        load_school()
    assert list((tmp_path / "home").iterdir()) == []  # no ~/skmtl_data


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    class Broken:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, size):
            raise TimeoutError("the read timed out")

    monkeypatch.setattr(_fetch, "urlopen", lambda url, timeout: Broken())
    with pytest.raises(OSError, match="timed out"):
        load_parkinsons(data_home=tmp_path)
    assert leftovers(tmp_path / "parkinsons") == []


def test_download_if_missing_false(tmp_path):
    with pytest.raises(OSError, match="download_if_missing=False"):
        load_computer_survey(data_home=tmp_path, download_if_missing=False)


def test_corrupted_cache_is_detected(tmp_path, monkeypatch, landmine_source):
    cached = tmp_path / "landmine" / "LandmineData.mat"
    cached.parent.mkdir()
    cached.write_bytes(b"not the file")
    with pytest.raises(OSError, match="corrupted"):
        load_landmine(data_home=tmp_path, download_if_missing=False)
    # With downloads allowed, it is fetched again (with a warning).
    monkeypatch.setattr(_fetch, "urlopen", real_urlopen)
    point_at(monkeypatch, "landmine", file_url(landmine_source))
    with pytest.warns(UserWarning, match="Downloading it again"):
        load_landmine(data_home=tmp_path)
    assert sha256(cached) == sha256(landmine_source)


# -- the data sets -----------------------------------------------------------------


def check_long_format(bunch, n_samples, n_features, n_tasks):
    assert bunch.data.shape == (n_samples, n_features + 1)
    assert bunch.target.shape == (n_samples,)
    assert bunch.feature_names[-1] == "task"
    assert len(bunch.feature_names) == n_features + 1
    assert bunch.tasks.dtype.kind == "i"
    np.testing.assert_array_equal(bunch.data[:, -1], bunch.tasks)
    np.testing.assert_array_equal(np.unique(bunch.tasks), np.arange(1, n_tasks + 1))
    assert bunch.frame is None
    assert isinstance(bunch.DESCR, str) and len(bunch.DESCR) > 200
    assert np.all(np.isfinite(bunch.data))


def test_load_school(data_home, school_tasks):
    school = load_school(data_home=data_home)
    check_long_format(school, 15362, 27, 139)
    assert "dropped" in school.DESCR
    # Same rows as the MALSAR cells, without the constant last column.
    Xs, ys = school_tasks
    np.testing.assert_array_equal(school.data[:, :-1], np.vstack(Xs)[:, :-1])
    np.testing.assert_array_equal(school.target, np.concatenate(ys))
    assert np.all(np.vstack(Xs)[:, -1] == 1)
    assert not np.any(np.all(school.data[:, :-1] == 1, axis=0))
    sizes = np.bincount(school.tasks)[1:]
    assert sizes.min() == 22 and sizes.max() == 251
    assert school.target.min() == 1 and school.target.max() == 70


def test_load_school_splits(data_home):
    y = load_school(data_home=data_home).tasks
    splits = load_school_splits(None, data_home=data_home)
    assert len(splits) == 10
    for train, test in splits:
        assert (len(train), len(test)) == (11472, 3890)
        assert np.intersect1d(train, test).size == 0
        np.testing.assert_array_equal(np.union1d(train, test), np.arange(15362))
        share = np.bincount(y[train], minlength=140)[1:] / np.bincount(y)[1:]
        assert 0.72 <= share.min() and share.max() <= 0.76  # every task in both sets
    train, test = load_school_splits(4, data_home=data_home)
    np.testing.assert_array_equal(train, splits[3][0])
    assert not np.array_equal(splits[0][0], splits[1][0])
    with pytest.raises(ValueError, match="split"):
        load_school_splits(11, data_home=data_home)


def test_load_school_splits_checks_the_row_order(
    tmp_path, shared_data_dir, monkeypatch
):
    home = populate(tmp_path, shared_data_dir, ["school", "school_b", "school_split_1"])
    path = Path(home) / "school" / "school_b.mat"
    b = loadmat(path)
    b["y"] = b["y"][::-1].copy()  # the same rows in another order
    savemat(path, {k: v for k, v in b.items() if not k.startswith("__")})
    remote = _fetch._REMOTE_FILES["school_b"]
    monkeypatch.setitem(
        _fetch._REMOTE_FILES, "school_b", remote._replace(sha256=sha256(path))
    )
    with pytest.raises(ValueError, match="same order"):
        load_school_splits(1, data_home=home)


def test_load_landmine(data_home):
    mines = load_landmine(data_home=data_home)
    check_long_format(mines, 14820, 9, 29)
    assert mines.target.dtype.kind == "i"
    assert set(np.unique(mines.target)) == {0, 1}
    rate = (
        np.bincount(mines.tasks, weights=mines.target)[1:]
        / np.bincount(mines.tasks)[1:]
    )
    assert 0.028 < rate.min() and rate.max() < 0.095


def test_load_computer_survey(data_home):
    survey = load_computer_survey(data_home=data_home)
    check_long_format(survey, 3800, 13, 190)
    assert set(np.unique(survey.data[:, :-1])) == {-1.0, 1.0}  # no intercept column
    assert survey.feature_names[-2] == "price"
    assert survey.target.min() >= 0 and survey.target.max() <= 10
    assert survey.holdout.sum() == 190 * 4
    np.testing.assert_array_equal(survey.profile[:20], np.arange(1, 21))
    # Every respondent rates the same 20 profiles.
    first, second = survey.data[survey.tasks == 1], survey.data[survey.tasks == 2]
    np.testing.assert_array_equal(first[:, :-1], second[:, :-1])


def test_load_parkinsons(data_home):
    motor = load_parkinsons(data_home=data_home)
    check_long_format(motor, 5875, 16, 42)
    assert motor.target_names == ["motor_UPDRS"]
    assert motor.feature_names[1] == "Jitter(Abs)"
    assert motor.data[0, 1] == pytest.approx(3.38e-5)  # exponents read intact
    total = load_parkinsons(
        target="total_UPDRS", extra_features=True, data_home=data_home
    )
    check_long_format(total, 5875, 19, 42)
    assert total.feature_names[-4:] == ["age", "sex", "test_time", "task"]
    assert np.all(total.target >= motor.target)
    np.testing.assert_array_equal(total.data[:, :16], motor.data[:, :16])
    with pytest.raises(ValueError, match="target"):
        load_parkinsons(target="UPDRS", data_home=data_home)


@pytest.mark.parametrize(
    "load", [load_school, load_landmine, load_computer_survey, load_parkinsons]
)
def test_return_X_y_and_as_frame(load, data_home):
    bunch = load(data_home=data_home)
    X, y = load(data_home=data_home, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)

    pytest.importorskip("pandas")
    framed = load(data_home=data_home, as_frame=True)
    assert list(framed.data.columns) == bunch.feature_names
    assert framed.data["task"].dtype.kind == "i"
    np.testing.assert_array_equal(framed.data.to_numpy(dtype=float), bunch.data)
    np.testing.assert_array_equal(framed.target.to_numpy(), bunch.target)
    assert list(framed.frame.columns) == [*bunch.feature_names, *bunch.target_names]
    Xf, yf = load(data_home=data_home, as_frame=True, return_X_y=True)
    assert list(Xf.columns) == bunch.feature_names and yf.name == bunch.target_names[0]


def test_loaded_data_fits_in_long_format(data_home):
    from skmtl import TraceNormMTLRegressor

    X, y = load_computer_survey(data_home=data_home, return_X_y=True)
    model = TraceNormMTLRegressor(alpha=0.1, task_column=-1).fit(X, y)
    assert model.coef_.shape == (190, 13)
    assert model.score(X, y) > 0.5

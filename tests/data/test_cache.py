"""The preprocessed-array cache: reuse, invalidation, atomic writes, corruption."""

import os

import numpy as np
import pytest
import scipy.io

import tfhar.data
from tfhar.data import cache as cache_lib


def _load(root, cache_dir, **options):
    return tfhar.data.load("utd_mhad", root, cache_dir=cache_dir, **options)


def _count_loadmat(monkeypatch):
    calls = []
    original = scipy.io.loadmat

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(scipy.io, "loadmat", counting)
    return calls


def _forbid_loadmat(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError(f"loadmat called for {args[0]}: the cache was not used")

    monkeypatch.setattr(scipy.io, "loadmat", fail)


def _assert_same(a, b):
    for field in ("inertial", "skeleton", "labels", "subjects", "trials", "durations"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.joint_names == b.joint_names and a.class_names == b.class_names


def test_second_load_reads_the_cache_not_the_mat_files(fake_utd, cache_dir, monkeypatch):
    root = fake_utd()
    first = _load(root, cache_dir)
    assert len(list(cache_dir.glob("utd_mhad-*.npz"))) == 1
    _forbid_loadmat(monkeypatch)
    _assert_same(_load(root, cache_dir), first)


def test_default_cache_dir_comes_from_the_environment(fake_utd, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHAR_CACHE_DIR", str(tmp_path / "env_cache"))
    assert cache_lib.default_cache_dir() == tmp_path / "env_cache"
    tfhar.data.load("utd_mhad", fake_utd())
    assert len(list((tmp_path / "env_cache").glob("utd_mhad-*.npz"))) == 1
    monkeypatch.delenv("TFHAR_CACHE_DIR")
    assert cache_lib.default_cache_dir() == cache_lib.Path.home() / ".cache" / "tfhar"


def test_cache_false_neither_reads_nor_writes(fake_utd, cache_dir, monkeypatch):
    root = fake_utd()
    _load(root, cache_dir)
    calls = _count_loadmat(monkeypatch)
    _load(root, cache_dir / "other", cache=False)
    assert len(calls) == 10
    assert not (cache_dir / "other").exists()


@pytest.mark.parametrize(
    "options",
    [
        {"window_length": 30},
        {"normalize_skeleton": False},
        {"modalities": ("inertial",)},
    ],
)
def test_a_changed_setting_rebuilds(fake_utd, cache_dir, monkeypatch, options):
    root = fake_utd()
    _load(root, cache_dir)
    calls = _count_loadmat(monkeypatch)
    _load(root, cache_dir, **options)
    assert len(calls) == (5 if "modalities" in options else 10)
    assert len(list(cache_dir.glob("utd_mhad-*.npz"))) == 2


def test_a_touched_file_rebuilds(fake_utd, cache_dir, monkeypatch):
    root = fake_utd()
    first = _load(root, cache_dir)
    path = root / "Inertial" / "a2_s1_t1_inertial.mat"
    scipy.io.savemat(path, {"d_iner": np.ones((64, 6))})
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 5_000_000_000))
    calls = _count_loadmat(monkeypatch)
    second = _load(root, cache_dir)
    assert len(calls) == 10
    np.testing.assert_allclose(second.inertial[3], 1.0, atol=1e-5)
    assert not np.allclose(first.inertial[3], 1.0)


def test_an_added_file_rebuilds(fake_utd, cache_dir):
    root = fake_utd()
    assert len(_load(root, cache_dir)) == 5
    fake_utd(keys=((9, 8, 1),), seed=1)
    assert len(_load(root, cache_dir)) == 6


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "missing_key"])
def test_a_corrupt_cache_is_ignored_and_rebuilt(fake_utd, cache_dir, monkeypatch, damage):
    root = fake_utd()
    first = _load(root, cache_dir)
    (path,) = cache_dir.glob("utd_mhad-*.npz")
    content = path.read_bytes()
    if damage == "missing_key":
        np.savez(path, labels=np.zeros(5))
    else:
        path.write_bytes(
            {"garbage": b"PK\x03\x04 not really", "truncated": content[:-100], "empty": b""}[damage]
        )
    calls = _count_loadmat(monkeypatch)
    _assert_same(_load(root, cache_dir), first)
    assert len(calls) == 10
    # The rebuilt cache is whole again and used next time.
    assert cache_lib.read(path, ("labels", "inertial", "skeleton")) is not None
    _forbid_loadmat(monkeypatch)
    _assert_same(_load(root, cache_dir), first)


def test_a_failed_write_leaves_no_cache_file(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "utd_mhad-abc.npz"

    def interrupted_savez(file, **arrays):
        file.write(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        cache_lib.write(path, {"labels": np.arange(3)})
    assert list((tmp_path / "cache").iterdir()) == []


def test_write_replaces_atomically_and_read_round_trips(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "x.npz"
    cache_lib.write(path, {"labels": np.arange(3)})
    replaced = []
    original = os.replace

    def spy(source, destination):
        # The data is complete in a temporary file of the same folder before the rename.
        assert os.path.dirname(source) == str(path.parent) and source != str(path)
        assert cache_lib.read(source, ("labels",))["labels"].tolist() == [5, 6]
        replaced.append(destination)
        original(source, destination)

    monkeypatch.setattr(os, "replace", spy)
    cache_lib.write(path, {"labels": np.array([5, 6])})
    assert replaced == [path]
    assert cache_lib.read(path, ("labels",))["labels"].tolist() == [5, 6]
    assert [p.name for p in path.parent.iterdir()] == ["x.npz"]


def test_an_unwritable_cache_warns_and_still_loads(fake_utd, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="could not write the utd_mhad cache"):
        assert len(_load(fake_utd(), blocker / "cache")) == 5


def test_skipped_sequences_are_warned_again_from_the_cache(fake_utd, cache_dir, monkeypatch):
    root = fake_utd()
    (root / "Inertial" / "a1_s1_t1_inertial.mat").write_bytes(b"junk")
    with pytest.warns(UserWarning, match="skipped 1 of 5"):
        _load(root, cache_dir, on_error="skip")
    _forbid_loadmat(monkeypatch)
    with pytest.warns(UserWarning, match="skipped 1 of 5"):
        assert len(_load(root, cache_dir, on_error="skip")) == 4

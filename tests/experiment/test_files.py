"""Atomic writes: the destination holds the old or the new content, never a part."""

import os

import pytest

from tfhar.files import atomic_path, read_json, write_json, write_text


def test_write_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    write_text(path, "old")
    write_text(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_write_keeps_the_old_content(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"accuracy": 0.5})
    with pytest.raises(RuntimeError), atomic_path(path) as temporary:
        temporary.write_text('{"accur')
        raise RuntimeError("crash mid-write")
    assert read_json(path) == {"accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize("name", ["model.keras", "best.weights.h5", "data.npz", "config.yaml"])
def test_the_temporary_keeps_the_suffix_writers_check(tmp_path, name):
    with atomic_path(tmp_path / name) as temporary:
        assert temporary.name.endswith(name[name.index("."):])
        assert temporary.parent == tmp_path
        temporary.write_text("x")
    assert (tmp_path / name).read_text() == "x"
    assert oct(os.stat(tmp_path / name).st_mode & 0o777) == "0o644"


def test_read_json_of_a_missing_or_broken_file_is_none(tmp_path):
    assert read_json(tmp_path / "absent.json") is None
    (tmp_path / "broken.json").write_text("{")
    assert read_json(tmp_path / "broken.json") is None

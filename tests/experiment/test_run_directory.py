"""Run directories and replaceable folders: tfhar deletes or replaces only what it wrote."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfhar.experiment.run_directory import (
    LOCK,
    MARKER,
    OwnershipError,
    RunDirectory,
    RunDirError,
    check_replaceable,
    remove_folder,
    replace_folder,
    scratch_folder,
    write_marker,
)


def user_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work")
    return path


@pytest.mark.parametrize("kind", ["run", "export", "results"])
def test_a_folder_without_the_marker_is_never_removed(tmp_path, kind):
    folder = user_folder(tmp_path / "mine")
    with pytest.raises(OwnershipError, match="did not write"):
        remove_folder(folder, kind, "folder")
    assert (folder / "thesis.tex").read_text() == "years of work"


def test_a_marker_of_another_kind_does_not_count(tmp_path):
    folder = user_folder(tmp_path / "export")
    write_marker(folder, "export")
    with pytest.raises(OwnershipError):
        remove_folder(folder, "run", "run directory")
    assert folder.is_dir()


def test_a_folder_with_the_marker_is_removed(tmp_path):
    folder = user_folder(tmp_path / "ours")
    write_marker(folder, "run")
    remove_folder(folder, "run", "run directory")
    assert not folder.exists()


def test_a_symbolic_link_is_refused_and_its_target_kept(tmp_path):
    target = user_folder(tmp_path / "target")
    write_marker(target, "run")  # Even a folder of ours is not deleted through a link.
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OwnershipError, match="symbolic link"):
        remove_folder(link, "run", "run directory")
    assert (target / "thesis.tex").is_file() and link.is_symlink()


def test_links_inside_a_removed_folder_are_not_followed(tmp_path):
    outside = user_folder(tmp_path / "outside")
    folder = tmp_path / "ours"
    folder.mkdir()
    write_marker(folder, "run")
    (folder / "escape").symlink_to(outside)
    remove_folder(folder, "run", "run directory")
    assert not folder.exists()
    assert (outside / "thesis.tex").read_text() == "years of work"


def test_a_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("x")
    with pytest.raises(OwnershipError, match="is a file"):
        check_replaceable(path, "export", "--out")
    assert path.read_text() == "x"


def test_empty_and_absent_folders_may_be_used(tmp_path):
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty", "export", "--out")
    check_replaceable(tmp_path / "absent", "export", "--out")


def test_replace_folder_swaps_in_the_new_one_after_checking_the_old(tmp_path):
    out, new = tmp_path / "model", tmp_path / ".model.tmp-1"
    for folder, text in ((out, "old"), (new, "new")):
        (folder / "saved_model").mkdir(parents=True)
        (folder / "metadata.json").write_text(text)
    with pytest.raises(OwnershipError):
        replace_folder(new, out, "export", "--out")  # The old one is not marked as ours.
    assert (out / "metadata.json").read_text() == "old"
    write_marker(out, "export")
    replace_folder(new, out, "export", "--out")
    assert (out / "metadata.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_scratch_folder_is_new_and_goes_away(tmp_path):
    with scratch_folder(tmp_path, ".work-") as folder:
        assert folder.parent == tmp_path and folder.is_dir() and not any(folder.iterdir())
        (folder / "x").write_text("x")
    assert list(tmp_path.iterdir()) == []


def _matches(path: Path) -> bool:
    return path.read_text() == "config A"


def test_create_marks_the_folder_and_resumes_the_same_config(tmp_path):
    run_dir = RunDirectory(tmp_path / "run")
    assert run_dir.create("config A", _matches, overwrite=False) is False
    assert run_dir.is_owned() and (run_dir.path / MARKER).is_file()
    run_dir.unlock()
    assert RunDirectory(run_dir.path).create("config A", _matches, overwrite=False) is True


def test_another_config_is_refused_then_replaced_with_overwrite(tmp_path):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.create("config B", _matches, overwrite=False)
    (run_dir.path / "logs" / "old.csv").write_text("old")
    run_dir.unlock()
    with pytest.raises(RunDirError, match="different config"):
        run_dir.check_usable(_matches, overwrite=False)
    assert run_dir.create("config A", _matches, overwrite=True) is False
    assert not (run_dir.path / "logs" / "old.csv").exists()
    assert run_dir.config_path.read_text() == "config A"


def test_a_folder_of_the_users_is_refused_even_with_overwrite(tmp_path):
    folder = user_folder(tmp_path / "Documents")
    run_dir = RunDirectory(folder)
    with pytest.raises(RunDirError, match="not empty"):
        run_dir.check_usable(_matches, overwrite=False)
    with pytest.raises(OwnershipError, match="did not write"):
        run_dir.check_usable(_matches, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def test_a_second_process_cannot_take_the_lock(tmp_path):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.create("config A", _matches, overwrite=False)
    holder = f"process {os.getpid()}"
    code = ("import sys; from tfhar.experiment.run_directory import RunDirectory\n"
            f"try:\n    RunDirectory({str(run_dir.path)!r}).lock()\n"
            "except ValueError as e:\n    print(e); sys.exit(3)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 3
    assert "in use by" in result.stdout and holder in result.stdout
    run_dir.unlock()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout
    assert (run_dir.path / LOCK).is_file()


def test_wall_times_add_up_over_calls(tmp_path):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.create("config A", _matches, overwrite=False)
    run_dir.add_wall_time("pretrain", 1.5)
    RunDirectory(run_dir.path).add_wall_time("pretrain", 2.0)  # As another process would.
    run_dir.add_wall_time("finetune", 0.5)
    assert run_dir.wall_times() == {"pretrain": 3.5, "finetune": 0.5}

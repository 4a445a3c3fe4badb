"""pipelines.ship_model refuses, before training, what it must not touch or cannot build."""

from pipelines import ship_model


def test_a_folder_of_the_users_at_out_is_refused(tmp_path, capsys, no_training):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert ship_model.main(["--config", "utd_mhad/supervised_inertial", "--out", str(out),
                            "--run-dir", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --out") and len(error.strip().splitlines()) == 1
    assert (out / "notes.txt").read_text() == "mine" and not (tmp_path / "run").exists()


def test_the_example_needs_utd_mhad(tmp_path, capsys, no_training):
    assert ship_model.main(["--config", "synthetic/simclr_inertial",
                            "--out", str(tmp_path / "out"),
                            "--run-dir", str(tmp_path / "run")]) == 2
    assert "UTD-MHAD" in capsys.readouterr().err

"""pipelines.variants: finished runs are reused, compared with their Table 1 row and decided by
the validation rule; --existing-only keeps the rows of runs that are gone; folders tfhar did not
write survive."""

import pandas as pd
import pytest

from pipelines import table1, variants
from pipelines.common import config_path
from tfhar.experiment.run_directory import MARKER, marker_kind


@pytest.fixture
def finished_pair(tmp_path, tfhar_run):
    """cmc_trainmode's run and its row's (cmc) seed-0 Table 1 run, finished."""
    table1_runs, runs = tmp_path / "table1", tmp_path / "variants"
    base = tfhar_run(table1_runs / "cmc-seed0", config_path("utd_mhad", "cmc"),
                     table1.row_overrides("cmc", table1_runs, 0),
                     accuracy=0.93, val_accuracy=0.90)
    (base / "encoders").mkdir()
    for modality in ("inertial", "skeleton"):  # The fine-tuning variant loads them.
        (base / "encoders" / f"{modality}.keras").write_bytes(b"")
    tfhar_run(runs / "cmc_trainmode-seed0", config_path("utd_mhad", "cmc"),
              variants.variant_overrides("cmc_trainmode", table1_runs),
              accuracy=0.95, val_accuracy=0.94, wall_time_s=12.0)
    return table1_runs, runs


def arguments(table1_runs, runs, out, *more):
    return ["--runs-dir", str(runs), "--table1-runs", str(table1_runs), "--out", str(out),
            *more]


def test_variants_are_compared_with_their_rows_seed0_run(tmp_path, finished_pair, no_training):
    out = tmp_path / "out"
    only = [name for name, (row, *_rest) in variants.VARIANTS.items()
            if row != "cmc" or name == "cmc_trainmode"]
    assert variants.main(arguments(*finished_pair, out, "--only", *only)) == 0
    table = pd.read_csv(out / "variants.csv")
    assert table.variant.tolist() == ["cmc_trainmode"]  # The others' rows have no run yet.
    row = table.iloc[0]
    assert (row.val_accuracy, row.row_val_accuracy) == pytest.approx((94.0, 90.0))
    assert (row.test_accuracy, row.row_test_accuracy) == pytest.approx((95.0, 93.0))
    # 4 points on 108 windows: 4 windows gained, at least 2: adopted.
    assert (row.val_windows, row.val_gain_windows, row.decision) == (108, 4, "adopted")
    assert "| cmc_trainmode | cmc |" in (out / "variants.md").read_text()
    assert marker_kind(out) == "results"


@pytest.mark.parametrize(("val", "row_val", "gain", "decision"), [
    (96.30, 95.37, 1, "reference kept"),     # One window: noise.
    (75.93, 74.07, 2, "adopted"),            # Two windows (1.85 points): adopted.
    (57.41, 73.15, -17, "reference kept"),
    (95.37, 95.37, 0, "reference kept"),
])
def test_a_variant_is_adopted_only_with_two_more_validation_windows(val, row_val, gain,
                                                                     decision):
    assert variants.decide(val, row_val, 108) == (gain, decision)


def test_a_row_without_validation_accuracy_is_undecided():
    gain, decision = variants.decide(90.0, float("nan"), 108)
    assert gain is None and decision.startswith("undecided")


def test_existing_only_keeps_the_rows_whose_runs_are_gone(tmp_path, finished_pair, no_training):
    out = tmp_path / "out"
    assert variants.main(arguments(*finished_pair, out, "--only", "cmc_trainmode")) == 0
    committed = pd.DataFrame([{
        "variant": "supervised_skeleton_mlp", "row": "skeleton supervised",
        "change": "an old description", "val_accuracy": 94.44, "row_val_accuracy": 99.07,
        "test_accuracy": 90.0, "row_test_accuracy": 89.07, "wall_time_s": 511.4,
        "run_dir": "runs/variants/supervised_skeleton_mlp-seed0"}, {
        "variant": "a_variant_since_removed", "row": "cmc", "change": "x",
        "val_accuracy": 1.0, "row_val_accuracy": 1.0, "test_accuracy": 1.0,
        "row_test_accuracy": 1.0, "wall_time_s": 1.0, "run_dir": "runs/variants/x"}])
    committed.to_csv(out / "variants.csv", index=False)
    assert variants.main(arguments(tmp_path / "none", tmp_path / "none", out,
                                   "--existing-only")) == 0
    table = pd.read_csv(out / "variants.csv").set_index("variant")
    assert list(table.index) == ["supervised_skeleton_mlp"]
    kept = table.loc["supervised_skeleton_mlp"]
    for column in ("val_accuracy", "row_val_accuracy", "test_accuracy", "row_test_accuracy",
                   "wall_time_s", "run_dir"):
        assert kept[column] == committed.loc[0, column], column
    assert kept.change == variants.VARIANTS["supervised_skeleton_mlp"][4]
    assert (kept.val_gain_windows, kept.decision) == (-5, "reference kept")
    # A finished run is tabulated from its run, the others' rows are kept.
    assert variants.main(arguments(*finished_pair, out, "--existing-only")) == 0
    table = pd.read_csv(out / "variants.csv")
    assert table.variant.tolist() == ["cmc_trainmode", "supervised_skeleton_mlp"]
    # Variants not asked for keep their rows when others are run.
    assert variants.main(arguments(*finished_pair, out, "--only", "cmc_trainmode")) == 0
    assert pd.read_csv(out / "variants.csv").equals(table)


def test_a_folder_of_the_users_as_out_is_refused(tmp_path, finished_pair, no_training, capsys):
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "variants.csv").write_text("mine\n")
    assert variants.main(arguments(*finished_pair, documents)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(documents) in err[0]
    assert [p.name for p in documents.iterdir()] == ["variants.csv"]
    assert (documents / "variants.csv").read_text() == "mine\n"


def test_a_run_folder_tfhar_did_not_write_stops_the_pipeline(tmp_path, finished_pair,
                                                              no_training, capsys):
    table1_runs, runs = finished_pair
    run_dir = runs / "cmc_trainmode-seed0"
    (run_dir / MARKER).unlink()  # Now a folder of the user's holding a config and results.
    (run_dir / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    out = tmp_path / "out"
    assert variants.main(arguments(table1_runs, runs, out, "--only", "cmc_trainmode")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(run_dir) in err[0]
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before
    assert not out.exists()


def test_fine_tuning_variants_load_their_rows_encoders(tmp_path):
    overrides = variants.variant_overrides("simclr_fusion_trainmode", tmp_path)
    assert "finetune.frozen_encoder_mode=train" in overrides
    assert (f"finetune.encoders.inertial={tmp_path}/simclr_inertial-seed0/encoders/"
            "inertial.keras") in overrides
    assert (f"finetune.encoders.skeleton={tmp_path}/simclr_skeleton-seed0/encoders/"
            "skeleton.keras") in overrides
    assert variants.variant_overrides("supervised_skeleton_mlp", tmp_path) == [
        "runtime.verbose=2"]


def test_every_variant_names_a_table1_row_and_an_existing_config():
    for name, (row, config, *_rest) in variants.VARIANTS.items():
        assert row in table1.ROWS["utd_mhad"], name
        assert config_path("utd_mhad", config.removesuffix(".yaml")).is_file(), name

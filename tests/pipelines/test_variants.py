"""pipelines.variants: finished runs are reused and compared with their Table 1 row."""

import json

import pandas as pd
import pytest

from pipelines import table1, variants
from pipelines.common import config_path


def write_metrics(run_dir, accuracy, val_accuracy):
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps(
        {"accuracy": accuracy, "val_accuracy": val_accuracy, "macro_f1": 0.5,
         "num_test_samples": 430, "wall_time_s": 12.0}))


def test_variants_are_compared_with_their_rows_seed0_run(tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was started again")

    monkeypatch.setattr("subprocess.run", no_training)
    table1_runs, runs = tmp_path / "table1", tmp_path / "variants"
    write_metrics(table1_runs / "cmc-seed0", 0.93, 0.90)
    write_metrics(runs / "cmc_trainmode-seed0", 0.95, 0.94)
    out = tmp_path / "out"
    only = [name for name, (row, *_rest) in variants.VARIANTS.items()
            if row != "cmc" or name == "cmc_trainmode"]
    assert variants.main(["--runs-dir", str(runs), "--table1-runs", str(table1_runs),
                          "--out", str(out), "--only", *only]) == 0
    table = pd.read_csv(out / "variants.csv")
    assert table.variant.tolist() == ["cmc_trainmode"]  # The others' rows have no run yet.
    row = table.iloc[0]
    assert (row.val_accuracy, row.row_val_accuracy) == pytest.approx((94.0, 90.0))
    assert (row.test_accuracy, row.row_test_accuracy) == pytest.approx((95.0, 93.0))
    assert "| cmc_trainmode | cmc |" in (out / "variants.md").read_text()


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

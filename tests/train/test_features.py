"""Frozen-encoder fine-tuning on precomputed features trains the same classifier."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfhar import builders
from tfhar.config import load_config
from tfhar.data import load, split
from tfhar.experiment import RunContext, RunDirectory, Splits, finetune

CONFIG = "configs/synthetic/simclr_inertial.yaml"


def fine_tune(run_dir, on_features: bool | None, trainable: bool = False,
              overrides: tuple[str, ...] = ()):
    config = load_config(CONFIG, ["finetune.epochs=4", "runtime.verbose=0", *overrides])
    splits = split(load("synthetic", modalities=("inertial",),
                        **dict(config.data.options)), "cross_subject")
    for sub in ("checkpoints", "encoders", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    ctx = RunContext(config, RunDirectory(run_dir),
                     Splits(splits["train"], splits["val"], splits["test"]),
                     strategy=tf.distribute.get_strategy())
    keras.utils.set_random_seed(0)
    encoder = builders.build_encoder(config, "inertial", splits["train"])
    model = finetune(ctx, {"inertial": encoder}, "finetune", trainable_encoders=trainable,
                     augment=False, on_features=on_features)
    return model, ctx, splits


def test_features_path_gives_the_encoder_path_model(tmp_path, capsys):
    cached, ctx, splits = fine_tune(tmp_path / "features", on_features=True)
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    direct, _, _ = fine_tune(tmp_path / "encoders", on_features=False)
    for a, b in zip(cached.classifier.get_weights(), direct.classifier.get_weights(),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    for a, b in zip(cached.encoders["inertial"].get_weights(),
                    direct.encoders["inertial"].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # Frozen: untouched by either path.
    windows = splits["test"].inertial
    np.testing.assert_allclose(cached.predict(windows, verbose=0),
                               direct.predict(windows, verbose=0), rtol=1e-3, atol=1e-3)
    # Same logged curves, and the summary says which path ran.
    logs = [pd.read_csv(tmp_path / d / "logs" / "history_finetune.csv")
            for d in ("features", "encoders")]
    np.testing.assert_allclose(logs[0].val_accuracy, logs[1].val_accuracy, atol=1e-6)
    assert summary.startswith("[finetune]") and "frozen encoders' features" in summary


def test_features_path_refuses_trainable_encoders(tmp_path):
    with pytest.raises(ValueError, match="frozen encoders"):
        fine_tune(tmp_path / "run", on_features=True, trainable=True)


def test_train_mode_frozen_encoders_are_not_fitted_on_features(tmp_path, capsys):
    config = load_config(CONFIG, ["finetune.frozen_encoder_mode=train"])
    assert config.finetune.frozen_encoder_mode == "train"
    with pytest.raises(ValueError, match="inference mode"):
        fine_tune(tmp_path / "run", on_features=True,
                  overrides=["finetune.frozen_encoder_mode=train"])
    capsys.readouterr()
    model, ctx, _ = fine_tune(tmp_path / "auto", on_features=None,
                              overrides=["finetune.frozen_encoder_mode=train"])
    assert model.frozen_encoders_train_mode
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("[finetune]") and "features" not in summary



def test_an_interrupted_features_stage_starts_again_from_scratch(tmp_path):
    run_dir = tmp_path / "run"
    fine_tune(run_dir, on_features=True)
    log = run_dir / "logs" / "history_finetune.csv"
    first = pd.read_csv(log)
    assert len(first) == 4
    # No per-epoch backup on this path (it took longer than the training).
    assert not (run_dir / "checkpoints" / "finetune").exists()
    # As if interrupted: the stage is not marked done; its log and best checkpoint remain.
    (run_dir / "checkpoints" / "finetune.done").unlink()
    fine_tune(run_dir, on_features=True)
    # The same 4 epochs once, not the earlier ones followed by 4 new ones.
    pd.testing.assert_frame_equal(pd.read_csv(log), first)
    assert (run_dir / "checkpoints" / "finetune.done").is_file()

"""data.standardize: inertial channels standardized with the training windows' statistics in
every split, and the exported phone model (which takes raw units) standardizing inside."""

import json

import numpy as np
import pytest

from tfhar import export, train
from tfhar.config import ConfigError, dump_config, load_config
from tfhar.experiment.data import load_splits, standardized
from tfhar.tflite_utils import LiteRTModel

SYNTHETIC = ["data.dataset=synthetic", "data.protocol=cross_subject",
             "data.options={num_classes: 4, samples_per_class_per_subject: 4, seed: 0}",
             "data.modalities=[inertial]", "method=supervised",
             "runtime.verbose=0", "runtime.embedding_plot=false",
             "model.inertial={filters: [8, 16, 16], feedforward_dim: 16, num_layers: 1, "
             "reduction: mean}", "finetune={epochs: 6, batch_size: 8, learning_rate: 0.003}"]


def config(*changes: str):
    return load_config(None, [*SYNTHETIC, *changes])


def test_every_split_is_standardized_with_the_training_statistics():
    raw = load_splits(config(), raw=True)
    splits = load_splits(config("data.standardize=true"))
    mean, std = splits.standardization
    assert mean.shape == std.shape == (raw.train.inertial.shape[2],)
    windows = raw.pretrain.inertial
    np.testing.assert_allclose(mean, windows.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std, windows.std(axis=(0, 1)), rtol=1e-5)
    flat = splits.pretrain.inertial.reshape(-1, len(mean))
    np.testing.assert_allclose(flat.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(flat.std(0), 1, atol=1e-4)
    for part in ("val", "test"):  # The training statistics, not their own.
        np.testing.assert_allclose(getattr(splits, part).inertial,
                                   (getattr(raw, part).inertial - mean) / std, atol=1e-5)
    np.testing.assert_array_equal(splits.test.labels, raw.test.labels)
    assert load_splits(config()).standardization is None
    with pytest.raises(ValueError, match="standardized already"):
        standardized(splits)


def test_a_standardize_that_would_do_nothing_is_refused():
    with pytest.raises(ConfigError, match="data.standardize"):
        config("data.standardize=true", "data.modalities=[skeleton]", "model.inertial={}")
    with pytest.raises(ConfigError, match="data.standardize: the windows of pretrain.shards"):
        load_config("synthetic/simclr_inertial", ["data.standardize=true",
                                                  "pretrain.shards=/nonexistent"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A supervised run trained on standardized windows, exported."""
    root = tmp_path_factory.mktemp("standardize")
    run_dir, out = root / "run", root / "export"
    path = root / "config.yaml"
    path.write_text(dump_config(config("data.standardize=true")))
    assert train.main(["--config", str(path), "--run-dir", str(run_dir)]) == 0
    assert export.main(["--run-dir", str(run_dir), "--out", str(out),
                        "--formats", "float32,float16"]) == 0
    return run_dir, out


def test_the_phone_model_takes_raw_units_and_scores_as_the_run(trained):
    run_dir, out = trained
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["standardization"]["inside_model"] is True
    raw = load_splits(load_config(run_dir / "config.yaml"), raw=True)
    np.testing.assert_allclose(meta["standardization"]["mean"],
                               raw.pretrain.inertial.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    # The float model, fed raw test windows, classifies as the run's model did on the
    # standardized ones (its test accuracy in metrics.json).
    model = LiteRTModel(out / "model_float32.tflite")
    predicted = model.predict(raw.test.inertial).argmax(1)
    run_accuracy = json.loads((run_dir / "metrics.json").read_text())["accuracy"]
    assert np.mean(predicted == raw.test.labels) == pytest.approx(run_accuracy)
    report = json.loads((out / "report.json").read_text())
    assert report["failures"] == []

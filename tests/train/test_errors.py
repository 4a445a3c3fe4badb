"""Bad input: one `error:` line on stderr naming the problem, exit status 2, nothing written."""

from pathlib import Path

import pytest

from tfhar.models import build_cnn_transformer_encoder

# (id, arguments after --run-dir, words the error line must contain). In the arguments,
# {config:NAME} is configs/synthetic/NAME.yaml and {NAME} a file made by `files` below.
CASES = [
    ("unknown method", "{config:cmc} --set method=byol", ["method", "byol", "cmc"]),
    ("unknown key", "{config:cmc} --set pretrain.epoch=3", ["pretrain.epoch", "epochs"]),
    ("unknown key in the file", "--config {typo_config}", ["model.inertial.filter", "filters"]),
    ("bad value type", "{config:cmc} --set pretrain.epochs=many", ["pretrain.epochs", "many",
                                                                  "integer"]),
    ("value out of range", "{config:cmc} --set finetune.batch_size=0", ["finetune.batch_size"]),
    ("bad --set", "{config:cmc} --set pretrain.epochs", ["pretrain.epochs", "KEY=VALUE"]),
    ("missing config file", "--config {missing_config}", ["no_such_config.yaml", "not found"]),
    ("config file not YAML", "--config {broken_config}", ["broken.yaml", "YAML"]),
    ("simclr with both modalities",
     "{config:simclr_inertial} --set data.modalities=[inertial,skeleton]",
     ["data.modalities", "simclr", "simclr_fusion"]),
    ("cmc with one modality", "{config:cmc} --set data.modalities=[skeleton]",
     ["data.modalities", "cmc", "both"]),
    ("bad data option", "{config:cmc} --set data.options.num_classes=0", ["num_classes"]),
    ("window too short for the skeleton encoder", "{config:cmc} --set data.window_length=30",
     ["skeleton", "window_length", "48"]),
    ("heads that do not divide the width", "{config:cmc} --set model.inertial.num_heads=3",
     ["model.inertial", "num_heads"]),
    ("contrastive batch larger than the data",
     "{config:simclr_inertial} --set pretrain.batch_size=500",
     ["pretrain.batch_size", "500", "72 training windows"]),
    ("missing encoder file",
     "{config:simclr_inertial} --set finetune.encoders.inertial={missing_encoder}",
     ["finetune.encoders.inertial", "missing.keras", "not found"]),
    ("encoder that does not fit the data",
     "{config:simclr_inertial} --set finetune.encoders.inertial={three_channel_encoder}",
     ["finetune.encoders.inertial", "three_channels.keras", "(50, 3)", "(50, 6)"]),
    ("corrupt encoder file",
     "{config:simclr_inertial} --set finetune.encoders.inertial={corrupt_encoder}",
     ["finetune.encoders.inertial", "corrupt.keras", "cannot load"]),
    ("encoder for a modality the run lacks",
     "{config:simclr_inertial} --set finetune.encoders.skeleton={three_channel_encoder}",
     ["finetune.encoders.skeleton", "data.modalities"]),
    ("cmc with one encoder", "{config:cmc} --set finetune.encoders.inertial={corrupt_encoder}",
     ["finetune.encoders", "cmc", "both"]),
    ("supervised with an encoder",
     "{config:supervised_multimodal} --set finetune.encoders.inertial={corrupt_encoder}",
     ["finetune.encoders", "supervised"]),
    ("negative seed", "{config:cmc} --set runtime.seed=-1", ["runtime.seed", "-1", "range"]),
    ("seed beyond 32 bits", "{config:cmc} --set runtime.seed=4294967296",
     ["runtime.seed", "4294967296", "range"]),
    ("NaN learning rate", "{config:cmc} --set finetune.learning_rate=.nan",
     ["finetune.learning_rate", "nan", "finite"]),
    ("infinite temperature", "{config:cmc} --set pretrain.temperature=.inf",
     ["pretrain.temperature", "inf", "finite"]),
    ("zero learning rate", "{config:cmc} --set pretrain.learning_rate=0",
     ["pretrain.learning_rate", "(0.0, inf]"]),
    ("negative hidden layer size", "{config:cmc} --set model.classifier_hidden_dims=[-4]",
     ["model.classifier_hidden_dims[0]", "-4"]),
    ("contrastive views without augmentation",
     "{config:simclr_inertial} --set augment.inertial={{}}",
     ["augment.inertial", "identical", "none"]),
    ("augmentations that never apply",
     "{config:simclr_inertial} --set augment.inertial.jitter.p=0 --set augment.inertial.scale.p=0 "
     "--set augment.inertial.permute.p=0", ["augment.inertial", "identical"]),
    ("pre-training value of a supervised run",
     "{config:supervised_multimodal} --set pretrain.temperature=0.2",
     ["pretrain.temperature", "supervised", "never used"]),
    ("hidden layers of a linear classifier",
     "{config:simclr_inertial} --set model.classifier=linear",
     ["model.classifier_hidden_dims", "linear", "never used"]),
    ("shuffle buffer without shards", "{config:simclr_inertial} --set pretrain.shuffle_buffer=5",
     ["pretrain.shuffle_buffer", "pretrain.shards", "never used"]),
    ("CMC-CMKM batch larger than the data",
     "{config:cmc_cmkm} --set pretrain.batch_size=500", ["pretrain.batch_size", "500"]),
    ("CMC-CMKM mining encoder that does not fit the data",
     "{config:cmc_cmkm} --set cmkm.encoders.inertial={three_channel_encoder}",
     ["cmkm.encoders.inertial", "(50, 3)", "(50, 6)"]),
    ("augmentation a supervised run never applies",
     "{config:supervised_multimodal} --set augment.inertial.jitter.sigma=0.3",
     ["augment.inertial", "finetune.augment is false"]),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Bad configs and encoder files (the encoder: 3 channels where the data have 6)."""
    folder = tmp_path_factory.mktemp("bad_input")
    paths = {
        "typo_config": folder / "typo.yaml",
        "missing_config": folder / "no_such_config.yaml",
        "broken_config": folder / "broken.yaml",
        "missing_encoder": folder / "missing.keras",
        "three_channel_encoder": folder / "three_channels.keras",
        "corrupt_encoder": folder / "corrupt.keras",
    }
    paths["typo_config"].write_text("method: supervised\nmodel: {inertial: {filter: [8]}}\n")
    paths["broken_config"].write_text("method: [cmc\n")
    paths["corrupt_encoder"].write_bytes(b"PK\x03\x04 not really a keras zip file")
    build_cnn_transformer_encoder(
        window_length=50, num_channels=3, filters=(4, 8, 8), kernel_size=3, num_heads=2,
        num_layers=1, feedforward_dim=16, reduction="mean").save(paths["three_channel_encoder"])
    return paths


def arguments(template: str, files: dict[str, Path], smoke_config) -> list[str]:
    words = []
    for word in template.split():
        if word.startswith("{config:"):
            words += ["--config", smoke_config(word.removeprefix("{config:").rstrip("}"))]
        else:
            words.append(word.format(**{k: str(v) for k, v in files.items()}))
    return words


@pytest.mark.parametrize(("template", "expected"), [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_bad_input_is_one_error_line_and_writes_nothing(template, expected, files, smoke_config,
                                                       train_cli, tmp_path, capsys):
    run_dir = tmp_path / "run"
    result = train_cli(run_dir, *arguments(template, files, smoke_config))
    assert result.code == 2
    assert result.stdout == ""
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1, error
    assert error[0].startswith("error: ")
    for word in expected:
        assert word in error[0]
    assert not run_dir.exists()


def test_a_run_directory_that_is_a_file_is_refused(smoke_config, train_cli, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.write_text("not a folder")
    result = train_cli(run_dir, "--config", smoke_config("cmc"), "--overwrite")
    assert result.code == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and str(run_dir) in error[0]
    assert run_dir.read_text() == "not a folder"

"""The experiment config's schema: one frozen dataclass per YAML section, each field with its
default, allowed values and a one-line description (docs/configuration.md is generated from
these descriptions by `tfhar.config.reference`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from tfhar.augment.specs import DEFAULTS as AUGMENT_DEFAULTS

METHODS = ("supervised", "simclr", "simclr_fusion", "cmc", "cmc_cmkm")
MODALITIES = ("inertial", "skeleton")
SEED_RANGE = (0, 2**32 - 1)  # What numpy and Keras accept as a seed.
# Fields that change how a run reports or protects itself, never its results: they are left
# out of the config hash and never stop a run from resuming.
NON_RESULT_FIELDS = ("runtime.verbose", "runtime.backup", "runtime.embedding_plot")


def _field(default: Any, doc: str, *, choices: tuple | None = None, low: float | None = None,
           high: float | None = None, low_open: bool = False, high_open: bool = False,
           item_low: int | None = None) -> Any:
    """A dataclass field with its description and validation metadata: `choices`, a range
    [low, high] (open at an end with low_open / high_open), `item_low` for list entries."""
    metadata = {"doc": doc, "choices": choices, "low": low, "high": high, "low_open": low_open,
                "high_open": high_open, "item_low": item_low}
    if isinstance(default, dict | list):
        return dataclasses.field(default_factory=lambda: _copy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return list(value) if isinstance(value, list) else value


def _section(cls: type, doc: str) -> Any:
    return dataclasses.field(default_factory=cls, metadata={"doc": doc})


AugmentSpec = dict[str, dict[str, Any]] | Literal["none"]


@dataclasses.dataclass(frozen=True)
class DataConfig:
    dataset: str = _field("utd_mhad", "dataset name (python -m tfhar.data lists them)")
    root: str | None = _field(None, "data folder; default $TFHAR_DATA_DIR/<dataset>")
    protocol: str = _field("cross_subject", "subject split: cross_subject (with a validation "
                           "subject), paper (the paper's, no validation), leave_subjects_out, "
                           "or one the dataset defines (docs/datasets.md)")
    protocol_options: dict[str, Any] = _field({}, "options of the protocol, e.g. for "
                                              "leave_subjects_out {test: [5, 6], val: [4]} or "
                                              "{num_test: 2, num_val: 1, seed: 0}")
    modalities: tuple[str, ...] = _field(MODALITIES, "modalities the model reads: inertial, "
                                         "skeleton or both")
    window_length: int = _field(50, "time steps every sequence is resampled to", low=8)
    label_fraction: float = _field(1.0, "fraction of each class's training windows with labels "
                                   "(semi-supervised); pre-training sees all", low=0.0,
                                   low_open=True, high=1.0)
    label_fraction_seed: int = _field(0, "which labelled subset label_fraction draws",
                                      low=SEED_RANGE[0], high=SEED_RANGE[1])
    pretrain_subjects: str = _field(
        "training", "whose windows pre-training (and every other use of unlabelled windows: "
        "standardize's statistics, BatchNorm re-estimation) sees: training (the training "
        "subjects', inductive) or all (the validation and test subjects' too, without labels: "
        "transductive, as a deployment pre-training on its wearers' own unlabelled "
        "recordings; labels, checkpoints and scores stay as they are)",
        choices=("training", "all"))
    options: dict[str, Any] = _field({}, "extra options of the dataset's loader (e.g. "
                                     "synthetic sizes; tfhar.data.loader_options lists them)")
    standardize: bool = _field(False, "standardize each inertial channel with the training "
                               "windows' mean and std (over windows and steps) before "
                               "augmentation, in every split; exported models standardize "
                               "inside, so phones still feed raw units")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    inertial: AugmentSpec = _field(
        AUGMENT_DEFAULTS["utd_mhad"]["inertial"], "inertial augmentations applied in order, "
        "name -> {p: probability, parameter: value}; `none` for none (see README, Augmentations)")
    skeleton: AugmentSpec = _field(
        AUGMENT_DEFAULTS["utd_mhad"]["skeleton"], "skeleton augmentations, as for inertial")


@dataclasses.dataclass(frozen=True)
class InertialEncoderConfig:
    filters: tuple[int, ...] = _field((32, 64, 128), "Conv1D filters, one convolution each",
                                      item_low=1)
    kernel_size: int = _field(5, "Conv1D kernel size (time steps)", low=1)
    num_heads: int = _field(2, "attention heads; must divide filters[-1]", low=1)
    num_layers: int = _field(2, "transformer encoder layers", low=0)
    feedforward_dim: int = _field(2048, "transformer feed-forward width", low=1)
    dropout: float = _field(0.1, "dropout of positions and transformer layers", low=0.0,
                            high=1.0, high_open=True)
    reduction: str = _field("flatten", "features from the sequence: flatten (the paper), mean "
                            "or max pooling over time", choices=("flatten", "mean", "max"))


@dataclasses.dataclass(frozen=True)
class SkeletonEncoderConfig:
    output_dim: int = _field(256, "HCN feature size (filters of its last convolution)", low=1)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    inertial: InertialEncoderConfig = _section(InertialEncoderConfig,
                                               "the CNN + transformer inertial encoder")
    skeleton: SkeletonEncoderConfig = _section(SkeletonEncoderConfig, "the HCN skeleton encoder")
    projection_hidden_dim: int = _field(256, "projection head hidden width (pre-training)", low=1)
    projection_dim: int = _field(128, "projection head output size (pre-training)", low=1)
    classifier: str = _field("mlp", "classifier on the features: mlp (hidden layers "
                             "classifier_hidden_dims) or linear (after the fusion, for several "
                             "modalities)", choices=("mlp", "linear"))
    classifier_hidden_dims: tuple[int, ...] = _field((256, 128), "hidden layers of the mlp "
                                                     "classifier", item_low=1)
    fusion_hidden_dim: int = _field(256, "per-modality Dense width before the fusion (several "
                                    "modalities)", low=1)
    sync_batchnorm: bool = _field(False, "BatchNorm statistics of the global batch, across the "
                                  "replicas of runtime.strategy mirrored or multi_worker "
                                  "(false: each replica's own batch and moving statistics)")


@dataclasses.dataclass(frozen=True)
class ModalityPretrainConfig:
    """Per-modality overrides of the SimCLR pre-training (simclr_fusion trains one per modality)."""

    batch_size: int | None = _field(None, "SimCLR batch size for this modality", low=2)
    temperature: float | None = _field(None, "NT-Xent temperature for this modality", low=0.0,
                                       low_open=True)
    epochs: int | None = _field(None, "pre-training epochs for this modality", low=0)


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    epochs: int = _field(300, "pre-training epochs", low=0)
    batch_size: int = _field(128, "contrastive batch size (windows)", low=2)
    learning_rate: float = _field(1e-3, "Adam learning rate", low=0.0, low_open=True)
    temperature: float = _field(0.1, "temperature of the contrastive loss", low=0.0,
                                low_open=True)
    lr_patience: int = _field(20, "epochs without a lower loss before the rate is multiplied "
                              "by lr_factor", low=1)
    lr_factor: float = _field(0.5, "learning-rate factor on a plateau", low=0.0, high=1.0,
                              low_open=True, high_open=True)
    shards: str | None = _field(None, "folder of TFRecord shards (python -m tfhar.data shard) "
                                "streamed for pre-training instead of the training windows; "
                                "fine-tuning still uses the data section (docs/distributed.md)")
    shuffle_buffer: int = _field(10000, "windows held in the shuffle buffer when streaming "
                                 "pretrain.shards", low=1)
    inertial: ModalityPretrainConfig = _section(ModalityPretrainConfig,
                                                "SimCLR overrides for the inertial encoder "
                                                "(cmc_cmkm: its inertial mining encoder)")
    skeleton: ModalityPretrainConfig = _section(ModalityPretrainConfig,
                                                "SimCLR overrides for the skeleton encoder "
                                                "(cmc_cmkm: its skeleton mining encoder)")


@dataclasses.dataclass(frozen=True)
class CMKMConfig:
    """Cross-modal knowledge mining of method cmc_cmkm (Brinzea et al., IJCNN 2022)."""

    encoders: dict[str, str] = _field({}, "{modality: path.keras}: frozen SimCLR encoders whose "
                                      "feature similarities mine each batch; a modality not "
                                      "given is pre-trained here with SimCLR (pretrain.<modality>"
                                      " settings) into encoders/mining_<modality>.keras")
    positives: int = _field(1, "k: each sample's k nearest neighbours in a mining encoder's "
                            "space are extra positives among that modality's candidates", low=0)
    symmetric_positives: bool = _field(False, "the neighbours of both mining spaces are "
                                       "positives in both modalities (off in the paper)")
    intra_modal_negatives_weight: float = _field(1.0, "lambda: weight of the anchor's own "
                                                 "modality's samples as extra negatives "
                                                 "(its neighbours as positives); 0: none",
                                                 low=0.0)
    intra_modal_temperature: float = _field(1.0, "temperature of the intra-modal similarities "
                                            "(1: unscaled, as in the authors' code)", low=0.0,
                                            low_open=True)
    negative_pruning_threshold: float | None = _field(
        None, "gamma: a sample whose mean mining similarity to the batch exceeds it is no "
        "negative; null: off (the paper)", low=-1.0, high=1.0)
    loss_weighting_scale: float | None = _field(None, "s: each anchor's loss term times "
                                                "exp(s x its mean mining similarity to the "
                                                "batch); null: off (the paper)")


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = _field(100, "classifier (or supervised) training epochs", low=0)
    batch_size: int = _field(64, "batch size", low=1)
    learning_rate: float = _field(1e-3, "Adam learning rate", low=0.0, low_open=True)
    lr_patience: int = _field(10, "epochs without validation gain before the rate is "
                              "multiplied by lr_factor", low=1)
    lr_factor: float = _field(0.5, "learning-rate factor on a plateau", low=0.0, high=1.0,
                              low_open=True, high_open=True)
    trainable_encoders: bool = _field(False, "true: fine-tune the pre-trained encoders too "
                                      "(SSL methods); supervised always trains them")
    augment: bool = _field(False, "augment labelled windows (the augment section) while "
                           "training the classifier or the supervised model")
    encoders: dict[str, str] = _field({}, "{modality: path.keras}: pre-trained encoders to "
                                      "fine-tune instead of pre-training them")
    modalities: tuple[str, ...] = _field(
        (), "modalities the classifier reads after cross-modal pre-training (cmc, cmc_cmkm); "
        "empty: every modality of data.modalities. [inertial] fits the IMU-only (phone) "
        "classifier on an inertial encoder pre-trained with skeletons (the fusion settings "
        "then go unused)")
    batch_norm_statistics: str = _field(
        "pretrained", "BatchNorm statistics of frozen encoders in inference mode: pretrained "
        "(those of pre-training, from augmented views) or training_windows (re-estimated on "
        "the clean training windows before the classifier is fitted)",
        choices=("pretrained", "training_windows"))
    frozen_encoder_mode: str = _field(
        "inference", "how frozen encoders run while the classifier trains: inference (BatchNorm "
        "moving statistics, no dropout; the paper) or train (batch statistics, dropout; what "
        "the authors' Lightning code does)", choices=("inference", "train"))
    monitor: str = _field("last", "which checkpoint is tested, and what drives the plateau "
                          "schedule: last (the last epoch of a fixed number; the schedule "
                          "follows the training loss), val_loss or val_accuracy (the epoch of "
                          "the best validation value; it drives the schedule), or auto (the "
                          "former default: val_loss for a classifier on frozen encoders, last "
                          "when the encoders train). last was chosen by nested "
                          "leave-one-subject-out over UTD-MHAD's training subjects "
                          "(pipelines/results/utd_mhad/tune_checkpoint_rule*): on CMC's frozen "
                          "features val_loss 88.4, last 87.9, val_accuracy 83.3; on inertial "
                          "SimCLR's last 59.6, val_accuracy 57.8, val_loss 55.0; supervised "
                          "inertial last 73.6, val_accuracy 69.2, val_loss 68.7",
                          choices=("auto", "val_accuracy", "val_loss", "last"))


def checkpoint_rule(monitor: str, trainable_encoders: bool) -> str:
    """`finetune.monitor` resolved: `auto` (the former default, kept so that runs saved with it
    still match) is val_loss for a classifier on frozen encoders and last when the encoders
    train with it (supervised training, fine-tuning); any other value is returned as it is."""
    if monitor != "auto":
        return monitor
    return "last" if trainable_encoders else "val_loss"


def classifier_modalities(config: Config) -> tuple[str, ...]:
    """The modalities the classifier of `config` reads: `finetune.modalities`, else every
    modality of `data.modalities`."""
    return config.finetune.modalities or config.data.modalities


def trains_encoders(config: Config) -> bool:
    """Whether the labelled stage of `config` trains the encoders (supervised training, or
    `finetune.trainable_encoders`)."""
    return config.method == "supervised" or config.finetune.trainable_encoders


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    seed: int = _field(0, "seed of weights, augmentations and shuffling", low=SEED_RANGE[0],
                       high=SEED_RANGE[1])
    precision: str = _field("float32", "float32, mixed_float16 (GPUs), mixed_bfloat16 (CPUs "
                            "with bfloat16 units, TPUs) or auto (mixed_bfloat16 on CPUs with AMX "
                            "or AVX-512 BF16, float32 elsewhere: faster, but CMC scored about 1 "
                            "point lower under cross-validation, so not the default; "
                            "pipelines/results/utd_mhad/tune_precision)",
                            choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"))
    strategy: str = _field("default", "tf.distribute strategy: default (one device), mirrored "
                           "(the devices of one machine) or multi_worker (TF_CONFIG)",
                           choices=("default", "mirrored", "multi_worker"))
    jit_compile: bool = _field(False, "compile training steps with XLA")
    verbose: int = _field(1, "Keras progress output: 0 none, 1 bar, 2 a line per epoch "
                          "(not part of the config hash)", choices=(0, 1, 2))
    embedding_plot: bool = _field(True, "write t-SNE maps of the test features (not part of "
                                  "the config hash)")
    backup: bool = _field(True, "per-epoch backup that an interrupted stage resumes from (not "
                          "part of the config hash)")


@dataclasses.dataclass(frozen=True)
class Config:
    method: str = _field("cmc", "supervised, simclr (one modality), simclr_fusion (SimCLR per "
                         "modality, then fusion), cmc (across modalities) or cmc_cmkm (CMC with "
                         "cross-modal knowledge mining, docs/cmc_cmkm.md)", choices=METHODS)
    data: DataConfig = _section(DataConfig, "what to load and how to split it")
    augment: AugmentConfig = _section(AugmentConfig, "augmentations (pre-training views; "
                                      "labelled windows with finetune.augment)")
    model: ModelConfig = _section(ModelConfig, "encoders and heads")
    pretrain: PretrainConfig = _section(PretrainConfig, "contrastive pre-training")
    cmkm: CMKMConfig = _section(CMKMConfig, "positive and negative mining of method cmc_cmkm")
    finetune: FinetuneConfig = _section(FinetuneConfig, "classifier training (after "
                                        "pre-training) or supervised training")
    runtime: RuntimeConfig = _section(RuntimeConfig, "seed, precision, strategy, logging")

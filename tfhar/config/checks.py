"""Cross-field checks: what the method needs, and no value silently ignored.

A config is refused (ConfigError naming the key) when it would do something other than it says:
- a contrastive method pre-trains a modality without augmentation (its views would be
  identical, a trivial pretext task) unless the config says `augment.<modality>: none`;
- a value differs from its default where the chosen method never reads it (e.g. `pretrain.*`
  for supervised training, `classifier_hidden_dims` with a linear classifier). With
  `finetune.encoders`, the `pretrain` and `augment` sections may describe how the given
  encoders were pre-trained (the pipelines reuse one row's encoders in another): kept as a
  record of the run's provenance, not refused.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tfhar.config.loading import ConfigError
from tfhar.config.schema import MODALITIES, Config

_DEFAULTS = Config()


def _get(config: Any, path: str) -> Any:
    for part in path.split("."):
        config = getattr(config, part)
    return config


def _changed(config: Config, path: str) -> list[str]:
    """The field paths under `path` (a field or a section) whose value is not the default."""
    value, default = _get(config, path), _get(_DEFAULTS, path)
    if dataclasses.is_dataclass(value):
        return [changed for field in dataclasses.fields(value)
                for changed in _changed(config, f"{path}.{field.name}")]
    return [path] if value != default else []


def _augments(spec: Any) -> bool:
    """Whether an augment section applies anything (some entry with p > 0)."""
    return spec != "none" and any((params or {}).get("p", 1.0) > 0 for params in spec.values())


def pretrained_modalities(config: Config) -> tuple[str, ...]:
    """The modalities whose encoders this config pre-trains (not given in finetune.encoders)."""
    given = set(config.finetune.encoders)
    if config.method == "supervised" or (config.method in ("cmc", "cmc_cmkm")
                                         and len(given) == 2):
        return ()
    return tuple(m for m in config.data.modalities if m not in given)


def _unused(config: Config) -> list[tuple[str, str]]:
    """(field path, why the method never reads it) for every non-default unused value."""
    method, modalities = config.method, config.data.modalities
    found = []

    def unused(path: str, why: str) -> None:
        found.extend((changed, why) for changed in _changed(config, path))

    for modality in MODALITIES:
        if modality not in modalities:
            for section in ("augment", "model", "pretrain"):
                unused(f"{section}.{modality}",
                       f"data.modalities {list(modalities)} leave out {modality}")
    if method == "supervised":
        for name in ("pretrain", "model.projection_hidden_dim", "model.projection_dim"):
            unused(name, "method 'supervised' does not pre-train")
        for name in ("finetune.trainable_encoders", "finetune.frozen_encoder_mode",
                     "finetune.batch_norm_statistics"):
            unused(name, "method 'supervised' always trains its encoders")
    elif config.finetune.trainable_encoders:
        for name in ("finetune.frozen_encoder_mode", "finetune.batch_norm_statistics"):
            unused(name, "it applies to frozen encoders, and finetune.trainable_encoders is "
                   "true")
    elif config.finetune.frozen_encoder_mode == "train":
        unused("finetune.batch_norm_statistics", "frozen encoders in training mode normalize "
               "with batch statistics")
    if method == "cmc":
        for modality in MODALITIES:
            unused(f"pretrain.{modality}", "method 'cmc' trains both encoders with "
                   "pretrain.batch_size, temperature and epochs")
    if method != "cmc_cmkm":
        unused("cmkm", f"method {method!r} mines no positives; cmc_cmkm does")
    elif config.cmkm.positives == 0:
        unused("cmkm.symmetric_positives", "cmkm.positives is 0: nothing is mined")
    if method == "cmc_cmkm" and config.cmkm.intra_modal_negatives_weight == 0:
        unused("cmkm.intra_modal_temperature", "cmkm.intra_modal_negatives_weight is 0: no "
               "intra-modal terms")
    # Given encoders (finetune.encoders) were pre-trained elsewhere: the pre-training sections
    # may describe how, so they are kept as a record rather than refused.
    described = set(pretrained_modalities(config)) | set(config.finetune.encoders)
    for modality in modalities:
        if modality not in described and not config.finetune.augment:
            unused(f"augment.{modality}", f"the {modality} encoder is not pre-trained, and "
                   "finetune.augment is false")
    # A config of several modalities keeps its fusion settings with finetune.modalities of
    # one: a shipped CMC config takes `finetune.modalities=[inertial]` as it is.
    if len(modalities) == 1:
        unused("model.fusion_hidden_dim", "it applies to the fusion of several modalities")
    if config.model.classifier == "linear":
        unused("model.classifier_hidden_dims", "model.classifier is linear")
    if config.pretrain.shards is None:
        unused("pretrain.shuffle_buffer", "it applies to pretrain.shards, which is not set")
    if "inertial" not in modalities:
        unused("data.standardize", "it standardizes inertial channels, and data.modalities "
               "leave out inertial")
    if not pretrained_modalities(config):
        unused("data.pretrain_subjects", "nothing is pre-trained (method 'supervised', or "
               "every encoder given in finetune.encoders)")
    if config.data.label_fraction == 1.0:
        unused("data.label_fraction_seed", "data.label_fraction is 1 (every label is used)")
    return found


def validate(config: Config) -> Config:
    """Cross-field checks of a built config; returns it, or raises ConfigError."""
    modalities = config.data.modalities
    bad = [m for m in modalities if m not in MODALITIES]
    if bad or not modalities or len(set(modalities)) != len(modalities):
        raise ConfigError(
            f"data.modalities: {list(modalities)!r} is not allowed; use a non-empty subset "
            f"of {list(MODALITIES)}")
    if config.method == "simclr" and len(modalities) != 1:
        raise ConfigError(
            f"data.modalities: method 'simclr' pre-trains one modality, got {list(modalities)}; "
            "use simclr_fusion for both")
    if (config.method in ("cmc", "cmc_cmkm", "simclr_fusion")
            and set(modalities) != set(MODALITIES)):
        raise ConfigError(
            f"data.modalities: method {config.method!r} needs both inertial and skeleton, "
            f"got {list(modalities)}")
    _check_encoders(config)
    _check_classifier_modalities(config)
    if config.data.standardize and config.pretrain.shards is not None:
        raise ConfigError("data.standardize: the windows of pretrain.shards are stored in raw "
                          "units and would not be standardized; write standardized shards or "
                          "leave data.standardize false")
    from tfhar.augment import specs  # Pure Python: no TensorFlow import.

    for modality in MODALITIES:
        spec = getattr(config.augment, modality)
        for name, params in ({} if spec == "none" else spec).items():
            try:
                specs.validate(modality, name, params)
            except ValueError as error:
                raise ConfigError(f"augment.{modality}.{name}: {error}") from None
    for modality in pretrained_modalities(config):
        spec = getattr(config.augment, modality)
        if spec != "none" and not _augments(spec):
            raise ConfigError(
                f"augment.{modality}: no augmentation applies, so the contrastive views of a "
                f"{modality} window would be identical (a trivial pretext task); list "
                f"augmentations, or write `augment.{modality}: none` to mean it")
    if config.finetune.augment and not any(
            _augments(getattr(config.augment, m)) for m in modalities):
        raise ConfigError("finetune.augment: true, but no augment section of "
                          f"{list(modalities)} applies anything")
    unused = _unused(config)
    if unused:
        path, why = unused[0]
        raise ConfigError(f"{path}: {_get(config, path)!r} is set but never used ({why}); "
                          "remove it")
    return config


def _check_classifier_modalities(config: Config) -> None:
    chosen = config.finetune.modalities
    if not chosen:
        return
    if config.method not in ("cmc", "cmc_cmkm"):
        raise ConfigError(f"finetune.modalities: method {config.method!r} pre-trains every "
                          "modality it reads for its classifier; set data.modalities instead "
                          "(finetune.modalities is for cmc and cmc_cmkm)")
    if (len(set(chosen)) != len(chosen)
            or any(m not in config.data.modalities for m in chosen)):
        raise ConfigError(f"finetune.modalities: {list(chosen)!r} is not allowed; use a "
                          f"non-empty subset of data.modalities {list(config.data.modalities)}")


def _check_encoders(config: Config) -> None:
    for modality, path in config.finetune.encoders.items():
        if modality not in MODALITIES:
            raise ConfigError(f"finetune.encoders.{modality}: unknown modality; "
                              f"allowed: {', '.join(MODALITIES)}")
        if modality not in config.data.modalities:
            raise ConfigError(f"finetune.encoders.{modality}: the run's data.modalities are "
                              f"{list(config.data.modalities)}")
        if not Path(path).is_file():
            raise ConfigError(f"finetune.encoders.{modality}: encoder file {path!r} not found")
    if config.finetune.encoders and config.method == "supervised":
        raise ConfigError("finetune.encoders: method 'supervised' trains its encoders from "
                          "scratch; pre-trained encoders are for simclr, simclr_fusion, cmc "
                          "and cmc_cmkm")
    if config.method in ("cmc", "cmc_cmkm") and len(config.finetune.encoders) == 1:
        raise ConfigError(f"finetune.encoders: method {config.method!r} pre-trains both "
                          "encoders together; give both inertial and skeleton, or neither")
    _check_mining(config)


def _check_mining(config: Config) -> None:
    """cmkm.encoders name modalities and existing files; k neighbours exist in a batch."""
    for modality, path in config.cmkm.encoders.items():
        if modality not in MODALITIES:
            raise ConfigError(f"cmkm.encoders.{modality}: unknown modality; "
                              f"allowed: {', '.join(MODALITIES)}")
        if not Path(path).is_file():
            raise ConfigError(f"cmkm.encoders.{modality}: encoder file {path!r} not found")
    if config.method == "cmc_cmkm" and config.cmkm.positives >= config.pretrain.batch_size:
        raise ConfigError(f"cmkm.positives: {config.cmkm.positives} neighbours cannot be mined "
                          f"among the other {config.pretrain.batch_size - 1} windows of a batch "
                          f"(pretrain.batch_size {config.pretrain.batch_size}); lower it")

"""Experiment configuration: YAML files -> frozen dataclasses, with `--set a.b=value` overrides.

One section per dataclass (`data`, `augment`, `model`, `pretrain`, `finetune`, `runtime`) plus
the top-level `method`. Unknown keys and bad values raise `ConfigError` naming the key path, the
value and what is allowed. Configs are read here and in the CLIs only; everything below them
takes plain arguments.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any

import yaml

METHODS = ("supervised", "simclr", "simclr_fusion", "cmc")
MODALITIES = ("inertial", "skeleton")


class ConfigError(ValueError):
    """A config file, key or value is not valid."""


def _field(default: Any, *, choices: tuple | None = None, low: float | None = None,
           high: float | None = None, **kwargs: Any) -> Any:
    """A dataclass field with validation metadata (choices, inclusive range)."""
    metadata = {"choices": choices, "low": low, "high": high}
    if isinstance(default, dict | list):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    dataset: str = "utd_mhad"
    root: str | None = None  # Defaults to $TFHAR_DATA_DIR/<dataset>.
    protocol: str = "cross_subject"
    modalities: tuple[str, ...] = ("inertial", "skeleton")
    window_length: int = _field(50, low=8)
    label_fraction: float = _field(1.0, low=1e-6, high=1.0)
    label_fraction_seed: int = 0
    options: dict[str, Any] = _field({})  # Extra loader options, e.g. synthetic sizes.


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    # name -> {p: probability, parameter: value}, applied in the order written.
    inertial: dict[str, dict[str, Any]] = _field({})
    skeleton: dict[str, dict[str, Any]] = _field({})


@dataclasses.dataclass(frozen=True)
class InertialEncoderConfig:
    filters: tuple[int, ...] = (32, 64, 128)
    kernel_size: int = _field(5, low=1)
    num_heads: int = _field(2, low=1)
    num_layers: int = _field(2, low=0)
    feedforward_dim: int = _field(2048, low=1)
    dropout: float = _field(0.1, low=0.0, high=0.99)
    reduction: str = _field("flatten", choices=("flatten", "mean", "max"))


@dataclasses.dataclass(frozen=True)
class SkeletonEncoderConfig:
    output_dim: int = _field(256, low=1)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    inertial: InertialEncoderConfig = dataclasses.field(default_factory=InertialEncoderConfig)
    skeleton: SkeletonEncoderConfig = dataclasses.field(default_factory=SkeletonEncoderConfig)
    projection_hidden_dim: int = _field(256, low=1)
    projection_dim: int = _field(128, low=1)
    classifier: str = _field("mlp", choices=("mlp", "linear"))
    classifier_hidden_dims: tuple[int, ...] = (256, 128)
    fusion_hidden_dim: int = _field(256, low=1)


@dataclasses.dataclass(frozen=True)
class ModalityPretrainConfig:
    """Per-modality overrides of the SimCLR pre-training (simclr_fusion trains one per modality)."""

    batch_size: int | None = _field(None, low=2)
    temperature: float | None = _field(None, low=1e-4)
    epochs: int | None = _field(None, low=0)


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    epochs: int = _field(300, low=0)
    batch_size: int = _field(128, low=2)
    learning_rate: float = _field(1e-3, low=0.0)
    temperature: float = _field(0.1, low=1e-4)
    lr_patience: int = _field(20, low=1)  # Halve the learning rate when the loss plateaus.
    lr_factor: float = _field(0.5, low=0.0, high=1.0)
    inertial: ModalityPretrainConfig = dataclasses.field(default_factory=ModalityPretrainConfig)
    skeleton: ModalityPretrainConfig = dataclasses.field(default_factory=ModalityPretrainConfig)


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = _field(100, low=0)
    batch_size: int = _field(64, low=1)
    learning_rate: float = _field(1e-3, low=0.0)
    lr_patience: int = _field(10, low=1)  # Halve the learning rate when validation plateaus.
    lr_factor: float = _field(0.5, low=0.0, high=1.0)
    trainable_encoders: bool = False  # True: full fine-tuning instead of frozen encoders.
    augment: bool = False  # Augment labelled examples during supervised / fine-tuning.
    encoders: dict[str, str] = _field({})  # {modality: path.keras}: skip pre-training.
    # How frozen encoders run while the classifier trains: "inference" (BatchNorm moving
    # statistics, no dropout: the paper's frozen encoder) or "train" (batch statistics that
    # update the moving ones, dropout on; weights still frozen), which is what the authors'
    # PyTorch Lightning code does, as Lightning puts every module back in training mode.
    frozen_encoder_mode: str = _field("inference", choices=("inference", "train"))
    # The validation metric that picks the checkpoint tested and drives the plateau schedule
    # (without a validation split: the training loss).
    monitor: str = _field("val_accuracy", choices=("val_accuracy", "val_loss"))


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    seed: int = 0
    precision: str = _field(
        "float32", choices=("float32", "mixed_float16", "mixed_bfloat16"))
    strategy: str = _field("default", choices=("default", "mirrored", "multi_worker"))
    jit_compile: bool = False
    verbose: int = _field(1, choices=(0, 1, 2))
    embedding_plot: bool = True
    backup: bool = True  # per-epoch BackupAndRestore: an interrupted stage resumes


@dataclasses.dataclass(frozen=True)
class Config:
    method: str = _field("cmc", choices=METHODS)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    pretrain: PretrainConfig = dataclasses.field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = dataclasses.field(default_factory=FinetuneConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)


def _coerce(value: Any, hint: Any, path: str) -> Any:
    """Convert a YAML value to the field type `hint`, or raise ConfigError naming `path`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, path)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if hint is Any:
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        return tuple(_coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1], f"{path}.{k}") for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {hint}")  # pragma: no cover


def _check(value: Any, field: dataclasses.Field, path: str) -> None:
    """Check a coerced value against the field's choices and range."""
    meta = field.metadata
    if value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        allowed = ", ".join(map(str, meta["choices"]))
        raise ConfigError(f"{path}: {value!r} is not allowed; choose one of {allowed}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None and value < low or high is not None and value > high:
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ConfigError(f"{path}: {value!r} is out of range {bounds}")


def _build(cls: type, values: Any, path: str) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        key = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(f"unknown config key {key!r}; allowed: {', '.join(fields)}")
    kwargs = {}
    for name, value in values.items():
        key = f"{path}.{name}" if path else name
        kwargs[name] = _coerce(value, hints[name], key)
        _check(kwargs[name], fields[name], key)
    return cls(**kwargs)


def _validate(config: Config) -> Config:
    """Cross-field checks: modalities, method needs, augmentation specs."""
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
    if config.method in ("cmc", "simclr_fusion") and set(modalities) != set(MODALITIES):
        raise ConfigError(
            f"data.modalities: method {config.method!r} needs both inertial and skeleton, "
            f"got {list(modalities)}")
    for modality, path in config.finetune.encoders.items():
        if modality not in MODALITIES:
            raise ConfigError(f"finetune.encoders.{modality}: unknown modality; "
                              f"allowed: {', '.join(MODALITIES)}")
        if not Path(path).is_file():
            raise ConfigError(f"finetune.encoders.{modality}: encoder file {path!r} not found")
    from tfhar.augment import specs  # Pure Python: no TensorFlow import.

    for modality in MODALITIES:
        for name, params in getattr(config.augment, modality).items():
            try:
                specs.validate(modality, name, params)
            except ValueError as error:
                raise ConfigError(f"augment.{modality}.{name}: {error}") from None
    return config


def _set_path(tree: dict, key: str, value: Any) -> None:
    """Set `tree[a][b][c] = value` for key 'a.b.c', creating mappings on the way."""
    *parents, last = key.split(".")
    node = tree
    for i, part in enumerate(parents):
        child = node.setdefault(part, {})
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parents[:i + 1])} is not a section")
        node = child
    node[last] = value


def parse_override(text: str) -> tuple[str, Any]:
    """'pretrain.epochs=5' -> ('pretrain.epochs', 5); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. pretrain.epochs=5")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_config(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> Config:
    """Read a YAML config (or the defaults when `path` is None) and apply `--set` overrides."""
    tree: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} not found")
        try:
            tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: "
                              f"{str(error).splitlines()[0]}") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"config file {str(path)!r}: expected a mapping at the top level")
    for text in overrides:
        key, value = parse_override(text)
        _set_path(tree, key, value)
    return _validate(_build(Config, tree, ""))


def to_dict(config: Any) -> dict:
    """The config as plain YAML-friendly values (tuples become lists)."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config))


def matches_saved(path: str | Path, config: Config) -> bool:
    """Whether the config.yaml at `path` is `config`. Compared parsed, so a file written before
    a key was added (with its default) still matches; an unreadable file does not."""
    try:
        return load_config(path) == config
    except ConfigError:
        return False


def dump_config(config: Config) -> str:
    """The resolved config as YAML text (loadable by `load_config`)."""
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def config_hash(config: Config) -> str:
    """A short stable hash of the resolved config."""
    text = json.dumps(to_dict(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]

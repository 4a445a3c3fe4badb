"""YAML (or a shipped config's name) + `--set` overrides -> a validated, frozen `Config`.

Values are read as YAML 1.2 (so `1e-3` is a number, as in JSON and Python), coerced to each
field's type, and checked against its choices and range; numbers must be finite. Errors are
`ConfigError`s naming the key path, the value and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from tfhar.config.schema import (
    NON_RESULT_FIELDS,
    Config,
    FinetuneConfig,
    ModelConfig,
    checkpoint_rule,
    trains_encoders,
)


class ConfigError(ValueError):
    """A config file, key or value is not valid."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: `1e-3` and `.5` are numbers."""


_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def parse_yaml(text: str) -> Any:
    """YAML text -> Python values, with YAML 1.2 floats."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def _coerce(value: Any, hint: Any, path: str) -> Any:
    """Convert a YAML value to the field type `hint`, or raise ConfigError naming `path`."""
    from tfhar.config.building import build

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for alternative in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, alternative, path)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else
                          f"{path}: {value!r} is not valid here ({'; or '.join(errors)})")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{path}: expected {' or '.join(map(repr, args))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path)
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
        if not math.isfinite(value):
            raise ConfigError(f"{path}: expected a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {hint}")  # pragma: no cover


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
    """'pretrain.epochs=5' -> ('pretrain.epochs', 5); the value is read as YAML 1.2."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. pretrain.epochs=5")
    try:
        value = parse_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def shipped_configs_dir() -> Path:
    """The folder of the configs shipped with tfhar (the package `tfhar.configs`)."""
    try:
        import importlib.resources

        return Path(str(importlib.resources.files("tfhar.configs")))
    except ModuleNotFoundError:  # Run from a checkout without installing it.
        return Path(__file__).resolve().parents[2] / "configs"


def shipped_configs(searches: bool = False) -> list[str]:
    """Names of the shipped experiment configs, e.g. 'utd_mhad/cmc' (loadable by
    `load_config`), or with `searches` those of the shipped searches ('tune/...', for
    `tfhar-tune`)."""
    root = shipped_configs_dir()
    names = sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))
    return [n for n in names if n.startswith("tune/") == searches]


def resolve_config_path(name: str | Path) -> Path:
    """A config file's path: `name` itself when it is a file, else the shipped config
    `name` (e.g. 'utd_mhad/cmc' or 'utd_mhad/cmc.yaml'); ConfigError when neither exists."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = shipped_configs_dir() / path.with_suffix(".yaml")
    if not path.is_absolute() and shipped.is_file():
        return shipped
    raise ConfigError(f"config file {str(name)!r} not found, and it is not a shipped config "
                      f"name (e.g. {', '.join(shipped_configs()[:3])}; "
                      "`tfhar-train --help` lists them)")


def read_tree(path: str | Path) -> dict:
    """The mapping in a YAML config file (a path or a shipped name); ConfigError otherwise."""
    path = resolve_config_path(path)
    try:
        tree = parse_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: "
                          f"{str(error).splitlines()[0]}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {error}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"config file {str(path)!r}: expected a mapping at the top level")
    return tree


def config_from_tree(tree: dict, overrides: typing.Sequence[str] = (),
                     values: dict[str, Any] | None = None) -> Config:
    """Build and validate a Config from a mapping, `--set` overrides and {dotted.path: value}
    `values` (applied last); raises ConfigError naming the first problem."""
    from tfhar.config.building import build
    from tfhar.config.checks import validate

    tree = copy.deepcopy(tree)
    for text in overrides:
        key, value = parse_override(text)
        _set_path(tree, key, value)
    for key, value in (values or {}).items():
        _set_path(tree, key, copy.deepcopy(value))
    return validate(build(Config, tree, ""))


def load_config(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> Config:
    """Read a YAML config (a path or a shipped name; the defaults when None), apply `--set`
    overrides and validate the whole; raises ConfigError naming the first problem."""
    return config_from_tree(read_tree(path) if path is not None else {}, overrides)


def to_dict_value(value: Any) -> Any:
    """A config value as plain YAML-friendly values (tuples become lists)."""
    if isinstance(value, tuple | list):
        return [to_dict_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_dict_value(v) for k, v in value.items()}
    return value


def to_dict(config: Any) -> dict:
    """The config as plain YAML-friendly values (tuples become lists)."""
    return to_dict_value(dataclasses.asdict(config))


def results_only(config: Config) -> Config:
    """`config` with the NON_RESULT_FIELDS at their defaults and `finetune.monitor: auto`
    resolved (`checkpoint_rule`): what decides a run's results."""
    sections: dict[str, dict] = {"finetune": {"monitor": checkpoint_rule(
        config.finetune.monitor, trains_encoders(config))}}
    for field in NON_RESULT_FIELDS:
        section, name = field.split(".")
        sections.setdefault(section, {})[name] = getattr(Config(), section).__getattribute__(name)
    return dataclasses.replace(config, **{
        section: dataclasses.replace(getattr(config, section), **values)
        for section, values in sections.items()})


def matches_saved(path: str | Path, config: Config) -> bool:
    """Whether the config.yaml at `path` has `config`'s results (NON_RESULT_FIELDS may differ).
    Compared parsed, so a file written before a key was added (with its default) still
    matches; an unreadable or invalid file does not."""
    try:
        return results_only(load_config(path)) == results_only(config)
    except ConfigError:
        return False


def dump_config(config: Config) -> str:
    """The resolved config as YAML text (loadable by `load_config`)."""
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def _differences(config: Any, default: Any) -> dict:
    """{field: value} of the fields of dataclass `config` that differ from `default`'s, section
    by section (a field holding a mapping, such as an augment set, is compared whole)."""
    out = {}
    for field in dataclasses.fields(config):
        value, base = getattr(config, field.name), getattr(default, field.name)
        if dataclasses.is_dataclass(value):
            inner = _differences(value, base)
            if inner:
                out[field.name] = inner
        elif value != base:
            out[field.name] = to_dict_value(value)
    return out


def config_hash(config: Config) -> str:
    """A short stable hash of what decides the results (NON_RESULT_FIELDS left out): of the
    values that differ from the defaults, so that a field added to tfhar later (at its default)
    changes no hash and default run directories resume across upgrades. A changed default
    keeps the hash; the saved config.yaml (all values written out) then no longer matches
    (matches_saved), which is what guards a run directory."""
    text = json.dumps(_differences(results_only(config), results_only(Config())),
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def pretraining_hash(config: Config) -> str:
    """A hash of what decides a pre-training: the config without its fine-tuning, classifier
    and label-fraction settings (tfhar-tune shares a pre-training between trials of one hash;
    `tfhar-train --refit` keeps a run's pre-training for a config of the same hash)."""
    model = dataclasses.replace(config.model, classifier=ModelConfig.classifier,
                                classifier_hidden_dims=ModelConfig.classifier_hidden_dims,
                                fusion_hidden_dim=ModelConfig.fusion_hidden_dim)
    data = dataclasses.replace(config.data, label_fraction=1.0, label_fraction_seed=0)
    # `auto` precision is what it means on this machine: encoders pre-trained in bfloat16 on
    # one machine are not float32 ones on another.
    runtime = config.runtime
    if runtime.precision == "auto":
        from tfhar.models.precision import resolve_precision  # Imports Keras: only for auto.

        runtime = dataclasses.replace(runtime, precision=resolve_precision(runtime.precision))
    return config_hash(dataclasses.replace(config, model=model, data=data, runtime=runtime,
                                           finetune=FinetuneConfig()))


def own_pretraining_hash(path: str | Path) -> str | None:
    """The `pretraining_hash` of the config saved at `path`; None when it does not load or
    fine-tunes given encoders (`finetune.encoders`: no pre-training of its own to keep)."""
    try:
        saved = load_config(path)
    except ConfigError:
        return None
    return None if saved.finetune.encoders else pretraining_hash(saved)

"""docs/configuration.md: every config field with its default, allowed values and meaning,
generated from the schema (`python -m tfhar.config > docs/configuration.md`; a test checks the
committed file is current)."""

from __future__ import annotations

import dataclasses
import typing

from tfhar.config.building import _bounds
from tfhar.config.schema import NON_RESULT_FIELDS, Config

HEADER = """# Configuration reference

Every field of a tfhar experiment config (YAML), with its default, what is allowed and what
it does. Generated from `tfhar/config/schema.py` by `python -m tfhar.config`; do not edit.
Set fields in a YAML file (`--config FILE` or a shipped name such as `utd_mhad/cmc`) or on the
command line (`--set pretrain.epochs=50`). `python -m tfhar.train --print-config --config ...`
prints a config with every default filled in. Unknown keys, values out of range, NaN or
infinite numbers, and values the chosen method would ignore are refused with one line naming
the key. Fields marked * do not enter the config hash and never stop a run from resuming.
"""


def _allowed(field: dataclasses.Field) -> str:
    meta = field.metadata
    if meta.get("choices"):
        return " / ".join(map(str, meta["choices"]))
    if meta.get("low") is not None or meta.get("high") is not None:
        return _bounds(meta)
    if meta.get("item_low") is not None:
        return f"entries >= {meta['item_low']}"
    return ""


def _rows(cls: type, prefix: str) -> list[str]:
    rows = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        path = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(hints[field.name]):
            rows.append(f"| **`{path}`** | | | {field.metadata.get('doc', '')} |")
            rows += _rows(hints[field.name], f"{path}.")
            continue
        default = getattr(cls(), field.name)
        shown = "(see text)" if isinstance(default, dict) and default else f"`{default!r}`"
        mark = " *" if path in NON_RESULT_FIELDS else ""
        rows.append(f"| `{path}`{mark} | {shown} | {_allowed(field)} | "
                    f"{field.metadata.get('doc', '')} |")
    return rows


def reference() -> str:
    """The Markdown text of docs/configuration.md."""
    lines = [HEADER, "| field | default | allowed | meaning |", "|---|---|---|---|",
             *_rows(Config, ""), "",
             "Default augmentations (the paper's UTD-MHAD sets, `tfhar/augment/specs.py`):", ""]
    for modality in ("inertial", "skeleton"):
        spec = getattr(Config().augment, modality)
        lines.append(f"- `augment.{modality}`: " + "; ".join(
            f"{name} {params}" for name, params in spec.items()))
    return "\n".join(lines) + "\n"

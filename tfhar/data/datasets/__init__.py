"""The dataset registry: name -> loader, its options, default root and download description."""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path

from tfhar.data.errors import DataError
from tfhar.data.record import Record

# Dataset name -> its module in tfhar.data.datasets, imported when first used. Each module has
# `load(root, *, option=default, ...) -> Record`.
_MODULES: dict[str, str] = {
    "utd_mhad": "utd_mhad",
    "berkeley_mhad": "berkeley_mhad",
    "mmact": "mmact",
    "folder": "folder",
    "synthetic": "synthetic",
}
# Datasets with official archives (their modules define BASE_URL and expected_files()).
_DOWNLOADS = ("utd_mhad",)


def _module(name: str):
    return importlib.import_module(f"tfhar.data.datasets.{_MODULES[name]}")


def available_datasets() -> tuple[str, ...]:
    """Names accepted by `load`, sorted."""
    return tuple(sorted(_MODULES))


def get_loader(name: str) -> Callable[..., Record]:
    """The loader registered as `name`; DataError listing the known names otherwise."""
    if name not in _MODULES:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(available_datasets())}")
    return _module(name).load


def loader_options(name: str) -> dict[str, object]:
    """Option name -> default value accepted by dataset `name`'s loader."""
    parameters = inspect.signature(get_loader(name)).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def download_info(name: str) -> tuple[str, dict[str, tuple[str, ...]]]:
    """(base URL, folder -> expected file names) of a downloadable dataset."""
    get_loader(name)
    if name not in _DOWNLOADS:
        downloadable = ", ".join(sorted(_DOWNLOADS))
        raise DataError(f"dataset {name!r} has nothing to download (downloadable: {downloadable})")
    module = _module(name)
    return module.BASE_URL, module.expected_files()


def default_root(name: str) -> Path:
    """$TFHAR_DATA_DIR/<name>, else ~/tfhar_data/<name>."""
    return Path(os.environ.get("TFHAR_DATA_DIR") or Path.home() / "tfhar_data").expanduser() / name


def load(name: str, root: str | os.PathLike | None = None, **options: object) -> Record:
    """Load dataset `name` from `root` (default $TFHAR_DATA_DIR/<name>) as a Record.

    `options` go to the dataset's loader (e.g. `modalities`, `window_length`, `cache`); an
    unknown dataset or option raises DataError listing what is allowed.
    """
    allowed = loader_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DataError(
            f"unknown option(s) {', '.join(unknown)} for dataset {name!r}; "
            f"allowed: {', '.join(allowed)}"
        )
    return get_loader(name)(Path(root) if root is not None else default_root(name), **options)

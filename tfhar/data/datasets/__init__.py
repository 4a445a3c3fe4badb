"""The dataset registry: name -> loader, its options, default root and download description."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path

from tfhar.data.datasets import berkeley_mhad, synthetic, utd_mhad
from tfhar.data.errors import DataError
from tfhar.data.record import Record

# Each loader is `load(root, *, option=default, ...) -> Record`.
_LOADERS: dict[str, Callable[..., Record]] = {
    utd_mhad.NAME: utd_mhad.load,
    berkeley_mhad.NAME: berkeley_mhad.load,
    synthetic.NAME: synthetic.load,
}
# Datasets with official archives: name -> (base URL, folder -> expected file names).
_DOWNLOADS: dict[str, tuple[str, Callable[[], dict[str, tuple[str, ...]]]]] = {
    utd_mhad.NAME: (utd_mhad.BASE_URL, utd_mhad.expected_files),
}


def available_datasets() -> tuple[str, ...]:
    """Names accepted by `load`, sorted."""
    return tuple(sorted(_LOADERS))


def get_loader(name: str) -> Callable[..., Record]:
    """The loader registered as `name`; DataError listing the known names otherwise."""
    if name not in _LOADERS:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(available_datasets())}")
    return _LOADERS[name]


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
    base_url, expected_files = _DOWNLOADS[name]
    return base_url, expected_files()


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

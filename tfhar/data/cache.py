"""A cache of preprocessed arrays: one .npz per (raw files, settings), written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from tfhar.files import atomic_path

# Bump when the preprocessing changes, so caches written by older code are not reused.
# 2: UTD-MHAD all-zero skeleton frames, implausible durations and off-grid file names.
CACHE_VERSION = 2


def default_cache_dir() -> Path:
    """$TFHAR_CACHE_DIR, else ~/.cache/tfhar."""
    return Path(os.environ.get("TFHAR_CACHE_DIR") or Path.home() / ".cache" / "tfhar")


def fingerprint(files: Iterable[Path], settings: Mapping[str, object]) -> str:
    """A hex key over each file's path, size and modification time, and the settings."""
    digest = hashlib.sha256()
    header = {"version": CACHE_VERSION, "settings": dict(settings)}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for path in sorted(Path(p).resolve() for p in files):
        status = path.stat()
        digest.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_path(cache_dir: str | os.PathLike, name: str, key: str) -> Path:
    """The cache file for dataset `name` under `key`."""
    return Path(cache_dir) / f"{name}-{key[:24]}.npz"


def read(path: Path, required: Iterable[str]) -> dict[str, np.ndarray] | None:
    """The arrays stored at `path`, or None if it is absent, unreadable or lacks a required key."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    # A truncated or overwritten cache can fail in many ways (zip, zlib, header parsing): any
    # failure only means the cache is rebuilt.
    except Exception:
        return None
    if any(key not in arrays for key in required):
        return None
    return arrays


def write(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Store `arrays` at `path` via a temporary file in the same folder and an atomic rename,
    so a reader never sees a half-written cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        np.savez(file, **arrays)


def cached(
    cache_dir: str | os.PathLike | None,
    name: str,
    files: Iterable[Path],
    settings: Mapping[str, object],
    required: Iterable[str],
    build: Callable[[], Mapping[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """The arrays `build()` returns, read from the cache of (`files`, `settings`) when it holds
    every `required` key, else built and written there (a failed write only warns).

    cache_dir None: neither read nor write a cache.
    """
    if cache_dir is None:
        return dict(build())
    path = cache_path(cache_dir, name, fingerprint(files, settings))
    arrays = read(path, required)
    if arrays is None:
        arrays = dict(build())
        try:
            write(path, arrays)
        except OSError as error:
            warnings.warn(f"could not write the {name} cache {path}: {error}", stacklevel=3)
    return arrays

"""Fetch a dataset's official zip archives: resumable download, verification, atomic extraction.

For each folder of the dataset (UTD-MHAD: Inertial, Skeleton) whose expected files are not all
present under root: download `<base_url>/<Folder>.zip` to `<root>/<Folder>.zip.part`, resuming a
partial file with an HTTP Range request; check the archive's SHA-256 when one is given (for a
mirror: the official archives' own hashes are not published), its CRCs and expected members;
extract it into a temporary folder inside root, check every extracted file listed in the
SHA-256 list shipped with tfhar (`tfhar/data/checksums/<dataset>.sha256`, `sha256sum` format,
one line per official file) and only then rename the folder into place.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.resources
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from tfhar.data.datasets import default_root, download_info
from tfhar.data.errors import DataError

CHUNK_BYTES = 1 << 16
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _progress_bar(total: int | None, initial: int, name: str, enabled: bool) -> tqdm:
    """A tqdm bar on stderr; a disabled one (no output) unless `enabled`."""
    return tqdm(
        total=total,
        initial=initial,
        desc=name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        leave=False,
        disable=not enabled,
    )


def sha256_file(path: Path) -> str:
    """The SHA-256 of the file at `path`, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_checksums(name: str) -> dict[str, str]:
    """'Folder/file' -> SHA-256 of every official file of dataset `name`, from the list shipped
    in tfhar/data/checksums/<name>.sha256; DataError when it is missing or malformed."""
    resource = importlib.resources.files("tfhar.data") / "checksums" / f"{name}.sha256"
    try:
        lines = resource.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError) as error:
        raise DataError(
            f"no SHA-256 list for dataset {name!r} in this tfhar installation ({resource}): "
            "reinstall tfhar"
        ) from error
    checksums = {}
    for number, line in enumerate(lines, 1):
        digest, _, file = line.strip().partition(" ")
        file = file.strip().removeprefix("*")
        if not (_SHA256.fullmatch(digest) and file):
            raise DataError(f"{resource}: line {number} is not '<sha256>  <file>': {line!r}")
        checksums[file] = digest
    return checksums


def _attempt(url: str, part: Path, timeout: float, progress: bool) -> bool:
    """One request appending to `part` from its current size; True when the file is whole."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # Nothing left to send: the part is already whole.
            return True
        raise DataError(f"could not download {url}: HTTP {error.code} {error.reason}") from error
    with response:
        if offset and response.status != 206:  # The server ignored Range: start again.
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        bar = _progress_bar(total, offset, part.name.removesuffix(".part"), progress)
        received = offset
        try:
            with open(part, "ab" if offset else "wb") as file:
                while chunk := response.read(CHUNK_BYTES):
                    file.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
    return total is None or received >= total


def fetch(
    url: str, destination: Path, *, retries: int = 2, timeout: float = 60.0, progress: bool = True
) -> None:
    """Download `url` to `destination` via `destination.part`, resuming an earlier partial
    download and retrying (with Range) up to `retries` times when the connection drops."""
    part = destination.with_name(destination.name + ".part")
    for attempt in range(retries + 1):
        before = part.stat().st_size if part.exists() else 0
        try:
            if _attempt(url, part, timeout, progress):
                os.replace(part, destination)
                return
            problem = "the connection closed early"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = getattr(error, "reason", error)
            problem = f"{type(error).__name__}: {reason}"
        after = part.stat().st_size if part.exists() else 0
        if after <= before or attempt == retries:  # No progress (e.g. refused): stop trying.
            break
    kept = part.stat().st_size if part.exists() else 0
    hint = f"; {part} keeps {kept} bytes, run again to resume" if kept else ""
    raise DataError(f"could not download {url} ({problem}){hint}")


def verify_zip(path: Path, folder: str, names: Collection[str]) -> None:
    """Check every member's CRC and that `<folder>/<name>` is present for each expected name."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            members = archive.namelist()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
        raise DataError(f"{path}: not a valid zip archive ({error})") from error
    if bad is not None:
        raise DataError(f"{path}: member {bad} is corrupt (CRC mismatch)")
    unsafe = [m for m in members if m.startswith("/") or ".." in PurePosixPath(m).parts]
    if unsafe:
        raise DataError(f"{path}: unsafe member paths {unsafe[:3]}")
    present = {m[len(folder) + 1 :] for m in members if m.startswith(folder + "/")}
    missing = sorted(set(names) - present)
    if missing:
        raise DataError(
            f"{path}: {len(missing)} of {len(names)} expected files are missing "
            f"under {folder}/, e.g. {', '.join(missing[:3])}"
        )


def verify_files(base: Path, folder: str, checksums: Mapping[str, str], source: Path) -> int:
    """Compare every file under `base/folder` that `checksums` ('folder/file' -> SHA-256) lists
    with its SHA-256; DataError naming the first that differs. Returns how many were checked."""
    checked = 0
    for path in sorted((base / folder).rglob("*")):
        name = path.relative_to(base).as_posix()
        if name in checksums and path.is_file():
            if sha256_file(path) != checksums[name]:
                raise DataError(
                    f"{source}: {name} has SHA-256 {sha256_file(path)}, the official file "
                    f"{checksums[name]}: the archive is damaged or not the official release"
                )
            checked += 1
    return checked


def extract(path: Path, root: Path, folder: str, checksums: Mapping[str, str] | None = None) -> int:
    """Extract `<folder>/...` of archive `path` into a temporary folder inside `root`, check the
    extracted files against `checksums` ('folder/file' -> SHA-256; DataError on a mismatch),
    then rename it to `root/folder` (replacing an incomplete earlier copy), so a folder is never
    half-extracted nor unverified. Returns the number of files verified."""
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder}.", suffix=".tmp", dir=root))
    target = root / folder
    try:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(
                temporary, [m for m in archive.namelist() if m.startswith(folder + "/")]
            )
        verified = verify_files(temporary, folder, checksums or {}, path)
        if target.exists():
            os.rename(target, temporary / "previous")
        try:
            os.rename(temporary / folder, target)
        except OSError:
            if (temporary / "previous").exists():
                os.rename(temporary / "previous", target)
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return verified


def _complete(folder: Path, names: Collection[str]) -> bool:
    return all((folder / name).is_file() and (folder / name).stat().st_size > 0 for name in names)


def _check_archive_sha256(
    archive_sha256: Mapping[str, str] | None, archives: Collection[str]
) -> dict[str, str]:
    """{archive name: lowercase SHA-256}; DataError for an unknown archive or a malformed hash."""
    checked = {}
    for archive, digest in (archive_sha256 or {}).items():
        if archive not in archives or not _SHA256.fullmatch(str(digest).lower()):
            raise DataError(
                f"archive SHA-256 {archive}={digest}: expected ARCHIVE=HEX with ARCHIVE one of "
                f"{', '.join(sorted(archives))} and HEX 64 hexadecimal digits"
            )
        checked[archive] = str(digest).lower()
    return checked


def download_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    expected: Mapping[str, Collection[str]] | None = None,
    archive_sha256: Mapping[str, str] | None = None,
    progress: bool = True,
    retries: int = 2,
    timeout: float = 60.0,
    log: Callable[[str], None] = _stderr,
) -> Path:
    """Download and extract dataset `name` into `root` (default $TFHAR_DATA_DIR/<name>).

    `expected` (folder -> file names; default: the full official release) decides which
    folders are already complete; those are skipped without network access. `archive_sha256`
    (archive name such as 'Inertial.zip' -> SHA-256 hex) is checked before extraction, e.g. for
    a mirror. Every extracted file is checked against the shipped list of the official files'
    SHA-256 before its folder is moved into place. A bad archive or file raises DataError and
    is removed, leaving nothing extracted. Returns the root.
    """
    official_url, official_files = download_info(name)
    base_url = (base_url or official_url).rstrip("/")
    expected = official_files if expected is None else expected
    archive_sha256 = _check_archive_sha256(archive_sha256, [f"{f}.zip" for f in expected])
    checksums = shipped_checksums(name)
    unlisted = [f"{f}/{n}" for f, names in expected.items() for n in names]
    unlisted = [file for file in unlisted if file not in checksums]
    if unlisted:
        raise DataError(
            f"{len(unlisted)} expected file(s) of {name} have no shipped SHA-256, e.g. "
            f"{', '.join(unlisted[:3])}"
        )
    root = Path(root).expanduser() if root is not None else default_root(name)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create the data folder {root}: {error}") from error
    for folder, names in expected.items():
        if _complete(root / folder, names):
            log(f"{root / folder}: already complete ({len(names)} files)")
            continue
        archive = root / f"{folder}.zip"
        if not archive.exists():
            log(f"downloading {base_url}/{archive.name} -> {root}")
            fetch(
                f"{base_url}/{archive.name}",
                archive,
                retries=retries,
                timeout=timeout,
                progress=progress,
            )
        try:
            digest = archive_sha256.get(archive.name)
            if digest is not None and sha256_file(archive) != digest:
                raise DataError(
                    f"{archive}: SHA-256 {sha256_file(archive)} differs from the expected {digest}"
                )
            verify_zip(archive, folder, names)
            verified = extract(archive, root, folder, checksums)
        except DataError:
            archive.unlink(missing_ok=True)  # Bad bytes: the next run downloads afresh.
            raise
        archive.unlink()
        log(f"{root / folder}: extracted {len(names)} expected files, {verified} SHA-256 verified")
    return root

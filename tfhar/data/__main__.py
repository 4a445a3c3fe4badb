"""`python -m tfhar.data download|summary DATASET [--root DIR]`: fetch or describe a dataset."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from tfhar.data.datasets import available_datasets, load, loader_options
from tfhar.data.download import download_dataset
from tfhar.data.errors import DataError
from tfhar.data.record import Record


def describe(record: Record) -> str:
    """A few lines: counts, array shapes, rates, subjects and the classes with their counts."""
    subjects = sorted(int(s) for s in np.unique(record.subjects))
    lines = [
        f"{record.name}: {len(record)} sequences, {record.num_classes} classes, "
        f"{len(subjects)} subjects {subjects}",
        f"source: {record.source}",
    ]
    if record.inertial is not None:
        channels = ", ".join(
            f"{n} ({u})" for n, u in zip(record.channel_names, record.channel_units, strict=False)
        )
        lines.append(
            f"inertial: {record.inertial.shape} {record.inertial.dtype}, raw "
            f"{record.inertial_rate_hz} Hz; channels {channels}"
        )
    if record.skeleton is not None:
        lines.append(
            f"skeleton: {record.skeleton.shape} {record.skeleton.dtype}, raw "
            f"{record.skeleton_rate_hz} Hz; joints {', '.join(record.joint_names)}"
        )
    if record.durations is not None:
        lines.append(f"durations: {record.durations.min():.2f}..{record.durations.max():.2f} s")
    counts = np.bincount(record.labels, minlength=record.num_classes)
    lines += [
        f"  {i:2d} {name} ({count})"
        for i, (name, count) in enumerate(zip(record.class_names, counts, strict=True))
    ]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """A bad argument: one `error:` line and exit status 2, like every other refusal."""
        self.exit(2, f"error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tfhar.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    download = commands.add_parser("download", help="fetch and extract the official archives")
    summary = commands.add_parser("summary", help="load the dataset and describe it")
    for command in (download, summary):
        command.add_argument("dataset", help=f"one of {', '.join(available_datasets())}")
        command.add_argument("--root", help="data folder (default $TFHAR_DATA_DIR/<dataset>)")
    download.add_argument("--base-url", help="where the archives are (default: official site)")
    download.add_argument("--quiet", action="store_true", help="no progress bar")
    download.add_argument(
        "--sha256",
        action="append",
        default=[],
        metavar="ARCHIVE=HEX",
        help="expected SHA-256 of an archive (e.g. Inertial.zip=...), checked before extraction; "
        "repeat per archive (the official ones publish none; use it for a mirror)",
    )
    summary.add_argument("--cache-dir", help="preprocessed-array cache (default ~/.cache/tfhar)")
    summary.add_argument("--no-cache", action="store_true", help="neither read nor write a cache")
    summary.add_argument("--modalities", nargs="+", metavar="MODALITY",
                         help="load only these (inertial, skeleton), e.g. Berkeley-MHAD's "
                         "accelerometers without its motion capture (default: the loader's)")
    return parser


def _archive_hashes(values: Sequence[str]) -> dict[str, str]:
    """['Inertial.zip=HEX', ...] -> {'Inertial.zip': 'HEX'}; DataError for a value without '='."""
    hashes = {}
    for value in values:
        archive, equals, digest = value.partition("=")
        if not equals:
            raise DataError(f"--sha256 {value!r}: expected ARCHIVE=HEX, e.g. Inertial.zip=3f2a...")
        hashes[archive.strip()] = digest.strip()
    return hashes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; bad input prints one `error: ...` line and returns 2."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "download":
            download_dataset(
                args.dataset,
                args.root,
                base_url=args.base_url,
                archive_sha256=_archive_hashes(args.sha256),
                progress=not args.quiet,
                log=print,
            )
        else:
            options = {}
            if "cache" in loader_options(args.dataset):
                options = {"cache": not args.no_cache, "cache_dir": args.cache_dir}
            if args.modalities:
                options["modalities"] = tuple(args.modalities)
            print(describe(load(args.dataset, args.root, **options)))
    except (DataError, OSError) as error:
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m tfhar.data download|summary DATASET [--root DIR]`: fetch or describe a dataset;
`python -m tfhar.data prepare mmact --archives DIR [--root DIR]`: convert archives sent on request;
`python -m tfhar.data shard DATASET --out DIR` or `shard --recordings FOLDER --window-length N
--hop N --out DIR`: write windows into TFRecord shards for streamed pre-training.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tfhar.data.datasets import available_datasets, default_root, load, loader_options
from tfhar.data.download import download_dataset
from tfhar.data.errors import DataError
from tfhar.data.summary import describe

# Datasets whose archives are obtained by hand and converted once: name -> the module whose
# `prepare(archives, root, *, on_error, progress, log)` does it.
_PREPARE = {"mmact": "tfhar.data.datasets.mmact_prepare"}


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
    prepare = commands.add_parser(
        "prepare", help="convert archives obtained by hand (MMAct) into the dataset folder")
    prepare.add_argument("dataset", help=f"one of {', '.join(_PREPARE)}")
    prepare.add_argument("--archives", required=True,
                         help="folder holding the archives (MMAct: acc_phone_clip.tar.gz, "
                         "acc_watch_clip.tar.gz, gyro_clip.tar.gz, orientation_clip.tar.gz, "
                         "trimmed_pose.zip)")
    prepare.add_argument("--root", help="dataset folder to create; absent or empty (default "
                         "$TFHAR_DATA_DIR/<dataset>)")
    prepare.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                         help="a bad file (unknown action, unreadable): stop with an error "
                         "(default) or leave it out and list it")
    prepare.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_shard_parser(commands)
    summary.add_argument("--cache-dir", help="preprocessed-array cache (default ~/.cache/tfhar)")
    summary.add_argument("--no-cache", action="store_true", help="neither read nor write a cache")
    summary.add_argument("--modalities", nargs="+", metavar="MODALITY",
                         help="load only these (inertial, skeleton), e.g. Berkeley-MHAD's "
                         "accelerometers without its motion capture (default: the loader's)")
    return parser


def _add_shard_parser(commands) -> None:
    shard = commands.add_parser(
        "shard", help="write a dataset's windows, or long recordings cut into windows, into "
        "TFRecord shards with an index.json (pretrain.shards streams them)")
    shard.add_argument("dataset", nargs="?", help=f"one of {', '.join(available_datasets())} "
                       "(or --recordings)")
    shard.add_argument("--out", required=True, help="new or empty folder for the shards")
    shard.add_argument("--root", help="dataset folder (default $TFHAR_DATA_DIR/<dataset>)")
    shard.add_argument("--modalities", nargs="+", metavar="MODALITY",
                       help="the dataset's modalities to write (default: all it has)")
    shard.add_argument("--protocol", help="write only one part of this split protocol "
                       "(with --part), e.g. cross_subject, so pre-training never sees test "
                       "subjects")
    shard.add_argument("--part", choices=("train", "val", "test"),
                       help="the part of --protocol to write")
    shard.add_argument("--recordings", metavar="FOLDER",
                       help="instead of a dataset: long unlabeled recordings, *.npy (T, C) "
                       "inertial or (T, J, D) skeleton arrays, or *.csv with a header row")
    shard.add_argument("--window-length", type=int, help="samples per window (--recordings)")
    shard.add_argument("--hop", type=int, help="samples between window starts (--recordings)")
    shard.add_argument("--rate-hz", type=float, help="the recordings' sampling rate, recorded "
                       "in the index (--recordings)")
    shard.add_argument("--channels", nargs="+", help="CSV columns to keep, in order "
                       "(--recordings; default every column)")
    shard.add_argument("--windows-per-shard", type=int, default=4096,
                       help="windows per shard file (default 4096)")
    shard.add_argument("--seed", type=int, default=0,
                       help="seed of the order a dataset's windows are written in")


def _shard(args: argparse.Namespace) -> dict:
    """Write the shards `args` ask for; returns their index (DataError for bad arguments)."""
    from tfhar.data import shards
    from tfhar.data.splits import split

    if (args.dataset is None) == (args.recordings is None):
        raise DataError("shard: give a dataset name or --recordings FOLDER (one of them)")
    if args.recordings is not None:
        if args.window_length is None or args.hop is None:
            raise DataError("shard --recordings needs --window-length and --hop (samples)")
        return shards.write_recordings(
            args.recordings, args.out, args.window_length, args.hop, rate_hz=args.rate_hz,
            channels=tuple(args.channels) if args.channels else None,
            windows_per_shard=args.windows_per_shard)
    if (args.protocol is None) != (args.part is None):
        raise DataError("shard: --protocol and --part go together")
    options = {"modalities": tuple(args.modalities)} if args.modalities else {}
    record = load(args.dataset, args.root, **options)
    if args.protocol is not None:
        parts = split(record, args.protocol)
        if parts.get(args.part) is None:
            raise DataError(f"protocol {args.protocol!r} has no {args.part} part "
                            f"(parts: {', '.join(parts)})")
        record = parts[args.part]
    return shards.write_record(record, args.out, windows_per_shard=args.windows_per_shard,
                               seed=args.seed)


def _prepare(args: argparse.Namespace) -> None:
    """Run dataset `args.dataset`'s preparation (DataError for one that has none)."""
    if args.dataset not in _PREPARE:
        raise DataError(f"dataset {args.dataset!r} has nothing to prepare (preparable: "
                        f"{', '.join(_PREPARE)}); `download` fetches the downloadable ones")
    module = importlib.import_module(_PREPARE[args.dataset])
    root = args.root if args.root is not None else default_root(args.dataset)
    module.prepare(args.archives, root, on_error=args.on_error, progress=not args.quiet,
                   log=print)


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
        if args.command == "prepare":
            _prepare(args)
        elif args.command == "shard":
            index = _shard(args)
            shapes = ", ".join(f"{m} {tuple(meta['shape'])}"
                               for m, meta in index["modalities"].items())
            print(f"wrote {index['count']} windows ({shapes}) in {len(index['shards'])} "
                  f"shard(s) to {args.out}, described by index.json")
        elif args.command == "download":
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

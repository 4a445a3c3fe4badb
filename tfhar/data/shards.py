"""TFRecord shards and a JSON index: window corpora larger than memory, for pre-training.

    DIR/index.json              what the shards hold (below); written last
    DIR/shard-00000.tfrecord    tf.train.Example records, `windows_per_shard` each (the last
    DIR/shard-00001.tfrecord    fewer); one bytes feature per modality: the window's float32
    ...                         values in C order, shaped as the index says

index.json: {"format": "tfhar-shards", "version": 1, "count": windows, "source": text,
"windowing": {"length", "hop"} or null, "modalities": {name: {"shape", "dtype", "rate_hz",
"channels" or "joints"}}, "shards": [{"file", "count"}, ...]}.

`write_record` writes a loaded dataset's windows (shuffled with a seed, so that every shard
mixes classes and subjects); `write_recordings` cuts a folder of long unlabeled recordings into
windows with a hop, one recording in memory at a time. `tfhar.input` streams the shards.
Numpy only at import; TensorFlow (tf.io, tf.train.Example) is imported by the functions that
write or read records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from tfhar.data.errors import DataError
from tfhar.data.record import Record
from tfhar.files import write_json

FORMAT = "tfhar-shards"
VERSION = 1
INDEX = "index.json"
MODALITIES = ("inertial", "skeleton")
WINDOWS_PER_SHARD = 4096  # About 5 MB of 50 x 6 inertial windows, 50 MB of skeletons.


def read_index(directory: str | Path) -> dict:
    """The index of the shards in `directory`; DataError when it is missing or not an index."""
    path = Path(directory) / INDEX
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise DataError(f"{directory}: no {INDEX}; write shards with `python -m tfhar.data "
                        "shard` (an interrupted write leaves no index)") from None
    except ValueError as error:
        raise DataError(f"{path}: not JSON ({error})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise DataError(f"{path}: not a tfhar shard index (format {FORMAT!r} expected)")
    if index.get("version") != VERSION:
        raise DataError(f"{path}: shard format version {index.get('version')!r}; this tfhar "
                        f"reads version {VERSION}")
    return index


def shard_files(directory: str | Path, index: dict | None = None) -> list[str]:
    """The shard files of `directory`, in index order; DataError naming a missing one."""
    index = read_index(directory) if index is None else index
    files = [Path(directory) / shard["file"] for shard in index["shards"]]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DataError(f"{directory}: shard file(s) listed in {INDEX} are missing: "
                        f"{', '.join(missing[:3])}")
    return [str(f) for f in files]


class ShardWriter:
    """Writes batches of windows into numbered shard files, then the index (`close`).

    `modalities`: {name: {"shape": window shape, and metadata such as "rate_hz", "channels",
    "joints"}}. `add` takes {name: (n, *shape) array} with the same n for every modality.
    The folder must be new or empty: nothing is ever overwritten.
    """

    def __init__(self, directory: str | Path, modalities: Mapping[str, dict],
                 windows_per_shard: int = WINDOWS_PER_SHARD, source: str = "",
                 windowing: dict | None = None):
        self.directory = Path(directory)
        if self.directory.exists() and (not self.directory.is_dir()
                                        or any(self.directory.iterdir())):
            raise DataError(f"{self.directory}: exists and is not an empty folder; shards are "
                            "written into a new or empty folder")
        if isinstance(windows_per_shard, bool) or not isinstance(windows_per_shard, int) \
                or windows_per_shard < 1:
            raise DataError(f"windows_per_shard={windows_per_shard!r}; expected an integer >= 1")
        unknown = [m for m in modalities if m not in MODALITIES]
        if not modalities or unknown:
            raise DataError(f"modalities {sorted(modalities)}: expected a non-empty subset of "
                            f"{MODALITIES}")
        self.modalities = {m: {**meta, "shape": [int(d) for d in meta["shape"]],
                               "dtype": "float32"} for m, meta in modalities.items()}
        self.windows_per_shard = windows_per_shard
        self.source, self.windowing = source, windowing
        self.shards: list[dict] = []
        self._writer = None
        self.directory.mkdir(parents=True, exist_ok=True)

    def add(self, windows: Mapping[str, np.ndarray]) -> None:
        import tensorflow as tf

        if set(windows) != set(self.modalities):
            raise DataError(f"windows of {sorted(windows)}; the shards hold "
                            f"{sorted(self.modalities)}")
        arrays = {m: np.ascontiguousarray(windows[m], np.float32) for m in self.modalities}
        counts = {len(a) for a in arrays.values()}
        if len(counts) != 1:
            raise DataError(f"modalities with different window counts: {counts}")
        for m, array in arrays.items():
            if list(array.shape[1:]) != self.modalities[m]["shape"]:
                raise DataError(f"{m} windows shaped {array.shape[1:]}; the shards hold "
                                f"{tuple(self.modalities[m]['shape'])}")
        for row in range(counts.pop()):
            if self._writer is None or self.shards[-1]["count"] == self.windows_per_shard:
                self._next_shard(tf)
            feature = {m: tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[a[row].tobytes()])) for m, a in arrays.items()}
            self._writer.write(tf.train.Example(features=tf.train.Features(
                feature=feature)).SerializeToString())
            self.shards[-1]["count"] += 1

    def _next_shard(self, tf) -> None:
        if self._writer is not None:
            self._writer.close()
        name = f"shard-{len(self.shards):05d}.tfrecord"
        self._writer = tf.io.TFRecordWriter(str(self.directory / name))
        self.shards.append({"file": name, "count": 0})

    def close(self) -> dict:
        """Close the last shard and write the index; returns it. DataError without windows."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        count = sum(shard["count"] for shard in self.shards)
        if not count:
            raise DataError(f"{self.directory}: no windows to write")
        index = {"format": FORMAT, "version": VERSION, "count": count, "source": self.source,
                 "windowing": self.windowing, "modalities": self.modalities,
                 "shards": self.shards}
        write_json(self.directory / INDEX, index)
        return index


def _record_metadata(record: Record, modality: str) -> dict:
    shape = getattr(record, modality).shape[1:]
    if modality == "inertial":
        return {"shape": shape, "rate_hz": record.inertial_rate_hz,
                "channels": list(record.channel_names)}
    return {"shape": shape, "rate_hz": record.skeleton_rate_hz,
            "joints": list(record.joint_names)}


def write_record(record: Record, directory: str | Path, modalities: tuple[str, ...] | None = None,
                 windows_per_shard: int = WINDOWS_PER_SHARD, seed: int = 0) -> dict:
    """Write `record`'s windows (all its modalities, or `modalities`), in an order shuffled
    by `seed`, into shards in `directory`; returns the index. Labels are not written."""
    modalities = tuple(modalities or record.modalities)
    missing = [m for m in modalities if getattr(record, m, None) is None]
    if missing:
        raise DataError(f"{record.name} has no {', '.join(missing)} windows")
    writer = ShardWriter(directory, {m: _record_metadata(record, m) for m in modalities},
                         windows_per_shard, source=f"{record.name}: {record.source}".strip())
    order = np.random.default_rng(seed).permutation(len(record))
    for start in range(0, len(order), windows_per_shard):
        rows = order[start:start + windows_per_shard]
        writer.add({m: getattr(record, m)[rows] for m in modalities})
    return writer.close()


def _read_recording(path: Path, channels: tuple[str, ...] | None) -> tuple[np.ndarray, tuple]:
    """(values (T, ...) float32, channel names) of one .npy array or one numeric .csv file."""
    if path.suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: cannot read a .npy array ({error})") from None
        return np.asarray(values, np.float32), ()
    import pandas as pd  # Deferred: only CSV recordings need it.

    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read a CSV ({str(error).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    names = tuple(channels or frame.columns)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: lacks column(s) {', '.join(missing)}")
    values = frame[list(names)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float32)
    if not np.isfinite(values).all():
        raise DataError(f"{path}: NaN, missing or non-numeric values in {', '.join(names)}")
    return values, names


def recording_windows(folder: str | Path, window_length: int, hop: int,
                      channels: tuple[str, ...] | None = None
                      ) -> Iterator[tuple[Path, np.ndarray, tuple]]:
    """(file, windows (n, window_length, ...), channel names) for each recording in `folder`
    (*.npy arrays (T, C) or (T, J, D), *.csv with a header row), one file at a time, in name
    order; a recording shorter than a window gives n = 0."""
    from tfhar.data.preprocess import sliding_windows

    files = sorted(p for p in Path(folder).iterdir() if p.suffix in (".npy", ".csv"))
    if not files:
        raise DataError(f"{folder}: no .npy or .csv recordings")
    for path in files:
        values, names = _read_recording(path, channels)
        if values.ndim not in (2, 3):
            raise DataError(f"{path}: array of shape {values.shape}; expected (T, C) inertial "
                            "or (T, J, D) skeleton frames")
        yield path, sliding_windows(values, window_length, hop), names


def write_recordings(folder: str | Path, directory: str | Path, window_length: int, hop: int,
                     rate_hz: float | None = None, channels: tuple[str, ...] | None = None,
                     windows_per_shard: int = WINDOWS_PER_SHARD,
                     log=print) -> dict:
    """Cut every recording of `folder` into windows of `window_length` samples, one every `hop`
    samples, and write them into shards in `directory`; returns the index. (T, C) arrays and
    CSV files are inertial, (T, J, D) arrays skeleton; every recording must agree. `rate_hz`
    (the recordings' sampling rate) is recorded in the index, not used to resample."""
    writer, skipped = None, []
    for path, windows, names in recording_windows(folder, window_length, hop, channels):
        modality = "inertial" if windows.ndim == 3 else "skeleton"
        if writer is None:
            meta = {"shape": windows.shape[1:], "rate_hz": rate_hz}
            meta.update({"channels": list(names)} if modality == "inertial" else {})
            writer = ShardWriter(directory, {modality: meta}, windows_per_shard,
                                 source=f"recordings in {folder}",
                                 windowing={"length": window_length, "hop": hop})
        (first, meta), = writer.modalities.items()
        if (modality, list(windows.shape[1:])) != (first, meta["shape"]):
            raise DataError(f"{path}: {modality} windows shaped {tuple(windows.shape[1:])}; the "
                            f"first recording's are {first} windows shaped {tuple(meta['shape'])}")
        if not len(windows):
            skipped.append(path.name)
            continue
        writer.add({modality: windows})
    if skipped and log is not None:
        log(f"{len(skipped)} recording(s) shorter than {window_length} samples left out: "
            f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}")
    return writer.close()


def read_shards(directory: str | Path) -> dict[str, np.ndarray]:
    """Every window of the shards in `directory`, in the order written: {modality: (N, ...)}.
    Loads the whole corpus: for inspection and tests; training streams (tfhar.input)."""
    import tensorflow as tf

    index = read_index(directory)
    shapes = {m: meta["shape"] for m, meta in index["modalities"].items()}
    spec = {m: tf.io.FixedLenFeature([], tf.string) for m in shapes}
    windows = {m: [] for m in shapes}
    for serialized in tf.data.TFRecordDataset(shard_files(directory, index)):
        example = tf.io.parse_single_example(serialized, spec)
        for m, shape in shapes.items():
            windows[m].append(np.frombuffer(example[m].numpy(), np.float32).reshape(shape))
    return {m: np.stack(w) if w else np.zeros((0, *shapes[m]), np.float32)
            for m, w in windows.items()}

"""TFRecord shards: written windows read back equal, the index says what they hold, recordings
are cut with a hop, and the streaming reader holds a bounded buffer, never the corpus."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tfhar.data as data
from tfhar.data import DataError
from tfhar.data.__main__ import main
from tfhar.data.preprocess import sliding_windows
from tfhar.data.shards import (
    ShardWriter,
    read_index,
    read_shards,
    shard_files,
    write_record,
    write_recordings,
)


@pytest.fixture(scope="module")
def record():
    """48 synthetic windows of both modalities (6 classes x 8 subjects)."""
    return data.load("synthetic", window_length=20, num_joints=5,
                     samples_per_class_per_subject=1)


def rows_of(windows: np.ndarray) -> dict[bytes, int]:
    return {w.tobytes(): i for i, w in enumerate(windows)}


def test_written_windows_read_back_equal_and_aligned(record, tmp_path):
    write_record(record, tmp_path / "shards", windows_per_shard=10, seed=3)
    read = read_shards(tmp_path / "shards")
    assert set(read) == {"inertial", "skeleton"}
    assert len(read["inertial"]) == len(record)
    rows = rows_of(record.inertial)
    order = [rows[w.tobytes()] for w in read["inertial"]]
    assert sorted(order) == list(range(len(record)))  # Every window once.
    assert order != sorted(order)  # Shuffled, so that every shard mixes classes.
    np.testing.assert_array_equal(read["skeleton"], record.skeleton[order])  # Still aligned.
    np.testing.assert_array_equal(read["inertial"], record.inertial[order])


def test_the_index_says_what_the_shards_hold(record, tmp_path):
    index = write_record(record, tmp_path / "shards", windows_per_shard=20)
    assert index == read_index(tmp_path / "shards")
    assert json.loads((tmp_path / "shards" / "index.json").read_text()) == index
    assert index["format"] == "tfhar-shards" and index["version"] == 1
    assert index["count"] == len(record) == 48
    assert [s["count"] for s in index["shards"]] == [20, 20, 8]
    assert [s["file"] for s in index["shards"]] == [
        "shard-00000.tfrecord", "shard-00001.tfrecord", "shard-00002.tfrecord"]
    assert len(shard_files(tmp_path / "shards")) == 3
    inertial, skeleton = index["modalities"]["inertial"], index["modalities"]["skeleton"]
    assert inertial["shape"] == [20, 6] and skeleton["shape"] == [20, 5, 3]
    assert inertial["dtype"] == skeleton["dtype"] == "float32"
    assert inertial["channels"] == list(record.channel_names)
    assert inertial["rate_hz"] == record.inertial_rate_hz
    assert skeleton["joints"] == list(record.joint_names)
    assert skeleton["rate_hz"] == record.skeleton_rate_hz
    assert index["windowing"] is None and index["source"].startswith("synthetic")


def test_long_recordings_are_cut_into_windows_with_a_hop(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    rng = np.random.default_rng(0)
    long = rng.normal(size=(95, 3)).astype("float32")
    np.save(folder / "a.npy", long)
    pd.DataFrame(rng.normal(size=(41, 3)), columns=["x", "y", "z"]).to_csv(
        folder / "b.csv", index=False)
    np.save(folder / "c.npy", rng.normal(size=(15, 3)).astype("float32"))  # Shorter than one.
    log = []
    index = write_recordings(folder, tmp_path / "shards", window_length=20, hop=10,
                             rate_hz=50.0, windows_per_shard=4, log=log.append)
    expected = np.concatenate([
        sliding_windows(long, 20, 10),
        sliding_windows(pd.read_csv(folder / "b.csv").to_numpy(np.float32), 20, 10)])
    assert len(expected) == 8 + 3
    np.testing.assert_array_equal(read_shards(tmp_path / "shards")["inertial"], expected)
    assert index["count"] == 11 and [s["count"] for s in index["shards"]] == [4, 4, 3]
    assert index["windowing"] == {"length": 20, "hop": 10}
    assert index["modalities"]["inertial"]["rate_hz"] == 50.0
    assert "c.npy" in log[0]


def test_recordings_that_disagree_are_refused(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    np.save(folder / "a.npy", np.zeros((30, 3), np.float32))
    np.save(folder / "b.npy", np.zeros((30, 4), np.float32))
    with pytest.raises(DataError, match="b.npy: inertial windows shaped"):
        write_recordings(folder, tmp_path / "shards", window_length=10, hop=5)


def test_shards_are_never_written_over_other_files(record, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep")
    with pytest.raises(DataError, match="not an empty folder"):
        write_record(record, tmp_path / "taken")
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep"
    with pytest.raises(DataError, match="no index.json"):
        read_index(tmp_path / "taken")


def test_a_writer_checks_the_window_shapes(tmp_path):
    writer = ShardWriter(tmp_path / "shards", {"inertial": {"shape": (4, 2)}})
    with pytest.raises(DataError, match=r"shaped \(4, 3\)"):
        writer.add({"inertial": np.zeros((2, 4, 3))})


@pytest.fixture(scope="module")
def numbered(tmp_path_factory):
    """One shard of 200 windows (4, 2) whose values are their position in the file."""
    folder = tmp_path_factory.mktemp("numbered") / "shards"
    writer = ShardWriter(folder, {"inertial": {"shape": (4, 2)}}, windows_per_shard=200)
    writer.add({"inertial": np.arange(200, dtype=np.float32)[:, None, None] * np.ones((4, 2))})
    writer.close()
    return folder


def test_the_reader_streams_every_window_once_per_epoch(numbered):
    import tensorflow as tf

    from tfhar.input import shard_batches

    dataset = shard_batches(numbered, ("inertial",), batch_size=10, shuffle_buffer=8)
    assert int(dataset.cardinality()) == 20  # An epoch: count // batch_size batches.
    epochs = [np.concatenate([x[0][:, 0, 0].numpy() for x, _ in dataset]) for _ in range(2)]
    for seen in epochs:
        assert sorted(seen) == list(range(200))
    assert list(epochs[0]) != list(epochs[1])  # Reshuffled every epoch.
    seeds = [s.numpy().tolist() for _, s in dataset.take(3)]
    assert len({tuple(s) for s in seeds}) == 3  # A new augmentation seed per batch.
    assert isinstance(dataset, tf.data.Dataset)


def test_the_reader_holds_a_bounded_shuffle_buffer_not_the_corpus(numbered):
    from tfhar.input import shard_batches

    buffer = 8
    dataset = shard_batches(numbered, ("inertial",), batch_size=10, shuffle_buffer=buffer)
    order = np.concatenate([x[0][:, 0, 0].numpy() for x, _ in dataset])
    # The p-th window out is among the first p + buffer windows in: the reader never holds
    # more than `buffer` windows (a corpus in memory could emit any window first).
    assert all(order[p] < p + buffer for p in range(len(order)))
    assert max(order[:10]) >= 5  # And it shuffles within the buffer.


def test_the_reader_refuses_what_the_shards_cannot_give(numbered):
    from tfhar.input import shard_batches

    with pytest.raises(ValueError, match="not skeleton"):
        shard_batches(numbered, ("skeleton",), batch_size=10)
    with pytest.raises(ValueError, match="larger than the 200"):
        shard_batches(numbered, ("inertial",), batch_size=201)


def test_shard_command_writes_a_protocol_part(tmp_path, capsys):
    out = tmp_path / "shards"
    code = main(["shard", "synthetic", "--out", str(out), "--protocol", "cross_subject",
                 "--part", "train", "--windows-per-shard", "50"])
    assert code == 0
    index = read_index(out)
    assert index["count"] == 6 * 3 * 6  # Classes x training subjects (1, 3, 5) x samples.
    assert f"wrote {index['count']} windows" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, message", [
    (["shard", "--out", "x"], "a dataset name or --recordings"),
    (["shard", "synthetic", "--out", "x", "--protocol", "paper"], "go together"),
    (["shard", "--recordings", ".", "--out", "x"], "needs --window-length and --hop"),
])
def test_shard_command_refuses_bad_arguments_in_one_line(arguments, message, capsys, tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and error.count("\n") == 1


def test_writing_shards_does_not_import_tensorflow_until_it_writes():
    code = "import sys, tfhar.data.shards; print('tensorflow' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "False"

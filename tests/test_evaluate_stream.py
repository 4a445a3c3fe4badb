"""`tfhar.evaluate_stream`: recordings -> continuous streams -> windows scored by overlap.

The construction and the scoring are checked on small hand-made streams; on the real UTD-MHAD
test subjects (TFHAR_DATA_DIR), a fake model that answers the true majority action of each
window it is shown, worked out here independently, must score 100%. The figures of a real
exported model are checked in tests/test_predict.py, whose real-data test trains one anyway.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from sklearn.metrics import f1_score

from tfhar import evaluate_stream, predict
from tfhar.data.datasets import utd_mhad
from tfhar.evaluate_stream import Stream, StreamError, build_streams, window_truth


def _recordings(lengths, channels: int = 2) -> list[np.ndarray]:
    """Recording i: (length, channels) holding 100 * (i + 1) + its sample index."""
    return [np.stack([100.0 * (i + 1) + np.arange(n)] * channels, 1) for i, n in enumerate(lengths)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_recordings_with_a_rest_between(seed):
    # 2 Hz and 1 s of rest: 2 samples of the second recording's first sample between them.
    x = _recordings([3, 5])
    (stream,) = build_streams(x, np.array([7, 9]), np.array([4, 4]), 2.0, seed, 1.0)
    assert stream.subject == 4 and stream.rate_hz == 2.0
    assert stream.segments.tolist() in ([[0, 3, 7], [5, 10, 9]], [[0, 5, 9], [7, 10, 7]])
    first, second = (x[0], x[1]) if stream.segments[0, 2] == 7 else (x[1], x[0])
    expected = np.concatenate([first, second[[0, 0]], second])
    np.testing.assert_array_equal(stream.samples, expected)


def test_every_recording_once_per_subject_in_a_seeded_order():
    lengths = [3, 4, 5, 6, 7, 8, 9]
    labels, subjects = np.array([0, 1, 2, 3, 4, 5, 6]), np.array([2, 1, 2, 2, 1, 2, 2])
    x = _recordings(lengths)
    streams = build_streams(x, labels, subjects, 4.0, seed=0, rest_s=0.5)
    assert [s.subject for s in streams] == [1, 2]
    for stream in streams:
        mine = np.flatnonzero(subjects == stream.subject)
        assert sorted(stream.segments[:, 2]) == sorted(labels[mine])
        for first, stop, label in stream.segments:
            np.testing.assert_array_equal(stream.samples[first:stop], x[label])
        # 2 rest samples (0.5 s at 4 Hz) between consecutive recordings, none elsewhere.
        assert (stream.segments[1:, 0] - stream.segments[:-1, 1]).tolist() == [2] * (len(mine) - 1)
        assert stream.segments[0, 0] == 0 and stream.segments[-1, 1] == len(stream.samples)
        for previous_stop, first in zip(
            stream.segments[:-1, 1], stream.segments[1:, 0], strict=True
        ):
            assert np.all(stream.samples[previous_stop:first] == stream.samples[first])
    again = build_streams(x, labels, subjects, 4.0, seed=0, rest_s=0.5)
    for a, b in zip(streams, again, strict=True):
        np.testing.assert_array_equal(a.samples, b.samples)
        np.testing.assert_array_equal(a.segments, b.segments)
    orders = {
        tuple(build_streams(x, labels, subjects, 4.0, seed=s)[1].segments[:, 2]) for s in range(5)
    }
    assert len(orders) > 1
    # A subject's order does not depend on the other subjects.
    alone = build_streams(
        [x[i] for i in (0, 2, 3, 5, 6)],
        labels[subjects == 2],
        subjects[subjects == 2],
        4.0,
        seed=0,
        rest_s=0.5,
    )
    np.testing.assert_array_equal(alone[0].segments, streams[1].segments)


# Recordings [0, 10) action 0, [12, 20) action 1, [22, 30) action 2; windows of 6 samples.
SEGMENTS = np.array([[0, 10, 0], [12, 20, 1], [22, 30, 2]])
STARTS = np.array([0, 4, 8, 14, 17, 24])
PREDICTED = np.array([0, 1, 1, 1, 2, 0])


def test_window_truth_by_majority_and_with_tolerance():
    majority, tolerant, spans = window_truth(STARTS, 6, SEGMENTS, PREDICTED)
    # [8, 14): 2 samples of action 0, 2 of action 1, the tie to the earlier; [17, 23): 3 of
    # action 1 and 1 of action 2. Both windows also hold 2 rest samples, which count for none.
    assert majority.tolist() == [0, 0, 0, 1, 1, 2]
    # Predicting either action of those two windows is right with the tolerance.
    assert tolerant.tolist() == [0, 0, 1, 1, 2, 2]
    assert spans.tolist() == [False, False, True, False, True, False]


def test_a_window_of_rest_only_is_refused():
    with pytest.raises(StreamError, match=r"starting at sample\(s\) \[8\] hold no action"):
        window_truth(np.array([0, 8]), 6, np.array([[0, 5, 0], [20, 25, 1]]), np.zeros(2))


class ScriptedModel:
    """Answers one-hot `answers[i]` at its i-th call, as a LiteRT model's predict_one."""

    def __init__(self, answers, num_classes: int):
        self.answers, self.num_classes, self.calls = list(answers), num_classes, 0

    def predict_one(self, window: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.eye(self.num_classes, dtype=np.float32)[self.answers.pop(0)]


def test_evaluate_model_scores_every_window_of_predict():
    # 2 Hz, 3 s windows (6 samples) every 1.5 s (3): [0, 8) action 0, rest, [10, 20) action 1.
    stream = Stream(1, np.zeros((20, 1)), np.array([[0, 8, 0], [10, 20, 1]]), 2.0)
    info = predict.ModelInfo(("a", "b"), ("x",), 4, 3.0, 2.0)
    # Windows at 0, 3, 6, 9, 12: majority 0, 0, 0 (tie), 1, 1; the one at 6 spans both.
    model = ScriptedModel([0, 1, 1, 0, 1], 2)
    figures = evaluate_stream.evaluate_model(model, info, [stream])
    assert model.calls == 5 and figures["num_windows"] == 5
    assert figures["num_transition_windows"] == 1
    assert figures["majority"]["accuracy"] == pytest.approx(2 / 5)
    assert figures["tolerant"]["accuracy"] == pytest.approx(3 / 5)
    assert figures["majority"]["macro_f1"] == pytest.approx(
        f1_score([0, 0, 0, 1, 1], [0, 1, 1, 0, 1], average="macro")
    )
    assert figures["tolerant"]["macro_f1"] == pytest.approx(
        f1_score([0, 0, 1, 1, 1], [0, 1, 1, 0, 1], average="macro")
    )


def test_evaluate_model_windows_with_the_hop_given():
    stream = Stream(1, np.zeros((20, 1)), np.array([[0, 8, 0], [10, 20, 1]]), 2.0)
    info = predict.ModelInfo(("a", "b"), ("x",), 4, 3.0, 2.0)
    model = ScriptedModel([0, 0, 0, 0, 1, 1, 1, 1], 2)
    figures = evaluate_stream.evaluate_model(model, info, [stream], hop_s=1.0)
    assert figures["num_windows"] == 8 and model.calls == 8  # Starts 0, 2, ..., 14.
    assert figures["majority"]["accuracy"] == 1.0  # Majority 0, 0, 0, 0 (a tie), 1, 1, 1, 1.


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "expected an existing .tflite file"),
        (["--hop", "-1"], "--hop must be a positive number"),
    ],
)
def test_cli_refuses_bad_input_in_one_line(tmp_path, capsys, extra, message):
    argv = ["--model", str(tmp_path / "missing.tflite"), "--dataset", "utd_mhad", *extra]
    assert evaluate_stream.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_refuses_another_dataset_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        evaluate_stream.main(["--model", "m.tflite", "--dataset", "mmact"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: argument --dataset: invalid choice: 'mmact'")


def test_protocol_test_subjects():
    assert evaluate_stream.protocol_test_subjects({}) == (2, 4, 6, 8)
    meta = {
        "training": {
            "protocol": "leave_subjects_out",
            "config": {"data": {"protocol_options": {"test": [3, 5]}}},
        }
    }
    assert evaluate_stream.protocol_test_subjects(meta) == (3, 5)


def _utd_info(duration_s: float = 3.0) -> predict.ModelInfo:
    return predict.ModelInfo(utd_mhad.CLASS_NAMES, utd_mhad.CHANNEL_NAMES, 50, duration_s, 50.0)


class MajorityOracle:
    """Answers the true majority action of each window it is shown, checking that the window
    is the one expected: the windows and their truth are worked out here, by hand-written
    loops, from the streams' raw samples and recording bounds."""

    def __init__(self, streams: list[Stream], window: int, hop: int, steps: int):
        self.expected = []
        for stream in streams:
            for start in range(0, len(stream.samples) - window + 1, hop):
                held = {}
                for first, stop, label in stream.segments:
                    inside = min(start + window, stop) - max(start, first)
                    if inside > 0 and inside > held.get("most", 0):
                        held = {"most": inside, "label": label}
                x = scipy.signal.resample(stream.samples[start : start + window], steps, axis=0)
                self.expected.append((x, held["label"]))

    def predict_one(self, window: np.ndarray) -> np.ndarray:
        x, label = self.expected.pop(0)
        np.testing.assert_allclose(window, x, rtol=1e-5, atol=1e-3)
        return np.eye(len(utd_mhad.CLASS_NAMES), dtype=np.float32)[label]


def test_real_streams_of_the_test_subjects_score_an_oracle_100(utd_root):
    info = _utd_info()
    streams, settings = evaluate_stream.load_streams({}, info, utd_root, 0, 1.0)
    _, labels, subjects = utd_mhad.load_raw_inertial(utd_root, (2, 4, 6, 8))
    assert settings["subjects"] == [2, 4, 6, 8] and [s.subject for s in streams] == [2, 4, 6, 8]
    assert settings["num_recordings"] == len(labels) == sum(len(s.segments) for s in streams)
    for stream in streams:
        assert sorted(stream.segments[:, 2]) == sorted(labels[subjects == stream.subject])
        assert (stream.segments[1:, 0] - stream.segments[:-1, 1] == 50).all()  # 1 s rests.
    oracle = MajorityOracle(streams, 150, 75, 50)
    count = len(oracle.expected)
    figures = evaluate_stream.evaluate_model(oracle, info, streams)
    assert oracle.expected == [] and figures["num_windows"] == count > 1000
    assert figures["majority"] == {"accuracy": 1.0, "macro_f1": 1.0}
    assert figures["tolerant"] == {"accuracy": 1.0, "macro_f1": 1.0}
    assert 0 < figures["num_transition_windows"] < count


def test_rest_longer_than_a_window_is_refused(utd_root):
    with pytest.raises(StreamError, match="expected 0 <= rest < the window's 3.0 s"):
        evaluate_stream.load_streams({}, _utd_info(), utd_root, 0, 3.0)


def test_a_model_of_other_classes_is_refused():
    info = predict.ModelInfo(("a", "b"), utd_mhad.CHANNEL_NAMES, 50, 3.0, 50.0)
    with pytest.raises(StreamError, match="not UTD-MHAD's"):
        evaluate_stream.load_streams({}, info, Path("nowhere"), 0, 1.0)


def test_missing_data_is_a_data_error(tmp_path):
    with pytest.raises(evaluate_stream.DataError, match="UTD-MHAD not found"):
        evaluate_stream.load_streams({}, _utd_info(), tmp_path / "none", 0, 1.0)


def test_report_is_json_serializable():
    stream = Stream(1, np.zeros((20, 1)), np.array([[0, 8, 0], [10, 20, 1]]), 2.0)
    info = predict.ModelInfo(("a", "b"), ("x",), 4, 3.0, 2.0)
    figures = evaluate_stream.evaluate_model(ScriptedModel([0] * 5, 2), info, [stream])
    assert json.loads(json.dumps(figures)) == figures

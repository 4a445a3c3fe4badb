"""The time column of a recording: matching its name, finding its unit, checking the rate."""

import numpy as np
import pytest

from tfhar.data import DataError, timestamps


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["acc_x", "time"], ("time", None)),
        (["Time", "acc_x"], ("Time", None)),
        (["TIMESTAMP"], ("TIMESTAMP", None)),
        (["timestamps"], ("timestamps", None)),
        (["Elapsed Time"], ("Elapsed Time", None)),
        (["time_ms"], ("time_ms", "ms")),
        (["Time (s)"], ("Time (s)", "s")),
        (["timestamp[ns]"], ("timestamp[ns]", "ns")),
        (["time_us"], ("time_us", "us")),
        (["time sec"], ("time sec", "s")),
        (["seconds_elapsed"], ("seconds_elapsed", "s")),
        (["acc_x", "datetime", "times_up", "t"], (None, None)),
    ],
)
def test_time_columns_are_matched_without_regard_to_case(columns, expected):
    assert timestamps.find_time_column(columns) == expected


def test_several_time_columns_need_a_choice():
    columns = ["time", "seconds_elapsed", "acc_x"]
    with pytest.raises(DataError, match=r"several time columns \(time, seconds_elapsed\)"):
        timestamps.find_time_column(columns)
    assert timestamps.find_time_column(columns, "seconds_elapsed") == ("seconds_elapsed", "s")
    assert timestamps.find_time_column(["clock", "acc_x"], "clock") == ("clock", None)
    with pytest.raises(DataError, match="time column 'clock': no such column"):
        timestamps.find_time_column(columns, "clock")


@pytest.mark.parametrize(
    ("step", "unit"),
    [
        (0.02, "s"),  # 50 Hz
        (0.0001, "s"),  # 10 kHz
        (20.0, "ms"),
        (20_000.0, "us"),
        (20_000_000.0, "ns"),
        (10_000_000.0, "ns"),  # 100 Hz
    ],
)
def test_the_unit_comes_from_the_median_step(step, unit):
    assert timestamps.time_unit(step, "time") == (unit, f"the median step {step:g}")


@pytest.mark.parametrize("step", [1.5e9, 1e-5])  # 0.67 Hz in ns; 100 kHz in s.
def test_a_step_no_unit_makes_plausible_is_refused(step):
    with pytest.raises(DataError, match=r"gives no plausible rate\(s\) \(1\.\.10000 Hz\)"):
        timestamps.time_unit(step, "time")


@pytest.mark.parametrize(
    ("rate", "unit"),
    [(2.0, "s"), (2.1, "s"), (2000.0, "ms"), (1850.0, "ms")],
)
def test_a_rate_picks_between_plausible_units(rate, unit):
    # A step of 0.5 is 2 Hz in seconds or 2 kHz in milliseconds.
    assert timestamps.time_unit(0.5, "time", rate=rate)[0] == unit
    ambiguous = r"several plausible rate\(s\) .* \(s: 2 Hz, ms: 2e\+03 Hz\)"
    with pytest.raises(DataError, match=ambiguous):
        timestamps.time_unit(0.5, "time")


def test_a_requested_or_named_unit_wins():
    assert timestamps.time_unit(0.5, "time", requested="ms") == ("ms", "the unit requested")
    assert timestamps.time_unit(0.5, "time_ms", named="ms") == ("ms", "its name")


@pytest.mark.parametrize(
    ("times", "requested", "rate", "expected_rate", "expected_step_s"),
    [
        (np.arange(100) * 20, "auto", None, 50.0, 0.02),
        (np.arange(100) * 10_000_000, "auto", None, 100.0, 0.01),
        (np.arange(100) / 50, "auto", 52.0, 52.0, 0.02),  # Within 10%: the rate given is used.
        (np.arange(100) * 0.5, "ms", None, 2000.0, 0.0005),
    ],
)
def test_measure_rate_returns_seconds(times, requested, rate, expected_rate, expected_step_s):
    seconds, used, step_s, origin = timestamps.measure_rate(times, "time", requested, None, rate)
    assert used == pytest.approx(expected_rate)
    assert step_s == pytest.approx(expected_step_s)
    np.testing.assert_allclose(seconds, np.arange(100) * expected_step_s)
    assert origin.startswith(f"{expected_rate:g} Hz ")


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (
            56.0,
            "rate 56 Hz disagrees with the time column 'time' in seconds .* 50 Hz: more than "
            "10% apart",
        ),
        (44.0, "rate 44 Hz disagrees"),
    ],
)
def test_a_rate_more_than_ten_percent_off_is_refused(rate, message):
    with pytest.raises(DataError, match=message):
        timestamps.measure_rate(np.arange(100) / 50, "time", rate=rate)


def test_an_implausible_requested_unit_is_refused():
    with pytest.raises(DataError, match=r"0\.05 Hz, outside the plausible 1\.\.10000 Hz"):
        timestamps.measure_rate(np.arange(100) * 20.0, "time", requested="s")


def test_drop_repeated_rows():
    samples = np.arange(12.0).reshape(6, 2)
    times = np.array([0.0, 1.0, 1.0, 2.0, 3.0, 3.0])
    samples[2], samples[5] = samples[1], samples[4]
    kept, kept_times, dropped = timestamps.drop_repeated_rows(samples, times, "time", "rec.csv")
    assert dropped == 2
    np.testing.assert_array_equal(kept_times, [0, 1, 2, 3])
    np.testing.assert_array_equal(kept, samples[[0, 1, 3, 4]])


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ([0.0, 1.0, 0.5, 2.0], "rec.csv: column 'time' goes back in time at data row 3"),
        ([0.0, 1.0, 1.0, 2.0], "rec.csv: data rows 2 and 3 have the same 'time' but different"),
    ],
)
def test_time_must_go_forward(times, message):
    samples = np.arange(8.0).reshape(4, 2)
    with pytest.raises(DataError, match=message):
        timestamps.drop_repeated_rows(samples, np.array(times), "time", "rec.csv")

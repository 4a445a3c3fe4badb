"""The folder dataset's rules for messy recordings: what is re-gridded, what is left out with a
counted warning and what is an error (docs/your_data.md, "Messy recordings").

The channels are linear in time (see test_folder.py), so every repair that only moves samples
in time keeps the windows equal to the line on the declared-rate grid.
"""

import warnings

import numpy as np
import pytest

from tests.data.test_folder import (
    SPEC,
    T0,
    expected_inertial,
    jittered_times,
    line,
    load,
    sequence_names,
    skeleton_frames,
    write_csv,
    write_folder,
    write_npy,
    write_spec,
)
from tfhar.data import DataError

FIRST = sequence_names()[0][0]


@pytest.fixture
def folder(tmp_path):
    return write_folder(tmp_path / "mine")


def check_first(record, times):
    np.testing.assert_allclose(record.inertial[0],
                               expected_inertial(FIRST, times[0], times[-1]), atol=1e-4)


def test_repeated_timestamps_are_averaged(folder):
    times = jittered_times(seed=0)
    values = line(FIRST, times)
    # Every sample twice with the same time, +-0.5 around the line: the average is the line.
    write_csv(folder, FIRST, np.repeat(times, 2),
              np.repeat(values, 2, axis=0) + np.tile([[0.5], [-0.5]], (len(times), 6)))
    record = load(folder)
    check_first(record, times)
    assert f"{len(times)} repeated timestamps averaged" in record.source


def test_bursts_and_short_gaps_are_placed_by_time(folder):
    times = jittered_times(seed=0)
    times[30:40] = times[30] + np.arange(10) * 1e-4  # A backlog delivered within 1 ms.
    times = times[(times < T0 + 1.2) | (times > T0 + 1.8)]  # A gap of about 0.6 s.
    write_csv(folder, FIRST, times)
    record = load(folder)
    check_first(record, times)
    gap = np.diff(times).max()
    assert f"gaps up to {gap:.3g} s interpolated" in record.source


def test_a_gap_longer_than_max_gap_s_is_an_error_or_skipped(folder):
    times = jittered_times(duration=4.0, seed=0)
    times = times[(times < T0 + 1.0) | (times > T0 + 2.5)]
    path = write_csv(folder, FIRST, times)
    with pytest.raises(DataError, match=rf"^{path}: no samples for 1\.\d+ s .*gaps up to 1\.0 s"):
        load(folder)
    with pytest.warns(UserWarning, match=r"1 bad sequences left out \(on_error='skip'\), 11 kept"):
        assert len(load(folder, on_error="skip")) == 11
    write_spec(folder, {**SPEC, "inertial": {**SPEC["inertial"], "max_gap_s": 2.0}})
    check_first(load(folder), times)


def test_glitches_beyond_the_range_are_dropped_and_bridged(folder):
    times = jittered_times(seed=0)
    values = line(FIRST, times)
    values[40, 4] = 1e4  # Far beyond the +-16 range declared below.
    write_csv(folder, FIRST, times, values)
    without_range = load(folder)
    assert not np.allclose(without_range.inertial[0],
                           expected_inertial(FIRST, times[0], times[-1]), atol=1e-2)
    assert "no glitch check (no inertial.range)" in without_range.source
    write_spec(folder, {**SPEC, "inertial": {**SPEC["inertial"], "range": 16}})
    record = load(folder)
    check_first(record, times)
    assert "1 glitch samples (beyond 1.25 x inertial.range) dropped" in record.source


def test_glitches_in_more_than_5_percent_of_samples_are_an_error(folder):
    times = jittered_times(seed=0)
    values = line(FIRST, times)
    values[10:16, 0] = 100.0  # 6 of 96 samples, 6.25%.
    path = write_csv(folder, FIRST, times, values)
    write_spec(folder, {**SPEC, "inertial": {**SPEC["inertial"], "range": [16] * 6}})
    with pytest.raises(DataError, match=rf"^{path}: 6 of 96 samples exceed 1.25 x "
                                        r"inertial.range, more than 5%"):
        load(folder)
    values[11:16, 0] = line(FIRST, times)[11:16, 0]  # 1 sample left: bridged.
    write_csv(folder, FIRST, times, values)
    check_first(load(folder), times)


def test_time_going_back_is_an_error(folder):
    times = jittered_times(seed=0)
    times[20], times[21] = times[21], times[20]
    path = write_csv(folder, FIRST, times)
    with pytest.raises(DataError, match=rf"^{path}: timestamps go backwards at row 22"):
        load(folder)


def test_a_rate_off_by_over_10_percent_warns_and_is_regridded(folder):
    times = jittered_times(rate=26.0, seed=0)
    write_csv(folder, FIRST, times)
    with pytest.warns(UserWarning, match=r"1 inertial files whose timestamps give a rate more "
                                         r"than 10% from the declared 32 Hz.*s1_wave.csv: 2\d"):
        record = load(folder)
    check_first(record, times)


def test_a_rate_off_by_over_2x_is_an_error(folder):
    path = write_csv(folder, FIRST, jittered_times(rate=100.0, seed=0))
    with pytest.raises(DataError, match=rf"^{path}: its timestamps .* give 1\d\d(\.\d+)? Hz, "
                                        r"more than 2x from inertial.rate_hz 32"):
        load(folder)


def test_a_sequence_far_longer_than_the_others_is_left_out(folder):
    times = jittered_times(duration=20.0, seed=0)  # 6.7 x the others' 3 s.
    write_csv(folder, FIRST, times)
    write_npy(folder, FIRST, skeleton_frames(FIRST, frames=600))
    with pytest.warns(UserWarning, match=r"1 sequences left out lasting over 5x more or less "
                                         rf"than the median, 11 kept: {FIRST}: 20\.00 s, 6\.7x"):
        record = load(folder)
    assert len(record) == 11 and "1 duration outliers" in record.source


def test_a_sequence_under_half_a_second_is_bad(folder):
    path = write_csv(folder, FIRST, jittered_times(duration=0.4, seed=0))
    write_npy(folder, FIRST, skeleton_frames(FIRST, frames=12))
    with pytest.raises(DataError, match=rf"^{path}: 13 samples at 32 Hz last 0\.41 s, under "
                                        r"the plausible minimum 0\.5 s"):
        load(folder)


def test_modalities_lasting_over_4x_apart_are_bad(folder):
    write_npy(folder, FIRST, skeleton_frames(FIRST, frames=20))  # 0.67 s against 3 s.
    with pytest.raises(DataError, match=r"differ by a factor 4\.\d, more than 4"):
        load(folder)


def test_sequences_with_one_modality_are_dropped_when_both_are_loaded(folder):
    (folder / "skeleton" / f"{FIRST}.npy").unlink()
    with pytest.warns(UserWarning, match=r"1 sequences left out for lacking a requested "
                                         rf"modality, 11 kept: {FIRST}: no skeleton file"):
        record = load(folder)
    assert len(record) == 11 and "1 lacking a modality" in record.source
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Inertial only: nothing is missing, nothing to say.
        assert len(load(folder, modalities=("inertial",))) == 12


def test_files_not_listed_in_labels_csv_are_ignored_with_a_warning(folder):
    write_csv(folder, "stray", jittered_times(seed=0))
    with pytest.warns(UserWarning, match=r"1 files not listed in labels.csv ignored: .*stray"):
        assert len(load(folder)) == 12


def test_skip_leaves_bad_files_out_and_counts_them(folder):
    times = jittered_times(seed=0)
    values = line(FIRST, times)
    values[3, 2] = np.nan
    write_csv(folder, FIRST, times, values)
    with pytest.warns(UserWarning, match=r"1 bad sequences left out .*NaN"):
        record = load(folder, on_error="skip")
    assert len(record) == 11 and "1 bad" in record.source


def test_a_time_unit_named_in_dataset_yaml_is_used(folder):
    times = jittered_times(seed=0)
    write_csv(folder, FIRST, (times - T0) * 1e3, line(FIRST, times), time_column="clock")
    write_spec(folder, {**SPEC, "inertial": {**SPEC["inertial"], "time_column": "clock",
                                             "time_unit": "ms"}})
    # The other files have no `clock` column: the named column is required in every file.
    with pytest.raises(DataError, match=r"s1_walk.csv: time column 'clock': no such column"):
        load(folder)
    for i, (sequence, _, _) in enumerate(sequence_names()[1:], start=1):
        other = jittered_times(seed=i)
        write_csv(folder, sequence, (other - T0) * 1e3, line(sequence, other),
                  time_column="clock")
    check_first(load(folder), times)


def test_skip_counts_a_listed_sequence_without_files_as_bad(folder):
    from tests.data.test_folder import write_labels

    write_labels(folder, [*sequence_names(), ("s9_typo", "wave", 4)])
    with pytest.warns(UserWarning, match=r"1 bad sequences left out .*'s9_typo' \(line 14\) has "
                                         r"no file"):
        assert len(load(folder, on_error="skip")) == 12


def test_regrid_places_samples_by_time_and_measures_the_rate():
    from tfhar.data.timestamps import regrid

    times_ms = np.array([0.0, 30.0, 60.0, 60.0, 95.0, 125.0, 2000.0])
    values = np.column_stack([times_ms / 1000, -times_ms / 1000])  # Value = time in s.
    values[3] += 0.2  # Shares its time with row 2: the two are averaged.
    with pytest.raises(DataError, match=r"^rec: no samples for 1\.88 s"):
        regrid(values, times_ms, 32.0, "rec", column="t", max_gap_s=1.0)
    stream = regrid(values[:6], times_ms[:6], 32.0, "rec", column="t")
    grid = np.arange(int(0.125 * 32) + 1) / 32
    expected = np.column_stack([grid, -grid])
    expected[(grid > 0.03) & (grid < 0.095)] += np.array([0.1, 0.1]) * np.interp(
        grid, [0.03, 0.06, 0.095], [0, 1, 0])[(grid > 0.03) & (grid < 0.095), None]
    np.testing.assert_allclose(stream.samples, expected, atol=1e-12)
    assert stream.unit == "ms" and stream.repeats == 1 and stream.glitches == 0
    assert stream.measured_rate_hz == pytest.approx(1000 / 30)
    assert stream.largest_gap_s == pytest.approx(0.035)
    plain = regrid(values[:6], None, 32.0, "rec")
    np.testing.assert_allclose(plain.samples, values[:6])  # Already one sample per 1/32 s.
    assert np.isnan(plain.measured_rate_hz) and plain.unit is None

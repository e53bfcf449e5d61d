"""Series CSV files: repeated timestamps refused with the line, or merged first/mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from athanor.data.importing import import_dataset
from athanor.data.series import merge_duplicates, read_series_csv
from athanor.errors import DataError

ROWS = [
    ("2024-01-01 00:00", 1.0),
    ("2024-01-01 01:00", 2.0),
    ("2024-01-01 01:00", 4.0),
    ("2024-01-01 02:00", 3.0),
    ("2024-01-01 01:00", 6.0),
]


def _write(path: Path) -> Path:
    path.write_text("timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in ROWS))
    return path


def test_repeated_timestamps_are_refused_naming_file_line_and_choices(tmp_path: Path) -> None:
    path = _write(tmp_path / "load.csv")
    with pytest.raises(DataError) as error:
        read_series_csv(path)
    message = str(error.value)
    assert message.startswith(f"{path}:4: timestamp 2024-01-01 01:00:00 appears again")
    assert "first on line 3" in message and "2 row(s) repeat" in message
    assert "--duplicates first" in message and "--duplicates mean" in message


@pytest.mark.parametrize(("policy", "merged_value"), [("first", 2.0), ("mean", 4.0)])
def test_duplicates_merge_into_one_row(tmp_path: Path, policy: str, merged_value: float) -> None:
    times, values, names, notes = read_series_csv(_write(tmp_path / "s.csv"), duplicates=policy)
    assert names == ["value"] and len(times) == 3
    assert values[:, 0].tolist() == [1.0, merged_value, 3.0]
    assert (np.diff(times) > np.timedelta64(0)).all()
    assert notes[0]["duplicates_merged"] == "2" and "2 row(s)" in notes[0]["reason"]


def test_mean_leaves_missing_cells_out() -> None:
    times = np.array(["2024-01-01", "2024-01-01", "2024-01-02"], dtype="datetime64[ns]")
    values = np.array([[1.0, np.nan], [3.0, 5.0], [7.0, np.nan]])
    merged_times, merged, count = merge_duplicates(times, values, "mean")
    assert count == 1 and len(merged_times) == 2
    assert merged[0].tolist() == [2.0, 5.0] and merged[1, 0] == 7.0 and np.isnan(merged[1, 1])


def test_nab_file_imports_with_a_duplicate_policy_and_reports_the_merge(nab_mirror: Path) -> None:
    source = nab_mirror / "realKnownCause" / "ec2_request_latency_system_failure.csv"
    with pytest.raises(DataError, match=r"ec2_request_latency_system_failure.csv:\d+: timestamp"):
        import_dataset(source, name="latency", skip_bad=True)
    result = import_dataset(source, name="latency", duplicates="first")
    # 4,032 rows; 2014-03-09 03:00:00 (a daylight-saving hour) appears 12 times
    assert result.report["duplicates_merged"] == 11
    assert result.version.rows == 4021

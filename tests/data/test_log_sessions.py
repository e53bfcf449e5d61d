"""Log lines into sessions: header formats, block ids, time windows, pre-parsed key files,
and bad input named by file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from athanor.data.log_lines import HDFS_FORMAT, format_regex, read_log_lines
from athanor.data.log_parsing import UNKNOWN_KEY, parse_log_file
from athanor.data.log_sessions import LogSessions, read_key_file, read_key_files
from athanor.data.log_templates import TemplateMiner
from athanor.errors import DataError

_BLOCK_A = "blk_-1608999687919862906"
_BLOCK_B = "blk_7503483334202473044"
HDFS_LINES = "\n".join(
    [
        "081109 203518 143 INFO dfs.DataNode$DataXceiver: Receiving block "
        f"{_BLOCK_A} src: /10.250.19.102:54106 dest: /10.250.19.102:50010",
        "081109 203518 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.allocateBlock: "
        f"/mnt/hadoop/mapred/system/job_200811092030_0001/job.jar. {_BLOCK_A}",
        "081109 203519 143 INFO dfs.DataNode$DataXceiver: Receiving block "
        f"{_BLOCK_B} src: /10.251.71.16:51590 dest: /10.251.71.16:50010",
        "",
        "081109 203521 19 INFO dfs.FSNamesystem: BLOCK* ask 10.250.14.224:50010 to delete  "
        f"{_BLOCK_A} {_BLOCK_B}",
        "081109 203523 19 INFO dfs.FSNamesystem: Starting the namenode",
        "",
    ]
)


def _log(tmp_path: Path, text: str = HDFS_LINES) -> Path:
    path = tmp_path / "app.log"
    path.write_text(text)
    return path


def test_lines_are_grouped_by_block_id_and_a_line_naming_two_joins_both(tmp_path: Path) -> None:
    miner = TemplateMiner()
    parsed = parse_log_file(
        _log(tmp_path), miner, log_format=HDFS_FORMAT, session=None, learn=True, keep_lines=True
    )
    sessions = parsed.sessions
    assert sessions.ids == ["blk_-1608999687919862906", "blk_7503483334202473044"]
    assert sessions.lines == [[1, 2, 5], [3, 5]]  # the blank line 4 is no line
    receiving = sessions.keys[0][0]
    assert sessions.keys[1][0] == receiving  # the same template, another block
    assert parsed.without_session == 1  # "Starting the namenode" names no block
    assert parsed.lines[2].fields["Component"] == "dfs.FSNamesystem"
    assert parsed.lines[2].content.startswith("BLOCK* NameSystem.allocateBlock")


def test_matching_only_gives_unknown_lines_key_zero(tmp_path: Path) -> None:
    miner = TemplateMiner()
    parse_log_file(_log(tmp_path), miner, log_format=HDFS_FORMAT, session=None, learn=True)
    count = len(miner.templates)
    other = _log(
        tmp_path,
        "081109 203518 143 INFO dfs.DataNode: Disk of blk_1 is on fire right now\n"
        + HDFS_LINES.splitlines()[0]
        + "\n",
    )
    parsed = parse_log_file(other, miner, log_format=HDFS_FORMAT, session=None, learn=False)
    assert parsed.sessions.keys[0].tolist() == [UNKNOWN_KEY]
    assert parsed.sessions.keys[1].tolist() == [1]
    assert len(miner.templates) == count  # nothing learned


def test_time_windows_group_lines_by_their_header_time(tmp_path: Path) -> None:
    parsed = parse_log_file(
        _log(tmp_path),
        TemplateMiner(),
        log_format=HDFS_FORMAT,
        session="window:2",
        time_format="%y%m%d %H%M%S",
        learn=True,
    )
    # 18, 18, 19 s | 21 s | 23 s: windows start at even seconds
    assert [len(k) for k in parsed.sessions.keys] == [3, 1, 1]
    assert parsed.sessions.ids[0] == "2008-11-09 20:35:18"

    with pytest.raises(DataError, match=r"app.log:1: time '081109 203518' does not fit"):
        parse_log_file(
            _log(tmp_path), TemplateMiner(), log_format=HDFS_FORMAT, session="window:2", learn=True
        )
    with pytest.raises(DataError, match="'window:SECONDS' with SECONDS > 0"):
        parse_log_file(
            _log(tmp_path), TemplateMiner(), log_format=None, session="window:x", learn=True
        )


def test_a_line_that_does_not_fit_the_format_is_named_or_skipped(tmp_path: Path) -> None:
    path = _log(tmp_path, HDFS_LINES + "garbage without a header\n")
    with pytest.raises(DataError, match=r"app.log:7: does not fit the log format"):
        list(read_log_lines(path, HDFS_FORMAT))
    skipped: list[dict[str, str]] = []
    lines = list(read_log_lines(path, HDFS_FORMAT, skip_bad=True, skipped=skipped))
    assert len(lines) == 5 and skipped == [
        {"item": "app.log:7", "reason": f"does not fit the log format '{HDFS_FORMAT}'"}
    ]
    with pytest.raises(DataError, match="has no <Content> field"):
        format_regex("<Date> <Time> <Message>")
    assert format_regex("<Level>: <Content>").match("INFO:  hello").group("Content") == "hello"


def test_key_files_hold_one_session_per_line_and_abnormal_files_are_anomalous(
    tmp_path: Path,
) -> None:
    normal = tmp_path / "hdfs_train"
    normal.write_text("5 5 5 22 11 9 \n\n22 5 5 5 11 9\n")
    abnormal = tmp_path / "hdfs_test_abnormal"
    abnormal.write_text("5 5\n")
    sessions = read_key_files([normal, abnormal])
    assert [k.tolist() for k in sessions.keys] == [
        [5, 5, 5, 22, 11, 9],
        [22, 5, 5, 5, 11, 9],
        [5, 5],
    ]
    assert sessions.labels.tolist() == [0, 0, 1]
    assert sessions.ids == ["hdfs_train:1", "hdfs_train:3", "hdfs_test_abnormal:1"]

    sessions.save(tmp_path)
    loaded = LogSessions.load(tmp_path)
    assert [k.tolist() for k in loaded.keys] == [k.tolist() for k in sessions.keys]
    assert np.array_equal(loaded.labels, sessions.labels) and loaded.ids == sessions.ids

    bad = tmp_path / "keys"
    bad.write_text("1 2 3\n4 x 5\n")
    with pytest.raises(DataError, match=r"keys:2: 'x' is not a log key"):
        read_key_file(bad, 0)
    bad.write_text("1 0\n")
    with pytest.raises(DataError, match=r"keys:1: '0' is not a log key"):
        read_key_file(bad, 0)

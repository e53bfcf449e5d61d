"""Reading a job's log: whole lines, offsets from either end, any bytes."""

from __future__ import annotations

from pathlib import Path

from athanor.jobs.logs import read_log


def test_complete_lines_are_returned_and_a_partial_one_waits(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    assert read_log(log).text == ""  # no log yet
    log.write_bytes(b"first\nsecond\npart")
    chunk = read_log(log)
    assert (chunk.text, chunk.next_offset, chunk.size) == ("first\nsecond\n", 13, 17)
    assert read_log(log, chunk.next_offset).text == ""
    assert read_log(log, chunk.next_offset, whole=True).text == "part"
    assert read_log(log, -4, whole=True).text == "part"
    assert read_log(log, 0, limit=8).text == "first\n"


def test_bytes_that_are_not_utf8_are_replaced(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_bytes(b"ok \xff\xfe\n")
    assert read_log(log).text == "ok \ufffd\ufffd\n"


def test_a_line_longer_than_the_limit_comes_in_pieces(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_bytes(b"x" * 100 + b"\n")
    first = read_log(log, 0, limit=40)
    assert len(first.text) == 40 and first.next_offset == 40

"""A reader that closes the pipe early (``| head``) does not stop the work, in real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WRITER = """
import sys
from pathlib import Path
from rich.console import Console
if sys.argv[2] == "guarded":
    from athanor.cli.pipes import guard_standard_streams
    guard_standard_streams()
console = Console(highlight=False)
for line in range(20000):
    console.print(f"line {line}")
    print(f"plain {line}", file=sys.stderr)
Path(sys.argv[1]).write_text("finished")
"""


@pytest.mark.parametrize("mode", ["guarded", "bare"])
def test_work_continues_after_the_reader_leaves(tmp_path: Path, mode: str) -> None:
    marker = tmp_path / "done"
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(marker), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # as with 2>&1 | head
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"line 0")
    process.stdout.close()  # the reader is gone, as head is after its lines
    code = process.wait(timeout=120)
    if mode == "guarded":
        assert code == 0 and marker.read_text() == "finished"
    else:  # what happened before: rich turns the broken pipe into an exit, the work is lost
        assert code != 0 and not marker.exists()

"""Output into a pipe that its reader closed (``athanor train ... | head``).

Python ignores SIGPIPE, so a write to a closed pipe raises ``BrokenPipeError``, and rich
turns that into ``SystemExit(1)``: the command, a training run included, would die in the
middle of its work. :func:`guard_standard_streams` makes standard output and standard error
drop what they can no longer deliver, so the work finishes and the command exits as it would
have; the reader simply sees no more lines.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class PipeSafeStream:
    """A text stream that becomes a sink once its reader is gone; otherwise the stream itself."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def _gone(self) -> None:
        self.closed_by_reader = True
        try:
            # Later writes below Python (a C library, a child process sharing the descriptor)
            # land in /dev/null too, and the interpreter's flush at exit finds nothing to say.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def write(self, text: str) -> int:
        if self.closed_by_reader:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._gone()
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.closed_by_reader:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._gone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_standard_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in :class:`PipeSafeStream` (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, PipeSafeStream):
            setattr(sys, name, PipeSafeStream(stream))

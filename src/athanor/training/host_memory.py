"""Bytes in use on the C heap, where PyTorch keeps its CPU tensors.

The resident set size says little about a training step: the allocator reuses what data
loading freed, and it never gives memory back to the system in time to show a step's peak.
glibc's ``mallinfo2`` counts the bytes handed out and not yet freed, ordinary and mmapped;
:class:`HeapPeak` samples it from a thread while the step runs (PyTorch releases the GIL in its
kernels). Elsewhere than glibc >= 2.33 nothing is measured (``None``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from functools import cache


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@cache
def _mallinfo2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    return function


def heap_in_use() -> int | None:
    """Bytes allocated with malloc and not freed, or ``None`` where this cannot be read."""
    function = _mallinfo2()
    if function is None:
        return None
    info = function()
    return int(info.uordblks + info.hblkhd)


class HeapPeak:
    """The most heap in use while the ``with`` block runs, above what was in use before it.

    ``growth`` is ``None`` where the heap cannot be read.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.baseline = heap_in_use()
        self.peak = self.baseline
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def growth(self) -> int | None:
        if self.baseline is None or self.peak is None:
            return None
        return max(0, self.peak - self.baseline)

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak or 0, heap_in_use() or 0)

    def __enter__(self) -> HeapPeak:
        self.baseline = heap_in_use()
        self.peak = self.baseline
        if self.baseline is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self.peak = max(self.peak or 0, heap_in_use() or 0)

"""Sessions of log keys as next-key samples, and the preprocessing step models keep.

Each position ``i`` of a session is one sample: the ``h`` keys before it (padded on the
left at the start of a session) and, as the target, the key at ``i``; so every key of a
session, its first included, is predicted from what came before. With ``end`` one more
sample predicts ``<end>`` after the last key, so a session that stops where normal ones do
not (a block whose lifecycle breaks off) is unexpected too. Keys are mapped to the indices
of a vocabulary fitted on the training sessions: index 0 pads, index 1 stands for a key
the training sessions never showed (a new kind of line is unexpected by definition), index
2 is the end of a session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from athanor.data.preprocessing import Step, register_step

PAD = 0
UNKNOWN = 1
END = 2
SPECIAL = ("<pad>", "<unknown>", "<end>")


def key_vocabulary(sessions: Sequence[np.ndarray]) -> list[str]:
    """``<pad>``, ``<unknown>``, ``<end>``, then the distinct keys of ``sessions``, in
    ascending order."""
    keys = np.unique(np.concatenate(list(sessions))) if len(sessions) else np.zeros(0)
    return [*SPECIAL, *(str(int(k)) for k in keys.tolist())]


class KeyIndex:
    """Maps log keys to vocabulary indices (unknown keys to :data:`UNKNOWN`)."""

    def __init__(self, vocab: list[str]) -> None:
        self.vocab = vocab
        keys = np.array([int(k) for k in vocab[len(SPECIAL) :]], dtype=np.int64)
        size = int(keys.max()) + 1 if len(keys) else 1
        self._table = np.full(size, UNKNOWN, dtype=np.int64)
        self._table[keys] = np.arange(len(SPECIAL), len(vocab))

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.int64)
        inside = (keys >= 0) & (keys < len(self._table))
        out = np.full(keys.shape, UNKNOWN, dtype=np.int64)
        out[inside] = self._table[keys[inside]]
        return out


def session_windows(
    indices: np.ndarray, window: int, end: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(x [L, window], y [L])`` of one session's key indices (``L + 1`` with ``end``; see
    the module docstring)."""
    if end:
        indices = np.concatenate([indices, [END]]).astype(np.int64)
    padded = np.concatenate([np.full(window, PAD, dtype=np.int64), indices])
    x = np.lib.stride_tricks.sliding_window_view(padded, window)[: len(indices)]
    return np.ascontiguousarray(x), indices.astype(np.int64)


def windows_of(
    sessions: Sequence[np.ndarray], index: KeyIndex, window: int, end: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples of many sessions: ``(x [N, window], y [N], session [N])``."""
    xs, ys, owners = [], [], []
    for number, keys in enumerate(sessions):
        x, y = session_windows(index(keys), window, end)
        xs.append(x)
        ys.append(y)
        owners.append(np.full(len(y), number, dtype=np.int64))
    if not xs:
        empty = np.zeros((0, window), dtype=np.int64)
        return empty, np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)


@register_step
class LogKeys(Step):
    """Sessions of log keys -> next-key windows; keeps how raw lines become keys.

    ``parsing`` is the template miner's state and the header format and session rule of the
    training logs (None for pre-parsed keys), so a model can parse new raw logs itself.
    """

    kind = "log_keys"
    accepts_raw = True

    def __init__(
        self,
        window: int,
        vocab: list[str],
        parsing: dict[str, Any] | None = None,
        end: bool = False,
    ) -> None:
        self.window = int(window)
        self.end = bool(end)
        self.vocab = list(vocab)
        self.parsing = parsing
        self.index = KeyIndex(self.vocab)

    def transform(self, x: Any) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x
        windows, _, _ = windows_of(list(x), self.index, self.window, self.end)
        return torch.from_numpy(windows)

    def state(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "vocab": self.vocab,
            "parsing": self.parsing,
            "end": self.end,
        }

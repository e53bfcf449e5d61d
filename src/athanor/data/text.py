"""Text as tokens: character or word vocabularies fitted on training text, and LM windows.

A vocabulary lists ``<pad>`` (index 0), ``<unk>`` (index 1, anything the training text did
not contain), then the training tokens by frequency. The :class:`Tokenize` step holds it as
JSON, so a predictor turns new text into the same indices.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import torch

from athanor.data.preprocessing import Step, register_step
from athanor.errors import PredictionInputError

PAD, UNK = "<pad>", "<unk>"
_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def split_tokens(text: str, level: str, lowercase: bool = False) -> list[str]:
    """Characters, or words and punctuation marks, of ``text``."""
    if lowercase:
        text = text.lower()
    if level == "char":
        return list(text)
    return _WORDS.findall(text)


def build_vocab(tokens: list[str], *, min_count: int = 1, max_size: int | None = None) -> list[str]:
    """``<pad>``, ``<unk>``, then tokens seen at least ``min_count`` times, most frequent first."""
    counts = Counter(tokens)
    ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    if max_size is not None:
        ranked = ranked[: max(0, max_size - 2)]
    return [PAD, UNK, *ranked]


@register_step
class Tokenize(Step):
    """Strings -> ``int64 [N, length]`` token indices; token tensors pass through unchanged.

    Args:
        level: ``char`` or ``word``.
        vocab: tokens by index (set by :meth:`fit_tokens` on training text).
        length: the steps of one sample; longer texts keep their last ``length`` tokens
            (their first with ``keep="first"``), shorter ones are padded on the left with
            ``<pad>``, so that a recurrent network's last state follows the text's last token.
        lowercase: lower-case text before splitting it.
        keep: ``last`` (language models continue the end of a prompt) or ``first`` (a
            classified document is cut after its first ``length`` tokens).
    """

    kind = "tokenize"
    accepts_raw = True

    def __init__(
        self,
        level: str = "char",
        vocab: list[str] | None = None,
        length: int = 128,
        lowercase: bool = False,
        keep: str = "last",
    ) -> None:
        if keep not in ("first", "last"):
            raise ValueError(f"keep must be 'first' or 'last', not {keep!r}")
        self.level = level
        self.keep = keep
        self.vocab = list(vocab or [])
        self.length = int(length)
        self.lowercase = lowercase
        self._index = {token: i for i, token in enumerate(self.vocab)}

    def fit_tokens(self, tokens: list[str], *, min_count: int, max_size: int | None) -> None:
        """Build the vocabulary from the training split's tokens."""
        self.vocab = build_vocab(tokens, min_count=min_count, max_size=max_size)
        self._index = {token: i for i, token in enumerate(self.vocab)}

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Token indices of ``tokens`` (``<unk>`` for unknown ones)."""
        index = self._index
        return np.fromiter((index.get(t, 1) for t in tokens), dtype=np.int64, count=len(tokens))

    def encode_text(self, text: str) -> np.ndarray:
        return self.encode(split_tokens(text, self.level, self.lowercase))

    def decode(self, indices: Any) -> str:
        """Text of token indices (words joined by spaces)."""
        tokens = [self.vocab[int(i)] for i in indices if int(i) != 0]
        return ("" if self.level == "char" else " ").join(tokens)

    def transform(self, x: Any) -> torch.Tensor:
        if isinstance(x, torch.Tensor) and not x.is_floating_point():
            return x
        if isinstance(x, np.ndarray) and x.dtype.kind in "iu":
            return torch.from_numpy(x.astype(np.int64))
        texts = [x] if isinstance(x, str) else list(x)
        if not all(isinstance(t, str) for t in texts):
            raise PredictionInputError("this model takes text (strings) or token indices")
        batch = np.zeros((len(texts), self.length), dtype=np.int64)
        for row, text in enumerate(texts):
            encoded = self.encode_text(text)
            encoded = encoded[: self.length] if self.keep == "first" else encoded[-self.length :]
            if len(encoded):
                batch[row, self.length - len(encoded) :] = encoded
        return torch.from_numpy(batch)

    def state(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "vocab": self.vocab,
            "length": self.length,
            "lowercase": self.lowercase,
            "keep": self.keep,
        }


def lm_windows(ids: np.ndarray, length: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Language-model samples: ``x = ids[s : s + length]``, ``y = ids[s + 1 : s + length + 1]``.

    Windows start every ``stride`` tokens; a text shorter than ``length + 1`` gives none.
    """
    count = (len(ids) - length - 1) // stride + 1 if len(ids) > length else 0
    if count <= 0:
        empty = np.zeros((0, length), dtype=np.int64)
        return empty, empty.copy()
    starts = np.arange(count) * stride
    offsets = np.arange(length)
    x = ids[starts[:, None] + offsets[None, :]]
    y = ids[starts[:, None] + offsets[None, :] + 1]
    return x.astype(np.int64), y.astype(np.int64)


def length_statistics(lengths: np.ndarray) -> dict[str, float | int]:
    """Minimum, mean, median, 95th percentile and maximum of document lengths (tokens)."""
    if len(lengths) == 0:
        return {"min": 0, "mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0}
    return {
        "min": int(lengths.min()),
        "mean": round(float(lengths.mean()), 1),
        "median": float(np.median(lengths)),
        "p95": float(np.percentile(lengths, 95)),
        "max": int(lengths.max()),
    }


def auto_length(lengths: np.ndarray, level: str) -> int:
    """A sequence length for classifying documents: the 95th percentile of the training
    documents' lengths, at most 256 words or 1,024 characters (longer ones are cut)."""
    cap = 256 if level == "word" else 1024
    if len(lengths) == 0:
        return 1
    return int(min(cap, max(1, int(np.ceil(np.percentile(lengths, 95))))))

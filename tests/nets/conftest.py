"""Real data for network tests: MNIST digits, a NAB series window, a Tiny Shakespeare batch."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from tests.conftest import MIRROR

SERIES = "realKnownCause/machine_temperature_system_failure.csv"
STEPS, HORIZON = 48, 6


def _mirror_file(relative: str) -> Path:
    path = MIRROR / relative if MIRROR is not None else None
    if path is not None and path.is_file():
        return path
    message = f"{relative} is not in ATHANOR_DATA_MIRROR (nor in ../shared/data)"
    if os.environ.get("ATHANOR_REQUIRE_MIRROR"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class SeriesWindows:
    """Windows of one real NAB series (standardized), what follows them, and anomaly labels."""

    x: torch.Tensor  # [N, STEPS, 1]
    future: torch.Tensor  # [N, HORIZON, 1]
    anomalous: torch.Tensor  # [N] int64: the window ends inside a labeled anomaly window

    def schema(self, task: str) -> Schema:
        extra: dict = {"horizon": HORIZON} if task == "forecasting" else {}
        if task == "classification":
            extra["classes"] = ["normal", "anomalous"]
        return Schema(task=task, input=InputSchema(kind="sequence", shape=[STEPS, 1]), **extra)


@dataclass
class CharBatch:
    """Tiny Shakespeare as token ids: a batch and, for each position, the next character."""

    vocab: list[str]
    x: torch.Tensor  # [B, T] int64
    next: torch.Tensor  # [B, T] int64

    def schema(self, task: str = "language_model") -> Schema:
        classes = {"classes": ["prose", "new line"]} if task == "classification" else {}
        return Schema(
            task=task,
            input=InputSchema(kind="tokens", shape=[self.x.shape[1]], vocab=self.vocab),
            **classes,
        )


@pytest.fixture(scope="session")
def series_windows() -> SeriesWindows:
    """Eight windows of the NAB machine temperature series, four of them in anomalies."""
    path = _mirror_file(f"nab/{SERIES}")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    times = [datetime.fromisoformat(row["timestamp"]) for row in rows]
    values = np.array([float(row["value"]) for row in rows], dtype=np.float32)
    values = (values - values.mean()) / values.std()
    labels = json.loads(_mirror_file("nab/labels/combined_windows.json").read_text())[SERIES]
    spans = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in labels]
    ends = np.arange(STEPS, len(values) - HORIZON, STEPS)
    inside = np.array([any(a <= times[e - 1] <= b for a, b in spans) for e in ends])
    chosen = np.concatenate([ends[inside][:4], ends[~inside][:4]])
    x = np.stack([values[e - STEPS : e] for e in chosen])[..., None]
    future = np.stack([values[e : e + HORIZON] for e in chosen])[..., None]
    return SeriesWindows(
        torch.from_numpy(x),
        torch.from_numpy(future),
        torch.from_numpy(inside[np.searchsorted(ends, chosen)].astype(np.int64)),
    )


@pytest.fixture(scope="session")
def char_batch() -> CharBatch:
    """Four 64-character windows of Tiny Shakespeare, encoded with the text's own vocabulary."""
    text = _mirror_file("tinyshakespeare/input.txt").read_text(encoding="utf-8")
    vocab = sorted(set(text))
    index = {char: i for i, char in enumerate(vocab)}
    starts = [0, 10_000, 500_000, 1_000_000]
    ids = torch.tensor([[index[c] for c in text[s : s + 65]] for s in starts], dtype=torch.int64)
    return CharBatch(vocab, ids[:, :-1], ids[:, 1:])


@pytest.fixture
def mnist_images(mnist_raw) -> tuple[torch.Tensor, torch.Tensor]:
    """Sixteen MNIST training digits scaled to [0, 1], with their labels."""
    x = torch.from_numpy(mnist_raw.x[:16]).float() / 255.0
    return x, torch.from_numpy(mnist_raw.y[:16])


MNIST = Schema(
    task="classification",
    input=InputSchema(kind="image", shape=[1, 28, 28]),
    classes=[str(d) for d in range(10)],
)

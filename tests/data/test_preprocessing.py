"""Preprocessing steps: fitted on training data, saved as JSON, replayed identically."""

from __future__ import annotations

import json

import numpy as np
import torch

from athanor.data.preprocessing import MinMax, Preprocessor, Standardize, default_preprocessor


def test_standardize_per_channel_and_per_column() -> None:
    images = torch.rand(50, 3, 4, 4) * torch.tensor([1.0, 10.0, 100.0]).view(1, 3, 1, 1)
    step = Standardize(per="channel")
    step.fit(images)
    out = step.transform(images)
    assert torch.allclose(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)
    table = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
    column = Standardize(per="column")
    column.fit(table)
    assert column.transform(table).tolist() == [[-1.0, 0.0], [1.0, 0.0]]  # constant stays 0


def test_minmax() -> None:
    table = torch.tensor([[0.0, -1.0], [4.0, 1.0]])
    step = MinMax(per="column")
    step.fit(table)
    assert step.transform(table).tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_json_round_trip_reproduces_the_transform() -> None:
    raw = np.random.default_rng(0).integers(0, 256, size=(20, 1, 5, 5), dtype=np.uint8)
    fitted = default_preprocessor("image", "standard", raw.dtype).fit(torch.from_numpy(raw))
    restored = Preprocessor.from_json(json.loads(json.dumps(fitted.to_json())))
    assert torch.equal(fitted.transform(raw), restored.transform(raw))
    assert [step["type"] for step in fitted.to_json()] == ["to_float", "standardize"]

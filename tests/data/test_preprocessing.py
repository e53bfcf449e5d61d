"""Preprocessing steps: fitted on training data, saved as JSON, replayed identically."""

from __future__ import annotations

import json

import numpy as np
import torch

from athanor.data.preprocessing import (
    MinMax,
    Preprocessor,
    Standardize,
    ToFloat,
    default_preprocessor,
)


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


def test_scaling_a_batch_leaves_its_input_as_it_was() -> None:
    # ToFloat and Standardize work in place on the tensors they make, never on their input.
    images = torch.randint(0, 256, (4, 3, 5, 5), dtype=torch.uint8)
    floats = images.float()
    kept_images, kept_floats = images.clone(), floats.clone()
    scaled = ToFloat(1 / 255).transform(images)
    assert torch.equal(images, kept_images) and scaled.dtype == torch.float32
    assert torch.equal(scaled, images.to(torch.float32) * (1 / 255))
    assert torch.equal(ToFloat(0.5).transform(floats), kept_floats * 0.5)
    assert torch.equal(floats, kept_floats)
    step = Standardize("channel")
    step.fit(floats)
    out = step.transform(floats)
    mean = torch.tensor(step.mean).view(1, 3, 1, 1)
    std = torch.tensor(step.std).view(1, 3, 1, 1)
    assert torch.equal(floats, kept_floats) and torch.equal(out, (kept_floats - mean) / std)


def test_a_preprocessor_scales_in_place_only_what_it_made() -> None:
    images = torch.randint(0, 256, (4, 3, 5, 5), dtype=torch.uint8)
    floats = images.float()
    kept_images, kept_floats = images.clone(), floats.clone()
    steps = Preprocessor([ToFloat(1 / 255), Standardize("channel")]).fit(images)
    mean = torch.tensor(steps.steps[1].mean).view(1, 3, 1, 1)
    std = torch.tensor(steps.steps[1].std).view(1, 3, 1, 1)
    assert torch.equal(steps.transform(images), (kept_images.float() * (1 / 255) - mean) / std)
    assert torch.equal(steps.transform(floats), (kept_floats * (1 / 255) - mean) / std)
    alone = Preprocessor([Standardize("channel")]).fit(floats)
    out = alone.transform(floats)
    assert out.data_ptr() != floats.data_ptr()
    assert torch.equal(images, kept_images) and torch.equal(floats, kept_floats)

"""CenterNet's loss: Gaussian heatmap targets, and a loss that falls on a few images."""

from __future__ import annotations

import torch

from athanor.data.schema import InputSchema, Schema
from athanor.nets.builder import build_network
from athanor.spec.model import CenterNetSpec
from athanor.training.detection_loss import CenterNetLoss, heatmap_targets


def _targets() -> torch.Tensor:
    return torch.tensor(
        [
            [[0, 4, 8, 20, 28], [1, 30, 30, 46, 50], [-1, -1, -1, -1, -1]],
            [[1, 10, 40, 22, 60], [-1, -1, -1, -1, -1], [-1, -1, -1, -1, -1]],
        ],
        dtype=torch.float32,
    )


def test_heatmap_peaks_at_each_center_cell_of_its_class() -> None:
    heatmap, cell, size, offset = heatmap_targets(_targets(), 2, 16, 16, 4)
    assert heatmap.shape == (2, 2, 16, 16)
    assert heatmap[0, 0, 4, 3] == 1.0  # center (12, 18) px -> cell (3, 4), x first
    assert heatmap[0, 1, 10, 9] == 1.0 and heatmap[1, 1, 12, 4] == 1.0
    assert int((heatmap == 1).sum()) == 3 and heatmap[1, 0].max() == 0
    assert cell[0, 0].tolist() == [3, 4] and size[0, 0].tolist() == [4, 5]
    assert offset[0, 0].tolist() == [0.0, 0.5]


def test_loss_falls_when_fitting_a_few_images() -> None:
    schema = Schema(
        task="detection", input=InputSchema(kind="image", shape=[1, 64, 64]), classes=["a", "b"]
    )
    network = build_network(CenterNetSpec(width=8, depth=3, convs=0), schema, seed=0)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 64, 64, generator=generator)
    loss_fn = CenterNetLoss()
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = loss_fn(network(x), _targets())
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]

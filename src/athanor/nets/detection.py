"""A detector's output maps and how they become boxes (CenterNet: objects as points).

A detector outputs ``[B, classes + 4, H/4, W/4]`` (see :mod:`athanor.data.schema`): per
cell of the input's quarter-resolution grid, one heatmap logit per class (an object's
center scores high), then the box width and height in cells, then the center's offset
within its cell. Decoding needs no non-maximum suppression: a center is a heatmap peak, a
cell that is the largest in its 3x3 neighbourhood (a 3x3 max pool), and the ``top_k``
highest peaks become boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

from athanor.data.schema import DETECTION_STRIDE

TOP_K = 100
"""Most boxes decoded per image (COCO's evaluation keeps 100 too)."""
HEATMAP_PRIOR = 0.1
"""Initial center probability of every cell: the heatmap bias starts at its logit, so that
the focal loss does not begin by pushing millions of background cells down."""


@dataclass
class HeadMaps:
    """The three heads of a detector's output, split by channel."""

    heatmap: torch.Tensor
    """Center logits ``[B, classes, h, w]``."""
    size: torch.Tensor
    """Box width and height in cells ``[B, 2, h, w]``."""
    offset: torch.Tensor
    """Center offset within its cell, x then y ``[B, 2, h, w]``."""


def head_maps(outputs: torch.Tensor) -> HeadMaps:
    """Split a detector's ``[B, classes + 4, h, w]`` output into its heads."""
    classes = outputs.shape[1] - 4
    return HeadMaps(
        outputs[:, :classes], outputs[:, classes : classes + 2], outputs[:, classes + 2 :]
    )


@dataclass
class Detections:
    """The ``top_k`` decoded boxes of each image of a batch, best first."""

    scores: torch.Tensor
    """``[B, K]`` center probabilities."""
    labels: torch.Tensor
    """``[B, K]`` class indices."""
    boxes: torch.Tensor
    """``[B, K, 4]`` ``x0, y0, x1, y1`` in input pixels, clipped to the input."""


def decode(
    outputs: torch.Tensor, *, top_k: int = TOP_K, stride: int = DETECTION_STRIDE
) -> Detections:
    """Boxes from a detector's output maps: heatmap peaks (3x3 max pool), sizes, offsets.

    Args:
        outputs: ``[B, classes + 4, h, w]`` raw maps.
        top_k: boxes per image (fewer when the maps have fewer cells and classes).
        stride: input pixels per cell.
    """
    maps = head_maps(outputs.detach().float())
    batch, _classes, height, width = maps.heatmap.shape
    heat = torch.sigmoid(maps.heatmap)
    peaks = heat == functional.max_pool2d(heat, 3, stride=1, padding=1)
    scores, index = (heat * peaks).reshape(batch, -1).topk(min(top_k, heat[0].numel()), dim=1)
    labels = torch.div(index, height * width, rounding_mode="floor")
    cell = index % (height * width)
    rows = torch.div(cell, width, rounding_mode="floor").float()
    cols = (cell % width).float()
    gather = cell[:, None, :].expand(-1, 2, -1)
    size = maps.size.reshape(batch, 2, -1).gather(2, gather).clamp(min=0)
    offset = maps.offset.reshape(batch, 2, -1).gather(2, gather)
    center_x = (cols + offset[:, 0]) * stride
    center_y = (rows + offset[:, 1]) * stride
    half_w, half_h = size[:, 0] * stride / 2, size[:, 1] * stride / 2
    boxes = torch.stack(
        [
            (center_x - half_w).clamp(0, width * stride),
            (center_y - half_h).clamp(0, height * stride),
            (center_x + half_w).clamp(0, width * stride),
            (center_y + half_h).clamp(0, height * stride),
        ],
        dim=-1,
    )
    return Detections(scores=scores, labels=labels, boxes=boxes)

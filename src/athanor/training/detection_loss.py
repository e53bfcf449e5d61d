"""CenterNet's training objective: focal loss on the heatmap, L1 on sizes and offsets.

Targets are the padded boxes of :mod:`athanor.data.box_targets` (input pixels); the
heatmap targets are drawn from them on the fly, on the batch's device: a Gaussian peak of
value 1 at each box's center cell, with the radius of the paper (a box shifted within it
still overlaps the true one by 0.7 IoU), the larger value where peaks of one class meet.
"""

from __future__ import annotations

import torch
from torch import nn

from athanor.data.box_targets import valid_rows
from athanor.data.schema import DETECTION_STRIDE
from athanor.nets.detection import head_maps

MIN_OVERLAP = 0.7


def gaussian_radius(width: torch.Tensor, height: torch.Tensor) -> torch.Tensor:
    """Radius (cells) a center may move with the box keeping :data:`MIN_OVERLAP` IoU.

    The smallest of the three cases of CornerNet/CenterNet's ``gaussian_radius``.
    """
    overlap = MIN_OVERLAP
    b1 = height + width
    c1 = width * height * (1 - overlap) / (1 + overlap)
    r1 = (b1 + torch.sqrt((b1**2 - 4 * c1).clamp(min=0))) / 2
    b2 = 2 * (height + width)
    c2 = (1 - overlap) * width * height
    r2 = (b2 + torch.sqrt((b2**2 - 16 * c2).clamp(min=0))) / 2
    a3 = 4 * overlap
    b3 = -2 * overlap * (height + width)
    c3 = (overlap - 1) * width * height
    r3 = (b3 + torch.sqrt((b3**2 - 4 * a3 * c3).clamp(min=0))) / 2
    return torch.minimum(torch.minimum(r1, r2), r3).floor().clamp(min=0)


def heatmap_targets(
    targets: torch.Tensor, classes: int, height: int, width: int, stride: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Heatmap ``[B, classes, h, w]``, and per box: center cell ``[B, M, 2]`` (x, y), size
    in cells ``[B, M, 2]`` and offset in its cell ``[B, M, 2]``."""
    valid = valid_rows(targets)
    boxes = targets[..., 1:] / stride
    size = boxes[..., 2:] - boxes[..., :2]
    center = (boxes[..., :2] + boxes[..., 2:]) / 2
    limit = torch.tensor([width - 1, height - 1], device=targets.device, dtype=center.dtype)
    cell = torch.minimum(center.floor().clamp(min=0), limit)
    offset = center - cell
    radius = gaussian_radius(size[..., 0], size[..., 1])
    sigma = (2 * radius + 1) / 6
    xs = torch.arange(width, device=targets.device, dtype=center.dtype)
    ys = torch.arange(height, device=targets.device, dtype=center.dtype)
    dx = xs[None, None, None, :] - cell[..., 0, None, None]
    dy = ys[None, None, :, None] - cell[..., 1, None, None]
    peaks = torch.exp(-(dx**2 + dy**2) / (2 * sigma[..., None, None] ** 2))
    inside = (dx.abs() <= radius[..., None, None]) & (dy.abs() <= radius[..., None, None])
    peaks = torch.where(inside & valid[..., None, None], peaks, torch.zeros_like(peaks))
    labels = targets[..., 0].long().clamp(min=0)
    one_hot = nn.functional.one_hot(labels, classes).to(peaks.dtype) * valid[..., None]
    heatmap = (peaks[:, :, None] * one_hot[..., None, None]).amax(dim=1)
    return heatmap, cell, size, offset


class CenterNetLoss(nn.Module):
    """Focal loss on the heatmap (alpha 2, beta 4, over the number of objects), plus L1 on
    box size (weighted ``size_weight``) and center offset at each object's center cell.

    Args:
        size_weight: weight of the size term (0.1 in the paper).
        offset_weight: weight of the offset term (1 in the paper).
        stride: input pixels per output cell.
    """

    def __init__(
        self,
        size_weight: float = 0.1,
        offset_weight: float = 1.0,
        stride: int = DETECTION_STRIDE,
    ) -> None:
        super().__init__()
        self.size_weight = size_weight
        self.offset_weight = offset_weight
        self.stride = stride

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        maps = head_maps(outputs.float())
        batch, classes, height, width = maps.heatmap.shape
        heatmap, cell, size, offset = heatmap_targets(
            targets.float(), classes, height, width, self.stride
        )
        valid = valid_rows(targets)
        objects = valid.sum().clamp(min=1)
        # log(sigmoid) and log(1 - sigmoid) from the logits: stable where p is 0 or 1.
        logits = maps.heatmap
        probability = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
        positive = heatmap >= 1 - 1e-6
        pos_loss = nn.functional.logsigmoid(logits) * (1 - probability) ** 2
        neg_loss = nn.functional.logsigmoid(-logits) * probability**2 * (1 - heatmap) ** 4
        focal = -torch.where(positive, pos_loss, neg_loss).sum() / objects

        index = (cell[..., 1] * width + cell[..., 0]).long().clamp(0, height * width - 1)
        gather = index[:, None, :].expand(-1, 2, -1)
        predicted_size = maps.size.reshape(batch, 2, -1).gather(2, gather).transpose(1, 2)
        predicted_offset = maps.offset.reshape(batch, 2, -1).gather(2, gather).transpose(1, 2)
        mask = valid[..., None].to(predicted_size.dtype)
        size_loss = ((predicted_size - size).abs() * mask).sum() / objects
        offset_loss = ((predicted_offset - offset).abs() * mask).sum() / objects
        return focal + self.size_weight * size_loss + self.offset_weight * offset_loss

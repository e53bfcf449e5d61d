"""Upsampling of sequences ([C, L]) and images ([C, H, W])."""

from __future__ import annotations

from torch import nn

from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
    describe,
)
from athanor.spec.layers import UpsampleSpec


@block_builder("upsample")
def build_upsample(
    spec: UpsampleSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Each position ``scale`` times: copies (nearest) or linear interpolation."""
    dims = len(in_shape) - 1
    if dims not in (1, 2):
        raise ShapeMismatch(
            f"expects [channels, length] or [channels, height, width], gets {describe(in_shape)}"
        )
    if isinstance(spec.scale, int):
        scale = (spec.scale,) * dims
    elif dims == 1:
        raise ShapeMismatch(f"a sequence takes one scale, not {list(spec.scale)}")
    else:
        scale = tuple(int(s) for s in spec.scale)
    mode = spec.mode if spec.mode == "nearest" else ("linear" if dims == 1 else "bilinear")
    module = nn.Upsample(
        scale_factor=tuple(float(s) for s in scale),
        mode=mode,
        align_corners=None if mode == "nearest" else False,
    )
    out = tuple(size * factor for size, factor in zip(in_shape[1:], scale, strict=True))
    return BuiltBlock(module, (in_shape[0], *out))

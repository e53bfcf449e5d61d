"""Max and average pooling over sequences ([C, L]) or images ([C, H, W])."""

from __future__ import annotations

from torch import nn

from athanor.nets.blocks.conv import conv_length
from athanor.nets.registry import BuiltBlock, Shape, ShapeMismatch, block_builder, describe
from athanor.spec.layers import AvgPoolSpec, MaxPoolSpec


def _build_pool(spec: MaxPoolSpec | AvgPoolSpec, in_shape: Shape, kind: str) -> BuiltBlock:
    dims = len(in_shape) - 1
    if dims not in (1, 2):
        raise ShapeMismatch(
            f"expects [channels, length] or [channels, height, width], gets {describe(in_shape)}"
        )

    def per_dim(value: int | tuple[int, int]) -> tuple[int, ...]:
        if isinstance(value, int):
            return (value,) * dims
        if dims == 1:
            raise ShapeMismatch(f"a sequence takes one number, not {list(value)}")
        return tuple(int(v) for v in value)

    size = per_dim(spec.size)
    stride = per_dim(spec.stride) if spec.stride is not None else size
    padding = per_dim(spec.padding)
    if any(2 * p > k for p, k in zip(padding, size, strict=True)):
        raise ShapeMismatch(f"padding {list(padding)} may be at most half the window {list(size)}")
    out = tuple(
        conv_length(length, size[i], stride[i], padding[i], padding[i], 1)
        for i, length in enumerate(in_shape[1:])
    )
    if min(out) < 1:
        raise ShapeMismatch(f"window {list(size)} is larger than the input {describe(in_shape)}")
    classes = {
        ("max", 1): nn.MaxPool1d,
        ("max", 2): nn.MaxPool2d,
        ("avg", 1): nn.AvgPool1d,
        ("avg", 2): nn.AvgPool2d,
    }
    module_class = classes[(kind, dims)]
    unpack = (lambda t: t[0]) if dims == 1 else (lambda t: t)
    module = module_class(unpack(size), stride=unpack(stride), padding=unpack(padding))
    return BuiltBlock(module, (in_shape[0], *out))


@block_builder("maxpool")
def build_maxpool(spec: MaxPoolSpec, in_shape: Shape) -> BuiltBlock:
    return _build_pool(spec, in_shape, "max")


@block_builder("avgpool")
def build_avgpool(spec: AvgPoolSpec, in_shape: Shape) -> BuiltBlock:
    return _build_pool(spec, in_shape, "avg")

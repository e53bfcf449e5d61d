"""Convolutions over images ([C, H, W]) and sequences ([C, L])."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from athanor.nets.blocks._activated import widen, with_tail
from athanor.nets.registry import BuiltBlock, Shape, ShapeMismatch, block_builder, describe
from athanor.spec.layers import Conv1dSpec, Conv2dSpec


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _padding(padding: object, kernel: int, dilation: int) -> tuple[int, int]:
    """Padding before and after one dimension for valid / same / full / a number."""
    span = dilation * (kernel - 1)
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return span // 2, span - span // 2
    if padding == "full":
        return span, span
    return int(padding), int(padding)  # type: ignore[arg-type]


def conv_length(size: int, kernel: int, stride: int, before: int, after: int, dilation: int) -> int:
    """Output length of a convolution or pooling window along one dimension."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def _check_channels(spec, channels: int) -> None:
    if spec.in_channels is not None and spec.in_channels != channels:
        raise ShapeMismatch(f"expects {spec.in_channels} input channels, gets {channels}")
    if channels % spec.groups or spec.filters % spec.groups:
        raise ShapeMismatch(
            f"groups={spec.groups} must divide the input channels ({channels}) and filters "
            f"({spec.filters})"
        )


@block_builder("conv2d")
def build_conv2d(spec: Conv2dSpec, in_shape: Shape) -> BuiltBlock:
    if len(in_shape) != 3:
        raise ShapeMismatch(f"expects images [channels, height, width], gets {describe(in_shape)}")
    channels, height, width = in_shape
    _check_channels(spec, channels)
    kernel, stride = _pair(spec.kernel), _pair(spec.stride)
    padding = spec.padding if isinstance(spec.padding, str) else _pair(spec.padding)
    pads = [
        _padding(padding if isinstance(padding, str) else padding[i], kernel[i], spec.dilation)
        for i in range(2)
    ]
    out = [
        conv_length(size, kernel[i], stride[i], *pads[i], spec.dilation)
        for i, size in enumerate((height, width))
    ]
    if min(out) < 1:
        raise ShapeMismatch(
            f"kernel {kernel[0]}x{kernel[1]} does not fit the input {height}x{width}"
            " (use padding 'same' or a smaller kernel)"
        )
    symmetric = all(before == after for before, after in pads)
    core = nn.Conv2d(
        channels,
        spec.filters * widen(spec),
        kernel,
        stride=stride,
        padding=tuple(p[0] for p in pads) if symmetric else 0,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
    )
    module = with_tail("conv", core, spec, dims=2)
    if not symmetric:  # an even kernel with 'same' padding pads one more after than before
        pad = nn.ZeroPad2d((pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
        module = nn.Sequential(OrderedDict([("pad", pad), *module.named_children()]))
    return BuiltBlock(module, (spec.filters, out[0], out[1]))


@block_builder("conv1d")
def build_conv1d(spec: Conv1dSpec, in_shape: Shape) -> BuiltBlock:
    if len(in_shape) != 2:
        raise ShapeMismatch(f"expects sequences [channels, length], gets {describe(in_shape)}")
    channels, length = in_shape
    _check_channels(spec, channels)
    before, after = _padding(spec.padding, spec.kernel, spec.dilation)
    out = conv_length(length, spec.kernel, spec.stride, before, after, spec.dilation)
    if out < 1:
        raise ShapeMismatch(f"kernel {spec.kernel} does not fit the input length {length}")
    core = nn.Conv1d(
        channels,
        spec.filters * widen(spec),
        spec.kernel,
        stride=spec.stride,
        padding=before if before == after else 0,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
    )
    module = with_tail("conv", core, spec, dims=1)
    if before != after:
        pad = nn.ConstantPad1d((before, after), 0.0)
        module = nn.Sequential(OrderedDict([("pad", pad), *module.named_children()]))
    return BuiltBlock(module, (spec.filters, out))

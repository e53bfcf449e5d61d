"""Convolutions and transposed convolutions over images ([C, H, W]) and sequences ([C, L])."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from athanor.nets.blocks._activated import widen, with_tail
from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
    describe,
)
from athanor.spec.layers import (
    Conv1dSpec,
    Conv2dSpec,
    ConvTranspose1dSpec,
    ConvTranspose2dSpec,
)


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
def build_conv2d(
    spec: Conv2dSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
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
    module = with_tail("conv", core, spec, dims=2, context=context)
    if not symmetric:  # an even kernel with 'same' padding pads one more after than before
        pad = nn.ZeroPad2d((pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
        module = nn.Sequential(OrderedDict([("pad", pad), *module.named_children()]))
    return BuiltBlock(module, (spec.filters, out[0], out[1]))


@block_builder("conv1d")
def build_conv1d(
    spec: Conv1dSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
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
    module = with_tail("conv", core, spec, dims=1, context=context)
    if before != after:
        pad = nn.ConstantPad1d((before, after), 0.0)
        module = nn.Sequential(OrderedDict([("pad", pad), *module.named_children()]))
    return BuiltBlock(module, (spec.filters, out))


def _transposed_padding(
    padding: object, kernel: int, stride: int, dilation: int, output_padding: int
) -> tuple[int, int]:
    """(padding, output_padding) of a transposed convolution along one dimension.

    ``same`` makes the output exactly ``stride`` times the input.
    """
    if padding == "valid":
        return 0, output_padding
    if padding == "same":
        if output_padding:
            raise ShapeMismatch("padding 'same' sets output_padding itself; leave it at 0")
        # (in-1)*s - 2p + d(k-1) + op + 1 = in*s  <=>  2p - op = d(k-1) + 1 - s
        excess = dilation * (kernel - 1) + 1 - stride
        if excess < 0:
            return 0, -excess
        pad = (excess + 1) // 2
        if 2 * pad - excess >= max(stride, dilation):
            raise ShapeMismatch(
                f"padding 'same' with stride {stride} needs an odd kernel (got {kernel})"
            )
        return pad, 2 * pad - excess
    return int(padding), output_padding  # type: ignore[call-overload]


def transposed_length(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """Output length of a transposed convolution along one dimension."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


@block_builder("conv_transpose2d")
def build_conv_transpose2d(
    spec: ConvTranspose2dSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Transposed convolution: each input value scatters a kernel-sized patch."""
    if len(in_shape) != 3:
        raise ShapeMismatch(f"expects images [channels, height, width], gets {describe(in_shape)}")
    channels, height, width = in_shape
    _check_channels(spec, channels)
    kernel, stride = _pair(spec.kernel), _pair(spec.stride)
    out_pad = _pair(spec.output_padding)
    padding = spec.padding if isinstance(spec.padding, str) else _pair(spec.padding)
    pads = [
        _transposed_padding(
            padding if isinstance(padding, str) else padding[i],
            kernel[i],
            stride[i],
            spec.dilation,
            out_pad[i],
        )
        for i in range(2)
    ]
    out = [
        transposed_length(size, kernel[i], stride[i], *pads[i], spec.dilation)
        for i, size in enumerate((height, width))
    ]
    if min(out) < 1:
        raise ShapeMismatch(f"padding {padding} crops the whole {height}x{width} output away")
    core = nn.ConvTranspose2d(
        channels,
        spec.filters * widen(spec),
        kernel,
        stride=stride,
        padding=(pads[0][0], pads[1][0]),
        output_padding=(pads[0][1], pads[1][1]),
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
    )
    module = with_tail("conv", core, spec, dims=2, context=context)
    return BuiltBlock(module, (spec.filters, out[0], out[1]))


@block_builder("conv_transpose1d")
def build_conv_transpose1d(
    spec: ConvTranspose1dSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Transposed convolution over sequences [channels, length]."""
    if len(in_shape) != 2:
        raise ShapeMismatch(f"expects sequences [channels, length], gets {describe(in_shape)}")
    channels, length = in_shape
    _check_channels(spec, channels)
    pad, out_pad = _transposed_padding(
        spec.padding, spec.kernel, spec.stride, spec.dilation, spec.output_padding
    )
    out = transposed_length(length, spec.kernel, spec.stride, pad, out_pad, spec.dilation)
    if out < 1:
        raise ShapeMismatch(f"padding {spec.padding} crops the whole output of length {length}")
    core = nn.ConvTranspose1d(
        channels,
        spec.filters * widen(spec),
        spec.kernel,
        stride=spec.stride,
        padding=pad,
        output_padding=out_pad,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
    )
    module = with_tail("conv", core, spec, dims=1, context=context)
    return BuiltBlock(module, (spec.filters, out))

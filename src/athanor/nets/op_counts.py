"""Exact operation counts of one forward pass, per module, from its real input and output shapes.

Conventions (the same for every layer, stated in ``docs/networks.md``):

* Counts are for inference (evaluation mode): dropout does nothing, batch norm uses its
  running statistics, stochastic pooling takes its weighted average.
* A multiply-accumulate (MAC) is one product added into a sum. Multiplications and additions
  are counted separately: summing ``K`` products takes ``K - 1`` additions, and adding a bias
  takes one more, so a convolution or dense layer with a bias has exactly as many additions
  as multiplications. Products with the zeros of padding are counted (the kernels compute
  them). Divisions count as multiplications (by the reciprocal).
* Comparisons (max, ReLU) and the evaluation of functions (exp, tanh, sigmoid, sqrt) are not
  multiplications or additions and are not counted; copies and reshapes cost nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from athanor.nets.blocks.pooling import GlobalPool, StochasticPool
from athanor.nets.blocks.residual import ResidualBlock


@dataclass(frozen=True)
class OpCounts:
    """Multiply-accumulates, multiplications and additions."""

    macs: int = 0
    multiplications: int = 0
    additions: int = 0

    def __add__(self, other: OpCounts) -> OpCounts:
        return OpCounts(
            self.macs + other.macs,
            self.multiplications + other.multiplications,
            self.additions + other.additions,
        )

    @property
    def flops(self) -> int:
        """Multiplications plus additions."""
        return self.multiplications + self.additions


Counter = Callable[[Any, tuple[Any, ...], Any], OpCounts]
OP_COUNTERS: dict[type[nn.Module], Counter] = {}


def op_counter(*classes: type[nn.Module]) -> Callable[[Counter], Counter]:
    """Register how the operations of modules of ``classes`` (and subclasses) are counted."""

    def register(counter: Counter) -> Counter:
        for cls in classes:
            OP_COUNTERS[cls] = counter
        return counter

    return register


def count_ops(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> OpCounts:
    """The operations ``module`` itself performs in one call (not its submodules)."""
    for cls in type(module).__mro__:
        counter = OP_COUNTERS.get(cls)
        if counter is not None:
            return counter(module, inputs, output)
    return OpCounts()


def _accumulate(outputs: int, products_each: int, bias: bool) -> OpCounts:
    """``outputs`` sums of ``products_each`` products each, plus a bias when asked."""
    macs = outputs * products_each
    return OpCounts(macs, macs, outputs * (products_each - 1) + (outputs if bias else 0))


@op_counter(nn.Linear)
def _linear(module: nn.Linear, inputs: tuple, output: torch.Tensor) -> OpCounts:
    return _accumulate(output.numel(), module.in_features, module.bias is not None)


@op_counter(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv(module: nn.Conv2d, inputs: tuple, output: torch.Tensor) -> OpCounts:
    products = module.in_channels // module.groups * math.prod(module.kernel_size)
    return _accumulate(output.numel(), products, module.bias is not None)


def _landing(
    size_in: int, size_out: int, kernel: int, stride: int, padding: int, dilation: int
) -> tuple[int, int]:
    """Along one dimension of a transposed convolution: how many (input, tap) products land
    inside the output (padding crops the others away), and how many output positions
    receive at least one."""
    reached = [i * stride + j * dilation - padding for i in range(size_in) for j in range(kernel)]
    inside = [position for position in reached if 0 <= position < size_out]
    return len(inside), len(set(inside))


@op_counter(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _conv_transpose(module: nn.ConvTranspose2d, inputs: tuple, output: torch.Tensor) -> OpCounts:
    x = inputs[0]
    group_inputs = module.in_channels // module.groups
    # Every input value is multiplied by every weight of its group's kernels (as computed,
    # also the products that padding then crops away).
    macs = x.numel() * (module.out_channels // module.groups) * math.prod(module.kernel_size)
    landing = covered = x.shape[0] * module.out_channels
    landing *= group_inputs
    for dim, (size_in, size_out) in enumerate(zip(x.shape[2:], output.shape[2:], strict=True)):
        products, positions = _landing(
            size_in,
            size_out,
            module.kernel_size[dim],
            module.stride[dim],
            module.padding[dim],  # type: ignore[index]
            module.dilation[dim],
        )
        landing *= products
        covered *= positions
    # Summing the products that land in an output takes one addition fewer than there are.
    additions = landing - covered + (output.numel() if module.bias is not None else 0)
    return OpCounts(macs, macs, additions)


@op_counter(nn.modules.batchnorm._BatchNorm)
def _batchnorm(module: nn.Module, inputs: tuple, output: torch.Tensor) -> OpCounts:
    # Inference folds (x - mean) / sqrt(var + eps) * gamma + beta into x * a + b.
    return OpCounts(0, output.numel(), output.numel())


@op_counter(nn.LayerNorm)
def _layernorm(module: nn.LayerNorm, inputs: tuple, output: torch.Tensor) -> OpCounts:
    size = math.prod(module.normalized_shape)
    groups = output.numel() // size
    # mean: n-1 adds, 1 mult; x - mean: n adds; variance: n squares, n-1 adds, 1 mult;
    # + eps: 1 add; times 1/sqrt: n mults; then the optional scale (n mults) and shift (n adds).
    multiplications = 2 * size + 2 + (size if module.weight is not None else 0)
    additions = 3 * size - 1 + (size if module.bias is not None else 0)
    return OpCounts(0, groups * multiplications, groups * additions)


@op_counter(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
def _avgpool(module: nn.Module, inputs: tuple, output: torch.Tensor) -> OpCounts:
    kernel = module.kernel_size
    window = math.prod(kernel) if isinstance(kernel, tuple) else kernel ** (output.dim() - 2)
    return OpCounts(0, output.numel(), output.numel() * (window - 1))


@op_counter(GlobalPool)
def _globalpool(module: GlobalPool, inputs: tuple, output: torch.Tensor) -> OpCounts:
    if module.mode != "avg":
        return OpCounts()
    positions = math.prod(inputs[0].shape[2:])
    return OpCounts(0, output.numel(), output.numel() * (positions - 1))


@op_counter(StochasticPool)
def _stochasticpool(module: StochasticPool, inputs: tuple, output: torch.Tensor) -> OpCounts:
    window = math.prod(module.size)
    # probabilities: a sum (w-1 adds) and w divisions; the weighted mean: w mults, w-1 adds.
    return OpCounts(0, output.numel() * 2 * window, output.numel() * 2 * (window - 1))


@op_counter(nn.Upsample)
def _upsample(module: nn.Upsample, inputs: tuple, output: torch.Tensor) -> OpCounts:
    if module.mode == "nearest":
        return OpCounts()
    # Linear interpolation: a weighted sum of 2^d neighbours with precomputed weights.
    neighbours = 2 ** (output.dim() - 2)
    return OpCounts(0, output.numel() * neighbours, output.numel() * (neighbours - 1))


@op_counter(ResidualBlock)
def _residual(module: ResidualBlock, inputs: tuple, output: torch.Tensor) -> OpCounts:
    return OpCounts(0, 0, output.numel())  # the body's and the shortcut's outputs summed


def _recurrent_step(kind: str, hidden: int, features: int, bias: bool) -> OpCounts:
    """One time step of one direction of one layer."""
    gates = {"LSTM": 4, "GRU": 3}.get(kind, 1)
    macs = gates * hidden * (features + hidden)
    if kind == "LSTM":
        # i, f, g, o = W x + b + U h + b'; c = f*c + i*g; h = o*tanh(c)
        return OpCounts(macs, macs + 3 * hidden, macs - 3 * hidden + (8 * hidden if bias else 0))
    if kind == "GRU":
        # r, z = W x + b + U h + b'; n = tanh(W x + b + r*(U h + b')); h = (1-z)*n + z*h
        return OpCounts(macs, macs + 3 * hidden, macs - hidden + (6 * hidden if bias else 0))
    # h = tanh(W x + b + U h + b')
    return OpCounts(macs, macs, macs - hidden + (2 * hidden if bias else 0))


@op_counter(nn.RNNBase)
def _recurrent(module: nn.RNNBase, inputs: tuple, output: Any) -> OpCounts:
    x = inputs[0]
    if x.dim() == 2:  # one unbatched sequence [T, F]
        batch, steps = 1, x.shape[0]
    elif module.batch_first:
        batch, steps = x.shape[0], x.shape[1]
    else:
        steps, batch = x.shape[0], x.shape[1]
    directions = 2 if module.bidirectional else 1
    total = OpCounts()
    for layer in range(module.num_layers):
        features = module.input_size if layer == 0 else module.hidden_size * directions
        total = total + _recurrent_step(module.mode, module.hidden_size, features, module.bias)
    repeats = batch * steps * directions
    return OpCounts(
        total.macs * repeats, total.multiplications * repeats, total.additions * repeats
    )

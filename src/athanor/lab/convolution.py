"""A 2-D convolution as the course teaches it: a named or custom kernel slid over a grey
image with stride, padding and dilation (``torch.nn.functional.conv2d``), the output's
shape by the formula ``floor((n + 2p - d(k - 1) - 1) / s) + 1``, max or average pooling of
the output, and the multiplications and additions that were computed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from athanor.lab.images import LabInputError

MAX_KERNEL = 7
MAX_STRIDE = 8
MAX_PADDING = 8
MAX_DILATION = 4
MAX_POOL = 4
MAX_WEIGHT = 1000.0
POOLINGS = ("max", "avg")

_NAMED: dict[str, list[list[float]]] = {
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "prewitt_x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt_y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}
SIZED = ("mean", "gaussian")
"""Kernels of any odd size from 3 to :data:`MAX_KERNEL` (the others are 3x3)."""
KERNEL_NAMES = (*_NAMED, *SIZED)


def named_kernel(name: str, size: int = 3) -> np.ndarray:
    """The ``float32`` weights of a named kernel; ``size`` applies to ``mean`` and
    ``gaussian`` (whose sigma is OpenCV's default for the size, ``0.3((k-1)/2 - 1) + 0.8``).

    Raises:
        LabInputError: an unknown name or a size that is not odd from 3 to 7.
    """
    if name in _NAMED:
        return np.asarray(_NAMED[name], dtype=np.float32)
    if name not in SIZED:
        raise LabInputError(f"kernel: {name!r} is not one of {', '.join(KERNEL_NAMES)}, custom")
    if size not in range(3, MAX_KERNEL + 1, 2):
        raise LabInputError(f"size: {size} is not an odd size from 3 to {MAX_KERNEL}")
    if name == "mean":
        return np.full((size, size), 1.0 / (size * size), dtype=np.float32)
    sigma = 0.3 * ((size - 1) / 2 - 1) + 0.8
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    line = np.exp(-(offsets**2) / (2 * sigma**2))
    grid = np.outer(line, line)
    return (grid / grid.sum()).astype(np.float32)


def custom_kernel(rows: list[list[float]]) -> np.ndarray:
    """A user's kernel: a rectangle of 1x1 up to 7x7 finite weights.

    Raises:
        LabInputError: naming ``weights`` and what is valid.
    """
    if not rows or not 1 <= len(rows) <= MAX_KERNEL:
        raise LabInputError(f"weights: {len(rows)} rows; a kernel has 1 to {MAX_KERNEL} rows")
    width = len(rows[0])
    if not 1 <= width <= MAX_KERNEL or any(len(row) != width for row in rows):
        raise LabInputError(
            f"weights: rows of {sorted({len(row) for row in rows})} numbers; every row needs "
            f"the same count, 1 to {MAX_KERNEL}"
        )
    kernel = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(kernel).all() or np.abs(kernel).max() > MAX_WEIGHT:
        raise LabInputError(
            f"weights: every weight must be a number from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}"
        )
    return kernel.astype(np.float32)


def output_size(n: int, k: int, stride: int, padding: int, dilation: int) -> int:
    """``floor((n + 2p - d(k - 1) - 1) / s) + 1``: one axis of a convolution's output."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def size_formula(n: int, k: int, stride: int, padding: int, dilation: int) -> str:
    """The formula with the numbers filled in, e.g. ``⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 28``."""
    inner = n + 2 * padding - dilation * (k - 1) - 1
    return (
        f"⌊({n} + 2·{padding} − {dilation}·({k} − 1) − 1)/{stride}⌋ + 1 = "
        f"⌊{inner}/{stride}⌋ + 1 = {output_size(n, k, stride, padding, dilation)}"
    )


@dataclass(frozen=True)
class Pooling:
    """Pooling applied to a convolution's output: ``kind`` (max or avg), a ``size`` x
    ``size`` window moved by its own size."""

    kind: str
    size: int

    def __post_init__(self) -> None:
        if self.kind not in POOLINGS:
            raise LabInputError(f"pool: {self.kind!r} is not one of {', '.join(POOLINGS)}")
        if not 2 <= self.size <= MAX_POOL:
            raise LabInputError(f"pool_size: {self.size} is not from 2 to {MAX_POOL}")


@dataclass(frozen=True)
class Convolution:
    """What one convolution computed.

    Attributes:
        image: the input, ``float32 [H, W]`` in 0..1.
        kernel: the weights, ``float32 [kh, kw]``.
        output: ``float32 [H', W']``, the raw values.
        formulas: the size formula with numbers, for the height and the width.
        multiplications: one per kernel weight per output value (padded zeros included:
            conv2d multiplies them too).
        additions: ``kh*kw - 1`` per output value (the products summed; no bias).
        pooled: the pooled output, when pooling was asked for.
        pooling: the pooling, and ``pool_formulas`` its size formulas.
        pool_operations: comparisons (max) or additions and divisions (avg) of the pooling.
    """

    image: np.ndarray
    kernel: np.ndarray
    stride: int
    padding: int
    dilation: int
    output: np.ndarray
    formulas: tuple[str, str]
    multiplications: int
    additions: int
    pooled: np.ndarray | None = None
    pooling: Pooling | None = None
    pool_formulas: tuple[str, str] | None = None
    pool_operations: dict[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        height, width = self.image.shape
        return {
            "input_shape": [height, width],
            "kernel": self.kernel.tolist(),
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "output_shape": list(self.output.shape),
            "output": self.output.tolist(),
            "formulas": {"height": self.formulas[0], "width": self.formulas[1]},
            "multiplications": self.multiplications,
            "additions": self.additions,
            "pooling": None
            if self.pooling is None or self.pooled is None
            else {
                "kind": self.pooling.kind,
                "size": self.pooling.size,
                "output_shape": list(self.pooled.shape),
                "output": self.pooled.tolist(),
                "formulas": dict(zip(("height", "width"), self.pool_formulas or (), strict=True)),
                "operations": self.pool_operations or {},
            },
        }


def _check(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise LabInputError(f"{name}: {value} is not from {low} to {high}")


def convolve(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    pooling: Pooling | None = None,
) -> Convolution:
    """Slide ``kernel`` over the grey ``image`` with ``torch.nn.functional.conv2d`` (a
    cross-correlation, as in every deep-learning library), zero padding on every side.

    Raises:
        LabInputError: a stride, padding or dilation out of range, or an output with no
            pixel, naming the field and the formula.
    """
    import torch
    import torch.nn.functional as F

    _check("stride", stride, 1, MAX_STRIDE)
    _check("padding", padding, 0, MAX_PADDING)
    _check("dilation", dilation, 1, MAX_DILATION)
    height, width = image.shape
    k_height, k_width = kernel.shape
    sizes = (
        output_size(height, k_height, stride, padding, dilation),
        output_size(width, k_width, stride, padding, dilation),
    )
    formulas = (
        size_formula(height, k_height, stride, padding, dilation),
        size_formula(width, k_width, stride, padding, dilation),
    )
    if min(sizes) < 1:
        raise LabInputError(
            f"kernel: the dilated kernel is larger than the padded image, so the output has no "
            f"pixel (height {formulas[0]}, width {formulas[1]}); lower the dilation or the "
            f"kernel size, or pad more"
        )
    with torch.no_grad():
        source = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
        weights = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))[None, None]
        output = F.conv2d(source, weights, stride=stride, padding=padding, dilation=dilation)
    values = output[0, 0].numpy()
    count = sizes[0] * sizes[1]
    taps = k_height * k_width
    result = dict(
        image=image,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        output=values,
        formulas=formulas,
        multiplications=count * taps,
        additions=count * (taps - 1),
    )
    if pooling is not None:
        result.update(_pool(output, pooling))
    return Convolution(**result)


def _pool(output: Any, pooling: Pooling) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    height, width = output.shape[-2:]
    size = pooling.size
    if height < size or width < size:
        raise LabInputError(
            f"pool_size: {size} is larger than the convolution's output ({height}x{width})"
        )
    with torch.no_grad():
        pool = F.max_pool2d if pooling.kind == "max" else F.avg_pool2d
        pooled = pool(output, size, stride=size)[0, 0].numpy()
    windows = pooled.shape[0] * pooled.shape[1]
    reductions = windows * (size * size - 1)
    operations = (
        {"comparisons": reductions}
        if pooling.kind == "max"
        else {"additions": reductions, "divisions": windows}
    )
    return dict(
        pooled=pooled,
        pooling=pooling,
        pool_formulas=(
            size_formula(height, size, size, 0, 1),
            size_formula(width, size, size, 0, 1),
        ),
        pool_operations=operations,
    )


def kernel_catalog() -> list[dict[str, Any]]:
    """Every named kernel at its default size, for the console's picker."""
    return [{"name": name, "weights": named_kernel(name).tolist()} for name in KERNEL_NAMES]

"""Optimizers racing down 2-D loss surfaces: torch.optim's own steps on one point.

Each optimizer moves a 2-D parameter from the same start for the same number of steps on a
surface written in torch (autograd gives the gradient); the answer holds every trajectory
and the surface on a grid for the contour plot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch
from pydantic import Field

from athanor.errors import UserError
from athanor.lab._numbers import Float, Int
from athanor.spec.base import StrictModel

MAX_STEPS = 300
GRID = 80


def _rosenbrock(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _saddle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # a saddle at the origin between two minima at y = ±√2
    return x * x - y * y + 0.25 * y**4


def _wells(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # a bowl with three wells of different depths: local minima beside the global one
    wells = ((-1.5, 1.2, 1.0, 0.5), (1.2, -1.0, 1.6, 0.6), (1.5, 1.5, 0.7, 0.4))
    total = 0.06 * (x * x + y * y)
    for cx, cy, depth, width in wells:
        total = total - depth * torch.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
    return total


SURFACES: dict[str, dict[str, Any]] = {
    "rosenbrock": {
        "function": _rosenbrock,
        "bounds": (-2.0, 2.0, -1.0, 3.0),
        "start": (-1.5, 2.5),
        "minimum": (1.0, 1.0),
        "formula": "(1 − x)² + 100 (y − x²)²",
    },
    "saddle": {
        "function": _saddle,
        "bounds": (-2.0, 2.0, -2.5, 2.5),
        "start": (-1.8, 0.01),
        "minimum": (0.0, math.sqrt(2)),
        "formula": "x² − y² + y⁴/4",
    },
    "wells": {
        "function": _wells,
        "bounds": (-3.0, 3.0, -3.0, 3.0),
        "start": (-0.2, 2.6),
        "minimum": (1.2, -1.0),
        "formula": "0.06 (x² + y²) − Σ depth·exp(−‖p − c‖² / 2w²)",
    },
}

OPTIMIZERS: dict[str, tuple[Callable[..., torch.optim.Optimizer], dict[str, Any], float]] = {
    "sgd": (torch.optim.SGD, {}, 0.001),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}, 0.001),
    "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}, 0.001),
    "adagrad": (torch.optim.Adagrad, {}, 0.5),
    "rmsprop": (torch.optim.RMSprop, {}, 0.01),
    "adam": (torch.optim.Adam, {}, 0.05),
}
"""Name -> (torch.optim class, its options, a default learning rate that moves on Rosenbrock)."""

SurfaceName = Literal["rosenbrock", "saddle", "wells"]
OptimizerName = Literal["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]


class Racer(StrictModel):
    """One optimizer in the race and its learning rate."""

    optimizer: OptimizerName
    lr: Float = Field(gt=0, le=10)


class RaceSettings(StrictModel):
    """The surface, the start, the steps and the optimizers to race."""

    surface: SurfaceName = "rosenbrock"
    start: tuple[Float, Float] | None = Field(
        default=None, description="The start point (default the surface's; inside its bounds)."
    )
    steps: Int = Field(default=200, ge=1, le=MAX_STEPS)
    racers: list[Racer] = Field(
        default_factory=lambda: [Racer(optimizer=n, lr=o[2]) for n, o in OPTIMIZERS.items()],
        min_length=1,
        max_length=6,
    )


def race(settings: RaceSettings) -> dict[str, Any]:
    """Run every racer from the start on the surface.

    Returns:
        ``surface``, ``formula``, ``bounds`` (x min, x max, y min, y max), ``start``,
        ``minimum``, ``grid`` (the surface on an 80×80 grid, rows from y min up) and
        ``racers``: each ``optimizer``, ``lr``, ``path`` (``[x, y]`` per step, the start
        first; a path that leaves the plot far behind stops there) and ``losses``.

    Raises:
        UserError: a start outside the surface's bounds.
    """
    surface = SURFACES[settings.surface]
    function = surface["function"]
    x_min, x_max, y_min, y_max = surface["bounds"]
    start = settings.start or surface["start"]
    if not (x_min <= start[0] <= x_max and y_min <= start[1] <= y_max):
        raise UserError(
            f"start: ({start[0]:g}, {start[1]:g}) is outside the {settings.surface} plot; "
            f"valid: x in [{x_min:g}, {x_max:g}], y in [{y_min:g}, {y_max:g}]"
        )
    racers = []
    span = max(x_max - x_min, y_max - y_min)
    for racer in settings.racers:
        factory, options, _ = OPTIMIZERS[racer.optimizer]
        point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        optimizer = factory([point], lr=racer.lr, **options)
        path, losses = [list(start)], []
        for _ in range(settings.steps):
            optimizer.zero_grad()
            loss = function(point[0], point[1])
            losses.append(float(loss.detach()))
            loss.backward()
            optimizer.step()
            where = point.detach().tolist()
            if not all(math.isfinite(v) for v in where):
                break
            path.append([round(v, 5) for v in where])
            # far off the plot it has diverged: the rest would only overflow
            if (
                max(abs(where[0] - (x_min + x_max) / 2), abs(where[1] - (y_min + y_max) / 2))
                > 10 * span
            ):
                break
        with torch.no_grad():
            final = function(point[0], point[1])
        losses.append(float(final) if math.isfinite(float(final)) else None)
        racers.append(
            {
                "optimizer": racer.optimizer,
                "lr": racer.lr,
                "path": path,
                # a diverging optimizer's loss overflows: JSON has no inf, so null
                "losses": [
                    round(v, 6) if v is not None and math.isfinite(v) else None for v in losses
                ],
            }
        )
    xs = torch.linspace(x_min, x_max, GRID, dtype=torch.float64)
    ys = torch.linspace(y_min, y_max, GRID, dtype=torch.float64)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    with torch.no_grad():
        grid = function(gx, gy)
    return {
        "surface": settings.surface,
        "formula": surface["formula"],
        "bounds": [x_min, x_max, y_min, y_max],
        "start": list(start),
        "minimum": list(surface["minimum"]),
        "grid": [[round(v, 5) for v in row] for row in grid.tolist()],
        "racers": racers,
    }

"""Draw the optimizer race into docs/images/optimizer-paths.png.

The console's optimizer race (:func:`athanor.lab.optimizer_race.race`, real
``torch.optim`` optimizers on a two-parameter "network") on the Rosenbrock valley and on a
saddle: each optimizer's path from the same start at its default learning rate over the
surface's contours, with the loss per step beside. Run from the repository root (seconds):

    python docs/plots/optimizer_paths.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
import numpy as np

IMAGES = Path(__file__).resolve().parents[1] / "images"
STEPS = 300


def main() -> Path:
    from athanor.lab.optimizer_race import RaceSettings, race

    figure, axes = plt.subplots(2, 2, figsize=(9.6, 7.2))
    for row, surface in enumerate(("rosenbrock", "saddle")):
        result = race(RaceSettings(surface=surface, steps=STEPS))
        x_min, x_max, y_min, y_max = result["bounds"]
        grid = np.asarray(result["grid"])
        xs = np.linspace(x_min, x_max, grid.shape[1])
        ys = np.linspace(y_min, y_max, grid.shape[0])
        plane, curves = axes[row]
        levels = np.quantile(grid, np.linspace(0.0, 1.0, 25))
        plane.contour(xs, ys, grid, levels=np.unique(levels), colors="0.75", linewidths=0.6)
        for racer in result["racers"]:
            path = np.asarray(racer["path"])
            label = f"{racer['optimizer']} (lr {racer['lr']:g})"
            plane.plot(path[:, 0], path[:, 1], linewidth=1.3, label=label)
            curves.plot(racer["losses"], linewidth=1.2, label=label)
        plane.plot(*result["start"], "ko", markersize=4)
        plane.plot(*result["minimum"], "k*", markersize=10)
        plane.set_xlim(x_min, x_max)
        plane.set_ylim(y_min, y_max)
        plane.set_title(f"{surface}: {result['formula']}", fontsize=9)
        curves.set_xlabel("step")
        curves.set_ylabel("loss")
        if surface == "rosenbrock":
            curves.set_yscale("log")
        curves.set_title(f"loss per step, {STEPS} steps", fontsize=9)
        curves.legend(fontsize=7)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "optimizer-paths.png"
    figure.savefig(path, dpi=72)
    return path


def distances() -> None:
    """Print each optimizer's distance to the minimum after the race (for the lesson)."""
    from athanor.lab.optimizer_race import RaceSettings, race

    for surface in ("rosenbrock", "saddle"):
        result = race(RaceSettings(surface=surface, steps=STEPS))
        goal = np.asarray(result["minimum"])
        for racer in result["racers"]:
            end = np.asarray(racer["path"][-1])
            print(
                surface,
                racer["optimizer"],
                racer["lr"],
                round(float(np.linalg.norm(end - goal)), 4),
                round(racer["losses"][-1], 5),
            )


if __name__ == "__main__":
    print(main())
    distances()

"""Where a run's evaluation lives in its folder, and reading it back without torch.

A classification or regression run that was tested keeps ``evaluation/evaluation.json``
(confusion matrix, per-class scores, curves, wrong examples; or predicted-vs-actual points,
residuals and error by decile) and ``evaluation/wrong-N.png`` for the images among its most
confidently wrong test samples. Runs from before this existed have no folder: readers get
``None`` and show an empty state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = "evaluation"
REPORT_FILE = "evaluation.json"
FORMAT_VERSION = 1


def evaluation_dir(run_dir: Path) -> Path:
    """The evaluation folder of the run stored in ``run_dir``."""
    return run_dir / FOLDER


def example_image_name(index: int) -> str:
    """The file name of the image of wrong example ``index``."""
    return f"wrong-{index}.png"


def read_evaluation(run_dir: Path) -> dict[str, Any] | None:
    """The stored evaluation of the run in ``run_dir``, or ``None`` when it has none."""
    path = evaluation_dir(run_dir) / REPORT_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def example_image(run_dir: Path, index: int) -> Path | None:
    """The PNG of wrong example ``index`` of the run in ``run_dir``, if it was stored."""
    if index < 0:
        return None
    path = evaluation_dir(run_dir) / example_image_name(index)
    return path if path.is_file() else None

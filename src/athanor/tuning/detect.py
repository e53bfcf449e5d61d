"""What kind of learning problem a dataset is, for ``athanor auto``.

A catalog name, an imported ``NAME[@VERSION]``, or a path (imported first) is looked at once:
its input kind, task, size, classes and shapes decide which recipe :mod:`athanor.tuning.recipes`
builds. Problems Athanor cannot train automatically are refused with what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from athanor.errors import DataError, UserError
from athanor.settings import Settings

IMAGE_CLASSIFICATION = "image classification"
TABLE_CLASSIFICATION = "tabular classification"
TABLE_REGRESSION = "tabular regression"
FORECASTING = "time-series forecasting"
TEXT_CLASSIFICATION = "text classification"
OBJECT_DETECTION = "object detection"
TASKS = (
    IMAGE_CLASSIFICATION,
    OBJECT_DETECTION,
    TABLE_CLASSIFICATION,
    TABLE_REGRESSION,
    FORECASTING,
    TEXT_CLASSIFICATION,
)


@dataclass
class Detection:
    """A dataset's problem, as ``auto`` sees it."""

    dataset: str
    """The name specs use (catalog name, or the imported ``NAME@VERSION``)."""
    task: str
    samples: int
    """Samples (rows, images) or steps (series) available for training and validation."""
    official_test: bool = False
    target: str | None = None
    classes: list[str] | None = None
    features: int | None = None
    image_shape: tuple[int, int, int] | None = None
    """``(channels, height, width)`` that images will have (the most common size)."""
    text_lengths: dict[str, Any] | None = None
    """Documents: length statistics in words and characters, as imported."""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "task": self.task,
            "samples": self.samples,
            "official_test": self.official_test,
            "target": self.target,
            "classes": len(self.classes) if self.classes else None,
            "features": self.features,
            "image_shape": list(self.image_shape) if self.image_shape else None,
        }


def _import_path(path: Path, target: str | None, settings: Settings) -> tuple[str, list[str]]:
    """Import a file or folder given to ``auto``; returns the version's name and a note."""
    from athanor.data.importing import import_dataset

    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "dataset"
    result = import_dataset(path, name=name[:100], target=target, settings=settings)
    record = result.version
    verb = "found as" if result.reused else "imported as"
    return record.ref, [f"{path} {verb} dataset {record.ref}"]


def detect(dataset: str | Path, target: str | None, settings: Settings) -> Detection:
    """The problem ``dataset`` poses.

    Args:
        dataset: a catalog name, an imported ``NAME[@VERSION]``, or a path to import.
        target: the target column of a table (default the dataset's own).
        settings: store, mirrors and caches.

    Raises:
        DatasetNotFound: an unknown name.
        DataError: a table without a target, or a bad target column.
        UserError: a problem ``auto`` cannot take on (language models, anomaly detection,
            image generation), saying what to do instead. Images with boxes (a detection
            dataset) are object detection.
    """
    from athanor.data.versions import load_dataset, resolve_dataset

    notes: list[str] = []
    text = str(dataset)
    path = Path(text).expanduser()
    if isinstance(dataset, Path) or (("/" in text or path.suffix) and path.exists()):
        text, notes = _import_path(path, target, settings)
    ref = resolve_dataset(text, settings)
    raw = load_dataset(ref, settings)
    name = ref.ref
    if raw.kind == "tokens" and raw.task == "classification":
        lengths = None
        if ref.version is not None:
            lengths = ref.version.info.get("lengths")
        return Detection(
            name,
            TEXT_CLASSIFICATION,
            len(raw),
            official_test=raw.has_official_test,
            classes=list(raw.classes or []),
            text_lengths=lengths,
            notes=notes,
        )
    if raw.kind == "tokens":
        raise UserError(
            f"'{name}' is a text corpus for language models; auto trains classifiers, "
            "regressors and forecasters. Train a char_rnn with a spec instead "
            "(athanor train SPEC with model: {template: char_rnn})"
        )
    if raw.kind == "sequence":
        if raw.task != "forecasting":
            raise UserError(
                f"'{name}' is a {raw.task} (anomaly detection) series; auto forecasts series. "
                "Train an lstm_autoencoder with a spec for anomaly scores"
            )
        return Detection(
            name,
            FORECASTING,
            len(raw),
            target=",".join(raw.targets or []) or None,
            features=int(raw.x.shape[1]),
            notes=notes,
        )
    if raw.kind == "image":
        detection = raw.task == "detection"
        if not raw.classes or not (detection or raw.task == "classification"):
            raise UserError(
                f"'{name}' has images without classes; auto classifies images and detects "
                "objects in them (import boxes with --kind detection)"
            )
        if hasattr(raw.x, "common_size"):
            height, width = raw.x.common_size()
            channels = raw.x.channels
        else:
            channels, height, width = (int(v) for v in raw.x.shape[1:])
        return Detection(
            name,
            OBJECT_DETECTION if detection else IMAGE_CLASSIFICATION,
            len(raw),
            official_test=raw.has_official_test,
            classes=list(raw.classes),
            image_shape=(channels, height, width),
            notes=notes,
        )
    if raw.kind == "tabular":
        raw = raw.with_target(target)
        if target and raw.target != target:
            raise DataError(
                f"--target {target}: '{name}' has the fixed target '{raw.target}'; "
                "omit --target or import the table to choose another column"
            )
        task = TABLE_CLASSIFICATION if raw.task == "classification" else TABLE_REGRESSION
        return Detection(
            name,
            task,
            len(raw),
            official_test=raw.has_official_test,
            target=raw.target,
            classes=list(raw.classes) if raw.classes else None,
            features=len(raw.features or []),
            notes=notes,
        )
    raise UserError(f"'{name}' is {raw.kind} data, which auto does not handle")

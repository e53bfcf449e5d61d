"""Detection metrics: COCO mAP@[.5:.95], mAP@0.5, mAP@0.75 and AP per class.

The evaluation is COCO's own (``faster-coco-eval``, a C++ implementation of pycocotools'
``COCOeval`` that gives the same numbers): every image's ground-truth boxes against its
decoded detections (the ``100`` best, as COCO keeps), AP averaged over 101 recall points,
classes, and IoU thresholds 0.50 to 0.95. Each epoch, metrics keep every image's detections
and boxes of the split (small tensors) and evaluate once at :meth:`compute`.
"""

from __future__ import annotations

import contextlib
import io
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from athanor.data.box_targets import valid_rows
from athanor.nets.detection import decode
from athanor.training.metrics import Metric, register_metric


@dataclass
class CocoScores:
    """The figures of one COCO evaluation (``nan`` where the data has no boxes)."""

    map: float
    map50: float
    map75: float
    class_ap: list[float]
    """AP@[.5:.95] of each class (``nan`` for a class without boxes)."""
    class_ap50: list[float]


def coco_scores(detections: list[np.ndarray], truths: list[np.ndarray], classes: int) -> CocoScores:
    """COCO box evaluation of images' detections against their ground truth.

    Args:
        detections: per image, ``[K, 6]`` rows ``(class, score, x0, y0, x1, y1)``.
        truths: per image, ``[M, 5]`` rows ``(class, x0, y0, x1, y1)``.
        classes: number of classes (class indices ``0..classes-1``).
    """
    from faster_coco_eval import COCO, COCOeval_faster

    annotations = []
    for image, rows in enumerate(truths):
        for c, x0, y0, x1, y1 in rows.tolist():
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image,
                    "category_id": int(c),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    nan = float("nan")
    if not annotations:
        return CocoScores(nan, nan, nan, [nan] * classes, [nan] * classes)
    results = [
        {
            "image_id": image,
            "category_id": int(c),
            "score": score,
            "bbox": [x0, y0, x1 - x0, y1 - y0],
        }
        for image, rows in enumerate(detections)
        for c, score, x0, y0, x1, y1 in rows.tolist()
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {
            "images": [{"id": image} for image in range(len(truths))],
            "categories": [{"id": c} for c in range(classes)],
            "annotations": annotations,
        }
        truth.createIndex()
        if not results:
            return CocoScores(0.0, 0.0, 0.0, *_empty_class_ap(truths, classes))
        found = truth.loadRes(results)
        evaluation = COCOeval_faster(truth, found, "bbox", print_function=lambda *_: None)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    # precision: [IoU thresholds, recall points, classes, area ranges, max detections]
    precision = np.asarray(evaluation.eval["precision"])[:, :, :, 0, -1]
    class_ap, class_ap50 = [], []
    for c in range(classes):
        values = precision[:, :, c]
        class_ap.append(float(values[values > -1].mean()) if (values > -1).any() else nan)
        first = values[0]
        class_ap50.append(float(first[first > -1].mean()) if (first > -1).any() else nan)
    return CocoScores(float(stats[0]), float(stats[1]), float(stats[2]), class_ap, class_ap50)


def _empty_class_ap(truths: list[np.ndarray], classes: int) -> tuple[list[float], list[float]]:
    present = {int(c) for rows in truths for c in rows[:, 0].tolist()}
    values = [0.0 if c in present else float("nan") for c in range(classes)]
    return values, list(values)


class _SplitDetections:
    """A split's decoded detections and true boxes, and their COCO evaluation, shared by the
    detection metrics built together: each batch is decoded once and the split evaluated once,
    however many of mAP, mAP@0.5, mAP@0.75 and per-class AP are asked for."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.detections: list[torch.Tensor] = []
        self.truths: list[torch.Tensor] = []
        self.classes = 0
        self._last_outputs: weakref.ref | None = None
        self._scores: CocoScores | None = None

    def add(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        if self._last_outputs is not None and self._last_outputs() is outputs:
            return  # a sibling metric has added this batch
        self._last_outputs = weakref.ref(outputs)
        self._scores = None
        found = decode(outputs)
        self.classes = outputs.shape[1] - 4
        rows = torch.cat(
            [found.labels[..., None].float(), found.scores[..., None], found.boxes], dim=-1
        )
        self.detections.append(rows.cpu())
        self.truths.append(targets.detach().float().cpu())

    def state_dict(self) -> dict[str, Any]:
        return {
            "detections": list(self.detections),
            "truths": list(self.truths),
            "classes": self.classes,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reset()
        self.detections = list(state["detections"])
        self.truths = list(state["truths"])
        self.classes = int(state.get("classes", 0))

    def scores(self) -> CocoScores:
        if self._scores is None:
            detections = [image.numpy() for batch in self.detections for image in batch]
            truths = [image[valid_rows(image)].numpy() for batch in self.truths for image in batch]
            self._scores = coco_scores(detections, truths, self.classes)
        return self._scores


class _DetectionMetric(Metric):
    """Keeps each batch's decoded detections and true boxes until :meth:`compute`.

    COCO mAP is an evaluation measure: it is not reported on the training batches.
    """

    tasks = ("detection",)
    higher_is_better = True
    on_training_batches = False
    _state = ("detections", "truths")

    def reset(self) -> None:
        if not hasattr(self, "split"):
            self.split = _SplitDetections()
        self.split.reset()

    def bind(self, siblings: list[Metric]) -> None:
        first = next(m for m in siblings if isinstance(m, _DetectionMetric))
        self.split = first.split

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.split.add(outputs, targets)

    def state_dict(self) -> dict[str, Any]:
        return self.split.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.split.load_state_dict(state)

    def scores(self) -> CocoScores:
        return self.split.scores()


@register_metric
class MeanAveragePrecision(_DetectionMetric):
    """COCO mAP@[.5:.95]: AP averaged over classes and IoU thresholds 0.50, 0.55 ... 0.95."""

    name = "map"

    def compute(self) -> float:
        return self.scores().map


@register_metric
class MeanAveragePrecision50(_DetectionMetric):
    """COCO mAP at IoU 0.5 (PASCAL VOC's measure, with COCO's 101-point AP)."""

    name = "map50"

    def compute(self) -> float:
        return self.scores().map50


@register_metric
class MeanAveragePrecision75(_DetectionMetric):
    """COCO mAP at IoU 0.75 (strict localization)."""

    name = "map75"

    def compute(self) -> float:
        return self.scores().map75


@register_metric
class ClassAveragePrecision(_DetectionMetric):
    """AP@[.5:.95] of each class (a list by class index; kept in the summary, no curve)."""

    name = "class_ap"
    scalar = False

    def compute(self) -> list[float]:
        return self.scores().class_ap

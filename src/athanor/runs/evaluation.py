"""A run's evaluation on its test split, kept to look at: what a single test score hides.

Classification: the confusion matrix, precision, recall, F1 and support per class, ROC and
precision-recall curves (with their AUC and average precision) for two classes, and the
most confidently wrong test samples (images as small PNGs, table rows, text). Regression:
predicted-vs-actual points (a capped sample), a residual histogram, and MAE/RMSE by decile of
the actual value, in the target's own units. Detection: COCO mAP@[.5:.95], mAP@0.5 and
mAP@0.75, and AP per class with its count of test boxes. Computed once, at the run's test
step (after selection for a search's winner), and stored in the run's folder
(:mod:`athanor.runs.evaluation_files`) with a bounded size.
"""

from __future__ import annotations

import io
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from athanor.data.batching import LazySplit
from athanor.data.prepare import Prepared
from athanor.runs.evaluation_files import (
    FORMAT_VERSION,
    REPORT_FILE,
    evaluation_dir,
    example_image_name,
)
from athanor.store.artifacts import ArtifactStore

WRONG_EXAMPLES = 16
"""How many of the most confidently wrong test samples are kept."""
MATRIX_CLASSES = 100
"""Above this many classes the confusion matrix is left out (per-class scores stay)."""
CURVE_POINTS = 201
"""The most points kept of a ROC or precision-recall curve."""
SCATTER_POINTS = 500
"""The most predicted-vs-actual points kept of a regression."""
ROW_FEATURES = 24
"""The most columns kept of a wrong table row."""
TEXT_CHARS = 400
"""The most characters kept of a wrong text."""
RESIDUAL_BINS = 20


@dataclass
class Evaluation:
    """What is stored: the JSON report and the PNGs of wrong image examples by index."""

    report: dict[str, Any]
    images: dict[int, bytes] = field(default_factory=dict)


def evaluate_run(
    network: nn.Module,
    prepared: Prepared,
    *,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> Evaluation | None:
    """The evaluation of ``network`` on the test split, or ``None`` where there is none to make
    (no test split, or a task other than classification, regression and detection).

    Args:
        network: the trained network (put in eval mode for the pass, then restored).
        prepared: the run's data; its ``test`` split is predicted once more, in order.
        batch_size: samples per forward pass.
        device: where ``network`` is.
    """
    evaluate = _EVALUATIONS.get(prepared.schema.task)
    if evaluate is None or not prepared.size("test"):
        return None
    outputs, targets = _predict(network, prepared, batch_size, device)
    return evaluate(prepared, outputs, targets)


def write_evaluation(artifacts: ArtifactStore, run_dir: Path, evaluation: Evaluation) -> Path:
    """Store ``evaluation`` in the run's folder in one rename (replacing an older one)."""
    destination = evaluation_dir(run_dir)
    if destination.exists():
        shutil.rmtree(destination)
    with artifacts.staging(destination) as staging:
        (staging / REPORT_FILE).write_text(
            json.dumps(_finite(evaluation.report), allow_nan=False), encoding="utf-8"
        )
        for index, png in evaluation.images.items():
            (staging / example_image_name(index)).write_bytes(png)
    return destination


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats as ``None`` (a diverged network's outputs):
    JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _predict(
    network: nn.Module, prepared: Prepared, batch_size: int, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's outputs and the targets of the test split, in order, on the CPU."""
    was_training = network.training
    network.eval()
    outputs, targets = [], []
    with torch.inference_mode():
        for x, y in prepared.batches("test", batch_size, device=device).epoch(0):
            outputs.append(network(x).float().cpu())
            targets.append(y.cpu())
    network.train(was_training)
    return torch.cat(outputs), torch.cat(targets)


# --- classification ---------------------------------------------------------------------


def _classification(prepared: Prepared, logits: torch.Tensor, y: torch.Tensor) -> Evaluation:
    schema = prepared.schema
    classes = list(schema.classes or [])
    if schema.single_logit or logits.shape[-1] == 1:
        positive = torch.sigmoid(logits.reshape(-1))
        probs = torch.stack([1 - positive, positive], dim=1).numpy().astype(np.float64)
    else:
        probs = torch.softmax(logits.reshape(len(logits), -1), dim=1).numpy().astype(np.float64)
    actual = y.reshape(-1).numpy().astype(np.int64)
    predicted = probs.argmax(axis=1)
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(matrix, (actual, predicted), 1)
    precision, recall, f1, support = _class_scores(matrix)
    per_class = [
        {
            "class": name,
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    ]
    total = int(support.sum())
    weights = support / max(total, 1)
    report: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "task": "classification",
        "split": "test",
        "samples": len(actual),
        "classes": classes,
        "accuracy": float((predicted == actual).mean()),
        "per_class": per_class,
        "macro": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        "weighted": {
            "precision": float((precision * weights).sum()),
            "recall": float((recall * weights).sum()),
            "f1": float((f1 * weights).sum()),
        },
        "confusion_matrix": None,
        "binary": None,
    }
    if len(classes) <= MATRIX_CLASSES:
        report["confusion_matrix"] = matrix.tolist()
    if len(classes) == 2:
        report["binary"] = _binary_curves(actual, probs[:, 1], classes[1])
    wrong, images = _wrong_examples(prepared, probs, actual, predicted, classes)
    report["wrong_examples"] = wrong
    return Evaluation(report, images)


def _thin(*columns: np.ndarray) -> list[list[float]]:
    """At most :data:`CURVE_POINTS` evenly spaced rows of the columns, first and last kept."""
    size = len(columns[0])
    keep = np.unique(np.linspace(0, size - 1, min(size, CURVE_POINTS)).round().astype(int))
    return [[round(float(column[i]), 5) for column in columns] for i in keep]


def _class_scores(
    matrix: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 and support per class of a confusion matrix (0 where a score
    divides by nothing, as scikit-learn's ``zero_division=0``)."""
    right = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    precision = np.divide(right, predicted, out=np.zeros_like(right), where=predicted > 0)
    recall = np.divide(right, support, out=np.zeros_like(right), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(right), where=both > 0)
    return precision, recall, f1, support


def _binary_curves(actual: np.ndarray, score: np.ndarray, positive: str) -> dict[str, Any] | None:
    """ROC and precision-recall curves of the positive class (class 1) with the area under
    the ROC curve and the average precision, as scikit-learn computes them; ``None`` when the
    test split holds a single class (neither curve is defined)."""
    if len(np.unique(actual)) < 2 or not np.isfinite(score).all():
        return None
    order = np.argsort(-score, kind="stable")
    ranked, truth = score[order], actual[order] == 1
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # each distinct threshold
    true_positives = np.cumsum(truth)[last].astype(np.float64)
    false_positives = (last + 1) - true_positives
    tpr = np.r_[0.0, true_positives / true_positives[-1]]
    fpr = np.r_[0.0, false_positives / false_positives[-1]]
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / true_positives[-1]
    average_precision = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids
    return {
        "positive_class": positive,
        "roc": {"auc": area, "points": _thin(fpr, tpr)},
        "pr": {
            "average_precision": average_precision,
            # recall ascending from (0, 1), as it is drawn
            "points": _thin(np.r_[0.0, recall], np.r_[1.0, precision]),
        },
    }


def _wrong_examples(
    prepared: Prepared,
    probs: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    classes: list[str],
) -> tuple[list[dict[str, Any]], dict[int, bytes]]:
    """The most confidently wrong test samples, most confident first, with what they show."""
    probs = np.nan_to_num(probs)
    wrong = np.flatnonzero(predicted != actual)
    confidence = probs[wrong, predicted[wrong]]
    chosen = wrong[np.argsort(-confidence, kind="stable")[:WRONG_EXAMPLES]]
    schema = prepared.schema
    examples, images = [], {}
    for rank, index in enumerate(chosen):
        example: dict[str, Any] = {
            "index": int(index),
            "actual": classes[actual[index]],
            "predicted": classes[predicted[index]],
            "confidence": round(float(probs[index, predicted[index]]), 5),
            "actual_probability": round(float(probs[index, actual[index]]), 5),
            "image": None,
            "row": None,
            "text": None,
        }
        x = _test_input(prepared, int(index))
        if schema.input.kind == "image":
            images[rank] = _png(x)
            example["image"] = example_image_name(rank)
        elif schema.input.kind == "tabular":
            names = schema.input.features or [f"x{i}" for i in range(x.numel())]
            values = x.reshape(-1).tolist()
            example["row"] = {
                name: round(float(value), 4)
                for name, value in list(zip(names, values, strict=False))[:ROW_FEATURES]
            }
        elif schema.input.kind == "tokens" and schema.input.vocab:
            example["text"] = _detokenize(x, schema.input.vocab)
        examples.append(example)
    return examples, images


def _test_input(prepared: Prepared, index: int) -> torch.Tensor:
    """The network's input for test sample ``index`` (after preprocessing), on the CPU."""
    split = prepared.test
    assert split is not None
    if isinstance(split, LazySplit):
        return split.transform(split.load(np.array([index])))[0].cpu()
    return split.x[index].cpu()


def _png(image: torch.Tensor) -> bytes:
    """A small PNG of an image tensor ``[channels, height, width]``, its range stretched
    (the preprocessing's scaling is undone up to contrast)."""
    from PIL import Image

    pixels = image.float()
    if pixels.ndim == 3 and pixels.shape[0] not in (1, 3):
        pixels = pixels[:1]
    low, high = float(pixels.min()), float(pixels.max())
    scaled = (pixels - low) / (high - low) if high > low else torch.zeros_like(pixels)
    array = (scaled * 255).round().byte().numpy()
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    picture = Image.fromarray(array)
    picture.thumbnail((96, 96))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _detokenize(tokens: torch.Tensor, vocab: list[str]) -> str:
    """The text of a token sequence, without padding, cut to :data:`TEXT_CHARS`."""
    words = [
        vocab[i] for i in tokens.reshape(-1).tolist() if 0 <= i < len(vocab) and vocab[i] != "<pad>"
    ]
    joiner = " " if any(len(word) > 1 for word in words) else ""
    text = joiner.join(words)
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


# --- regression -------------------------------------------------------------------------


def _regression(prepared: Prepared, outputs: torch.Tensor, y: torch.Tensor) -> Evaluation:
    preprocessor = prepared.preprocessor
    if preprocessor.target_steps:  # in the target's own units, as the test metrics
        outputs, y = preprocessor.inverse_target(outputs), preprocessor.inverse_target(y.float())
    predicted = outputs.reshape(len(outputs), -1)[:, 0].double().numpy()
    actual = y.reshape(len(y), -1)[:, 0].double().numpy()
    names = prepared.schema.target_names or [prepared.schema.target]
    residual = predicted - actual
    spread = float(((actual - actual.mean()) ** 2).sum())
    sample = np.random.default_rng(0).permutation(len(actual))[:SCATTER_POINTS]
    finite = residual[np.isfinite(residual)]
    counts, edges = np.histogram(finite, bins=RESIDUAL_BINS) if len(finite) else ([], [])
    report = {
        "version": FORMAT_VERSION,
        "task": "regression",
        "split": "test",
        "samples": len(actual),
        "target": names[0],
        "targets": len(names),
        "mae": float(np.abs(residual).mean()),
        "rmse": float(np.sqrt((residual**2).mean())),
        "r2": 1.0 - float((residual**2).sum()) / spread if spread > 0 else None,
        "bias": float(residual.mean()),
        "points": [[_round(actual[i]), _round(predicted[i])] for i in np.sort(sample).tolist()],
        "residual_histogram": {
            "edges": [_round(edge) for edge in edges],
            "counts": [int(count) for count in counts],
        },
        "deciles": _deciles(actual, residual),
    }
    return Evaluation(report)


def _round(value: float) -> float:
    return float(f"{float(value):.6g}")


def _deciles(actual: np.ndarray, residual: np.ndarray) -> list[dict[str, Any]]:
    """MAE, RMSE and bias of the samples in each tenth of the actual values."""
    order = np.argsort(actual, kind="stable")
    rows = []
    for decile, part in enumerate(np.array_split(order, 10), start=1):
        if not len(part):
            continue
        errors = residual[part]
        rows.append(
            {
                "decile": decile,
                "low": _round(actual[part].min()),
                "high": _round(actual[part].max()),
                "count": len(part),
                "mae": _round(np.abs(errors).mean()),
                "rmse": _round(np.sqrt((errors**2).mean())),
                "bias": _round(errors.mean()),
            }
        )
    return rows


# --- detection --------------------------------------------------------------------------


def _detection(prepared: Prepared, maps: torch.Tensor, y: torch.Tensor) -> Evaluation:
    from athanor.data.box_targets import valid_rows
    from athanor.nets.detection import decode
    from athanor.training.detection_metrics import coco_scores

    classes = list(prepared.schema.classes or [])
    found = decode(maps)
    detections = torch.cat(
        [found.labels[..., None].float(), found.scores[..., None], found.boxes], dim=-1
    ).numpy()
    truths = [image[valid_rows(image)].numpy() for image in y.float()]
    scores = coco_scores(list(detections), truths, len(classes))
    counts = np.bincount(
        np.concatenate([t[:, 0].astype(int) for t in truths] or [np.zeros(0, int)]),
        minlength=len(classes),
    )
    report = {
        "version": FORMAT_VERSION,
        "task": "detection",
        "split": "test",
        "samples": len(truths),
        "boxes": int(counts.sum()),
        "map": scores.map,
        "map50": scores.map50,
        "map75": scores.map75,
        "per_class": [
            {"class": name, "ap": ap, "ap50": ap50, "boxes": int(count)}
            for name, ap, ap50, count in zip(
                classes, scores.class_ap, scores.class_ap50, counts.tolist(), strict=True
            )
        ],
    }
    return Evaluation(report=report)


_EVALUATIONS = {
    "classification": _classification,
    "regression": _regression,
    "detection": _detection,
}

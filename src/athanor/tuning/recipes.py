"""What ``athanor auto`` tries for each kind of problem, sized to the data and the budget.

A recipe is a run spec with search markers (candidate templates, preprocessing, learning
rates...) plus the search's settings. Candidates are few and small on purpose: the budget is
minutes on a laptop CPU, so a handful of well-chosen networks, trained for a few epochs with
successive halving cutting the bad ones early, beats a wide search that finishes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from athanor.settings import Settings
from athanor.tuning.detect import (
    FORECASTING,
    IMAGE_CLASSIFICATION,
    OBJECT_DETECTION,
    TABLE_CLASSIFICATION,
    TABLE_REGRESSION,
    TEXT_CLASSIFICATION,
    Detection,
)

TRIAL_IMAGES = 12_000
"""Training images per trial when the budget is short (the winner may be retrained on all)."""
MAX_IMAGE_SIDE = 32
"""Larger images are resized to this (64 when the budget is an hour or more)."""
DETECTION_TRIAL_IMAGES = 2_000
"""Training images per detection trial when the budget is short (a detector's step costs
much more than a classifier's on the same images)."""
DETECTION_SIDES = (64, 96)
"""Detection inputs are resized to a square of this side (the larger from an hour's budget,
for images at least that large): CenterNet's stride-8 features need sides divisible by 8."""
WINDOWS = (4, 8, 12, 16, 24, 32, 48)
"""Candidate window lengths of a forecast, kept where the validation part fits them."""


@dataclass
class Recipe:
    """A search for one problem: spec with markers, tune settings and what it means."""

    spec: dict[str, Any]
    tune: dict[str, Any]
    candidates: list[str]
    """A line per candidate network or preprocessing, for the report."""
    trial_subset: int | None = None
    """Training samples each trial sees (None: all)."""
    notes: list[str] = field(default_factory=list)
    weights: str | None = None
    """Image classification: the pretrained weights found and used, or which file was looked
    for, where, and how to get it once."""


def default_metric(detection: Detection) -> str:
    """Accuracy for classification, mAP@0.5 for object detection, RMSE otherwise."""
    if detection.task == OBJECT_DETECTION:
        return "val_map50"
    if detection.task in (IMAGE_CLASSIFICATION, TABLE_CLASSIFICATION, TEXT_CLASSIFICATION):
        return "val_accuracy"
    return "val_rmse"


def recipe_for(
    detection: Detection,
    *,
    budget: float,
    metric: str,
    seed: int = 0,
    settings: Settings | None = None,
) -> Recipe:
    """The search ``auto`` runs for ``detection`` within ``budget`` seconds.

    Image classification adds an ImageNet-pretrained ResNet-18, fine-tuned, when its weights
    are on this machine (a mirror folder or the cache of ``settings``); ``auto`` never
    downloads them, and says in its notes where it looked and how to get them once.

    Raises:
        ValueError: a task without a recipe (detection refuses those first).
    """
    builders = {
        IMAGE_CLASSIFICATION: _images,
        OBJECT_DETECTION: _boxes,
        TABLE_CLASSIFICATION: _table,
        TABLE_REGRESSION: _table,
        FORECASTING: _series,
        TEXT_CLASSIFICATION: _text,
    }
    if detection.task not in builders:
        raise ValueError(f"no recipe for {detection.task}")
    recipe = builders[detection.task](detection, budget)
    if detection.task == IMAGE_CLASSIFICATION:
        _add_pretrained(recipe, detection, settings)
    recipe.spec = {"name": "auto", "seed": seed, **recipe.spec}
    early = {"monitor": metric, "patience": recipe.tune.pop("patience")}
    recipe.spec["train"]["early_stopping"] = early
    recipe.tune.setdefault("metric", metric)
    recipe.tune.setdefault("sampler", {"type": "tpe", "startup_trials": 6})
    return recipe


def _optimizer(low: float, high: float) -> dict[str, Any]:
    return {
        "type": "adamw",
        "lr": {"loguniform": [low, high]},
        "weight_decay": {"loguniform": [1.0e-6, 1.0e-2]},
    }


def _table(detection: Detection, budget: float) -> Recipe:
    rows = detection.samples
    epochs = 40 if rows < 5_000 else 15 if rows < 50_000 else 8
    hidden = [[64], [128, 64], [256, 128], [256, 128, 64]]
    data: dict[str, Any] = {
        "dataset": detection.dataset,
        "split": {"val": 0.15, "test": 0.15},
        "normalize": {"choice": ["standard", "minmax"]},
    }
    if detection.target:
        data["target"] = detection.target
    notes = []
    if detection.task == TABLE_REGRESSION:
        data["scale_target"] = "standard"  # targets like house prices in dollars
        notes.append(
            "regression targets are standardized with training statistics: losses and "
            "metrics are in standard deviations of the target; predictions are in its units"
        )
    spec = {
        "data": data,
        "model": {
            "template": "mlp",
            "hidden": {"choice": hidden},
            "dropout": {"uniform": [0.0, 0.3]},
            "batchnorm": {"choice": [False, True]},
        },
        "train": {
            "epochs": epochs,
            "batch_size": {"choice": _table_batches(rows)},
            "optimizer": _optimizer(1.0e-4, 3.0e-2),
        },
    }
    tune = {
        "pruner": {"type": "asha", "min_epochs": 2, "reduction_factor": 3},
        "patience": 6,
    }
    candidates = [f"mlp hidden {h}" for h in hidden] + [
        "inputs standardized or min-max scaled",
        "dropout 0-0.3, batch norm on/off, AdamW learning rate 1e-4..3e-2",
    ]
    return Recipe(spec, tune, candidates, notes=notes)


def _table_batches(rows: int) -> list[int]:
    """Batch sizes that keep an epoch of a large table to a few hundred steps."""
    if rows > 10_000:
        return [128, 256, 512]
    return [32, 64, 128, 256] if rows > 2_000 else [16, 32, 64]


def _images(detection: Detection, budget: float) -> Recipe:
    assert detection.image_shape is not None
    _, height, width = detection.image_shape
    images = detection.samples
    side = 64 if budget >= 3600 else MAX_IMAGE_SIDE
    data: dict[str, Any] = {"dataset": detection.dataset, "split": {"val": 0.1, "test": 0.2}}
    notes = []
    if max(height, width) > side:
        data["image"] = {"size": [side, side]}
        notes.append(f"images resized from {height}x{width} to {side}x{side} for speed")
    small_cnn = {
        "layers": [
            {"conv2d": {"filters": 32, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            {"conv2d": {"filters": 64, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            "flatten",
            {"dense": {"units": 128, "activation": "relu", "dropout": 0.3}},
        ]
    }
    models: list[Any] = [{"template": "lenet5"}, small_cnn]
    candidates = ["lenet5", "small CNN (conv 32, conv 64, dense 128)"]
    if budget >= 1200 and min(height, width) >= 16:
        models.append({"template": "resnet", "depth": 8, "width": 16})
        candidates.append("resnet-8 (CIFAR stem, 16 filters)")
    subset = _trial_subset(data, images, TRIAL_IMAGES, budget, notes)
    trained = min(images, subset or images)
    epochs = 15 if trained <= 5_000 else 8 if trained <= 20_000 else 5
    spec = {
        "data": data,
        "model": {"choice": models},
        "train": {
            "epochs": epochs,
            "batch_size": {"choice": [32, 64, 128]},
            "optimizer": _optimizer(3.0e-4, 1.0e-2),
        },
    }
    tune = {"pruner": {"type": "asha", "min_epochs": 1, "reduction_factor": 3}, "patience": 3}
    candidates.append("batch size 32/64/128, AdamW learning rate 3e-4..1e-2")
    return Recipe(spec, tune, candidates, trial_subset=subset, notes=notes)


PRETRAINED = "resnet18"
"""The published weights ``auto`` fine-tunes for image classification when they are local."""


def _add_pretrained(recipe: Recipe, detection: Detection, settings: Settings | None) -> None:
    """A fine-tuned ImageNet ResNet-18 among the candidates when its weights are local; else
    a note saying which file was looked for, where, and how to get it once."""
    from athanor.nets.pretrained import ZOO, local_weights, weights_cache_path, weights_places

    entry = ZOO[PRETRAINED]
    path = local_weights(entry, settings)
    if path is None:
        recipe.weights = (
            f"no pretrained candidate: {entry.remote.name} ({entry.origin}) is not in "
            f"{weights_places(entry, settings)}, and auto never downloads; to add a fine-tuned "
            f"ImageNet ResNet-18, get it once on a machine with internet (curl -L -o "
            f"{weights_cache_path(entry, settings)} {entry.remote.urls[0]}, or copy the file "
            "into a mirror folder)"
        )
        return
    assert detection.image_shape is not None
    data = recipe.spec["data"]
    # The images' own size unless the recipe resizes them: without one, a pretrained run
    # would be resized to 224 x 224, far too slow for auto's budget on a CPU.
    image = data.setdefault("image", {})
    image.setdefault("size", list(detection.image_shape[1:]))
    recipe.spec["model"]["choice"].append(
        {"template": "resnet", "depth": entry.depth, "pretrained": "imagenet"}
    )
    # fine_tune applies to the pretrained candidate only: the others start from scratch
    recipe.spec["train"]["transfer"] = {"preset": "fine_tune", "from_scratch": "train_all"}
    recipe.candidates.insert(
        -1,
        f"resnet-{entry.depth} pretrained on ImageNet ({path}), fine-tuned: the backbone at "
        "0.1 times the learning rate, a new head; RGB, ImageNet's mean and std",
    )
    recipe.weights = (
        f"a pretrained candidate: {entry.origin}, found at {path}; every candidate sees "
        f"{image['size'][0]}x{image['size'][1]} images"
    )


def _trial_subset(
    data: dict[str, Any], images: int, limit: int, budget: float, notes: list[str]
) -> int | None:
    """On a short budget, trials train on ``limit`` of the training images (set in ``data``
    and said in ``notes``); ``None`` where they train on all of them."""
    if images <= limit or budget >= 1800:
        return None
    data["subset"] = {"train": limit}
    notes.append(
        f"trials train on {limit:,} of the training images (the budget is short); the "
        "winner is retrained on all of them if the budget leaves time"
    )
    return limit


def _boxes(detection: Detection, budget: float) -> Recipe:
    """CenterNet detectors of a few widths, on images resized to a small square."""
    assert detection.image_shape is not None
    _, height, width = detection.image_shape
    images = detection.samples
    wanted = DETECTION_SIDES[1] if budget >= 3600 else DETECTION_SIDES[0]
    # A small image is not enlarged: the largest multiple of 16 (depth 3 and 4) it holds.
    side = max(32, min(wanted, 16 * (min(height, width) // 16)))
    data: dict[str, Any] = {
        "dataset": detection.dataset,
        "split": {"val": 0.1, "test": 0.2},
        "image": {"size": [side, side], "augment": {"scale": 0.15, "crop": side // 16}},
    }
    notes = [
        f"images resized from {height}x{width} to {side}x{side}; training images are zoomed "
        f"by up to 15% and shifted by up to {side // 16} px (not mirrored: digits and text "
        "are other shapes mirrored), their boxes with them"
    ]
    models: list[Any] = [
        {"template": "centernet", "width": 16, "depth": 3},
        {"template": "centernet", "width": 8, "depth": 3, "head_width": 16},
    ]
    candidates = [
        "centernet width 16, depth 3 (features at 1/8, heads at 1/4 of the input)",
        "centernet width 8, depth 3, head 16 (smaller and faster)",
    ]
    if budget >= 1200:
        models.append({"template": "centernet", "width": 32, "depth": 3, "convs": 1})
        candidates.append("centernet width 32, depth 3, one more convolution per stage")
    subset = _trial_subset(data, images, DETECTION_TRIAL_IMAGES, budget, notes)
    trained = min(images, subset or images)
    epochs = 12 if trained <= 2_000 else 8 if trained <= 10_000 else 5
    spec = {
        "data": data,
        "model": {"choice": models},
        "train": {
            "epochs": epochs,
            "batch_size": {"choice": [16, 32]},
            "optimizer": _optimizer(1.0e-3, 1.0e-2),
        },
    }
    tune = {"pruner": {"type": "asha", "min_epochs": 2, "reduction_factor": 3}, "patience": 4}
    candidates.append("batch size 16/32, AdamW learning rate 1e-3..1e-2")
    return Recipe(spec, tune, candidates, trial_subset=subset, notes=notes)


def _series(detection: Detection, budget: float) -> Recipe:
    steps = detection.samples
    part = int(steps * 0.15)  # the validation (and test) part of the series
    windows = [w for w in WINDOWS if w + 1 <= part // 2] or [max(2, part // 2 - 1)]
    data = {
        "dataset": detection.dataset,
        "split": {"val": 0.15, "test": 0.15},
        "window": {"length": {"choice": windows[:4] if len(windows) > 4 else windows}},
    }
    models = [
        {"template": "lstm_forecaster", "units": 32},
        {"template": "lstm_forecaster", "units": 64},
        {"template": "mlp", "hidden": [64, 32]},
    ]
    spec = {
        "data": data,
        "model": {"choice": models},
        "train": {
            "epochs": 60 if steps < 5_000 else 20,
            "batch_size": {"choice": [16, 32, 64]},
            "optimizer": _optimizer(1.0e-3, 3.0e-2),
        },
    }
    tune = {"pruner": {"type": "asha", "min_epochs": 4, "reduction_factor": 3}, "patience": 8}
    candidates = [
        "lstm_forecaster 32 units",
        "lstm_forecaster 64 units",
        "mlp [64, 32] over the window",
        f"window lengths {data['window']['length']['choice']} (one step ahead)",
    ]
    notes = [
        f"{steps} steps; validation and test are the last 15% each, in time order",
        "forecast targets are standardized with training statistics: losses and metrics are "
        "in standard deviations of the series; predictions are in its units",
    ]
    return Recipe(spec, tune, candidates, notes=notes)


def _text(detection: Detection, budget: float) -> Recipe:
    documents = detection.samples
    words = (detection.text_lengths or {}).get("words", {})
    p95 = float(words.get("p95", 0) or 0)
    # Long documents make every recurrent step costly: on short budgets read fewer words.
    cap = 128 if budget < 600 else 256
    text: dict[str, Any] = {"level": "word", "lowercase": True, "max_vocab": 20_000}
    if p95:
        text["length"] = min(cap, max(8, math.ceil(p95)))
    # Without import statistics the preparation picks the 95th percentile of the training
    # documents itself (at most 256 words).
    data: dict[str, Any] = {
        "dataset": detection.dataset,
        "split": {"val": 0.15, "test": 0.2},
        "text": text,
    }
    models = [
        {"template": "text_classifier", "cell": "gru", "units": 32, "embedding_dim": 32},
        {"template": "text_classifier", "cell": "gru", "units": 64, "pooling": "max"},
        {
            "template": "text_classifier",
            "cell": "lstm",
            "units": 64,
            "pooling": "max",
            "dropout": 0.4,
        },
    ]
    candidates = [
        "text_classifier GRU 32 units, embedding 32, last state, dropout 0.2",
        "text_classifier GRU 64 units, embedding 64, max over steps, dropout 0.2",
        "text_classifier LSTM 64 units, embedding 64, max over steps, dropout 0.4",
    ]
    if budget >= 1200:
        models.append(
            {
                "template": "text_classifier",
                "cell": "lstm",
                "units": 128,
                "bidirectional": True,
                "pooling": "max",
                "dropout": 0.3,
            }
        )
        candidates.append("text_classifier bidirectional LSTM 128 units, max over steps")
    spec = {
        "data": data,
        "model": {"choice": models},
        "train": {
            "epochs": 30 if documents < 2_000 else 12 if documents < 20_000 else 5,
            "batch_size": {"choice": [16, 32, 64] if documents < 5_000 else [32, 64, 128]},
            "optimizer": _optimizer(1.0e-3, 1.0e-2),
        },
    }
    tune = {"pruner": {"type": "asha", "min_epochs": 2, "reduction_factor": 3}, "patience": 5}
    candidates.append("batch size, AdamW learning rate 1e-3..1e-2 and weight decay")
    notes = [
        f"{documents:,} documents; lower-cased words, a vocabulary of at most 20,000 from the "
        "training documents, the first "
        + (f"{text['length']} words" if "length" in text else "words (95th percentile)")
        + " of each document"
    ]
    return Recipe(spec, tune, candidates, notes=notes)

"""COCO mAP of detections, checked against a case worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.training.detection_metrics import coco_scores
from athanor.training.metrics import build_metrics


def test_coco_map_matches_a_hand_computed_case() -> None:
    # Image 0: one "a" box; its detection [0, 0, 9, 9] overlaps it by IoU 81/100 = 0.81.
    # Image 1: an "a" box detected as [0, 0, 10, 5] (IoU 0.5) and a "b" box found exactly.
    detections = [
        np.array([[0, 0.9, 0, 0, 9, 9]]),
        np.array([[1, 0.8, 20, 20, 30, 30], [0, 0.7, 0, 0, 10, 5]]),
    ]
    truths = [np.array([[0, 0, 0, 10, 10]]), np.array([[0, 0, 0, 10, 10], [1, 20, 20, 30, 30]])]
    scores = coco_scores(detections, truths, 2)
    # Class b: AP 1 at every IoU threshold. Class a, 2 boxes, detections by score: IoU 0.81
    # then 0.5. At 0.50 both match: AP 1. From 0.55 to 0.80 (6 thresholds) only the first:
    # precision 1 up to recall 0.5, i.e. 51 of COCO's 101 recall points: AP 51/101. From 0.85
    # on, none: AP 0.
    class_a = (1 + 6 * 51 / 101) / 10
    assert scores.class_ap == pytest.approx([class_a, 1.0])
    assert scores.class_ap50 == pytest.approx([1.0, 1.0])
    assert scores.map == pytest.approx((class_a + 1) / 2)
    assert scores.map50 == pytest.approx(1.0)
    assert scores.map75 == pytest.approx((51 / 101 + 1) / 2)
    missed = coco_scores([np.zeros((0, 6)), np.zeros((0, 6))], truths, 2)
    assert missed.map == 0.0 and missed.class_ap == [0.0, 0.0]


def test_streaming_metrics_score_perfect_maps_one() -> None:
    schema = Schema(
        task="detection", input=InputSchema(kind="image", shape=[1, 32, 32]), classes=["a", "b"]
    )
    metrics = build_metrics(["map50", "map", "class_ap"], schema)
    maps = torch.full((1, 6, 8, 8), -20.0)
    maps[0, 4:] = 0.0
    maps[0, 1, 3, 2] = 5.0  # class b centered in cell (2, 3): pixels (10, 14)
    maps[0, 2, 3, 2], maps[0, 3, 3, 2] = 2.0, 3.0  # 8 x 12 px
    maps[0, 4, 3, 2], maps[0, 5, 3, 2] = 0.5, 0.5
    targets = torch.tensor([[[1, 6, 8, 14, 20], [-1, -1, -1, -1, -1]]], dtype=torch.float32)
    for metric in metrics:
        metric.update(maps, targets)
    assert [m.compute() for m in metrics][:2] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert metrics[2].compute()[1] == pytest.approx(1.0) and np.isnan(metrics[2].compute()[0])


def test_metrics_of_a_split_decode_and_evaluate_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from athanor.training import detection_metrics

    schema = Schema(
        task="detection", input=InputSchema(kind="image", shape=[1, 32, 32]), classes=["a", "b"]
    )
    evaluations = []
    real = detection_metrics.coco_scores
    monkeypatch.setattr(
        detection_metrics,
        "coco_scores",
        lambda *args: evaluations.append(args) or real(*args),
    )
    metrics = build_metrics(["map50", "map", "map75", "class_ap"], schema)
    maps = torch.full((2, 6, 8, 8), -20.0)
    maps[:, 0, 4, 4] = 5.0
    targets = torch.tensor([[[0, 12, 12, 20, 20]], [[1, 0, 0, 8, 8]]], dtype=torch.float32)
    for metric in metrics:
        metric.update(maps, targets)
    first = [m.compute() for m in metrics]
    assert len(evaluations) == 1 and len(evaluations[0][0]) == 2  # 2 images, evaluated once
    assert [m.compute() for m in metrics][:3] == first[:3] and len(evaluations) == 1
    # A new batch is decoded once for all four and invalidates the evaluation.
    again = maps.clone()
    for metric in metrics:
        metric.update(again, targets)
    assert len(metrics[0].split.detections) == 2
    metrics[1].compute()
    assert len(evaluations) == 2 and len(evaluations[1][0]) == 4
    # Two splits' metric sets do not share.
    other = build_metrics(["map50"], schema)
    assert other[0].split is not metrics[0].split and other[0].split.detections == []


def test_detection_metrics_are_evaluation_only_and_old_checkpoints_resume() -> None:
    from athanor.training.loops.supervised import SupervisedLoop

    schema = Schema(
        task="detection", input=InputSchema(kind="image", shape=[1, 32, 32]), classes=["a", "b"]
    )
    assert all(not m.on_training_batches for m in build_metrics(["map50", "map"], schema))
    # A loop keeps no training-batch state for them; a checkpoint written when it did (one
    # state per metric named) still loads.
    loop = SupervisedLoop.__new__(SupervisedLoop)
    every = build_metrics(["map50", "map"], schema)
    loop._trained_positions = [i for i, m in enumerate(every) if m.on_training_batches]
    loop._metric_count = len(every)
    loop.train_metrics = []
    saved = {"detections": [], "truths": [], "classes": 2}
    state = {
        "optimizer": {},
        "schedule": None,
        "scaler": None,
        "loss_sum": torch.zeros(()),
        "seen": 0,
        "metrics": [saved, saved],
    }
    loop.optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    state["optimizer"] = loop.optimizer.state_dict()
    loop.schedule = loop.scaler = None
    loop.ranks = type("Ranks", (), {"leader": True})()
    loop.load_state_dict(state, torch.device("cpu"))
    assert loop.seen == 0

"""Agreement between labelers: on items two or more people labeled, how often they agree.

Class labels: percent agreement counts every pair of people on every such item; Cohen's kappa
is given per pair of people and overall as the mean of the pairs' kappas. Kappa is computed
here, not with scikit-learn: the formula is two lines, and importing scikit-learn takes seconds
that a console request should not wait.

Boxes: two people's boxes of an item are matched one to one, the pairs of highest IoU first
(at least ``iou``, whatever their classes, as COCO's evaluation matches detections); the
item's agreement is an F1 score, twice the matched boxes of the same class over all boxes of
both (two empty lists agree). Beside it: the mean IoU of the matched boxes (how tightly they
drew) and the share of matched boxes given the same class (whether they named them alike).
Kappa has no meaning for boxes and is null.

Both kinds list the items with the lowest agreement first, for a reviewer to settle.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from statistics import fmean
from typing import Any

from athanor.store import Store

DISPUTED = 20
"""How many of the least agreed items the report lists."""


def agreement(store: Store, name: str, *, iou: float = 0.5) -> dict[str, Any]:
    """``{kind, items_with_several, agreement, kappa, pairs, disputed}``.

    ``agreement`` and ``kappa`` are None when no item has labels of two people. Box projects
    add ``mean_iou`` and ``class_agreement`` to the report and to each pair, and the boxes
    each person drew (``boxes_a``, ``boxes_b``) and matched (``matched``) to each pair.
    """
    project = store.labeling.get_project(name)
    if project.kind == "detection":
        return _box_agreement(store, project.id, iou)
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for item, person, label in store.labeling.votes(project.id):
        by_item[item][person] = label
    several = {item: votes for item, votes in by_item.items() if len(votes) >= 2}
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    same = total = 0
    per_item: dict[int, float] = {}
    for item, votes in several.items():
        agreed = 0
        for a, b in combinations(sorted(votes), 2):
            pairs[(a, b)].append((votes[a], votes[b]))
            agreed += votes[a] == votes[b]
            total += 1
        same += agreed
        per_item[item] = agreed / (len(votes) * (len(votes) - 1) // 2)
    pair_reports = []
    for (a, b), labels in sorted(pairs.items()):
        agreed = sum(x == y for x, y in labels) / len(labels)
        pair_reports.append(
            {"a": a, "b": b, "items": len(labels), "agreement": agreed, "kappa": _kappa(labels)}
        )
    kappas = [p["kappa"] for p in pair_reports if p["kappa"] is not None]
    return {
        "kind": "classes",
        "items_with_several": len(several),
        "agreement": same / total if total else None,
        "kappa": sum(kappas) / len(kappas) if kappas else None,
        "pairs": pair_reports,
        "disputed": _disputed(store, project.id, per_item, several),
    }


def _box_agreement(store: Store, project_id: int, threshold: float) -> dict[str, Any]:
    by_item: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for item, person, boxes in store.labeling.box_votes(project_id):
        by_item[item][person] = boxes
    several = {item: votes for item, votes in by_item.items() if len(votes) >= 2}
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    per_item: dict[int, list[float]] = defaultdict(list)
    for item, votes in several.items():
        for a, b in combinations(sorted(votes), 2):
            compared = compare_boxes(votes[a], votes[b], threshold)
            pairs[(a, b)].append(compared)
            per_item[item].append(compared["f1"])
    pair_reports = [_box_pair(a, b, compared) for (a, b), compared in sorted(pairs.items())]
    every = [c for compared in pairs.values() for c in compared]
    ious = [value for c in every for value in c["ious"]]
    matched = sum(c["matched"] for c in every)
    return {
        "kind": "boxes",
        "iou": threshold,
        "items_with_several": len(several),
        "agreement": fmean(c["f1"] for c in every) if every else None,
        "kappa": None,
        "mean_iou": fmean(ious) if ious else None,
        "class_agreement": sum(c["same_class"] for c in every) / matched if matched else None,
        "pairs": pair_reports,
        "disputed": _disputed(
            store, project_id, {i: fmean(f) for i, f in per_item.items()}, several
        ),
    }


def compare_boxes(
    first: list[dict[str, Any]], second: list[dict[str, Any]], threshold: float
) -> dict[str, Any]:
    """Two people's boxes of one item, matched greedily by IoU (at least ``threshold``):
    ``{boxes_a, boxes_b, matched, same_class, ious, f1}``."""
    candidates = sorted(
        (
            (overlap, i, j)
            for i, a in enumerate(first)
            for j, b in enumerate(second)
            if (overlap := box_iou(a["xyxy"], b["xyxy"])) >= threshold
        ),
        reverse=True,
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    ious: list[float] = []
    same_class = 0
    for overlap, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        ious.append(overlap)
        same_class += first[i]["class"] == second[j]["class"]
    boxes = len(first) + len(second)
    return {
        "boxes_a": len(first),
        "boxes_b": len(second),
        "matched": len(ious),
        "same_class": same_class,
        "ious": ious,
        "f1": 2 * same_class / boxes if boxes else 1.0,
    }


def box_iou(a: list[float], b: list[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _box_pair(a: str, b: str, compared: list[dict[str, Any]]) -> dict[str, Any]:
    ious = [value for c in compared for value in c["ious"]]
    matched = sum(c["matched"] for c in compared)
    return {
        "a": a,
        "b": b,
        "items": len(compared),
        "agreement": fmean(c["f1"] for c in compared),
        "kappa": None,
        "boxes_a": sum(c["boxes_a"] for c in compared),
        "boxes_b": sum(c["boxes_b"] for c in compared),
        "matched": matched,
        "mean_iou": fmean(ious) if ious else None,
        "class_agreement": sum(c["same_class"] for c in compared) / matched if matched else None,
    }


def _disputed(
    store: Store, project_id: int, per_item: dict[int, float], votes: dict[int, dict[str, Any]]
) -> list[dict]:
    """The least agreed items (below full agreement), lowest first: ``{item, name, agreement,
    people}``."""
    worst = sorted((score, item) for item, score in per_item.items() if score < 1.0)[:DISPUTED]
    names = {r.item: r.name for r in store.labeling.get_items(project_id, [i for _, i in worst])}
    return [
        {
            "item": item,
            "name": names.get(item, ""),
            "agreement": score,
            "people": sorted(votes[item]),
        }
        for score, item in worst
    ]


def _kappa(labels: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two people's labels: (observed - chance agreement) / (1 - chance)."""
    count = len(labels)
    observed = sum(x == y for x, y in labels) / count
    first = Counter(x for x, _ in labels)
    second = Counter(y for _, y in labels)
    chance = sum(first[c] * second[c] for c in first) / count**2
    if chance == 1.0:
        return 1.0 if observed == 1.0 else None  # one label only: kappa is undefined
    return (observed - chance) / (1.0 - chance)

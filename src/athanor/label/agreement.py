"""Agreement between labelers: on items two or more people labeled, how often they agree.

Percent agreement counts every pair of people on every such item; Cohen's kappa is given per
pair of people and overall as the mean of the pairs' kappas. Kappa is computed here, not
with scikit-learn: the formula is two lines, and importing scikit-learn takes seconds that a
console request should not wait.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

from athanor.store import Store


def agreement(store: Store, name: str) -> dict[str, Any]:
    """``{items_with_several, agreement, kappa, pairs: [{a, b, items, agreement, kappa}]}``.

    ``agreement`` and ``kappa`` are None when no item has labels of two people.
    """
    project = store.labeling.get_project(name)
    by_item: dict[int, dict[str, str]] = defaultdict(dict)
    for item, person, label in store.labeling.votes(project.id):
        by_item[item][person] = label
    several = {item: votes for item, votes in by_item.items() if len(votes) >= 2}
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    same = total = 0
    for votes in several.values():
        for a, b in combinations(sorted(votes), 2):
            pairs[(a, b)].append((votes[a], votes[b]))
            same += votes[a] == votes[b]
            total += 1
    pair_reports = []
    for (a, b), labels in sorted(pairs.items()):
        agreed = sum(x == y for x, y in labels) / len(labels)
        pair_reports.append(
            {"a": a, "b": b, "items": len(labels), "agreement": agreed, "kappa": _kappa(labels)}
        )
    kappas = [p["kappa"] for p in pair_reports if p["kappa"] is not None]
    return {
        "items_with_several": len(several),
        "agreement": same / total if total else None,
        "kappa": sum(kappas) / len(kappas) if kappas else None,
        "pairs": pair_reports,
    }


def _kappa(labels: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two people's labels: (observed - chance agreement) / (1 - chance)."""
    from collections import Counter

    count = len(labels)
    observed = sum(x == y for x, y in labels) / count
    first = Counter(x for x, _ in labels)
    second = Counter(y for _, y in labels)
    chance = sum(first[c] * second[c] for c in first) / count**2
    if chance == 1.0:
        return 1.0 if observed == 1.0 else None  # one label only: kappa is undefined
    return (observed - chance) / (1.0 - chance)

"""How unsure a model is of each item, by three common measures (higher: more unsure).

- ``least`` (least confidence): ``1 - p_max``;
- ``margin``: ``1 - (p_first - p_second)``;
- ``entropy``: the entropy of the class probabilities over its maximum, ``log K``.

Each is 0 for a one-hot answer and 1 at most, so items sort the same way across measures'
scales.
"""

from __future__ import annotations

import numpy as np

STRATEGIES = ("least", "margin", "entropy")


def uncertainties(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """``{strategy: [N]}`` for class probabilities ``[N, K]`` (rows sum to 1)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"expected probabilities [N, K>=2], got shape {p.shape}")
    ordered = np.sort(p, axis=1)
    top, second = ordered[:, -1], ordered[:, -2]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1) / np.log(p.shape[1])
    return {
        "least": 1.0 - top,
        "margin": 1.0 - (top - second),
        "entropy": np.clip(entropy, 0.0, 1.0),
    }


def most_uncertain(probabilities: np.ndarray, count: int, strategy: str = "least") -> np.ndarray:
    """Positions of the ``count`` most uncertain rows, most uncertain first."""
    scores = uncertainties(probabilities)[strategy]
    return np.argsort(-scores, kind="stable")[:count]


def box_uncertainties(scores: list[float]) -> tuple[float, dict[str, float]]:
    """An item's confidence and uncertainties from its detected boxes' scores.

    A detector answers an item with several boxes, so an item is as sure as its least sure
    box: the confidence is the lowest box score (``least`` is ``1 -`` it), ``margin`` is how
    near the least decided box is to a coin toss (``1 - min |2s - 1|``), ``entropy`` the mean
    binary entropy of the scores (in bits, 0..1). An item without a box has confidence 0 and
    every measure at 1: a person looks whether there is really nothing to box.
    """
    if not scores:
        return 0.0, {"least": 1.0, "margin": 1.0, "entropy": 1.0}
    s = np.clip(np.asarray(scores, dtype=np.float64), 1e-12, 1 - 1e-12)
    entropy = -(s * np.log2(s) + (1 - s) * np.log2(1 - s))
    low = float(np.min(np.asarray(scores, dtype=np.float64)))
    return low, {
        "least": 1.0 - low,
        "margin": float(1.0 - np.min(np.abs(2 * s - 1))),
        "entropy": float(np.clip(entropy.mean(), 0.0, 1.0)),
    }

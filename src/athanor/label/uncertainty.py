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

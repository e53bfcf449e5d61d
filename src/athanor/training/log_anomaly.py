"""DeepLog's anomaly rule over sessions of log keys, its scores, and an n-gram baseline.

A key is *unexpected* when it is not among the ``top_g`` keys the model ranks most likely
after the ``h`` keys before it (a key the training sessions never showed always is); a
session is anomalous when any of its keys is unexpected. With ``end``, the end of a
session is one more key (position ``len(session)``), unexpected where sessions go on.
Sessions repeat the same windows many times, so each distinct (window, key) pair is scored
once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from athanor.data.log_windows import PAD, UNKNOWN, KeyIndex, windows_of

NEVER = np.iinfo(np.int64).max
"""The rank of a key the model can never expect (padding, unknown keys)."""


def key_ranks(
    module: torch.nn.Module,
    sessions: Sequence[np.ndarray],
    index: KeyIndex,
    window: int,
    *,
    end: bool = False,
    device: torch.device | str = "cpu",
    batch_size: int = 4096,
) -> list[np.ndarray]:
    """Each key's rank among the model's predictions after the keys before it (0: the most
    likely), per session; the key is unexpected under the top-g rule when its rank >= g."""
    x, y, owner = windows_of(sessions, index, window, end)
    if not len(y):
        return [np.zeros(0, np.int64) for _ in sessions]
    pairs = np.concatenate([x, y[:, None]], axis=1)
    distinct, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    inputs = torch.from_numpy(np.ascontiguousarray(distinct[:, :-1]))
    targets = torch.from_numpy(np.ascontiguousarray(distinct[:, -1]))
    ranks = np.zeros(len(distinct), dtype=np.int64)
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(distinct), batch_size):
                logits = module(inputs[start : start + batch_size].to(device)).float().cpu()
                target = targets[start : start + batch_size]
                score = logits.gather(1, target[:, None])
                # Neither padding nor "unknown" is ever an expected next key.
                logits[:, PAD] = float("-inf")
                logits[:, UNKNOWN] = float("-inf")
                rank = (logits > score).sum(dim=1).numpy().astype(np.int64)
                never = (target == PAD) | (target == UNKNOWN)
                rank[never.numpy()] = NEVER
                ranks[start : start + batch_size] = rank
    finally:
        module.train(was_training)
    per_pair = ranks[inverse]
    bounds = np.searchsorted(owner, np.arange(len(sessions) + 1))
    return [per_pair[bounds[i] : bounds[i + 1]] for i in range(len(sessions))]


def unexpected_positions(ranks: Sequence[np.ndarray], top_g: int) -> list[np.ndarray]:
    """Positions whose key is outside the top ``top_g`` predictions, per session."""
    return [np.flatnonzero(r >= top_g) for r in ranks]


def choose_top_g(
    ranks: Sequence[np.ndarray], max_false_positive_rate: float, largest: int
) -> tuple[int, float]:
    """The smallest g that flags at most ``max_false_positive_rate`` of ``ranks``' sessions
    (normal ones: validation), with the rate it gives; ``largest`` when none does."""
    worst = np.array([int(min(r.max(), largest)) if len(r) else 0 for r in ranks], dtype=np.int64)
    for g in range(1, largest + 1):
        rate = float((worst >= g).mean()) if len(worst) else 0.0
        if rate <= max_false_positive_rate:
            return g, rate
    return largest, float((worst >= largest).mean()) if len(worst) else 0.0


def session_metrics(flagged: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of flagged sessions (anomalous is positive), with the
    false-positive rate on normal sessions and the counts."""
    flagged = np.asarray(flagged, dtype=bool)
    labels = np.asarray(labels) == 1
    tp = int((flagged & labels).sum())
    fp = int((flagged & ~labels).sum())
    fn = int((~flagged & labels).sum())
    tn = int((~flagged & ~labels).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "true_negatives": tn,
    }


@dataclass
class SessionScores:
    """The rule's verdict over labeled sessions: flags, unexpected positions and metrics."""

    unexpected: list[np.ndarray]
    metrics: dict[str, float]

    @property
    def flagged(self) -> np.ndarray:
        return np.array([len(u) > 0 for u in self.unexpected], dtype=bool)


def score_sessions(
    module: torch.nn.Module,
    sessions: Sequence[np.ndarray],
    labels: np.ndarray,
    index: KeyIndex,
    window: int,
    top_g: int,
    *,
    end: bool = False,
    device: torch.device | str = "cpu",
) -> SessionScores:
    """:func:`unexpected_positions` of labeled sessions, with :func:`session_metrics`."""
    ranks = key_ranks(module, sessions, index, window, end=end, device=device)
    unexpected = unexpected_positions(ranks, top_g)
    flags = np.array([len(u) > 0 for u in unexpected], dtype=bool)
    return SessionScores(unexpected, session_metrics(flags, labels))


class NgramKeyModel:
    """A baseline next-key detector: counts of which key follows each ``n - 1`` keys in the
    training sessions (padded at the start as the LSTM's windows are); a key is unexpected
    when it is not among the ``top_g`` most frequent followers of its context (an unseen
    context expects nothing)."""

    def __init__(self, n: int = 3, end: bool = False) -> None:
        self.n = n
        self.end = end
        self.followers: dict[tuple[int, ...], Counter[int]] = {}

    def fit(self, sessions: Sequence[np.ndarray], index: KeyIndex) -> NgramKeyModel:
        x, y, _ = windows_of(sessions, index, self.n - 1, self.end)
        for context, key in zip(map(tuple, x.tolist()), y.tolist(), strict=True):
            self.followers.setdefault(context, Counter())[key] += 1
        return self

    def unexpected(
        self, sessions: Sequence[np.ndarray], index: KeyIndex, top_g: int
    ) -> list[np.ndarray]:
        x, y, owner = windows_of(sessions, index, self.n - 1, self.end)
        result: list[list[int]] = [[] for _ in sessions]
        position = np.concatenate([np.arange(len(s) + int(self.end)) for s in sessions])
        allowed: dict[tuple[int, ...], set[int]] = {}
        for row, (context, key) in enumerate(zip(map(tuple, x.tolist()), y.tolist(), strict=True)):
            if context not in allowed:
                counts = self.followers.get(context)
                allowed[context] = {k for k, _ in counts.most_common(top_g)} if counts else set()
            if key not in allowed[context]:
                result[int(owner[row])].append(int(position[row]))
        return [np.array(r, dtype=np.int64) for r in result]


def log_anomaly_report(scores: SessionScores, rule: dict[str, Any]) -> dict[str, Any]:
    """The run report of the session evaluation under ``rule``."""
    return {**rule, **scores.metrics}

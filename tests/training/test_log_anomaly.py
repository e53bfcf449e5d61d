"""DeepLog's top-g rule over sessions, the choice of g on normal sessions, and the n-gram
baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from athanor.data.log_windows import END, KeyIndex, key_vocabulary
from athanor.training.log_anomaly import (
    NgramKeyModel,
    choose_top_g,
    key_ranks,
    session_metrics,
    unexpected_positions,
)


class _Follows(torch.nn.Module):
    """Predicts the key after the window's last one in a fixed cycle 1 -> 2 -> 3 -> end;
    every other key comes after, in vocabulary order."""

    def __init__(self, vocab: list[str]) -> None:
        super().__init__()
        self.size = len(vocab)
        self.index = KeyIndex(vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nexts = {0: 1, 1: 2, 2: 3, 3: "end"}  # previous key -> expected next key
        logits = torch.zeros(len(x), self.size)
        for row, last in enumerate(x[:, -1].tolist()):
            key = int(self.index.vocab[last]) if last >= 3 else 0
            expected = nexts.get(key)
            target = END if expected == "end" else int(self.index(np.array([expected]))[0])
            logits[row, target] = 10.0
        return logits


def test_keys_outside_the_top_g_and_unknown_keys_are_unexpected() -> None:
    vocab = key_vocabulary([np.array([1, 2, 3])])
    model = _Follows(vocab)
    sessions = [np.array([1, 2, 3]), np.array([1, 3]), np.array([1, 2, 9]), np.array([1, 2])]
    ranks = key_ranks(model, sessions, KeyIndex(vocab), window=2, end=True)
    assert [len(r) for r in ranks] == [4, 3, 4, 3]  # every key and the session's end
    assert ranks[0].tolist() == [0, 0, 0, 0]
    top1 = unexpected_positions(ranks, 1)
    assert [u.tolist() for u in top1] == [[], [1], [2, 3], [2]]
    # 9 was never seen: unexpected for any g; the early end of [1, 2] is rank 2.
    assert [u.tolist() for u in unexpected_positions(ranks, len(vocab))] == [[], [], [2], []]


def test_metrics_take_anomalous_sessions_as_positive() -> None:
    metrics = session_metrics(np.array([1, 1, 0, 0, 1]), np.array([1, 0, 1, 0, 1]))
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    assert metrics["false_positive_rate"] == pytest.approx(1 / 2)


def test_g_is_the_smallest_that_flags_few_normal_sessions() -> None:
    ranks = [np.array([0, 0]), np.array([0, 1]), np.array([0, 2]), np.array([0, 0])]
    assert choose_top_g(ranks, 0.0, largest=10) == (3, 0.0)
    assert choose_top_g(ranks, 0.25, largest=10) == (2, 0.25)
    assert choose_top_g(ranks, 0.5, largest=10) == (1, 0.5)


def test_the_ngram_baseline_expects_the_followers_it_counted() -> None:
    train = [np.array([1, 2, 3]), np.array([1, 2, 3]), np.array([1, 2, 4])]
    index = KeyIndex(key_vocabulary(train))
    model = NgramKeyModel(n=2, end=True).fit(train, index)
    unexpected = model.unexpected(
        [np.array([1, 2, 3]), np.array([1, 3]), np.array([1, 2, 4])], index, 1
    )
    assert [u.tolist() for u in unexpected] == [[], [1], [2]]  # 4 is not 2's top follower

"""Logs for training: normal sessions split whole, cut into next-key windows.

The split's unit is the session, never the window: every window of a session lies in one
split. Only normal sessions are split (train / validation / test) and trained on; the
anomalous ones (label 1) all go to the test split's sessions, scored as wholes after
training. With ``data.log.split_by: sequence`` sessions with identical key sequences share a
split, so no test sequence was seen verbatim in training. The key vocabulary comes from the
training sessions alone.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from athanor.data.batching import TensorSplit
from athanor.data.log_sessions import LogSessions
from athanor.data.log_windows import KeyIndex, LogKeys, key_vocabulary, windows_of
from athanor.data.prepare._common import split_record, split_sizes
from athanor.data.prepare.core import Prepared, preparer
from athanor.data.preprocessing import Preprocessor
from athanor.data.raw import RawDataset
from athanor.data.schema import InputSchema, Schema
from athanor.data.splits import split_indices, subset_indices
from athanor.errors import DataError
from athanor.spec.data import DataSpec


def _sequence_groups(sessions: list[np.ndarray]) -> np.ndarray:
    """One group id per distinct key sequence."""
    seen: dict[bytes, int] = {}
    return np.array(
        [seen.setdefault(hashlib.sha1(k.tobytes()).digest(), len(seen)) for k in sessions],
        dtype=np.int64,
    )


def _split_normal(
    count: int, sizes: dict[str, int], seed: int, groups: np.ndarray | None
) -> dict[str, np.ndarray]:
    if groups is None:
        return split_indices(count, sizes, seed=seed)
    # Whole groups, in a seeded order, fill the held-out parts up to their sizes; a group
    # that would overflow every part left trains.
    distinct = np.random.default_rng(seed).permutation(int(groups.max()) + 1 if count else 0)
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups.tolist()):
        members.setdefault(group, []).append(index)
    parts: dict[str, list[int]] = {name: [] for name in sizes}
    parts["train"] = []
    names = list(sizes)
    for group in distinct.tolist():
        chosen = members.get(group, [])
        target = next((n for n in names if len(parts[n]) + len(chosen) <= sizes[n]), "train")
        parts[target].extend(chosen)
    return {name: np.sort(np.array(index, dtype=np.int64)) for name, index in parts.items()}


@preparer("logs")
def prepare_logs(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """Split normal sessions, fit the key vocabulary on training, cut next-key windows."""
    task = spec.task or raw.task
    if task != "next_key":
        raise DataError(f"data.task: logs serve next_key prediction, not {task}")
    if spec.split.method not in ("auto", "random"):
        raise DataError(
            f"data.split.method: '{spec.split.method}' does not apply to logs; normal sessions "
            "are split at random, whole (data.log.split_by: session or sequence)"
        )
    window = spec.log.window
    labels = np.asarray(raw.y if raw.y is not None else np.zeros(len(raw.x)), dtype=np.int64)
    normal = np.flatnonzero(labels == 0)
    anomalous = np.flatnonzero(labels == 1)
    sessions = list(raw.x)
    sizes = split_sizes(spec, len(normal), True)
    groups = (
        _sequence_groups([sessions[i] for i in normal]) if spec.log.split_by == "sequence" else None
    )
    split = _split_normal(len(normal), sizes, seed, groups)
    parts = {name: normal[index] for name, index in split.items()}
    if "test" in parts:
        parts["test"] = np.concatenate([parts["test"], anomalous])
    chosen = subset_indices({n: len(i) for n, i in parts.items()}, spec.subset, seed)
    for name, index in chosen.items():
        parts[name] = parts[name][index]
    ids = (raw.log or {}).get("ids") or [str(i) for i in range(len(sessions))]
    vocab = key_vocabulary([sessions[i] for i in parts["train"]])
    index = KeyIndex(vocab)
    splits: dict[str, TensorSplit] = {}
    by_split: dict[str, LogSessions] = {}
    for name, members in parts.items():
        part = LogSessions(
            keys=[sessions[i] for i in members],
            ids=[ids[i] for i in members],
            labels=labels[members],
        )
        by_split[name] = part
        # Windows (loss and key accuracy) come from normal sessions only.
        normal_keys = [k for k, label in zip(part.keys, part.labels, strict=True) if label == 0]
        x, y, _ = windows_of(normal_keys, index, window, spec.log.end)
        if name == "train" and len(y) == 0:
            raise DataError(f"dataset '{raw.name}': no normal session to train on")
        if len(y) == 0:
            continue  # a held-out part of anomalous sessions only: scored as sessions
        splits[name] = TensorSplit(torch.from_numpy(x), torch.from_numpy(y))
    parsing = (raw.log or {}).get("parsing")
    schema = Schema(
        task="next_key",
        input=InputSchema(kind="tokens", shape=[window], vocab=vocab),
        target="next_key",
    )
    record = split_record(seed, f"by {spec.log.split_by}", False, splits, parts)
    record["task"] = "next_key"
    record["log"] = {
        "window": window,
        "end": spec.log.end,
        "split_by": spec.log.split_by,
        "keys": len(vocab) - 2,
        "sessions": {
            name: {
                "normal": int((part.labels == 0).sum()),
                "anomalous": int((part.labels == 1).sum()),
            }
            for name, part in by_split.items()
        },
        "templates_mined": parsing is not None,
    }
    return Prepared(
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=Preprocessor(
            [LogKeys(window=window, vocab=vocab, parsing=parsing, end=spec.log.end)]
        ),
        record=record,
        sessions=by_split,
    )

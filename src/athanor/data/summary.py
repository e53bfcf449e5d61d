"""What a dataset holds: schema, counts, class balance, missing values, statistics, samples.

Used by ``athanor data show | stats | preview`` and the Python API; works the same for
catalog datasets and imported versions.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from athanor.data.images import ImageCollection
from athanor.data.raw import RawDataset
from athanor.data.tables import TableData, missing_mask


def _count(x: Any) -> int:
    return len(x) if x is not None else 0


def describe(raw: RawDataset) -> dict[str, Any]:
    """Kind, task, sizes, schema, class balance and missing values of a raw dataset."""
    info: dict[str, Any] = {
        "name": raw.name,
        "version": raw.version,
        "kind": raw.kind,
        "task": raw.task,
        "target": raw.target,
        "origin": raw.origin,
    }
    if raw.kind == "tokens" and raw.text is not None:  # a corpus (labeled documents: below)
        text = raw.text
        info.update(characters=len(text), distinct_characters=len(set(text)))
        info["lines"] = text.count("\n") + 1
        return info
    if raw.kind == "sequence":
        info.update(
            steps=len(raw.x),
            columns=raw.features,
            targets=raw.targets,
            start=str(raw.timestamps[0]) if raw.timestamps is not None else None,
            end=str(raw.timestamps[-1]) if raw.timestamps is not None else None,
        )
        if raw.anomaly_windows is not None:
            info["anomaly_windows"] = [list(w) for w in raw.anomaly_windows]
        return info
    if raw.kind == "logs":
        from athanor.data.log_versions import template_table

        lengths = [len(k) for k in raw.x]
        info["sessions"] = {
            "count": len(raw.x),
            "keys": int(sum(lengths)),
            "length_min": min(lengths, default=0),
            "length_max": max(lengths, default=0),
        }
        info["templates"] = template_table(raw)
    info["samples"] = {"train": _count(raw.x), "official_test": _count(raw.x_test)}
    if raw.kind == "tokens":  # labeled documents
        info["documents"] = document_lengths(raw)
    if isinstance(raw.x, TableData):
        info["columns"] = [
            {**c.model_dump(), "missing": m}
            for c, m in zip(raw.x.columns, raw.x.missing_counts().values(), strict=True)
        ]
        missing = {k: v for k, v in raw.x.missing_counts().items() if v}
        info["missing"] = missing
    elif raw.kind == "tabular":
        info["columns"] = [{"name": f, "type": "numeric", "missing": 0} for f in raw.features or []]
        info["missing"] = {}
    elif isinstance(raw.x, ImageCollection):
        sizes = Counter(f"{h}x{w}" for h, w in raw.x.own_shapes[:, 1:].tolist())
        info["image"] = {"channels": raw.x.channels, "sizes": dict(sizes.most_common(10))}
    elif raw.kind == "image":
        info["image"] = {
            "channels": int(raw.x.shape[1]),
            "sizes": {f"{raw.x.shape[2]}x{raw.x.shape[3]}": len(raw.x)},
        }
    if raw.classes is not None and raw.y is not None:
        counts = np.bincount(raw.y, minlength=len(raw.classes)).tolist()
        info["classes"] = raw.classes
        info["class_counts"] = dict(zip(raw.classes, counts, strict=True))
    return info


def document_lengths(raw: RawDataset) -> dict[str, Any]:
    """Length statistics of labeled documents, in words and characters, overall and by class."""
    from athanor.data.text import length_statistics, split_tokens

    texts = [str(t) for t in raw.x] + [
        str(t) for t in (raw.x_test if raw.has_official_test else [])
    ]
    labels = np.concatenate([raw.y, raw.y_test]) if raw.has_official_test else raw.y
    words = np.array([len(split_tokens(t, "word")) for t in texts])
    characters = np.array([len(t) for t in texts])
    result: dict[str, Any] = {
        "words": length_statistics(words),
        "characters": length_statistics(characters),
    }
    if raw.classes is not None and labels is not None:
        result["words_by_class"] = {
            name: length_statistics(words[labels == index])
            for index, name in enumerate(raw.classes)
        }
    return result


def column_stats(name: str, kind: str, values: np.ndarray) -> dict[str, Any]:
    """Statistics of one table column by its type."""
    missing = missing_mask(values)
    present = values[~missing]
    stats: dict[str, Any] = {"column": name, "type": kind, "missing": int(missing.sum())}
    if kind in ("numeric", "boolean") and len(present):
        stats.update(
            mean=float(np.mean(present)),
            std=float(np.std(present)),
            min=float(np.min(present)),
            max=float(np.max(present)),
        )
    elif kind == "datetime" and len(present):
        stats.update(min=str(present.min()), max=str(present.max()))
    elif len(present):
        counts = Counter(present.tolist())
        stats.update(unique=len(counts), top=[[v, c] for v, c in counts.most_common(5)])
    return stats


def statistics(raw: RawDataset) -> dict[str, Any]:
    """Per-column (tables, series) or per-channel (images) statistics; token counts (text)."""
    result: dict[str, Any] = {"name": raw.name, "kind": raw.kind}
    if isinstance(raw.x, TableData):
        result["columns"] = [
            column_stats(c.name, c.type, raw.x.values[c.name]) for c in raw.x.columns
        ]
    elif raw.kind in ("tabular", "sequence"):
        names = raw.features or [f"x{i}" for i in range(raw.x.shape[1])]
        result["columns"] = [
            column_stats(n, "numeric", np.asarray(raw.x[:, i], dtype=np.float64))
            for i, n in enumerate(names)
        ]
    elif raw.kind == "image":
        sample = raw.x[: min(len(raw.x), 2000)]
        pixels = (
            [image.reshape(image.shape[0], -1) for image in sample]
            if isinstance(sample, ImageCollection)
            else [sample.reshape(len(sample), sample.shape[1], -1).transpose(1, 0, 2)]
        )
        channels = max(p.shape[0] for p in pixels)
        merged = [
            np.concatenate([p[min(c, p.shape[0] - 1)].ravel() for p in pixels])
            for c in range(channels)
        ]
        result["channels"] = [
            {"channel": c, "mean": float(v.mean()) / 255.0, "std": float(v.std()) / 255.0}
            for c, v in enumerate(merged)
        ]
        result["sampled_images"] = len(sample)
    elif raw.kind == "tokens" and raw.text is None:
        result["documents"] = document_lengths(raw)
    elif raw.kind == "tokens":
        counts = Counter(raw.text or "")
        result["characters"] = sum(counts.values())
        result["top_characters"] = [[repr(ch), n] for ch, n in counts.most_common(10)]
    if raw.y is not None and raw.classes is not None:
        counts = np.bincount(raw.y, minlength=len(raw.classes))
        share = counts / max(counts.sum(), 1)
        result["class_balance"] = {
            c: {"count": int(n), "share": round(float(s), 4)}
            for c, n, s in zip(raw.classes, counts, share, strict=True)
        }
    elif raw.y is not None and raw.kind == "tabular":
        result["target"] = column_stats(raw.target, "numeric", raw.y.astype(np.float64))
    return result


def sample_rows(raw: RawDataset, count: int = 5, seed: int = 0) -> dict[str, Any]:
    """A few samples: table rows, images (``uint8 [C, H, W]``) with labels, text or steps."""
    if raw.kind == "tokens" and raw.text is not None:
        return {"kind": "tokens", "text": raw.text[: 80 * count]}
    if raw.kind == "sequence":
        stamps = raw.timestamps if raw.timestamps is not None else np.arange(len(raw.x))
        rows = [
            {
                "time": str(stamps[i]),
                **{n: float(raw.x[i, j]) for j, n in enumerate(raw.features or [])},
            }
            for i in range(min(count, len(raw.x)))
        ]
        return {"kind": "sequence", "rows": rows, "series": raw.x[:, 0].astype(float).tolist()}
    total = len(raw.x)
    chosen = np.sort(
        np.random.default_rng(seed).choice(total, size=min(count, total), replace=False)
    )
    labels = (
        [raw.classes[int(raw.y[i])] for i in chosen]
        if raw.classes is not None and raw.y is not None
        else [None] * len(chosen)
    )
    if raw.kind == "logs":  # sessions: each one's label, id and keys (shown as text)
        ids = (raw.log or {}).get("ids") or [str(i) for i in range(total)]
        texts = [
            f"[{label}] {ids[int(i)]}: " + " ".join(map(str, raw.x[int(i)].tolist()[:60]))
            for i, label in zip(chosen, labels, strict=True)
        ]
        return {
            "kind": "tokens",
            "text": "\n".join(texts),
            "labels": labels,
            "indices": chosen.tolist(),
        }
    if raw.kind == "tokens":  # labeled documents: each one's class and beginning
        excerpts = [" ".join(str(raw.x[int(i)]).split())[:200] for i in chosen]
        return {
            "kind": "tokens",
            "text": "\n".join(
                f"[{label}] {text}" for label, text in zip(labels, excerpts, strict=True)
            ),
            "labels": labels,
            "indices": chosen.tolist(),
        }
    if raw.kind == "image":
        images = (
            [raw.x.image(int(i)) for i in chosen]
            if isinstance(raw.x, ImageCollection)
            else [raw.x[int(i)] for i in chosen]
        )
        return {"kind": "image", "images": images, "labels": labels, "indices": chosen.tolist()}
    if isinstance(raw.x, TableData):
        rows = [{c.name: _plain(raw.x.values[c.name][i]) for c in raw.x.columns} for i in chosen]
        lines = raw.x.lines[chosen].tolist()
    else:
        names = raw.features or [f"x{i}" for i in range(raw.x.shape[1])]
        rows = [{n: float(raw.x[i, j]) for j, n in enumerate(names)} for i in chosen]
        lines = chosen.tolist()
    if raw.y is not None:
        for row, i, label in zip(rows, chosen, labels, strict=True):
            row[raw.target] = label if label is not None else float(raw.y[i])
    return {"kind": "tabular", "rows": rows, "lines": lines}


def _plain(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    return value

"""Whether a version scores worse than the versions its model's aliases point at.

A new version is compared with each aliased one on one metric both recorded: the first
test metric other than the loss (the split used once, after selection), else the test loss,
else the same among validation metrics. Which way is better comes from the metric's
definition (accuracy: higher; RMSE, loss: lower). The result is a warning, never a refusal:
the user decides whether to move the alias.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from athanor.store import ModelVersionRecord, Store

PREFERENCE = ("test_", "val_")


@dataclass(frozen=True)
class ScoreWarning:
    """A version scores worse than the version an alias points at, on ``metric``."""

    code: str
    alias: str
    alias_ref: str
    metric: str
    value: float
    alias_value: float
    higher_is_better: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def headline_metric(first: dict[str, Any], second: dict[str, Any]) -> str | None:
    """The metric two versions are compared on, or ``None`` when they share none."""
    shared = [
        name for name in first if name in second and _number(first[name]) and _number(second[name])
    ]
    for prefix in PREFERENCE:
        named = sorted(name for name in shared if name.startswith(prefix))
        others = [name for name in named if name != f"{prefix}loss"]
        if others:
            return others[0]
        if named:
            return named[0]
    return None


def worse_than_aliases(store: Store, record: ModelVersionRecord) -> list[ScoreWarning]:
    """A warning for each alias of ``record``'s model whose version scores better than it."""
    from athanor.training.metrics import higher_is_better

    warnings = []
    for alias, version in sorted(store.models.aliases(record.name).items()):
        if version == record.version:
            continue
        other = store.models.get(record.name, version)
        metric = headline_metric(record.metrics, other.metrics)
        if metric is None:
            continue
        value, alias_value = float(record.metrics[metric]), float(other.metrics[metric])
        higher = higher_is_better(metric.split("_", 1)[1])
        if not (value < alias_value if higher else value > alias_value):
            continue
        warnings.append(
            ScoreWarning(
                code="worse_than_alias",
                alias=alias,
                alias_ref=other.ref,
                metric=metric,
                value=value,
                alias_value=alias_value,
                higher_is_better=higher,
                message=(
                    f"{record.ref} scores {metric} {value:.4g}, worse than {alias} "
                    f"({other.ref}: {alias_value:.4g}; {'higher' if higher else 'lower'} is "
                    "better)"
                ),
            )
        )
    return warnings


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

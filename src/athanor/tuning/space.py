"""Search spaces as Optuna distributions, and trial parameters back as spec values.

Optuna's categorical distributions hold only scalars; a choice among lists or mappings (a
layer list, a whole model) is stored as the JSON text of each value and decoded for the spec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from athanor.spec.tune import SearchParam

_SCALARS = (type(None), bool, int, float, str)


def _encoded_choices(param: SearchParam) -> list[Any]:
    values = list(param.marker.values)
    if all(isinstance(value, _SCALARS) for value in values):
        return values
    return [json.dumps(value, sort_keys=True) for value in values]


def is_encoded(param: SearchParam) -> bool:
    """Whether the choices of ``param`` are stored as JSON text."""
    return param.kind == "choice" and not all(
        isinstance(value, _SCALARS) for value in param.marker.values
    )


def distribution(param: SearchParam) -> BaseDistribution:
    """The Optuna distribution ``param`` draws from."""
    marker = param.marker
    if param.kind == "uniform":
        return FloatDistribution(marker.low, marker.high, step=marker.step)
    if param.kind == "loguniform":
        return FloatDistribution(marker.low, marker.high, log=True)
    if param.kind == "int":
        return IntDistribution(marker.low, marker.high, step=marker.step or 1)
    if param.kind == "logint":
        return IntDistribution(marker.low, marker.high, log=True)
    if param.kind == "choice":
        return CategoricalDistribution(_encoded_choices(param))
    raise ValueError(f"unknown search marker kind {param.kind!r}")


def distributions(params: list[SearchParam]) -> dict[str, BaseDistribution]:
    """Every parameter's distribution, by name."""
    return {param.name: distribution(param) for param in params}


def decode(params: list[SearchParam], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Spec values of a trial's Optuna parameters (JSON choices decoded)."""
    values: dict[str, Any] = {}
    for param in params:
        value = raw[param.name]
        values[param.name] = json.loads(value) if is_encoded(param) else value
    return values


def grid(params: list[SearchParam]) -> dict[str, list[Any]]:
    """The grid sampler's space: every value of every parameter (encoded like Optuna's)."""
    space: dict[str, list[Any]] = {}
    for param in params:
        values = param.grid()
        if values is None:
            raise ValueError(f"{param.name} has no finite grid")
        space[param.name] = (
            [json.dumps(value, sort_keys=True) for value in values] if is_encoded(param) else values
        )
    return space


def short(value: Any, width: int = 40) -> str:
    """A compact text of a parameter value for tables (a model choice by its template)."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict) and isinstance(value.get("template"), str):
        options = {k: v for k, v in value.items() if k != "template"}
        text = " ".join(
            [
                value["template"],
                *(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in options.items()),
            ]
        )
    elif isinstance(value, dict) and isinstance(value.get("layers"), list):
        text = f"{len(value['layers'])} layers"
    else:
        text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 3] + "..."

"""Search specs: how a hyperparameter search runs (``tune:``) and the search-space markers.

Any value of a run spec can be replaced by a marker that the search fills in per trial::

    train:
      optimizer: {type: adam, lr: {loguniform: [1.0e-4, 1.0e-1]}}
      batch_size: {choice: [32, 64, 128]}
    model: {template: mlp, hidden: {choice: [[64], [128, 64]]}, dropout: {uniform: [0, 0.5]}}
    tune: {metric: val_accuracy, trials: 30, pruner: asha}

A marker would not pass the run spec's validation, so :func:`load_search` takes the markers
(and the ``tune`` section) out of the raw YAML first, keeping their lines, and checks every
bound and every choice against the run spec before any trial runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from athanor.errors import SpecError
from athanor.spec.base import StrictModel
from athanor.spec.loading import (
    KeyPath,
    _collect,
    _describe,
    _message,
    apply_overrides,
    copy_spec_mapping,
    format_path,
    read_yaml,
    validate_spec_data,
)
from athanor.spec.run import RunSpec
from athanor.spec.train import _typed_union, check_monitor

# -- durations -------------------------------------------------------------------------

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)


def parse_duration(value: Any) -> float:
    """Seconds of ``"10m"``, ``"90s"``, ``"1h30m"``, ``"2.5m"`` or a number of seconds.

    Raises:
        ValueError: anything else, or a duration that is not positive.
    """
    if isinstance(value, bool):
        raise ValueError(f"a duration is like 10m, 90s or 1h30m (got {value!r})")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        match = _DURATION.match(text) if text else None
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
        elif match and any(match.groups()):
            hours, minutes, secs = (float(part or 0) for part in match.groups())
            seconds = hours * 3600 + minutes * 60 + secs
        else:
            raise ValueError(f"a duration is like 10m, 90s or 1h30m (got {value!r})")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be positive (got {value!r})")
    return seconds


def _duration_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        raise PydanticCustomError(
            "bad_duration", "must be a positive duration like 10m, 90s or 1h30m", {}
        ) from None


Duration = Annotated[float | None, BeforeValidator(_duration_or_none)]


def format_duration(seconds: float) -> str:
    """``95`` -> ``1m35s``; ``3600`` -> ``1h00m``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


# -- samplers and pruners --------------------------------------------------------------


class TpeSamplerSpec(StrictModel):
    """Tree-structured Parzen estimator (Bergstra et al., 2011), Optuna's default."""

    type: Literal["tpe"] = "tpe"
    startup_trials: int = Field(
        default=10, ge=0, le=10_000, description="Random trials before TPE models the space."
    )
    multivariate: bool = Field(
        default=False, description="Model the parameters jointly rather than one by one."
    )
    shorthand = "type"


class RandomSamplerSpec(StrictModel):
    """Independent uniform draws: the baseline every other sampler is measured against."""

    type: Literal["random"] = "random"
    shorthand = "type"


class GridSamplerSpec(StrictModel):
    """Every combination of the ``choice`` and ``int`` markers, in a seeded random order."""

    type: Literal["grid"] = "grid"
    shorthand = "type"


class CmaEsSamplerSpec(StrictModel):
    """CMA-ES (Hansen, 2016) over the numeric markers; choices are drawn at random."""

    type: Literal["cmaes"] = "cmaes"
    startup_trials: int = Field(default=1, ge=0, le=10_000, description="Random trials first.")
    sigma0: float | None = Field(
        default=None, gt=0.0, description="Initial step size; default a sixth of each range."
    )
    shorthand = "type"


SAMPLER_SPECS: dict[str, type[StrictModel]] = {
    "tpe": TpeSamplerSpec,
    "random": RandomSamplerSpec,
    "grid": GridSamplerSpec,
    "cmaes": CmaEsSamplerSpec,
}
SamplerSpec = _typed_union(SAMPLER_SPECS, default="tpe", what="sampler")


class NoPrunerSpec(StrictModel):
    """Every trial trains for all its epochs."""

    type: Literal["none"] = "none"
    shorthand = "type"


class AshaPrunerSpec(StrictModel):
    """Asynchronous successive halving (Li et al., 2020): at epochs ``min_epochs * r^k`` a
    trial continues only if it is in the top ``1/r`` of the trials that reached that epoch."""

    type: Literal["asha"] = "asha"
    min_epochs: int = Field(default=1, ge=1, description="The first rung (epochs).")
    reduction_factor: int = Field(default=3, ge=2, le=100, description="r: keep the top 1/r.")
    min_early_stopping_rate: int = Field(
        default=0, ge=0, le=30, description="s: the first rung is min_epochs * r^s."
    )
    quorum: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Trials that reach the first rung before it judges any (default: r). "
        "Those before are held there and go on if they rank in the top 1/r then; 1 judges "
        "each trial at once (the first ones go on while they are the best so far).",
    )
    shorthand = "type"

    @property
    def first_rung_quorum(self) -> int:
        return self.quorum if self.quorum is not None else self.reduction_factor


class MedianPrunerSpec(StrictModel):
    """Stop a trial whose metric is worse than the median of earlier trials at that epoch."""

    type: Literal["median"] = "median"
    startup_trials: int = Field(default=5, ge=0, description="Trials that are never pruned.")
    warmup_epochs: int = Field(default=1, ge=0, description="Epochs before a trial is judged.")
    interval_epochs: int = Field(default=1, ge=1, description="Judge every N epochs.")
    shorthand = "type"


class HyperbandPrunerSpec(StrictModel):
    """Hyperband (Li et al., 2018): several successive-halving brackets with different
    first rungs, so that slow starters are not all cut early."""

    type: Literal["hyperband"] = "hyperband"
    min_epochs: int = Field(default=1, ge=1, description="Smallest rung (epochs).")
    max_epochs: int | None = Field(
        default=None, ge=1, description="Largest rung; default the spec's train.epochs."
    )
    reduction_factor: int = Field(default=3, ge=2, le=100)
    shorthand = "type"


PRUNER_SPECS: dict[str, type[StrictModel]] = {
    "none": NoPrunerSpec,
    "asha": AshaPrunerSpec,
    "median": MedianPrunerSpec,
    "hyperband": HyperbandPrunerSpec,
}
PrunerSpec = _typed_union(PRUNER_SPECS, default="asha", what="pruner")


def check_tune_metric(value: str) -> str:
    """``value`` if it is a validation metric (``val_loss``, ``val_<metric>``).

    Raises:
        PydanticCustomError: another name, listing the valid ones.
    """
    check_monitor(value)
    if not value.startswith("val_"):
        raise PydanticCustomError(
            "bad_metric",
            "trials are ranked on validation metrics: val_loss or val_<metric> (got {value})",
            {"value": value},
        )
    return value


class TuneSpec(StrictModel):
    """How a search runs: what it optimizes, how it samples and prunes, how long it runs."""

    metric: str = Field(
        default="val_loss", min_length=1, description="The validation metric trials are ranked by."
    )
    direction: Literal["auto", "minimize", "maximize"] = Field(
        default="auto", description="auto: maximize accuracy-like metrics, minimize the rest."
    )
    trials: int = Field(default=20, ge=1, le=100_000, description="Trials in the search.")
    budget: Duration = Field(
        default=None, description="Wall-clock limit of one invocation: 10m, 90s, 1h30m."
    )
    parallel: int = Field(default=1, ge=1, le=64, description="Trials run at the same time.")
    stop_at: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="End the search once a trial's metric reaches this value (at or above "
        "it for maximized metrics, at or below it for minimized ones): that trial ends at "
        "that epoch, complete; other trials already running finish.",
    )
    sampler: SamplerSpec = Field(default_factory=lambda: TpeSamplerSpec())
    pruner: PrunerSpec = Field(default_factory=lambda: AshaPrunerSpec())
    seed: int | None = Field(default=None, ge=0, description="Sampler seed; default the spec's.")
    max_retries: int = Field(
        default=2, ge=0, le=100, description="Times an interrupted trial is run again."
    )

    _check_metric = field_validator("metric")(classmethod(lambda cls, v: check_tune_metric(v)))


# -- search-space markers --------------------------------------------------------------


class _RangeMarker(StrictModel):
    """``[low, high]`` (or ``[low, high, step]``) or a mapping with those keys."""

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            stepped = "step" in cls.model_fields
            names = ["low", "high", "step"] if stepped else ["low", "high"]
            if not 2 <= len(data) <= len(names):
                raise PydanticCustomError(
                    "bad_range",
                    "give [low, high]" + (" or [low, high, step]" if stepped else ""),
                    {},
                )
            return dict(zip(names, data, strict=False))
        return data

    @model_validator(mode="after")
    def _ordered(self) -> _RangeMarker:
        if not self.low < self.high:  # type: ignore[attr-defined]
            raise PydanticCustomError(
                "bad_range",
                "low must be below high (got [{low}, {high}])",
                {"low": self.low, "high": self.high},  # type: ignore[attr-defined]
            )
        return self


class UniformMarker(_RangeMarker):
    """``{uniform: [low, high]}``: a float drawn uniformly; ``[low, high, step]`` for a grid
    of floats."""

    low: float
    high: float
    step: float | None = Field(default=None, gt=0.0)


class LogUniformMarker(_RangeMarker):
    """``{loguniform: [low, high]}``: a float drawn uniformly in log space (learning rates,
    weight decay)."""

    low: float = Field(gt=0.0)
    high: float = Field(gt=0.0)


class IntMarker(_RangeMarker):
    """``{int: [low, high]}``: an integer in [low, high] (both included), optionally on a
    ``step``."""

    low: int
    high: int
    step: int | None = Field(default=None, ge=1)


class LogIntMarker(_RangeMarker):
    """``{logint: [low, high]}``: an integer drawn in log space (units, batch sizes)."""

    low: int = Field(ge=1)
    high: int = Field(ge=1)


class ChoiceMarker(StrictModel):
    """``{choice: [a, b, ...]}``: one of the values, which may be numbers, strings, lists or
    mappings (a whole model, an optimizer...)."""

    values: list[Any] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        return {"values": list(data)} if isinstance(data, list | tuple) else data


MARKER_SPECS: dict[str, type[StrictModel]] = {
    "uniform": UniformMarker,
    "loguniform": LogUniformMarker,
    "int": IntMarker,
    "logint": LogIntMarker,
    "choice": ChoiceMarker,
}


def is_marker(value: Any) -> bool:
    """Whether ``value`` is a search-space marker (a mapping with one marker key)."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in MARKER_SPECS


@dataclass(frozen=True)
class SearchParam:
    """One searched value: where it is in the spec, how it is drawn, where it was written."""

    name: str
    """The key path, e.g. ``train.optimizer.lr`` (the parameter's name in reports)."""
    path: KeyPath
    kind: str
    marker: Any
    line: int | None = None
    source: str = "spec"
    """Where the marker was written: ``file:line`` or the ``--set`` that set it."""

    def probes(self) -> list[Any]:
        """Values that bound the space: both ends of a range, every choice."""
        if self.kind == "choice":
            return list(self.marker.values)
        return [self.marker.low, self.marker.high]

    def grid(self) -> list[Any] | None:
        """Every value, for the grid sampler; None for continuous ranges without a step."""
        if self.kind == "choice":
            return list(self.marker.values)
        if self.kind == "int":
            return list(range(self.marker.low, self.marker.high + 1, self.marker.step or 1))
        if self.kind == "uniform" and self.marker.step:
            count = math.floor((self.marker.high - self.marker.low) / self.marker.step + 1e-9)
            return [self.marker.low + i * self.marker.step for i in range(count + 1)]
        return None

    def describe(self) -> str:
        """``loguniform [0.0001, 0.1]``, ``choice of 3``."""
        if self.kind == "choice":
            return f"choice of {len(self.marker.values)}"
        step = getattr(self.marker, "step", None)
        bounds = [self.marker.low, self.marker.high, *([step] if step else [])]
        return f"{self.kind} [{', '.join(f'{b:g}' for b in bounds)}]"


@dataclass
class SearchDefinition:
    """A run spec with search markers, the ``tune`` section, and where they came from."""

    base: dict[str, Any]
    """The spec with markers in place (``--set`` overrides applied, ``tune`` removed)."""
    params: list[SearchParam]
    tune: TuneSpec
    origin: str = "spec"
    lines: dict[KeyPath, int] = field(default_factory=dict)
    overridden: dict[KeyPath, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        name = self.base.get("name")
        return name if isinstance(name, str) and name else "search"

    def fingerprint(self) -> str:
        """Identifies the search: the same spec and space give the same fingerprint, whatever
        the number of trials, the budget, the parallelism or the value to stop at."""
        tune = self.tune.model_dump(
            mode="json", exclude={"trials", "budget", "parallel", "stop_at"}
        )
        text = json.dumps({"spec": self.base, "tune": tune}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def concrete(self, values: Mapping[str, Any], *, name: str | None = None) -> RunSpec:
        """The run spec of one trial: every marker replaced by its value.

        Args:
            values: a value per parameter name.
            name: the run's name (default the spec's).

        Raises:
            SpecError: the combination is invalid (e.g. two values that exclude each other).
        """
        data = self.fill(values)
        data.pop("register_as", None)  # trials are never registered; the winner may be
        if name is not None:
            data["name"] = name
        labels = {param.path: self._label(param, values[param.name]) for param in self.params}
        return validate_spec_data(
            data,
            origin=self.origin,
            lines=self.lines,
            overridden={**self.overridden, **labels},
        )

    def fill(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the base spec with the markers replaced by ``values``."""
        data = copy.deepcopy(self.base)
        for param in self.params:
            if param.name not in values:
                raise KeyError(f"no value for the searched parameter {param.name}")
            _set(data, param.path, copy.deepcopy(values[param.name]))
        return data

    def _label(self, param: SearchParam, value: Any) -> str:
        shown = json.dumps(value) if not isinstance(value, str) else value
        return f"{param.source}: {param.name} = {shown} ({param.describe()})"

    def check(self) -> None:
        """Validate the spec at every bound and every choice of each parameter (the others
        at their first value), so that a bad key or range fails before any trial.

        Raises:
            SpecError: naming the file, line, key path and the value that fails.
        """
        first = {param.name: param.probes()[0] for param in self.params}
        problems: list[str] = []
        seen: set[str] = set()
        for param in self.params:
            for probe in param.probes():
                values = {**first, param.name: probe}
                try:
                    self.concrete(values)
                except SpecError as exc:
                    for line in str(exc).splitlines():
                        if line not in seen:
                            seen.add(line)
                            problems.append(line)
        if problems:
            raise SpecError("\n".join(problems))

    def to_json(self) -> dict[str, Any]:
        """What a stored search keeps of its definition."""
        return {
            "spec": self.base,
            "tune": self.tune.model_dump(mode="json"),
            "origin": self.origin,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchDefinition:
        """The definition stored by :meth:`to_json` (lines are no longer known)."""
        base = copy.deepcopy(dict(data["spec"]))
        origin = str(data.get("origin") or "spec")
        params = _find_params(base, "spec", {}, {})
        return cls(base, params, TuneSpec.model_validate(data["tune"]), origin=origin)


def _set(data: Any, path: KeyPath, value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _walk(node: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    if is_marker(node):
        yield path, node
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _where(origin: str, lines: dict[KeyPath, int], path: KeyPath) -> str:
    for length in range(len(path), -1, -1):
        if path[:length] in lines and origin != "spec":
            return f"{origin}:{lines[path[:length]]}"
    return origin


def _find_params(
    data: dict[str, Any],
    origin: str,
    lines: dict[KeyPath, int],
    overridden: dict[KeyPath, str],
) -> list[SearchParam]:
    params: list[SearchParam] = []
    problems: list[str] = []
    for path, node in _walk(data, ()):
        ((kind, raw),) = node.items()
        name = format_path(path)
        override = next(
            (label for key, label in overridden.items() if path[: len(key)] == key), None
        )
        line = None if override else lines.get((*path, kind))
        where = override or _where(origin, lines, (*path, kind))
        try:
            marker = MARKER_SPECS[kind].model_validate(raw)
        except ValidationError as exc:
            messages = sorted({_message(error) for error in exc.errors()})
            problems.append(f"{where}: {name}: {kind}: {'; '.join(messages)}")
            continue
        if kind == "choice":
            nested = [
                format_path((*path, kind, index, *inner))
                for index, value in enumerate(marker.values)
                for inner, _ in _walk(value, ())
            ]
            if nested:
                problems.append(
                    f"{where}: {name}: a choice cannot hold search markers ({nested[0]}); "
                    "give each choice concrete values, or search it separately"
                )
                continue
        params.append(SearchParam(name, path, kind, marker, line, where))
    if problems:
        raise SpecError("\n".join(problems))
    return params


def _tune_errors(exc: ValidationError, data: Any, origin: str, lines: dict, labels: dict) -> str:
    grouped = _collect(exc.errors(), data)
    return "\n".join(
        _describe(("tune", *path), "; or ".join(messages), origin, lines, labels)
        for path, messages in grouped.items()
    )


def load_search(
    source: str | Path | Mapping[str, Any],
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    tune: Mapping[str, Any] | None = None,
) -> SearchDefinition:
    """Read a spec with search markers and its ``tune`` section, and check it all.

    Args:
        source: a YAML file or a mapping.
        overrides: ``--set`` style overrides of the spec (they may set markers too, e.g.
            ``train.optimizer.lr={loguniform: [1e-4, 1e-2]}``).
        tune: values that replace keys of the ``tune`` section (the CLI's ``--trials``,
            ``--budget``...); ``None`` values are ignored.

    Returns:
        The definition, checked at every bound and choice.

    Raises:
        SpecError: naming the file, line and key path of each problem.
    """
    lines: dict[KeyPath, int] = {}
    origin = "spec"
    if isinstance(source, Mapping):
        data: Any = copy_spec_mapping(source)
    else:
        origin = str(source)
        data, lines = read_yaml(source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: a spec is a mapping of keys (name, data, model, train, tune)")
    overridden = apply_overrides(data, overrides)

    tune_data = data.pop("tune", None)
    if tune_data is None:
        tune_data = {}
    if not isinstance(tune_data, dict):
        raise SpecError(f"{_where(origin, lines, ('tune',))}: tune: must be a mapping")
    labels = {path: label for path, label in overridden.items() if path[:1] == ("tune",)}
    for key, value in (tune or {}).items():
        if value is not None:
            tune_data[key] = value
            labels[("tune", key)] = f"--{key.replace('_', '-')} {value}"
    try:
        tune_spec = TuneSpec.model_validate(tune_data)
    except ValidationError as exc:
        raise SpecError(_tune_errors(exc, tune_data, origin, lines, labels)) from None

    params = _find_params(data, origin, lines, overridden)
    if not params:
        raise SpecError(
            f"{origin}: nothing to search: mark values with "
            "{uniform|loguniform|int|logint|choice: ...}, e.g. "
            "train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}"
        )
    if tune_spec.sampler.type == "grid":
        for param in params:
            if param.grid() is None:
                raise SpecError(
                    f"{_where(origin, lines, param.path)}: {param.name}: the grid sampler needs "
                    f"choice or int markers (or uniform with a step); {param.describe()} has "
                    "no finite grid"
                )
    definition = SearchDefinition(data, params, tune_spec, origin, lines, overridden)
    definition.check()
    return definition


def grid_size(params: list[SearchParam]) -> int:
    """Combinations a grid search over ``params`` has."""
    size = 1
    for param in params:
        size *= len(param.grid() or [])
    return size


__all__ = [
    "MARKER_SPECS",
    "PRUNER_SPECS",
    "SAMPLER_SPECS",
    "AshaPrunerSpec",
    "ChoiceMarker",
    "CmaEsSamplerSpec",
    "GridSamplerSpec",
    "HyperbandPrunerSpec",
    "IntMarker",
    "LogIntMarker",
    "LogUniformMarker",
    "MedianPrunerSpec",
    "NoPrunerSpec",
    "RandomSamplerSpec",
    "SearchDefinition",
    "SearchParam",
    "TpeSamplerSpec",
    "TuneSpec",
    "UniformMarker",
    "format_duration",
    "grid_size",
    "is_marker",
    "load_search",
    "parse_duration",
]

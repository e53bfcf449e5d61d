"""Network summaries from the Python API: ``athanor.summary("examples/mnist-cnn.yaml")``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from athanor.data.prepare import prepare
from athanor.errors import DatasetUnavailable, UserError
from athanor.nets.builder import build_network
from athanor.nets.summary import NetworkSummary, layers_summary, summary
from athanor.settings import Settings, current_settings
from athanor.spec.examples import resolve_spec_path
from athanor.spec.loading import (
    apply_overrides,
    copy_spec_mapping,
    load_spec,
    read_yaml,
    validate_spec_data,
)
from athanor.spec.run import RunSpec


def is_spec_source(source: Any) -> bool:
    """Whether ``source`` names a spec (file, bundled example, mapping) rather than a model."""
    if isinstance(source, Mapping | RunSpec):
        return True
    path = Path(source)
    return (
        resolve_spec_path(source).is_file()
        or path.suffix in (".yaml", ".yml")
        or len(path.parts) > 1
        or os.sep in str(source)
    )


def summarize(
    source: str | Path | Mapping[str, Any] | RunSpec,
    input_shape: Sequence[int] | None = None,
    *,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    settings: Settings | None = None,
) -> NetworkSummary:
    """Per-layer shapes, parameters, operations and memory of a spec's or a model's network.

    Args:
        source: a spec (YAML path, bundled example name, mapping or RunSpec), whose data
            schema comes from preparing its dataset from local files (never downloaded), or
            a registered model ``NAME[@VERSION]``. A spec with only ``model:`` (no
            ``data:``) summarizes exactly its layers, without an output layer, for
            ``input_shape``.
        input_shape: the input batch, batch first (e.g. ``(10, 3, 224, 224)``); a shape
            without the batch (one sample's sizes) means a batch of one. Default one
            sample of the data's shape. For a spec the sample part may differ from the data
            (the network is built for it); for a model it must match the model's input.
        overrides: ``--set`` style overrides of a spec.
        settings: store and dataset locations (default: from the environment).

    Returns:
        The summary (``str()`` for a table, ``to_json()`` for a mapping).

    Raises:
        SpecError: an invalid spec or override.
        ShapeError: the network does not fit the data or the input shape.
        NotFound: no such model.
        DatasetUnavailable: the spec's dataset is not on this machine.
        UserError: no input shape for a spec without data, or an input shape that does not
            fit a registered model.
    """
    if input_shape is not None and (len(input_shape) < 1 or min(input_shape) < 1):
        raise UserError(
            f"input shape {list(input_shape)}: give the batch and a sample's sizes, all >= 1, "
            "e.g. 10,3,224,224 (without the batch: one sample)"
        )
    if is_spec_source(source):
        spec_source = resolve_spec_path(source) if isinstance(source, str | Path) else source
        model_only = _model_only_spec(spec_source, overrides)
        if model_only is not None:
            if input_shape is None:
                raise UserError(
                    f"{_origin(spec_source)}: a spec with only model: (no data:) needs the input "
                    "shape: give --input, batch first, e.g. --input 10,3,224,224"
                )
            return layers_summary(model_only.model, input_shape, seed=model_only.seed)
        spec = load_spec(spec_source, overrides)
        prepared = _prepare_offline(spec, settings)
        schema = prepared.schema
        if input_shape is not None and len(input_shape) == len(schema.input.shape):
            input_shape = (1, *input_shape)  # one sample without its batch: a batch of one
        if input_shape is not None:  # the network is built for the sample size asked
            sample = [int(size) for size in input_shape[1:]]
            schema = schema.model_copy(
                update={"input": schema.input.model_copy(update={"shape": sample})}
            )
        network = build_network(spec.model, schema, seed=spec.seed)
        _freeze_as_trained(network, spec.train.freeze)
        return summary(network, input_shape)

    if overrides:
        raise UserError(f"{source}: --set changes specs; a registered model is summarized as is")
    from athanor.api import models

    predictor = models.load(str(source), settings=settings)
    expected = list(predictor.schema.input.shape)
    if input_shape is not None and list(input_shape) == expected:
        input_shape = (1, *input_shape)  # one sample without its batch: a batch of one
    if input_shape is not None and list(input_shape[1:]) != expected:
        raise UserError(
            f"model {predictor.ref} takes samples {expected}; give --input N,"
            f"{','.join(map(str, expected))} (summarize its spec to try other sizes)"
        )
    trained = (predictor.metadata.get("spec") or {}).get("train") or {}
    _freeze_as_trained(predictor.network, trained.get("freeze") or [])
    return summary(predictor.network, input_shape)


def _freeze_as_trained(network: Any, patterns: list[str]) -> None:
    """Mark the parameters ``train.freeze`` names as frozen, so the summary counts them so."""
    if patterns:
        from athanor.training.parameters import freeze

        freeze(network, patterns)


def _origin(source: Any) -> str:
    return str(source) if isinstance(source, str | Path) else "spec"


def _model_only_spec(
    source: Any, overrides: Mapping[str, Any] | Iterable[str] | None
) -> RunSpec | None:
    """The spec validated with a stand-in dataset when it has ``model:`` but no ``data:``
    (only its model and seed are used); None for a spec with data."""
    if isinstance(source, RunSpec):
        return None
    if isinstance(source, Mapping):
        data: Any = copy_spec_mapping(source)
        lines: dict[Any, int] = {}
    else:
        data, lines = read_yaml(source)
    if not isinstance(data, dict) or "data" in data or "model" not in data:
        return None
    overridden = apply_overrides(data, overrides)
    if "data" in data:  # an override gave it
        return None
    data["data"] = {"dataset": "-"}
    return validate_spec_data(data, origin=_origin(source), lines=lines, overridden=overridden)


def _prepare_offline(spec: RunSpec, settings: Settings | None) -> Any:
    """The spec's prepared data from local files only: a summary never downloads.

    Raises:
        DatasetUnavailable: the dataset is not on this machine, saying how to summarize
            without it.
    """
    local = replace(settings or current_settings(), offline=True)
    try:
        return prepare(spec.data, spec.seed, settings=local)
    except DatasetUnavailable:
        raise DatasetUnavailable(
            f"summary does not download data, and '{spec.data.dataset}' is not on this "
            f"machine: fetch it once ('athanor data show {spec.data.dataset}' or a training run; "
            "or set ATHANOR_DATA_MIRROR), or summarize the layers alone with a spec that has only "
            f"model: and --input SHAPE"
        ) from None

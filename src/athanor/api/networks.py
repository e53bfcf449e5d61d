"""Network summaries from the Python API: ``athanor.summary("examples/mnist-cnn.yaml")``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from athanor.data.prepare import prepare
from athanor.errors import UserError
from athanor.nets.summary import NetworkSummary, summary
from athanor.settings import Settings
from athanor.spec.examples import resolve_spec_path
from athanor.spec.loading import load_spec
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
            schema comes from preparing its dataset, or a registered model ``NAME[@VERSION]``.
        input_shape: the input batch, batch first (e.g. ``(10, 3, 224, 224)``). Default one
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
        UserError: an input shape that does not fit a registered model.
    """
    if input_shape is not None and (len(input_shape) < 2 or min(input_shape) < 1):
        raise UserError(
            f"input shape {list(input_shape)}: give the batch and a sample's sizes, all >= 1, "
            "e.g. 10,3,224,224"
        )
    if is_spec_source(source):
        spec_source = resolve_spec_path(source) if isinstance(source, str | Path) else source
        spec = load_spec(spec_source, overrides)
        prepared = prepare(spec.data, spec.seed, settings=settings)
        return summary(spec.model, input_shape, schema=prepared.schema, seed=spec.seed)

    if overrides:
        raise UserError(f"{source}: --set changes specs; a registered model is summarized as is")
    from athanor.api import models

    predictor = models.load(str(source), settings=settings)
    expected = list(predictor.schema.input.shape)
    if input_shape is not None and list(input_shape[1:]) != expected:
        raise UserError(
            f"model {predictor.ref} takes samples {expected}; give --input N,"
            f"{','.join(map(str, expected))} (summarize its spec to try other sizes)"
        )
    return summary(predictor.network, input_shape)

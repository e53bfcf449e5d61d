"""The input/output signature of a model: what its network takes and gives, by name."""

from __future__ import annotations

from typing import Any

from athanor.data.schema import Schema

INPUT_NAME = "input"


def output_name(schema: Schema) -> str:
    """``logits`` for classifiers (softmax gives probabilities), else ``output``."""
    return "logits" if schema.task in ("classification", "language_model", "next_key") else "output"


def signature(schema: Schema, latent_dim: int | None = None) -> dict[str, Any]:
    """The network's tensors with a leading ``batch`` axis, as exports and servers describe them.

    The network's input is the preprocessed one: exports carry the preprocessing steps in
    their metadata, and servers apply them to raw inputs. A GAN's network (task
    ``generation``) is its generator: latent vectors ``[batch, latent_dim]`` in, images out.
    """
    input_spec: dict[str, Any] = {
        "name": INPUT_NAME,
        "kind": schema.input.kind,
        "dtype": "int64" if schema.input.kind == "tokens" else "float32",
        "shape": ["batch", *schema.input.shape],
    }
    if schema.task == "generation" and latent_dim is not None:
        input_spec.update(kind="latent", shape=["batch", latent_dim])
    if schema.input.features:
        input_spec["features"] = schema.input.features
    output_spec: dict[str, Any] = {
        "name": output_name(schema),
        "dtype": "float32",
        "shape": ["batch", *schema.output_shape],
        "task": schema.task,
    }
    if schema.classes:
        output_spec["classes"] = schema.classes
    return {"inputs": [input_spec], "outputs": [output_spec]}


def export_metadata(metadata: dict[str, Any], content_hash: str) -> dict[str, Any]:
    """What an exported file carries beside its graph: enough to use it without Athanor."""
    schema = Schema.model_validate(metadata["schema"])
    exported = {
        "producer": metadata.get("producer"),
        "package_hash": content_hash,
        "signature": signature(schema, _latent_dim(metadata)),
        "schema": metadata["schema"],
        "preprocessing": metadata["preprocessing"],
        "metrics": metadata.get("metrics", {}),
    }
    if "anomaly" in metadata:  # the threshold that flags a timestamp, and how it was chosen
        exported["anomaly"] = metadata["anomaly"]
    if isinstance(metadata.get("spec", {}).get("data", {}).get("window"), dict):
        exported["window"] = metadata["spec"]["data"]["window"]  # how a series is cut
    return exported


def _latent_dim(metadata: dict[str, Any]) -> int | None:
    """A GAN's latent size from its stored spec (``model.latent_dim``)."""
    model = (metadata.get("spec") or {}).get("model") or {}
    value = model.get("latent_dim") if isinstance(model, dict) else None
    return int(value) if isinstance(value, int) else None

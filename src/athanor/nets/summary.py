"""Per-layer summary of a network: output shapes, parameters, operations and memory.

The summary runs one real forward pass with forward hooks on every module, on PyTorch's
``meta`` device (shapes without data, so even [64, 3, 224, 224] costs nothing), and counts
each module's operations from the shapes it really saw (see :mod:`athanor.nets.op_counts`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from pydantic import TypeAdapter, ValidationError
from torch import nn

from athanor.data.schema import Schema
from athanor.errors import ShapeError, SpecError
from athanor.nets.builder import build_network
from athanor.nets.network import Network
from athanor.nets.op_counts import OpCounts, count_ops

COUNTING = (
    "one inference pass of the given batch; a multiply-accumulate (MAC) is one product added "
    "into a sum; summing K products takes K-1 additions and a bias one more, so a dense or "
    "convolution layer with bias has as many additions as multiplications; products with "
    "padding zeros count; batch norm counts as x*a+b folded; comparisons (max, ReLU) and "
    "functions (exp, tanh, sigmoid) are not counted; FLOPs = multiplications + additions"
)


@dataclass
class LayerSummary:
    """One row: a layer of the network (or a module of a plain ``nn.Module``)."""

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    parameter_shapes: dict[str, tuple[int, ...]]
    trainable: int
    frozen: int
    ops: OpCounts
    activation_bytes: int

    @property
    def parameters(self) -> int:
        return self.trainable + self.frozen

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "parameters": {
                "total": self.parameters,
                "trainable": self.trainable,
                "frozen": self.frozen,
                "shapes": {name: list(shape) for name, shape in self.parameter_shapes.items()},
            },
            "macs": self.ops.macs,
            "multiplications": self.ops.multiplications,
            "additions": self.ops.additions,
            "flops": self.ops.flops,
            "activation_bytes": self.activation_bytes,
        }


@dataclass
class NetworkSummary:
    """Every layer's row and the totals of the network for one input batch."""

    input_shape: tuple[int, ...]
    input_dtype: str
    layers: list[LayerSummary]
    trainable: int
    frozen: int
    parameter_bytes: int
    ops: OpCounts
    activation_bytes: int
    output_shape: tuple[int, ...] | None = None
    counting: str = field(default=COUNTING)

    @property
    def parameters(self) -> int:
        return self.trainable + self.frozen

    def layer(self, name: str) -> LayerSummary:
        """The row of the layer called ``name``.

        Raises:
            KeyError: no such layer.
        """
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(f"no layer named {name!r}; layers: {', '.join(r.name for r in self.layers)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "input_dtype": self.input_dtype,
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "layers": [row.to_json() for row in self.layers],
            "totals": {
                "parameters": self.parameters,
                "trainable": self.trainable,
                "frozen": self.frozen,
                "parameter_bytes": self.parameter_bytes,
                "macs": self.ops.macs,
                "multiplications": self.ops.multiplications,
                "additions": self.ops.additions,
                "flops": self.ops.flops,
                "activation_bytes": self.activation_bytes,
            },
            "counting": self.counting,
        }

    COLUMNS = (
        "layer",
        "type",
        "output shape",
        "parameters",
        "parameter shapes",
        "MACs",
        "multiplications",
        "additions",
        "activations",
    )

    def rows(self) -> list[tuple[str, ...]]:
        """Each layer's row as display strings, in the order of :attr:`COLUMNS`."""
        table = []
        for row in self.layers:
            params = f"{row.parameters:,}"
            if row.frozen:
                params += f" ({row.frozen:,} frozen)"
            shapes = ", ".join(
                f"{name} {list(shape)}" for name, shape in row.parameter_shapes.items()
            )
            table.append(
                (
                    row.name,
                    row.type,
                    str(list(row.output_shape)) if row.output_shape is not None else "-",
                    params,
                    shapes,
                    f"{row.ops.macs:,}",
                    f"{row.ops.multiplications:,}",
                    f"{row.ops.additions:,}",
                    format_bytes(row.activation_bytes),
                )
            )
        return table

    def totals_lines(self) -> list[str]:
        """The totals as lines of text."""
        return [
            f"input {list(self.input_shape)} {self.input_dtype}"
            + (f" -> output {list(self.output_shape)}" if self.output_shape else ""),
            f"parameters {self.parameters:,} (trainable {self.trainable:,}, frozen "
            f"{self.frozen:,}), {format_bytes(self.parameter_bytes)}",
            f"MACs {self.ops.macs:,}; multiplications {self.ops.multiplications:,}; "
            f"additions {self.ops.additions:,}; FLOPs {self.ops.flops:,}",
            f"activation memory {format_bytes(self.activation_bytes)} "
            "(the output of every layer for this batch)",
            f"counting: {self.counting}",
        ]

    def __str__(self) -> str:
        header = list(self.COLUMNS)
        body = self.rows()
        widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
        numeric = {3, 5, 6, 7, 8}

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                for i, cell in enumerate(cells)
            ).rstrip()

        return "\n".join([line(header), *(line(r) for r in body), "", *self.totals_lines()])


def format_bytes(size: int) -> str:
    """``128,450,560`` bytes -> ``122.5 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _row_modules(module: nn.Module, prefix: str = "") -> Iterator[tuple[str, str, nn.Module]]:
    """(name, type, module) of each row: a Network's layers, else the leaf modules."""
    if isinstance(module, Network):
        for name, child in module.named_children():
            spec = module.layer_specs.get(name)
            kind = spec.type if spec is not None else type(child).__name__
            yield f"{prefix}{name}", kind, child
        return
    children = list(module.named_children())
    if not children:
        yield prefix.rstrip(".") or type(module).__name__, type(module).__name__, module
        return
    for name, child in children:
        yield from _row_modules(child, f"{prefix}{name}.")


@dataclass
class _Trace:
    ops: OpCounts = field(default_factory=OpCounts)
    output_shape: tuple[int, ...] | None = None
    output_bytes: int = 0


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _tensors(item)]
    return []


def _trace(model: nn.Module, x: torch.Tensor) -> tuple[dict[nn.Module, _Trace], Any]:
    """Forward ``x`` through ``model`` with hooks on every module; what each one did."""
    traces: dict[nn.Module, _Trace] = {module: _Trace() for module in model.modules()}

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        trace = traces[module]
        trace.ops = trace.ops + count_ops(module, inputs, output)
        tensors = _tensors(output)
        if tensors:
            trace.output_shape = tuple(tensors[0].shape)
            trace.output_bytes += sum(t.numel() * t.element_size() for t in tensors)

    handles = [module.register_forward_hook(hook) for module in traces]
    try:
        with torch.no_grad():
            forward = getattr(model, "summary_forward", model)
            output = forward(x)
    finally:
        for handle in handles:
            handle.remove()
    return traces, output


def _meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers live on the meta device (no data)."""
    memo: dict[int, Any] = {}
    for parameter in model.parameters():
        memo[id(parameter)] = nn.Parameter(
            parameter.detach().to("meta"), requires_grad=parameter.requires_grad
        )
    for buffer in model.buffers():
        memo[id(buffer)] = buffer.to("meta")
    return copy.deepcopy(model, memo)


def _resolve_spec(spec: Any) -> Any:
    from athanor.spec.model import ModelSpec

    if isinstance(spec, Mapping):
        try:
            return TypeAdapter(ModelSpec).validate_python(dict(spec))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "model"
            raise SpecError(f"model.{where}: {first['msg']}") from None
    return spec


def summary(
    model: nn.Module | Any,
    input_shape: Sequence[int] | None = None,
    *,
    schema: Schema | None = None,
    seed: int = 0,
    dtype: torch.dtype | None = None,
) -> NetworkSummary:
    """Summarize a network: per layer the output shape, parameters, operations and memory.

    Args:
        model: a built ``nn.Module`` (a :class:`Network` or any other), or a model spec (a
            layer stack or template, as a spec object or mapping) to build for ``schema``.
        input_shape: the input batch shape, batch first (e.g. ``(10, 3, 224, 224)``).
            Default: one sample of the network's own input shape. For a spec, the sample
            part also replaces the schema's input shape.
        schema: the data's schema; required when ``model`` is a spec.
        seed: seeds the construction of a spec (default 0).
        dtype: the input's dtype; default the network's ``input_dtype`` (int64 for token
            ids), else float32.

    Returns:
        The summary; ``str()`` gives a table, ``to_json()`` a mapping.

    Raises:
        ShapeError: the spec does not fit the data, or the input does not fit the network.
        ValueError: no ``input_shape`` for a module that does not know its input shape, or a
            spec without a schema.
    """
    if not isinstance(model, nn.Module):
        if schema is None:
            raise ValueError("summarizing a spec needs the data's schema (schema=...)")
        if input_shape is not None:
            sample = [int(size) for size in input_shape[1:]]
            schema = schema.model_copy(
                update={"input": schema.input.model_copy(update={"shape": sample})}
            )
        model = build_network(_resolve_spec(model), schema, seed=seed)
    if input_shape is None:
        sample_shape = getattr(model, "input_shape", None)
        if sample_shape is None:
            raise ValueError("give input_shape (batch first) for a module of unknown input")
        input_shape = (1, *sample_shape)
    shape = tuple(int(size) for size in input_shape)
    dtype = dtype or getattr(model, "input_dtype", torch.float32)

    try:
        copied = _meta_copy(model).eval()
        traces, output = _trace(copied, torch.zeros(shape, dtype=dtype, device="meta"))
    except (NotImplementedError, RuntimeError):
        # A module without meta support: run the real thing on zeros (in evaluation mode).
        copied = copy.deepcopy(model).cpu().eval()
        try:
            traces, output = _trace(copied, torch.zeros(shape, dtype=dtype))
        except RuntimeError as exc:
            raise ShapeError(f"the input {list(shape)} does not fit the network: {exc}") from None

    rows: list[LayerSummary] = []
    covered: set[nn.Module] = set()
    for name, kind, module in _row_modules(copied):
        subtree = list(module.modules())
        covered.update(subtree)
        ops = OpCounts()
        for sub in subtree:
            ops = ops + traces[sub].ops
        parameters = dict(module.named_parameters())
        rows.append(
            LayerSummary(
                name=name,
                type=kind,
                output_shape=traces[module].output_shape,
                parameter_shapes={n: tuple(p.shape) for n, p in parameters.items()},
                trainable=sum(p.numel() for p in parameters.values() if p.requires_grad),
                frozen=sum(p.numel() for p in parameters.values() if not p.requires_grad),
                ops=ops,
                activation_bytes=traces[module].output_bytes,
            )
        )
    leftover = OpCounts()
    for module in copied.modules():
        if module not in covered:
            leftover = leftover + traces[module].ops
    own = {} if copied in covered else dict(copied.named_parameters(recurse=False))
    if leftover.flops or own:
        rows.append(
            LayerSummary(
                name="(own operations)",
                type=type(copied).__name__,
                output_shape=None,
                parameter_shapes={n: tuple(p.shape) for n, p in own.items()},
                trainable=sum(p.numel() for p in own.values() if p.requires_grad),
                frozen=sum(p.numel() for p in own.values() if not p.requires_grad),
                ops=leftover,
                activation_bytes=0,
            )
        )

    all_parameters = list(copied.parameters())
    outputs = _tensors(output)
    return NetworkSummary(
        input_shape=shape,
        input_dtype=str(dtype).removeprefix("torch."),
        layers=rows,
        trainable=sum(p.numel() for p in all_parameters if p.requires_grad),
        frozen=sum(p.numel() for p in all_parameters if not p.requires_grad),
        parameter_bytes=sum(p.numel() * p.element_size() for p in all_parameters),
        ops=sum((row.ops for row in rows), OpCounts()),
        activation_bytes=sum(row.activation_bytes for row in rows),
        output_shape=tuple(outputs[0].shape) if outputs else None,
    )


def layers_summary(spec: Any, input_shape: Sequence[int], *, seed: int = 0) -> NetworkSummary:
    """Summarize exactly the layers of a layer stack, with no output layer added.

    This is the course's op-count homework: a spec with only ``model:`` and an input shape.
    ``input_shape`` is batch first when the layers take its sample part (``10,3,224,224``
    for a convolution); otherwise the whole shape is one sample (``3,224,224`` is a batch
    of one).

    Args:
        spec: a layer stack (``model.layers``), as a spec object or mapping.
        input_shape: the input batch (or one sample).
        seed: seeds the construction (default 0).

    Raises:
        SpecError: a template (it needs the data to size its output) or an invalid spec.
        ShapeError: the layers do not fit the input, naming the layer.
    """
    from athanor.nets.registry import BuildContext
    from athanor.nets.stack import build_stack
    from athanor.spec.model import LayerStackSpec

    spec = _resolve_spec(spec)
    if not isinstance(spec, LayerStackSpec):
        raise SpecError(
            f"model.template: {spec.template} sizes its output from the data; a spec without "
            "data: summarizes a list of layers (model.layers), or add data: to summarize a "
            "template"
        )
    shape = tuple(int(size) for size in input_shape)
    context = BuildContext(init=spec.init)
    candidates = [(1, *shape)] if len(shape) < 2 else [shape, (1, *shape)]
    first_error: ShapeError | None = None
    for batch in candidates:
        sample = batch[1:]
        kind = "tokens" if spec.layers[0].type == "embedding" else _kind_of(sample)
        try:
            torch.manual_seed(seed)
            network = build_stack(list(spec.layers), sample, input_kind=kind, context=context)
        except ShapeError as exc:
            first_error = first_error or exc
            continue
        return summary(network, batch)
    assert first_error is not None
    raise ShapeError(
        f"--input {','.join(map(str, shape))}: {first_error} (the input is batch first, "
        "e.g. 10,3,224,224; without the batch, one sample)"
    ) from None


def _kind_of(sample: Sequence[int]) -> str:
    return {1: "tabular", 2: "sequence", 3: "image"}.get(len(sample), "tabular")

"""Naming the layer behind an export failure, for any ``nn.Module``.

An operation the target format lacks is found in a trace of the network, whose nodes carry
the module path they were recorded in; an error raised while the network runs is attributed
to the innermost module executing at that moment.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from athanor.errors import ExportError

_OPERATOR = re.compile(r"'((?:aten|prim|quantized|onnx)::[A-Za-z0-9_.]+)'")


def operator_in(message: str) -> str | None:
    """The TorchScript operator (``aten::name``) an exporter message mentions, if any."""
    match = _OPERATOR.search(message)
    return match.group(1) if match else None


def describe_layer(model: nn.Module, path: str | None) -> str:
    """``layer 'conv2d_1.1' (ReLU)`` for a module path; the whole network for ``""``."""
    if path is None:
        return "an unidentified layer"
    if path == "":
        return f"the network's own forward ({type(model).__name__})"
    module = dict(model.named_modules()).get(path)
    kind = type(module).__name__ if module is not None else "module"
    return f"layer '{path}' ({kind})"


def locate_operator(model: nn.Module, example: torch.Tensor, operator: str) -> str | None:
    """The path of the module whose forward records ``operator`` (``None``: not found)."""
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, (example,), check_trace=False)
    except Exception:  # the trace failing leaves the layer unknown, nothing more
        return None
    for node in traced.inlined_graph.nodes():
        if node.kind() == operator:
            innermost = node.scopeName().split("/")[-1]
            return innermost.removeprefix("__module").removeprefix(".")
    return None


@contextmanager
def module_stack(model: nn.Module) -> Iterator[list[str]]:
    """Track which modules are running: the list holds the paths, outermost first.

    After an exception escapes a forward pass, the list still holds the modules it escaped
    from (their post-hooks never ran), so its last entry is the failing layer.
    """
    stack: list[str] = []

    def enter(path: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _args: Any) -> None:
            stack.append(path)

        return hook

    def leave(_module: nn.Module, _args: Any, _output: Any) -> None:
        if stack:
            stack.pop()

    handles = []
    for path, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(enter(path)))
        handles.append(module.register_forward_hook(leave))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


def failing_layer(model: nn.Module, run: Callable[[], object]) -> str | None:
    """Run ``run`` (which calls ``model``) and return the innermost module path that raised.

    Returns ``None`` when ``run`` succeeds or fails outside any module.
    """
    with module_stack(model) as stack:
        try:
            run()
        except Exception:  # the caller reports the original error
            return stack[-1] if stack else None
    return None


def reference_outputs(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The network's own outputs on ``inputs``, which an export must reproduce.

    Raises:
        ExportError: the network fails on these inputs, naming the layer.
    """
    with torch.no_grad():
        try:
            return model(inputs).float()
        except Exception as exc:  # reported with the layer that failed
            path = failing_layer(model, lambda: model(inputs))
            raise ExportError(
                f"{describe_layer(model, path)}: fails on the check inputs: {exc}"
            ) from None

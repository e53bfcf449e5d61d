"""Selecting parameters by name: freezing, optimizer groups, weight penalties, transfer."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from athanor.errors import UserError


def matches(name: str, pattern: str) -> bool:
    """``conv2d_1`` matches its own parameters; globs match names (``conv2d_*``)."""
    return fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + ".")


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:12])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 12 else "")


def freeze(module: nn.Module, patterns: list[str]) -> list[str]:
    """Stop gradients for parameters matching any pattern; returns the frozen names.

    Raises:
        UserError: naming the pattern (``train.freeze[i]``) that matches no parameter.
    """
    names = [name for name, _ in module.named_parameters()]
    frozen: list[str] = []
    for index, pattern in enumerate(patterns):
        hit = [name for name in names if matches(name, pattern)]
        if not hit:
            raise UserError(
                f"train.freeze[{index}]: '{pattern}' matches no parameter; parameters: "
                + _listing(names)
            )
        frozen.extend(n for n in hit if n not in frozen)
    for name, parameter in module.named_parameters():
        if name in frozen:
            parameter.requires_grad_(False)
    return frozen


def parameter_groups(module: nn.Module, groups: list[Any]) -> list[dict[str, Any]]:
    """Optimizer parameter groups: each spec group takes the trainable parameters it matches
    first; the rest form a last group with the optimizer's own options.

    Raises:
        UserError: a group that matches no trainable parameter.
    """
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not trainable:
        raise UserError("train.freeze: every parameter is frozen; nothing would be trained")
    taken: set[str] = set()
    result: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        members = [(n, p) for n, p in trainable if n not in taken and matches(n, group.params)]
        if not members:
            raise UserError(
                f"train.optimizer.param_groups[{index}].params: '{group.params}' matches no "
                f"trainable parameter; trainable: {_listing(n for n, _ in trainable)}"
            )
        taken.update(n for n, _ in members)
        options = {
            k: v
            for k, v in (("lr", group.lr), ("weight_decay", group.weight_decay))
            if v is not None
        }
        result.append({"params": [p for _, p in members], **options})
    rest = [p for n, p in trainable if n not in taken]
    if rest:
        result.append({"params": rest})
    return result


def penalized(module: nn.Module) -> list[torch.nn.Parameter]:
    """Trainable weight matrices and kernels (dim > 1): what L1/L2 penalties apply to."""
    return [p for p in module.parameters() if p.requires_grad and p.dim() > 1]


@dataclass
class TransferReport:
    """What :func:`load_matching` did."""

    loaded: list[str] = field(default_factory=list)
    reinitialized: list[str] = field(default_factory=list)

    def describe(self, source: str) -> str:
        text = f"loaded {len(self.loaded)} tensors from {source}"
        if self.reinitialized:
            text += f"; new: {', '.join(self.reinitialized)}"
        return text


def load_matching(
    module: nn.Module, source: dict[str, torch.Tensor], *, strict: bool, source_name: str
) -> TransferReport:
    """Copy every tensor of ``source`` whose name and shape match into ``module``.

    With ``strict``, only the output layer (``output.*``) may differ or be missing: any other
    difference means the architectures do not correspond, which is almost always a mistake.

    Raises:
        UserError: naming the tensors that differ, with both shapes.
    """
    own = module.state_dict()
    report = TransferReport()
    problems: list[str] = []
    update: dict[str, torch.Tensor] = {}
    for name, tensor in own.items():
        theirs = source.get(name)
        if theirs is not None and tuple(theirs.shape) == tuple(tensor.shape):
            update[name] = theirs.to(tensor.dtype)
            report.loaded.append(name)
            continue
        report.reinitialized.append(name)
        if strict and not name.startswith("output."):
            if theirs is None:
                problems.append(f"{name} (not in {source_name})")
            else:
                problems.append(
                    f"{name} (shape {list(tensor.shape)} here, {list(theirs.shape)} there)"
                )
    if problems:
        raise UserError(
            f"train.init_from: the network does not correspond to {source_name}: "
            + "; ".join(problems[:6])
            + (" ..." if len(problems) > 6 else "")
            + " (use the same layers, or set train.init_from.strict: false)"
        )
    if not report.loaded:
        raise UserError(f"train.init_from: no tensor of {source_name} fits this network")
    module.load_state_dict(update, strict=False)
    return report

"""Optimizers from their specs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from athanor.spec.train import AdagradSpec, AdamSpec, AdamWSpec, RMSpropSpec, SGDSpec

OPTIMIZERS: dict[str, Callable[[Any, Any], torch.optim.Optimizer]] = {
    "sgd": lambda p, s: torch.optim.SGD(
        p, lr=s.lr, momentum=s.momentum, nesterov=s.nesterov, weight_decay=s.weight_decay
    ),
    "adam": lambda p, s: torch.optim.Adam(
        p, lr=s.lr, betas=s.betas, eps=s.eps, weight_decay=s.weight_decay, amsgrad=s.amsgrad
    ),
    "adamw": lambda p, s: torch.optim.AdamW(
        p, lr=s.lr, betas=s.betas, eps=s.eps, weight_decay=s.weight_decay, amsgrad=s.amsgrad
    ),
    "rmsprop": lambda p, s: torch.optim.RMSprop(
        p,
        lr=s.lr,
        alpha=s.alpha,
        eps=s.eps,
        momentum=s.momentum,
        centered=s.centered,
        weight_decay=s.weight_decay,
    ),
    "adagrad": lambda p, s: torch.optim.Adagrad(
        p, lr=s.lr, lr_decay=s.lr_decay, eps=s.eps, weight_decay=s.weight_decay
    ),
}


def build_optimizer(
    spec: SGDSpec | AdamSpec | AdamWSpec | RMSpropSpec | AdagradSpec,
    parameters: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
) -> torch.optim.Optimizer:
    """The optimizer of ``spec`` over ``parameters`` (tensors or parameter groups)."""
    return OPTIMIZERS[spec.type](list(parameters), spec)

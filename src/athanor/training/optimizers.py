"""Optimizers from their specs, over parameter groups selected by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from athanor.spec.train import AdagradSpec, AdamSpec, AdamWSpec, RMSpropSpec, SGDSpec
from athanor.training.parameters import parameter_groups

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
    spec: SGDSpec | AdamSpec | AdamWSpec | RMSpropSpec | AdagradSpec, module: nn.Module
) -> torch.optim.Optimizer:
    """The optimizer of ``spec`` over ``module``'s trainable parameters and groups.

    Raises:
        UserError: a parameter group that matches nothing, or nothing left to train.
    """
    return OPTIMIZERS[spec.type](parameter_groups(module, spec.param_groups), spec)

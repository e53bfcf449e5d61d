"""Optimizers from their specs, over parameter groups selected by name.

Each optimizer spec names its PyTorch class (``SGDSpec.torch_class``) and passes its fields
as that class's keyword arguments (:meth:`athanor.spec.train.TorchBound.torch_keywords`), so
adding an optimizer means adding a spec class, with nothing to copy here.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn

from athanor.spec.train import OptimizerSpec, TorchBound
from athanor.training.parameters import parameter_groups


def torch_class(spec: TorchBound | type[TorchBound]) -> type:
    """The PyTorch class a spec names in ``torch_class`` (``torch.optim.SGD``)."""
    module, _, name = spec.torch_class.rpartition(".")
    return getattr(importlib.import_module(module), name)


def build_optimizer(
    spec: OptimizerSpec, module: nn.Module, *, lr: float | None = None
) -> torch.optim.Optimizer:
    """The optimizer of ``spec`` over ``module``'s trainable parameters and groups.

    Args:
        spec: an optimizer spec (``train.optimizer``).
        module: the network, or the part of it this optimizer trains.
        lr: the rate instead of ``spec.lr`` (a GAN's discriminator); groups with their own
            rate keep it.

    Raises:
        UserError: a parameter group that matches nothing, or nothing left to train.
    """
    keywords = spec.torch_keywords()
    if lr is not None:
        keywords["lr"] = lr
    return torch_class(spec)(parameter_groups(module, spec.param_groups), **keywords)

"""The network a layer stack builds: an ``nn.Sequential`` that knows its shapes."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from athanor.nets.registry import Shape
from athanor.spec.layers import LayerSpec


class Network(nn.Sequential):
    """A sequential network built from a spec.

    Attributes:
        input_shape: one sample's input shape.
        input_dtype: the dtype of its input (int64 for token ids, else float32).
        layer_specs: the spec of each layer, by module name.
        layer_shapes: each layer's output shape, by module name.
    """

    def __init__(
        self,
        modules: OrderedDict[str, nn.Module],
        input_shape: Shape,
        layer_specs: dict[str, LayerSpec],
        layer_shapes: dict[str, Shape],
        input_dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(modules)
        self.input_shape = input_shape
        self.input_dtype = input_dtype
        self.layer_specs = layer_specs
        self.layer_shapes = layer_shapes

    @property
    def output_shape(self) -> Shape:
        return next(reversed(self.layer_shapes.values()), self.input_shape)

    def __getitem__(self, index: int | slice) -> nn.Module:
        """A layer, or a slice of the layers as a plain ``nn.Sequential`` (e.g. ``net[:3]``
        computes the features after the third layer)."""
        if isinstance(index, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)

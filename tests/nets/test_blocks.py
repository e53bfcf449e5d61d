"""Block builders: inferred output shapes equal what the modules really produce."""

from __future__ import annotations

import pytest
import torch
from pydantic import TypeAdapter

from athanor.nets.registry import BLOCK_BUILDERS
from athanor.spec.layers import Layer

layer = TypeAdapter(Layer)


@pytest.mark.parametrize(
    ("written", "in_shape"),
    [
        ({"conv2d": {"filters": 5, "kernel": 3, "padding": "valid"}}, (2, 11, 9)),
        ({"conv2d": {"filters": 5, "kernel": 4, "padding": "same"}}, (2, 11, 9)),
        (
            {"conv2d": {"filters": 5, "kernel": [3, 5], "padding": "full", "dilation": 2}},
            (2, 11, 9),
        ),
        (
            {"conv2d": {"filters": 4, "kernel": 3, "stride": 2, "padding": 1, "groups": 2}},
            (2, 11, 9),
        ),
        ({"conv1d": {"filters": 3, "kernel": 4, "padding": "same"}}, (2, 17)),
        ({"conv1d": {"filters": 3, "kernel": 5, "stride": 3}}, (2, 17)),
        ({"maxpool": {"size": 3, "stride": 2, "padding": 1}}, (2, 11, 9)),
        ({"avgpool": 2}, (3, 17)),
        ({"batchnorm": {}}, (3, 5, 5)),
        ({"dense": {"units": 6, "activation": {"maxout": {"pieces": 2}}}}, (7,)),
        ({"dense": 6}, (4, 7)),
        ("flatten", (2, 3, 4)),
    ],
)
def test_inferred_shape_matches_the_real_output(written: object, in_shape: tuple) -> None:
    spec = layer.validate_python(written)
    built = BLOCK_BUILDERS[spec.type](spec, in_shape)
    built.module.eval()
    out = built.module(torch.randn(2, *in_shape))
    assert tuple(out.shape[1:]) == built.out_shape


def test_same_padding_keeps_the_size_even_for_even_kernels() -> None:
    spec = layer.validate_python({"conv2d": {"filters": 1, "kernel": 4, "padding": "same"}})
    built = BLOCK_BUILDERS["conv2d"](spec, (1, 10, 10))
    assert built.out_shape == (1, 10, 10)
    assert built.module(torch.randn(1, 1, 10, 10)).shape == (1, 1, 10, 10)

"""Block builders: inferred output shapes equal what the modules really produce."""

from __future__ import annotations

import pytest
import torch
from pydantic import TypeAdapter

from athanor.nets.blocks.pooling import StochasticPool
from athanor.nets.registry import BLOCK_BUILDERS, BuildContext, ShapeMismatch
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
        ({"conv_transpose2d": {"filters": 3, "kernel": 4, "stride": 2, "padding": 1}}, (2, 7, 5)),
        (
            {"conv_transpose2d": {"filters": 3, "kernel": 3, "stride": 2, "padding": "same"}},
            (2, 7, 5),
        ),
        (
            {"conv_transpose2d": {"filters": 3, "kernel": 2, "stride": 3, "padding": "same"}},
            (2, 7, 5),
        ),
        (
            {
                "conv_transpose2d": {
                    "filters": 4,
                    "kernel": [3, 2],
                    "stride": [2, 3],
                    "output_padding": 1,
                    "dilation": 2,
                    "groups": 2,
                }
            },
            (2, 7, 5),
        ),
        ({"conv_transpose1d": {"filters": 3, "kernel": 5, "stride": 2, "padding": "same"}}, (2, 9)),
        ({"conv_transpose1d": {"filters": 3, "kernel": 3}}, (2, 9)),
        ({"upsample": 2}, (2, 5, 3)),
        ({"upsample": {"scale": [2, 3], "mode": "linear"}}, (2, 5, 3)),
        ({"upsample": {"scale": 3, "mode": "linear"}}, (2, 5)),
        ("globalavgpool", (3, 5, 4)),
        ("globalmaxpool", (3, 9)),
        ({"stochasticpool": {"size": 3, "stride": 2, "padding": 1}}, (2, 11, 9)),
        ({"stochasticpool": 2}, (3, 17)),
        ({"layernorm": {"dims": 2}}, (3, 5, 4)),
        ({"reshape": [-1, 4]}, (2, 3, 4)),
        ({"permute": [2, 0, 1]}, (2, 3, 4)),
        ({"repeat": 5}, (3,)),
        ({"rnn": {"units": 4, "return_sequences": True}}, (6, 3)),
        ({"lstm": {"units": 4, "layers": 2, "bidirectional": True}}, (6, 3)),
        ({"gru": {"units": 4, "bidirectional": True, "return_sequences": True}}, (6, 3)),
        ({"residual": 4}, (4, 9, 9)),
        ({"residual": {"filters": 4, "stride": 2, "bottleneck": True}}, (3, 9, 9)),
        ({"residual": {"filters": 5, "kernel": 5, "stride": 2}}, (3, 11)),
        ({"residual": {"filters": 6, "batchnorm": False, "dropout": 0.2}}, (4,)),
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


def test_embedding_looks_up_a_vector_per_token() -> None:
    spec = layer.validate_python({"embedding": {"dim": 3}})
    built = BLOCK_BUILDERS["embedding"](spec, (7,), BuildContext(vocab=11))
    tokens = torch.tensor([[0, 10, 3, 3, 1, 2, 9]])
    assert built.out_shape == (7, 3)
    out = built.module(tokens)
    assert out.shape == (1, 7, 3) and torch.equal(out[0, 2], built.module.weight[3])
    with pytest.raises(ShapeMismatch, match="needs the vocabulary size"):
        BLOCK_BUILDERS["embedding"](spec, (7,))
    too_small = layer.validate_python({"embedding": {"dim": 3, "vocab": 5}})
    with pytest.raises(ShapeMismatch, match="vocab 5 is smaller than the data's vocabulary of 11"):
        BLOCK_BUILDERS["embedding"](too_small, (7,), BuildContext(vocab=11))


def test_stochastic_pooling_samples_by_value_and_averages_when_evaluating() -> None:
    pool = StochasticPool((4,), (4,), (0,))
    x = torch.tensor([[[1.0, 3.0, 0.0, -2.0, -1.0, -1.0, -3.0, -5.0]]])
    pool.eval()
    # window 1: p = (1/4, 3/4, 0, 0) -> 2.5; window 2 has no positive value: the plain mean
    assert pool(x).tolist() == [[[2.5, -2.5]]]
    pool.train()
    torch.manual_seed(0)
    draws = torch.stack([pool(x)[0, 0] for _ in range(4000)])
    assert set(draws[:, 0].tolist()) == {1.0, 3.0}
    assert abs((draws[:, 0] == 3.0).float().mean().item() - 0.75) < 0.03
    assert set(draws[:, 1].tolist()) == {-1.0, -3.0, -5.0}
    x.requires_grad_()
    pool(x).sum().backward()
    assert x.grad[0, 0, :4].sum() == 1 and set(x.grad[0, 0, :4].tolist()) <= {0.0, 1.0}


def test_transposed_same_padding_multiplies_the_size_by_the_stride() -> None:
    for kernel, stride in [(4, 2), (3, 2), (5, 3), (2, 3), (3, 1)]:
        spec = layer.validate_python(
            {
                "conv_transpose2d": {
                    "filters": 1,
                    "kernel": kernel,
                    "stride": stride,
                    "padding": "same",
                }
            }
        )
        built = BLOCK_BUILDERS["conv_transpose2d"](spec, (1, 5, 6))
        assert built.out_shape == (1, 5 * stride, 6 * stride)


def test_maxout_and_softmax_act_on_the_features_of_each_step() -> None:
    spec = layer.validate_python({"dense": {"units": 3, "activation": {"maxout": {"pieces": 2}}}})
    built = BLOCK_BUILDERS["dense"](spec, (5, 4))
    assert built.module(torch.randn(2, 5, 4)).shape == (2, 5, 3)
    soft = layer.validate_python({"dense": {"units": 3, "activation": "softmax"}})
    out = BLOCK_BUILDERS["dense"](soft, (5, 4)).module(torch.randn(2, 5, 4))
    assert torch.allclose(out.sum(dim=-1), torch.ones(2, 5))


def test_residual_shortcut_is_the_identity_unless_the_shape_changes() -> None:
    same = BLOCK_BUILDERS["residual"](layer.validate_python({"residual": 4}), (4, 8, 8)).module
    assert isinstance(same.shortcut, torch.nn.Identity)
    x = torch.randn(2, 4, 8, 8)
    same.eval()
    with torch.no_grad():
        assert torch.allclose(same(x), torch.relu(same.body(x) + x))
    wider = BLOCK_BUILDERS["residual"](layer.validate_python({"residual": 8}), (4, 8, 8)).module
    assert isinstance(wider.shortcut[0], torch.nn.Conv2d)

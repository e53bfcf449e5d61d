"""Every layer type, written in YAML and in Python, builds the same network that trains on real
data: MNIST digits, a NAB series window and a Tiny Shakespeare batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets import build_network
from athanor.spec import load_spec
from athanor.spec.activations import ActivationSpec
from athanor.spec.initializers import InitializerSpec
from athanor.spec.layers import (
    LAYER_SPECS,
    ActivationLayerSpec,
    AvgPoolSpec,
    BatchNormSpec,
    Conv1dSpec,
    Conv2dSpec,
    ConvTranspose1dSpec,
    ConvTranspose2dSpec,
    DenseSpec,
    DropoutSpec,
    EmbeddingSpec,
    FlattenSpec,
    GlobalAvgPoolSpec,
    GlobalMaxPoolSpec,
    GruSpec,
    LayerNormSpec,
    LstmSpec,
    MaxPoolSpec,
    PermuteSpec,
    RepeatSpec,
    ReshapeSpec,
    ResidualSpec,
    RnnSpec,
    StochasticPoolSpec,
    UpsampleSpec,
)
from athanor.spec.model import LayerStackSpec
from tests.nets.conftest import MNIST


@dataclass
class Case:
    data: str  # the fixture with the real batch
    task: str
    yaml: str
    python: Callable[[], LayerStackSpec]


CASES = {
    "image-blocks": Case(
        "mnist_images",
        "classification",
        """
model:
  init: he_uniform
  layers:
    - conv2d: {filters: 8, kernel: 3, padding: same, batchnorm: true, activation: relu,
               init: he_normal}
    - stochasticpool: 2
    - residual: 8
    - residual: {filters: 8, stride: 2, bottleneck: true, expansion: 2}
    - conv_transpose2d: {filters: 4, kernel: 4, stride: 2, padding: same, activation: elu}
    - upsample: {scale: 2, mode: linear}
    - maxpool: {size: 3, stride: 2, padding: 1}
    - avgpool: 2
    - batchnorm
    - layernorm: {dims: 3}
    - dropout: 0.1
    - globalavgpool
    - activation: tanh
""",
        lambda: LayerStackSpec(
            init=InitializerSpec(type="he_uniform"),
            layers=[
                Conv2dSpec(
                    filters=8,
                    kernel=3,
                    padding="same",
                    batchnorm=True,
                    activation=ActivationSpec(type="relu"),
                    init=InitializerSpec(type="he_normal"),
                ),
                StochasticPoolSpec(size=2),
                ResidualSpec(filters=8),
                ResidualSpec(filters=8, stride=2, bottleneck=True, expansion=2),
                ConvTranspose2dSpec(
                    filters=4,
                    kernel=4,
                    stride=2,
                    padding="same",
                    activation=ActivationSpec(type="elu"),
                ),
                UpsampleSpec(scale=2, mode="linear"),
                MaxPoolSpec(size=3, stride=2, padding=1),
                AvgPoolSpec(size=2),
                BatchNormSpec(),
                LayerNormSpec(dims=3),
                DropoutSpec(rate=0.1),
                GlobalAvgPoolSpec(),
                ActivationLayerSpec(function=ActivationSpec(type="tanh")),
            ],
        ),
    ),
    "image-rows-as-sequences": Case(
        "mnist_images",
        "classification",
        """
model:
  layers:
    - reshape: [28, 28]
    - gru: {units: 16, bidirectional: true, return_sequences: true, init: orthogonal}
    - layernorm
    - lstm: {units: 16, layers: 2, dropout: 0.1}
    - dense: {units: 16, activation: {maxout: {pieces: 2}}}
""",
        lambda: LayerStackSpec(
            layers=[
                ReshapeSpec(shape=[28, 28]),
                GruSpec(
                    units=16,
                    bidirectional=True,
                    return_sequences=True,
                    init=InitializerSpec(type="orthogonal"),
                ),
                LayerNormSpec(),
                LstmSpec(units=16, layers=2, dropout=0.1),
                DenseSpec(units=16, activation=ActivationSpec(type="maxout", pieces=2)),
            ]
        ),
    ),
    "image-flat": Case(
        "mnist_images",
        "classification",
        """
model:
  layers:
    - flatten
    - dense: {units: 32, inputs: 784, batchnorm: true, activation: selu,
              init: {kaiming_normal: {nonlinearity: selu}}}
""",
        lambda: LayerStackSpec(
            layers=[
                FlattenSpec(),
                DenseSpec(
                    units=32,
                    inputs=784,
                    batchnorm=True,
                    activation=ActivationSpec(type="selu"),
                    init=InitializerSpec(type="kaiming_normal", nonlinearity="selu"),
                ),
            ]
        ),
    ),
    "image-global-max": Case(
        "mnist_images",
        "classification",
        """
model:
  layers:
    - conv2d: {filters: 6, kernel: 5, stride: 2, dilation: 1, groups: 1, init: xavier_uniform}
    - globalmaxpool
""",
        lambda: LayerStackSpec(
            layers=[
                Conv2dSpec(
                    filters=6, kernel=5, stride=2, init=InitializerSpec(type="xavier_uniform")
                ),
                GlobalMaxPoolSpec(),
            ]
        ),
    ),
    "series-forecast": Case(
        "series_windows",
        "forecasting",
        """
model:
  layers:
    - permute: [1, 0]
    - conv1d: {filters: 4, kernel: 5, padding: same, activation: relu}
    - conv_transpose1d: {filters: 4, kernel: 4, stride: 2, padding: same}
    - maxpool: 2
    - permute: [1, 0]
    - rnn: {units: 8, nonlinearity: relu}
    - repeat: 4
    - lstm: {units: 8, init: {normal: {std: 0.1}}}
""",
        lambda: LayerStackSpec(
            layers=[
                PermuteSpec(order=[1, 0]),
                Conv1dSpec(
                    filters=4, kernel=5, padding="same", activation=ActivationSpec(type="relu")
                ),
                ConvTranspose1dSpec(filters=4, kernel=4, stride=2, padding="same"),
                MaxPoolSpec(size=2),
                PermuteSpec(order=[1, 0]),
                RnnSpec(units=8, nonlinearity="relu"),
                RepeatSpec(times=4),
                LstmSpec(units=8, init=InitializerSpec(type="normal", std=0.1)),
            ]
        ),
    ),
    "characters": Case(
        "char_batch",
        "language_model",
        """
model:
  layers:
    - embedding: 16
    - lstm: {units: 32, return_sequences: true}
""",
        lambda: LayerStackSpec(
            layers=[EmbeddingSpec(dim=16), LstmSpec(units=32, return_sequences=True)]
        ),
    ),
}


def batch_and_schema(request: pytest.FixtureRequest, case: Case):
    """The real batch of ``case``: inputs, targets, schema and a loss function."""
    data = request.getfixturevalue(case.data)
    if case.data == "mnist_images":
        x, y = data
        return x, y, MNIST, F.cross_entropy
    if case.data == "series_windows":
        return data.x, data.future, data.schema(case.task), F.mse_loss
    return (
        data.x,
        data.next,
        data.schema(case.task),
        lambda logits, y: F.cross_entropy(logits.transpose(1, 2), y),
    )


def test_the_cases_use_every_layer_type() -> None:
    used = {layer.type for case in CASES.values() for layer in case.python().layers}
    assert used == set(LAYER_SPECS)


@pytest.mark.parametrize("name", list(CASES))
def test_every_layer_from_yaml_and_python_trains_on_real_data(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case = CASES[name]
    x, y, schema, loss_fn = batch_and_schema(request, case)
    path = tmp_path / "spec.yaml"
    path.write_text(f"data: mnist\n{case.yaml}")
    from_yaml = load_spec(path).model
    from_python = case.python()
    assert from_yaml == from_python

    network = build_network(from_yaml, schema, seed=0)
    twin = build_network(from_python, schema, seed=0)
    first, second = network.state_dict(), twin.state_dict()
    assert list(first) == list(second)
    assert all(torch.equal(first[k], second[k]) for k in first)

    outputs = network(x)
    assert outputs.shape == (len(x), *schema.output_shape)
    # Every inferred shape is the real one.
    shapes = {}
    hooks = [
        module.register_forward_hook(
            lambda m, i, o, n=layer_name: shapes.__setitem__(n, tuple(o.shape[1:]))
        )
        for layer_name, module in network.named_children()
    ]
    network(x)
    for hook in hooks:
        hook.remove()
    assert shapes == network.layer_shapes
    loss_fn(outputs, y).backward()
    for parameter_name, parameter in network.named_parameters():
        assert parameter.grad is not None, parameter_name
        assert torch.isfinite(parameter.grad).all(), parameter_name


TOKENS = Schema(
    task="language_model", input=InputSchema(kind="tokens", shape=[64], vocab=list("abc"))
)
SERIES = Schema(task="forecasting", input=InputSchema(kind="sequence", shape=[48, 1]), horizon=6)


@pytest.mark.parametrize(
    ("schema", "layers", "message"),
    [
        (
            MNIST,
            ["flatten", {"dense": 256}, {"dense": {"units": 10, "inputs": 400}}],
            "layer 3 (dense): expects 400 inputs, layer 2 (dense) gives 256",
        ),
        (
            MNIST,
            [{"lstm": 32}],
            "layer 1 (lstm): expects sequences [steps, features], the data (image [1, 28, 28]) "
            "gives [1, 28, 28]; to read an image row by row, add '- reshape: [28, 28]' before it",
        ),
        (
            MNIST,
            ["flatten", {"gru": 8}],
            "layer 2 (gru): expects sequences [steps, features], layer 1 (flatten) gives [784]",
        ),
        (
            TOKENS,
            [{"lstm": 8}],
            "layer 1 (lstm): expects float features, the data (tokens [64]) gives token ids "
            "[64]; start with '- embedding: {dim: 64}'",
        ),
        (
            MNIST,
            [{"embedding": 8}],
            "layer 1 (embedding): expects int64 token ids, the data (image [1, 28, 28]) gives "
            "float values",
        ),
        (
            MNIST,
            [{"reshape": [27, 28]}],
            "layer 1 (reshape): cannot reshape [1, 28, 28] (784 values) to [27, 28]",
        ),
        (
            MNIST,
            [{"residual": {"filters": 4}}, "flatten", {"repeat": 3}, {"layernorm": {"dims": 3}}],
            "layer 4 (layernorm): normalizes the last 3 dimensions, layer 3 (repeat) gives "
            "[3, 3136] with 2",
        ),
        (
            MNIST,
            [{"conv_transpose2d": {"filters": 2, "kernel": 2, "padding": "same"}}],
            "layer 1 (conv_transpose2d): padding 'same' with stride 1 needs an odd kernel",
        ),
        (
            SERIES,
            [{"lstm": {"units": 8, "return_sequences": True}}],
            "the network ends with [48, 1] but the task needs [6, 1]",
        ),
    ],
)
def test_broken_stacks_fail_before_training_naming_the_layer(
    schema: Schema, layers: list, message: str
) -> None:
    spec = load_spec({"data": "mnist", "model": {"layers": layers}}).model
    with pytest.raises(ShapeError) as caught:
        build_network(spec, schema)
    assert str(caught.value).startswith(message)


def test_the_output_layer_adapts_to_the_task(series_windows, char_batch) -> None:
    forecaster = build_network(
        load_spec({"data": "x", "model": {"layers": [{"lstm": 8}]}}).model,
        series_windows.schema("forecasting"),
    )
    assert list(forecaster.layer_shapes.items())[-2:] == [
        ("output", (6,)),
        ("output_reshape", (6, 1)),
    ]
    image_autoencoder = build_network(
        load_spec(
            {"data": "x", "model": {"layers": [{"conv2d": {"filters": 4, "padding": 1}}]}}
        ).model,
        Schema(task="reconstruction", input=InputSchema(kind="image", shape=[1, 28, 28])),
    )
    assert image_autoencoder.layer_specs["output"].type == "conv2d"
    assert image_autoencoder(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)

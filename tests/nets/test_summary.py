"""Summaries: every count checked against hand calculations, an independent count of the
arithmetic a reference implementation performs, and torch's FlopCounterMode."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets import build_network, summary
from athanor.nets.templates.dcgan import GAN
from athanor.spec import load_spec
from tests.nets.conftest import MNIST


class ArithmeticCounter(TorchDispatchMode):
    """Counts the multiplications and additions of the aten operations that really run."""

    def __init__(self) -> None:
        super().__init__()
        self.macs = self.multiplications = self.additions = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        if name in ("mm", "addmm"):
            a, b = (args[1], args[2]) if name == "addmm" else (args[0], args[1])
            rows, inner = a.shape
            products = rows * b.shape[1] * inner
            self.macs += products
            self.multiplications += products
            self.additions += rows * b.shape[1] * (inner - 1)
            if name == "addmm":
                self.additions += out.numel()
        elif name in ("mul", "div"):
            self.multiplications += out.numel()
        elif name in ("add", "sub", "rsub"):
            self.additions += out.numel()
        return out


def row(network: nn.Module, shape: tuple[int, ...], name: str | None = None):
    result = summary(network, shape)
    return result.layer(name) if name else result.layers[0]


def test_the_conv2d_example_exactly(tmp_path: Path) -> None:
    # conv2d 3->64, kernel 3x3, stride 1, padding 1 on [10, 3, 224, 224]
    path = tmp_path / "conv.yaml"
    path.write_text(
        "data: mnist\nmodel:\n  layers:\n"
        "    - conv2d: {filters: 64, kernel: 3, stride: 1, padding: 1}\n"
        "    - globalavgpool\n"
    )
    # The MNIST classifier's spec, summarized for 224x224 colour images.
    result = summary(load_spec(path).model, (10, 3, 224, 224), schema=MNIST)
    conv = result.layer("conv2d_1")
    assert conv.output_shape == (10, 64, 224, 224)
    assert conv.parameters == conv.trainable == 64 * 3 * 3 * 3 + 64 == 1_792
    assert conv.parameter_shapes == {"conv.weight": (64, 3, 3, 3), "conv.bias": (64,)}
    outputs = 10 * 64 * 224 * 224
    assert conv.ops.multiplications == outputs * 27 == 867_041_280
    assert conv.ops.macs == 867_041_280
    # 26 additions to sum each output's 27 products, one for its bias
    assert conv.ops.additions == outputs * 26 + outputs == 867_041_280
    assert conv.activation_bytes == outputs * 4 == 128_450_560
    assert "867,041,280" in str(result) and "122.5 MiB" in str(result)

    plain = row(nn.Conv2d(3, 64, 3, stride=1, padding=1), (10, 3, 224, 224))
    assert (plain.ops, plain.parameters, plain.output_shape) == (
        conv.ops,
        conv.parameters,
        conv.output_shape,
    )
    with FlopCounterMode(display=False) as counter:  # shapes only: on the meta device
        nn.Conv2d(3, 64, 3, padding=1, device="meta")(torch.zeros(10, 3, 224, 224, device="meta"))
    assert counter.get_total_flops() == 2 * conv.ops.macs


@pytest.mark.parametrize("bias", [True, False])
def test_dense_by_hand_and_by_counting(bias: bool) -> None:
    layer = nn.Linear(784, 128, bias=bias)
    counted = row(layer, (32, 784))
    assert counted.ops.macs == counted.ops.multiplications == 32 * 128 * 784
    assert counted.ops.additions == 32 * 128 * 783 + (32 * 128 if bias else 0)
    assert counted.parameters == 784 * 128 + (128 if bias else 0)
    with ArithmeticCounter() as reference, torch.no_grad():
        layer(torch.randn(32, 784))
    assert (reference.macs, reference.multiplications, reference.additions) == (
        counted.ops.macs,
        counted.ops.multiplications,
        counted.ops.additions,
    )


@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv2d(4, 6, (3, 5), stride=2, padding=(1, 2), dilation=1, groups=2),
        nn.Conv2d(3, 8, 3, dilation=2, bias=False),
        nn.Conv1d(3, 5, 4, stride=3),
        nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2),
        nn.ConvTranspose1d(3, 2, 2, stride=3, output_padding=2),
    ],
    ids=["conv2d-grouped", "conv2d-dilated", "conv1d", "transposed2d", "transposed1d-gaps"],
)
def test_convolutions_against_flop_counter_and_explicit_sums(layer: nn.Module) -> None:
    shape = (2, layer.in_channels, 9, 11) if "2d" in type(layer).__name__ else (2, 3, 10)
    counted = row(layer, shape)
    x = torch.randn(shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = layer(x)
    assert counter.get_total_flops() == 2 * counted.ops.macs
    assert counted.ops.multiplications == counted.ops.macs
    assert counted.output_shape == tuple(out.shape)

    # Additions, independently: how many products land in each output of one channel.
    products_per_output = _products_per_output(layer, shape)
    group_inputs = layer.in_channels // layer.groups
    outputs_per_channel = math.prod(out.shape[2:])
    if isinstance(layer, nn.ConvTranspose1d | nn.ConvTranspose2d):
        sums = [p * group_inputs for p in products_per_output]
    else:
        sums = [group_inputs * math.prod(layer.kernel_size)] * outputs_per_channel
    additions = sum(max(s - 1, 0) + (1 if layer.bias is not None else 0) for s in sums)
    assert counted.ops.additions == additions * out.shape[0] * out.shape[1]


def _products_per_output(layer: nn.Module, shape: tuple[int, ...]) -> list[int]:
    """For a transposed convolution: kernel taps landing on each output position (1 channel)."""
    if not isinstance(layer, nn.ConvTranspose1d | nn.ConvTranspose2d):
        return []
    dims = len(shape) - 2
    probe = nn.functional.conv_transpose1d if dims == 1 else nn.functional.conv_transpose2d
    ones = torch.ones(1, 1, *shape[2:])
    weight = torch.ones(1, 1, *layer.kernel_size)
    extra = {"output_padding": layer.output_padding, "dilation": layer.dilation}
    counts = probe(ones, weight, stride=layer.stride, padding=layer.padding, **extra)
    return [int(v) for v in counts.flatten().round().tolist()]


def test_pooling_and_batch_norm_by_hand(mnist_images) -> None:
    x, _ = mnist_images  # [16, 1, 28, 28]
    network = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2),
    )
    result = summary(network, tuple(x.shape))
    norm, maxpool, avgpool = result.layer("1"), result.layer("2"), result.layer("3")
    elements = 16 * 4 * 28 * 28
    assert (norm.ops.multiplications, norm.ops.additions) == (elements, elements)
    assert norm.parameters == 8 and norm.parameter_shapes == {"weight": (4,), "bias": (4,)}
    assert maxpool.ops.flops == 0 and maxpool.output_shape == (16, 4, 14, 14)
    pooled = 16 * 4 * 7 * 7
    assert (avgpool.ops.multiplications, avgpool.ops.additions) == (pooled, pooled * 3)
    with ArithmeticCounter() as reference, torch.no_grad():
        windows = F.max_pool2d(torch.randn(16, 4, 28, 28), 2).unfold(2, 2, 2).unfold(3, 2, 2)
        s = windows[..., 0, 0] + windows[..., 0, 1]
        s = s + windows[..., 1, 0]
        s = s + windows[..., 1, 1]
        s * 0.25
    assert (reference.multiplications, reference.additions) == (pooled, pooled * 3)

    pools = summary(
        load_spec({"data": "x", "model": {"layers": [{"conv2d": 4}, "globalavgpool"]}}).model,
        (16, 1, 28, 28),
        schema=MNIST,
    ).layer("globalavgpool_2")
    assert pools.ops.additions == 16 * 4 * (26 * 26 - 1) and pools.ops.multiplications == 64


def test_layer_norm_by_counting_a_reference() -> None:
    norm = nn.LayerNorm(12)
    counted = row(norm, (5, 7, 12))
    x = torch.randn(5, 7, 12)
    with ArithmeticCounter() as reference, torch.no_grad():
        total = x[..., 0]
        for i in range(1, 12):
            total = total + x[..., i]
        mean = total / 12
        centered = x - mean.unsqueeze(-1)
        squares = centered * centered
        total = squares[..., 0]
        for i in range(1, 12):
            total = total + squares[..., i]
        variance = total / 12
        scale = torch.rsqrt(variance + norm.eps)
        y = centered * scale.unsqueeze(-1) * norm.weight + norm.bias
    assert torch.allclose(y, norm(x), atol=1e-5)
    assert (counted.ops.multiplications, counted.ops.additions) == (
        reference.multiplications,
        reference.additions,
    )


def _explicit_lstm(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """One-layer LSTM written out: gates = W x + b + U h + b'; c = f*c + i*g; h = o*tanh(c)."""
    batch, steps, _ = x.shape
    h = torch.zeros(batch, lstm.hidden_size)
    c = torch.zeros(batch, lstm.hidden_size)
    outputs = []
    for t in range(steps):
        gates = x[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T
        gates = gates + lstm.bias_hh_l0
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def _explicit_gru(gru: nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """GRU written out: r, z = s(W x + b + U h + b'); n = tanh(.. + r*(U h + b')); h = ..."""
    batch, steps, _ = x.shape
    h = torch.zeros(batch, gru.hidden_size)
    outputs = []
    for t in range(steps):
        gi = x[:, t] @ gru.weight_ih_l0.T + gru.bias_ih_l0
        gh = h @ gru.weight_hh_l0.T + gru.bias_hh_l0
        (ri, zi, ni), (rh, zh, nh) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
        r, z = torch.sigmoid(ri + rh), torch.sigmoid(zi + zh)
        n = torch.tanh(ni + r * nh)
        h = (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_layers_against_their_written_out_equations(kind: str, series_windows) -> None:
    x = series_windows.x  # [8, 48, 1]: a real series window
    torch.manual_seed(0)
    module = nn.LSTM(1, 16, batch_first=True) if kind == "lstm" else nn.GRU(1, 16, batch_first=True)
    explicit = _explicit_lstm if kind == "lstm" else _explicit_gru
    counted = row(module, tuple(x.shape))
    with ArithmeticCounter() as reference, torch.no_grad():
        written_out = explicit(module, x)
    with torch.no_grad():
        assert torch.allclose(written_out, module(x)[0], atol=1e-5)
    assert (reference.macs, reference.multiplications, reference.additions) == (
        counted.ops.macs,
        counted.ops.multiplications,
        counted.ops.additions,
    )
    gates = 4 if kind == "lstm" else 3
    assert counted.ops.macs == 8 * 48 * gates * 16 * (1 + 16)
    with FlopCounterMode(display=False) as flops, torch.no_grad():
        explicit(module, x)
    assert flops.get_total_flops() == 2 * counted.ops.macs


def test_stacked_bidirectional_lstm_and_embedding_in_a_network(char_batch) -> None:
    spec = load_spec(
        {
            "data": "x",
            "model": {
                "layers": [
                    {"embedding": 16},
                    {"lstm": {"units": 8, "layers": 2, "bidirectional": True}},
                ]
            },
        }
    ).model
    schema = char_batch.schema("classification")
    result = summary(spec, (4, 64), schema=schema)
    assert result.input_dtype == "int64"
    embedding = result.layer("embedding_1")
    vocab = len(char_batch.vocab)
    assert embedding.parameters == vocab * 16 and embedding.ops.flops == 0
    assert embedding.output_shape == (4, 64, 16) and embedding.activation_bytes == 4 * 64 * 16 * 4
    lstm = result.layer("lstm_2")
    per_step = 4 * 8 * (16 + 8) + 4 * 8 * (16 + 8)  # layer 2 reads both directions: 16 inputs
    assert lstm.ops.macs == 4 * 64 * 2 * per_step
    assert lstm.ops.additions == lstm.ops.macs + 4 * 64 * 2 * 2 * 5 * 8
    assert lstm.parameters == sum(p.numel() for p in build_network(spec, schema)[1].parameters())
    assert lstm.output_shape == (4, 16)


def test_a_whole_network_against_flop_counter(mnist_images) -> None:
    network = build_network(load_spec({"data": "x", "model": {"template": "lenet5"}}).model, MNIST)
    x, _ = mnist_images
    result = summary(network, tuple(x.shape))
    network.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        logits = network(x)
    assert counter.get_total_flops() == 2 * result.ops.macs
    assert result.output_shape == tuple(logits.shape)
    assert [r.name for r in result.layers] == list(network.layer_shapes)
    assert result.parameters == sum(p.numel() for p in network.parameters())
    assert result.ops.additions == sum(r.ops.additions for r in result.layers)
    assert result.activation_bytes == sum(
        16 * math.prod(shape) * 4 for shape in network.layer_shapes.values()
    )


def test_frozen_parameters_json_and_defaults() -> None:
    network = build_network(
        load_spec({"data": "x", "model": {"template": "mlp", "hidden": [16]}}).model, MNIST
    )
    for parameter in network.dense_2.parameters():
        parameter.requires_grad_(False)
    result = summary(network)  # one sample of the network's own input shape
    assert result.input_shape == (1, 1, 28, 28)
    dense = result.layer("dense_2")
    assert (dense.trainable, dense.frozen) == (0, 784 * 16 + 16)
    assert (result.trainable, result.frozen) == (16 * 10 + 10, 784 * 16 + 16)
    data = json.loads(json.dumps(result.to_json()))
    assert data["totals"]["frozen"] == 784 * 16 + 16
    assert data["layers"][1]["parameters"]["shapes"] == {
        "linear.weight": [16, 784],
        "linear.bias": [16],
    }
    assert "additions" in data["counting"]
    assert network.dense_2.linear.weight.device.type == "cpu"  # the network itself is untouched
    with pytest.raises(ValueError, match="needs the data's schema"):
        summary({"template": "mlp"})
    with pytest.raises(ValueError, match="give input_shape"):
        summary(nn.Linear(3, 4))


def test_a_gan_lists_generator_and_discriminator() -> None:
    gan = build_network(
        load_spec({"data": "x", "model": {"template": "dcgan", "latent_dim": 10}}).model,
        Schema(task="generation", input=InputSchema(kind="image", shape=[1, 28, 28])),
    )
    assert isinstance(gan, GAN)
    result = summary(gan, (5, 10))
    names = [r.name for r in result.layers]
    assert names[0] == "generator.project" and names[-1] == "discriminator.flatten_4"
    assert result.parameters == sum(p.numel() for p in gan.parameters())
    assert result.output_shape == (5, 1)


class NeedsValues(nn.Module):
    """A module that reads a value, which the meta device cannot give."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * float(x.abs().max().item() >= 0)


def test_modules_that_need_values_are_run_on_zeros() -> None:
    result = summary(NeedsValues(), (3, 4))
    assert result.layer("linear").ops.macs == 3 * 4 * 4
    assert result.layer("linear").output_shape == (3, 4)


def test_a_layer_stack_alone_takes_a_batch_or_one_sample() -> None:
    from athanor.nets.summary import layers_summary

    dense = {"layers": [{"dense": 3}]}
    assert layers_summary(dense, (10, 4)).input_shape == (10, 4)  # batch first when it fits
    assert layers_summary(dense, (4,)).input_shape == (1, 4)
    conv = {"layers": [{"conv2d": {"filters": 2, "kernel": 3}}]}
    assert layers_summary(conv, (1, 5, 5)).input_shape == (1, 1, 5, 5)  # [5, 5] is no image
    with pytest.raises(ShapeError, match="--input 7: layer 1 \\(conv2d\\): expects images"):
        layers_summary(conv, (7,))

"""Every template, written in YAML and in Python, builds on real data, trains one step, and
is rebuilt from its stored spec with the saved weights (as model packages are)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from athanor.data.schema import InputSchema, Schema
from athanor.nets import build_network
from athanor.spec import load_spec
from athanor.spec.activations import ActivationSpec
from athanor.spec.initializers import InitializerSpec
from athanor.spec.model import (
    TEMPLATE_SPECS,
    CenterNetSpec,
    CharRnnSpec,
    DcganSpec,
    LeNet5Spec,
    LogLstmSpec,
    LstmAutoencoderSpec,
    LstmClassifierSpec,
    LstmForecasterSpec,
    MlpSpec,
    ResNetSpec,
    TemplateSpec,
    TextClassifierSpec,
    VggSpec,
)
from athanor.spec.run import RunSpec
from athanor.training.detection_loss import CenterNetLoss
from tests.nets.conftest import MNIST


@dataclass
class Case:
    data: str
    task: str
    yaml: str
    python: Callable[[], TemplateSpec]


CASES = {
    "mlp": Case(
        "mnist_images",
        "classification",
        "template: mlp\nhidden: [32]\nactivation: {leaky_relu: {alpha: 0.1}}\ninit: he_normal",
        lambda: MlpSpec(
            hidden=[32],
            activation=ActivationSpec(type="leaky_relu", alpha=0.1),
            init=InitializerSpec(type="he_normal"),
        ),
    ),
    "lenet5": Case(
        "mnist_images",
        "classification",
        "template: lenet5\npooling: avg\nactivation: tanh",
        lambda: LeNet5Spec(pooling="avg", activation=ActivationSpec(type="tanh")),
    ),
    "vgg": Case(
        "mnist_images",
        "classification",
        "template: vgg\ndepth: 11\nwidth: 4\ndense: [16]",
        lambda: VggSpec(depth=11, width=4, dense=[16]),
    ),
    "resnet": Case(
        "mnist_images",
        "classification",
        "template: resnet\ndepth: 18\nwidth: 4",
        lambda: ResNetSpec(depth=18, width=4),
    ),
    "resnet-cifar": Case(
        "mnist_images",
        "classification",
        "template: resnet\ndepth: 8\nstem: cifar\ndropout: 0.1",
        lambda: ResNetSpec(depth=8, stem="cifar", dropout=0.1),
    ),
    "lstm_classifier-series": Case(
        "series_windows",
        "classification",
        "template: lstm_classifier\nunits: 8\nlayers: 2\ndropout: 0.1\nhidden: [8]",
        lambda: LstmClassifierSpec(units=8, layers=2, dropout=0.1, hidden=[8]),
    ),
    "lstm_classifier-tokens": Case(
        "char_batch",
        "classification",
        "template: lstm_classifier\ncell: gru\nunits: 8\nembedding_dim: 8\nbidirectional: true",
        lambda: LstmClassifierSpec(cell="gru", units=8, embedding_dim=8, bidirectional=True),
    ),
    "text_classifier": Case(
        "char_batch",
        "classification",
        "template: text_classifier\ncell: gru\nunits: 8\nembedding_dim: 8\npooling: max",
        lambda: TextClassifierSpec(cell="gru", units=8, embedding_dim=8, pooling="max"),
    ),
    "lstm_forecaster": Case(
        "series_windows",
        "forecasting",
        "template: lstm_forecaster\nunits: 8\nhidden: [8]",
        lambda: LstmForecasterSpec(units=8, hidden=[8]),
    ),
    "lstm_autoencoder": Case(
        "series_windows",
        "reconstruction",
        "template: lstm_autoencoder\nunits: 8\nlatent: 4",
        lambda: LstmAutoencoderSpec(units=8, latent=4),
    ),
    "char_rnn": Case(
        "char_batch",
        "language_model",
        "template: char_rnn\nunits: 16\nembedding_dim: 8\ndropout: 0.1",
        lambda: CharRnnSpec(units=16, embedding_dim=8, dropout=0.1),
    ),
    "log_lstm": Case(
        "char_batch",
        "next_key",
        "template: log_lstm\nunits: 8\nlayers: 2\nembedding_dim: 4\ntop_g: 3",
        lambda: LogLstmSpec(units=8, layers=2, embedding_dim=4, top_g=3),
    ),
    "centernet": Case(
        "mnist_images",
        "detection",
        "template: centernet\nwidth: 4\ndepth: 2\nhead_width: 8",
        lambda: CenterNetSpec(width=4, depth=2, head_width=8),
    ),
    "dcgan": Case(
        "mnist_images",
        "generation",
        "template: dcgan\nlatent_dim: 8\ngenerator_width: 4\ndiscriminator_width: 4",
        lambda: DcganSpec(latent_dim=8, generator_width=4, discriminator_width=4),
    ),
}


def real_batch(request: pytest.FixtureRequest, case: Case):
    """Inputs, targets, schema and loss of ``case`` from its real data."""
    data = request.getfixturevalue(case.data)
    if case.data == "mnist_images":
        x, y = data
        schema = MNIST
        if case.task == "generation":
            schema = Schema(task="generation", input=InputSchema(kind="image", shape=[1, 28, 28]))
            x = x * 2 - 1  # a GAN's images in [-1, 1], like its tanh output
        if case.task == "detection":  # one box per digit: the bounding box of its ink
            schema = MNIST.model_copy(update={"task": "detection"})
            rows = []
            for image, label in zip(x, y, strict=True):
                ys, xs = torch.nonzero(image[0] > 0.1, as_tuple=True)
                box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
                rows.append([[float(label), *(float(v) for v in box)]])
            return x, torch.tensor(rows), schema, CenterNetLoss()
        return x, y, schema, F.cross_entropy
    if case.data == "series_windows":
        schema = data.schema(case.task)
        if case.task == "classification":
            return data.x, data.anomalous, schema, F.cross_entropy
        target = data.future if case.task == "forecasting" else data.x
        return data.x, target, schema, F.mse_loss
    schema = data.schema(case.task)
    if case.task == "next_key":  # characters as log keys: the one after each window
        return data.x, data.next[:, -1], schema, F.cross_entropy
    if case.task == "classification":
        has_new_line = (data.x == data.vocab.index("\n")).any(dim=1).long()
        return data.x, has_new_line, schema, F.cross_entropy
    return data.x, data.next, schema, lambda out, y: F.cross_entropy(out.transpose(1, 2), y)


def test_every_template_has_a_case() -> None:
    assert {case.python().template for case in CASES.values()} == set(TEMPLATE_SPECS)


def one_training_step(network: torch.nn.Module, x, y, loss_fn, task: str) -> None:
    if task == "generation":  # the discriminator's loss on real and generated images
        z = torch.randn(len(x), network.latent_dim)
        fake = network(z)
        real_logits, fake_logits = network.discriminator(x), network.discriminator(fake)
        loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    else:
        loss = loss_fn(network(x), y)
    loss.backward()
    for name, parameter in network.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


@pytest.mark.parametrize("name", list(CASES))
def test_template_from_yaml_and_python_trains_and_reloads(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case = CASES[name]
    x, y, schema, loss_fn = real_batch(request, case)
    path = tmp_path / "spec.yaml"
    model_yaml = "\n".join("  " + line for line in case.yaml.splitlines())
    path.write_text(f"data: mnist\nmodel:\n{model_yaml}\n")
    run_spec = load_spec(path)
    assert run_spec.model == case.python()

    network = build_network(run_spec.model, schema, seed=0)
    twin = build_network(case.python(), schema, seed=0)
    weights = network.state_dict()
    assert all(torch.equal(value, twin.state_dict()[key]) for key, value in weights.items())

    sample = torch.randn(4, network.latent_dim) if case.task == "generation" else x[:4]
    expected_shape = schema.output_shape
    assert network(sample).shape == (len(sample), *expected_shape)
    one_training_step(network, x, y, loss_fn, case.task)

    # A model package: safetensors weights plus the spec as JSON, rebuilt without a seed.
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, tmp_path / "w.st")
    stored = RunSpec.model_validate_json(run_spec.model_dump_json())
    rebuilt = build_network(stored.model, schema)
    rebuilt.load_state_dict(load_file(tmp_path / "w.st"), strict=True)
    network.eval()
    rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(network(sample), rebuilt(sample))

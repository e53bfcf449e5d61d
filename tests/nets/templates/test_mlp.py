"""The mlp template without hidden layers: the output layer alone (perceptron, logistic and
linear regression), trained on the real truth tables."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from athanor.data.schema import InputSchema, Schema
from athanor.data.sources.logic_gates import GATES, INPUTS
from athanor.nets import build_network, summary
from athanor.spec.model import MlpSpec


def _schema(task: str, shape: list[int], classes: list[str] | None = None) -> Schema:
    kind = "tabular" if len(shape) == 1 else "image"
    return Schema(task=task, input=InputSchema(kind=kind, shape=shape), classes=classes)


def test_no_hidden_layer_is_one_output_layer() -> None:
    perceptron = build_network(MlpSpec(hidden=[]), _schema("classification", [2], ["0", "1"]))
    assert list(perceptron.layer_shapes) == ["output"]
    (linear,) = [m for m in perceptron.modules() if isinstance(m, nn.Linear)]
    assert (linear.in_features, linear.out_features) == (2, 2)
    assert summary(perceptron).parameters == 6
    regression = build_network(MlpSpec(hidden=[]), _schema("regression", [13]))
    assert summary(regression).output_shape == (1, 1) and summary(regression).parameters == 14
    images = build_network(MlpSpec(hidden=[]), _schema("classification", [1, 8, 8], list("abc")))
    assert list(images.layer_shapes) == ["flatten_1", "output"]


def test_a_perceptron_learns_and_but_not_xor() -> None:
    x = torch.from_numpy(INPUTS)
    schema = _schema("classification", [2], ["0", "1"])
    accuracy = {}
    for gate in ("and", "xor"):
        network = build_network(MlpSpec(hidden=[]), schema, seed=0)
        y = torch.from_numpy(GATES[gate])
        optimizer = torch.optim.Adam(network.parameters(), lr=0.1)
        for _ in range(300):
            optimizer.zero_grad()
            F.cross_entropy(network(x), y).backward()
            optimizer.step()
        accuracy[gate] = (network(x).argmax(1) == y).float().mean().item()
    assert accuracy["and"] == 1.0 and accuracy["xor"] <= 0.75

"""The playground trains a real network in chunks: it learns XOR and a spiral, replays
exactly from its seed, refuses what it cannot do by name, and becomes an ordinary run."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from athanor.errors import UserError
from athanor.lab.playground import (
    MAX_LAYERS,
    LayerWeights,
    PlaygroundSettings,
    read_points_csv,
    run_files,
    train_steps,
)


def train(settings: PlaygroundSettings, total: int, chunk: int) -> dict:
    """Train ``total`` steps in calls of ``chunk`` steps, passing the weights along as JSON."""
    answer = train_steps(settings, None, 0, 0)
    while answer["step"] < total:
        weights = [LayerWeights(**layer) for layer in answer["weights"]]
        answer = train_steps(settings, weights, answer["step"], min(chunk, total - answer["step"]))
    return answer


def test_learns_xor() -> None:
    settings = PlaygroundSettings(dataset="xor", layers=[8], learning_rate=0.1, seed=1)
    start = train_steps(settings, None, 0, 0)
    learned = train(settings, 400, 100)
    assert start["test_loss"] > 0.6
    assert learned["test_loss"] < 0.25, learned["test_loss"]
    boundary = learned["boundary"]
    assert len(boundary) == 64 * 64
    # the corners of the plane: (-6, 6) and (6, -6) are class 0, (6, 6) and (-6, -6) class 1
    assert boundary[0] < 0.5 and boundary[63] > 0.5 and boundary[-64] > 0.5 and boundary[-1] < 0.5


def test_learns_a_spiral_with_sine_features() -> None:
    settings = PlaygroundSettings(
        dataset="spiral",
        features=["x1", "x2", "sin_x1", "sin_x2"],
        layers=[8, 8, 8],
        learning_rate=0.1,
    )
    learned = train(settings, 1000, 100)
    assert learned["test_loss"] < 0.25, learned["test_loss"]
    assert [len(layer) for layer in learned["neurons"]] == [8, 8, 8]
    assert all(len(neuron) == 20 * 20 for layer in learned["neurons"] for neuron in layer)


def test_chunks_replay_one_call_exactly() -> None:
    settings = PlaygroundSettings(dataset="circles", noise=10, layers=[3, 2], seed=7)
    at_once = train(settings, 30, 30)
    in_chunks = train(settings, 30, 7)
    assert in_chunks["weights"] == at_once["weights"]
    assert in_chunks["test_loss"] == at_once["test_loss"]
    other_seed = train(settings.model_copy(update={"seed": 8}), 30, 30)
    assert other_seed["weights"] != at_once["weights"]


@pytest.mark.parametrize("activation", ["maxout", "swish", "step", "softmax", "selu"])
def test_every_activation_trains(activation: str) -> None:
    settings = PlaygroundSettings(dataset="gaussians", layers=[4, 3], activation=activation)
    answer = train(settings, 20, 20)
    assert answer["train_loss"] is not None
    assert [len(layer) for layer in answer["neurons"]] == [4, 3]


def test_limits_are_named() -> None:
    with pytest.raises(ValidationError, match="layers"):
        PlaygroundSettings(layers=[4] * (MAX_LAYERS + 1))
    with pytest.raises(ValidationError, match="less than or equal to 32"):
        PlaygroundSettings(layers=[33])
    with pytest.raises(ValidationError, match="each feature at most once"):
        PlaygroundSettings(features=["x1", "x1"])
    settings = PlaygroundSettings(layers=[2])
    with pytest.raises(UserError, match=r"steps: 101; valid: 0 to 100"):
        train_steps(settings, None, 0, 101)
    wrong = [LayerWeights(weight=[[0.0, 0.0]], bias=[0.0])] * 2
    with pytest.raises(UserError, match=r"weights\[0\]: weight \[1, 2\].*need \[2, 2\]"):
        train_steps(settings, wrong, 5, 1)


def test_csv_points_are_read_with_their_limits() -> None:
    points, labels, names = read_points_csv("x,y,class\n0,1,red\n1,0,blue\n2,2,red\n-1,-1,blue\n")
    assert points.shape == (4, 2) and labels.tolist() == [1, 0, 1, 0] and names == ["blue", "red"]
    with pytest.raises(UserError, match="csv line 2: x1 and x2 must be finite numbers"):
        read_points_csv("0,1,a\nnan,0,b\n1,1,a\n2,2,b\n")
    with pytest.raises(UserError, match="expected exactly 2"):
        read_points_csv("0,1,a\n1,0,b\n1,1,c\n2,2,a\n")
    with pytest.raises(UserError, match="at most 2000"):
        read_points_csv("".join(f"{i},{i},{'ab'[i % 2]}\n" for i in range(2001)))
    settings = PlaygroundSettings(
        dataset="csv", csv="\n".join(f"{i},{-i},{i % 2}" for i in range(-20, 20)), layers=[2]
    )
    answer = train_steps(settings, None, 0, 5)
    assert answer["domain"] == pytest.approx(22.0)
    assert len(answer["points"]["train"]) + len(answer["points"]["test"]) == 40


def test_open_as_a_run_trains_the_same_network(tmp_path: Path) -> None:
    import athanor as at
    from athanor.api.datasets import import_dataset

    settings = PlaygroundSettings(
        dataset="xor",
        features=["x1", "x2", "x1x2"],
        layers=[4],
        activation="maxout",
        regularization="l2",
        regularization_rate=0.001,
        samples=200,
    )
    files = run_files(settings, steps=100)
    assert files["dataset"] == "playground-xor-0"
    assert files["csv"].splitlines()[0] == "x1,x2,x1x2,label"
    csv_path = tmp_path / "points.csv"
    csv_path.write_text(files["csv"])
    # the per-test ATHANOR_HOME (tests/conftest.py) holds the dataset and the run
    import_dataset(csv_path, name=files["dataset"], target="label", task="classification")
    spec = tmp_path / "run.yaml"
    spec.write_text(files["yaml"])
    run = at.train(spec, progress=False)
    assert run.test_metrics["test_accuracy"] > 0.9, run.test_metrics


@pytest.mark.parametrize("layers", [[], [3, 2]])
def test_the_run_spec_is_valid_for_any_depth(layers: list[int]) -> None:
    from athanor.spec.loading import load_yaml_text
    from athanor.spec.run import RunSpec

    settings = PlaygroundSettings(layers=layers, regularization="l1", regularization_rate=0.01)
    spec = RunSpec.model_validate(load_yaml_text(run_files(settings, 10)["yaml"], "run.yaml"))
    assert len(spec.model.layers) == max(1, len(layers))
    assert spec.train.regularization.l1 == 0.01

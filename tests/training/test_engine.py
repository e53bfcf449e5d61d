"""The training engine's options on real data: each does what its spec key says."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from athanor.data.prepare import prepare
from athanor.errors import UserError
from athanor.nets import build_network
from athanor.spec import load_spec
from athanor.training import Trainer, TrainingDiverged
from athanor.training.callbacks import Callback
from athanor.training.losses import uses_single_logit
from athanor.training.parameters import load_matching


def setup(train: dict, *, dataset: str = "digits", model: dict | None = None, seed: int = 0):
    spec = load_spec(
        {
            "data": {"dataset": dataset, "split": {"val": 0.2, "test": 0.2}},
            "model": model or {"template": "mlp", "hidden": [32]},
            "train": train,
            "seed": seed,
        }
    )
    prepared = prepare(spec.data, spec.seed)
    if uses_single_logit(spec.train.loss, prepared.schema):
        prepared.schema = prepared.schema.model_copy(update={"single_logit": True})
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    return spec, prepared, network


class StepRates(Callback):
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_after_optimizer_step(self, trainer, state) -> None:
        self.rates.append(trainer.optimizer.param_groups[0]["lr"])


def test_linear_warmup_then_cosine() -> None:
    spec, prepared, network = setup(
        {
            "epochs": 2,
            "batch_size": 64,
            "optimizer": {"type": "sgd", "lr": 0.1},
            "schedule": {"type": "cosine", "warmup_steps": 5, "min_lr": 0.01},
        }
    )
    rates = StepRates()
    Trainer(spec.train, callbacks=[rates]).fit(network, prepared)
    total = len(rates.rates)
    # The rate after step k is the one for step k (a LambdaLR of the step count).
    warm = [
        0.1 * (k + 1) / 6 * (0.01 / 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / total)))
        for k in range(1, 5)
    ]
    assert rates.rates[:4] == pytest.approx(warm)
    assert rates.rates[-1] == pytest.approx(0.01, rel=1e-3)
    assert max(rates.rates) <= 0.1 + 1e-9


def test_plateau_schedule_cuts_the_rate_when_validation_stalls() -> None:
    spec, prepared, network = setup(
        {
            "epochs": 6,
            "optimizer": {"type": "sgd", "lr": 5.0},  # far too high: no progress
            "schedule": {"type": "plateau", "patience": 0, "factor": 0.5},
            "nan_guard": False,
        }
    )
    result = Trainer(spec.train).fit(network, prepared)
    rates = [epoch["lr"] for epoch in result.history]
    assert rates[0] == 5.0 and min(rates) < 5.0
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates))


@pytest.mark.parametrize("loss", ["bce", "bce_with_logits"])
def test_binary_losses_use_one_logit(loss: str) -> None:
    spec, prepared, network = setup(
        {"epochs": 15, "loss": loss, "metrics": ["accuracy", "roc_auc", "f1_macro"]},
        dataset="breast-cancer",
    )
    assert prepared.schema.single_logit and network.output_shape == (1,)
    trainer = Trainer(spec.train)
    result = trainer.fit(network, prepared)
    assert result.history[-1]["val_accuracy"] > 0.9
    assert result.history[-1]["val_roc_auc"] > 0.95
    _, ten_classes, network = setup({"loss": "cross_entropy"})
    bce = load_spec({"data": "digits", "model": {"template": "mlp"}, "train": {"loss": "bce"}})
    with pytest.raises(UserError, match="'bce' is for two classes; this data has 10"):
        Trainer(bce.train).fit(network, ten_classes)


def test_nll_equals_cross_entropy_and_class_weights_apply() -> None:
    histories = []
    for loss in ({"type": "cross_entropy"}, {"type": "nll"}):
        spec, prepared, network = setup({"epochs": 2, "loss": loss})
        histories.append(Trainer(spec.train).fit(network, prepared).history)
    assert histories[0][-1]["train_loss"] == pytest.approx(histories[1][-1]["train_loss"], rel=1e-5)
    spec, prepared, network = setup({"epochs": 1, "loss": {"class_weights": "balanced"}})
    trainer = Trainer(spec.train)
    trainer.fit(network, prepared)
    counts = torch.tensor(prepared.class_counts(), dtype=torch.float32)
    assert torch.allclose(trainer.loss_fn.weight.cpu(), counts.sum() / (10 * counts))
    spec, prepared, network = setup({"loss": {"class_weights": [1.0, 2.0]}})
    with pytest.raises(UserError, match="2 weights for 10 classes"):
        Trainer(spec.train).fit(network, prepared)


def test_gradient_accumulation_matches_a_larger_batch() -> None:
    weights = []
    for train in ({"batch_size": 32}, {"batch_size": 16, "accumulate": 2}):
        spec, prepared, network = setup(
            {"epochs": 2, "optimizer": {"type": "sgd", "lr": 0.1}, **train},
            model={"template": "mlp", "hidden": [16]},
        )
        # 1079 samples: 33 batches of 32 (the last of 23) = 16 full pairs of 16 + 16 + 7.
        assert len(prepared.train) == 1079
        result = Trainer(spec.train).fit(network, prepared)
        weights.append((result.steps, network.state_dict()))
    (steps_a, a), (steps_b, b) = weights
    assert steps_a == steps_b
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-5), name


def test_nan_guard_names_the_step_and_last_finite_loss() -> None:
    spec, prepared, network = setup(
        {"epochs": 3, "optimizer": {"type": "sgd", "lr": 1e12}}, dataset="diabetes"
    )
    with pytest.raises(TrainingDiverged) as caught:
        Trainer(spec.train).fit(network, prepared)
    message = str(caught.value)
    assert "the loss became" in message and "at step " in message
    assert "the last finite loss was" in message


def test_freeze_and_parameter_groups() -> None:
    spec, prepared, network = setup(
        {
            "epochs": 2,
            "freeze": ["dense_2"],
            "optimizer": {
                "type": "sgd",
                "lr": 0.01,
                "param_groups": [{"params": "output.*", "lr": 0.5}],
            },
        }
    )
    before = {k: v.clone() for k, v in network.state_dict().items()}
    trainer = Trainer(spec.train)
    trainer.fit(network, prepared)
    after = network.state_dict()
    assert trainer.frozen == ["dense_2.linear.weight", "dense_2.linear.bias"]
    assert torch.equal(before["dense_2.linear.weight"], after["dense_2.linear.weight"])
    assert not torch.equal(before["output.linear.weight"], after["output.linear.weight"])
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.5]
    spec, prepared, network = setup({"freeze": ["conv*"]})
    with pytest.raises(UserError, match=r"train.freeze\[0\]: 'conv\*' matches no parameter"):
        Trainer(spec.train).fit(network, prepared)


def test_transfer_keeps_matching_tensors_and_renews_the_head() -> None:
    from athanor.data.schema import InputSchema, Schema

    spec = load_spec({"data": "digits", "model": {"template": "mlp", "hidden": [32]}})
    ten = Schema(
        task="classification",
        input=InputSchema(kind="image", shape=[1, 8, 8]),
        classes=[str(i) for i in range(10)],
    )
    five = ten.model_copy(update={"classes": [str(i) for i in range(5)]})
    source = build_network(spec.model, ten, seed=1).state_dict()
    target = build_network(spec.model, five, seed=2)
    report = load_matching(target, source, strict=True, source_name="digits@1")
    assert report.reinitialized == ["output.linear.weight", "output.linear.bias"]
    assert torch.equal(
        target.state_dict()["dense_2.linear.weight"], source["dense_2.linear.weight"]
    )
    wider = build_network(
        load_spec({"data": "digits", "model": {"template": "mlp", "hidden": [64]}}).model, five
    )
    with pytest.raises(
        UserError, match=r"dense_2.linear.weight \(shape \[64, 64\] here, \[32, 64\]"
    ):
        load_matching(wider, source, strict=True, source_name="digits@1")


def test_bf16_on_cpu_and_fp16_needs_a_gpu() -> None:
    spec, prepared, network = setup({"epochs": 2, "precision": "bf16"})
    result = Trainer(spec.train).fit(network, prepared)
    assert result.history[-1]["val_accuracy"] > 0.7
    if not torch.cuda.is_available():
        spec, prepared, network = setup({"precision": "fp16"})
        with pytest.raises(UserError, match="fp16 needs a CUDA GPU"):
            Trainer(spec.train).fit(network, prepared)


def test_channels_last_trains_the_same_network_in_nhwc() -> None:
    cnn = {
        "layers": [
            {"conv2d": {"filters": 8, "padding": "same", "activation": "relu"}},
            {"conv2d": {"filters": 8, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            "flatten",
        ]
    }
    results = {}
    for channels_last in (False, True):
        spec, prepared, network = setup(
            {"epochs": 2, "batch_size": 64, "channels_last": channels_last}, model=cnn
        )
        result = Trainer(spec.train).fit(network, prepared)
        weight = dict(network.named_parameters())[
            "conv2d_2.conv.weight"
        ]  # 8 channels in: layouts differ
        assert weight.is_contiguous(memory_format=torch.channels_last) == channels_last
        results[channels_last] = result.history[-1]["val_accuracy"]
    assert results[True] > 0.5 and results[True] == pytest.approx(results[False], abs=0.03)

"""Transfer presets: feature extraction keeps the backbone (and its batch norm statistics)
exactly; fine-tuning trains the backbone at a fraction of the head's rate."""

from __future__ import annotations

import pytest
import torch

import athanor as at
from athanor.errors import SpecError, UserError
from athanor.spec import load_spec
from athanor.training.optimizers import build_optimizer
from athanor.training.transfer import apply_transfer, with_transfer_groups

BASE = {
    "seed": 5,
    "data": {"dataset": "digits"},
    "model": {
        "layers": [
            {"conv2d": {"filters": 8, "padding": "same", "batchnorm": True, "activation": "relu"}},
            {"maxpool": 2},
            "flatten",
            {"dense": {"units": 16, "batchnorm": True, "activation": "relu"}},
        ]
    },
    "train": {"epochs": 2, "batch_size": 64, "optimizer": {"lr": 0.01}},
}


def test_feature_extraction_trains_only_the_head_and_keeps_batch_norm_statistics() -> None:
    base = at.train(BASE, register_as="digits-bn-base", progress=False)
    start = {k: v.clone() for k, v in base.network.state_dict().items()}
    features = at.train(
        {**BASE, "train": {**BASE["train"], "init_from": "digits-bn-base", "transfer": "features"}},
        progress=False,
    )
    after = features.network.state_dict()
    backbone = [k for k in start if not k.startswith("output.")]
    # weights and the running mean/var of every batch norm layer: as pretrained, exactly
    assert all(torch.equal(start[k], after[k].cpu()) for k in backbone)
    assert any(k.endswith("running_mean") for k in backbone)
    assert not torch.equal(start["output.linear.weight"], after["output.linear.weight"].cpu())
    frozen = features.run.summary["frozen"]
    assert "conv2d_1.conv.weight" in frozen and "output.linear.weight" not in frozen
    head = sum(p.numel() for n, p in features.network.named_parameters() if n.startswith("output"))
    assert features.run.summary["parameters"]["trainable"] == head
    assert features.test_metrics["test_accuracy"] > 0.8


def test_gradual_unfreezing_thaws_from_the_output_end_one_layer_per_epoch() -> None:
    trained = at.train(BASE, register_as="digits-bn-base", progress=False).network
    base = {k: v.detach().cpu().clone() for k, v in trained.state_dict().items()}
    gradual = at.train(
        {
            **BASE,
            "train": {
                **BASE["train"],
                "init_from": "digits-bn-base",
                "transfer": {"preset": "gradual", "backbone_lr": 0.5},
            },
        },
        progress=False,
    )
    after = {k: v.cpu() for k, v in gradual.network.state_dict().items()}
    changed = sorted({k.split(".")[0] for k in base if not torch.equal(base[k], after[k])})
    # epoch 1: the head; epoch 2: also the dense layer below it; the convolution never
    assert changed == ["dense_4", "output"]


def test_fine_tuning_gives_the_backbone_a_fraction_of_the_rate() -> None:
    spec = load_spec(
        {
            **BASE,
            "train": {
                "optimizer": {"type": "sgd", "lr": 0.1},
                "transfer": {"preset": "fine_tune", "backbone_lr": 0.05},
            },
        }
    )
    network = at.nets.build_network(spec.model, _digits_schema())
    assert apply_transfer(network, spec.train.transfer) == []  # nothing frozen
    optimizer = build_optimizer(with_transfer_groups(spec.train).optimizer, network)
    rates = [(len(group["params"]), group["lr"]) for group in optimizer.param_groups]
    assert rates == [(2, 0.1), (sum(1 for _ in network.parameters()) - 2, pytest.approx(0.005))]


def test_transfer_mistakes_name_the_key() -> None:
    with pytest.raises(
        SpecError, match=r"train\.transfer: must be 'features', 'fine_tune' or 'gradual'"
    ):
        load_spec({**BASE, "train": {"transfer": "freeze"}})
    spec = load_spec({**BASE, "train": {"transfer": {"preset": "features", "head": "fc.*"}}})
    network = at.nets.build_network(spec.model, _digits_schema())
    with pytest.raises(UserError, match=r"train\.transfer\.head: 'fc\.\*' matches no parameter"):
        apply_transfer(network, spec.train.transfer)


def _digits_schema():
    from athanor.data.schema import InputSchema, Schema

    return Schema(
        task="classification",
        input=InputSchema(kind="image", shape=[1, 8, 8]),
        classes=[str(i) for i in range(10)],
    )


def test_the_documented_transfer_spec_is_valid() -> None:
    from pathlib import Path

    path = Path(__file__).parents[2] / "docs" / "specs" / "resnet18-transfer.yaml"
    spec = load_spec(path)
    assert spec.model.pretrained == "imagenet" and spec.train.transfer.preset == "fine_tune"
    assert (spec.data.normalize, spec.data.image.size) == ("imagenet", [224, 224])

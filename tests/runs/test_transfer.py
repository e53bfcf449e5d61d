"""Transfer learning through the API: start from a registered version, freeze, fine-tune."""

from __future__ import annotations

import pytest

import athanor as at
from athanor.errors import DatasetUnavailable, NotFound, UserError

BASE = {
    "name": "base",
    "seed": 3,
    "data": {"dataset": "digits"},
    "model": {
        "layers": [
            {"conv2d": {"filters": 8, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            "flatten",
            {"dense": 32},
        ]
    },
    "train": {"epochs": 8, "batch_size": 32, "optimizer": {"lr": 0.005}},
}


def test_fine_tuning_starts_from_the_registered_weights() -> None:
    base = at.train(BASE, register_as="digits-base", progress=False)
    assert base.test_metrics["test_accuracy"] > 0.85
    tuned = at.train(
        {
            **BASE,
            "name": "tuned",
            "train": {
                "epochs": 1,
                "optimizer": {"type": "sgd", "lr": 1e-9},  # (almost) no learning
                "init_from": "digits-base@1",
                "freeze": ["conv2d_1"],
            },
        },
        register_as="digits-tuned",
        progress=False,
    )
    summary = tuned.run.summary
    assert summary["init_from"].startswith("loaded 6 tensors from digits-base@1")
    assert summary["frozen"] == ["conv2d_1.conv.weight", "conv2d_1.conv.bias"]
    # the parameter counts are taken after the freeze (they said "frozen 0" before)
    total = sum(p.numel() for p in tuned.network.parameters())
    assert summary["parameters"] == {"trainable": total - (8 * 9 + 8), "frozen": 8 * 9 + 8}
    assert summary["parent"] == "digits-base@1"
    assert at.models.show("digits-tuned")["lineage"]["parent"] == "digits-base@1"
    assert at.summary("digits-tuned").frozen == 8 * 9 + 8
    # With no learning, the fine-tuned copy scores what the base scored on the same test split.
    assert tuned.test_metrics["test_accuracy"] == pytest.approx(base.test_metrics["test_accuracy"])


def test_init_from_mistakes() -> None:
    at.train({**BASE, "train": {"epochs": 1}}, register_as="digits-base", progress=False)
    with pytest.raises(NotFound, match="no model named 'nothing'"):
        at.train({**BASE, "train": {"epochs": 1, "init_from": "nothing"}}, progress=False)
    wider = {
        **BASE,
        "model": {
            "layers": [
                {"conv2d": {"filters": 16, "padding": "same"}},
                {"maxpool": 2},
                "flatten",
                {"dense": 32},
            ]
        },
        "train": {"epochs": 1, "init_from": "digits-base"},
    }
    with pytest.raises(UserError, match=r"conv2d_1.conv.weight \(shape \[16, 1, 3, 3\] here"):
        at.train(wider, progress=False)
    assert at.runs.list()[0].status == "failed"


def test_published_weights_are_looked_up_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    # No test reaches the internet: with downloads off and no copy in the mirror, the run
    # fails naming the file, where it looked, and how to provide it.
    monkeypatch.setenv("ATHANOR_OFFLINE", "1")
    pretrained = {
        "data": {"dataset": "digits", "image": {"size": [32, 32]}},
        "model": {"template": "resnet", "depth": 18, "pretrained": "imagenet"},
        "train": {"epochs": 1},
    }
    with pytest.raises(DatasetUnavailable, match=r"resnet18-f37072fd\.pth: not in ATHANOR_DATA"):
        at.train(pretrained, progress=False)
    assert at.runs.list()[0].status == "failed"
    zoo = {**pretrained, "model": {"template": "resnet"}, "train": {"init_from": "zoo:resnet99"}}
    with pytest.raises(UserError, match="valid: zoo:resnet18, zoo:resnet34, zoo:resnet50"):
        at.train(zoo, progress=False)

"""CUDA paths: data resident on the GPU, mixed precision, torch.compile, resume on the GPU.

Skipped where no CUDA GPU is visible (CI has none); run them on a GPU machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from athanor.data.prepare import prepare
from athanor.nets import build_network
from athanor.spec import load_spec
from athanor.training import Trainer
from athanor.training.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")


def setup(train: dict):
    spec = load_spec(
        {
            "data": {"dataset": "digits", "split": {"val": 0.2, "test": 0.2}},
            "model": {
                "layers": [
                    {
                        "conv2d": {
                            "filters": 16,
                            "padding": "same",
                            "activation": "relu",
                            "batchnorm": True,
                        }
                    },
                    {"maxpool": 2},
                    "flatten",
                    {"dense": {"units": 64, "dropout": 0.2, "activation": "relu"}},
                ]
            },
            "train": {"epochs": 6, "batch_size": 64, "optimizer": {"lr": 0.003}, **train},
        }
    )
    prepared = prepare(spec.data, spec.seed)
    return spec, prepared, build_network(spec.model, prepared.schema, seed=0)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_training_on_the_gpu(precision: str) -> None:
    spec, prepared, network = setup({"precision": precision})
    trainer = Trainer(spec.train)
    result = trainer.fit(network, prepared)
    assert result.device.startswith("cuda")
    assert next(network.parameters()).is_cuda
    assert result.history[-1]["val_accuracy"] > 0.9
    assert (trainer.scaler is not None) == (precision == "fp16")
    assert trainer.test(prepared)["test_accuracy"] > 0.9


def test_compiled_network_trains() -> None:
    spec, prepared, network = setup({"compile": True, "epochs": 3})
    result = Trainer(spec.train).fit(network, prepared)
    assert result.history[-1]["val_accuracy"] > 0.85


def test_resume_on_the_gpu_matches(tmp_path: Path) -> None:
    spec, prepared, network = setup(
        {"epochs": 3, "precision": "fp16", "checkpoint": {"every_steps": 5, "keep": 100}}
    )
    straight = Trainer(spec.train, checkpoint_dir=tmp_path / "a")
    straight.fit(network, prepared)
    expected = network.state_dict()
    middle = sorted((tmp_path / "a").glob("step-*"))[3]  # a mid-epoch checkpoint
    assert load_checkpoint(middle)["scaler"] is not None
    _, _, fresh = setup({})
    resumed = Trainer(spec.train, checkpoint_dir=tmp_path / "b")
    resumed.fit(fresh, prepared, resume_from=middle)
    for name, tensor in fresh.state_dict().items():
        assert torch.allclose(tensor, expected[name], atol=1e-6), name

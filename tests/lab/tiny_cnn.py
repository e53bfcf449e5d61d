"""A tiny MNIST CNN trained in seconds, for the tests of what a CNN sees."""

from __future__ import annotations

from pathlib import Path

MNIST_CNN = {
    "name": "tiny-mnist-cnn",
    "seed": 5,
    "data": {
        "dataset": "mnist",
        "split": {"val": 200},
        "subset": {"train": 1500, "val": 200, "test": 200},
        "normalize": "standard",
    },
    "model": {
        "layers": [
            {"conv2d": {"filters": 6, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            {"conv2d": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            "flatten",
        ]
    },
    "train": {"epochs": 2, "batch_size": 64, "optimizer": {"type": "adam", "lr": 0.01}},
}


def train_mnist_cnn(home: Path, mirror: Path):
    """Train :data:`MNIST_CNN` into a store at ``home`` and register it as ``tiny-mnist-cnn``;
    returns the run and the settings."""
    import athanor as at
    from athanor.settings import Settings

    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=(mirror,)
    )
    run = at.train(MNIST_CNN, register_as="tiny-mnist-cnn", progress=False, settings=settings)
    return run, settings

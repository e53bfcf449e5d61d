"""MNIST handwritten digits (LeCun, Cortes & Burges): 60,000 + 10,000 28x28 grey images."""

from __future__ import annotations

import numpy as np

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import RemoteFile, fetch
from athanor.data.idx import read_idx_file
from athanor.data.raw import RawDataset
from athanor.settings import Settings

_BASES = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# SHA-256 of the decompressed IDX content.
MNIST_FILES = {
    "train_images": RemoteFile(
        "train-images-idx3-ubyte.gz",
        tuple(base + "train-images-idx3-ubyte.gz" for base in _BASES),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        gzipped=True,
    ),
    "train_labels": RemoteFile(
        "train-labels-idx1-ubyte.gz",
        tuple(base + "train-labels-idx1-ubyte.gz" for base in _BASES),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        gzipped=True,
    ),
    "test_images": RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        tuple(base + "t10k-images-idx3-ubyte.gz" for base in _BASES),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        gzipped=True,
    ),
    "test_labels": RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        tuple(base + "t10k-labels-idx1-ubyte.gz" for base in _BASES),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        gzipped=True,
    ),
}


def load_idx_dataset(
    name: str, files: dict[str, RemoteFile], classes: list[str], settings: Settings | None
) -> RawDataset:
    """Load a dataset of four IDX files (train/test images/labels) into a RawDataset."""
    arrays: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}
    for key, remote in files.items():
        path = fetch(remote, settings=settings)
        arrays[key] = read_idx_file(path)
        origin[remote.name] = str(path)
    return RawDataset(
        name=name,
        kind="image",
        task="classification",
        x=arrays["train_images"][:, None, :, :],
        y=arrays["train_labels"].astype(np.int64),
        x_test=arrays["test_images"][:, None, :, :],
        y_test=arrays["test_labels"].astype(np.int64),
        classes=classes,
        origin=origin,
    )


register_dataset(
    DatasetEntry(
        name="mnist",
        task="classification",
        kind="image",
        size="60,000 train + 10,000 test, 1x28x28, 10 classes",
        license="CC BY-SA 3.0 (Y. LeCun, C. Cortes)",
        source="http://yann.lecun.com/exdb/mnist/",
        description="Handwritten digits 0-9.",
        loader=lambda settings: load_idx_dataset(
            "mnist", MNIST_FILES, [str(d) for d in range(10)], settings
        ),
    )
)

"""Fashion-MNIST (Zalando Research): 60,000 + 10,000 28x28 grey images of clothing."""

from __future__ import annotations

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import RemoteFile
from athanor.data.sources.mnist import load_idx_dataset

_BASES = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)

CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def _remote(name: str, md5: str) -> RemoteFile:
    # The project publishes MD5 sums of the .gz files themselves.
    return RemoteFile(
        name,
        tuple(base + name for base in _BASES),
        md5,
        gzipped=True,
        algorithm="md5",
        whole_file=True,
        folder="fashion-mnist",  # MNIST's files have the same names
    )


FASHION_MNIST_FILES = {
    "train_images": _remote("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    "train_labels": _remote("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    "test_images": _remote("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    "test_labels": _remote("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
}

register_dataset(
    DatasetEntry(
        name="fashion-mnist",
        task="classification",
        kind="image",
        size="60,000 train + 10,000 test, 1x28x28, 10 classes",
        license="MIT (Zalando SE)",
        source="https://github.com/zalandoresearch/fashion-mnist",
        description="Clothing articles (shirts, shoes, bags...); a harder drop-in for MNIST.",
        loader=lambda settings: load_idx_dataset(
            "fashion-mnist", FASHION_MNIST_FILES, CLASSES, settings
        ),
    )
)

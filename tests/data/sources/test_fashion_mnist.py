"""Fashion-MNIST: the published MD5s, and loading IDX files found in a mirror by name."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from athanor.data.sources.fashion_mnist import CLASSES, FASHION_MNIST_FILES
from athanor.data.sources.mnist import load_idx_dataset
from athanor.settings import Settings


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_published_checksums_and_urls() -> None:
    assert FASHION_MNIST_FILES["train_images"].digest == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert FASHION_MNIST_FILES["test_labels"].digest == "bb300cfdad3c16e7a12a480ee83cd310"
    for remote in FASHION_MNIST_FILES.values():
        assert remote.algorithm == "md5" and remote.whole_file and remote.folder
        assert remote.urls[0].startswith("http://fashion-mnist.s3-website")


def test_loads_from_a_mirror_beside_mnist_files_of_the_same_name(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, (12, 28, 28)),
        "train_labels": rng.integers(0, 10, 12),
        "test_images": rng.integers(0, 256, (4, 28, 28)),
        "test_labels": rng.integers(0, 10, 4),
    }
    mirror = tmp_path / "mirror"
    (mirror / "mnist").mkdir(parents=True)
    (mirror / "fashion").mkdir()
    files = {}
    for key, remote in FASHION_MNIST_FILES.items():
        payload = gzip.compress(_idx(arrays[key]))
        (mirror / "fashion" / remote.name).write_bytes(payload)
        # A different file of the same name (as MNIST's) must be passed over, not used.
        (mirror / "mnist" / remote.name).write_bytes(gzip.compress(b"other"))
        files[key] = replace(remote, digest=hashlib.md5(payload).hexdigest())
    settings = Settings(home=tmp_path / "home", db_url="sqlite://", data_mirrors=(mirror,))
    raw = load_idx_dataset("fashion-mnist", files, CLASSES, settings)
    assert raw.x.shape == (12, 1, 28, 28) and raw.x_test.shape == (4, 1, 28, 28)
    assert np.array_equal(raw.y, arrays["train_labels"])
    assert raw.classes[9] == "Ankle boot"
    assert all("fashion" in path for path in raw.origin.values())

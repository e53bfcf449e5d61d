"""CIFAR-10 (Krizhevsky, 2009): 50,000 + 10,000 32x32 colour images in 10 classes.

The binary version is read straight from its archive: each record is one label byte and
3,072 pixel bytes (the red, green and blue 32x32 planes). Nothing is unpickled or unpacked.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import RemoteFile, fetch
from athanor.data.raw import RawDataset
from athanor.errors import DataError
from athanor.settings import Settings

CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
RECORD = 1 + 3 * 32 * 32
FOLDER = "cifar-10-batches-bin"
TRAIN_MEMBERS = tuple(f"{FOLDER}/data_batch_{i}.bin" for i in range(1, 6))
TEST_MEMBER = f"{FOLDER}/test_batch.bin"

# The MD5 published on the dataset's page, of the archive itself.
CIFAR10_ARCHIVE = RemoteFile(
    "cifar-10-binary.tar.gz",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
    "c32a1d4ab5d03f1284b67883e8d87530",
    algorithm="md5",
    whole_file=True,
)


def read_cifar_records(content: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``uint8 [N, 3, 32, 32]`` and labels ``int64 [N]`` of one binary batch.

    Raises:
        DataError: a length that is not a whole number of records, or a label above 9.
    """
    if len(content) % RECORD:
        raise DataError(f"{source}: {len(content)} bytes is not a whole number of records")
    records = np.frombuffer(content, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if len(labels) and labels.max() >= len(CLASSES):
        raise DataError(f"{source}: label {labels.max()} is not one of the 10 classes")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def load_cifar10_archive(path: Path, name: str = "cifar10") -> RawDataset:
    """CIFAR-10 from its binary archive (the six batch members only).

    Raises:
        DataError: a member is missing or malformed.
    """
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in (*TRAIN_MEMBERS, TEST_MEMBER):
                handle = archive.extractfile(member)
                if handle is None:
                    raise DataError(f"{path}: {member} is not a regular file")
                parts[member] = read_cifar_records(handle.read(), f"{path}:{member}")
    except KeyError as exc:
        raise DataError(f"{path}: the archive lacks {exc}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{path}: unreadable archive ({exc})") from None
    x = np.concatenate([parts[m][0] for m in TRAIN_MEMBERS])
    y = np.concatenate([parts[m][1] for m in TRAIN_MEMBERS])
    return RawDataset(
        name=name,
        kind="image",
        task="classification",
        x=x,
        y=y,
        x_test=parts[TEST_MEMBER][0],
        y_test=parts[TEST_MEMBER][1],
        classes=list(CLASSES),
        origin={CIFAR10_ARCHIVE.name: str(path)},
    )


def _load(settings: Settings | None, remote: RemoteFile = CIFAR10_ARCHIVE) -> RawDataset:
    return load_cifar10_archive(fetch(remote, settings=settings))


register_dataset(
    DatasetEntry(
        name="cifar10",
        task="classification",
        kind="image",
        size="50,000 train + 10,000 test, 3x32x32, 10 classes",
        license="free to use, cite Krizhevsky (2009)",
        source="https://www.cs.toronto.edu/~kriz/cifar.html",
        description="Small colour photos of aeroplanes, cars, birds, cats, ships, trucks...",
        loader=_load,
    )
)

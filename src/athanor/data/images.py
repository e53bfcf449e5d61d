"""Images of any size: a compact collection, folder import, and resizing to one size.

An :class:`ImageCollection` keeps each image as ``uint8 [C, H, W]`` bytes in one flat
buffer with offsets and shapes. Saved to disk (``pixels.bin`` + ``offsets.npy`` +
``shapes.npy``), it is memory-mapped, so any image is read without loading the others.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.class_folders import BadFile, ClassFolderContents, read_class_folders
from athanor.data.image_decoding import ImageTooLarge, decoded_image
from athanor.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
PIXELS, OFFSETS, SHAPES = "pixels.bin", "offsets.npy", "shapes.npy"


class ImageCollection:
    """Images of possibly different sizes and channel counts, indexable like an array.

    Args:
        pixels: the flat ``uint8`` buffer of every image (C-order ``[C, H, W]`` each).
        offsets: ``int64 [M + 1]`` start of each image in ``pixels`` (and the end).
        shapes: ``int64 [M, 3]`` the ``[C, H, W]`` of each image.
        index: which of the M images this collection holds, in order (default all).
    """

    def __init__(
        self,
        pixels: np.ndarray,
        offsets: np.ndarray,
        shapes: np.ndarray,
        index: np.ndarray | None = None,
    ) -> None:
        self.pixels = pixels
        self.offsets = offsets
        self.shapes = shapes
        self.index = np.arange(len(shapes)) if index is None else np.asarray(index)

    @classmethod
    def from_arrays(cls, images: list[np.ndarray]) -> ImageCollection:
        shapes = np.array([image.shape for image in images], dtype=np.int64).reshape(-1, 3)
        sizes = shapes.prod(axis=1)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        pixels = (
            np.concatenate([image.ravel() for image in images])
            if images
            else np.zeros(0, dtype=np.uint8)
        )
        return cls(pixels.astype(np.uint8, copy=False), offsets, shapes)

    @classmethod
    def load(cls, folder: Path) -> ImageCollection:
        """The collection saved in ``folder``, memory-mapped."""
        offsets = np.load(folder / OFFSETS, allow_pickle=False)
        shapes = np.load(folder / SHAPES, allow_pickle=False)
        size = int(offsets[-1]) if len(offsets) else 0
        pixels = (
            np.memmap(folder / PIXELS, dtype=np.uint8, mode="r", shape=(size,))
            if size
            else np.zeros(0, dtype=np.uint8)
        )
        return cls(pixels, offsets, shapes)

    def save(self, folder: Path) -> None:
        """Write the images of this collection (compacted) into ``folder``."""
        compact = ImageCollection.from_arrays(list(self))
        compact.pixels.tofile(folder / PIXELS)
        np.save(folder / OFFSETS, compact.offsets, allow_pickle=False)
        np.save(folder / SHAPES, compact.shapes, allow_pickle=False)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: Any) -> ImageCollection:
        return ImageCollection(self.pixels, self.offsets, self.shapes, self.index[index])

    def image(self, position: int) -> np.ndarray:
        """Image ``position`` of this collection as ``uint8 [C, H, W]``."""
        i = int(self.index[position])
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return np.asarray(self.pixels[start:end]).reshape(tuple(self.shapes[i]))

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.image(p) for p in range(len(self)))

    def read(self, positions: list[int]) -> Iterator[np.ndarray]:
        """Images ``positions`` of this collection, each as ``uint8 [C, H, W]``.

        From a collection loaded from disk, the bytes are read from its file rather than
        through the memory map: streaming every image of a large collection then leaves
        them in the page cache (which the kernel reclaims) instead of in the resident
        memory of each process that reads them.
        """
        filename = getattr(self.pixels, "filename", None)
        if filename is None:
            yield from (self.image(p) for p in positions)
            return
        base = int(getattr(self.pixels, "offset", 0))
        with open(filename, "rb", buffering=0) as file:
            for position in positions:
                i = int(self.index[position])
                start, end = int(self.offsets[i]), int(self.offsets[i + 1])
                image = np.empty(end - start, dtype=np.uint8)
                if os.preadv(file.fileno(), [image], base + start) != end - start:
                    raise DataError(f"{filename}: shorter than its offsets say; import again")
                yield image.reshape(tuple(self.shapes[i]))

    @property
    def own_shapes(self) -> np.ndarray:
        return self.shapes[self.index]

    @property
    def uniform(self) -> bool:
        """Whether every image has the same shape."""
        shapes = self.own_shapes
        return bool(len(shapes) == 0 or (shapes == shapes[0]).all())

    def dense(self) -> np.ndarray:
        """All images as one ``uint8 [N, C, H, W]`` array (they must share one shape)."""
        if not len(self):
            return np.zeros((0, 1, 1, 1), dtype=np.uint8)
        return np.stack(list(self))

    def common_size(self) -> tuple[int, int]:
        """The most frequent ``(height, width)`` (the largest among equally frequent ones)."""
        counts = Counter(map(tuple, self.own_shapes[:, 1:].tolist()))
        return max(counts, key=lambda hw: (counts[hw], hw[0] * hw[1]))  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        """3 when any image is in colour, else 1."""
        return 3 if len(self) and int(self.own_shapes[:, 0].max()) >= 3 else 1

    def resized(self, size: tuple[int, int], channels: int) -> np.ndarray:
        """Every image at ``size`` (height, width) with ``channels`` as ``uint8 [N, C, H, W]``."""
        out = np.empty((len(self), channels, *size), dtype=np.uint8)
        for position in range(len(self)):
            out[position] = fit_image(self.image(position), size, channels)
        return out


def fit_image(image: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """One ``uint8 [C, H, W]`` image at ``size`` and ``channels`` (grey <-> RGB, resized).

    Shrinking averages areas (thin strokes survive); enlarging is bilinear.
    """
    from PIL import Image

    height, width = size
    if image.shape[0] == channels and image.shape[1:] == (height, width):
        return image
    if image.shape[0] == channels:
        # Each channel plane resized on its own gives the same bytes as resizing the RGB
        # image, without the two transposing copies between [C, H, W] and [H, W, C].
        shrinking = image.shape[2] > width or image.shape[1] > height
        resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
        return np.stack(
            [
                np.asarray(Image.fromarray(plane).resize((width, height), resample))
                for plane in image
            ]
        )
    mode_image = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
    mode_image = mode_image.convert("L" if channels == 1 else "RGB")
    if mode_image.size != (width, height):
        shrinking = mode_image.size[0] > width or mode_image.size[1] > height
        resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
        mode_image = mode_image.resize((width, height), resample)
    array = np.asarray(mode_image, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def decode_image_file(path: Path) -> np.ndarray:
    """An image file as ``uint8 [C, H, W]`` (C = 1 for grey images, else 3).

    Raises:
        ImageTooLarge: naming the file, when it has more pixels than the limit.
        DataError: naming the file, when it is not a complete, readable image.
    """
    with decoded_image(path) as image:
        grey = image.mode in ("1", "L", "LA", "I", "I;16", "F") or (
            image.mode == "P" and _palette_is_grey(image)
        )
        converted = image.convert("L" if grey else "RGB")
    array = np.asarray(converted, dtype=np.uint8)
    return array[None] if grey else array.transpose(2, 0, 1).copy()


def _palette_is_grey(image: Any) -> bool:
    palette = image.getpalette() or []
    triples = [palette[i : i + 3] for i in range(0, len(palette), 3)]
    return all(r == g == b for r, g, b in triples)


ImageFolder = ClassFolderContents[np.ndarray]
"""Images (``uint8 [C, H, W]`` each) read from class folders, with labels and what was skipped."""


def read_image_folder(root: Path, *, skip_bad: bool = False, unlabeled: bool = True) -> ImageFolder:
    """Read ``root/<class>/<image>`` (or ``root/train/<class>/...`` + ``root/test/...``).

    Folders are walked by :func:`athanor.data.class_folders.read_class_folders`: hidden
    files (``.DS_Store``...) are ignored. Anything else that is not a readable
    PNG/JPEG/BMP/WebP image, and any class folder without images, is an error naming the
    file or folder; with ``skip_bad`` those are left out and listed instead. Images beside
    the class folders, or in a folder without any, are unlabeled (label ``-1``) unless
    ``unlabeled`` is False, when they are errors.

    Raises:
        DataError: the problem with the folder or the first bad file.
    """
    return _image_class_folders(root, _read_image, skip_bad=skip_bad, unlabeled=unlabeled)


def _image_class_folders(
    root: Path, read: Callable[[Path], Any], *, skip_bad: bool, unlabeled: bool
) -> ClassFolderContents:
    """:func:`read_class_folders` over images, each file given to ``read``."""
    found = read_class_folders(
        root,
        read,
        noun="images",
        example="cats/001.png, dogs/002.jpg",
        add_hint="add some",
        skip_bad=skip_bad,
        unlabeled=unlabeled,
    )
    if not found.items:
        raise DataError(f"{root}: no readable images")
    return found


class ImageFileTooLarge(BadFile, ImageTooLarge):
    """An image of a class folder over the pixel limit (still an :class:`ImageTooLarge`)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message, reason or message.split(": ", 1)[-1])


def write_image_folder(root: Path, folder: Path, *, skip_bad: bool = False) -> ClassFolderContents:
    """Read ``root`` as :func:`read_image_folder` does, writing the images into ``folder``.

    Each image is appended to ``pixels.bin`` as soon as it is decoded, so memory holds one
    image at a time however large the folder; the result is what :meth:`ImageCollection.load`
    reads. The returned contents hold each image's ``[C, H, W]`` shape instead of its pixels.

    Raises:
        DataError: the problem with the folder or the first bad file.
    """
    shapes: list[tuple[int, ...]] = []
    with open(folder / PIXELS, "wb") as pixels:

        def write(path: Path) -> tuple[int, ...]:
            image = _read_image(path)
            pixels.write(np.ascontiguousarray(image).data)
            shapes.append(image.shape)
            return image.shape

        found = _image_class_folders(root, write, skip_bad=skip_bad, unlabeled=True)
    # Bad files raise before anything is written, so the file holds exactly these images.
    shape_array = np.array(found.items, dtype=np.int64).reshape(-1, 3)
    offsets = np.concatenate([[0], np.cumsum(shape_array.prod(axis=1))]).astype(np.int64)
    np.save(folder / OFFSETS, offsets, allow_pickle=False)
    np.save(folder / SHAPES, shape_array, allow_pickle=False)
    return found


def _read_image(path: Path) -> np.ndarray:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise BadFile(
            f"{path}: not an image file (expected "
            f"{'/'.join(s[1:].upper() for s in IMAGE_SUFFIXES)}); remove it or import with "
            "--skip-bad",
            "not an image file",
        )
    try:
        return decode_image_file(path)
    except ImageTooLarge as exc:
        raise ImageFileTooLarge(f"{exc}; remove it or import with --skip-bad") from None
    except DataError as exc:
        raise BadFile(
            f"{exc}; remove it or import with --skip-bad", str(exc).split(": ", 1)[-1]
        ) from None


def save_labels(folder: Path, labels: np.ndarray, is_test: np.ndarray, meta: dict) -> None:
    """Write the labels and split markers of an image version beside its pixels."""
    np.save(folder / "labels.npy", labels.astype(np.int64), allow_pickle=False)
    np.save(folder / "is_test.npy", is_test.astype(bool), allow_pickle=False)
    (folder / "images.json").write_text(json.dumps(meta, indent=1))

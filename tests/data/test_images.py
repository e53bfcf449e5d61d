from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from athanor.data.image_decoding import ImageTooLarge
from athanor.data.images import (
    ImageCollection,
    fit_image,
    read_image_folder,
    write_image_folder,
)
from athanor.errors import DataError
from tests.data.test_importing import make_shapes


def test_written_folder_loads_as_the_images_read_in_memory(tmp_path: Path) -> None:
    source = make_shapes(tmp_path / "shapes", per_class=5)
    first = sorted((source / "circle").iterdir())[0]
    (source / f"loose{first.suffix}").write_bytes(first.read_bytes())
    second = sorted((source / "square").iterdir())[1]
    broken = second.with_name(f"{second.stem}b{second.suffix}")  # between two good files
    broken.write_bytes(second.read_bytes()[: second.stat().st_size // 2])
    out = tmp_path / "out"
    out.mkdir()
    written = write_image_folder(source, out, skip_bad=True)
    read = read_image_folder(source, skip_bad=True)
    loaded = ImageCollection.load(out)
    assert len(loaded) == len(read.items) == 11  # 10 in classes, 1 loose; the broken one left out
    assert [image.shape for image in read.items] == [tuple(s) for s in written.items]
    assert all(np.array_equal(a, b) for a, b in zip(loaded, read.items, strict=True))
    assert written.labels.tolist() == read.labels.tolist() and -1 in written.labels
    assert [s["reason"] for s in written.skipped] == [s["reason"] for s in read.skipped]


def test_writing_refuses_an_oversized_jpeg_and_a_folder_without_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "photos"
    (source / "cats").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 10, 10)).save(source / "cats" / "big.jpg", quality=90)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(ImageTooLarge, match=r"big\.jpg.*1,200 pixels"):
        write_image_folder(source, out)
    with pytest.raises(DataError, match="no readable images"):
        write_image_folder(source, out, skip_bad=True)


@pytest.mark.parametrize(("shape", "size"), [((3, 224, 224), (64, 64)), ((3, 30, 41), (64, 50))])
def test_fitting_colour_images_matches_resizing_them_as_rgb(
    shape: tuple[int, int, int], size: tuple[int, int]
) -> None:
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    shrinking = shape[1] > size[0]
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    rgb = Image.fromarray(image.transpose(1, 2, 0)).resize(size[::-1], resample)
    fitted = fit_image(image, size, 3)
    assert fitted.shape == (3, *size) and fitted.dtype == np.uint8
    assert np.array_equal(fitted, np.asarray(rgb).transpose(2, 0, 1))


def test_reading_a_saved_collection_from_its_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (c, h, w), dtype=np.uint8) for c, h, w in [(1, 4, 5), (3, 2, 3)]]
    images.append(images[0][:, :3, :3].copy())
    ImageCollection.from_arrays(images).save(tmp_path)
    part = ImageCollection.load(tmp_path)[np.array([2, 0, 1])]
    read = list(part.read([0, 2, 1]))
    assert all(
        np.array_equal(a, b) for a, b in zip(read, [images[2], images[1], images[0]], strict=True)
    )
    assert read[1].flags.writeable and not np.shares_memory(read[1], part.pixels)
    in_memory = ImageCollection.from_arrays(images)
    assert np.array_equal(next(in_memory.read([1])), images[1])
    pixels = tmp_path / "pixels.bin"
    pixels.write_bytes(pixels.read_bytes()[:-4])
    truncated = ImageCollection(np.memmap(pixels, mode="r"), part.offsets, part.shapes)
    with pytest.raises(DataError, match="shorter than its offsets say"):
        list(truncated.read([2]))

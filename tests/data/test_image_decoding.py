"""Image decoding: only the documented formats, pixel counts checked from the header first."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from athanor.data.image_decoding import DECODE_BUDGET, ImageTooLarge, decoded_image
from athanor.data.images import decode_image_file
from athanor.data.importing import import_dataset
from athanor.errors import DataError, ResourceLimitError, SpecError
from tests.resource_bombs import EPS, png_bomb


def shapes_folder(root: Path, per_class: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for label in ("dark", "light"):
        (root / label).mkdir(parents=True)
        for index in range(per_class):
            base = 40 if label == "dark" else 200
            pixels = (base + rng.integers(0, 30, size=(12, 12))).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.png")
    return root


def test_a_png_bomb_is_refused_from_its_header_naming_the_file_and_the_limit(
    tmp_path: Path,
) -> None:
    bomb = tmp_path / "huge.png"
    bomb.write_bytes(png_bomb(20_000, 20_000))
    assert bomb.stat().st_size < 50_000
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge) as caught:
        decode_image_file(bomb)
    assert time.perf_counter() - started < 2.0  # decoding it would take far longer
    message = str(caught.value)
    assert message.startswith(f"{bomb}: the image has 400,000,000 pixels")
    assert "limit of 50,000,000 pixels" in message and "ATHANOR_MAX_IMAGE_PIXELS" in message
    assert isinstance(caught.value, DataError) and isinstance(caught.value, ResourceLimitError)
    assert DECODE_BUDGET.in_flight == 0


def test_the_pixel_limit_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((30, 40), 128, dtype=np.uint8)).save(image)
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(ImageTooLarge, match=r"photo.png: the image has 40x30 = 1,200 pixels, "):
        decode_image_file(image)
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "1200")
    assert decode_image_file(image).shape == (1, 30, 40)
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(SpecError, match="ATHANOR_MAX_IMAGE_PIXELS='lots': expected a whole"):
        decode_image_file(image)


def test_only_the_documented_formats_are_decoded(tmp_path: Path) -> None:
    disguised = tmp_path / "cat.png"
    disguised.write_bytes(EPS)
    with Image.open(disguised) as opened:  # what Pillow does when it may try every plugin
        assert opened.format == "EPS"
    with pytest.raises(DataError, match=r"cat.png: not a readable image \(PNG, JPEG, BMP, WebP"):
        decode_image_file(disguised)
    tiff = tmp_path / "scan.tiff"
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(tiff)
    with pytest.raises(DataError, match="scan.tiff: not a readable image"):
        decode_image_file(tiff)
    for suffix in ("png", "jpeg", "bmp", "gif", "webp"):
        path = tmp_path / f"ok.{suffix}"
        Image.fromarray(np.full((5, 6, 3), 90, dtype=np.uint8)).save(path)
        with decoded_image(path.read_bytes(), f"upload.{suffix}") as image:
            assert image.size == (6, 5)


def test_concurrent_decodes_share_a_bounded_pixel_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "10000")
    path = tmp_path / "square.png"
    Image.fromarray(np.full((100, 100), 7, dtype=np.uint8)).save(path)
    peak: list[int] = []
    errors: list[BaseException] = []

    def decode() -> None:
        try:
            with decoded_image(path) as image:
                peak.append(DECODE_BUDGET.in_flight)
                time.sleep(0.05)  # hold the pixels while others try
                assert image.size == (100, 100)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=decode) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and len(peak) == 8
    assert max(peak) == 20_000  # two at a time: twice the limit, never more
    assert DECODE_BUDGET.in_flight == 0


def test_import_names_a_huge_image_or_skips_it_with_skip_bad(tmp_path: Path) -> None:
    folder = shapes_folder(tmp_path / "shapes")
    (folder / "light" / "huge.png").write_bytes(png_bomb(20_000, 20_000))
    with pytest.raises(ImageTooLarge, match="huge.png: the image has 400,000,000 pixels"):
        import_dataset(folder, name="shapes")
    result = import_dataset(folder, name="shapes", skip_bad=True)
    assert result.version.rows == 6
    [skipped] = result.report["skipped"]
    assert skipped["item"].endswith("huge.png")
    assert "more than the limit of 50,000,000 pixels" in skipped["reason"]


def test_the_cli_import_reports_a_huge_image_without_a_traceback(tmp_path: Path) -> None:
    folder = shapes_folder(tmp_path / "shapes")
    (folder / "dark" / "huge.png").write_bytes(png_bomb(20_000, 20_000))
    command = [sys.executable, "-m", "athanor.cli", "data", "import", str(folder), "-n", "s"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "huge.png: the image has 400,000,000 pixels" in refused.stderr
    assert "Traceback" not in refused.stderr
    skipped = subprocess.run([*command, "--skip-bad"], capture_output=True, text=True, timeout=120)
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped 1 item(s)" in skipped.stdout + skipped.stderr
    assert "huge.png: the image has 400,000,000 pixels" in skipped.stdout + skipped.stderr

"""The web console in a real browser, on a real platform: import an image dataset, train
MNIST from a template while its chart updates, register and deploy the model, and classify
a digit image; every page in English and in Chinese, with a screenshot of each."""

from __future__ import annotations

import gzip
import io
import re
import time
from pathlib import Path

import numpy as np
from PIL import Image

from athanor.data.idx import parse_idx
from tests.e2e.console_browser import (
    Shots,
    chromium,
    import_image_folder,
    require_browser,
    signed_in_page,
)
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000
TRAIN_TIMEOUT_MS = 240_000


def mnist_test_digits(mirror: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` images (uint8 [N, 28, 28]) and labels of MNIST's test set."""
    folder = mirror / "mnist"
    images = parse_idx(gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes()))
    labels = parse_idx(gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    return images[:count], labels[:count]


def field(path: str) -> str:
    """The selector of the create-job form's input for a spec key path."""
    return "#f-" + path.replace(".", "\\.")


def write_png(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


def test_a_learner_goes_from_data_to_a_deployed_digit_classifier_in_the_console(
    platform_factory, mirror: Path, tmp_path: Path
) -> None:
    require_browser()
    images, labels = mnist_test_digits(mirror, 200)
    folder = tmp_path / "digits-png"
    for index, (image, label) in enumerate(zip(images[:60], labels[:60], strict=True)):
        write_png(image, folder / str(int(label)) / f"{index}.png")
    # A digit the model never saw in training (MNIST's test set is not trained on).
    probe_index = next(i for i in range(150, 200) if labels[i] == 7)
    probe = tmp_path / "seven.png"
    write_png(images[probe_index], probe)

    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--import-root", str(tmp_path)
    )
    url = platform.start()
    shots = Shots("flow")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        assert page.url == f"{url}/"
        page.wait_for_selector("[data-stat=storage] .value:not(:text('–'))")
        assert page.locator("html").get_attribute("lang") == "en"
        shots.take(page, "en-overview")

        # Import a folder of PNG digits: one subfolder per class.
        import_image_folder(page, folder)  # named after the folder: digits-png
        page.wait_for_selector("[data-section=preview] canvas")
        assert page.locator("[data-section=preview] figure").count() == 20
        balance = page.inner_text("[data-section=balance]")
        assert all(str(d) in balance for d in set(labels[:60].tolist()))
        shots.take(page, "en-dataset")
        page.click("[data-nav='/datasets']")
        page.wait_for_selector("[data-dataset=digits-png]")
        shots.take(page, "en-datasets")

        # A job from the MNIST template, small enough for a test; the form checks values.
        page.click("[data-nav='/jobs']")
        page.click("[data-action=new-job]")
        page.click("[data-template=mnist-cnn]")
        page.wait_for_function(
            "document.querySelector('#f-name') && document.querySelector('#f-name').value "
            "=== 'mnist-cnn'"
        )
        page.fill(field("train.epochs"), "0")
        assert "At least 1." in page.inner_text("[data-field='train.epochs']")
        assert page.is_disabled("[data-action=submit]")
        for path, value in {
            "train.epochs": "2",
            "data.subset.train": "3000",
            "data.subset.val": "500",
            "data.subset.test": "1000",
        }.items():
            page.fill(field(path), value)
        page.click("[data-action=check]")
        page.wait_for_selector("[data-check=ok]")
        shots.take(page, "en-new-job")
        page.click("[data-action=submit]")
        page.wait_for_url(re.compile(r".*/jobs/\d+$"))
        job_id = int(page.url.rsplit("/", 1)[1])

        # The live chart fills while the job trains, then the job succeeds.
        page.wait_for_selector("h1 [data-status=running]", timeout=TRAIN_TIMEOUT_MS)
        page.wait_for_selector("[data-chart=loss] canvas", timeout=TRAIN_TIMEOUT_MS)
        shots.take(page, "en-job-running")
        page.wait_for_selector("h1 [data-status=succeeded]", timeout=TRAIN_TIMEOUT_MS)
        page.wait_for_selector("[data-chart=metrics] canvas")
        page.wait_for_function(
            "document.querySelector('[data-log]').innerText.includes('succeeded')"
        )
        assert page.inner_text("[data-progress]") == "100%"
        stored = platform.store().runs.metrics(job_id)
        assert len(stored["val_loss"]) == 2 and "batch_loss" in stored
        shots.take(page, "en-job")

        # Register the model, look at its network, download it as ONNX.
        page.fill("[data-input=model-name]", "mnist-cnn")
        page.click("[data-action=register]")
        page.wait_for_url("**/models/mnist-cnn/1")
        page.wait_for_selector("[data-section=summary] tbody tr:nth-child(3)")
        summary = page.inner_text("[data-section=summary]")
        assert "[1, 16, 28, 28]" in summary and "Total" in summary
        with page.expect_download() as download:
            page.click("[data-export=onnx]")
        exported = tmp_path / download.value.suggested_filename
        download.value.save_as(exported)
        assert exported.name == "mnist-cnn-v1.onnx" and exported.stat().st_size > 10_000
        shots.take(page, "en-model")

        # Serve it, and classify a digit image and a drawn digit.
        page.fill("#deployment-name", "digits")
        page.click("[data-action=deploy]")
        page.wait_for_url("**/deployments/digits")
        page.set_input_files("[data-input=image]", str(probe))
        page.wait_for_selector("[data-predicted]")
        assert page.inner_text("[data-predicted]") == "7"
        shots.take(page, "en-deployment")
        page.click("[data-mode=draw]")
        assert page.locator("[data-predicted]").count() == 0  # the upload's answer is gone
        # a blank canvas is not predicted: any model would name some digit for it
        assert page.is_disabled("[data-action=predict-drawing]")
        pad = page.locator("[data-canvas=digit]").bounding_box()
        assert pad is not None
        page.mouse.move(pad["x"] + 140, pad["y"] + 50)
        page.mouse.down()
        page.mouse.move(pad["x"] + 140, pad["y"] + 230, steps=12)
        page.mouse.up()
        page.click("[data-action=predict-drawing]")
        page.wait_for_selector("[data-predicted]")
        assert page.locator(".prob").count() == 10
        assert page.inner_text("[data-predicted]") == "1"  # one vertical stroke
        shots.take(page, "en-deployment-draw")
        page.click("[data-nav='/deployments']")
        page.wait_for_selector("[data-deployment=digits]")
        shots.take(page, "en-deployments")
        page.click("[data-nav='/models']")
        page.wait_for_selector("[data-model=mnist-cnn]")
        shots.take(page, "en-models")
        page.click("[data-nav='/jobs']")
        page.wait_for_selector(f"[data-run='{job_id}']")
        shots.take(page, "en-jobs")

        # The same pages in Chinese; the choice survives a reload.
        page.click("[data-locale=zh-CN]")
        assert page.inner_text("[data-nav='/datasets']") == "数据集"
        page.reload()
        page.wait_for_selector(f"[data-run='{job_id}']")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert "训练作业与运行" in page.inner_text("h1")
        shots.take(page, "zh-jobs")
        for path, ready, name in [
            ("/", "[data-stat=storage] .value:not(:text('–'))", "zh-overview"),
            ("/datasets", "[data-dataset=digits-png]", "zh-datasets"),
            ("/datasets/digits-png", "[data-section=preview] canvas", "zh-dataset"),
            ("/jobs/new", "#f-name", "zh-new-job"),
            (f"/jobs/{job_id}", "[data-chart=metrics] canvas", "zh-job"),
            ("/models", "[data-model=mnist-cnn]", "zh-models"),
            ("/models/mnist-cnn/1", "[data-section=summary] tbody tr:nth-child(3)", "zh-model"),
            ("/deployments", "[data-deployment=digits]", "zh-deployments"),
        ]:
            page.goto(f"{url}{path}")
            page.wait_for_selector(ready)
            time.sleep(0.3)  # charts draw on the next frame
            shots.take(page, name)
        page.goto(f"{url}/deployments/digits")
        page.set_input_files("[data-input=image]", str(probe))
        page.wait_for_selector("[data-predicted]")
        assert "预测结果" in page.inner_text("[data-section=prediction]")
        shots.take(page, "zh-deployment")
        assert errors == []
    assert len(shots.taken) == 22
    for path in shots.taken:
        assert path.stat().st_size > 10_000, path

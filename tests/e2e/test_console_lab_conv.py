"""The vision labs in a real browser on a real platform: the convolution lab's Sobel output
equals a reference computed here, with its shape, formula and operation counts on the page;
"What a CNN sees" and the deployment's "why this class" draw Grad-CAM for a tiny MNIST CNN
trained here. English and Chinese, desktop and phone, with screenshots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.lab.tiny_cnn import train_mnist_cnn
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def lab_platform(
    mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformProcess]:
    """A platform whose registry holds the tiny MNIST CNN, deployed as ``reader``."""
    require_browser()
    trained = tmp_path_factory.mktemp("lab-cnn") / "home"
    trained.mkdir()
    _run, settings = train_mnist_cnn(trained, mirror)
    home = tmp_path_factory.mktemp("lab-console") / "home"
    shutil.copytree(settings.home, home)
    platform = PlatformProcess(home, "--cpus", "1", "--gpus", "none", "--warm-workers", "0")
    try:
        platform.start()
        client = platform.client(platform.owner_token)
        client.call("create_deployment", body={"name": "reader", "model": "tiny-mnist-cnn"})
        yield platform
    finally:
        platform.kill()


def _mnist_digit(index: int) -> np.ndarray:
    """MNIST test image ``index`` (``uint8 [28, 28]``), read here from the mirror."""
    from athanor.lab.images import dataset_sample
    from athanor.settings import current_settings

    return dataset_sample("mnist", index, current_settings()).pixels[0]


def _sobel_x_reference(image: np.ndarray) -> np.ndarray:
    """Sobel x by its definition, with one pixel of zero padding."""
    kernel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    padded = np.pad(image.astype(np.float64) / 255.0, 1)
    out = np.zeros(image.shape)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            out[i, j] = float((padded[i : i + 3, j : j + 3] * kernel).sum())
    return out


def _signed_in(context, platform: PlatformProcess):
    """A page signed in by a fresh one-time link (the link ``athanor up`` printed is spent
    by the module's first test)."""
    link = httpx.post(
        f"{platform.url}/v1/auth/login-links",
        headers={"Authorization": f"Bearer {platform.owner_token}"},
    ).json()["url"]
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(link)
    return page, errors


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"


def test_convolution_lab_sobel_matches_the_reference(lab_platform, tmp_path: Path) -> None:
    shots = Shots("lab-convolution")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, lab_platform, PAGE_TIMEOUT_MS)
        page.set_viewport_size(DESKTOP)
        with page.expect_response("**/v1/lab/convolution") as answered:
            page.goto(f"{lab_platform.url}/lab/convolution")  # MNIST #0, Sobel x, padding 1
        found = answered.value.json()
        np.testing.assert_allclose(
            np.asarray(found["output"]), _sobel_x_reference(_mnist_digit(0)), atol=1e-5
        )
        page.wait_for_selector("[data-figure=output] canvas")
        assert page.inner_text("[data-output-shape]") == "28 × 28"
        assert page.eval_on_selector("[data-figure=output] canvas", "c => c.width") == 28
        assert page.inner_text("[data-count=multiplications]") == "7,056"  # 28·28·9
        assert page.inner_text("[data-count=additions]") == "6,272"  # 28·28·8
        assert "⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1" in page.inner_text("[data-formula]")
        shots.take(page, "en-sobel")

        page.fill("[data-input=stride]", "2")
        page.select_option("[data-input=pool]", "max")
        page.wait_for_selector("[data-pooled-shape]")
        page.wait_for_function(
            "document.querySelector('[data-output-shape]').textContent === '14 × 14'"
        )
        assert page.inner_text("[data-pooled-shape]") == "7 × 7"
        assert page.inner_text("[data-count=multiplications]") == "1,764"  # 14·14·9
        page.select_option("[data-input=kernel]", "custom")
        page.wait_for_selector("[data-figure=weights] input")
        assert page.locator("[data-figure=weights] input").count() == 9  # Sobel x to edit
        page.fill("[data-input=stride]", "9")  # out of range: the server says which field
        page.wait_for_selector("[role=alert]")
        assert "stride" in page.inner_text("[role=alert]")
        page.fill("[data-input=stride]", "1")
        page.wait_for_selector("[role=alert]", state="detached")

        # An upload: a wide picture with one vertical edge, shrunk to 256 px by the server.
        edge = np.zeros((300, 600), dtype=np.uint8)
        edge[:, 300:] = 255
        Image.fromarray(edge).save(tmp_path / "edge.png")
        page.click("[data-source=upload]")
        page.set_input_files("[data-input=image]", str(tmp_path / "edge.png"))
        page.wait_for_selector("[data-figure=input] figcaption:has-text('upload')")
        assert page.inner_text("[data-figure=input] .mono") == "128 × 256"

        page.click("[data-locale=zh-CN]")
        page.wait_for_selector("text=卷积实验室")
        assert "乘法次数" in page.inner_text("[data-counts]")
        shots.take(page, "zh-custom-pooled")
        page.set_viewport_size(PHONE)
        _no_sideways_scroll(page)
        shots.take(page, "zh-phone")
        page.click("[data-locale=en]")
        page.wait_for_selector("text=Convolution lab")
        _no_sideways_scroll(page)
        shots.take(page, "en-phone")
        assert not errors, errors


def _heat_spread(page, selector: str) -> float:
    """The spread of a canvas's red channel (a constant picture has none)."""
    return page.eval_on_selector(
        selector,
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let lo = 255, hi = 0;
                  for (let i = 0; i < d.length; i += 4) {
                    lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]) }
                  return hi - lo }""",
    )


def test_what_a_cnn_sees_and_why_this_class(lab_platform, tmp_path: Path) -> None:
    shots = Shots("lab-cnn")
    digit = tmp_path / "seven.png"
    Image.fromarray(_mnist_digit(0)).save(digit)
    with chromium(tmp_path / "profile") as context:
        page, errors = _signed_in(context, lab_platform)
        page.set_viewport_size(DESKTOP)
        page.goto(f"{lab_platform.url}/lab/cnn?model=tiny-mnist-cnn")
        page.wait_for_selector("[data-section=feature-maps] [data-layer]")
        assert page.inner_text("[data-predicted]") == "7"
        assert page.locator("[data-filter]").count() == 6
        assert page.locator("[data-layer]").count() == 2
        assert page.eval_on_selector("[data-figure=gradcam] canvas", "c => c.width") == 28
        assert _heat_spread(page, "[data-figure=gradcam] canvas") > 50
        shots.take(page, "en-cnn")
        page.select_option("[data-input=target]", "1")  # the evidence for another class
        page.wait_for_selector("[data-figure=gradcam] figcaption:has-text('class 1')")
        page.click("[data-locale=zh-CN]")
        page.wait_for_selector("text=CNN 看到了什么")
        shots.take(page, "zh-cnn")
        page.set_viewport_size(PHONE)
        _no_sideways_scroll(page)
        shots.take(page, "zh-phone")
        page.set_viewport_size(DESKTOP)

        page.goto(f"{lab_platform.url}/deployments/reader")
        page.set_input_files("[data-input=image]", str(digit))
        page.wait_for_selector("[data-predicted]")
        with page.expect_response("**/v1/lab/cnn/explain") as answered:
            page.click("[data-action=why]")
        assert answered.value.status == 200
        gradcam = np.asarray(answered.value.json()["gradcam"])
        assert gradcam.shape == (28, 28) and gradcam.std() > 0.05
        page.wait_for_selector("[data-section=why] [data-figure=gradcam] canvas")
        assert _heat_spread(page, "[data-section=why] [data-figure=gradcam] canvas") > 50
        shots.take(page, "zh-deployment-why")
        page.click("[data-locale=en]")
        page.wait_for_selector("text=Grad-CAM · class 7")
        shots.take(page, "en-deployment-why")
        page.set_viewport_size(PHONE)
        _no_sideways_scroll(page)
        shots.take(page, "en-deployment-phone")
        assert not errors, errors

"""The console with an object detector, in a real browser on a real platform: the run page
shows mAP and the AP of each class; the deployment page draws the boxes found in an uploaded
image, a score slider filters them without a new request, and a table lists them. English
and Chinese, with screenshots."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def detector_platform(
    trained_detector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PlatformProcess, int]]:
    """A platform on a copy of the tiny detector's home (its run and ``digit-boxes``), with
    the model deployed as ``boxes``; yields the platform and the run's id."""
    require_browser()
    run, settings = trained_detector
    home = tmp_path_factory.mktemp("detection-console") / "home"
    shutil.copytree(settings.home, home)
    platform = PlatformProcess(home, "--cpus", "1", "--gpus", "none", "--warm-workers", "0")
    try:
        platform.start()
        client = platform.client(platform.owner_token)
        client.call("create_deployment", body={"name": "boxes", "model": "digit-boxes"})
        yield platform, run.id
    finally:
        platform.kill()


def _canvas(path: Path) -> Path:
    """A 192x160 grey image with two bright strokes (a detector untrained enough still
    scores some boxes on it; their quality does not matter here)."""
    canvas = np.zeros((160, 192), dtype=np.uint8)
    canvas[20:90, 30:60] = 255
    canvas[80:150, 120:140] = 200
    Image.fromarray(canvas).save(path)
    return path


def _slide(page, value: float) -> None:
    page.eval_on_selector(
        "[data-input=threshold]",
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')) }",
        value,
    )


def _shown(page) -> int:
    return page.locator("[data-figure=boxes] [data-box]").count()


def test_run_page_map_and_deployment_boxes_with_a_live_threshold(
    detector_platform, tmp_path: Path
) -> None:
    platform, run_id = detector_platform
    url = platform.url
    image = _canvas(tmp_path / "canvas.png")
    shots = Shots("detection")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.goto(f"{url}/jobs/{run_id}")
        page.wait_for_selector("[data-table=class-ap] tbody tr")
        maps = page.inner_text("[data-figure=map]")
        assert "mAP@[.5:.95]" in maps and "mAP@0.5" in maps and "mAP@0.75" in maps
        assert page.locator("[data-table=class-ap] tbody tr").count() == 10  # digits 0..9
        assert "Average precision per class" in page.inner_text("[data-section=evaluation]")
        shots.take(page, "en-run")

        page.goto(f"{url}/deployments/boxes")
        page.wait_for_selector("[data-section=detection] [data-state=empty]")  # nothing yet
        with page.expect_response("**/predict?threshold=0.05") as answered:
            page.set_input_files("[data-input=image]", str(image))
        assert answered.value.status == 200
        page.wait_for_selector("[data-figure=boxes]")
        total = int(re.search(r"of (\d+) boxes", page.inner_text("[data-summary]")).group(1))
        assert total >= 1  # a low threshold asked of the server
        _slide(page, 0.05)
        page.wait_for_function(f"document.querySelectorAll('[data-box]').length === {total}")
        assert f"{total} of {total} boxes" in page.inner_text("[data-summary]")
        assert page.locator("[data-table=boxes] tbody tr").count() == total
        shots.take(page, "en-deployment")
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        _slide(page, 1.0)  # no box scores 1.0 after an epoch
        page.wait_for_selector("[data-state=none-kept]")
        assert _shown(page) == 0 and f"0 of {total} boxes" in page.inner_text("[data-summary]")
        assert requests == []  # filtered in the page
        _slide(page, 0.05)
        page.wait_for_function(f"document.querySelectorAll('[data-box]').length === {total}")
        caption = page.text_content("[data-figure=boxes] [data-box] text") or ""
        assert caption.split()[0] in {str(d) for d in range(10)}  # class and score on the box
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.wait_for_timeout(200)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the page is {width} px wide on a phone"
        shots.take(page, "en-deployment-phone")
        page.set_viewport_size({"width": 1366, "height": 900})

        page.click("[data-locale=zh-CN]")
        page.goto(f"{url}/jobs/{run_id}")
        page.wait_for_selector("[data-table=class-ap] tbody tr")
        assert "各类别的平均精度" in page.inner_text("[data-section=evaluation]")
        shots.take(page, "zh-run")
        page.goto(f"{url}/deployments/boxes")
        page.set_input_files("[data-input=image]", str(image))
        page.wait_for_selector("[data-figure=boxes]")
        _slide(page, 0.05)
        page.wait_for_function(f"document.querySelectorAll('[data-box]').length === {total}")
        assert "得分不低于 0.05 的框" in page.inner_text("[data-summary]")
        shots.take(page, "zh-deployment")

        # Deleting the served version is refused with the reason; stopping asks first, and
        # then the version can go (a stopped deployment serves nothing).
        page.click("[data-locale=en]")
        page.goto(f"{url}/models/digit-boxes")
        page.click("[data-action=delete-version]")
        page.click("[data-confirm-dialog][open] [data-confirm=yes]")
        page.wait_for_selector("text=digit-boxes@1 cannot be deleted while these use it: boxes")
        page.goto(f"{url}/deployments/boxes")
        page.click("[data-action=stop]")
        assert "Stop deployment boxes?" in page.inner_text("[data-confirm-dialog][open]")
        page.click("[data-confirm-dialog][open] [data-confirm=yes]")
        page.wait_for_selector("[data-action=start]")  # stopped, kept to start again
        page.goto(f"{url}/models/digit-boxes")
        page.click("[data-action=delete-version]")
        assert "digit-boxes@1" in page.inner_text("[data-confirm-dialog][open]")
        page.click("[data-confirm-dialog][open] [data-confirm=yes]")
        page.wait_for_url(f"{url}/models")
        gone = httpx.get(
            f"{url}/v1/models/digit-boxes@1",
            headers={"Authorization": f"Bearer {platform.owner_token}"},
        )
        assert gone.status_code == 404, gone.text
        assert errors == []
    for path in shots.taken:
        assert path.stat().st_size > 10_000, path

"""Labeling in the console, in a real browser on a real platform: import unlabeled MNIST
PNGs, label 60 by keyboard in the grid, train from the labels, let the new model pre-label
the rest, confirm the most uncertain ones, accept correct pre-labels page by page (counting
the user's actions per image), publish a dataset version and train on it; the pages in
English and Chinese, on a desktop and on a phone (390 x 844), with a screenshot of each."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

from tests.e2e.console_browser import (
    Shots,
    chromium,
    import_image_folder,
    require_browser,
    signed_in_page,
)
from tests.e2e.test_console import mnist_test_digits, write_png
from tests.server.conftest import PlatformProcess, wait_for

PAGE_TIMEOUT_MS = 30_000
TRAIN_TIMEOUT_MS = 240_000
IMAGES = 150
BY_HAND = 60
CONFIRMED = 8
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def api(platform: PlatformProcess, method: str, path: str, body: object = None) -> object:
    """Call the platform's REST API with the owner's token."""
    request = urllib.request.Request(
        platform.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {platform.owner_token}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def number_of(name: str) -> int:
    """The index an item's file name carries (``042.png`` -> 42)."""
    found = re.search(r"(\d{3})", name)
    assert found, name
    return int(found.group(1))


def count(page, state: str) -> int:
    return int(page.inner_text(f"[data-count={state}] b").replace(",", ""))


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a phone"


def test_a_labeler_labels_digits_trains_confirms_and_publishes_in_the_console(
    platform_factory, mirror: Path, tmp_path: Path
) -> None:
    require_browser()
    images, labels = mnist_test_digits(mirror, IMAGES)
    truth = {index: str(int(label)) for index, label in enumerate(labels)}
    folder = tmp_path / "digits-raw"
    for index, image in enumerate(images):
        write_png(image, folder / f"{index:03d}.png")

    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--import-root", str(tmp_path)
    )
    url = platform.start()
    shots = Shots("labeling")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)

        # A flat folder of PNGs, no class folders: every image is unlabeled.
        import_image_folder(page, folder)

        # A project with the digits as its label set.
        page.click("[data-nav='/labeling']")
        page.wait_for_selector("[data-empty=projects]")
        shots.take(page, "en-projects-empty")
        page.click("[data-action=new-project]")
        page.select_option("#lp-dataset", "digits-raw")
        page.fill("#lp-name", "handwritten")
        page.click("[data-action=digits]")
        assert page.locator("[data-class-row]").count() == 10
        page.fill("#lp-instructions", "The digit the image shows; reject anything else.")
        shots.take(page, "en-new-project")
        page.click("[data-action=create-project]")
        page.wait_for_selector("[data-dialog=new-project] .alert, [data-project-title]")
        assert page.locator("[data-dialog=new-project]").count() == 0, page.inner_text(
            "[data-dialog=new-project] .alert"
        )
        page.wait_for_selector("[data-grid] [data-cursor] img")
        assert count(page, "unlabeled") == IMAGES
        shots.take(page, "en-grid-start")

        # Label 60 in the grid by keyboard: a digit labels the highlighted image and moves on.
        keys = 0
        for _ in range(BY_HAND):
            tile = page.wait_for_selector("[data-grid] [data-cursor][data-label='']")
            page.keyboard.press(truth[number_of(tile.get_attribute("data-name") or "")])
            keys += 1
        page.wait_for_selector("[data-save=saved]")
        wait_for(
            lambda: (
                api(platform, "GET", "/v1/label/projects/handwritten")["counts"]["labeled"]
                == BY_HAND
            ),
            30,
            "60 labels saved",
        )
        print(f"labeling by hand in the grid: {keys / BY_HAND:.2f} actions per image")
        # Selection by keyboard: Shift+arrows extends it, A takes the whole page.
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("Shift+ArrowRight")
        assert "3" in page.inner_text("[data-selected]")
        page.keyboard.press("a")
        page.wait_for_selector("[data-selected]")
        shots.take(page, "en-grid-selected")
        page.keyboard.press("Escape")

        # One at a time: a large view, and the keyboard moves through the items.
        page.click("[data-mode=single]")
        page.wait_for_selector("[data-single] img")
        first = page.get_attribute("[data-single]", "data-name")
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            f"document.querySelector('[data-single]').dataset.name !== '{first}'"
        )
        shots.take(page, "en-single")
        page.click("[data-mode=grid]")
        page.wait_for_selector("[data-grid]")

        # Train from the labels; the new model pre-labels the rest.
        page.click("[data-tab=model]")
        page.select_option("[data-input=template]", "auto")
        page.fill("[data-input=epochs]", "10")
        page.click("[data-action=train]")
        page.wait_for_selector("[data-training] [data-training-job]")
        shots.take(page, "en-model-training")
        page.wait_for_selector("[data-training][data-status=prelabeled]", timeout=TRAIN_TIMEOUT_MS)
        page.wait_for_function(
            "Number(document.querySelector('[data-count=prelabeled] b').innerText) > 0",
            timeout=TRAIN_TIMEOUT_MS,
        )
        prelabeled = count(page, "prelabeled")
        assert prelabeled == IMAGES - BY_HAND
        shots.take(page, "en-model-done")

        # The most uncertain pre-labels first: accept the right ones, fix the wrong ones.
        page.click("[data-tab=confirm]")
        page.wait_for_selector("[data-confirm] [data-item] img")
        shots.take(page, "en-confirm")
        for _ in range(CONFIRMED):
            row = page.locator("[data-confirm] [data-item]").first
            name = row.get_attribute("data-name") or ""
            right = truth[number_of(name)]
            if row.get_attribute("data-prelabel") == right:
                row.locator("[data-action=accept]").click()
            else:
                row.locator("[data-action=fix]").click()
                row.locator(f"[data-fix='{right}']").click()
            page.wait_for_selector(f"[data-confirm] [data-name='{name}']", state="detached")
        assert count(page, "prelabeled") == prelabeled - CONFIRMED
        page.select_option("[data-input=strategy]", "entropy")
        page.wait_for_selector("[data-confirm] [data-item] img")
        # The confident ones in one step.
        page.fill("[data-input=threshold]", "0.95")
        page.click("[data-action=accept-above]")
        accepted = int(re.search(r"\d+", page.inner_text("[data-done]")).group())
        assert count(page, "prelabeled") == prelabeled - CONFIRMED - accepted
        print(f"accepted at once with a confidence of at least 95%: {accepted}")

        # The rest in the grid: fix a wrong pre-label with a click and its digit, accept the
        # page with Enter. Actions per image where the pre-labels are right is the goal.
        page.click("[data-tab=label]")
        page.select_option("[data-input=filter]", "prelabeled")
        page.wait_for_selector("[data-grid] [data-item] img")
        shots.take(page, "en-grid-prelabels")
        actions = fixed = seen = pages = 0
        while True:
            tiles = page.locator("[data-grid] [data-item]")
            if tiles.count() == 0:
                break
            for tile in tiles.all():
                seen += 1
                right = truth[number_of(tile.get_attribute("data-name") or "")]
                if tile.get_attribute("data-prelabel") != right:
                    tile.click()
                    page.keyboard.press(right)
                    actions += 2
                    fixed += 1
            page.keyboard.press("Enter")
            actions += 1
            pages += 1
            page.wait_for_selector("[data-save=saved]")
            page.wait_for_function(
                "!document.querySelector('[data-grid] [data-item]:not([data-label=\"\"])')"
            )
            if pages > 5:
                raise AssertionError("the pre-labeled items never ran out")
        right_first_time = seen - fixed
        per_image_correct = pages / max(1, right_first_time)
        print(
            f"grid with pre-labels: {seen} images, {right_first_time} pre-labels right, "
            f"{fixed} fixed; {actions} actions = {actions / seen:.2f} per image; "
            f"{per_image_correct:.3f} actions per image where the pre-label was right"
        )
        assert per_image_correct <= 1.2
        assert count(page, "labeled") == IMAGES

        # Publish: a dataset version that trains like any other.
        page.click("[data-tab=versions]")
        page.click("[data-action=publish]")
        version = page.inner_text("[data-published-version]")
        assert version.startswith("handwritten@")
        page.wait_for_selector(f"[data-version='{version}']")
        shots.take(page, "en-versions")
        page.click("[data-tab=agreement]")
        page.wait_for_selector("[data-empty=agreement]")
        job = api(
            platform,
            "POST",
            "/v1/jobs",
            {
                "spec": {
                    "name": "digits-from-labels",
                    "data": {"dataset": version, "split": {"val": 0.2}},
                    "model": {
                        "layers": ["flatten", {"dense": {"units": 32, "activation": "relu"}}]
                    },
                    "train": {"epochs": 1, "batch_size": 32},
                }
            },
        )
        page.goto(f"{url}/jobs/{job['id']}")
        page.wait_for_selector("h1 [data-status=succeeded]", timeout=TRAIN_TIMEOUT_MS)

        # Texts: the document and class buttons with hotkeys; one review already has a label.
        (tmp_path / "reviews.csv").write_text(
            "text,label\n"
            "A warm and funny film; I laughed all the way through.,positive\n"
            "Two hours I will never get back.,\n"
            "The acting is wooden and the plot makes no sense.,\n"
            "A delight from the first scene to the last.,\n"
        )
        api(
            platform,
            "POST",
            "/v1/datasets/imports/path",
            {"path": str(tmp_path / "reviews.csv"), "name": "reviews", "kind": "documents"},
        )
        api(
            platform,
            "POST",
            "/v1/label/projects",
            {
                "name": "sentiment",
                "dataset": "reviews",
                "kind": "text",
                "labels": [
                    {"name": "positive", "hotkey": "p"},
                    {"name": "negative", "hotkey": "n"},
                ],
            },
        )
        page.goto(f"{url}/labeling/sentiment")
        page.wait_for_selector("[data-document]")
        assert count(page, "labeled") == 1
        assert "Two hours" in page.inner_text("[data-document]")
        page.keyboard.press("n")
        page.wait_for_function(
            "document.querySelector('[data-document]').innerText.includes('wooden')"
        )
        page.keyboard.press("n")
        page.wait_for_selector("[data-save=saved]")
        wait_for(
            lambda: (
                api(platform, "GET", "/v1/label/projects/sentiment")["counts"]["per_class"]
                == {"positive": 1, "negative": 2}
            ),
            10,
            "two texts labeled negative",
        )
        shots.take(page, "en-text")

        page.goto(f"{url}/labeling")
        page.wait_for_selector("[data-project=handwritten]")
        shots.take(page, "en-projects")

        # Chinese, and a phone's width: no page scrolls sideways.
        page.click("[data-locale=zh-CN]")
        for name, path, ready in [
            ("zh-projects", "/labeling", "[data-project=handwritten]"),
            ("zh-text", "/labeling/sentiment", "[data-document]"),
            ("zh-grid", "/labeling/handwritten", "[data-grid] [data-item] img"),
        ]:
            page.goto(url + path)
            page.wait_for_selector(ready)
            shots.take(page, name)
        for tab in ("confirm", "model", "versions"):
            page.click(f"[data-tab={tab}]")
            time.sleep(0.3)
            shots.take(page, f"zh-{tab}")
        page.set_viewport_size(PHONE)
        for locale in ("zh-CN", "en"):
            short = locale[:2]
            page.click(f"[data-locale={locale}]")
            page.goto(f"{url}/labeling")
            page.wait_for_selector("[data-project=handwritten]")
            no_sideways_scroll(page)
            shots.take(page, f"{short}-phone-projects")
            page.goto(f"{url}/labeling/handwritten")
            page.wait_for_selector("[data-grid] [data-item] img")
            no_sideways_scroll(page)
            shots.take(page, f"{short}-phone-grid")
            page.click("[data-mode=single]")
            page.wait_for_selector("[data-single] img")
            no_sideways_scroll(page)
            shots.take(page, f"{short}-phone-single")
            page.click("[data-tab=confirm]")
            time.sleep(0.3)
            no_sideways_scroll(page)
            shots.take(page, f"{short}-phone-confirm")
        page.set_viewport_size(DESKTOP)
        assert errors == []
    for path in shots.taken:
        assert path.stat().st_size > 5_000, path

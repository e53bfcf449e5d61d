"""Box labeling in the console, in a real browser on a real platform: on a project over a few
digits-detection canvases, draw a box with the mouse, move and resize it, change its class by
its key, delete another box, reload and find the boxes saved; export COCO from the page and
import it into a new project, which then holds identical boxes; the Model tab offers to train
a detector from the labels once there are enough. The page in English and
Chinese, on a desktop and on a phone, with a screenshot of each."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.label.conftest import write_digit_canvases
from tests.server.conftest import PlatformProcess, wait_for

PAGE_TIMEOUT_MS = 30_000
PHONE = {"width": 390, "height": 844}
OTHER = {"class": "1", "xyxy": [60.0, 60.0, 90.0, 90.0]}
"""The one box item 0 holds when the page opens (lower right); the new one goes upper left."""


def api(
    platform: PlatformProcess,
    method: str,
    path: str,
    body: object = None,
    token: str | None = None,
) -> object:
    request = urllib.request.Request(
        platform.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {token or platform.owner_token}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def upload(platform: PlatformProcess, path: str, name: str, content: bytes) -> object:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        platform.url + path,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {platform.owner_token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def image_point(page, x: float, y: float) -> tuple[float, float]:
    """The page position of image pixel ``(x, y)`` of the shown item."""
    box = page.locator("[data-box-image]").bounding_box()
    natural = page.evaluate(
        "() => { const i = document.querySelector('[data-box-image]');"
        " return [i.naturalWidth, i.naturalHeight] }"
    )
    return box["x"] + x * box["width"] / natural[0], box["y"] + y * box["height"] / natural[1]


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    # The mouse reaches only what the window shows: the whole image, before the drag.
    page.locator("[data-box-image]").scroll_into_view_if_needed()
    page.mouse.move(*image_point(page, *start))
    page.mouse.down()
    for step in range(1, 6):
        x = start[0] + (end[0] - start[0]) * step / 5
        y = start[1] + (end[1] - start[1]) * step / 5
        page.mouse.move(*image_point(page, x, y))
    page.mouse.move(*image_point(page, *end))  # a hand rests a moment before letting go
    page.mouse.up()


def saved_boxes(platform: PlatformProcess, project: str, item: int) -> list[dict]:
    return api(platform, "GET", f"/v1/label/projects/{project}/items/{item}")["boxes"]  # type: ignore[index]


def test_a_labeler_draws_moves_resizes_reclasses_and_deletes_boxes(
    platform_factory, tmp_path: Path
) -> None:
    require_browser()
    from athanor.data.importing import import_dataset
    from athanor.settings import Settings

    platform: PlatformProcess = platform_factory("--cpus", "1", "--gpus", "none")
    home = platform.home
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    write_digit_canvases(tmp_path / "canvases", 3)
    import_dataset(tmp_path / "canvases", name="canvases", kind="detection", settings=settings)
    url = platform.start()
    for name in ("canvas-boxes", "canvas-copy"):
        body = {"name": name, "dataset": "canvases", "kind": "detection"}
        api(platform, "POST", "/v1/label/projects", body)
    api(platform, "PUT", "/v1/label/projects/canvas-boxes/items/0/boxes", {"boxes": [OTHER]})
    labels = api(platform, "GET", "/v1/label/projects/canvas-boxes")["labels"]  # type: ignore[index]
    by_key = {label["hotkey"]: label["name"] for label in labels}
    shots = Shots("box-labeling")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.goto(f"{url}/labeling/canvas-boxes")
        page.wait_for_selector("[data-box-row='0']")
        assert page.locator("[data-box-row]").count() == 1

        # Draw a box in the empty upper left: it takes the current class (the first).
        drag(page, (8, 8), (38, 40))
        page.wait_for_selector("[data-box-row='1']")
        drawn = settled(page, platform)
        assert drawn["class"] == labels[0]["name"]
        assert abs(drawn["xyxy"][0] - 8) < 2 and abs(drawn["xyxy"][3] - 40) < 2

        # Move it by its inside (it is selected after drawing), then widen it by a corner.
        drag(page, (20, 20), (30, 25))
        moved = settled(page, platform)
        assert 8 <= moved["xyxy"][0] - drawn["xyxy"][0] <= 10.5
        assert 4 <= moved["xyxy"][1] - drawn["xyxy"][1] <= 5.5
        assert moved["xyxy"][2] - moved["xyxy"][0] == drawn["xyxy"][2] - drawn["xyxy"][0]
        page.locator("[data-box-image]").scroll_into_view_if_needed()
        corner = page.locator(".a9s-corner-handle-bottomright").first.bounding_box()
        page.mouse.move(corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2)
        page.mouse.down()
        target = image_point(page, moved["xyxy"][2] + 8, moved["xyxy"][3] + 6)
        page.mouse.move(*target, steps=5)
        page.mouse.move(*target)
        page.mouse.up()
        resized = settled(page, platform)
        assert 5 <= resized["xyxy"][2] - moved["xyxy"][2] <= 8.5
        assert resized["xyxy"][:2] == moved["xyxy"][:2]

        # Its class by key, once it is selected by a click.
        x0, y0, x1, y1 = resized["xyxy"]
        page.mouse.click(*image_point(page, (x0 + x1) / 2, (y0 + y1) / 2))
        page.keyboard.press("3")
        wanted = by_key["3"]
        reclassed = settled(page, platform)
        assert reclassed["class"] == wanted
        assert reclassed["xyxy"] == resized["xyxy"]
        shots.take(page, "en-box-desk")

        # Delete the other box: click it on the image, press Delete.
        page.locator("[data-box-image]").scroll_into_view_if_needed()
        page.mouse.click(*image_point(page, 75, 75))
        page.keyboard.press("Delete")
        wait_for(lambda: len(saved_boxes(platform, "canvas-boxes", 0)) == 1, 10, "one box left")

        # Reload: the boxes are saved. (Item 1 is emptied for the polygon below.)
        api(platform, "PUT", "/v1/label/projects/canvas-boxes/items/1/boxes", {"boxes": []})
        page.reload()
        page.wait_for_selector("[data-box-row='0']")
        assert page.locator("[data-box-row]").count() == 1
        assert page.get_attribute("[data-box-row='0']", "data-box-class") == wanted
        assert saved_boxes(platform, "canvas-boxes", 0) == [
            {**reclassed, "polygon": None, "score": None}
        ]
        # Next item by keyboard; a polygon there, point by point, closed on its first point.
        page.keyboard.press("ArrowRight")
        page.wait_for_selector("[data-box-position]:has-text('2 / 3')")
        page.click("[data-tool=polygon]")
        page.locator("[data-box-image]").scroll_into_view_if_needed()
        corners = [(12, 50), (44, 54), (26, 86)]
        page.mouse.move(*image_point(page, *corners[0]))
        page.mouse.down()
        page.mouse.move(*image_point(page, *corners[1]), steps=4)
        page.mouse.up()
        for point in (corners[2], (corners[0][0] + 1, corners[0][1] + 1)):
            page.mouse.move(*image_point(page, *point), steps=4)
            page.mouse.down()
            page.mouse.up()
        wait_for(lambda: saved_boxes(platform, "canvas-boxes", 1), 10, "the polygon saved")
        (polygon,) = saved_boxes(platform, "canvas-boxes", 1)
        assert len(polygon["polygon"]) == 3, polygon
        xs = [x for x, _ in polygon["polygon"]]
        ys = [y for _, y in polygon["polygon"]]
        assert polygon["xyxy"] == [min(xs), min(ys), max(xs), max(ys)]
        for (x, y), (want_x, want_y) in zip(polygon["polygon"], corners, strict=True):
            assert abs(x - want_x) < 2 and abs(y - want_y) < 2, polygon
        shots.take(page, "en-box-polygon")

        # A second labeler boxes items 0 and 1: the agreement tab compares their boxes and
        # lists item 1, where they differ, first.
        other = api(platform, "POST", "/v1/users", {"name": "mei", "role": "editor"})
        token = other["token"]  # type: ignore[index]
        same = [
            {"class": b["class"], "xyxy": b["xyxy"]}
            for b in saved_boxes(platform, "canvas-boxes", 0)
        ]
        elsewhere = [{"class": polygon["class"], "xyxy": [60.0, 10.0, 90.0, 40.0]}]
        for item, boxes in ((0, same), (1, elsewhere)):
            path = f"/v1/label/projects/canvas-boxes/items/{item}/boxes"
            api(platform, "PUT", path, {"boxes": boxes}, token=token)
        page.click("[data-tab=agreement]")
        page.wait_for_selector("[data-disputed]")
        assert page.locator("[data-pair]").count() == 1
        assert page.inner_text("[data-value=f1]") == "50.0%"
        assert page.locator("[data-disputed]").count() == 1
        assert "canvas001" in page.inner_text("[data-disputed]")
        shots.take(page, "en-box-agreement")
        assert "active" in page.get_attribute("[data-nav='/labeling']", "class")
        assert "active" not in page.get_attribute("[data-nav='/lab']", "class")  # not a prefix
        page.click("[data-locale=zh-CN]")
        page.wait_for_selector("[data-section=agreement]:has-text('分歧最大的条目')")
        shots.take(page, "zh-box-agreement")
        page.click("[data-locale=en]")
        page.click("[data-tab=label]")

        # Export COCO from the page; it imports into a new project as identical boxes.
        page.click("[data-tab=versions]")
        with page.expect_download() as download:
            page.click("[data-export=coco]")
        exported = Path(download.value.path()).read_bytes()
        upload(platform, "/v1/label/projects/canvas-copy/import?format=coco", "c.zip", exported)
        for item in range(3):
            assert saved_boxes(platform, "canvas-copy", item) == saved_boxes(
                platform, "canvas-boxes", item
            )
        shots.take(page, "en-box-versions")

        # Model boxes to confirm (Label Studio predictions of an item nobody labeled), shown
        # with their scores and accepted.
        api(platform, "PUT", "/v1/label/projects/canvas-boxes/items/2/boxes", {"boxes": None})
        prediction = {
            "from_name": "label",
            "to_name": "image",
            "type": "rectanglelabels",
            "score": 0.8125,
            "value": {"x": 10, "y": 10, "width": 25, "height": 30, "rectanglelabels": ["4"]},
        }
        tasks = [
            {
                "data": {"athanor_id": 2},
                "predictions": [{"model_version": "m@1", "result": [prediction]}],
            }
        ]
        upload(
            platform,
            "/v1/label/projects/canvas-boxes/import?format=labelstudio",
            "p.json",
            json.dumps(tasks).encode(),
        )
        page.click("[data-tab=confirm]")
        page.wait_for_selector("[data-box-row='0'] [data-box-score='0.8125']")
        shots.take(page, "en-box-confirm")
        page.click("[data-action=box-accept]")
        page.wait_for_selector("[data-empty=boxes]")
        accepted = api(platform, "GET", "/v1/label/projects/canvas-boxes/items/2")
        assert accepted["source"] == "model" and accepted["review"] == "accepted"  # type: ignore[index]
        assert accepted["boxes"][0]["score"] == 0.8125  # type: ignore[index]

        # Train from labels on the Model tab: a detector template, and the labels still missing.
        page.click("[data-tab=model]")
        page.wait_for_selector("[data-action=train]")
        options = page.locator("[data-input=template] option").all_inner_texts()
        assert options == ["auto (a small CenterNet)", "centernet"]
        assert page.is_disabled("[data-action=train]")  # 3 labeled images of the 10 needed
        assert "label 7 more" in page.inner_text("[data-train-needs]")
        shots.take(page, "en-box-model")
        page.click("[data-locale=zh-CN]")
        page.wait_for_selector("[data-train-needs]:has-text('7 张')")
        shots.take(page, "zh-box-model")
        page.click("[data-locale=en]")

        # Chinese, then a phone.
        page.click("[data-tab=label]")
        page.click("[data-locale=zh-CN]")
        page.wait_for_selector("[data-box-row='0']")
        shots.take(page, "zh-box-desk")
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the box desk is {width} px wide on a phone"
        shots.take(page, "zh-box-desk-phone")
        page.click("[data-locale=en]")
        shots.take(page, "en-box-desk-phone")
        assert not errors, errors


def _second(platform: PlatformProcess) -> dict | None:
    boxes = saved_boxes(platform, "canvas-boxes", 0)
    return boxes[1] if len(boxes) == 2 else None


def settled(page, platform: PlatformProcess) -> dict:
    """The second box of item 0 once the page has saved the last edit (saves wait for a
    pause in the edits)."""
    before = None
    for _ in range(40):
        page.wait_for_timeout(600)
        page.wait_for_selector("[data-save=saved]")
        now = _second(platform)
        if now is not None and now == before:
            return now
        before = now
    raise AssertionError("the page kept saving other boxes")

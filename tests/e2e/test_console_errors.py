"""The console shows an API error in the user's language at the field it concerns: an
image folder with an unreadable file, imported in Chinese on a phone and in English on a
desktop, is refused at the file input with a text that names the console's own "skip
unreadable files" checkbox (never the CLI's flag or a server path); ticking it imports the
rest. The reasons of a run's status and the catalog's descriptions are shown in Chinese too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess, wait_for

PAGE_TIMEOUT_MS = 30_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
FINAL = {"succeeded", "failed", "cancelled"}


def pets(folder: Path) -> Path:
    """Two classes of tiny images, one of them a file that is no image."""
    root = folder / "pets"
    for label, value in (("cat", 20), ("dog", 220)):
        (root / label).mkdir(parents=True)
        for index in range(2):
            pixels = np.full((8, 8, 3), value + index, dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.png")
    (root / "cat" / "broken.png").write_bytes(b"these bytes are not a PNG image")
    return root


def open_import(page, platform: PlatformProcess, locale: str, folder: Path, name: str) -> None:
    """The datasets page in ``locale`` with the import dialog holding ``folder``."""
    page.evaluate(f"localStorage.setItem('athanor.locale', '{locale}')")
    page.goto(f"{platform.url}/datasets")
    page.click("[data-action=import]")
    page.set_input_files("[data-input=folder]", str(folder))
    page.fill("#dataset-name", name)
    page.select_option("#dataset-kind", "images")


def test_an_unreadable_file_is_refused_at_the_field_in_the_users_language(
    platform_factory, tmp_path: Path
) -> None:
    require_browser()
    folder = pets(tmp_path)
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.start()
    # A short job trains meanwhile: its page shows why it ended.
    job = platform.client().submit_job(
        "data: iris\nmodel: {template: mlp, hidden: [4]}\ntrain: {epochs: 1}\n"
    )
    shots = Shots("errors")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)

        # Chinese, on a phone: the refusal sits under the files, in Chinese.
        page.set_viewport_size(PHONE)
        open_import(page, platform, "zh-CN", folder, "pets")
        page.click("[data-action=start-import]")
        at_field = page.locator("[data-dialog=import] [data-field-error=path]")
        at_field.wait_for()
        text = at_field.inner_text()
        assert "无法读取 cat/broken.png（不是可读取的图像" in text, text
        assert "跳过无法读取的文件" in text
        dialog = page.inner_text("[data-dialog=import]")
        assert "--skip-bad" not in dialog and str(platform.home) not in dialog
        assert "跳过无法读取的文件" in page.inner_text("label[for=dataset-skip-bad]")
        assert page.locator("[data-dialog=import] .alert.error").count() == 0  # not in a box
        shots.take(page, "zh-phone-unreadable-file")
        page.locator("[data-dialog=import]").screenshot(
            path=str(shots.folder / "zh-phone-dialog.png")
        )

        page.check("[data-input=skip-bad]")
        page.click("[data-action=start-import]")
        page.wait_for_url("**/datasets/pets%40*")
        assert platform.store().datasets.get("pets").rows == 4  # the broken file left out

        # English, on a desktop.
        page.set_viewport_size(DESKTOP)
        open_import(page, platform, "en", folder, "pets-en")
        page.click("[data-action=start-import]")
        at_field.wait_for()
        text = at_field.inner_text()
        assert text.startswith("cat/broken.png cannot be read"), text
        assert "Skip unreadable files" in text
        assert "--skip-bad" not in page.inner_text("[data-dialog=import]")
        shots.take(page, "en-desktop-unreadable-file")
        page.locator("[data-dialog=import]").screenshot(path=str(shots.folder / "en-dialog.png"))

        # Chinese again: the catalog's descriptions, and the reason the job ended.
        page.evaluate("localStorage.setItem('athanor.locale', 'zh-CN')")
        page.goto(f"{platform.url}/datasets")
        page.wait_for_selector("text=根据花瓣和萼片的尺寸识别鸢尾花的种类。")
        wait_for(
            lambda: platform.client().call("get_job", job_id=job["id"])["status"] in FINAL,
            120,
            "the job",
        )
        page.goto(f"{platform.url}/jobs/{job['id']}")
        reason = page.locator("[data-reason]")
        reason.wait_for()
        assert reason.inner_text() == "已完成 1 轮", reason.inner_text()
        shots.take(page, "zh-job-reason")
        assert not errors, errors

"""The deployment page of a generative model in a real browser: a text-generation form for a
char-RNN and a sampler for a GAN, in English and Chinese, with screenshots."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from athanor.api import models
from athanor.registry import register_package
from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page

PAGE_TIMEOUT_MS = 30_000


def test_text_generation_and_the_gan_sampler_on_the_deployment_page(
    platform_factory, trained_generators, tmp_path: Path
) -> None:
    require_browser()
    # No job runs here, so no worker is kept warm for one.
    platform = platform_factory("--cpus", "1", "--gpus", "none", "--warm-workers", "0")
    url = platform.start()
    store = platform.store()
    for name in ("shakes-char", "digits-gan"):
        register_package(store, name, models.package_dir(name, settings=trained_generators))
    headers = {"Authorization": f"Bearer {platform.owner_token}"}
    for deployment, model in (("writer", "shakes-char"), ("digits", "digits-gan")):
        created = httpx.post(
            f"{url}/v1/deployments",
            json={"name": deployment, "model": model},
            headers=headers,
            timeout=60,
        )
        assert created.status_code == 201, created.text
    shots = Shots("generation")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)

        for locale in ("en", "zh-CN"):
            if locale == "zh-CN":
                page.click("[data-locale=zh-CN]")
            page.goto(f"{url}/deployments/writer")
            page.fill("[data-input=prompt]", "ROMEO:")
            page.fill("[data-input=length]", "120")
            page.fill("[data-input=temperature]", "0.7")
            page.fill("[data-input=top_k]", "10")
            page.fill("[data-input=seed]", "3")
            page.click("[data-action=generate]")
            page.wait_for_selector("[data-generated-text]")
            shown = page.inner_text("[data-generated-text]")
            assert shown.startswith("ROMEO:") and len(shown) >= len("ROMEO:") + 100
            assert "<pad>" not in shown and "<unk>" not in shown
            expected = models.generate(
                "shakes-char",
                "ROMEO:",
                length=120,
                temperature=0.7,
                top_k=10,
                seed=3,
                settings=trained_generators,
            )
            assert shown == expected.text
            facts = page.inner_text("[data-section=generated]")
            assert ("seed 3" if locale == "en" else "种子 3") in facts
            shots.take(page, f"{locale}-text-generation")

            # A prompt outside the vocabulary is answered with the reason, not a crash.
            page.fill("[data-input=prompt]", "naïve")
            page.click("[data-action=generate]")
            page.wait_for_selector("[data-section=generation] :text('ï')")

            page.goto(f"{url}/deployments/digits")
            page.fill("[data-input=n]", "12")
            page.fill("[data-input=seed]", "1")
            page.click("[data-action=generate]")
            page.wait_for_selector("[data-generated-images] img >> nth=11")
            assert page.locator("[data-generated-images] img").count() == 12
            time.sleep(0.2)  # the images decode on the next frame
            shots.take(page, f"{locale}-gan-sampler")
        assert page.inner_text("[data-section=generation] h2") == "采样图像"
        assert not errors, errors

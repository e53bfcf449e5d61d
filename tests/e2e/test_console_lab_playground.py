"""The console's Lab in a real browser, in English and Chinese, on a desktop and a phone:
the playground learns XOR and a spiral (its boundary canvas is drawn and its test loss
falls), becomes an ordinary run, the activation explorer measures vanishing gradients and
the optimizers race."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 60_000
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
XOR = "/lab/playground?dataset=xor&layers=8&lr=0.1&seed=1&speed=50"
SPIRAL = (
    "/lab/playground?dataset=spiral&features=x1,x2,sin_x1,sin_x2&layers=8,8,8&lr=0.1"
    "&activation=tanh&speed=50"
)


def _number(page, selector: str) -> float:
    return float(page.inner_text(selector).replace(",", ""))


def _train_until(page, steps: int) -> None:
    """Play until the page shows at least ``steps`` steps, then pause."""
    page.click("[data-action=play]")
    page.wait_for_function(
        f"Number(document.querySelector('[data-value=step]').textContent) >= {steps}",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.click("[data-action=play]")
    time.sleep(0.3)  # the request in flight lands


def _boundary_colours(page) -> int:
    """How many distinct colours the boundary canvas holds (a blank canvas has one)."""
    return page.evaluate(
        """() => {
        const c = document.querySelector('[data-boundary] canvas')
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
        const seen = new Set()
        for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2])
        return seen.size
    }"""
    )


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width} px wide"


def test_the_lab_in_a_browser(platform_factory, tmp_path: Path) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory("--cpus", "1", "--gpus", "none")
    url = platform.start()
    shots = Shots("lab-playground")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.set_viewport_size(DESKTOP)
        page.click("[data-nav='/lab']")
        page.wait_for_selector("[data-lab=convolution]")
        assert page.locator(".lab-card").count() == 5
        shots.take(page, "en-lab-index")

        # XOR: the boundary is drawn and the test loss falls while playing
        page.goto(f"{url}{XOR}")
        page.wait_for_selector("[data-boundary] canvas")
        page.wait_for_function(
            "document.querySelector('[data-value=test-loss]').textContent !== '–'"
        )
        before = _number(page, "[data-value=test-loss]")
        _train_until(page, 300)
        after = _number(page, "[data-value=test-loss]")
        assert before > 0.6 and after < 0.3, (before, after)
        assert _boundary_colours(page) > 10
        assert page.locator("[data-layer='0'] canvas").count() == 8
        shots.take(page, "en-playground-xor")

        # the settings are in the link: a changed setting is in the URL at once
        page.select_option("[data-input=activation]", "swish")
        page.wait_for_url(re.compile(r".*activation=swish.*"))

        # the user's own points: 30 rows of a CSV, 15 of them train at a 50% share
        points = tmp_path / "points.csv"
        points.write_text(
            "x,y,class\n" + "".join(f"{i},{i % 7 - 3},{'ab'[i % 2]}\n" for i in range(30))
        )
        page.set_input_files("[data-input=csv]", str(points))
        page.wait_for_function(
            "document.querySelector('[data-value=points]').textContent === '15 / 15'"
        )
        assert page.locator("[data-dataset=csv].primary").count() == 1

        # a spiral, with sine features and three layers
        page.goto(f"{url}{SPIRAL}")
        page.wait_for_function(
            "document.querySelector('[data-value=test-loss]').textContent !== '–'"
        )
        before = _number(page, "[data-value=test-loss]")
        _train_until(page, 1000)
        after = _number(page, "[data-value=test-loss]")
        assert after < 0.3 < before, (before, after)
        shots.take(page, "en-playground-spiral")

        # open it as a run: the points become a dataset, the spec fills the new-job page
        page.click("[data-action=prepare-run]")
        assert "dataset: playground-spiral-0" in page.inner_text("[data-run-spec]")
        page.click("[data-action=open-run]")
        page.wait_for_url("**/jobs/new?spec=*")
        page.wait_for_selector("[data-editor=yaml] .cm-line:has-text('playground-spiral-0')")

        page.goto(f"{url}/lab/activations")
        page.wait_for_selector("[data-norms=relu]")
        page.click("[data-activation=swish]")
        assert "x * sigmoid(x)" in page.inner_text("[data-formula]")
        ratios = {
            name: float(page.inner_text(f"[data-norms={name}] td:last-child"))
            for name in ("sigmoid", "relu")
        }
        assert ratios["sigmoid"] < 1e-5 < ratios["relu"], ratios
        shots.take(page, "en-activations")

        page.goto(f"{url}/lab/optimizers")
        page.fill("[data-input=steps]", "120")
        page.click("[data-action=race]")
        page.wait_for_selector("[data-panel=adam] canvas")
        assert page.locator("[data-panel]").count() == 6
        page.wait_for_function(
            "document.querySelector('[data-value=shown]').textContent.includes('120 ')"
        )
        shots.take(page, "en-optimizers")

        # Chinese, then a phone
        page.click("[data-locale=zh-CN]")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert "优化器赛跑" in page.inner_text("h1")
        shots.take(page, "zh-optimizers")
        for path, name, ready, title in (
            ("/lab", "lab-index", "[data-lab=cnn]", "学习实验室"),
            (XOR, "playground", "[data-boundary] canvas", "神经网络游乐场"),
            ("/lab/activations", "activations", "[data-norms=relu]", "激活函数探索"),
        ):
            page.goto(f"{url}{path}")
            page.wait_for_selector(ready)
            assert page.inner_text("h1") == title
            time.sleep(0.2)
            shots.take(page, f"zh-{name}")
        page.set_viewport_size(PHONE)
        for path, name, ready in (
            (XOR, "playground", "[data-boundary] canvas"),
            ("/lab/optimizers", "optimizers", "[data-action=race]"),
        ):
            page.goto(f"{url}{path}")
            page.wait_for_selector(ready)
            if name == "optimizers":
                page.click("[data-action=race]")
                page.wait_for_selector("[data-panel=adam] canvas")
            time.sleep(0.2)
            _no_sideways_scroll(page)
            shots.take(page, f"zh-phone-{name}")
        page.goto(f"{url}/lab/activations")
        page.wait_for_selector("[data-norms=relu]")
        _no_sideways_scroll(page)
        page.click("[data-locale=en]")
        page.goto(f"{url}{XOR}")
        page.wait_for_selector("[data-boundary] canvas")
        _no_sideways_scroll(page)
        shots.take(page, "en-phone-playground")
    assert errors == []

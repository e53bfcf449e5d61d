"""On a phone (390x844), in English and in Chinese, no page of the console scrolls sideways:
every route of the console's router is visited on a platform that holds a dataset, a finished
job, a model version, a deployment and a labeling project, and nothing is wider than the screen
except inside a container that scrolls on its own (a table in its card). The sidebar folds into
a menu that opens and closes."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import REPO
from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
TABLE = "a,b,y\n" + "".join(f"{i % 3},{i % 5},{i % 2}\n" for i in range(30))
REVIEWS = (
    "text,label\n"
    "A warm and funny film; I laughed all the way through.,positive\n"
    "Two hours I will never get back.,\n"
)

# Elements that stick out of the viewport and are not inside a box that scrolls or clips them.
OVERFLOWING = """(limit) => {
  const clipped = (element) => {
    for (let box = element.parentElement; box && box !== document.body; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX
      if (overflow === 'auto' || overflow === 'scroll' || overflow === 'hidden') return true
    }
    return false
  }
  const found = []
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect()
    if (box.width === 0 || box.height === 0) continue
    if ((box.right > limit + 1 || box.left < -1) && !clipped(element)) {
      const classes = typeof element.className === 'string' ? element.className.trim() : ''
      const dotted = classes ? '.' + classes.split(/\\s+/).join('.') : ''
      const name = element.tagName.toLowerCase() + dotted
      found.push(`${name} [${Math.round(box.left)}, ${Math.round(box.right)}]`)
    }
  }
  return found.slice(0, 8)
}"""


def router_paths() -> list[str]:
    """The path patterns of the console's router (web/src/router.ts)."""
    source = (REPO / "web" / "src" / "router.ts").read_text()
    return re.findall(r"path: '([^']+)'", source)


def _finished(api: httpx.Client, job: int) -> dict:
    for _ in range(240):
        run = api.get(f"/v1/runs/{job}").json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.25)
    raise AssertionError(f"job {job} did not finish in 60 s")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PlatformProcess, dict]]:
    """A platform with a table dataset, two finished one-epoch jobs on it (one registered as
    ``phone-table@1``), a deployment of that version and a text labeling project."""
    require_browser()
    home = tmp_path_factory.mktemp("phone")
    platform = PlatformProcess(
        home / "home",
        "--cpus",
        "2",
        "--gpus",
        "none",
        "--warm-workers",
        "0",
        "--import-root",
        str(home),
    )
    platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    try:
        with httpx.Client(base_url=platform.url, timeout=60, headers=owner) as api:
            upload = api.post("/v1/uploads").json()["id"]
            api.put(f"/v1/uploads/{upload}/files/t.csv", content=TABLE.encode())
            body = {"upload": upload, "path": "t.csv", "name": "phone-table", "target": "y"}
            assert api.post("/v1/datasets", json=body).status_code == 201
            jobs = []
            for name, register in (("phone-a", "phone-table"), ("phone-b", None)):
                spec = {
                    "name": name,
                    "register_as": register,
                    "data": {"dataset": "phone-table@1", "split": {"val": 0.2, "test": 0.2}},
                    "model": {"template": "mlp", "hidden": [4]},
                    "train": {"epochs": 1, "batch_size": 8},
                }
                submitted = api.post("/v1/jobs", json={"spec": spec})
                assert submitted.status_code == 201, submitted.text
                jobs.append(submitted.json()["id"])
            (home / "reviews.csv").write_text(REVIEWS)
            imported = api.post(
                "/v1/datasets/imports/path",
                json={"path": str(home / "reviews.csv"), "name": "reviews", "kind": "documents"},
            )
            assert imported.status_code in (200, 201, 202), imported.text
            project = {
                "name": "sentiment",
                "dataset": "reviews",
                "kind": "text",
                "labels": [{"name": "positive"}, {"name": "negative"}],
            }
            created = api.post("/v1/label/projects", json=project)
            assert created.status_code == 201, created.text
            for job in jobs:
                run = _finished(api, job)
                assert run["status"] == "succeeded", run["status_reason"]
            deployed = api.post(
                "/v1/deployments", json={"name": "phone-serve", "model": "phone-table@1"}
            )
            assert deployed.status_code == 201, deployed.text
        yield platform, {"jobs": jobs}
    finally:
        platform.kill()
        platform.kill_workers()


def test_no_page_scrolls_sideways_on_a_phone_and_the_menu_folds(
    world: tuple[PlatformProcess, dict], tmp_path: Path
) -> None:
    platform, made = world
    first, second = made["jobs"]
    # Every route of the router, with the items the platform holds.
    visits = {
        "/": "/",
        "/datasets": "/datasets",
        "/datasets/:dataset": "/datasets/phone-table%401",
        "/jobs": "/jobs",
        "/jobs/new": "/jobs/new",
        "/jobs/compare": f"/jobs/compare?runs={first},{second}",
        "/jobs/:id(\\\\d+)": f"/jobs/{first}",
        "/models": "/models",
        "/models/:name/:version?": "/models/phone-table/1",
        "/deployments": "/deployments",
        "/deployments/:name": "/deployments/phone-serve",
        "/labeling": "/labeling",
        "/labeling/:name": "/labeling/sentiment",
        "/lab": "/lab",
        "/lab/playground": "/lab/playground",
        "/lab/activations": "/lab/activations",
        "/lab/optimizers": "/lab/optimizers",
        "/lab/convolution": "/lab/convolution",
        "/lab/cnn": "/lab/cnn",
        "/audit": "/audit",
        "/:rest(.*)*": "/no/such/page",
    }
    assert sorted(router_paths()) == sorted(visits), "a route of router.ts is not visited"
    extra = ["/datasets/phone-table", "/models/phone-table"]  # a dataset's and a model's index
    shots = Shots("phone-layout")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform)
        page.set_viewport_size(PHONE)
        page.wait_for_selector("[data-me]")

        # The menu: folded, opened by its button, closed by choosing a page.
        toggle = page.locator("[data-nav-toggle]")
        assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
        assert not page.is_visible("[data-nav='/models']")
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        page.wait_for_selector("[data-nav='/models']", state="visible")
        shots.take(page, "en-menu-open")
        page.click("[data-nav='/models']")
        page.wait_for_url("**/models")
        page.wait_for_selector("[data-nav='/models']", state="hidden")
        toggle.click()
        page.wait_for_selector("[data-nav='/models']", state="visible")
        toggle.click()  # the button closes it too
        page.wait_for_selector("[data-nav='/models']", state="hidden")

        wide: dict[str, object] = {}
        for locale in ("en", "zh-CN"):
            page.click(f"[data-locale={locale}]")
            for path in [*visits.values(), *extra]:
                page.goto(platform.url + path)
                page.wait_for_selector("main :is(h1, h2)")
                # a page that polls is never idle: its first answers are in after 1 s
                with contextlib.suppress(PlaywrightTimeout):
                    page.wait_for_load_state("networkidle", timeout=1000)
                page.wait_for_timeout(150)
                width = page.evaluate("document.documentElement.scrollWidth")
                sticking_out = page.evaluate(OVERFLOWING, PHONE["width"])
                if width > PHONE["width"] or sticking_out:
                    wide[f"{locale} {path}"] = (width, sticking_out)
                if path == f"/jobs/{first}":
                    height = page.evaluate("document.documentElement.scrollHeight")
                    print(f"{locale} job page: {height} px tall at 390 px")
                shots.take(page, f"{locale}-{path.strip('/').replace('/', '-') or 'overview'}")
        assert wide == {}, wide

        # On a desktop the sidebar is always there and has no menu button.
        page.set_viewport_size(DESKTOP)
        assert not toggle.is_visible()
        assert page.is_visible("[data-nav='/models']")
        assert errors == []

"""The console asks before it destroys: cancelling a job and stopping a deployment open a
dialog that says what happens, whose safe choice keeps things as they are; every page names
itself and its item in the browser tab, in the console's language. A job shows its spec, is
cloned into the new-job form or run again, and is deleted into the archive (the dialog naming
the model version it registered, which stays) and restored from there."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000
# An XOR network trained for far longer than the test: it is running when the console cancels it.
LONG_JOB = {
    "spec": {
        "name": "long-xor",
        "data": {"dataset": "xor", "split": "none", "normalize": "none"},
        "model": {"template": "mlp", "hidden": [8]},
        "train": {"epochs": 100_000, "batch_size": 4},
    }
}


def test_cancel_asks_first_and_pages_name_themselves(platform_factory, tmp_path: Path) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=platform.url, timeout=30) as api:
        submitted = api.post("/v1/jobs", json=LONG_JOB, headers=owner)
        assert submitted.status_code == 201, submitted.text
        job = submitted.json()["id"]
    shots = Shots("lifecycle")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_selector("[data-me]")
        assert page.title() == "Overview · Athanor"
        page.goto(f"{platform.url}/jobs/{job}")
        page.wait_for_selector("h1 [data-status=running]", timeout=60_000)
        assert page.title() == f"Job #{job} · Athanor"

        # The safe choice has the focus: Enter keeps the job running.
        page.click("[data-action=cancel]")
        dialog = page.locator("[data-confirm-dialog]")
        dialog.wait_for(state="visible")
        assert f"Cancel job #{job}?" in dialog.inner_text()
        shots.take(page, "en-cancel-dialog")
        page.keyboard.press("Enter")
        dialog.wait_for(state="hidden")
        page.wait_for_timeout(500)
        with httpx.Client(base_url=platform.url, timeout=30) as api:
            assert api.get(f"/v1/jobs/{job}", headers=owner).json()["status"] == "running"

        page.click("[data-locale=zh-CN]")
        page.wait_for_function(f"document.title === '作业 #{job} · Athanor'")
        page.set_viewport_size({"width": 390, "height": 844})
        page.click("[data-action=cancel]")
        dialog.wait_for(state="visible")
        assert f"取消作业 #{job}？" in dialog.inner_text()
        shots.take(page, "zh-cancel-dialog-phone")
        page.click("[data-confirm=yes]")
        page.wait_for_selector("h1 [data-status=cancelled]")
        assert page.locator("[data-action=cancel]").count() == 0

        page.goto(f"{platform.url}/no/such/page")
        page.wait_for_function("document.title === '页面不存在 · Athanor'")
        page.click("[data-locale=en]")
        page.wait_for_function("document.title === 'Page not found · Athanor'")
        assert errors == []


# Two epochs of a tiny XOR network, registered: a finished job with a model version to name.
QUICK_JOB = {
    "spec": {
        "name": "quick-xor",
        "register_as": "xor-e2e",
        "data": {"dataset": "xor", "split": "none", "normalize": "none"},
        "model": {"template": "mlp", "hidden": [4]},
        "train": {"epochs": 2, "batch_size": 4},
    }
}


def _finished(api: httpx.Client, job: int, headers: dict[str, str]) -> dict:
    for _ in range(240):
        run = api.get(f"/v1/runs/{job}", headers=headers).json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.5)
    raise AssertionError(f"job {job} did not finish in 120 s")


def test_a_job_shows_its_spec_is_cloned_rerun_deleted_and_restored(
    platform_factory, tmp_path: Path
) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=platform.url, timeout=30) as api:
        submitted = api.post("/v1/jobs", json=QUICK_JOB, headers=owner)
        assert submitted.status_code == 201, submitted.text
        job = submitted.json()["id"]
        finished = _finished(api, job, owner)
        assert finished["status"] == "succeeded", finished["status_reason"]
        assert finished["summary"]["registered_as"] == "xor-e2e@1"
    shots = Shots("lifecycle")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_selector("[data-me]")

        # The spec it trained with, every default filled in, read-only with a copy button.
        page.goto(f"{platform.url}/jobs/{job}")
        page.wait_for_selector("h1 [data-status=succeeded]")
        spec = page.locator("[data-spec]").inner_text()
        assert "name: quick-xor" in spec and "epochs: 2" in spec and "optimizer:" in spec
        page.click("[data-action=copy-spec]")
        page.wait_for_selector("[data-action=copy-spec]:has-text('Copied')")
        shots.take(page, "en-job-spec")

        # Clone: the new-job page with that spec, its form read from it, to edit.
        page.click("[data-action=clone]")
        page.wait_for_url(f"**/jobs/new?from={job}")
        page.wait_for_selector("[data-cloned]")
        page.wait_for_selector("[data-editor=yaml] .cm-line:has-text('name: quick-xor')")
        epochs = page.locator("[data-field='train.epochs'] input")
        page.wait_for_function(
            "document.querySelector(\"[data-field='train.epochs'] input\")?.value === '2'"
        )
        epochs.fill("3")
        shots.take(page, "en-clone")
        page.click("[data-action=submit]")
        page.wait_for_url(re.compile(r".*/jobs/\d+$"))
        cloned = int(page.url.rsplit("/", 1)[1])
        assert cloned != job

        # Re-run: the same spec again, as a new job.
        page.goto(f"{platform.url}/jobs/{job}")
        page.wait_for_selector("h1 [data-status=succeeded]")
        page.click("[data-action=rerun]")
        page.wait_for_url(
            lambda url: bool(re.search(r"/jobs/\d+$", url)) and not url.endswith(f"/jobs/{job}")
        )
        rerun = int(page.url.rsplit("/", 1)[1])
        assert rerun not in (job, cloned)
        with httpx.Client(base_url=platform.url, timeout=30) as api:
            original = api.get(f"/v1/runs/{job}", headers=owner).json()["spec"]
            assert api.get(f"/v1/runs/{rerun}", headers=owner).json()["spec"] == original
            edited = api.get(f"/v1/runs/{cloned}", headers=owner).json()["spec"]
            assert edited["train"]["epochs"] == 3 and edited["name"] == "quick-xor"
            # The jobs run one at a time on the one CPU slot; cancel them, they are not needed.
            for extra in (cloned, rerun):
                api.post(f"/v1/jobs/{extra}/cancel", headers=owner)

        # Delete: the dialog names the version the run registered, which stays.
        page.goto(f"{platform.url}/jobs/{job}")
        page.wait_for_selector("h1 [data-status=succeeded]")
        page.click("[data-action=delete-run]")
        dialog = page.locator("[data-confirm-dialog]:visible")
        dialog.wait_for(state="visible")
        said = dialog.inner_text()
        assert f"Delete run #{job}?" in said and "registered model xor-e2e@1" in said, said
        assert "the version stays registered" in said
        shots.take(page, "en-delete-run-dialog")
        page.click("[data-confirm-dialog]:visible [data-confirm=yes]")
        page.wait_for_url("**/jobs")
        page.wait_for_selector(f"[data-run='{rerun}']")
        assert page.locator(f"[data-run='{job}']").count() == 0
        page.check("[data-filter=archived] input")
        page.wait_for_selector(f"[data-run='{job}']")
        assert page.locator(f"[data-run='{rerun}']").count() == 0
        shots.take(page, "en-archived-list")

        # In Chinese on a phone: the archived run says so, is restored, deleted again.
        page.click("[data-locale=zh-CN]")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{platform.url}/jobs/{job}")
        page.wait_for_selector("[data-archived]")
        assert "归档" in page.inner_text("[data-archived]")
        shots.take(page, "zh-archived-job-phone")
        page.click("[data-action=restore]")
        page.wait_for_selector("[data-action=delete-run]")
        assert page.locator("[data-archived]").count() == 0
        page.click("[data-action=delete-run]")
        dialog.wait_for(state="visible")
        said = dialog.inner_text()
        assert f"删除运行 #{job}？" in said and "此运行注册了模型 xor-e2e@1" in said, said
        shots.take(page, "zh-delete-run-dialog-phone")
        page.click("[data-confirm-dialog]:visible [data-confirm=yes]")
        page.wait_for_url("**/jobs")
        page.goto(f"{platform.url}/jobs/new?from={job}")
        page.wait_for_selector("[data-cloned]")
        assert f"运行 #{job} 的配置" in page.inner_text("[data-cloned]")
        shots.take(page, "zh-clone-phone")
        with httpx.Client(base_url=platform.url, timeout=30) as api:
            assert api.get(f"/v1/runs/{job}", headers=owner).json()["archived_at"] is not None
            assert api.get("/v1/models/xor-e2e@1", headers=owner).status_code == 200
        _delete_a_dataset_version_and_a_stopped_deployment(page, platform, shots)
        assert errors == []


TABLE = "a,b,y\n" + "".join(f"{i % 3},{i % 5},{i % 2}\n" for i in range(30))


def _delete_a_dataset_version_and_a_stopped_deployment(
    page, platform: PlatformProcess, shots: Shots
) -> None:
    """A dataset version's dialog names the model version trained on it; a deployment stops,
    stays, starts again, and once stopped is deleted (phone width, in Chinese, then English)."""
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=platform.url, timeout=30, headers=owner) as api:
        for table in (TABLE, TABLE + "1,1,1\n"):  # two versions
            upload = api.post("/v1/uploads").json()["id"]
            api.put(f"/v1/uploads/{upload}/files/t.csv", content=table.encode())
            body = {"upload": upload, "path": "t.csv", "name": "e2e-table", "target": "y"}
            assert api.post("/v1/datasets", json=body).status_code == 201
            api.delete(f"/v1/uploads/{upload}")
        spec = {
            "name": "on-table",
            "register_as": "table-e2e",
            "data": {"dataset": "e2e-table@1", "split": "none"},
            "model": {"template": "mlp", "hidden": [4]},
            "train": {"epochs": 1, "batch_size": 8},
        }
        trained = api.post("/v1/jobs", json={"spec": spec})
        assert trained.status_code == 201, trained.text
        assert _finished(api, trained.json()["id"], owner)["status"] == "succeeded"
        deployed = {"name": "e2e-xor", "model": "xor-e2e@1"}
        assert api.post("/v1/deployments", json=deployed).status_code == 201

    page.goto(f"{platform.url}/datasets/e2e-table%401")
    page.wait_for_selector("[data-action=delete-data-version]")
    page.click("[data-action=delete-data-version]")
    dialog = page.locator("[data-confirm-dialog]:visible")
    dialog.wait_for(state="visible")
    said = dialog.inner_text()
    assert "永久删除 e2e-table@" in said, said
    assert (
        "有 1 个模型版本用它训练（table-e2e@1）：它们仍可使用，但无法再用这份数据重新训练" in said
    )
    shots.take(page, "zh-delete-data-version-phone")
    page.click("[data-confirm-dialog]:visible [data-confirm=yes]")
    page.wait_for_url("**/datasets/e2e-table")
    page.wait_for_selector("[data-action=delete-dataset]")
    page.click("[data-action=delete-dataset]")
    dialog.wait_for(state="visible")
    assert "数据集 e2e-table（共 1 个版本）" in dialog.inner_text()
    page.click("[data-confirm-dialog]:visible [data-confirm=yes]")
    page.wait_for_url("**/datasets")

    page.click("[data-locale=en]")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{platform.url}/deployments/e2e-xor")
    page.click("[data-action=stop]")
    dialog.wait_for(state="visible")
    assert "the deployment stays, stopped" in dialog.inner_text()
    page.click("[data-confirm-dialog]:visible [data-confirm=yes]")
    page.wait_for_selector("[data-action=start]")
    page.click("[data-action=start]")
    page.wait_for_selector("[data-action=stop]")
    page.click("[data-action=stop]")
    page.click("[data-confirm-dialog]:visible [data-confirm=yes]")
    page.wait_for_selector("[data-not-serving]")
    page.click("[data-action=delete-deployment]")
    dialog.wait_for(state="visible")
    said = dialog.inner_text()
    assert "Delete deployment e2e-xor?" in said and "(xor-e2e@1) stays registered" in said
    shots.take(page, "en-delete-deployment-dialog")
    page.click("[data-confirm-dialog]:visible [data-confirm=yes]")
    page.wait_for_url("**/deployments")
    with httpx.Client(base_url=platform.url, timeout=30, headers=owner) as api:
        assert api.get("/v1/deployments/e2e-xor").status_code == 404
        assert api.get("/v1/datasets/e2e-table/versions").status_code == 404


# y = a + b exactly: long training fits it closely, one epoch at a tiny rate does not.
SUM_TABLE = "a,b,y\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 7 + (i * 3) % 5}\n" for i in range(60))


def test_a_version_scoring_worse_than_the_aliased_one_says_so_on_its_page(
    platform_factory, tmp_path: Path
) -> None:
    """Two versions of a regression model, the better one aliased production: the worse one's
    page warns, naming the metric, both values and the alias (English at 1440x900, Chinese on
    a phone); the better one's page does not."""
    require_browser()
    platform: PlatformProcess = platform_factory("--cpus", "2", "--gpus", "none")
    url = platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=url, timeout=60, headers=owner) as api:
        upload = api.post("/v1/uploads").json()["id"]
        api.put(f"/v1/uploads/{upload}/files/t.csv", content=SUM_TABLE.encode())
        body = {"upload": upload, "path": "t.csv", "name": "sums", "target": "y"}
        assert api.post("/v1/datasets", json=body).status_code == 201
        jobs = []
        for epochs, lr in ((60, 0.03), (1, 0.0001)):
            spec = {
                "name": f"sums-{epochs}",
                "register_as": "sums-e2e",
                "data": {"dataset": "sums@1", "split": {"val": 0.2, "test": 0.2}},
                "model": {"template": "mlp", "hidden": [16]},
                "train": {"epochs": epochs, "batch_size": 8, "optimizer": {"lr": lr}},
            }
            submitted = api.post("/v1/jobs", json={"spec": spec})
            assert submitted.status_code == 201, submitted.text
            jobs.append(submitted.json()["id"])
            assert _finished(api, jobs[-1], owner)["status"] == "succeeded"
        aliased = api.put("/v1/models/sums-e2e/aliases/production", json={"version": 1})
        assert aliased.status_code == 200, aliased.text
        warned = api.get("/v1/models/sums-e2e@2").json()["warnings"]
        assert [w["alias"] for w in warned] == ["production"]
        assert api.get("/v1/models/sums-e2e@1").json()["warnings"] == []
    shots = Shots("lifecycle")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.goto(f"{url}/models/sums-e2e/2")
        warning = page.locator("[data-score-warning]")
        warning.wait_for()
        text = warning.inner_text()
        metric = warned[0]["metric"]
        assert (
            f"sums-e2e@2 scores worse than the version alias production points at: {metric}" in text
        )
        assert "(lower is better)" in text and "sums-e2e@1" in text
        shots.take(page, "en-score-warning")
        page.goto(f"{url}/models/sums-e2e/1")
        page.wait_for_selector("[data-section=metrics]")
        assert page.locator("[data-score-warning]").count() == 0
        page.click("[data-locale=zh-CN]")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{url}/models/sums-e2e/2")
        page.wait_for_selector("[data-score-warning]:has-text('越低越好')")
        assert "的得分不如别名 production 指向的版本" in page.inner_text("[data-score-warning]")
        shots.take(page, "zh-score-warning-phone")
        assert not errors, errors

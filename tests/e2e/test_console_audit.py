"""The console's audit page lists who did what and when (English, then Chinese, at 1440x900),
and the top bar names the signed-in user and their role; a viewer sees only their own
entries."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.console_browser import Shots, chromium, require_browser
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000
TABLE = "a,b,y\n" + "".join(f"{i},{i % 3},{2 * i}\n" for i in range(12))


def test_the_audit_page_lists_who_did_what_in_both_languages(
    platform_factory, tmp_path: Path
) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=platform.url, timeout=30) as api:
        tokens = {}
        for name, role in (("mei", "editor"), ("val", "viewer")):
            added = api.post("/v1/users", json={"name": name, "role": role}, headers=owner)
            assert added.status_code == 201, added.text
            tokens[name] = {"Authorization": f"Bearer {added.json()['token']}"}
        upload = api.post("/v1/uploads", headers=tokens["mei"]).json()["id"]
        api.put(f"/v1/uploads/{upload}/files/t.csv", content=TABLE, headers=tokens["mei"])
        body = {"upload": upload, "path": "t.csv", "name": "audit-table", "target": "y"}
        imported = api.post("/v1/datasets", json=body, headers=tokens["mei"])
        assert imported.status_code == 201, imported.text
        refused = api.post("/v1/uploads", headers=tokens["val"])
        assert refused.status_code == 403
        # The owner makes a console link for the viewer (the owner's token only).
        printed = platform.cli("console", "--user", "val").stdout
        link = next(word for word in printed.split() if "/login?token=" in word)
        other = api.post("/v1/auth/login-links", params={"user": "val"}, headers=tokens["mei"])
        assert other.status_code == 403
    shots = Shots("audit")
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1440, "height": 900})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(platform.login_link())
        page.wait_for_selector("[data-me]")
        assert page.inner_text("[data-me]").split() == ["owner", "admin"]
        page.click("[data-nav='/audit']")
        page.wait_for_selector("[data-audit] tbody tr")
        rows = [row.split("\t") for row in page.inner_text("[data-audit] tbody").splitlines()]
        ref = imported.json()["ref"]
        assert rows[0][1:] == ["mei", "imported", f"dataset version {ref}", "tabular 12"], rows
        assert any(r[1] == "owner" and r[2] == "added" and r[3].endswith("val") for r in rows)
        shots.take(page, "en-audit")
        page.fill("[data-filter=user]", "mei")
        page.press("[data-filter=user]", "Enter")
        page.wait_for_function(
            "[...document.querySelectorAll('[data-audit] tbody tr')]"
            ".every(row => row.children[1].innerText === 'mei')"
        )

        page.click("[data-locale=zh-CN]")
        page.fill("[data-filter=user]", "")
        page.press("[data-filter=user]", "Enter")
        page.wait_for_selector("text=审计记录")
        page.wait_for_selector("[data-audit] tbody tr >> text=导入")
        assert page.inner_text("[data-me]").split() == ["owner", "管理员"]
        shots.take(page, "zh-audit")

        # A viewer signs in through the link the owner made for them: their own (empty) trail.
        page.context.clear_cookies()
        page.goto(link)
        page.wait_for_selector("[data-me] >> text=查看者")
        page.goto(platform.url + "/audit")
        page.wait_for_selector("[data-empty=audit]")
        assert page.inner_text("[data-own]") == "你的记录（val）"
        assert page.locator("[data-filter=user]").count() == 0
        assert "尚无记录" in page.inner_text("[data-empty=audit]")
        shots.take(page, "zh-audit-viewer")
        page.click("[data-locale=en]")
        page.wait_for_selector("[data-me] >> text=viewer")
        assert "Nothing recorded yet." in page.inner_text("[data-empty=audit]")
        shots.take(page, "en-audit-viewer")
        assert errors == []

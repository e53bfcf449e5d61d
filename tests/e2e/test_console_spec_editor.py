"""The new-job page's spec editor: a code editor whose YAML and form are one spec (a field
edits only its key, keeping the comments; typing in the YAML fills the form), syntax errors
marked at their line as they are typed, the check's problems marked at their key's line, a
dataset picker, and a check that loads the dataset: at 1440x900 in English and on a phone
(390x844) in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000
TABLE = "a,b,y\n" + "".join(f"{i % 3},{i % 5},{i % 2}\n" for i in range(24))
DATASET = "editor-pairs"
XOR_MLP = (REPO / "src/athanor/examples/xor-mlp.yaml").read_text()


def editor_text(page) -> str:
    """The editor's text, line by line as it shows it."""
    return page.evaluate(
        "[...document.querySelectorAll('[data-editor=yaml] .cm-line')]"
        ".map(line => line.textContent).join('\\n')"
    )


def set_editor_text(page, text: str) -> None:
    """Replace the editor's text, as a paste would."""
    page.locator("[data-editor=yaml] .cm-content").fill(text)
    page.wait_for_function(
        "want => [...document.querySelectorAll('[data-editor=yaml] .cm-line')]"
        ".map(line => line.textContent).join('\\n').trimEnd() === want",
        arg=text.rstrip("\n"),
    )


def marked_lines(page) -> list[int]:
    """The editor's lines (from 1) with an error underlined or pointed at."""
    page.locator("[data-editor=yaml]").scroll_into_view_if_needed()
    page.wait_for_selector("[data-editor=yaml] .cm-lint-marker-error")
    return page.evaluate(
        "[...document.querySelectorAll('[data-editor=yaml] .cm-line')]"
        ".map((line, i) => line.querySelector(MARK) ? i + 1 : 0).filter(Boolean)".replace(
            "MARK", "'.cm-lintRange-error, .cm-lintPoint-error'"
        )
    )


def line_of(text: str, start: str) -> int:
    """The number (from 1) of the first line of ``text`` that starts with ``start``."""
    return next(i for i, line in enumerate(text.split("\n"), 1) if line.startswith(start))


def field(path: str) -> str:
    return f"[data-field='{path}'] input"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_spec_editor_keeps_form_and_yaml_one_spec(platform_factory, tmp_path: Path) -> None:
    require_browser()
    import athanor as at

    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.start()
    table = tmp_path / "pairs.csv"
    table.write_text(TABLE)
    at.datasets.import_dataset(table, name=DATASET, target="y", settings=platform.settings)
    shots = Shots("spec-editor")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        scripts: list[str] = []
        page.on("request", lambda r: r.resource_type == "script" and scripts.append(r.url))
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_selector("[data-me]")
        page.click("[data-nav='/jobs']")
        page.wait_for_selector("[data-action=new-job]")
        assert scripts and not [s for s in scripts if "YamlEditor" in s]  # only its page loads it
        page.goto(f"{platform.url}/jobs/new?template=xor-mlp")
        page.wait_for_selector("[data-template=xor-mlp].on")
        page.wait_for_selector("[data-editor=yaml] .cm-lineNumbers")
        assert [s for s in scripts if "YamlEditor" in s]
        page.wait_for_function(f"document.querySelector(\"{field('name')}\")?.value === 'xor-mlp'")
        assert '# The "AI winter" story' in editor_text(page)

        # The form edits its key in the YAML, and only that: the comments stay.
        assert page.input_value(field("train.epochs")) == "50"
        page.fill(field("train.epochs"), "3")
        page.wait_for_function(
            "document.querySelector('[data-editor=yaml]').textContent.includes('epochs: 3')"
        )
        text = editor_text(page)
        assert text == XOR_MLP.replace("epochs: 50", "epochs: 3")

        # Typing in the YAML fills the form.
        set_editor_text(page, text.replace("epochs: 3", "epochs: 2").replace("lr: 0.1", "lr: 0.05"))
        page.wait_for_function(f"document.querySelector(\"{field('train.epochs')}\").value === '2'")
        assert page.input_value(field("train.optimizer.lr")) == "0.05"
        text = editor_text(page)

        # A syntax error is marked at its line as it is typed, and listed.
        broken = text.replace("  activation: tanh", "  activation: tanh: x")
        set_editor_text(page, broken)
        assert marked_lines(page) == [line_of(broken, "  activation:")], broken
        page.wait_for_selector("[data-issues] li")
        shots.take(page, "en-syntax-error")
        set_editor_text(page, text)
        page.wait_for_selector("[data-editor=yaml] .cm-lint-marker-error", state="detached")

        # A wrong key from the check is marked at its key's line.
        wrong = text.replace("  batch_size: 4\n", "  batch_size: 4\n  colour: blue\n")
        set_editor_text(page, wrong)
        page.click("[data-action=check]")
        page.wait_for_selector("[data-issues] li[data-issue-path='train.colour']")
        assert marked_lines(page) == [line_of(wrong, "  colour:")]
        assert page.get_attribute("[data-issue-path='train.colour']", "data-issue-line") == str(
            line_of(wrong, "  colour:")
        )
        shots.take(page, "en-check-key-path")

        # The picker writes data.dataset, its comment kept.
        set_editor_text(page, text)
        page.fill("[data-input=dataset-search]", "pairs")
        option = page.locator(f"[data-dataset-option={DATASET}]")
        said = option.inner_text()
        assert "imported" in said and "table" in said and "24 rows" in said, said
        assert page.locator("[data-dataset-option=mnist]").count() == 0
        option.click()
        page.wait_for_function(
            f"document.querySelector(\"{field('data.dataset')}\").value === '{DATASET}'"
        )
        assert f"  dataset: {DATASET}          # the 4-row" in editor_text(page)

        # Check loads the dataset: a target column the table lacks is refused at data.dataset.
        text = editor_text(page)
        missing = text.replace("  split: none", "  target: price\n  split: none")
        set_editor_text(page, missing)
        page.click("[data-action=check]")
        issue = page.locator("[data-issues] li[data-issue-path='data.dataset']")
        issue.wait_for()
        assert "no target column 'price'" in issue.inner_text()
        assert marked_lines(page) == [line_of(missing, "  dataset:")]
        assert "no target column" in page.inner_text("[data-field='data.dataset']")
        shots.take(page, "en-check-dataset")

        # Fixed, it checks and is queued as it reads.
        set_editor_text(page, text)
        page.click("[data-action=check]")
        page.wait_for_selector("[data-check=ok]")
        page.click("[data-action=submit]")
        page.wait_for_url(re.compile(r".*/jobs/\d+$"))
        job = int(page.url.rsplit("/", 1)[1])
        owner = {"Authorization": f"Bearer {platform.owner_token}"}
        with httpx.Client(base_url=platform.url, timeout=30) as api:
            spec = api.get(f"/v1/runs/{job}", headers=owner).json()["spec"]
            api.post(f"/v1/jobs/{job}/cancel", headers=owner)
        assert spec["train"]["epochs"] == 2 and spec["data"]["dataset"] == DATASET
        assert spec["train"]["optimizer"]["lr"] == 0.05

        # On a phone, in Chinese: the clone of that job, edited the same ways.
        page.evaluate("localStorage.setItem('athanor.locale', 'zh-CN')")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{platform.url}/jobs/new?from={job}")
        page.wait_for_selector("[data-cloned]")
        page.wait_for_selector("[data-editor=yaml] .cm-lineNumbers")
        page.wait_for_function(
            f"document.querySelector(\"{field('train.epochs')}\")?.value === '2'"
        )
        assert "optimizer:" in editor_text(page)  # the run's spec, every default filled in
        set_editor_text(page, XOR_MLP)  # a paste: the form follows
        page.wait_for_function(
            f"document.querySelector(\"{field('train.epochs')}\").value === '50'"
        )
        assert "查找数据集" in page.inner_text("[data-picker=dataset]")
        page.fill(field("train.epochs"), "4")
        page.wait_for_function(
            "document.querySelector('[data-editor=yaml]').textContent.includes('epochs: 4')"
        )
        text = editor_text(page)
        set_editor_text(page, text.replace("epochs: 4", "epochs: 5"))
        page.wait_for_function(f"document.querySelector(\"{field('train.epochs')}\").value === '5'")
        text = editor_text(page)
        page.fill("[data-input=dataset-search]", "iris")
        page.click("[data-dataset-option=iris]")
        page.wait_for_function(
            "document.querySelector('[data-editor=yaml]').textContent.includes('dataset: iris')"
        )
        text = editor_text(page)

        broken = text.replace("  epochs: 5", "  epochs: [5")
        set_editor_text(page, broken)
        assert marked_lines(page)
        assert "第" in page.inner_text("[data-issues]")
        assert page.locator("[data-blocked]").count() == 0
        page.fill(field("train.batch_size"), "8")  # the form cannot edit broken YAML
        page.wait_for_selector("[data-blocked]")
        assert "语法错误" in page.inner_text("[data-blocked]")
        assert no_sideways_scroll(page)
        shots.take(page, "zh-phone-syntax-error")

        wrong = text.replace("  epochs: 5", "  epochs: 0")
        set_editor_text(page, wrong)
        page.click("[data-action=check]")
        page.wait_for_selector("[data-issues] li[data-issue-path='train.epochs']")
        assert marked_lines(page) == [line_of(wrong, "  epochs:")]
        assert "第" in page.inner_text("[data-issue-path='train.epochs']")
        assert no_sideways_scroll(page)
        shots.take(page, "zh-phone-check")
        assert errors == []

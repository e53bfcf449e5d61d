"""The lessons in docs/learn run as written and point at files that exist.

A ```bash block right after a ``<!-- run -->`` line (``<!-- run: mirror -->`` when its
commands read a catalog dataset) is runnable: each of its commands runs in a real shell,
from the repository root (as the lessons say), with a fresh ``ATHANOR_HOME`` per lesson
and the datasets from ``ATHANOR_DATA_MIRROR`` (no network; without a mirror the blocks that
need it are skipped, or fail under ``ATHANOR_REQUIRE_MIRROR``), and must exit with 0. Only
blocks that take seconds are marked. The Chinese lessons carry the same runnable blocks as
the English ones (checked, not run twice), and every relative link and image of every
lesson resolves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
LEARN = DOCS / "learn"
MARKER = re.compile(r"<!-- run(: mirror)? -->")
LESSONS = sorted(p for p in LEARN.glob("*.md") if p.name != "README.md")
TRANSLATIONS = sorted(p for p in (LEARN / "zh").glob("*.md") if p.name != "README.md")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def runnable_blocks(text: str) -> list[tuple[bool, list[str]]]:
    """Each runnable block: whether it needs the dataset mirror, and its commands (comment
    and blank lines dropped, lines ending in a backslash joined with the next)."""
    blocks: list[tuple[bool, list[str]]] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        marker = MARKER.fullmatch(line.strip())
        if marker is None:
            continue
        assert lines[index + 1].strip() == "```bash", (
            f"the run marker on line {index + 1} is not before a ```bash block"
        )
        commands: list[str] = []
        pending = ""
        for body in lines[index + 2 :]:
            if body.strip() == "```":
                break
            if body.endswith("\\"):
                pending += body[:-1] + " "
                continue
            command = (pending + body).strip()
            pending = ""
            if command and not command.startswith("#"):
                commands.append(command)
        blocks.append((marker.group(1) is not None, commands))
    return blocks


def heading_anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings, spelled as GitHub spells them."""
    anchors = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_there_are_runnable_lessons() -> None:
    assert sum(len(runnable_blocks(p.read_text())) for p in LESSONS) >= 3


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_commands_run(lesson: Path, tmp_path: Path) -> None:
    blocks = runnable_blocks(lesson.read_text())
    if not blocks:
        pytest.skip("no runnable block")
    # the home, the mirror and offline mode come from the suite's per-test fixture; the
    # `athanor` script is the one installed next to this interpreter
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for needs_mirror, commands in blocks:
        if needs_mirror and not os.environ.get("ATHANOR_DATA_MIRROR"):
            if os.environ.get("ATHANOR_REQUIRE_MIRROR"):
                pytest.fail(f"{lesson.name} needs ATHANOR_DATA_MIRROR")
            continue
        for command in commands:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=DOCS.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert done.returncode == 0, (
                f"{lesson.name}: `{command}` exited {done.returncode}:\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )


@pytest.mark.parametrize("translation", TRANSLATIONS, ids=lambda p: p.stem)
def test_translation_runs_the_same_commands(translation: Path) -> None:
    original = LEARN / translation.name
    assert original.exists(), f"{translation.name} has no English lesson"
    assert runnable_blocks(translation.read_text()) == runnable_blocks(original.read_text())


@pytest.mark.parametrize(
    "page",
    [*LESSONS, *TRANSLATIONS, LEARN / "README.md", LEARN / "zh" / "README.md"],
    ids=lambda p: str(p.relative_to(LEARN)),
)
def test_links_and_files_resolve(page: Path) -> None:
    text = page.read_text()
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("/") or target.startswith("#"):
            continue  # a web address, a console page (/lab/...) or an anchor on the page
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve()
        assert path.exists(), f"{page.name}: the link {target} points at nothing"
        if anchor:
            assert anchor in heading_anchors(path), f"{page.name}: {target}: no such heading"
    for mentioned in re.findall(r"`((?:examples|docs)/[\w./-]+\.(?:yaml|py|md|png))`", text):
        assert (DOCS.parent / mentioned).exists(), f"{page.name}: `{mentioned}` does not exist"


def test_the_index_lists_every_lesson() -> None:
    for index, pages in (
        (LEARN / "README.md", LESSONS),
        (LEARN / "zh" / "README.md", TRANSLATIONS),
    ):
        text = index.read_text()
        for page in pages:
            assert f"({page.name})" in text, f"{index.relative_to(DOCS)} does not link {page.name}"

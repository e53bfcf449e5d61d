"""``athanor data`` in real subprocesses: import, list, show, stats, preview, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_main import athanor
from tests.data.test_importing import make_shapes, messy_csv


def test_import_list_show_stats_and_preview(tmp_path: Path) -> None:
    folder = make_shapes(tmp_path / "shapes", per_class=3)
    (folder / "circle" / "readme.md").write_text("notes")
    failed = athanor("data", "import", str(folder), "--name", "shapes", check=False)
    assert failed.returncode == 2 and "readme.md: not an image file" in failed.stderr
    assert "Traceback" not in failed.stderr
    imported = athanor("data", "import", str(folder), "--name", "shapes", "--skip-bad").stdout
    assert "imported as shapes@" in imported and "readme.md: not an image file" in imported
    again = json.loads(
        athanor("data", "import", str(folder), "--name", "shapes", "--skip-bad", "--json").stdout
    )
    assert again["reused"] is True and again["number"] == 1
    csv = messy_csv(tmp_path / "houses.csv", rows=5)
    athanor("data", "import", str(csv), "--name", "houses", "--target", "price")
    listed = json.loads(athanor("data", "list", "--json").stdout)
    assert [d["name"] for d in listed] == ["houses", "shapes"]
    shown = athanor("data", "show", "houses").stdout
    assert "categorical" in shown and "target" in shown
    assert "class balance" in athanor("data", "show", "shapes@1").stdout
    stats = json.loads(athanor("data", "stats", "houses", "--json").stdout)
    assert {c["column"] for c in stats["columns"]} >= {"city", "area"}
    drawn = athanor("data", "preview", "shapes", "--rows", "2").stdout
    assert "circle" in drawn or "square" in drawn
    assert "@" in drawn or "#" in drawn  # the shapes are drawn with the brightness ramp
    missing = athanor("data", "show", "housez", check=False)
    assert missing.returncode == 2 and "did you mean 'houses'" in missing.stderr


def test_import_and_show_labeled_text(labeled_text: Path) -> None:
    imported = athanor("data", "import", str(labeled_text), "--name", "passages").stdout
    assert "imported as passages@" in imported
    shown = athanor("data", "show", "passages").stdout
    assert "text_classes" in shown or "tokens" in shown
    assert "document lengths" in shown and "class balance" in shown and "play" in shown
    (labeled_text / "play" / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    failed = athanor("data", "import", str(labeled_text), "--name", "passages", check=False)
    assert failed.returncode == 2 and "bad.txt:1: not valid utf-8" in failed.stderr


def test_delete_removes_a_version_then_the_dataset_and_refuses_one_a_queued_job_uses(
    tmp_path: Path,
) -> None:
    from athanor.settings import current_settings
    from athanor.store import RunStatus, open_store

    csv = messy_csv(tmp_path / "houses.csv", rows=5)
    athanor("data", "import", str(csv), "--name", "gone", "--target", "price")
    csv.write_text(csv.read_text() + csv.read_text().splitlines()[-1] + "\n")
    athanor("data", "import", str(csv), "--name", "gone", "--target", "price")
    store = open_store(current_settings())
    queued = store.runs.create({}, name="uses-gone", dataset="gone@2", status=RunStatus.QUEUED)
    refused = athanor("data", "delete", "gone", "--yes", check=False)
    assert refused.returncode == 2
    assert f"cannot delete gone: jobs train on it (#{queued.id} uses-gone (queued))" in (
        " ".join(refused.stderr.split())
    )
    assert "deleted gone@" in athanor("data", "delete", "gone@1", "--yes").stdout
    left = {d["name"]: d for d in json.loads(athanor("data", "list", "--json").stdout)}
    assert (left["gone"]["versions"], left["gone"]["latest"]["number"]) == (1, 2)
    store.runs.finish(queued.id, RunStatus.CANCELLED, "test over")
    athanor("data", "delete", "gone", "--yes")
    listed = json.loads(athanor("data", "list", "--json").stdout)
    assert "gone" not in [d["name"] for d in listed]

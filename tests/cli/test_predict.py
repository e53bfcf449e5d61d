"""``athanor predict --input DIR --output preds.csv`` in a real subprocess."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image

from athanor.registry import register_package
from athanor.store import open_store
from tests.cli.test_main import athanor


def test_batch_prediction_lists_bad_items_and_exits_1(
    trained_digits, digits_raw, tmp_path: Path
) -> None:
    run, _ = trained_digits
    register_package(open_store(), "digits", run.package_dir)
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(5):
        Image.fromarray(digits_raw.x[index, 0]).save(folder / f"{index}.png")
    (folder / "bad.jpg").write_bytes(b"garbage")
    output = tmp_path / "preds.csv"
    result = athanor(
        "predict", "digits", "--input", str(folder), "--output", str(output), check=False
    )
    assert result.returncode == 1, result.stderr
    assert "5 prediction(s) by digits@1 written to" in result.stdout
    assert "1 item(s) skipped" in result.stderr and "bad.jpg: not a readable image" in result.stderr
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(Path(row["input"]).name for row in rows) == [f"{i}.png" for i in range(5)]
    assert (tmp_path / "preds.errors.csv").is_file()
    missing = athanor("predict", "digits", "--output", str(output), check=False)
    assert missing.returncode == 2 and "give files or folders to predict" in missing.stderr


def test_text_files_and_folders_are_classified(trained_text, tmp_path: Path) -> None:
    import json

    run, _ = trained_text
    register_package(open_store(), "passages", run.package_dir)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "speech.txt").write_text("My gracious lord, I pray thee hear me speak", "utf-8")
    (folder / "notes.md").write_text("Number of Instances: 150; Number of Attributes: 4", "utf-8")
    shown = json.loads(athanor("predict", "passages", str(folder / "speech.txt"), "--json").stdout)
    assert shown["predictions"][0]["label"] == "play"
    assert set(shown["predictions"][0]["probabilities"]) == {"manual", "play"}
    table = athanor("predict", "passages", str(folder)).stdout
    assert "speech.txt" in table and "notes.md" in table and "play" in table
    output = tmp_path / "preds.csv"
    athanor("predict", "passages", "--input", str(folder), "--output", str(output))
    with output.open() as handle:
        rows = {Path(row["input"]).name: row["label"] for row in csv.DictReader(handle)}
    assert rows == {"notes.md": "manual", "speech.txt": "play"}

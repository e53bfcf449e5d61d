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

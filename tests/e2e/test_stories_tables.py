"""A new user's house-price story, with the real CLI in subprocesses and the mirror's
California housing CSV: import (choosing the target when asked), a short training, then
predictions for rows exactly as they came (raw categories, gaps, shuffled columns, an id)."""

from __future__ import annotations

import csv
import math
import random
import re
from pathlib import Path

from tests.cli.test_main import athanor

TARGET = "median_house_value"


def test_a_new_user_imports_trains_and_predicts_house_prices_from_raw_rows(
    mirror: Path, tmp_path: Path
) -> None:
    housing = mirror / "california-housing" / "housing.csv"

    # No target given: the columns are listed with how to choose one; nothing is imported.
    asked = athanor("data", "import", str(housing), "--name", "houses", check=False)
    assert asked.returncode == 2
    assert "which column should the model predict?" in asked.stderr
    assert "--target COLUMN" in asked.stderr
    assert "ocean_proximity     categorical  e.g. NEAR BAY, <1H OCEAN, INLAND" in asked.stderr

    athanor("data", "import", str(housing), "--name", "houses", "--target", TARGET)
    spec = tmp_path / "houses.yaml"
    spec.write_text(
        "name: houses-mlp\n"
        "seed: 1\n"
        "data: {dataset: houses, split: {val: 0.1, test: 0.1}, subset: {train: 6000}}\n"
        "model: {template: mlp, hidden: [32]}\n"
        "train: {epochs: 2, batch_size: 128, optimizer: {type: adam, lr: 0.003}}\n"
    )
    trained = athanor("train", str(spec), "--register", "houses-mlp")
    progress, results = " ".join(trained.stderr.split()), " ".join(trained.stdout.split())
    assert f"loss mse on the standardized {TARGET} (metrics in {TARGET}'s own units)" in progress
    assert f"test_loss is the mse on the standardized {TARGET}" in results
    test_rmse = float(re.search(r"test_rmse \S (\d+\.\d+)", results).group(1))  # type: ignore[union-attr]
    assert 30_000 < test_rmse < 110_000  # dollars, not standardized units

    # Rows as a user has them: columns shuffled, an id column, the actual price, gaps.
    with housing.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    picked = random.Random(3).sample(rows, 40)
    picked[0]["total_bedrooms"] = ""
    columns = list(rows[0])
    random.Random(5).shuffle(columns)
    given = tmp_path / "rows.csv"
    with given.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", *columns])
        writer.writerows([f"house-{i}", *(row[c] for c in columns)] for i, row in enumerate(picked))

    predictions = tmp_path / "predictions.csv"
    done = athanor("predict", "houses-mlp", "--input", str(given), "--output", str(predictions))
    assert "40 prediction(s) by houses-mlp@1" in done.stdout
    with predictions.open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert list(written[0])[:2] == ["input", "id"]
    assert list(written[0])[-1] == TARGET and f"{TARGET}_given" in written[0]
    assert [r["id"] for r in written] == [f"house-{i}" for i in range(40)]
    assert written[0]["total_bedrooms"] == ""  # the gap, filled by the stored imputation
    prices = [float(r[TARGET]) for r in written]
    actual = [float(r[f"{TARGET}_given"]) for r in written]
    assert all(math.isfinite(p) for p in prices)
    assert 50_000 < sorted(prices)[20] < 500_000  # a median price in dollars
    error = math.sqrt(sum((p - a) ** 2 for p, a in zip(prices, actual, strict=True)) / 40)
    assert error < 150_000

    # A file lacking a column the model needs: exit 2 naming it, and no predictions file.
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("longitude,latitude\n-122.2,37.8\n")
    refused = athanor(
        "predict", "houses-mlp", str(lacking), "-o", str(tmp_path / "x.csv"), check=False
    )
    assert refused.returncode == 2
    assert "the header lacks the model's column(s) housing_median_age" in refused.stderr
    assert "ocean_proximity" in refused.stderr and not (tmp_path / "x.csv").exists()

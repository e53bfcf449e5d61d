"""The course stories as a new user lives them: the real CLI in subprocesses, real data from
the mirror, short trainings, from the import to the final answer (a predictions file,
generated text, flagged timestamps, a report, a published labeling version)."""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.cli.test_main import athanor
from tests.conftest import write_sunspots_csv
from tests.label.conftest import write_mnist_pngs

# ==============================================================================================
# Small models and learners' tools as a new user meets them, with the real CLI in
# subprocesses: the perceptron that cannot learn XOR and the MLP that can, the op-count
# homework of one convolution layer, and a run whose output is piped into ``head``.
# ==============================================================================================


def _trained(example: str) -> dict:
    result = json.loads(athanor("train", example, "--json").stdout)
    assert result["run"]["status"] == "succeeded"
    return result["run"]


def test_a_perceptron_cannot_learn_xor_and_one_hidden_layer_can() -> None:
    perceptron = _trained("xor-perceptron")
    assert perceptron["summary"]["metrics"]["train_accuracy"] <= 0.75  # no line separates XOR
    assert perceptron["summary"]["parameters"] == {"trainable": 6, "frozen": 0}
    assert perceptron["summary"]["data"]["split"]["sizes"] == {"train": 4}  # split: none
    assert "nothing is held out" in perceptron["summary"]["data"]["warnings"][0]

    mlp = _trained("xor-mlp")
    assert mlp["summary"]["metrics"]["train_accuracy"] == 1.0
    shown = athanor("runs", "show", str(mlp["id"])).stdout
    assert "warning: data.split: none: training on all 4 samples of 'xor'" in shown


def test_the_op_count_homework(tmp_path: Path) -> None:
    # one 3x3 convolution, 3 -> 64 channels, padding 1, on 10 images of 3x224x224
    spec = tmp_path / "homework.yaml"
    spec.write_text("model:\n  layers:\n    - conv2d: {filters: 64, kernel: 3, padding: 1}\n")
    out = athanor("summary", str(spec), "--input", "10,3,224,224").stdout
    assert "parameters 1,792 (trainable 1,792, frozen 0)" in out
    assert "multiplications 867,041,280;" in out
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert rows == ["conv2d_1"]  # exactly the layer given: no output layer added
    single = json.loads(athanor("summary", str(spec), "--input", "3,224,224", "--json").stdout)
    assert single["input_shape"] == [1, 3, 224, 224]  # no batch: a batch of one
    assert single["totals"]["multiplications"] == 867_041_280 // 10


def test_a_run_piped_into_head_still_finishes() -> None:
    command = (
        f"'{sys.executable}' -m athanor.cli train xor-mlp 2>&1 | head -n 2; "
        'echo "exit ${PIPESTATUS[0]}"'
    )
    piped = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=os.environ.copy(), timeout=300
    )
    lines = piped.stdout.splitlines()
    assert lines[0] == "run 1: loading xor..." and lines[-1] == "exit 0", piped.stdout
    assert "Traceback" not in piped.stdout + piped.stderr
    (run,) = json.loads(athanor("runs", "list", "--json").stdout)
    assert run["status"] == "succeeded" and run["status_reason"] == "completed 50 epoch(s)"


# ==============================================================================================
# A new user's house-price story, with the real CLI in subprocesses and the mirror's
# California housing CSV: import (choosing the target when asked), a short training, then
# predictions for rows exactly as they came (raw categories, gaps, shuffled columns, an id).
# ==============================================================================================


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


# ==============================================================================================
# Story: a new user trains a digit classifier and a house-price regression, then looks at
# what the test split says beyond one number: ``athanor runs show`` and an HTML report.
# ==============================================================================================


ATHANOR = [sys.executable, "-m", "athanor.cli"]


def _athanor(cwd: Path, *args: str) -> str:
    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run(
        [*ATHANOR, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    assert result.returncode == 0, f"athanor {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_story_evaluation_you_can_look_at(mirror: Path, tmp_path: Path) -> None:
    digits = json.loads(
        _athanor(
            tmp_path,
            "train",
            "mnist-cnn",
            "--set",
            "train.epochs=1",
            "--set",
            "data.subset.train=1500",
            "--set",
            "data.subset.val=300",
            "--set",
            "data.subset.test=400",
            "--json",
        )
    )
    run_id = str(digits["run"]["id"])
    shown = _athanor(tmp_path, "runs", "show", run_id)
    assert "confusion matrix (rows: actual, columns: predicted)" in shown
    assert "per class (test)" in shown and "most confidently wrong" in shown
    assert f"athanor runs report {run_id}" in shown  # where the figures are
    row_7 = next(line for line in shown.splitlines() if line.startswith(" 7 "))
    assert sum(int(v) for v in row_7.split()[1:]) > 0

    _athanor(tmp_path, "runs", "report", run_id, "-o", "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "Confusion matrix" in html and "Per class" in html and "<svg" in html
    assert len(re.findall(r"data:image/png;base64,", html)) >= 1  # wrong digits, as images
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")

    housing = json.loads(
        _athanor(
            tmp_path,
            "train",
            "mlp-california",
            "--set",
            "train.epochs=1",
            "--set",
            "data.subset.train=2000",
            "--json",
        )
    )
    run_id = str(housing["run"]["id"])
    shown = _athanor(tmp_path, "runs", "show", run_id)
    assert "error by decile of actual median_house_value" in shown
    evaluation = json.loads(_athanor(tmp_path, "runs", "show", run_id, "--json"))["evaluation"]
    assert evaluation["task"] == "regression" and len(evaluation["deciles"]) == 10
    assert (
        abs(evaluation["rmse"] - housing["test_metrics"]["test_rmse"]) < 1e-3 * evaluation["rmse"]
    )
    _athanor(tmp_path, "runs", "report", run_id, "-o", "h.html")
    html = (tmp_path / "h.html").read_text()
    assert "Predicted against actual" in html and "Error by decile" in html


# ==============================================================================================
# The generation story as a new user lives it, with the real CLI in subprocesses: train a
# tiny char-RNN on Tiny Shakespeare (from the mirror), register it and generate text from a
# prompt; train a tiny DCGAN on MNIST, find its sample grids and generate a grid of digits.
# ==============================================================================================


def test_a_char_rnn_continues_a_prompt(mirror: Path, tmp_path: Path) -> None:
    trained = athanor(
        "train",
        "examples/charrnn-shakespeare.yaml",
        *("--set", "train.epochs=1", "--set", "data.subset.train=300"),
        *("--set", "data.subset.val=20", "--set", "data.subset.test=20"),
        *("--set", "model.units=32", "--set", "model.layers=1"),
        *("--register", "shakes"),
    )
    assert "registered as shakes@1" in trained.stdout
    # The text sample printed after the epoch holds text only, never the vocabulary's markers.
    shown = trained.stdout + trained.stderr
    assert "sample after epoch 1" in shown and "<pad>" not in shown and "<unk>" not in shown

    generated = athanor(
        "generate", "shakes", "--prompt", "ROMEO:", "--length", "200", "--seed", "7"
    )
    text = generated.stdout.removesuffix("\n")
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 200
    assert "<pad>" not in text and "<unk>" not in text
    assert "shakes@1, seed 7" in generated.stderr

    prompt = tmp_path / "prompt.txt"
    prompt.write_text("To be", encoding="utf-8")
    predicted = athanor("predict", "shakes", str(prompt), check=False)
    assert predicted.returncode == 2 and "athanor generate shakes" in predicted.stderr


def test_a_dcgan_shows_its_samples_and_generates_a_grid(mirror: Path, tmp_path: Path) -> None:
    trained = athanor(
        "train",
        "examples/dcgan-mnist.yaml",
        *("--set", "train.epochs=1", "--set", "data.subset.train=256"),
        *("--set", "data.subset.val=64", "--set", "data.subset.test=64"),
        *("--set", "model.generator_width=8", "--set", "model.discriminator_width=8"),
        *("--register", "dcgan"),
    )
    found = re.search(
        r"sample grids: (\S+) \(1 file\(s\), latest (epoch-001\.png)\)", trained.stdout
    )
    assert found, trained.stdout
    assert Image.open(Path(found.group(1)) / found.group(2)).size[0] > 28 * 8

    grid = tmp_path / "digits.png"
    made = json.loads(
        athanor("generate", "dcgan", "--n", "16", "--seed", "1", "-o", str(grid), "--json").stdout
    )
    assert made == {"model": "dcgan@1", "count": 16, "seed": 1, "files": [str(grid)]}
    assert Image.open(grid).size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 digits of 28 px, 2 px gaps


# ==============================================================================================
# The anomaly and forecasting stories as a new user lives them: the real CLI in
# subprocesses, NAB and sunspots from the mirror, short trainings, down to the flagged
# timestamps and the forecast file.
# ==============================================================================================


def test_flag_anomalies_in_an_imported_nab_series(nab_mirror: Path, tmp_path: Path) -> None:
    source = nab_mirror / "realKnownCause" / "ec2_request_latency_system_failure.csv"
    refused = athanor("data", "import", str(source), "--name", "latency", "--skip-bad", check=False)
    assert refused.returncode == 2
    assert f"{source}:" in refused.stderr and "2014-03-09 03:00:00 appears again" in refused.stderr
    assert "--duplicates first" in refused.stderr

    imported = athanor("data", "import", str(source), "--name", "latency", "--duplicates", "first")
    assert "11 row(s) with a repeated timestamp merged" in imported.stdout

    spec = tmp_path / "latency-ae.yaml"
    spec.write_text(
        "name: latency-ae\nseed: 3\n"
        "data: {dataset: latency, task: reconstruction, split: {val: 0.15, test: 0.15},\n"
        "       window: {length: 32, stride: 8}}\n"
        "model: {template: lstm_autoencoder, units: 8, latent: 4}\n"
        "train: {epochs: 1, batch_size: 64}\n"
    )
    trained = json.loads(athanor("train", str(spec), "--register", "latency-ae", "--json").stdout)
    assert trained["run"]["status"] == "succeeded"
    shown = athanor("models", "show", "latency-ae")
    assert "anomaly threshold:" in shown.stdout and "quantile 0.99" in shown.stdout

    scores = tmp_path / "latency-scores.csv"
    predicted = athanor(
        "predict",
        "latency-ae",
        str(source),
        "--duplicates",
        "first",
        "-o",
        str(scores),
        "--plot",
        str(tmp_path / "latency.png"),
    )
    assert "timestamp(s) flagged in" in predicted.stdout
    with scores.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4021
    flagged = [row for row in rows if row["anomaly"] == "True"]
    calm = [row for row in rows if row["anomaly"] == "False"]
    assert flagged and len(flagged) + len(calm) == len(rows)
    # One threshold splits them: every flagged score is above every other one.
    assert min(float(r["score"]) for r in flagged) > max(float(r["score"]) for r in calm)
    with (tmp_path / "latency-scores-intervals.csv").open(newline="") as handle:
        intervals = list(csv.DictReader(handle))
    assert intervals[0]["start"] == flagged[0]["timestamp"]
    assert intervals[-1]["end"] == flagged[-1]["timestamp"]
    assert (tmp_path / "latency.png").stat().st_size > 10_000


def test_forecast_sunspots_past_the_last_year(tmp_path: Path) -> None:
    athanor(
        "train",
        "lstm-sunspots",
        "--set",
        "train.epochs=2",
        "--set",
        "model.units=8",
        "--register",
        "sunspots",
    )
    series = write_sunspots_csv(tmp_path / "sunspots.csv")
    output = tmp_path / "forecast.csv"
    athanor(
        "predict",
        "sunspots",
        str(series),
        "-o",
        str(output),
        "--plot",
        str(tmp_path / "forecast.png"),
    )
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["timestamp"] for row in rows] == [
        "2009-01-01 00:00:00",
        "2010-01-01 00:00:00",
        "2011-01-01 00:00:00",
    ]
    assert all(-50 < float(row["SUNACTIVITY"]) < 400 for row in rows)
    assert (tmp_path / "forecast.png").is_file()


# ==============================================================================================
# A user labels digits with the real CLI in subprocesses: imports unlabeled MNIST PNGs,
# labels some (a CSV), trains from the labels, confirms the most doubtful pre-labels, accepts
# the sure ones, publishes a version and trains on it like on any dataset.
# ==============================================================================================


def _json(*args: str) -> dict:
    return json.loads(athanor(*args, "--json").stdout)


def test_label_train_prelabel_confirm_publish_and_train(tmp_path: Path) -> None:
    truth = write_mnist_pngs(tmp_path / "inbox", 300)
    imported = _json("data", "import", str(tmp_path / "inbox"), "--name", "inbox")
    assert imported["rows"] == 300 and imported["info"]["unlabeled"] == 300
    digits = ",".join(str(d) for d in range(10))
    created = _json("label", "create", "handwriting", "--dataset", "inbox", "--labels", digits)
    assert created["counts"]["unlabeled"] == 300
    rows = "".join(f"{i:05d}.png,{truth[i]}\n" for i in range(150))
    (tmp_path / "first.csv").write_text("file,label\n" + rows)
    assert _json("label", "import", "handwriting", str(tmp_path / "first.csv"))["imported"] == 150

    trained = _json("label", "train", "handwriting", "--epochs", "2")
    assert trained["status"] == "succeeded" and trained["model"] == "handwriting-labels@1"
    assert trained["dataset"] == "handwriting@1" and trained["prelabeled"] == 150

    doubtful = _json(
        "label",
        "items",
        "handwriting",
        "--state",
        "prelabeled",
        "--sort",
        "uncertainty",
        "--limit",
        "20",
    )["items"]
    confidences = [item["prediction"]["confidence"] for item in doubtful]
    assert confidences == sorted(confidences)  # the least sure first
    fixed = _json("label", "set", "handwriting", *[f"{i['id']}={truth[i['id']]}" for i in doubtful])
    assert fixed["counts"]["labeled"] == 170
    accepted = _json("label", "accept", "handwriting", "--min-confidence", "0.5")
    assert accepted["updated"] > 0
    published = _json("label", "publish", "handwriting")
    assert (
        published["dataset"] == "handwriting@2" and published["from_model"] == accepted["updated"]
    )
    status = athanor("label", "status", "handwriting").stdout
    assert "training: job" in status and "prelabeled" in status and "handwriting@2" in status

    spec = tmp_path / "digits.yaml"
    spec.write_text(
        "name: digits-final\ndata: {dataset: handwriting@2, split: {val: 0.1, test: 0.1}}\n"
        "model: {template: lenet5}\ntrain: {epochs: 1, batch_size: 32}\n"
    )
    final = _json("train", str(spec))
    assert final["run"]["status"] == "succeeded"
    sizes = final["run"]["summary"]["data"]["split"]["sizes"]
    assert sum(sizes.values()) == published["labels"]  # the labeled items, and only those

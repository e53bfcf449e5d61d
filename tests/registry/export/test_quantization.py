"""INT8 export: quantized graphs, the measured change recomputed, refusals, serving them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from athanor.api import models
from athanor.data.prepare import prepare
from athanor.errors import QuantizationError, QuantizationRefused, UserError
from athanor.registry.export.quantization import EVALUATION_BATCH, prepare_measurement_data
from athanor.registry.package import GRAPH, ModelPackage, load_package
from athanor.serve.app import create_app
from athanor.settings import Settings
from athanor.spec.run import RunSpec
from athanor.spec.serving import ServingSpec
from tests.cli.test_main import ATHANOR
from tests.serve.conftest import running

QUANTIZED = {"QuantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger"}


def _train(home: Path, spec: dict, name: str, mirror: Path) -> Settings:
    import athanor as at

    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=(mirror,)
    )
    at.train(spec, register_as=name, progress=False, settings=settings)
    return settings


@pytest.fixture(scope="module")
def mnist_cnn(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small CNN trained briefly on a slice of MNIST, registered as ``mnist-cnn``."""
    spec = {
        "name": "mnist-cnn",
        "seed": 3,
        "data": {
            "dataset": "mnist",
            "split": {"val": 0.05},
            "subset": {"train": 3000, "val": 200, "test": 600},
        },
        "model": {
            "layers": [
                {"conv2d": {"filters": 8, "kernel": 3, "activation": "relu"}},
                {"maxpool": 2},
                {"conv2d": {"filters": 16, "kernel": 3, "activation": "relu"}},
                {"maxpool": 2},
                "flatten",
                {"dense": {"units": 64, "activation": "relu"}},
            ]
        },
        "train": {"epochs": 2, "batch_size": 64, "optimizer": {"type": "adam", "lr": 0.003}},
    }
    return _train(tmp_path_factory.mktemp("mnist-int8"), spec, "mnist-cnn", mirror)


@pytest.fixture(scope="module")
def houses_mlp(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An MLP on a slice of the California housing table, registered as ``houses-mlp``."""
    from tests.conftest import MIRROR

    if MIRROR is None or not (MIRROR / "california-housing" / "housing.csv").is_file():
        pytest.skip("California housing is not in ATHANOR_DATA_MIRROR (nor in ../shared/data)")
    spec = {
        "name": "houses-mlp",
        "seed": 2,
        "data": {
            "dataset": "california-housing",
            "split": {"val": 0.1, "test": 0.1},
            "subset": {"train": 3000, "val": 300, "test": 400},
        },
        "model": {"template": "mlp", "hidden": [128, 64]},
        "train": {"epochs": 4, "batch_size": 64, "optimizer": {"lr": 0.005}},
    }
    return _train(tmp_path_factory.mktemp("houses-int8"), spec, "houses-mlp", MIRROR)


def _test_split(settings: Settings, ref: str):
    """The test split as the model was trained with it, prepared independently."""
    package = load_package(models.package_dir(ref, settings=settings))
    spec = RunSpec.model_validate(package.metadata["spec"])
    return prepare(spec.data, spec.seed, settings=settings).test


def _outputs(path: Path, x: torch.Tensor) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


def test_the_cnn_is_quantized_statically_and_its_reported_accuracy_is_recomputed(
    mnist_cnn: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "mnist.int8.onnx"
    result = models.export(
        "mnist-cnn",
        target,
        "onnx",
        quantize="int8",
        max_drop=0.05,
        calibration=256,
        settings=mnist_cnn,
    )
    report = result.details["quantization"]
    assert report["method"] == "static" and report["calibration_samples"] == 256
    graph = onnx.load(str(target))
    operators = {node.op_type for node in graph.graph.node}
    assert "QuantizeLinear" in operators and "DequantizeLinear" in operators
    assert report["int8_bytes"] == target.stat().st_size < report["fp32_bytes"]
    assert report["size_ratio"] < 0.5  # the weights are a quarter of their size
    props = {p.key: json.loads(p.value) for p in graph.metadata_props}
    assert props["athanor.quantization"]["method"] == "static"
    assert props["athanor.schema"]["classes"] == [str(d) for d in range(10)]

    test = _test_split(mnist_cnn, "mnist-cnn")
    labels = test.y.numpy()
    int8_accuracy = float((_outputs(target, test.x).argmax(1) == labels).mean())
    network = models.load("mnist-cnn", settings=mnist_cnn).network
    with torch.no_grad():
        fp32_accuracy = float((network(test.x).argmax(1).numpy() == labels).mean())
    assert report["test_samples"] == len(labels) == 600
    assert report["int8"] == pytest.approx(int8_accuracy, abs=1e-9)
    assert report["fp32"] == pytest.approx(fp32_accuracy, abs=1.5 / len(labels))
    assert report["change"] == pytest.approx(report["fp32"] - report["int8"], abs=1e-12)
    assert report["latency_ratio"] > 0 and report["fp32_latency_ms"] > 0


def test_the_mlp_is_quantized_dynamically_and_its_rmse_change_is_recomputed(
    houses_mlp: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "houses.int8.onnx"
    result = models.export(
        "houses-mlp", target, "onnx", quantize="int8", max_drop=0.5, settings=houses_mlp
    )
    report = result.details["quantization"]
    assert report["method"] == "dynamic" and report["metric"] == "rmse"
    operators = {node.op_type for node in onnx.load(str(target)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= operators
    assert report["int8_bytes"] < report["fp32_bytes"]

    test = _test_split(houses_mlp, "houses-mlp")
    predictor = models.load("houses-mlp", settings=houses_mlp)
    # Dynamic quantization measures each batch's activation range: the same batches as the
    # export's measurement give the same outputs.
    batches = torch.split(test.x, EVALUATION_BATCH)
    outputs = np.concatenate([_outputs(target, batch) for batch in batches])
    values = torch.from_numpy(outputs).reshape(test.y.shape)
    values = predictor.preprocessor.inverse_target(values)
    truth = predictor.preprocessor.inverse_target(test.y.float())
    rmse = float((values - truth).double().pow(2).mean().sqrt())
    assert report["int8"] == pytest.approx(rmse, rel=1e-5)
    assert report["change"] == pytest.approx(report["int8"] / report["fp32"] - 1, rel=1e-9)
    assert "int8_mae" in report


def test_max_drop_below_the_measured_change_refuses_and_leaves_nothing(
    houses_mlp: Settings, mnist_cnn: Settings, tmp_path: Path
) -> None:
    before = len(models.versions("houses-mlp", settings=houses_mlp))
    target = tmp_path / "refused.onnx"
    with pytest.raises(QuantizationRefused) as caught:
        models.export(
            "houses-mlp",
            target,
            "onnx",
            quantize="int8",
            max_drop=-0.5,
            register="houses-int8",
            settings=houses_mlp,
        )
    message = str(caught.value)
    assert (
        "of its RMSE" in message
        and "--max-drop -0.5" in message
        and "nothing was written" in message
    )
    assert list(tmp_path.iterdir()) == []  # no file, no partial, no scratch folder
    assert len(models.versions("houses-mlp", settings=houses_mlp)) == before
    assert [m.name for m in models.list(settings=houses_mlp)] == ["houses-mlp"]

    # A zero bound on the CNN, whose accuracy moves by a few samples or not at all: the
    # refusal follows the measured change.
    kept = tmp_path / "zero.onnx"
    try:
        result = models.export(
            "mnist-cnn", kept, "onnx", quantize="int8", max_drop=0.0, settings=mnist_cnn
        )
    except QuantizationRefused as refused:
        assert refused.params["change"] > 0 and not kept.exists()
    else:
        assert result.details["quantization"]["change"] <= 0 and kept.is_file()


def test_named_errors_for_what_cannot_be_quantized(mnist_cnn: Settings, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="add --quantize int8"):
        models.export("mnist-cnn", tmp_path / "a.onnx", "onnx", register="x", settings=mnist_cnn)
    with pytest.raises(UserError, match="use --format onnx"):
        models.export(
            "mnist-cnn", tmp_path / "a.pt", "torchscript", quantize="int8", settings=mnist_cnn
        )
    package = load_package(models.package_dir("mnist-cnn", settings=mnist_cnn))
    gone = json.loads(json.dumps(package.metadata))
    gone["spec"]["data"]["dataset"] = "digits-scans"
    gone["lineage"]["version"] = "digits-scans@4"
    with pytest.raises(QuantizationError, match="dataset digits-scans@4, which the model"):
        prepare_measurement_data(
            ModelPackage(package.path, gone, package.state_dict, package.content_hash),
            mnist_cnn,
        )
    assert list(tmp_path.iterdir()) == []


def test_a_registered_int8_version_serves_predictions_that_agree_with_fp32(
    mnist_cnn: Settings, mnist_raw, tmp_path: Path
) -> None:
    result = models.export(
        "mnist-cnn",
        tmp_path / "m.onnx",
        "onnx",
        quantize="int8",
        max_drop=0.05,
        register="mnist-int8",
        settings=mnist_cnn,
    )
    ref = result.details["registered"]
    assert ref == "mnist-int8@1"
    record = models.versions("mnist-int8", settings=mnist_cnn)[0]
    assert record.tags["precision"] == "int8" and record.tags["quantized_from"] == "mnist-cnn@1"
    assert record.metrics["test_accuracy"] == result.details["quantization"]["int8"]
    package = load_package(models.package_dir(ref, settings=mnist_cnn))
    assert package.graph_path == package.path / GRAPH
    assert package.metadata["quantization"]["precision"] == "int8"
    card = (package.path / "README.md").read_text()
    assert "## Quantization" in card and "calibrated on 512 training samples" in card

    images = mnist_raw.x[:64]
    config = ServingSpec(max_wait_ms=0)
    app = create_app(["mnist-cnn@1", "mnist-int8@1"], config=config, settings=mnist_cnn)
    with running(app) as client:
        served = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
        assert served["mnist-int8"]["runtime"] == "onnxruntime"
        answers = {}
        for name in ("mnist-cnn", "mnist-int8"):
            response = client.post(f"/v1/models/{name}/predict", json={"inputs": images.tolist()})
            assert response.status_code == 200, response.text
            answers[name] = [p["label"] for p in response.json()["predictions"]]
    agree = np.mean(
        [a == b for a, b in zip(answers["mnist-cnn"], answers["mnist-int8"], strict=True)]
    )
    assert agree >= 0.9
    # The Python API predicts with the same INT8 graph.
    predictor = models.load(ref, settings=mnist_cnn)
    assert [p.label for p in predictor.predict(images)] == answers["mnist-int8"]
    with pytest.raises(UserError, match="runs on the onnxruntime runtime"):
        create_app(ref, config=ServingSpec(runtime="torch"), settings=mnist_cnn)

    # The graph travels with the package: a zip imported again predicts the same.
    models.export(ref, tmp_path / "int8.zip", "zip", settings=mnist_cnn)
    again = models.import_(tmp_path / "int8.zip", "mnist-int8-copy", settings=mnist_cnn)
    copy = models.load(again.ref, settings=mnist_cnn)
    assert copy.graph is not None and copy.graph.read_bytes() == package.graph_path.read_bytes()
    assert [p.label for p in copy.predict(images)] == answers["mnist-int8"]


def test_the_cli_reports_the_change_the_ratios_and_the_registration(
    houses_mlp: Settings, tmp_path: Path
) -> None:
    env = {**os.environ, "ATHANOR_HOME": str(houses_mlp.home), "ATHANOR_DB_URL": houses_mlp.db_url}
    done = subprocess.run(
        [
            *ATHANOR,
            "models",
            "export",
            "houses-mlp",
            "-f",
            "onnx",
            "--quantize",
            "int8",
            "--max-drop",
            "0.5",
            "--register",
            "houses-int8",
            "-o",
            str(tmp_path / "c.onnx"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "INT8: dynamic (INT8 weights, activation ranges per batch); 400 test samples" in out
    for row in ("test rmse", "test mae", "file size", "latency (1 sample)", "% of its RMSE"):
        assert row in out
    assert "allowed loss: 50.00% of the RMSE (--max-drop 0.5)" in out
    assert "registered as houses-int8@1 (onnxruntime)" in out
    assert (tmp_path / "c.onnx").is_file()
    shown = subprocess.run(
        [*ATHANOR, "models", "show", "houses-int8"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert "precision: INT8 (dynamic quantization of houses-mlp@1; test rmse" in shown.stdout
    record = models.versions("houses-int8", settings=houses_mlp)[0]
    assert record.tags == {"precision": "int8", "quantized_from": "houses-mlp@1"}

"""ONNX export: parity with the network under onnxruntime, any batch size, the layer named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ExportError, SpecError
from athanor.registry.export import export_package
from athanor.registry.export.to_onnx import network_to_onnx
from athanor.registry.package import load_package
from athanor.serve import Predictor
from athanor.spec.loading import validate_settings
from athanor.spec.serving import ExportSpec


def test_onnx_matches_the_network_on_real_digits_at_any_batch_size(
    trained_digits, digits_raw, tmp_path: Path
) -> None:
    run, _ = trained_digits
    package = load_package(run.package_dir)
    result = export_package(package, tmp_path / "digits.onnx", ExportSpec(format="onnx"))
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    assert result.details["opset"] == 17 and result.content_hash == package.content_hash

    model = onnx.load(str(tmp_path / "digits.onnx"))
    assert model.opset_import[0].version == 17
    props = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert props["athanor.schema"]["classes"] == [str(d) for d in range(10)]
    assert props["athanor.preprocessing"][0]["type"] == "to_float"
    assert props["athanor.signature"]["inputs"][0]["shape"] == ["batch", 1, 8, 8]

    # Real images through the saved preprocessing, at batch sizes other than the traced one.
    predictor = Predictor.from_package(package)
    session = onnxruntime.InferenceSession(str(tmp_path / "digits.onnx"))
    for count in (1, 37):
        x = predictor.preprocessor.transform(digits_raw.x[:count])
        (logits,) = session.run(None, {"input": x.numpy()})
        with torch.no_grad():
            expected = predictor.network(x).numpy()
        assert logits.shape == (count, 10)
        assert float(np.abs(logits - expected).max()) <= 1e-4
        assert (logits.argmax(1) == expected.argmax(1)).all()


def test_an_unsupported_operation_names_its_layer_and_leaves_nothing(tmp_path: Path) -> None:
    class Bessel(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.special.bessel_j0(x)

    network = torch.nn.Sequential()
    network.add_module("dense_1", torch.nn.Linear(4, 4))
    network.add_module("odd_2", torch.nn.Sequential(torch.nn.Tanh(), Bessel()))
    network.add_module("output", torch.nn.Linear(4, 3))
    schema = Schema(
        task="classification",
        input=InputSchema(kind="tabular", shape=[4]),
        classes=["a", "b", "c"],
    )
    target = tmp_path / "odd.onnx"
    with pytest.raises(ExportError) as caught:
        network_to_onnx(network, schema, target, ExportSpec(format="onnx"))
    message = str(caught.value)
    assert message.startswith("layer 'odd_2.1' (Bessel): the operation aten::special_bessel_j0")
    assert "opset 17" in message and "torchscript" in message


def test_opset_choice_and_limits(trained_digits, tmp_path: Path) -> None:
    run, _ = trained_digits
    package = load_package(run.package_dir)
    result = export_package(package, tmp_path / "m.onnx", ExportSpec(format="onnx", opset=20))
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == 20
    assert result.max_abs_diff <= 1e-4
    with pytest.raises(SpecError, match="export: opset: must be greater than or equal to 17"):
        validate_settings(ExportSpec, {"format": "onnx", "opset": 13}, "export")


def test_a_gan_generator_exports_with_its_latent_input(trained_generators, tmp_path: Path) -> None:
    from athanor.api import models

    package = load_package(models.package_dir("digits-gan", settings=trained_generators))
    result = export_package(package, tmp_path / "gan.onnx", ExportSpec(format="onnx"))
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    model = onnx.load(str(tmp_path / "gan.onnx"))
    properties = {p.key: p.value for p in model.metadata_props}
    signature = json.loads(properties["athanor.signature"])
    assert signature["inputs"][0]["shape"] == ["batch", 8]
    assert signature["inputs"][0]["kind"] == "latent"
    session = onnxruntime.InferenceSession(str(tmp_path / "gan.onnx"))
    generator = Predictor.from_package(package).network
    for batch in (1, 7):  # the reshape of z to a 1x1 map keeps the batch axis dynamic
        z = torch.randn(batch, 8, generator=torch.Generator().manual_seed(batch))
        (images,) = session.run(None, {"input": z.numpy()})
        with torch.no_grad():
            expected = generator(z).numpy()
        assert images.shape == (batch, 1, 8, 8)
        assert np.abs(images - expected).max() <= 1e-5

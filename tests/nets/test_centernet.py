"""The CenterNet template: shapes, summary, peak decoding and ONNX parity of its raw maps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets.builder import build_network
from athanor.nets.detection import HEATMAP_PRIOR, decode
from athanor.nets.summary import summary
from athanor.spec.model import CenterNetSpec

SCHEMA = Schema(
    task="detection",
    input=InputSchema(kind="image", shape=[1, 64, 64]),
    classes=["a", "b", "c"],
)


def test_outputs_heatmap_size_offset_maps_at_a_quarter_and_summarizes() -> None:
    network = build_network(CenterNetSpec(width=8, depth=3), SCHEMA, seed=0)
    assert network(torch.zeros(2, 1, 64, 64)).shape == (2, 3 + 4, 16, 16)
    bias = dict(network.named_parameters())["maps.conv.bias"]
    assert torch.allclose(bias[:3], torch.full((3,), math.log(HEATMAP_PRIOR / (1 - HEATMAP_PRIOR))))
    shown = summary(network)
    assert shown.output_shape == (1, 7, 16, 16)
    assert shown.parameters == sum(p.numel() for p in network.parameters())
    assert shown.ops.macs > 0 and "up1" in str(shown)
    with pytest.raises(ShapeError, match="divisible by 32"):
        build_network(
            CenterNetSpec(depth=5),
            SCHEMA.model_copy(update={"input": InputSchema(kind="image", shape=[1, 48, 48])}),
        )


def test_decode_finds_peaks_with_sizes_and_offsets() -> None:
    maps = torch.full((1, 3 + 4, 16, 16), -10.0)
    maps[0, 4:] = 0.0
    maps[0, 1, 5, 7] = 3.0  # class 1 at row 5, column 7
    maps[0, 1, 5, 8] = 2.0  # beside it, lower: not a peak
    maps[0, 3, 5, 7], maps[0, 4, 5, 7] = 4.0, 2.0  # 4 x 2 cells
    maps[0, 5, 5, 7], maps[0, 6, 5, 7] = 0.5, 0.25  # offset within the cell
    maps[0, 2, 12, 2] = 0.0  # class 2, probability 0.5, size 0
    found = decode(maps, top_k=3)
    assert found.labels[0].tolist() == [1, 2, found.labels[0, 2].item()]
    assert found.scores[0, 0].item() == pytest.approx(1 / (1 + math.exp(-3)))
    assert found.scores[0, 1].item() == pytest.approx(0.5)
    center_x, center_y = (7 + 0.5) * 4, (5 + 0.25) * 4
    assert found.boxes[0, 0].tolist() == pytest.approx(
        [center_x - 8, center_y - 4, center_x + 8, center_y + 4]
    )
    assert found.scores[0, 2] < 1e-3  # every other cell is far below


def test_onnx_export_gives_the_same_raw_maps(tmp_path: Path) -> None:
    import onnxruntime

    from athanor.registry.export.to_onnx import network_to_onnx
    from athanor.spec.serving import ExportSpec

    network = build_network(CenterNetSpec(width=8, depth=3), SCHEMA, seed=1).eval()
    path = tmp_path / "centernet.onnx"
    network_to_onnx(network, SCHEMA, path, ExportSpec(format="onnx"))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    (exported,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = network(x).numpy()
    assert exported.shape == (3, 7, 16, 16)
    assert np.abs(exported - expected).max() < 1e-4
    decoded_torch, decoded_onnx = (
        decode(torch.from_numpy(expected)),
        decode(torch.from_numpy(exported)),
    )
    assert torch.equal(decoded_torch.labels, decoded_onnx.labels)

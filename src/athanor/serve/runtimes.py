"""What runs a served model's forward pass: PyTorch, or ONNX Runtime on the CPU.

ONNX Runtime runs small and medium CNNs and MLPs several times faster than PyTorch's eager
mode on a CPU. With ``runtime: auto`` a model served on the CPU is exported to ONNX when it is
loaded, checked against the PyTorch network (the same check as ``models export``), and run by
ONNX Runtime; a network that does not export, or whose outputs differ, runs in PyTorch.
Either way the package's preprocessing is applied first, and probabilities (or values in the
target's own units) come out. An INT8 version carries its quantized ONNX graph: it runs in
ONNX Runtime under ``auto`` and ``onnxruntime``, and ``torch`` is refused for it (the FP32
network would answer in its place).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from athanor.errors import ExportError
from athanor.serve.predictor import Predictor
from athanor.spec.serving import ExportSpec

log = logging.getLogger("athanor.serve")

Scorer = Callable[[np.ndarray], np.ndarray]


def select_runtime(predictor: Predictor, runtime: str, threads: int) -> tuple[Scorer, str]:
    """A function from raw batches to scores, and the name of the runtime behind it.

    Args:
        predictor: the model.
        runtime: ``torch``, ``onnxruntime``, or ``auto`` (ONNX Runtime on the CPU when the
            network exports faithfully, else PyTorch).
        threads: intra-op threads for ONNX Runtime.

    Raises:
        ExportError: ``onnxruntime`` was asked for and the network does not export.
    """
    from athanor.serve.generation import generation_kind

    if predictor.graph is not None:
        if runtime == "torch":
            raise ExportError(
                f"{predictor.ref or 'this model'} is an INT8 ONNX graph; it runs on the "
                "onnxruntime runtime (runtime: auto or onnxruntime), not torch"
            )
        return OnnxScorer(predictor, threads), "onnxruntime"
    on_cpu = predictor.device.type == "cpu"
    # A generative model samples step by step in PyTorch; it has no batch to score.
    generative = generation_kind(predictor.schema) is not None
    if runtime == "torch" or (runtime == "auto" and (not on_cpu or generative)):
        return predictor.scores, "torch"
    try:
        return OnnxScorer(predictor, threads), "onnxruntime"
    except ExportError as exc:
        if runtime == "onnxruntime":
            raise
        log.warning("%s runs in PyTorch: no faithful ONNX export (%s)", predictor.ref, exc)
        return predictor.scores, "torch"


class OnnxScorer:
    """Preprocessing in PyTorch, the network in an ONNX Runtime session, softmax in NumPy.

    The session runs the package's own graph when it has one (an INT8 version), else the
    network exported and checked here.
    """

    def __init__(self, predictor: Predictor, threads: int) -> None:
        import onnxruntime

        from athanor.registry.export.to_onnx import network_to_onnx
        from athanor.registry.signature import INPUT_NAME

        self.predictor = predictor
        self.classify = predictor.schema.task == "classification"
        self.input = INPUT_NAME
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if predictor.graph is not None:
            self.check = None
            self.session = onnxruntime.InferenceSession(
                str(predictor.graph), options, providers=["CPUExecutionProvider"]
            )
            return
        with tempfile.TemporaryDirectory(prefix="athanor-serve-") as folder:
            path = Path(folder) / "model.onnx"
            network = predictor.network.to("cpu")
            self.check = network_to_onnx(network, predictor.schema, path, ExportSpec())
            # The session holds the graph in memory; the file can go.
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        x = self.predictor.preprocessor.transform(raw).numpy()
        (outputs,) = self.session.run(None, {self.input: x})
        outputs = outputs.astype(np.float32, copy=False)
        if self.classify and self.predictor.schema.single_logit:
            positive = 1 / (1 + np.exp(-outputs.reshape(-1)))
            outputs = np.stack([1 - positive, positive], axis=1)
        elif self.classify:
            shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs = shifted / shifted.sum(axis=1, keepdims=True)
        elif self.predictor.preprocessor.target_steps:  # back in the target's own units
            import torch

            outputs = self.predictor.preprocessor.inverse_target(torch.from_numpy(outputs)).numpy()
        return outputs

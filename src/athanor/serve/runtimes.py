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
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

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
        return torch_scorer(predictor), "torch"
    try:
        return OnnxScorer(predictor, threads), "onnxruntime"
    except ExportError as exc:
        if runtime == "onnxruntime":
            raise
        log.warning("%s runs in PyTorch: no faithful ONNX export (%s)", predictor.ref, exc)
        return torch_scorer(predictor), "torch"


def torch_scorer(predictor: Predictor) -> Scorer:
    """The PyTorch runtime: an image model's network frozen by TorchScript on the CPU when
    that gives the eager network's outputs (see :func:`frozen_network`), else the eager one."""
    from athanor.serve.generation import generation_kind

    schema = predictor.schema
    if predictor.device.type != "cpu" or schema.input.kind != "image":
        return predictor.scores
    if schema.task not in ("classification", "regression") or generation_kind(schema):
        return predictor.scores
    try:
        network = frozen_network(predictor)
    except (RuntimeError, ValueError, TypeError, ExportError) as exc:
        log.info("%s runs in eager PyTorch: %s", predictor.ref, str(exc).splitlines()[0])
        return predictor.scores
    return partial(predictor.scores, network=network)


def frozen_network(predictor: Predictor) -> Callable[[Any], Any]:
    """The network traced, frozen and optimized for inference by TorchScript: convolutions
    fused with what follows them and their weights prepacked for the CPU, which runs a small
    CNN several times faster than eager mode. It is checked against the eager network on
    batches of 1 and 3 images, as an ONNX export is.

    Raises:
        ExportError: outputs that differ from the eager network's.
        RuntimeError: a network TorchScript cannot trace.
    """
    import torch

    network = predictor.network
    shape = predictor.schema.input.shape
    generator = np.random.default_rng(0)
    examples = [
        predictor.preprocessor.transform(
            generator.integers(0, 256, (n, *shape)).astype(np.uint8)
        ).to(predictor.device)
        for n in (2, 1, 3)
    ]
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings; the check below decides
        traced = torch.jit.trace(network, examples[0], check_trace=False)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
        for example in examples[1:]:
            expected, got = network(example), frozen(example)
            if got.shape != expected.shape or not torch.allclose(
                got, expected, rtol=1e-4, atol=1e-4 * (1 + float(expected.abs().max()))
            ):
                raise ExportError(
                    f"the frozen network's outputs differ from the network's for a batch "
                    f"of {len(example)}"
                )
    return frozen  # type: ignore[no-any-return]


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

"""Serving and export settings: how a model server batches and limits requests, and how a
model is exported."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from athanor.spec.base import StrictModel


class ServingSpec(StrictModel):
    """How ``athanor serve`` (and a deployment) batches requests and guards itself."""

    max_batch_size: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Most samples one forward pass takes; requests waiting together are "
        "batched up to this size.",
    )
    max_wait_ms: float = Field(
        default=2.0,
        ge=0,
        le=1000,
        description="How long a batch that is not full waits for more requests once the "
        "requests already queued are taken (0: never wait).",
    )
    max_body_mb: float = Field(
        default=16.0,
        gt=0,
        le=1024,
        description="Largest accepted request body in MiB; a larger one is answered 413.",
    )
    max_request_samples: int = Field(
        default=1024,
        ge=1,
        le=100_000,
        description="Most samples one request may hold; more are answered 413.",
    )
    alias_poll_s: float = Field(
        default=2.0,
        ge=0.05,
        le=3600,
        description="How often a model served by alias or as its newest version is looked "
        "up again; a new version is loaded and swapped in without dropping requests.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="PyTorch threads for inference (process-wide); default: the CPU cores "
        "less one, which is left to the HTTP event loop.",
    )
    runtime: Literal["auto", "torch", "onnxruntime"] = Field(
        default="auto",
        description="What runs the network: auto (ONNX Runtime on the CPU when the network "
        "exports to ONNX with matching outputs, else PyTorch), torch, or onnxruntime.",
    )
    device: str = Field(
        default="cpu",
        pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
        description="Where the model runs: cpu, cuda, cuda:N, mps, or auto (cuda, mps, cpu).",
    )

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


ExportFormat = Literal["package", "zip", "onnx", "torchscript"]


class ExportSpec(StrictModel):
    """How ``athanor models export`` writes and checks an exported model."""

    format: ExportFormat = Field(
        default="package",
        description="package (a folder), zip (one file), onnx, or torchscript.",
    )
    opset: int = Field(
        default=17, ge=17, le=20, description="ONNX opset version of an ONNX export."
    )
    tolerance: float = Field(
        default=1e-4,
        gt=0,
        le=1.0,
        description="Largest absolute difference allowed between the exported model's "
        "outputs and the original network's on the check samples.",
    )
    check_samples: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="Synthetic inputs compared between the export and the original network.",
    )
    quantize: Literal["int8"] | None = Field(
        default=None,
        description="int8: quantize an ONNX export with ONNX Runtime (dynamic for dense and "
        "recurrent networks, static with calibration for convolutional ones), measured on "
        "the test split of the model's dataset.",
    )
    max_drop: float = Field(
        default=0.01,
        ge=-1.0,
        le=1.0,
        description="Largest quality loss a quantized export may show on the test split, "
        "else it is refused: accuracy as a fraction (0.01 is one percentage point) for "
        "classifiers, the relative RMSE increase (0.01 is 1%) for regression.",
    )
    calibration: int = Field(
        default=512,
        ge=1,
        le=100_000,
        description="Training samples run through a convolutional network to calibrate "
        "its static quantization ranges.",
    )

"""Choosing the device to train on."""

from __future__ import annotations

import torch

from athanor.errors import UserError


def select_device(requested: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an explicit device must exist.

    Raises:
        UserError: the requested device is not available here.
    """
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"train.device: {requested} asked for, but no CUDA GPU is visible")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(
                f"train.device: {requested} asked for, but only {torch.cuda.device_count()} "
                "GPU(s) are visible"
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError("train.device: mps asked for, but Apple MPS is not available")
    return device

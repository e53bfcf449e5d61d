"""Checkpoints: the whole training state as safetensors + JSON, never pickle.

A checkpoint is a folder::

    tensors.safetensors   every tensor of the state (weights, optimizer moments, RNG states)
    state.json            everything else, with {"__tensor__": key} where a tensor was

Any nesting of dicts (any key type), lists, tuples, tensors, numpy arrays and JSON scalars
round-trips exactly, so optimizer, scheduler and RNG states of any kind are stored as they are.
Writes go to a temporary folder that is renamed into place: a checkpoint is complete or absent.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from athanor.store.disk_space import disk_full_as_error

TENSORS = "tensors.safetensors"
STATE = "state.json"
FORMAT_VERSION = 1


def flatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """A JSON-able copy of ``value``; its tensors are moved into ``tensors`` by key."""
    if isinstance(value, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = value.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(value, np.ndarray):
        key = f"t{len(tensors)}"
        tensors[key] = torch.from_numpy(np.ascontiguousarray(value).copy())
        return {"__ndarray__": key}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: flatten(v, tensors) for k, v in value.items()}
        return {"__items__": [[flatten(k, tensors), flatten(v, tensors)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [flatten(v, tensors) for v in value]}
    if isinstance(value, list):
        return [flatten(v, tensors) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def unflatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of :func:`flatten`."""
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__ndarray__" in value:
            return tensors[value["__ndarray__"]].numpy()
        if "__tuple__" in value:
            return tuple(unflatten(v, tensors) for v in value["__tuple__"])
        if "__items__" in value:
            return {unflatten(k, tensors): unflatten(v, tensors) for k, v in value["__items__"]}
        return {k: unflatten(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [unflatten(v, tensors) for v in value]
    return value


def save_checkpoint(state: dict[str, Any], folder: Path) -> Path:
    """Write ``state`` as a checkpoint folder at ``folder`` (replacing an older one there).

    Raises:
        DiskFullError: no room to write it, naming the file; the older checkpoint is kept.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}"
    try:
        with disk_full_as_error(folder):  # a full disk: a named error, the older one kept
            staging.mkdir()
            tensors: dict[str, torch.Tensor] = {}
            tree = flatten(state, tensors)
            save_file(tensors, str(staging / TENSORS))
            document = {"format": FORMAT_VERSION, "state": tree}
            (staging / STATE).write_text(json.dumps(document))
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """Read a checkpoint folder back into the state it was saved from."""
    folder = Path(folder)
    document = json.loads((folder / STATE).read_text())
    if document.get("format") != FORMAT_VERSION:
        raise ValueError(f"{folder}: checkpoint format {document.get('format')} is not supported")
    tensors = load_file(str(folder / TENSORS), device="cpu")
    return unflatten(document["state"], tensors)


def rng_state() -> dict[str, Any]:
    """The global random states of torch (CPU and CUDA), numpy and Python."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

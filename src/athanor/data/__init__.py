"""Data: the dataset catalog, loading, splits, preprocessing and batching.

The names below load on first use, so that a command which only lists or imports datasets
does not pay for PyTorch, which batching and preprocessing need.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TensorBatches": "athanor.data.batching",
    "TensorSplit": "athanor.data.batching",
    "DatasetEntry": "athanor.data.catalog",
    "catalog": "athanor.data.catalog",
    "catalog_entry": "athanor.data.catalog",
    "register_dataset": "athanor.data.catalog",
    "Prepared": "athanor.data.prepare",
    "load_raw": "athanor.data.prepare",
    "prepare": "athanor.data.prepare",
    "Preprocessor": "athanor.data.preprocessing",
    "RawDataset": "athanor.data.raw",
    "InputSchema": "athanor.data.schema",
    "Schema": "athanor.data.schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'athanor.data' has no attribute '{name}'")
    return getattr(importlib.import_module(_EXPORTS[name]), name)

"""Data: the dataset catalog, loading, splits, preprocessing and batching.

The names below load on first use, so that a command which only lists or imports datasets
does not pay for PyTorch, which batching and preprocessing need. The catalog function is
imported from ``athanor.data.catalog``: a lazy name would be shadowed by its module.
"""

from __future__ import annotations

from athanor._lazy import lazy_attributes

_EXPORTS = {
    "TensorBatches": "athanor.data.batching:TensorBatches",
    "TensorSplit": "athanor.data.batching:TensorSplit",
    "DatasetEntry": "athanor.data.catalog:DatasetEntry",
    "catalog_entry": "athanor.data.catalog:catalog_entry",
    "register_dataset": "athanor.data.catalog:register_dataset",
    "Prepared": "athanor.data.prepare:Prepared",
    "load_raw": "athanor.data.prepare:load_raw",
    "prepare": "athanor.data.prepare:prepare",
    "Preprocessor": "athanor.data.preprocessing:Preprocessor",
    "RawDataset": "athanor.data.raw:RawDataset",
    "InputSchema": "athanor.data.schema:InputSchema",
    "Schema": "athanor.data.schema:Schema",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)

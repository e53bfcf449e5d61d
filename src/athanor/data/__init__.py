"""Data: the dataset catalog, loading, splits, preprocessing and batching."""

from athanor.data.batching import TensorBatches, TensorSplit
from athanor.data.catalog import DatasetEntry, catalog, catalog_entry, register_dataset
from athanor.data.prepare import Prepared, load_raw, prepare
from athanor.data.preprocessing import Preprocessor
from athanor.data.raw import RawDataset
from athanor.data.schema import InputSchema, Schema

__all__ = [
    "DatasetEntry",
    "InputSchema",
    "Prepared",
    "Preprocessor",
    "RawDataset",
    "Schema",
    "TensorBatches",
    "TensorSplit",
    "catalog",
    "catalog_entry",
    "load_raw",
    "prepare",
    "register_dataset",
]

"""The truth tables of XOR, AND and OR: four rows each, generated (never downloaded).

They tell the course's "AI winter" story: a single-layer perceptron separates AND and OR
with a line, but no line separates XOR; one hidden layer does.
"""

from __future__ import annotations

import numpy as np

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.raw import RawDataset
from athanor.settings import Settings

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
"""The four input rows, ``x1`` and ``x2``, in truth-table order."""

GATES = {
    "xor": np.array([0, 1, 1, 0], dtype=np.int64),
    "and": np.array([0, 0, 0, 1], dtype=np.int64),
    "or": np.array([0, 1, 1, 1], dtype=np.int64),
}
"""Each gate's output for :data:`INPUTS`."""


def truth_table(gate: str) -> RawDataset:
    """The four rows of ``gate`` (``xor``, ``and`` or ``or``) as a two-class table."""
    return RawDataset(
        name=gate,
        kind="tabular",
        task="classification",
        x=INPUTS.copy(),
        y=GATES[gate].copy(),
        classes=["0", "1"],
        features=["x1", "x2"],
        target="y",
        origin={gate: "generated (truth table)"},
    )


def _loader(gate: str):
    def load(_settings: Settings | None) -> RawDataset:
        return truth_table(gate)

    return load


for _gate, _what in (
    ("xor", "exclusive or: not linearly separable, so a perceptron cannot learn it"),
    ("and", "logical and: linearly separable, a perceptron learns it"),
    ("or", "logical or: linearly separable, a perceptron learns it"),
):
    register_dataset(
        DatasetEntry(
            name=_gate,
            task="classification",
            kind="tabular",
            size="4 rows, 2 features, 2 classes",
            license="public domain (truth table)",
            source="generated",
            description=f"The {_gate.upper()} truth table, {_what}. Train it whole: "
            "data.split: none.",
            loader=_loader(_gate),
        )
    )

"""DeepLog's network: log keys embedded, stacked LSTM layers, the next key's logits."""

from __future__ import annotations

from athanor.data.schema import Schema
from athanor.nets.templates import require_input, require_task, template_builder
from athanor.spec.layers import EmbeddingSpec, LayerSpec, LstmSpec
from athanor.spec.model import LogLstmSpec


@template_builder("log_lstm")
def expand_log_lstm(spec: LogLstmSpec, schema: Schema) -> list[LayerSpec]:
    """Embedding of the window's keys, LSTM layers, the last state (the output layer that
    gives one logit per key is appended)."""
    require_input("log_lstm", schema, ("tokens",), " (import logs with --kind logs)")
    require_task("log_lstm", schema, ("next_key",))
    return [
        EmbeddingSpec(dim=spec.embedding_dim),
        LstmSpec(
            units=spec.units,
            layers=spec.layers,
            return_sequences=False,
            dropout=spec.dropout if spec.layers > 1 else 0.0,
        ),
    ]

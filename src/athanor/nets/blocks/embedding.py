"""Token embeddings: int64 ids -> learned vectors."""

from __future__ import annotations

from torch import nn

from athanor.nets.blocks._activated import chosen_init
from athanor.nets.initializers import initialize
from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
)
from athanor.spec.layers import EmbeddingSpec


@block_builder("embedding", accepts_tokens=True)
def build_embedding(
    spec: EmbeddingSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """A ``dim``-vector per token id: [T] -> [T, dim]."""
    vocab = spec.vocab if spec.vocab is not None else context.vocab
    if vocab is None:
        raise ShapeMismatch(
            "needs the vocabulary size: the data has no vocabulary, so give 'vocab'"
        )
    if spec.vocab is not None and context.vocab is not None and spec.vocab < context.vocab:
        raise ShapeMismatch(
            f"vocab {spec.vocab} is smaller than the data's vocabulary of {context.vocab} tokens"
        )
    module = nn.Embedding(vocab, spec.dim)
    initialize(module, chosen_init(spec, context))
    return BuiltBlock(module, (*in_shape, spec.dim))

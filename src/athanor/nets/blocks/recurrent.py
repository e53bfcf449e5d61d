"""Recurrent layers (RNN, LSTM, GRU) over sequences [steps, features]."""

from __future__ import annotations

import torch
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
    describe,
)
from athanor.spec.activations import ActivationSpec
from athanor.spec.layers import GruSpec, LstmSpec, RnnSpec

_RecurrentSpec = RnnSpec | LstmSpec | GruSpec
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class Recurrent(nn.Module):
    """A batch-first RNN, LSTM or GRU that returns one tensor.

    With ``return_sequences`` the output is every step's hidden state [B, T, units * dirs];
    otherwise the last state [B, units * dirs] (for a bidirectional layer: the forward
    direction after the last step and the backward direction after the first).
    """

    def __init__(self, rnn: nn.RNNBase, return_sequences: bool) -> None:
        super().__init__()
        self.rnn = rnn
        self.return_sequences = return_sequences

    def forward(
        self, x: torch.Tensor, state: State | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, State]:
        """Run the sequence ``x`` [B, T, F] from ``state`` (default zeros).

        Args:
            x: the input sequence.
            state: the hidden state (and cell state of an LSTM) to start from.
            return_state: also return the final state, to continue from it later.
        """
        out, new_state = self.rnn(x, state)
        if self.return_sequences:
            result = out
        else:
            hidden = new_state[0] if isinstance(new_state, tuple) else new_state
            directions = 2 if self.rnn.bidirectional else 1
            result = hidden[-directions:].transpose(0, 1).reshape(x.shape[0], -1)
        return (result, new_state) if return_state else result

    def extra_repr(self) -> str:
        return f"return_sequences={self.return_sequences}"


def _check_sequence(in_shape: Shape) -> None:
    if len(in_shape) == 2:
        return
    hint = ""
    if len(in_shape) == 3 and in_shape[0] == 1:
        hint = (
            f"; to read an image row by row, add '- reshape: [{in_shape[1]}, {in_shape[2]}]' "
            "before it"
        )
    elif len(in_shape) == 3:
        hint = "; turn images into [steps, features] first (permute and reshape)"
    elif len(in_shape) == 1:
        hint = "; a flat vector has no steps: add '- repeat: STEPS' before it"
    raise ShapeMismatch(f"expects sequences [steps, features], gets {describe(in_shape)}{hint}")


def _build(
    spec: _RecurrentSpec, in_shape: Shape, context: BuildContext, rnn_class: type[nn.RNNBase]
) -> BuiltBlock:
    _check_sequence(in_shape)
    steps, features = in_shape
    extra = {"nonlinearity": spec.nonlinearity} if isinstance(spec, RnnSpec) else {}
    rnn = rnn_class(
        features,
        spec.units,
        num_layers=spec.layers,
        bias=spec.bias,
        batch_first=True,
        dropout=spec.dropout,
        bidirectional=spec.bidirectional,
        **extra,
    )
    gate = getattr(spec, "nonlinearity", "tanh")
    initialize(rnn, chosen_init(spec, context), ActivationSpec(type=gate))
    width = spec.units * (2 if spec.bidirectional else 1)
    out_shape = (steps, width) if spec.return_sequences else (width,)
    return BuiltBlock(Recurrent(rnn, spec.return_sequences), out_shape)


@block_builder("rnn")
def build_rnn(spec: RnnSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT) -> BuiltBlock:
    """Elman RNN: [T, F] -> [units] or [T, units] (times 2 when bidirectional)."""
    return _build(spec, in_shape, context, nn.RNN)


@block_builder("lstm")
def build_lstm(spec: LstmSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT) -> BuiltBlock:
    """LSTM: [T, F] -> [units] or [T, units] (times 2 when bidirectional)."""
    return _build(spec, in_shape, context, nn.LSTM)


@block_builder("gru")
def build_gru(spec: GruSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT) -> BuiltBlock:
    """GRU: [T, F] -> [units] or [T, units] (times 2 when bidirectional)."""
    return _build(spec, in_shape, context, nn.GRU)

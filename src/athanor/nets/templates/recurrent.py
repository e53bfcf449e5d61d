"""Recurrent templates: sequence and text classifiers, forecaster, autoencoder, char-rnn."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from athanor.data.schema import Schema
from athanor.nets.blocks.recurrent import Recurrent, State
from athanor.nets.network import Network
from athanor.nets.templates import Expansion, require_input, require_task, template_builder
from athanor.spec.layers import (
    DenseSpec,
    DropoutSpec,
    EmbeddingSpec,
    GlobalAvgPoolSpec,
    GlobalMaxPoolSpec,
    GruSpec,
    LayerSpec,
    LstmSpec,
    PermuteSpec,
    RepeatSpec,
    RnnSpec,
)
from athanor.spec.model import (
    CharRnnSpec,
    LstmAutoencoderSpec,
    LstmClassifierSpec,
    LstmForecasterSpec,
    TextClassifierSpec,
)

_CELLS = {"lstm": LstmSpec, "gru": GruSpec, "rnn": RnnSpec}


def _recurrent(
    spec: LstmClassifierSpec
    | LstmForecasterSpec
    | LstmAutoencoderSpec
    | CharRnnSpec
    | TextClassifierSpec,
    *,
    return_sequences: bool,
    bidirectional: bool = False,
) -> list[LayerSpec]:
    """The recurrent layer(s), then dropout when asked (also between stacked layers)."""
    layers: list[LayerSpec] = [
        _CELLS[spec.cell](
            units=spec.units,
            layers=spec.layers,
            bidirectional=bidirectional,
            return_sequences=return_sequences,
            dropout=spec.dropout if spec.layers > 1 else 0.0,
        )
    ]
    if spec.dropout > 0:
        layers.append(DropoutSpec(rate=spec.dropout))
    return layers


def _hidden(units: list[int], dropout: float) -> list[LayerSpec]:
    return [DenseSpec(units=u, activation="relu", dropout=dropout) for u in units]


class SequenceAutoencoder(Network):
    """A network that reconstructs its input window; the error is the anomaly score."""

    @torch.no_grad()
    def anomaly_scores(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared reconstruction error of each window.

        Args:
            x: windows [B, T, F] (preprocessed like the training data).

        Returns:
            Scores [B]; larger means less like the training data.
        """
        error = (self(x) - x) ** 2
        return error.flatten(1).mean(dim=1)


class CharRNN(Network):
    """A language model over token ids: [B, T] -> next-token logits [B, T, vocab]."""

    def _run(self, x: torch.Tensor, states: dict[str, State]) -> torch.Tensor:
        """One pass that continues each recurrent layer from ``states`` (updated in place)."""
        for name, module in self.named_children():
            if isinstance(module, Recurrent):
                x, states[name] = module(x, states.get(name), return_state=True)
            else:
                x = module(x)
        return x

    @torch.no_grad()
    def sample(
        self,
        prefix: torch.Tensor,
        length: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        *,
        top_k: int | None = None,
        banned: Sequence[int] = (),
    ) -> torch.Tensor:
        """Continue ``prefix`` by ``length`` tokens drawn from softmax(logits / temperature).

        The hidden state is carried from step to step, so each new token costs one step.

        Args:
            prefix: int64 token ids [T0] (at least one).
            length: how many tokens to generate.
            temperature: > 0; lower is more conservative, higher more varied; 0 takes the most
                likely token every time (default 1.0).
            generator: random generator for reproducible samples (default torch's global one).
            top_k: draw only among the ``top_k`` most likely tokens (default: all).
            banned: token ids never drawn (padding and unknown-token markers).

        Returns:
            The generated int64 token ids [length] (without the prefix).

        Raises:
            ValueError: an empty or out-of-vocabulary prefix, a negative length or temperature,
                a ``top_k`` below 1, or every token banned.
        """
        vocab = self.output_shape[-1]
        if prefix.dim() != 1 or prefix.numel() == 0:
            raise ValueError("prefix must be a non-empty 1-D tensor of token ids")
        if int(prefix.min()) < 0 or int(prefix.max()) >= vocab:
            raise ValueError(f"prefix token ids must lie in [0, {vocab})")
        if length < 0 or temperature < 0:
            raise ValueError("length and temperature must not be negative")
        if top_k is not None and top_k < 1:
            raise ValueError("top_k must be at least 1")
        allowed = torch.ones(vocab, dtype=torch.bool)
        allowed[[i for i in banned if 0 <= i < vocab]] = False
        if not allowed.any():
            raise ValueError("every token is banned")
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        states: dict[str, State] = {}
        tokens: list[torch.Tensor] = []
        x = prefix.to(device=device, dtype=torch.int64).unsqueeze(0)
        try:
            for _ in range(length):
                logits = self._run(x, states)[0, -1].float()
                logits = logits.masked_fill(~allowed.to(logits.device), float("-inf"))
                if top_k is not None and top_k < vocab:
                    # Everything below the k-th largest logit is never drawn.
                    kth = torch.topk(logits, top_k).values[-1]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                if temperature == 0:
                    token = logits.argmax().view(1)
                else:
                    probabilities = torch.softmax(logits / temperature, dim=0)
                    if generator is not None:
                        probabilities = probabilities.to(generator.device)
                    token = torch.multinomial(probabilities, 1, generator=generator)
                tokens.append(token.cpu())
                x = token.to(device).view(1, 1)
        finally:
            self.train(was_training)
        return torch.cat(tokens) if tokens else torch.zeros(0, dtype=torch.int64)


@template_builder("lstm_classifier")
def expand_lstm_classifier(spec: LstmClassifierSpec, schema: Schema) -> list[LayerSpec]:
    """[Embedding,] recurrent layers read the sequence; their last state is classified."""
    require_input("lstm_classifier", schema, ("sequence", "tokens"), " (try template lenet5)")
    require_task("lstm_classifier", schema, ("classification", "regression"))
    layers: list[LayerSpec] = []
    if schema.input.kind == "tokens":
        layers.append(EmbeddingSpec(dim=spec.embedding_dim))
    layers += _recurrent(spec, return_sequences=False, bidirectional=spec.bidirectional)
    return layers + _hidden(spec.hidden, spec.dropout)


@template_builder("text_classifier")
def expand_text_classifier(spec: TextClassifierSpec, schema: Schema) -> list[LayerSpec]:
    """Embedding, dropout, recurrent layers; their last state (or the maximum or mean of
    every step's state, read as [units, steps]) goes through dense layers to class logits."""
    require_input("text_classifier", schema, ("tokens",), " (try template lstm_classifier)")
    require_task("text_classifier", schema, ("classification",))
    layers: list[LayerSpec] = [EmbeddingSpec(dim=spec.embedding_dim)]
    if spec.dropout > 0:
        layers.append(DropoutSpec(rate=spec.dropout))
    pooled = spec.pooling != "last"
    recurrent = _recurrent(spec, return_sequences=pooled, bidirectional=spec.bidirectional)
    if pooled:
        # Global pooling works per channel: [steps, units] -> [units, steps] first.
        pool = GlobalMaxPoolSpec() if spec.pooling == "max" else GlobalAvgPoolSpec()
        recurrent.insert(1, PermuteSpec(order=[1, 0]))
        recurrent.insert(2, pool)
    return layers + recurrent + _hidden(spec.hidden, spec.dropout)


@template_builder("lstm_forecaster")
def expand_lstm_forecaster(spec: LstmForecasterSpec, schema: Schema) -> list[LayerSpec]:
    """Recurrent layers read the window; a dense layer predicts all ``horizon`` steps at once
    (reshaped to [horizon, targets])."""
    require_input("lstm_forecaster", schema, ("sequence",))
    require_task("lstm_forecaster", schema, ("forecasting", "regression"))
    return _recurrent(spec, return_sequences=False) + _hidden(spec.hidden, spec.dropout)


@template_builder("lstm_autoencoder")
def expand_lstm_autoencoder(spec: LstmAutoencoderSpec, schema: Schema) -> Expansion:
    """Encoder RNN -> last state (-> dense code) -> repeated per step -> decoder RNN -> a
    dense layer per step back to the input's features."""
    require_input("lstm_autoencoder", schema, ("sequence",))
    require_task("lstm_autoencoder", schema, ("reconstruction",))
    steps = schema.input.shape[0]
    layers = _recurrent(spec, return_sequences=False)
    if spec.latent is not None and spec.latent != spec.units:
        layers.append(DenseSpec(units=spec.latent, activation="tanh", name="code"))
    layers.append(RepeatSpec(times=steps))
    layers += _recurrent(spec, return_sequences=True)
    return Expansion(layers, network_class=SequenceAutoencoder)


@template_builder("char_rnn")
def expand_char_rnn(spec: CharRnnSpec, schema: Schema) -> Expansion:
    """Embedding, stacked recurrent layers over every step, next-token logits per step."""
    require_input("char_rnn", schema, ("tokens",))
    require_task("char_rnn", schema, ("language_model",))
    layers: list[LayerSpec] = [EmbeddingSpec(dim=spec.embedding_dim)]
    layers += _recurrent(spec, return_sequences=True)
    return Expansion(layers, network_class=CharRNN)

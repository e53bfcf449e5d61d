"""Recurrent templates: char-rnn sampling, autoencoder scores, forecaster and classifier shapes."""

from __future__ import annotations

import pytest
import torch
from pydantic import TypeAdapter

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets import build_network
from athanor.nets.blocks.recurrent import Recurrent
from athanor.nets.registry import BLOCK_BUILDERS
from athanor.nets.templates.recurrent import CharRNN, SequenceAutoencoder
from athanor.spec import load_spec
from athanor.spec.layers import Layer
from tests.nets.conftest import MNIST


def template(options: dict):
    return load_spec({"data": "x", "model": options}).model


@pytest.fixture
def char_rnn(char_batch) -> CharRNN:
    spec = template({"template": "char_rnn", "units": 32, "embedding_dim": 16})
    network = build_network(spec, char_batch.schema(), seed=0)
    assert isinstance(network, CharRNN)
    # A few steps of training so that the model prefers some characters.
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    for _ in range(5):
        optimizer.zero_grad()
        logits = network(char_batch.x)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), char_batch.next)
        loss.backward()
        optimizer.step()
    return network


def test_char_rnn_samples_reproducibly_with_a_generator(char_rnn, char_batch) -> None:
    prefix = char_batch.x[0, :10]
    first = char_rnn.sample(prefix, 40, temperature=0.8, generator=torch.Generator().manual_seed(3))
    again = char_rnn.sample(prefix, 40, temperature=0.8, generator=torch.Generator().manual_seed(3))
    other = char_rnn.sample(prefix, 40, temperature=0.8, generator=torch.Generator().manual_seed(4))
    assert first.dtype == torch.int64 and first.shape == (40,)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert int(first.max()) < len(char_batch.vocab)
    assert char_rnn.training  # the mode is restored


def test_stepwise_sampling_matches_a_full_forward_pass(char_rnn, char_batch) -> None:
    prefix = char_batch.x[1, :12]
    greedy = char_rnn.sample(prefix, 20, temperature=0.0)
    char_rnn.eval()
    with torch.no_grad():
        logits = char_rnn(torch.cat([prefix, greedy]).unsqueeze(0))[0]
    # The carried state gives the same next-token choice as re-reading the whole text.
    assert torch.equal(logits[len(prefix) - 1 : -1].argmax(dim=1), greedy)


def test_temperature_sharpens_or_flattens_the_choice(char_rnn, char_batch) -> None:
    prefix = char_batch.x[2, :16]
    cold = char_rnn.sample(
        prefix, 200, temperature=0.05, generator=torch.Generator().manual_seed(0)
    )
    hot = char_rnn.sample(prefix, 200, temperature=5.0, generator=torch.Generator().manual_seed(0))
    assert len(set(cold.tolist())) < len(set(hot.tolist()))


def test_banned_tokens_are_never_drawn_and_top_k_limits_the_choice(char_rnn, char_batch) -> None:
    prefix = char_batch.x[3, :8]
    draw = torch.Generator().manual_seed(0)
    banned = [0, 1, *range(4, 12)]
    hot = char_rnn.sample(prefix, 300, temperature=20.0, generator=draw, banned=banned)
    assert not set(hot.tolist()) & set(banned)
    greedy = char_rnn.sample(prefix, 30, temperature=0.0, banned=[0, 1])
    top_one = char_rnn.sample(prefix, 30, temperature=5.0, generator=draw, top_k=1, banned=[0, 1])
    assert torch.equal(greedy, top_one)
    top_three = char_rnn.sample(prefix, 300, temperature=20.0, generator=draw, top_k=3)
    free = char_rnn.sample(prefix, 300, temperature=20.0, generator=draw)
    assert len(set(top_three.tolist())) < len(set(free.tolist()))
    with pytest.raises(ValueError, match="top_k"):
        char_rnn.sample(prefix, 5, top_k=0)
    with pytest.raises(ValueError, match="every token is banned"):
        char_rnn.sample(prefix, 5, banned=range(len(char_batch.vocab)))


def test_char_rnn_refuses_bad_prefixes(char_rnn) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        char_rnn.sample(torch.zeros(0, dtype=torch.int64), 5)
    with pytest.raises(ValueError, match="token ids must lie in"):
        char_rnn.sample(torch.tensor([10_000]), 5)


def test_autoencoder_scores_are_the_mean_squared_reconstruction_error(series_windows) -> None:
    spec = template({"template": "lstm_autoencoder", "units": 8})
    network = build_network(spec, series_windows.schema("reconstruction"), seed=0)
    assert isinstance(network, SequenceAutoencoder)
    scores = network.anomaly_scores(series_windows.x)
    with torch.no_grad():
        manual = ((network(series_windows.x) - series_windows.x) ** 2).mean(dim=(1, 2))
    assert scores.shape == (8,) and torch.allclose(scores, manual)


def test_forecaster_predicts_every_step_ahead(series_windows) -> None:
    spec = template({"template": "lstm_forecaster", "cell": "gru", "layers": 2})
    network = build_network(spec, series_windows.schema("forecasting"), seed=0)
    assert network(series_windows.x).shape == (8, 6, 1)


def test_bidirectional_last_state_joins_both_ends(series_windows) -> None:
    spec = TypeAdapter(Layer).validate_python({"lstm": {"units": 5, "bidirectional": True}})
    built = BLOCK_BUILDERS["lstm"](spec, (48, 1))
    block = built.module
    assert isinstance(block, Recurrent) and built.out_shape == (10,)
    sequences, _ = block.rnn(series_windows.x)
    last = block(series_windows.x)
    assert torch.allclose(last[:, :5], sequences[:, -1, :5])  # forward after the last step
    assert torch.allclose(last[:, 5:], sequences[:, 0, 5:])  # backward after the first


def test_recurrent_templates_name_what_they_need(char_batch) -> None:
    with pytest.raises(ShapeError, match="template char_rnn needs token ids"):
        build_network(template({"template": "char_rnn"}), MNIST)
    with pytest.raises(ShapeError, match="template lstm_classifier needs sequences"):
        build_network(template({"template": "lstm_classifier"}), MNIST)
    with pytest.raises(ShapeError, match="template lstm_forecaster needs sequences"):
        build_network(template({"template": "lstm_forecaster"}), char_batch.schema())


TEXT = Schema(
    task="classification",
    input=InputSchema(kind="tokens", shape=[20], vocab=["<pad>", "<unk>", *"abcdefgh"]),
    classes=["no", "yes", "maybe"],
)


@pytest.mark.parametrize(
    ("options", "recurrent_out"),
    [
        ({"cell": "lstm", "units": 12}, (12,)),
        ({"cell": "gru", "units": 12, "bidirectional": True}, (24,)),
        ({"cell": "gru", "units": 12, "pooling": "max", "layers": 2}, (20, 12)),
        ({"cell": "lstm", "units": 6, "pooling": "mean", "bidirectional": True}, (20, 12)),
    ],
)
def test_text_classifier_builds_by_shape_inference(options: dict, recurrent_out: tuple) -> None:
    spec = template({"template": "text_classifier", "embedding_dim": 8, **options})
    network = build_network(spec, TEXT, seed=0)
    shapes = list(network.layer_shapes.values())
    assert shapes[0] == (20, 8)  # the embedding of the vocabulary of 10 tokens
    assert recurrent_out in shapes and network.output_shape == (3,)
    assert network.input_dtype == torch.int64
    logits = network(torch.randint(0, 10, (4, 20)))
    assert logits.shape == (4, 3) and torch.isfinite(logits).all()


def test_text_classifier_needs_token_ids_and_classes(char_batch) -> None:
    with pytest.raises(ShapeError, match="template text_classifier needs token ids"):
        build_network(template({"template": "text_classifier"}), MNIST)
    with pytest.raises(ShapeError, match="template text_classifier"):
        build_network(template({"template": "text_classifier"}), char_batch.schema())

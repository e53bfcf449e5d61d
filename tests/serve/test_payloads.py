"""Request bodies to raw batches: texts for token models, and what is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from athanor.data.preprocessing import Preprocessor
from athanor.data.schema import InputSchema, Schema
from athanor.errors import PredictionInputError
from athanor.serve import Predictor
from athanor.serve.payloads import UnsupportedMediaType, raw_from_body, raw_from_json


@pytest.fixture(scope="module")
def text_model() -> Predictor:
    vocab = list(" abcdefgh")
    network = torch.nn.Sequential(
        torch.nn.Embedding(len(vocab), 3), torch.nn.Flatten(), torch.nn.Linear(5 * 3, 2)
    )
    schema = Schema(
        task="classification",
        input=InputSchema(kind="tokens", shape=[5], vocab=vocab),
        classes=["short", "long"],
    )
    return Predictor(network, schema, Preprocessor([]), {})


def test_texts_become_the_last_window_of_token_indices(text_model: Predictor) -> None:
    raw = raw_from_json(text_model, {"inputs": ["a bad cafe", "hedge"]})
    assert raw.dtype == np.int64 and raw.tolist() == [[0, 3, 1, 6, 5], [8, 5, 4, 7, 5]]
    assert text_model.scores(raw).shape == (2, 2)
    same = raw_from_body(text_model, "application/json", b'{"inputs": [[0, 3, 1, 6, 5]]}')
    assert same.tolist() == raw[:1].tolist()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": ["abc!x"]}, "input 0: not in the model's vocabulary: '!', 'x'"),
        ({"inputs": ["abc"]}, "input 0: 3 tokens; the model reads 5 at a time"),
        ({"inputs": [[0, 1, 2, 3, 99]]}, "token indices must be whole numbers from 0 to 8"),
        ({"inputs": [[0, 1, 2, 3, 0.5]]}, "token indices must be whole numbers"),
        ({"inputs": [{"b64": "AAAA"}]}, "takes tokens inputs, not images"),
    ],
)
def test_text_model_refusals(text_model: Predictor, payload: dict, message: str) -> None:
    with pytest.raises(PredictionInputError, match=message):
        raw_from_json(text_model, payload)


def test_other_media_types_are_refused(text_model: Predictor) -> None:
    with pytest.raises(UnsupportedMediaType, match="'application/xml' is not read here"):
        raw_from_body(text_model, "application/xml; charset=utf-8", b"<a/>")

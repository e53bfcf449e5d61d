"""Request bodies to raw batches: texts for token models, and what is refused."""

from __future__ import annotations

import pytest
import torch

from athanor.data.preprocessing import Preprocessor
from athanor.data.schema import InputSchema, Schema
from athanor.data.text import Tokenize
from athanor.errors import PredictionInputError
from athanor.serve import Predictor
from athanor.serve.payloads import (
    UnsupportedMediaType,
    predictions_json,
    raw_from_body,
    raw_from_json,
)


@pytest.fixture(scope="module")
def text_model() -> Predictor:
    """A token classifier with the data layer's own tokenizer (characters, length 5)."""
    tokenizer = Tokenize("char", length=5)
    tokenizer.fit_tokens(list("a bad cafe hedge"), min_count=1, max_size=None)
    vocab = tokenizer.vocab
    network = torch.nn.Sequential(
        torch.nn.Embedding(len(vocab), 3), torch.nn.Flatten(), torch.nn.Linear(5 * 3, 2)
    )
    schema = Schema(
        task="classification",
        input=InputSchema(kind="tokens", shape=[5], vocab=vocab),
        classes=["short", "long"],
    )
    return Predictor(network, schema, Preprocessor([tokenizer]), {})


def test_texts_go_through_the_models_own_tokenizer(text_model: Predictor) -> None:
    raw = raw_from_json(text_model, {"inputs": ["a bad cafe", "hedge", "ab"]})
    assert raw == ["a bad cafe", "hedge", "ab"]
    tokenizer = text_model.preprocessor.steps[0]
    encoded = text_model.preprocessor.transform(raw)
    assert encoded.tolist()[1] == tokenizer.encode(list("hedge")).tolist()
    assert encoded.tolist()[2][:3] == [0, 0, 0]  # short texts are padded on the left
    assert text_model.scores(raw).shape == (3, 2)
    indices = raw_from_body(text_model, "application/json", b'{"inputs": [[0, 3, 1, 6, 5]]}')
    assert indices.tolist() == [[0, 3, 1, 6, 5]]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": [[0, 1, 2, 3, 99]]}, "token indices must be whole numbers from 0 to"),
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


def test_an_uploaded_text_file_is_one_document(text_model: Predictor) -> None:
    from athanor.serve.payloads import raw_from_upload

    raw = raw_from_upload(text_model, "review.txt", "text/plain", b"a bad cafe\r\n")
    assert raw == ["a bad cafe\n"]
    assert text_model.scores(raw).shape == (1, 2)
    with pytest.raises(PredictionInputError, match="review.txt: not UTF-8 text"):
        raw_from_upload(text_model, "review.txt", "text/plain", b"\xe8t\xe9")
    with pytest.raises(
        PredictionInputError, match=r"scan.png: unsupported file; this model takes text"
    ):
        raw_from_upload(text_model, "scan.png", "image/png", b"\x89PNG")


def test_a_classifiers_answer_names_the_first_best_class_of_each_row() -> None:
    import json

    import numpy as np

    from athanor.data.preprocessing import ToFloat

    schema = Schema(
        task="classification", input=InputSchema(kind="tabular", shape=[3]), classes=["a", "b", "c"]
    )
    predictor = Predictor(torch.nn.Linear(3, 3), schema, Preprocessor([ToFloat()]), {})
    scores = np.array([[0.25, 0.5, 0.25], [0.4, 0.2, 0.4], [0.1, 0.1, 0.8]], np.float32)
    answer = json.loads(predictions_json(predictor, scores, "m@1"))
    assert answer["model"] == "m@1"
    assert [p["label"] for p in answer["predictions"]] == ["b", "a", "c"]
    assert [p["probability"] for p in answer["predictions"]] == pytest.approx([0.5, 0.4, 0.8])
    assert answer["predictions"][1]["probabilities"] == pytest.approx(
        {"a": 0.4, "b": 0.2, "c": 0.4}
    )
    with pytest.raises(PredictionInputError, match="non-finite outputs"):
        predictions_json(predictor, np.array([[np.nan, 0, 1]], np.float32), "m@1")

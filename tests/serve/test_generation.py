"""Generation from registered language models and GANs, as every surface shares it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from athanor.api import models
from athanor.errors import PredictionInputError
from athanor.serve.generation import (
    GenerationError,
    GenerativeModelError,
    join_words,
    parse_request,
)


@pytest.fixture(scope="module")
def char_model(trained_generators):
    return models.load("shakes-char", settings=trained_generators)


@pytest.fixture(scope="module")
def word_model(trained_generators):
    return models.load("shakes-words", settings=trained_generators)


@pytest.fixture(scope="module")
def gan(trained_generators):
    return models.load("digits-gan", settings=trained_generators)


def test_text_continues_the_prompt_by_length_characters_without_markers(char_model) -> None:
    result = char_model.generate("ROMEO:", length=120, temperature=1.5, seed=4)
    assert result.text == "ROMEO:" + result.generated
    assert len(result.generated) == result.tokens == 120
    assert "<pad>" not in result.text and "<unk>" not in result.text
    assert result.model == "shakes-char@1" and result.seed == 4 and result.level == "char"


def test_a_seed_makes_text_reproducible_and_another_seed_changes_it(char_model) -> None:
    first = char_model.generate("To be", length=60, seed=11)
    assert char_model.generate("To be", length=60, seed=11).text == first.text
    assert char_model.generate("To be", length=60, seed=12).text != first.text
    fresh = char_model.generate("To be", length=5)
    assert char_model.generate("To be", length=5, seed=fresh.seed).text == fresh.text


def test_top_k_of_one_is_the_greedy_choice(char_model) -> None:
    greedy = char_model.generate("KING", length=40, temperature=0)
    assert char_model.generate("KING", length=40, top_k=1, temperature=2, seed=1).text == (
        greedy.text
    )


def test_prompt_characters_outside_the_vocabulary_are_named(char_model) -> None:
    with pytest.raises(PredictionInputError, match=r"2 character\(s\).*'é', '€'"):
        char_model.generate("Héllo €", length=5)
    empty = char_model.generate("", length=30, seed=1)
    assert empty.text == empty.generated and len(empty.generated) == 30


def test_word_models_never_draw_unknown_words(word_model) -> None:
    vocab = word_model.schema.input.vocab
    assert vocab[:2] == ["<pad>", "<unk>"] and len(vocab) == 60
    result = word_model.generate("the", length=300, temperature=2.0, seed=2)
    assert result.tokens == 300 and result.level == "word"
    assert "<unk>" not in result.text and "<pad>" not in result.text
    assert result.text.startswith("the ")
    with pytest.raises(PredictionInputError, match="word.*'Zanzibar'"):
        word_model.generate("the Zanzibar", length=5)


def test_words_are_joined_as_text() -> None:
    assert join_words(["Now", ",", "the", "(", "king", ")", "is", "dead", "."]) == (
        "Now, the (king) is dead."
    )


def test_a_gan_draws_n_images_and_a_grid_reproducibly(gan) -> None:
    result = gan.generate(n=5, seed=3)
    assert (result.count, result.width, result.height, result.channels) == (5, 8, 8, 1)
    images = [Image.open(io.BytesIO(data)) for data in result.image_bytes()]
    assert [image.size for image in images] == [(8, 8)] * 5
    grid = Image.open(io.BytesIO(result.grid_bytes()))
    assert grid.size == (3 * 10 + 2, 2 * 10 + 2)  # 3 columns, 2 rows, 2-pixel gaps
    assert np.asarray(images[0]).std() > 0
    assert gan.generate(n=5, seed=3).images_png == result.images_png
    assert gan.generate(n=5, seed=4).images_png != result.images_png


def test_predict_on_a_generative_model_points_to_generate(char_model, gan) -> None:
    with pytest.raises(GenerativeModelError, match="athanor generate shakes-char --prompt"):
        char_model.predict(["To be"])
    with pytest.raises(GenerativeModelError, match="athanor generate digits-gan --n"):
        gan.predict(np.zeros((1, 1, 8, 8), dtype=np.float32))


def test_options_out_of_range_are_refused_with_their_name(char_model) -> None:
    with pytest.raises(GenerationError, match="length: Input should be greater than or equal"):
        char_model.generate("a", length=0)
    with pytest.raises(GenerationError, match="temperature"):
        char_model.generate("a", temperature=-1)
    with pytest.raises(GenerationError, match="colour: Extra inputs"):
        parse_request({"colour": "red"})


def test_a_model_that_predicts_does_not_generate(trained_generators, trained_iris) -> None:
    _run, settings = trained_iris
    with pytest.raises(GenerationError, match="classification model.*use predict") as refused:
        models.load("iris-mlp", settings=settings).generate("a")
    assert refused.value.http_status == 409  # the model, not the request, does not fit

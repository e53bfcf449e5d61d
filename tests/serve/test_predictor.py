"""Predictors rebuilt from packages: arrays, image files, CSV rows, and bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from athanor.errors import PredictionInputError
from athanor.serve import Predictor


@pytest.fixture(scope="module")
def digits_model(trained_digits) -> Predictor:
    run, _ = trained_digits
    return Predictor.from_package(run.package_dir)


def test_reloaded_predictor_matches_the_trained_network(trained_digits, digits_raw) -> None:
    run, _ = trained_digits
    predictor = Predictor.from_package(run.package_dir)
    probabilities = predictor.predict_proba(digits_raw.x[:50])
    assert probabilities.shape == (50, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = (probabilities.argmax(1) == digits_raw.y[:50]).mean()
    assert accuracy > 0.85
    assert run.test_metrics["test_accuracy"] > 0.85


def test_array_forms(digits_model: Predictor, digits_raw) -> None:
    single = digits_model.predict(digits_raw.x[0])
    no_channel = digits_model.predict(digits_raw.x[:3, 0])
    assert len(single) == 1 and len(no_channel) == 3
    assert single[0].label == no_channel[0].label
    assert set(single[0].probabilities) == {str(d) for d in range(10)}


def test_png_files_are_resized_and_inverted_to_the_training_background(
    digits_model: Predictor, digits_raw, tmp_path: Path
) -> None:
    image = digits_raw.x[5, 0]
    big = Image.fromarray(image).resize((64, 64), Image.Resampling.NEAREST)
    dark = tmp_path / "dark.png"
    big.save(dark)
    light = tmp_path / "light.jpg"
    Image.fromarray(255 - np.asarray(big)).convert("RGB").save(light, quality=95)
    from_array = digits_model.predict(image)[0].label
    labels = [p.label for p in digits_model.predict([dark, light])]
    assert labels == [from_array, from_array]


def test_bad_inputs_name_what_is_wrong(digits_model: Predictor, tmp_path: Path) -> None:
    with pytest.raises(PredictionInputError, match=r"shape \[3, 5\] does not fit"):
        digits_model.predict(np.zeros((3, 5)))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(PredictionInputError, match="notes.txt: unsupported input file"):
        digits_model.predict(text)
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a png")
    with pytest.raises(PredictionInputError, match="fake.png: not a readable image"):
        digits_model.predict(fake)
    with pytest.raises(PredictionInputError, match="expected numbers"):
        digits_model.predict(np.array([["a"] * 8] * 8))


def test_table_model_takes_csv_rows_dicts_and_arrays(trained_iris, tmp_path: Path) -> None:
    run, _ = trained_iris
    predictor = Predictor.from_package(run.package_dir)
    features = predictor.schema.input.features
    row = [5.1, 3.5, 1.4, 0.2]  # a setosa
    csv = tmp_path / "rows.csv"
    csv.write_text(",".join(reversed(features)) + "\n" + ",".join(map(str, reversed(row))) + "\n")
    by_csv = predictor.predict(csv)[0]
    by_dict = predictor.predict([dict(zip(features, row, strict=True))])[0]
    by_array = predictor.predict(np.array(row))[0]
    assert by_csv.label == by_dict.label == by_array.label == "setosa"
    headerless = tmp_path / "plain.csv"
    headerless.write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    assert [p.label for p in predictor.predict(headerless)] == ["setosa", "virginica"]
    broken = tmp_path / "broken.csv"
    broken.write_text(",".join(features) + "\n5.1,3.5,1.4,0.2\n5.0,x,1.4,0.2\n")
    with pytest.raises(PredictionInputError, match=r"broken.csv:3: column sepal width \(cm\)"):
        predictor.predict(broken)
    short = tmp_path / "short.csv"
    short.write_text("1,2,3\n")
    with pytest.raises(PredictionInputError, match="short.csv:1: 3 values, the model takes 4"):
        predictor.predict(short)


def test_text_model_learns_and_predicts_raw_strings_and_text_files(
    trained_text, tmp_path: Path
) -> None:
    import athanor as at

    run, settings = trained_text
    assert run.run.status == "succeeded", run.run.status_reason
    # 60 test passages, half of each class: chance is 0.5.
    assert run.test_metrics["test_accuracy"] >= 0.8
    model = at.models.load("passages-rnn", settings=settings)
    assert model.schema.input.kind == "tokens" and model.classes == ["manual", "play"]
    texts = [
        "O Romeo, wherefore art thou? My lord, thy father bids thee come to court",
        "The data set contains 569 samples of 30 numeric features; the target is binary",
    ]
    predictions = model.predict(texts)
    assert [p.label for p in predictions] == ["play", "manual"]
    assert all(abs(sum(p.probabilities.values()) - 1) < 1e-5 for p in predictions)
    document = tmp_path / "speech.txt"
    document.write_text(texts[0] + "\r\n", encoding="utf-8")
    from_file = model.predict(document)[0]
    assert from_file.label == "play"
    assert from_file.probability == pytest.approx(predictions[0].probability, abs=1e-5)
    (tmp_path / "latin.txt").write_bytes("tr\xe8s".encode("latin-1"))
    with pytest.raises(PredictionInputError, match=r"latin\.txt:1: not valid UTF-8"):
        model.predict(tmp_path / "latin.txt")
    with pytest.raises(PredictionInputError, match=r"page\.pdf: unsupported input file"):
        model.predict(tmp_path / "page.pdf")

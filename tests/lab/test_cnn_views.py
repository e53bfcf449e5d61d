"""What a CNN sees, on a tiny MNIST CNN trained here: filters, feature maps, Grad-CAM."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.lab.cnn_views import cnn_views, explain, image_classifier
from athanor.lab.images import LabInputError, dataset_sample
from tests.lab.tiny_cnn import train_mnist_cnn


@pytest.fixture(scope="module")
def mnist_cnn(mirror, tmp_path_factory: pytest.TempPathFactory):
    """The tiny CNN's predictor (loaded from the registry) and its settings."""
    from athanor.store import open_store

    _run, settings = train_mnist_cnn(tmp_path_factory.mktemp("cnn-home"), mirror)
    return image_classifier(open_store(settings), "tiny-mnist-cnn"), settings


def test_grad_cam_is_a_map_of_the_input_that_is_not_constant(mnist_cnn) -> None:
    predictor, settings = mnist_cnn
    digit = dataset_sample("mnist", 0, settings)
    answer = explain(predictor, digit)
    assert answer["label"] == "7" and answer["predicted"] == "7"  # it learned that much
    assert answer["explained"] == "7"
    for name in ("gradcam", "saliency"):
        values = np.asarray(answer[name])
        assert values.shape == (28, 28), name
        assert values.min() >= 0 and values.max() == pytest.approx(1.0), name
        assert values.std() > 0.05, name
    # The saliency of a digit lies on and around its strokes, not in the empty corners.
    saliency = np.asarray(answer["saliency"])
    assert saliency[:4, :4].max() < saliency.max()
    # Another class's evidence is another map.
    other = np.asarray(explain(predictor, digit, target="1")["gradcam"])
    assert not np.allclose(other, answer["gradcam"])


def test_filters_and_every_conv_layers_feature_maps(mnist_cnn) -> None:
    predictor, settings = mnist_cnn
    views = cnn_views(predictor, dataset_sample("mnist", 3, settings))
    assert views["filters"]["shape"] == [6, 1, 3, 3]
    assert np.asarray(views["filters"]["weights"]).shape == (6, 1, 3, 3)
    assert views["conv_layers"] == 2
    shapes = [layer["shape"] for layer in views["feature_maps"]]
    assert shapes == [[6, 28, 28], [8, 14, 14]]
    first = np.asarray(views["feature_maps"][0]["maps"])
    assert first.shape == (6, 28, 28) and first.std() > 0
    assert abs(sum(views["probabilities"].values()) - 1) < 1e-5


def test_a_class_the_model_does_not_have_is_refused(mnist_cnn) -> None:
    predictor, settings = mnist_cnn
    with pytest.raises(LabInputError, match="target: 'cat' is not one of the classes 0, 1"):
        explain(predictor, dataset_sample("mnist", 0, settings), target="cat")


def test_a_model_that_is_not_a_cnn_is_refused(trained_iris) -> None:
    from athanor.store import open_store

    _run, settings = trained_iris
    with pytest.raises(
        LabInputError, match="iris-mlp@1 is a classification model of tabular inputs"
    ):
        image_classifier(open_store(settings), "iris-mlp")


def test_concurrent_requests_on_the_shared_network_see_only_their_own_pass(mnist_cnn) -> None:
    from concurrent.futures import ThreadPoolExecutor

    predictor, settings = mnist_cnn
    digits = [dataset_sample("mnist", index, settings) for index in range(4)]
    alone = [cnn_views(predictor, digit) for digit in digits]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda digit: cnn_views(predictor, digit), digits * 2))
    for index, views in enumerate(together):
        expected = alone[index % 4]
        assert views["predicted"] == expected["predicted"]
        np.testing.assert_allclose(views["gradcam"], expected["gradcam"], atol=1e-5)
        np.testing.assert_allclose(
            views["feature_maps"][1]["maps"], expected["feature_maps"][1]["maps"], atol=1e-5
        )

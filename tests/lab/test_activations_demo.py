"""Every activation's curve and derivative come from the real modules by autograd, and the
gradient norms of a deep sigmoid MLP fade towards the input far more than ReLU's."""

from __future__ import annotations

import math

import pytest

from athanor.errors import UserError
from athanor.lab.activations_demo import activation_curves, gradient_norms
from athanor.spec.activations import ACTIVATIONS


def test_every_activation_with_its_derivative() -> None:
    curves = {curve["name"]: curve for curve in activation_curves()}
    assert set(curves) == set(ACTIVATIONS)
    sigmoid = curves["sigmoid"]
    for x, y, dy in zip(sigmoid["x"], sigmoid["y"], sigmoid["dy"], strict=True):
        s = 1 / (1 + math.exp(-x))
        assert y == pytest.approx(s, abs=1e-4) and dy == pytest.approx(s * (1 - s), abs=1e-4)
    relu = curves["relu"]
    assert {dy for x, dy in zip(relu["x"], relu["dy"], strict=True) if x > 0} == {1.0}
    assert {dy for x, dy in zip(relu["x"], relu["dy"], strict=True) if x < 0} == {0.0}
    # step's derivative is the straight-through one training uses: 1 for |x| <= 1
    step = curves["step"]
    assert {dy for x, dy in zip(step["x"], step["dy"], strict=True) if abs(x) < 0.9} == {1.0}
    assert curves["maxout"]["note"] and curves["softmax"]["note"]


def test_sigmoid_gradients_vanish_towards_the_input() -> None:
    sigmoid, relu = gradient_norms(["sigmoid", "relu"], depth=10, width=32)
    assert len(sigmoid["norms"]) == len(relu["norms"]) == 10
    # measured on one batch: sigmoid's first layer gets < 1e-5 of its last layer's gradient
    assert sigmoid["ratio"] < 1e-5 < relu["ratio"]
    with pytest.raises(UserError, match="depth: 30; valid: 2 to 20"):
        gradient_norms(["relu"], depth=30)
    with pytest.raises(UserError, match="'softmax' is not one of"):
        gradient_norms(["softmax"])

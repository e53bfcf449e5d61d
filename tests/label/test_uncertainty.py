"""Uncertainty measures of class probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.label.uncertainty import most_uncertain, uncertainties


def test_the_three_measures_on_known_probabilities() -> None:
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.3, 0.2], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    measures = uncertainties(p)
    np.testing.assert_allclose(measures["least"], [0.0, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(measures["margin"], [0.0, 0.8, 1.0, 1.0])
    entropy = -(0.5 * np.log(0.5) + 0.3 * np.log(0.3) + 0.2 * np.log(0.2)) / np.log(3)
    np.testing.assert_allclose(measures["entropy"], [0.0, entropy, 1.0, np.log(2) / np.log(3)])
    assert most_uncertain(p, 2, "least").tolist() == [2, 1]
    assert most_uncertain(p, 2, "margin").tolist() == [2, 3]
    assert most_uncertain(p, 1, "entropy").tolist() == [2]


def test_probabilities_of_one_class_are_refused() -> None:
    with pytest.raises(ValueError, match="K>=2"):
        uncertainties(np.ones((3, 1)))

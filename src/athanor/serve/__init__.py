"""Serving: predictors that apply a package's preprocessing and network to raw inputs."""

from athanor.serve.predictor import Prediction, Predictor

__all__ = ["Prediction", "Predictor"]

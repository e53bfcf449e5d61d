"""Serving: predictors that apply a package's preprocessing and network to raw inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from athanor.serve.predictor import Prediction, Predictor

__all__ = ["Prediction", "Predictor"]


def __getattr__(name: str) -> Any:
    # Imported on first use: they load PyTorch, which the platform's API needs only once it
    # serves a deployment.
    if name in __all__:
        from athanor.serve import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

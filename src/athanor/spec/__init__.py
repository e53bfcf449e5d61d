"""Typed specs for everything a user configures: validated, defaulted, stored with each run."""

from athanor.spec.data import DataSpec, SplitSpec, SubsetSpec
from athanor.spec.layers import LAYER_SPECS, LayerSpec
from athanor.spec.loading import format_path, load_spec
from athanor.spec.model import TEMPLATE_SPECS, LayerStackSpec, ModelSpec, TemplateSpec
from athanor.spec.run import RunSpec
from athanor.spec.train import TrainSpec

__all__ = [
    "LAYER_SPECS",
    "TEMPLATE_SPECS",
    "DataSpec",
    "LayerSpec",
    "LayerStackSpec",
    "ModelSpec",
    "RunSpec",
    "SplitSpec",
    "SubsetSpec",
    "TemplateSpec",
    "TrainSpec",
    "format_path",
    "load_spec",
]

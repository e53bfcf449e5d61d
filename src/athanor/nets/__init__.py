"""Networks: building blocks, activations, templates, the builder with shape checks, and
per-layer summaries (shapes, parameters, operations, memory)."""

from athanor.nets.builder import Network, build_network, count_parameters
from athanor.nets.summary import LayerSummary, NetworkSummary, summary

__all__ = [
    "LayerSummary",
    "Network",
    "NetworkSummary",
    "build_network",
    "count_parameters",
    "summary",
]

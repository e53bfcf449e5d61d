"""Networks: building blocks, activations, templates and the builder with shape checks."""

from athanor.nets.builder import Network, build_network, count_parameters

__all__ = ["Network", "build_network", "count_parameters"]

"""Layer builders; importing this package registers every block."""

from athanor.nets.blocks import conv, dense, pooling, regularization, shape  # noqa: F401

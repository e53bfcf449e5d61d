"""Layer builders; importing this package registers every block."""

from athanor.nets.blocks import (  # noqa: F401
    activation,
    conv,
    dense,
    embedding,
    normalization,
    pooling,
    recurrent,
    regularization,
    resampling,
    residual,
    shape,
)

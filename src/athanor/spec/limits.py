"""Resource limits every decoder checks before the work: image pixels, archive sizes, memory.

Each limit has a default sized for real data and an environment variable that changes it:

=============================  ==========================  ===================================
variable                       default                     limits
=============================  ==========================  ===================================
``ATHANOR_MAX_IMAGE_PIXELS``   50,000,000 (50 megapixels)  one image's width x height, read
                                                           from its header before decoding
``ATHANOR_MAX_ARCHIVE_MB``     16,384 (16 GiB)             the uncompressed size of a model
                                                           package zip, read from its directory
``ATHANOR_MAX_PARAMETER_MB``   the memory available now    a network's parameters x 4 bytes,
                                                           checked before it is allocated
=============================  ==========================  ===================================

The limits of YAML (aliases, nesting, numbers) are fixed and live in :mod:`athanor.spec.loading`.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from athanor.errors import SpecError

ENVIRONMENT = {
    "max_image_pixels": "ATHANOR_MAX_IMAGE_PIXELS",
    "max_archive_mb": "ATHANOR_MAX_ARCHIVE_MB",
    "max_parameter_mb": "ATHANOR_MAX_PARAMETER_MB",
}


class ResourceLimits(BaseModel):
    """The resource limits in force (see the module's table)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_image_pixels: int = Field(default=50_000_000, ge=1, le=2**40)
    max_archive_mb: int = Field(default=16 * 1024, ge=1, le=2**40)
    max_parameter_mb: int | None = Field(default=None, ge=1, le=2**40)
    """``None``: the memory available when the network is built."""

    @property
    def max_archive_bytes(self) -> int:
        return self.max_archive_mb * 1024**2


def current_limits() -> ResourceLimits:
    """The limits, read from the environment each time (cheap).

    Raises:
        SpecError: a variable that is not a whole number in range, naming it.
    """
    given = {
        field: os.environ[variable].strip()
        for field, variable in ENVIRONMENT.items()
        if os.environ.get(variable, "").strip()
    }
    try:
        return ResourceLimits.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0])
        raise SpecError(
            f"environment variable {ENVIRONMENT[field]}={given.get(field, '')[:40]!r}: "
            f"expected a whole number from 1 to {2**40}"
        ) from None

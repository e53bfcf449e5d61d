"""Errors raised for user mistakes.

Every :class:`UserError` carries a message that names where the mistake is (file, line, key
path, layer, column) and what would be valid. Front ends print it without a traceback; the CLI
exits with status 2. Anything else that escapes is a bug and is not caught.
"""

from __future__ import annotations


class AthanorError(Exception):
    """Base class of every error Athanor raises on purpose."""


class UserError(AthanorError):
    """A mistake in the user's input, spec, data or command: the message says how to fix it."""

    exit_code = 2


class SpecError(UserError):
    """An invalid run spec or override: names the file, line and key path."""


class DataError(UserError):
    """Unreadable or inconsistent data: names the file, line, column or sample."""


class DatasetNotFound(DataError):
    """A dataset name that is neither in the catalog nor imported."""


class DatasetUnavailable(DataError):
    """A catalog dataset whose files are neither mirrored, cached nor downloadable."""


class ShapeError(UserError):
    """A network whose layers do not fit the data or each other: names the layer."""


class NotFound(UserError):
    """A run, model or version that does not exist."""


class PackageIntegrityError(UserError):
    """A model package whose content does not match its recorded hash."""


class PredictionInputError(UserError):
    """An input to a predictor that does not match the model's input schema."""


class ExportError(UserError):
    """A model that cannot be exported to a format: names the layer and the operation."""


class Conflict(UserError):
    """An operation that the current state does not allow, e.g. cancelling a finished job."""

"""Errors raised for user mistakes.

Every :class:`UserError` carries a message that names where the mistake is (file, line, key
path, layer, column) and what would be valid. Front ends print it without a traceback; the CLI
exits with ``exit_code`` (2). Anything else that escapes is a bug and is not caught.

The HTTP servers (the platform's REST API and the model server) answer a ``UserError`` with
its class's ``http_status`` and the body ``{"detail": message}``:

- 400: the request is invalid (a spec, an option, a path, data that cannot be used); the
  message names the key, line or path and what is valid. Every class not listed below.
- 403: the caller's role does not allow the operation (:class:`PermissionDenied`).
- 404: the thing named does not exist (:class:`NotFound`, :class:`DatasetNotFound`).
- 409: it exists, but its state does not allow the operation (:class:`Conflict`).
- 413: a body, an upload or a batch larger than its limit (:class:`PayloadTooLarge`).
- 415: a body of a content type the endpoint does not read (:class:`UnsupportedMediaType`).
- 422: inputs to a model that do not fit its input schema (:class:`PredictionInputError`).

The servers answer 401 (no valid token) and 422 (a request that does not match the API's
schema) themselves. A 5xx is a bug.
"""

from __future__ import annotations


class AthanorError(Exception):
    """Base class of every error Athanor raises on purpose."""


class UserError(AthanorError):
    """A mistake in the user's input, spec, data or command: the message says how to fix it."""

    exit_code = 2
    http_status = 400


class SpecError(UserError):
    """An invalid run spec or override: names the file, line and key path."""


class DataError(UserError):
    """Unreadable or inconsistent data: names the file, line, column or sample."""


class DatasetNotFound(DataError):
    """A dataset name that is neither in the catalog nor imported."""

    http_status = 404


class DatasetUnavailable(DataError):
    """A catalog dataset whose files are neither mirrored, cached nor downloadable."""


class ShapeError(UserError):
    """A network whose layers do not fit the data or each other: names the layer."""


class NotFound(UserError):
    """A run, model or version that does not exist."""

    http_status = 404


class PackageIntegrityError(UserError):
    """A model package whose content does not match its recorded hash."""


class PredictionInputError(UserError):
    """An input to a predictor that does not match the model's input schema."""

    http_status = 422


class PayloadTooLarge(UserError):
    """A request body, an upload or a number of samples above its limit: names the limit."""

    http_status = 413


class UnsupportedMediaType(UserError):
    """A request body of a content type the endpoint does not read: names those it reads."""

    http_status = 415


class ExportError(UserError):
    """A model that cannot be exported to a format: names the layer and the operation."""


class Conflict(UserError):
    """An operation that the current state does not allow, e.g. cancelling a finished job."""

    http_status = 409


class PermissionDenied(UserError):
    """A caller whose role does not allow an operation: names the user, the role and the role
    the operation needs."""

    http_status = 403


class ResourceLimitError(UserError):
    """An input beyond a resource limit (pixels, aliases, nesting, size, memory): names it."""

    http_status = 413


class DiskFullError(UserError):
    """A write that found no space left on its disk: names the file and the space free."""

    http_status = 413  # what the request would store is larger than the room there is


class StoreMismatch(UserError):
    """A metadata database that is empty or older than its artifact folder (a lost or
    restored-old database file): names both paths, what each holds, and how to recover."""

    http_status = 409

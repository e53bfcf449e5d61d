"""Errors raised for user mistakes.

Every :class:`UserError` carries a message that names where the mistake is (file, line, key
path, layer, column) and what would be valid. Front ends print it without a traceback; the CLI
exits with ``exit_code`` (2). Anything else that escapes is a bug and is not caught.

The HTTP servers (the platform's REST API and the model server) answer a ``UserError`` with
its class's ``http_status`` and the body ``{"detail": message, "code": ..., "params": {...},
"field": ...}``: ``detail`` is the English message (what the CLI prints), ``code`` a stable
snake_case name of the mistake (one of :data:`ERROR_CODES`; the web console shows its own text
for it, in the user's language), ``params`` the values the message names, and ``field`` the
request key or key path the mistake concerns (``null`` when there is none). A class gives its
default ``code``; a raise site may give a more precise one with ``code=``, and ``params=``,
``field=``. The statuses:

- 400: the request is invalid (a spec, an option, a path, data that cannot be used); the
  message names the key, line or path and what is valid. Every class not listed below.
- 403: the caller's role does not allow the operation (:class:`PermissionDenied`).
- 404: the thing named does not exist (:class:`NotFound`, :class:`DatasetNotFound`).
- 409: it exists, but its state does not allow the operation (:class:`Conflict`).
- 413: a body, an upload or a batch larger than its limit (:class:`PayloadTooLarge`).
- 415: a body of a content type the endpoint does not read (:class:`UnsupportedMediaType`).
- 422: inputs to a model that do not fit its input schema (:class:`PredictionInputError`).

The servers answer 401 (no valid token) and 422 (a request that does not match the API's
schema) themselves, with the same body (``invalid_request``, ``unauthorized``). A 5xx is a bug.
"""

from __future__ import annotations

from typing import Any

ERROR_CODES: dict[str, str] = {
    # Defaults of the classes below.
    "invalid_input": "The request or command is invalid (generic).",
    "spec_invalid": "A run spec or override is invalid; field is the key path.",
    "data_invalid": "Data that cannot be used (generic).",
    "dataset_not_found": "No dataset of that name in the catalog or imported.",
    "dataset_unavailable": "A catalog dataset whose files cannot be had.",
    "shape_mismatch": "A network whose layers do not fit the data or each other.",
    "not_found": "The thing named does not exist (generic).",
    "package_corrupt": "A model package whose content does not match its hash.",
    "prediction_input_invalid": "Inputs that do not fit the model's input schema.",
    "payload_too_large": "A body, file or batch above its limit (generic).",
    "unsupported_media_type": "A body of a content type the endpoint does not read.",
    "export_failed": "A model that cannot be exported to a format.",
    "conflict": "The current state does not allow the operation (generic).",
    "permission_denied": "The caller's role does not allow the operation.",
    "resource_limit": "An input beyond a resource limit.",
    "disk_full": "No space left on the disk a write needs.",
    "store_mismatch": "The metadata database does not match the artifact folder.",
    # Answers the servers give without a UserError.
    "invalid_request": "A request that does not match the API's schema; field is its key.",
    "unauthorized": "No valid token or session.",
    "method_not_allowed": "The path does not take this method.",
    "host_not_allowed": "A Host header that does not name the platform.",
    "request_too_large": "A request body over the endpoint's limit.",
    "server_error": "A fault of the server (a bug: please report it).",
    # Precise codes of the raise sites the console reaches.
    "upload_too_large": "An upload that would hold more than the platform's limit.",
    "upload_not_found": "An upload id that does not exist (or was deleted).",
    "file_unreadable": "A file of an import that cannot be read; skip_bad leaves it out.",
    "row_unreadable": "A row or line of an imported file that cannot be read; skip_bad "
    "leaves it out.",
    "box_invalid": "A box of a detection import that cannot be used; skip_bad leaves it out.",
    "target_missing_values": "A table's target column is empty on some rows; skip_bad drops them.",
    "target_required": "A table imported without a target column: choose one.",
    "kind_undetected": "What an import holds cannot be told: choose its kind.",
    "file_type_unsupported": "A file of a type no import kind reads.",
    "import_path_outside_roots": "A path outside the folders the platform imports from.",
    "import_path_remote": "Paths of the platform's machine are imported only from it.",
    "import_path_not_found": "No such file or folder on the platform's machine.",
    "conflict_in_use": "Cannot delete or change it: other things use it (params.users).",
    "name_taken": "A name already in use.",
    "job_not_found": "No job of that id.",
    "job_finished": "The job's state does not allow the operation.",
    "model_not_found": "No registered model or version of that name.",
    "deployment_not_found": "No deployment of that name.",
    "label_project_not_found": "No labeling project of that name.",
    "label_too_few_labeled": "A labeling project with too few labeled items to train on.",
    "label_dataset_unsuitable": "A dataset whose kind a labeling project cannot label.",
    "label_kind_mismatch": "A labeling project kind that does not fit its dataset.",
    "label_set_too_small": "A label set with fewer labels than the project kind needs.",
    "name_invalid": "A name with characters or a length names may not have.",
    "user_not_found": "No user of that name.",
    "last_admin": "The operation would leave the platform without an admin.",
}
"""Every code an error body may carry, with what it means (docs/errors.md lists them)."""

HTTP_STATUS_CODES: dict[int, str] = {
    400: "invalid_input",
    401: "unauthorized",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}
"""The code of an answer given without a :class:`UserError` (an HTTP error of the framework)."""


def code_of_status(status: int) -> str:
    """The code of an HTTP error status answered without a :class:`UserError`."""
    return HTTP_STATUS_CODES.get(status, "invalid_input" if status < 500 else "server_error")


class AthanorError(Exception):
    """Base class of every error Athanor raises on purpose."""


class UserError(AthanorError):
    """A mistake in the user's input, spec, data or command: the message says how to fix it.

    Args:
        *args: the message (English; the CLI prints it, the REST API answers it as ``detail``).
        code: a more precise code than the class's (a key of :data:`ERROR_CODES`).
        params: the values the message names (JSON values), for a translated text.
        field: the request key or key path the mistake concerns, e.g. ``train.epochs``.
    """

    exit_code = 2
    http_status = 400
    code = "invalid_input"

    def __init__(
        self,
        *args: object,
        code: str | None = None,
        params: dict[str, Any] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(*args)
        if code is not None:
            if code not in ERROR_CODES:
                raise ValueError(f"{code!r} is not an error code of athanor.errors.ERROR_CODES")
            self.code = code
        self.params: dict[str, Any] = dict(params or {})
        self.field: str | None = field


class SpecError(UserError):
    """An invalid run spec or override: names the file, line and key path."""

    code = "spec_invalid"


class DataError(UserError):
    """Unreadable or inconsistent data: names the file, line, column or sample."""

    code = "data_invalid"


class DatasetNotFound(DataError):
    """A dataset name that is neither in the catalog nor imported."""

    http_status = 404
    code = "dataset_not_found"


class DatasetUnavailable(DataError):
    """A catalog dataset whose files are neither mirrored, cached nor downloadable."""

    code = "dataset_unavailable"


class ShapeError(UserError):
    """A network whose layers do not fit the data or each other: names the layer."""

    code = "shape_mismatch"


class NotFound(UserError):
    """A run, model or version that does not exist."""

    http_status = 404
    code = "not_found"


class PackageIntegrityError(UserError):
    """A model package whose content does not match its recorded hash."""

    code = "package_corrupt"


class PredictionInputError(UserError):
    """An input to a predictor that does not match the model's input schema."""

    http_status = 422
    code = "prediction_input_invalid"


class PayloadTooLarge(UserError):
    """A request body, an upload or a number of samples above its limit: names the limit."""

    http_status = 413
    code = "payload_too_large"


class UnsupportedMediaType(UserError):
    """A request body of a content type the endpoint does not read: names those it reads."""

    http_status = 415
    code = "unsupported_media_type"


class ExportError(UserError):
    """A model that cannot be exported to a format: names the layer and the operation."""

    code = "export_failed"


class QuantizationError(ExportError):
    """A model that cannot be quantized: names the layer, the task or the missing dataset."""


class QuantizationRefused(QuantizationError):
    """A quantized model that loses more quality than allowed: names both scores and the
    bound; nothing is written."""


class Conflict(UserError):
    """An operation that the current state does not allow, e.g. cancelling a finished job."""

    http_status = 409
    code = "conflict"


class PermissionDenied(UserError):
    """A caller whose role does not allow an operation: names the user, the role and the role
    the operation needs."""

    http_status = 403
    code = "permission_denied"


class ResourceLimitError(UserError):
    """An input beyond a resource limit (pixels, aliases, nesting, size, memory): names it."""

    http_status = 413
    code = "resource_limit"


class DiskFullError(UserError):
    """A write that found no space left on its disk: names the file and the space free."""

    http_status = 413  # what the request would store is larger than the room there is
    code = "disk_full"


class StoreMismatch(UserError):
    """A metadata database that is empty or older than its artifact folder (a lost or
    restored-old database file): names both paths, what each holds, and how to recover."""

    http_status = 409
    code = "store_mismatch"

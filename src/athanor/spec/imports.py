"""The options of an import: how a user's file or folder becomes a dataset version.

The CLI (``athanor data import``), the Python API (``athanor.datasets.import_dataset``) and
the REST API (``POST /v1/datasets`` and ``POST /v1/datasets/imports/path``, whose bodies
extend this model) each build one :class:`ImportOptions`; the importer,
:func:`athanor.data.importing.import_dataset`, takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import Field

from athanor.spec.base import StrictModel

ImportKind = Literal[
    "auto",
    "table",
    "images",
    "idx",
    "text",
    "text_classes",
    "documents",
    "series",
    "detection",
    "logs",
    "log_keys",
]
IMPORT_KINDS: tuple[str, ...] = get_args(ImportKind)[1:]
"""The kinds an import can be of (``auto`` detects one of them)."""


class ImportOptions(StrictModel):
    """What to import a path as, and how strictly."""

    name: str = Field(
        max_length=100, description="The dataset's name (not a catalog dataset's name)."
    )
    kind: ImportKind = Field(
        default="auto",
        description="What the path holds: a table (CSV/TSV/Parquet), a folder of class "
        "subfolders of images, IDX files, text (a corpus), a folder of class subfolders of "
        "text documents, documents to label (a folder of text files, in class folders or not, or a "
        "CSV with a text column), a time-series CSV, or images with boxes (detection: YOLO, "
        "COCO or Pascal VOC), raw logs (logs: templates mined, lines grouped into sessions) or "
        "pre-parsed log keys (log_keys: one session per line); auto detects it.",
    )
    target: str | None = Field(
        default=None,
        max_length=200,
        description="Tables: the default target column (a run may choose another); series: "
        "the column to forecast (default all).",
    )
    task: Literal["classification", "regression"] | None = Field(
        default=None, description="Tables: the target's task (default: from the target)."
    )
    skip_bad: bool = Field(
        default=False,
        description="Leave out bad rows, files and empty class folders, listing them in the "
        "version's report, instead of failing.",
    )
    encoding: str = Field(
        default="utf-8", max_length=40, description="Text encoding of CSV and text files."
    )
    text_column: str | None = Field(
        default=None,
        max_length=200,
        description="Documents from a CSV: the column of texts (default 'text'); the label "
        "column is target (default 'label' where there is one; empty cells are unlabeled).",
    )
    time_column: str | None = Field(
        default=None,
        max_length=200,
        description="Series: the timestamp column (default: the first datetime column).",
    )
    format: Literal["yolo", "coco", "voc"] | None = Field(
        default=None,
        description="Detection: the label format, yolo (images/, labels/, data.yaml), coco "
        "(annotations JSON) or voc (Annotations/*.xml); default: detected.",
    )
    duplicates: Literal["error", "first", "mean"] = Field(
        default="error",
        description="Series: rows sharing a timestamp are refused (error, naming the line), "
        "or merged into one: the first row (first) or their mean (mean).",
    )

    log_format: str | None = Field(
        default=None,
        max_length=500,
        description="Logs: the header of each line, fields in angle brackets ending with the "
        "message, e.g. '<Date> <Time> <Pid> <Level> <Component>: <Content>' (default: the "
        "whole line is the message).",
    )
    session: str | None = Field(
        default=None,
        max_length=500,
        description="Logs: what groups lines into sessions: a regex of an id in the message "
        r"(default HDFS block ids, 'blk_-?\d+') or 'window:SECONDS' (time windows).",
    )
    time_format: str | None = Field(
        default=None,
        max_length=100,
        description="Logs with time-window sessions: the strptime format of the header's "
        "<Date> <Time> (default ISO 8601).",
    )


def import_options(
    options: ImportOptions | None = None,
    values: Mapping[str, Any] | None = None,
    *,
    origin: str = "import options",
) -> ImportOptions:
    """``options`` with ``values`` (its fields by name) put over it, validated.

    Args:
        options: the options to start from (default: every field's default).
        values: fields to set, e.g. ``{"name": "houses", "target": "price"}``.
        origin: what the values came from, for messages (e.g. ``import options``).

    Raises:
        SpecError: one line per problem, naming ``origin`` and the field.
    """
    from athanor.spec.loading import validate_settings

    if options is not None and not values:
        return options
    given = options.model_dump(exclude_unset=True) if options is not None else {}
    return validate_settings(ImportOptions, {**given, **(values or {})}, origin)

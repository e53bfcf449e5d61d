"""Splitting a read ``multipart/form-data`` body into its parts, quickly, for plain bodies.

A prediction request with one small image in a form spends more CPU in a general form parser
(a state machine in Python, a spooled temporary file per upload) than in decoding the image
and answering it. :func:`plain_form_parts` splits the body with byte searches instead, but
only a plain one: a boundary, parts whose headers are a ``Content-Disposition`` (a ``name``
and maybe a ``filename``, quoted or not, in ASCII) and maybe a ``Content-Type``, and nothing
before the first boundary or after the last. For any other body it returns ``None``, and
the caller reads it with the general parser, which also words the errors; so both read
every body the same way.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

FIELD_LIMIT_BYTES = 1024 * 1024  # Starlette's limit on a form field that is not a file

FormPart = tuple[str, str | None, str, bytes]
"""``(field, filename or None, content type, data)``; a field that is not a file has the
content type ``application/json``, as the endpoint reads it."""

_PARAMETER = re.compile(rb';\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"([^"\\]*)"|([^";\\\s]+))\s*')
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,./:=?-]{1,70}")


async def parsed_form_parts(
    scope: Scope, body: bytes, *, max_files: int, max_fields: int
) -> list[FormPart]:
    """The parts of any multipart body, in order, read by Starlette's form parser.

    Raises:
        starlette.exceptions.HTTPException: a body the parser cannot read, or over a limit.
    """

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(scope, replay).form(max_files=max_files, max_fields=max_fields)
    parts: list[FormPart] = []
    try:
        for field, value in form.multi_items():
            if isinstance(value, str):
                parts.append((field, None, "application/json", value.encode()))
            else:
                data = await value.read()
                parts.append((field, value.filename or field, value.content_type or "", data))
    finally:
        await form.close()
    return parts


def plain_form_parts(
    content_type: str, body: bytes, *, max_files: int, max_fields: int
) -> list[FormPart] | None:
    """The parts of a plain multipart body, in order (at least one), or ``None`` when the
    body is not plain (or breaks a limit) and must go through the general parser.

    Args:
        content_type: the request's ``Content-Type`` (``multipart/form-data; boundary=...``).
        body: the whole body.
        max_files: most parts with a filename.
        max_fields: most parts without one.
    """
    boundary = _boundary(content_type)
    if boundary is None:
        return None
    delimiter = b"--" + boundary
    if not body.startswith(delimiter + b"\r\n"):
        return None
    separator = b"\r\n" + delimiter
    parts: list[FormPart] = []
    files = fields = 0
    start = len(delimiter) + 2
    while True:
        end = body.find(separator, start)
        if end < 0:
            return None
        part = _part(body, start, end)
        if part is None:
            return None
        if part[1] is None:
            fields += 1
            if fields > max_fields or len(part[3]) > FIELD_LIMIT_BYTES:
                return None
        else:
            files += 1
            if files > max_files:
                return None
        parts.append(part)
        after = end + len(separator)
        following = body[after : after + 2]
        if following == b"--":
            return parts if body[after + 2 :] in (b"", b"\r\n") else None
        if following != b"\r\n":
            return None
        start = after + 2


def _boundary(content_type: str) -> bytes | None:
    try:
        raw = content_type.encode("ascii")
    except UnicodeEncodeError:
        return None
    media, _, parameters = raw.partition(b";")
    if media.strip().lower() != b"multipart/form-data":
        return None
    found = _parameters(b";" + parameters)
    if found is None or set(found) - {b"boundary", b"charset"}:
        return None
    if found.get(b"charset", b"utf-8").lower() not in (b"utf-8", b"utf8"):
        return None
    boundary = found.get(b"boundary")
    if boundary is None or not _BOUNDARY.fullmatch(boundary):
        return None
    return boundary


def _parameters(text: bytes) -> dict[bytes, bytes] | None:
    """``; key=value; key="value"`` as a mapping with lowercase keys; None unless the whole
    text is such parameters, each key once."""
    found: dict[bytes, bytes] = {}
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _PARAMETER.match(text, position)
        if match is None:
            return None
        key = match.group(1).lower()
        if key in found:
            return None
        value = match.group(2) if match.group(2) is not None else match.group(3)
        found[key] = value
        position = match.end()
    return found


def _part(body: bytes, start: int, end: int) -> FormPart | None:
    head_end = body.find(b"\r\n\r\n", start, end)  # the data may be empty, not the headers
    if head_end < 0:
        return None
    head = body[start:head_end]
    if not head.isascii():
        return None
    disposition = kind = None
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        name = name.lower()
        if not colon or (name == b"content-disposition" and disposition is not None):
            return None
        if name == b"content-disposition":
            disposition = value.strip()
        elif name == b"content-type" and kind is None:
            kind = value.strip()
        else:
            return None
    if disposition is None:
        return None
    form, _, parameters = disposition.partition(b";")
    found = _parameters(b";" + parameters)
    if form.strip().lower() != b"form-data" or found is None or b"name" not in found:
        return None
    if set(found) - {b"name", b"filename"}:
        return None
    data = body[head_end + 4 : end]
    field = found[b"name"].decode("ascii")
    content_type = kind.decode("ascii") if kind is not None else ""
    if b"filename" not in found:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return field, None, "application/json", data
    return field, found[b"filename"].decode("ascii") or field, content_type, data

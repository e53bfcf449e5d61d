"""The quick split of plain multipart bodies: the same parts as Starlette's form parser, or
``None`` (the general parser's turn) for every body that is not plain."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from athanor.serve.multipart_form import FormPart, parsed_form_parts, plain_form_parts

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n\r\n--not-the-boundary\r\n"


def encoded(**request: Any) -> tuple[str, bytes]:
    """The content type and body httpx sends for ``request`` (its ``files``/``data``)."""
    built = httpx.Request("POST", "http://127.0.0.1/", **request)
    return built.headers["content-type"], built.read()


def starlette_parts(content_type: str, body: bytes) -> list[FormPart]:
    """The parts as the endpoint read every multipart body before: Starlette's parser."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"content-type", content_type.encode("latin-1"))],
    }
    return asyncio.run(parsed_form_parts(scope, body, max_files=64, max_fields=100))


def split(content_type: str, body: bytes) -> list[FormPart] | None:
    return plain_form_parts(content_type, body, max_files=64, max_fields=100)


PLAIN = [
    {"files": [("files", ("digit.png", PNG, "image/png"))]},
    {"files": [("files", (f"{i}.png", PNG[i:], "image/png")) for i in range(5)]},
    {"files": [("files", ("empty.png", b"", "image/png"))]},
    {"files": [("f", ("rows.csv", b"1,2\n3,4\n", "text/csv"))]},
    {"files": [("a", ("", b"1,2\n", "text/csv"))]},  # no file name: a field
    {
        "data": {"inputs": '{"inputs": [[1, 2]]}', "note": "h\u00e9"},
        "files": [("f", ("x.png", PNG))],
    },
]


@pytest.mark.parametrize("request_args", PLAIN)
def test_plain_bodies_give_the_parts_starlette_gives(request_args: dict) -> None:
    content_type, body = encoded(**request_args)
    parts = split(content_type, body)
    assert parts is not None
    assert parts == starlette_parts(content_type, body)


def test_a_hand_written_body_with_a_quoted_boundary_and_bare_parameters() -> None:
    body = (
        b"--b0\r\n"
        b"content-disposition: form-data; name=files; filename=d.png\r\n"
        b"content-type: image/png\r\n\r\n" + PNG + b"\r\n--b0--"
    )
    content_type = 'multipart/form-data; charset=utf-8; boundary="b0"'
    assert split(content_type, body) == [("files", "d.png", "image/png", PNG)]
    assert split(content_type, body) == starlette_parts(content_type, body)
    unnamed = body.replace(b"filename=d.png", b'filename=""')  # the field names the file
    assert split(content_type, unnamed) == [("files", "files", "image/png", PNG)]
    assert split(content_type, unnamed) == starlette_parts(content_type, unnamed)


def body_of(head: bytes = b"", tail: bytes = b"\r\n", headers: bytes | None = None) -> bytes:
    part_headers = headers or (
        b'Content-Disposition: form-data; name="files"; filename="d.png"\r\n'
        b"Content-Type: image/png\r\n"
    )
    return head + b"--b0\r\n" + part_headers + b"\r\n" + PNG + b"\r\n--b0--" + tail


NOT_PLAIN = [
    ("multipart/form-data", body_of()),  # no boundary
    ("multipart/mixed; boundary=b0", body_of()),
    ("multipart/form-data; boundary=b0; charset=latin-1", body_of()),
    ("multipart/form-data; boundary=b0; boundary=b1", body_of()),
    ("multipart/form-data; boundary=other", body_of()),
    ("multipart/form-data; boundary=b0", body_of(head=b"a preamble\r\n")),
    ("multipart/form-data; boundary=b0", body_of(tail=b"\r\nan epilogue")),
    ("multipart/form-data; boundary=b0", body_of()[: -len(b"--\r\n")]),  # never closed
    ("multipart/form-data; boundary=b0", body_of()[:40]),  # cut short
    (
        "multipart/form-data; boundary=b0",
        body_of(
            headers=b'Content-Disposition: form-data; name="files"; filename="d.png"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
        ),
    ),
    (
        "multipart/form-data; boundary=b0",
        body_of(
            headers=b"Content-Disposition: form-data; name=\"files\"; filename*=UTF-8''d.png\r\n"
        ),
    ),
    (
        "multipart/form-data; boundary=b0",
        body_of(headers=b'Content-Disposition: form-data; name="f"; filename="a\\"b.png"\r\n'),
    ),
    (
        "multipart/form-data; boundary=b0",
        body_of(headers='Content-Disposition: form-data; name="f"; filename="é.png"\r\n'.encode()),
    ),
    ("multipart/form-data; boundary=b0", body_of(headers=b"Content-Type: image/png\r\n")),
    ("multipart/form-data; boundary=b0", body_of(headers=b"Content-Disposition: form-data\r\n")),
]


@pytest.mark.parametrize(("content_type", "body"), NOT_PLAIN)
def test_bodies_that_are_not_plain_are_left_to_the_general_parser(
    content_type: str, body: bytes
) -> None:
    assert split(content_type, body) is None


def test_a_body_beyond_a_limit_is_left_to_the_general_parser_which_names_it() -> None:
    files = [("files", (f"{i}.png", PNG, "image/png")) for i in range(3)]
    content_type, body = encoded(files=files)
    assert plain_form_parts(content_type, body, max_files=3, max_fields=0) is not None
    assert plain_form_parts(content_type, body, max_files=2, max_fields=0) is None
    content_type, body = encoded(data={"a": "1", "b": "2"}, files=files[:1])
    assert plain_form_parts(content_type, body, max_files=1, max_fields=1) is None
    content_type, body = encoded(data={"inputs": "x" * (1024 * 1024 + 1)}, files=files[:1])
    assert split(content_type, body) is None
    with pytest.raises(Exception, match="Part exceeded maximum size"):
        starlette_parts(content_type, body)


def test_a_field_that_is_not_utf8_is_left_to_the_general_parser() -> None:
    body = b'--b0\r\nContent-Disposition: form-data; name="inputs"\r\n\r\n\xff\xfe\r\n--b0--\r\n'
    assert split("multipart/form-data; boundary=b0", body) is None

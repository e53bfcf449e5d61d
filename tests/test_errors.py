"""The UserError hierarchy: every class has a 4xx ``http_status``, documented in
``athanor.errors``, and both HTTP servers answer a raised one with that status."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

import athanor
import athanor.errors
from athanor.errors import UserError
from tests.conftest import REPO
from tests.serve.conftest import running


def every_module_imported() -> None:
    for module in pkgutil.walk_packages(athanor.__path__, "athanor."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def subclasses(cls: type[UserError]) -> Iterator[type[UserError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


@pytest.fixture(scope="module")
def user_errors() -> list[type[UserError]]:
    """UserError and every subclass defined anywhere in the package."""
    every_module_imported()
    found = {UserError, *subclasses(UserError)}
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


def test_every_user_error_has_a_documented_4xx_status(user_errors) -> None:
    assert len(user_errors) >= 12
    documented = {int(s) for s in re.findall(r"^- (\d{3}):", athanor.errors.__doc__, re.M)}
    for cls in user_errors:
        assert isinstance(cls.http_status, int) and 400 <= cls.http_status <= 499, cls
        assert cls.http_status in documented, f"{cls.__name__}: {cls.http_status} is undocumented"
        assert cls.exit_code == 2, cls
    statuses = {cls.__name__: cls.http_status for cls in user_errors}
    # The answers clients, the docs and the tests rely on.
    assert {
        "UserError": 400,
        "SpecError": 400,
        "DataError": 400,
        "NotFound": 404,
        "DatasetNotFound": 404,
        "Conflict": 409,
        "PayloadTooLarge": 413,
        "UploadTooLarge": 413,
        "UnsupportedMediaType": 415,
        "PredictionInputError": 422,
    }.items() <= statuses.items()


def raising_route(app: FastAPI, errors: list[type[UserError]]) -> None:
    """``GET /test/raise/{index}`` raises ``errors[index]`` (added to the real app)."""

    def raise_error(index: int) -> None:
        cls = errors[index]
        raise cls(f"a {cls.__name__} raised on purpose")

    app.add_api_route("/test/raise/{index}", raise_error, methods=["GET"])


def answers(client, errors: list[type[UserError]]) -> dict[str, tuple[int, dict]]:
    """Each error's status, message and code (the body's other keys: see test_error_bodies)."""
    found = {}
    for index, cls in enumerate(errors):
        response = client.get(f"/test/raise/{index}")
        body = response.json()
        found[cls.__name__] = (response.status_code, {k: body[k] for k in ("detail", "code")})
    return found


def expected(errors: list[type[UserError]]) -> dict[str, tuple[int, dict]]:
    return {
        cls.__name__: (
            cls.http_status,
            {"detail": f"a {cls.__name__} raised on purpose", "code": cls.code},
        )
        for cls in errors
    }


def test_the_platform_answers_each_user_error_with_its_status(user_errors, tmp_path) -> None:
    from athanor.jobs.machine import Machine
    from athanor.server.app import create_app
    from athanor.server.context import PlatformContext
    from athanor.server.credentials import ensure_owner_token
    from athanor.settings import current_settings
    from athanor.store import open_store

    context = PlatformContext(store=open_store(), machine=Machine("test", (), 1, None))
    owner = ensure_owner_token(current_settings(), context.store.tokens)
    app = create_app(context)
    raising_route(app, user_errors)
    with running(app) as client:
        client.headers["Authorization"] = f"Bearer {owner}"
        assert answers(client, user_errors) == expected(user_errors)


def test_the_model_server_answers_each_user_error_with_its_status(
    user_errors, trained_iris
) -> None:
    from athanor.serve.app import create_app
    from athanor.spec.serving import ServingSpec

    _run, settings = trained_iris
    app = create_app("iris-mlp", config=ServingSpec(runtime="torch"), settings=settings)
    raising_route(app, user_errors)
    with running(app) as client:
        assert answers(client, user_errors) == expected(user_errors)


LOCALES = REPO / "web" / "src" / "locales"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_error_code_is_declared_and_the_console_has_its_text_in_both_languages(
    user_errors,
) -> None:
    """The codes of the classes and those raise sites give are in ERROR_CODES, and each has
    an English and a Chinese text naming the same values."""
    raised = {
        keyword.value.value
        for path in (REPO / "src" / "athanor").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
        for keyword in node.exc.keywords
        if keyword.arg == "code" and isinstance(keyword.value, ast.Constant)
    }
    defaults = {cls.code for cls in user_errors}
    declared = set(athanor.errors.ERROR_CODES)
    assert raised and not (raised | defaults) - declared, (raised | defaults) - declared
    texts = {
        name: json.loads((LOCALES / f"{name}.json").read_text())["errors"]
        for name in ("en", "zh-CN")
    }
    for name, messages in texts.items():
        assert declared <= set(messages), (name, sorted(declared - set(messages)))
    for code in declared:
        english, chinese = texts["en"][code], texts["zh-CN"][code]
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(chinese)), code
        # Console texts name the console's controls, not the CLI's flags.
        assert "--" not in english + chinese and "athanor " not in english, code


def test_an_error_body_carries_code_params_and_field_and_a_bad_code_is_refused() -> None:
    from athanor.serve.error_responses import error_body

    error = athanor.errors.Conflict(
        "cannot delete x", code="conflict_in_use", params={"name": "x"}, field="name"
    )
    assert error_body(error) == {
        "detail": "cannot delete x",
        "code": "conflict_in_use",
        "params": {"name": "x"},
        "field": "name",
    }
    assert error_body(athanor.errors.DatasetNotFound("gone"))["code"] == "dataset_not_found"
    with pytest.raises(ValueError, match="not an error code"):
        UserError("x", code="no_such_code")


def test_the_error_guide_lists_every_code() -> None:
    guide = (REPO / "docs" / "errors.md").read_text()
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", guide, re.M))
    assert listed == set(athanor.errors.ERROR_CODES)

"""Load run specs from YAML files, mappings and ``--set`` overrides, with exact error locations.

Errors name the file, the line and the key path, e.g.::

    examples/mnist-cnn.yaml:18: train.optimizer.lr: must be greater than 0 (got -1)
    --set train.optimizer.lr=-1: train.optimizer.lr: must be greater than 0 (got -1)

All YAML is read through :class:`LimitedLoader`, which refuses alias bombs ("billion
laughs"), deep nesting and huge integers while composing, in milliseconds, before anything is
built from the text. Mappings given directly (a JSON body) are checked the same way by
:func:`check_plain_data` before they are copied or validated.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from athanor.errors import SpecError
from athanor.spec.layers import LAYER_SPECS
from athanor.spec.run import RunSpec

KeyPath = tuple[str | int, ...]
_Settings = TypeVar("_Settings", bound=BaseModel)

MAX_DEPTH = 100
"""Nesting levels of mappings and lists a spec may have (real specs use fewer than 10)."""
MAX_ALIASES = 100
"""Uses of YAML aliases (``*name``) in one text."""
MAX_NODES = 100_000
"""Values in one text, counting what every alias stands for once per use."""
MAX_INTEGER_DIGITS = 40
"""Characters of one integer literal (any integer a spec takes has at most 19 digits)."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class YamlLimitExceeded(yaml.MarkedYAMLError):
    """YAML beyond one of the loader's limits; its mark says where."""


class LimitedLoader(yaml.SafeLoader):
    """A ``yaml.SafeLoader`` that counts while composing and stops at the first limit passed.

    It counts alias uses (:data:`MAX_ALIASES`), nesting depth (:data:`MAX_DEPTH`) and values
    with every alias expanded (:data:`MAX_NODES`: the cost of anything that walks the data),
    and refuses integer literals longer than :data:`MAX_INTEGER_DIGITS` characters.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._values = 0
        self._anchored: dict[int, int] = {}  # id(anchored node) -> values it stands for

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner looks ahead over a whole run of '[' or '{' before the composer sees
        # one, in time quadratic in its length: stop it at the depth limit.
        if self.flow_level >= MAX_DEPTH:
            raise YamlLimitExceeded(
                problem=f"nested more than {MAX_DEPTH} levels deep; that is the limit",
                problem_mark=self.get_mark(),
            )
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise YamlLimitExceeded(
                problem=f"nested more than {MAX_DEPTH} levels deep; that is the limit",
                problem_mark=self.get_mark(),
            )
        return super().add_indent(column)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitExceeded(
                    problem=f"more than {MAX_ALIASES} uses of aliases (*name); that is the limit",
                    problem_mark=event.start_mark,
                )
            node = super().compose_node(parent, index)
            self._count(self._anchored.get(id(node), 1), event.start_mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimitExceeded(
                problem=f"nested more than {MAX_DEPTH} levels deep; that is the limit",
                problem_mark=event.start_mark,
            )
        before = self._values
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._count(1, event.start_mark)
        if getattr(event, "anchor", None) is not None:
            self._anchored[id(node)] = self._values - before
        return node

    def _count(self, values: int, mark: Any) -> None:
        self._values += values
        if self._values > MAX_NODES:
            raise YamlLimitExceeded(
                problem=f"more than {MAX_NODES:,} values with its aliases expanded; "
                "that is the limit",
                problem_mark=mark,
            )

    def construct_limited_int(self, node: yaml.ScalarNode) -> int:
        text = str(node.value)
        if len(text.replace("_", "")) > MAX_INTEGER_DIGITS:
            raise YamlLimitExceeded(
                problem=f"an integer of {len(text)} characters; integers in a spec have at "
                f"most 19 digits (up to {INT64_MAX})",
                problem_mark=node.start_mark,
            )
        return super().construct_yaml_int(node)


LimitedLoader.add_constructor("tag:yaml.org,2002:int", LimitedLoader.construct_limited_int)


def compose_yaml(text: str, origin: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML text within the limits: ``(data, root node)``.

    Raises:
        SpecError: invalid YAML or YAML beyond a limit, naming ``origin``, line and column.
    """
    loader: LimitedLoader | None = None
    try:
        loader = LimitedLoader(text)  # its reader already refuses non-printable characters
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except YamlLimitExceeded as exc:
        raise SpecError(f"{_mark(origin, exc)}: YAML beyond a limit: {exc.problem}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        raise SpecError(f"{_mark(origin, exc)}: invalid YAML: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, node


def load_yaml_text(text: str, origin: str) -> Any:
    """The data of YAML text, read within the limits of :class:`LimitedLoader`.

    Raises:
        SpecError: invalid YAML or YAML beyond a limit, naming ``origin``, line and column.
    """
    return compose_yaml(text, origin)[0]


def _mark(origin: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin


def describe_value(value: Any) -> str:
    """A short ``repr`` for messages: huge integers and long texts are described, not shown."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        digits = int((value.bit_length() - 1) * math.log10(2)) + 1
        return f"an integer of about {digits} digits"
    if isinstance(value, str) and len(value) > 80:
        return f"{value[:40]!r}... ({len(value)} characters)"
    return repr(value)


def check_plain_data(
    data: Any,
    origin: str = "spec",
    lines: Mapping[KeyPath, int] | None = None,
    overridden: Mapping[KeyPath, str] | None = None,
) -> None:
    """Check spec data given as plain values (a YAML result or a JSON body) without recursion:
    at most :data:`MAX_DEPTH` levels and :data:`MAX_NODES` values, and integers that fit in
    64 bits.

    Args:
        data: the data.
        origin: the file or text it came from, named in messages.
        lines: key path -> line in ``origin``, when known.
        overridden: key path -> the override that set it, named instead of ``origin``.

    Raises:
        SpecError: naming ``origin`` (with the line when known), the key path and the limit.
    """
    lines = lines or {}
    overridden = overridden or {}
    stack: list[tuple[KeyPath, Any]] = [((), data)]
    seen = 0
    while stack:
        path, value = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise SpecError(f"{origin}: more than {MAX_NODES:,} values; that is the limit")
        if isinstance(value, Mapping | list | tuple):
            if len(path) >= MAX_DEPTH:
                raise SpecError(
                    f"{_where_line(origin, lines, overridden, path)}: {format_path(path[:3])}...: "
                    f"nested more than {MAX_DEPTH} levels deep; that is the limit"
                )
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            stack.extend(((*path, key), item) for key, item in items)
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64_MIN <= value <= INT64_MAX
        ):
            raise SpecError(
                f"{_where_line(origin, lines, overridden, path)}: {format_path(path)}: "
                f"{describe_value(value)} is out of range; integers in a spec fit in 64 "
                f"bits (at most {INT64_MAX})"
            )


def _where_line(
    origin: str, lines: Mapping[KeyPath, int], overridden: Mapping[KeyPath, str], path: KeyPath
) -> str:
    for length in range(len(path), -1, -1):
        if path[:length] in overridden:
            return overridden[path[:length]]
        if path[:length] in lines and origin != "spec":
            return f"{origin}:{lines[path[:length]]}"
    return origin


def copy_spec_mapping(source: Mapping[str, Any], origin: str = "spec") -> dict[str, Any]:
    """A deep copy of spec data given as a mapping, after :func:`check_plain_data`.

    Raises:
        SpecError: the data is nested too deep, too large, or holds an out-of-range integer.
    """
    check_plain_data(source, origin)
    return copy.deepcopy(dict(source))


def format_path(path: Iterable[str | int]) -> str:
    """``("model", "layers", 3, "units")`` -> ``model.layers[3].units``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def read_yaml(path: str | Path) -> tuple[Any, dict[KeyPath, int]]:
    """Parse a YAML file into data and a map from key path to 1-based line number.

    Raises:
        SpecError: the file is missing or is not valid YAML (with line and column).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec ({exc})") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, origin: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text (named ``origin`` in errors) into data and key-path line numbers.

    Raises:
        SpecError: invalid YAML, or YAML beyond the limits of :class:`LimitedLoader`, with line
            and column.
    """
    data, node = compose_yaml(text, origin)
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return data, lines


def _record_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines)


def parse_override(text: str) -> tuple[KeyPath, Any]:
    """``"train.optimizer.lr=0.1"`` -> ``(("train", "optimizer", "lr"), 0.1)``.

    The value is read as YAML, so numbers, booleans, lists and mappings work.

    Raises:
        SpecError: no ``=``, an empty key part, or a value beyond the YAML limits.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SpecError(f"--set {text}: expected KEY.PATH=VALUE, e.g. train.epochs=3")
    loader: LimitedLoader | None = None
    try:
        loader = LimitedLoader(raw)
        value = loader.get_single_data() if raw.strip() else ""
    except YamlLimitExceeded as exc:
        shown = text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"
        raise SpecError(f"--set {shown}: {exc.problem}") from None
    except yaml.YAMLError:
        value = raw
    finally:
        if loader is not None:
            loader.dispose()
    path: list[str | int] = []
    for part in key.split("."):
        if not part:
            raise SpecError(f"--set {text}: empty part in key path '{key}'")
        path.append(int(part) if part.isdigit() else part)
    return tuple(path), value


def apply_override(data: dict[str, Any], path: KeyPath, value: Any, origin: str) -> None:
    """Set ``value`` at ``path`` in ``data``, creating mappings on the way.

    Shorthands are expanded where the path goes through them: ``optimizer: adam`` becomes
    ``{type: adam}``, a layer ``- maxpool: 2`` becomes ``- maxpool: {size: 2}``.
    """
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        following = path[depth + 1]
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise SpecError(
                    f"{origin}: {format_path(path[: depth + 1])}: no such list item "
                    f"(the list has {len(node)})"
                )
        elif isinstance(node, dict):
            if node.get(part) is None:
                node[part] = [] if isinstance(following, int) else {}
        else:
            raise SpecError(f"{origin}: {format_path(path[:depth])} is a value, not a mapping")
        child = node[part]
        if isinstance(child, str) and following == child and isinstance(node, list):
            child = {child: {}}  # a layer written as its bare name
        elif isinstance(child, str) and part == "split" and child.strip().lower() == "none":
            child = {"val": 0, "test": 0}  # data.split: none, then one share set back
        elif isinstance(child, str) and not isinstance(following, int):
            child = {"type": child}  # a name written as shorthand
        elif isinstance(child, dict) and len(child) == 1 and isinstance(node, list):
            ((kind, params),) = child.items()
            if following == kind and not isinstance(params, dict):
                shorthand = getattr(LAYER_SPECS.get(kind), "shorthand", None)
                child = {kind: {} if params is None or shorthand is None else {shorthand: params}}
        node[part] = child
        node = child
    last = path[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not -len(node) <= last < len(node):
            raise SpecError(f"{origin}: {format_path(path)}: no such list item")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise SpecError(f"{origin}: {format_path(path[:-1])} is a value, not a mapping")


def load_spec(
    source: str | Path | Mapping[str, Any] | RunSpec,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> RunSpec:
    """Load and validate a run spec.

    Args:
        source: a YAML file path, a mapping, or an existing :class:`RunSpec`.
        overrides: ``{"train.epochs": 3}`` or ``["train.epochs=3"]`` (CLI ``--set`` form),
            applied in order before validation. Default none.

    Returns:
        The validated spec with every default filled in.

    Raises:
        SpecError: naming the file, line and key path of each problem, or the override.
    """
    lines: dict[KeyPath, int] = {}
    origin = "spec"
    if isinstance(source, RunSpec):
        data: Any = source.model_dump(mode="json")
    elif isinstance(source, Mapping):
        data = copy_spec_mapping(source)
    else:
        origin = str(source)
        data, lines = read_yaml(source)
    return _validate(data, lines, origin, overrides)


def load_spec_text(
    text: str,
    origin: str = "spec",
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> RunSpec:
    """Load and validate a run spec from YAML text, e.g. a spec sent to the REST API.

    Args:
        text: the YAML.
        origin: the name errors give the text (e.g. its file name), with line numbers.
        overrides: as for :func:`load_spec`.

    Raises:
        SpecError: naming ``origin``, the line and the key path of each problem.
    """
    data, lines = parse_yaml(text, origin)
    return _validate(data, lines, origin, overrides)


def _validate(
    data: Any,
    lines: dict[KeyPath, int],
    origin: str,
    overrides: Mapping[str, Any] | Iterable[str] | None,
) -> RunSpec:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: a spec is a mapping of keys (name, data, model, train)")

    overridden = apply_overrides(data, overrides)
    return validate_spec_data(data, origin=origin, lines=lines, overridden=overridden)


def apply_overrides(
    data: dict[str, Any], overrides: Mapping[str, Any] | Iterable[str] | None
) -> dict[KeyPath, str]:
    """Apply ``--set`` texts or a ``{key.path: value}`` mapping to ``data`` in order;
    returns each overridden key path with the label errors name it by."""
    overridden: dict[KeyPath, str] = {}
    items: Iterable[tuple[str, Any]]
    if overrides is None:
        items = ()
    elif isinstance(overrides, Mapping):
        items = [
            (f"{key}={describe_value(value)}", (key, value)) for key, value in overrides.items()
        ]
    else:
        items = [(text, None) for text in overrides]
    for text, pair in items:
        if pair is None:
            path, value = parse_override(text)
            label = f"--set {text}"
        else:
            key, value = pair
            path = tuple(int(p) if p.isdigit() else p for p in str(key).split("."))
            label = f"override {key}={describe_value(value)}"
        apply_override(data, path, value, label)
        overridden[path] = label
    return overridden


def validate_spec_data(
    data: dict[str, Any],
    *,
    origin: str = "spec",
    lines: dict[KeyPath, int] | None = None,
    overridden: dict[KeyPath, str] | None = None,
) -> RunSpec:
    """Validate a spec mapping that is already read (and overridden).

    Args:
        data: the spec as plain data.
        origin: the file it came from, or ``"spec"``.
        lines: key path -> line in ``origin`` (from :func:`read_yaml`).
        overridden: key path -> label naming where its value came from (an override, a
            search-space marker); problems at or below such a path are reported there.

    Raises:
        SpecError: one line per problem, naming the file and line (or label) and key path.
    """
    lines = lines or {}
    overridden = overridden or {}
    check_plain_data(data, origin, lines, overridden)
    try:
        return RunSpec.model_validate(data)
    except ValidationError as exc:
        grouped = _collect(exc.errors(), data)
        raise SpecError(
            "\n".join(
                _describe(path, "; or ".join(messages), origin, lines, overridden)
                for path, messages in grouped.items()
            ),
            **_first_problem(grouped, lines),
        ) from None


def _describe(
    path: KeyPath,
    message: str,
    origin: str,
    lines: dict[KeyPath, int],
    overridden: dict[KeyPath, str],
) -> str:
    where = origin
    below = [label for key, label in overridden.items() if key[: len(path)] == path]
    if below:
        return f"{below[-1]}: {format_path(path)}: {message}"
    for length in range(len(path), -1, -1):
        prefix = path[:length]
        if prefix in overridden:
            where = overridden[prefix]
            break
        if prefix in lines and origin != "spec":
            where = f"{origin}:{lines[prefix]}"
            break
    return f"{where}: {format_path(path)}: {message}"


def _first_problem(
    grouped: dict[KeyPath, list[str]], lines: dict[KeyPath, int], prefix: str = ""
) -> dict:
    """The ``field`` and ``params`` of a SpecError for its first problem: the key path
    (below ``prefix``, e.g. a request's ``config``), its line (when known), the problem and
    how many there are."""
    path, messages = next(iter(grouped.items()), ((), []))
    line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None)
    key = format_path((prefix, *path) if prefix else path)
    params = {"key": key, "problem": "; or ".join(messages), "problems": len(grouped)}
    if line is not None:
        params["line"] = line
    return {"field": key, "params": params}


def _collect(errors: list[Any], data: Any) -> dict[KeyPath, list[str]]:
    """Group pydantic errors by the key path the user wrote; one message per alternative."""
    grouped: dict[KeyPath, list[str]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "unknown_key":
            loc = (*loc, (error.get("ctx") or {})["key"])
        messages = grouped.setdefault(_data_path(loc, data, error["type"] == "missing"), [])
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return grouped


def _data_path(loc: tuple[Any, ...], data: Any, missing: bool = False) -> KeyPath:
    """Drop union tags and union member labels from a pydantic location.

    Walks the raw data alongside the location: a part that is not a key or index of the data
    (unless it is the final key of a "missing" error) is a label pydantic added.
    """
    path: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, dict):
            if part in node:
                node = node[part]
            elif last and missing:
                node = None
            else:
                continue
        elif isinstance(node, list):
            if isinstance(part, int) and -len(node) <= part < len(node):
                node = node[part]
            elif last:
                node = None
            else:
                continue
        else:
            break  # below a scalar only member labels of a union remain
        path.append(part)
    return tuple(path)


def _message(error: Any) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "missing":
        return "is required"
    if kind == "unknown_key":
        return message
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if message.startswith("Input should be"):
        message = "must be" + message[len("Input should be") :]
    elif message.startswith("String should"):
        message = "must" + message[len("String should") :]
    elif message.startswith("List should"):
        message = "must" + message[len("List should") :]
    given = error.get("input")
    if isinstance(given, str | int | float | bool) and kind not in {
        "unknown_layer",
        "unknown_activation",
        "unknown_template",
        "unknown_optimizer",
        "unknown_schedule",
    }:
        message += f" (got {describe_value(given)})"
    return message


def validate_settings(model: type[_Settings], data: Mapping[str, Any], origin: str) -> _Settings:
    """Validate a flat settings section (serving, export) given as a mapping.

    Args:
        model: the spec class.
        data: the values given; absent keys take their defaults.
        origin: what the values came from, used in messages (e.g. ``serve options``).

    Raises:
        SpecError: one line per problem, naming ``origin`` and the key.
    """
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        grouped = _collect(exc.errors(), dict(data))
        raise SpecError(
            "\n".join(
                f"{origin}: {format_path(path)}: {'; or '.join(messages)}"
                for path, messages in grouped.items()
            ),
            **_first_problem(grouped, {}, prefix=origin if origin.isidentifier() else ""),
        ) from None

"""The Open Inference Protocol's tensors on the wire: JSON ``data`` and binary tensor data.

A request's body is a JSON object, optionally followed by the raw bytes of its tensors (the
binary tensor data extension, which ``tritonclient``'s HTTP client uses by default): the
``Inference-Header-Content-Length`` header then gives the JSON's length, and each input sent
in binary carries ``parameters.binary_data_size``, its bytes following in input order. Fixed-
size types are little-endian, row-major; a ``BYTES`` element is a 4-byte little-endian length
and its bytes. Responses are built the same way: outputs asked for in binary
(``parameters.binary_data``, or the request's ``binary_data_output``) follow the JSON.

Everything here is the protocol's and knows nothing of models; every malformed request raises
:class:`InferenceRequestError`, naming the key or tensor at fault.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from athanor.errors import PredictionInputError

HEADER_LENGTH = "inference-header-content-length"
DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
BYTES = "BYTES"
KNOWN_TYPES = ", ".join([*DATATYPES, BYTES])


class InferenceRequestError(PredictionInputError):
    """An inference request that does not follow the protocol, or does not fit the model."""

    http_status = 400  # the protocol answers a refused inference request with 400


@dataclass
class Tensor:
    """One input tensor: ``array`` has ``shape``; BYTES tensors hold ``bytes`` objects."""

    name: str
    datatype: str
    shape: list[int]
    array: np.ndarray


@dataclass
class RequestedOutput:
    """An output the client asked for (``outputs``), or every output when it named none."""

    name: str
    binary: bool
    classification: int = 0
    """Triton's classification extension: the top classes as ``score:index:label``."""


@dataclass
class InferenceRequest:
    """A decoded request: its id, tensors, and the outputs it wants (None: all)."""

    id: str | None
    inputs: list[Tensor]
    outputs: list[RequestedOutput] | None
    binary_outputs: bool
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return self.inputs[0].shape[0] if self.inputs[0].shape else 1


def decode_request(body: bytes, header_length: str | None) -> InferenceRequest:
    """Read a request body (JSON, or JSON and binary tensor data).

    Args:
        body: the whole body.
        header_length: the ``Inference-Header-Content-Length`` header, if sent.

    Raises:
        InferenceRequestError: a malformed body, naming what is wrong.
    """
    if header_length is None:
        header, binary = body, memoryview(b"")
    else:
        length = header_length.strip()
        if not length.isdigit() or int(length) > len(body):
            raise InferenceRequestError(
                f"Inference-Header-Content-Length '{header_length}' is not a length within the "
                f"body's {len(body):,} bytes"
            )
        header, binary = body[: int(length)], memoryview(body)[int(length) :]
    if not header.strip():
        raise InferenceRequestError('the body is empty; send {"inputs": [...]}')
    try:
        payload = json.loads(header, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InferenceRequestError(f"the request's JSON is not valid: {exc}") from None
    if not isinstance(payload, dict):
        raise InferenceRequestError('the request must be a JSON object {"inputs": [...]}')
    parameters = _object(payload.get("parameters"), "parameters")
    items = payload.get("inputs")
    if not isinstance(items, list) or not items:
        raise InferenceRequestError('"inputs" must be a non-empty list of tensors')
    offset = 0
    inputs = []
    for index, item in enumerate(items):
        tensor, used = _input_tensor(item, index, binary[offset:])
        inputs.append(tensor)
        offset += used
    if offset != len(binary):
        raise InferenceRequestError(
            f"the body holds {len(binary) - offset:,} bytes of binary data beyond its inputs' "
            "binary_data_size"
        )
    batch = {t.shape[0] if t.shape else None for t in inputs}
    if len(batch) != 1 or None in batch:
        raise InferenceRequestError(
            "every input must have a batch dimension first, the same in all: "
            + ", ".join(f"{t.name} {t.shape}" for t in inputs)
        )
    binary_outputs = parameters.get("binary_data_output", False)
    if not isinstance(binary_outputs, bool):
        raise InferenceRequestError("parameters.binary_data_output must be true or false")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InferenceRequestError('"id" must be a string')
    return InferenceRequest(
        id=request_id,
        inputs=inputs,
        outputs=_requested_outputs(payload.get("outputs"), binary_outputs),
        binary_outputs=binary_outputs,
        parameters=parameters,
    )


def _reject_constant(name: str) -> Any:
    raise InferenceRequestError(f"the request holds {name}; JSON data must be finite numbers")


def _object(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InferenceRequestError(f'"{key}" must be an object')
    return value


def _input_tensor(item: Any, index: int, binary: memoryview) -> tuple[Tensor, int]:
    """One input and the number of binary bytes it took."""
    if not isinstance(item, dict):
        raise InferenceRequestError(f"inputs[{index}] must be an object (name, shape, datatype)")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise InferenceRequestError(f"inputs[{index}] has no name")
    where = f"input '{name}'"
    shape = item.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise InferenceRequestError(f"{where}: shape must be a list of sizes, e.g. [1, 4]")
    datatype = item.get("datatype")
    if datatype != BYTES and datatype not in DATATYPES:
        raise InferenceRequestError(f"{where}: datatype '{datatype}' is not one of {KNOWN_TYPES}")
    count = math.prod(shape)
    size = _object(item.get("parameters"), f"inputs[{index}].parameters").get("binary_data_size")
    if size is not None:
        if "data" in item:
            raise InferenceRequestError(f"{where}: both data and binary_data_size; send one")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= len(binary):
            raise InferenceRequestError(
                f"{where}: binary_data_size {size!r} exceeds the {len(binary):,} binary bytes left"
            )
        chunk = binary[:size]
        array = _bytes_elements(chunk, where) if datatype == BYTES else _fixed(chunk, datatype)
        used = size
    else:
        if "data" not in item:
            raise InferenceRequestError(f"{where}: no data (nor parameters.binary_data_size)")
        array = _json_data(item["data"], datatype, where)
        used = 0
    if array.size != count:
        raise InferenceRequestError(
            f"{where}: {array.size:,} elements of {datatype}, its shape {shape} holds {count:,}"
        )
    return Tensor(name, datatype, shape, array.reshape(shape)), used


def _fixed(chunk: memoryview, datatype: str) -> np.ndarray:
    dtype = DATATYPES[datatype]
    if len(chunk) % dtype.itemsize:
        raise InferenceRequestError(
            f"{len(chunk):,} bytes of {datatype} is not a whole number of "
            f"{dtype.itemsize}-byte elements"
        )
    return np.frombuffer(chunk, dtype=dtype)


def _bytes_elements(chunk: memoryview, where: str) -> np.ndarray:
    """BYTES binary data: each element a 4-byte little-endian length, then its bytes."""
    elements = []
    position = 0
    while position < len(chunk):
        if position + 4 > len(chunk):
            raise InferenceRequestError(f"{where}: BYTES data ends inside an element's length")
        length = int.from_bytes(chunk[position : position + 4], "little")
        position += 4
        if position + length > len(chunk):
            raise InferenceRequestError(f"{where}: BYTES element longer than the data left")
        elements.append(bytes(chunk[position : position + length]))
        position += length
    array = np.empty(len(elements), dtype=object)
    array[:] = elements
    return array


def _json_data(data: Any, datatype: str, where: str) -> np.ndarray:
    """JSON ``data``: a flat or nested row-major list (strings for BYTES)."""
    if not isinstance(data, list):
        data = [data]
    if datatype == BYTES:
        flat = _flatten(data)
        if not all(isinstance(v, str) for v in flat):
            raise InferenceRequestError(f"{where}: BYTES data must be strings")
        array = np.empty(len(flat), dtype=object)
        array[:] = [v.encode() for v in flat]
        return array
    try:
        array = np.asarray(data)
    except ValueError:
        array = np.asarray(_flatten(data))  # ragged nesting: the shape decides, as flat
    valid_kinds = "b" if datatype == "BOOL" else "iuf"
    if array.size and array.dtype.kind not in valid_kinds:
        valid = "true/false" if datatype == "BOOL" else "numbers"
        raise InferenceRequestError(f"{where}: {datatype} data must be {valid}")
    target = DATATYPES[datatype]
    if target.kind in "iu" and array.size:
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            raise InferenceRequestError(f"{where}: values out of the range of {datatype}")
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype(target).ravel()
    if target.kind == "f" and not np.isfinite(converted).all():  # JSON numbers are finite
        raise InferenceRequestError(f"{where}: values out of the range of {datatype}")
    if (
        target.kind in "iu"
        and array.dtype.kind == "f"
        and not np.array_equal(converted, array.ravel())
    ):
        raise InferenceRequestError(f"{where}: {datatype} data must be whole numbers")
    return converted


def _flatten(data: list[Any]) -> list[Any]:
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            flat.append(value)
        else:
            stack.pop()
    return flat


def _requested_outputs(value: Any, binary_default: bool) -> list[RequestedOutput] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InferenceRequestError('"outputs" must be a list of {"name": ...}')
    outputs = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InferenceRequestError(f"outputs[{index}] must be an object with a name")
        parameters = _object(item.get("parameters"), f"outputs[{index}].parameters")
        binary = parameters.get("binary_data", binary_default)
        classification = parameters.get("classification", 0)
        if not isinstance(binary, bool):
            raise InferenceRequestError(f"outputs[{index}].parameters.binary_data: true or false")
        if not isinstance(classification, int) or classification < 0:
            raise InferenceRequestError(
                f"outputs[{index}].parameters.classification must be a count of classes"
            )
        outputs.append(RequestedOutput(item["name"], binary, classification))
    return outputs


@dataclass
class OutputTensor:
    """One output to send: ``array`` is FP32 numbers or ``bytes`` objects (BYTES)."""

    name: str
    datatype: str
    array: np.ndarray
    binary: bool


def encode_response(
    model_name: str, model_version: str, request_id: str | None, outputs: list[OutputTensor]
) -> tuple[bytes, int | None]:
    """The response body and, when some output is binary, the length of its JSON part (the
    ``Inference-Header-Content-Length`` to send)."""
    described = []
    chunks = []
    for output in outputs:
        entry: dict[str, Any] = {
            "name": output.name,
            "datatype": output.datatype,
            "shape": list(output.array.shape),
        }
        if output.binary:
            data = _binary(output)
            entry["parameters"] = {"binary_data_size": len(data)}
            chunks.append(data)
        elif output.datatype == BYTES:
            entry["data"] = [value.decode() for value in output.array.ravel()]
        else:
            entry["data"] = output.array.ravel().tolist()
        described.append(entry)
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request_id is not None:
        response["id"] = request_id
    response["outputs"] = described
    header = json.dumps(response).encode()
    if not chunks:
        return header, None
    return b"".join([header, *chunks]), len(header)


def _binary(output: OutputTensor) -> bytes:
    if output.datatype != BYTES:
        return output.array.astype(DATATYPES[output.datatype], copy=False).tobytes()
    parts = []
    for value in output.array.ravel():
        parts.append(len(value).to_bytes(4, "little"))
        parts.append(value)
    return b"".join(parts)


def error_body(message: str) -> bytes:
    """The protocol's error body: ``{"error": message}``."""
    return json.dumps({"error": message}).encode()

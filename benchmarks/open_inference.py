"""What the Open Inference Protocol costs against the native route, on the same model server.

The MNIST CNN of ``examples/mnist-cnn.yaml`` (trained once, briefly, in a scratch
ATHANOR_HOME, as ``benchmarks/serving.py`` does) is served by one ``athanor serve``; one 28x28
test digit per request is sent, on loopback, as:

  (a) the native route: ``POST /v1/models/mnist-cnn/predict`` with JSON pixels;
  (b) the protocol as ``tritonclient``'s HTTP client sends it by default: a JSON header and
      the pixels as binary tensor data (FP32), every output asked for in binary;
  (c) the protocol with JSON tensors (``binary_data=False``), outputs in JSON.

For each concurrency (64 by default) a fixed number of requests is sent per form by the
keep-alive load generator of ``benchmarks/serving.py``, in rounds that interleave the forms;
it prints the median round's throughput and p50/p99 latency per form, and the throughput of
(b) and (c) relative to (a) (goal: the protocol costs < 10%). Every answer is checked (status
200, the expected digit).

    ATHANOR_DATA_MIRROR=... .venv/bin/python benchmarks/open_inference.py [--requests 2000]

The client shares the machine's cores with the server; figures from a loaded machine vary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling script, from anywhere

from serving import (
    MODEL,
    Measurement,
    Server,
    _exchange,
    median_of,
    prepare_model,
    run_async,
    start,
    stop,
)


@dataclass
class Form:
    """One way of asking for the same prediction."""

    name: str
    path: str
    headers: dict[str, str]
    body: bytes
    answers: Callable[[bytes, dict[str, str]], int]


def native_form(digit: np.ndarray) -> Form:
    def label(answer: bytes, _headers: dict[str, str]) -> int:
        return int(json.loads(answer)["predictions"][0]["label"])

    body = json.dumps({"inputs": digit.tolist()}).encode()
    headers = {"Content-Type": "application/json"}
    return Form("native /v1 JSON", f"/v1/models/{MODEL}/predict", headers, body, label)


def binary_form(digit: np.ndarray) -> Form:
    """What ``tritonclient.http`` sends for ``InferInput(...).set_data_from_numpy(x)``."""
    pixels = digit.astype("<f4")[None]
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "shape": list(pixels.shape),
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": pixels.nbytes},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }

    def label(answer: bytes, response_headers: dict[str, str]) -> int:
        length = int(response_headers["inference-header-content-length"])
        described = json.loads(answer[:length])["outputs"]
        offset = length
        for output in described:
            size = output["parameters"]["binary_data_size"]
            if output["name"] == "label":
                (text_length,) = struct.unpack("<I", answer[offset : offset + 4])
                return int(answer[offset + 4 : offset + 4 + text_length])
            offset += size
        raise ValueError("no label output")

    path = f"/v2/models/{MODEL}/infer"
    return Form("OIP binary (tritonclient)", path, headers, header + pixels.tobytes(), label)


def json_form(digit: np.ndarray) -> Form:
    body = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "shape": [1, *digit.shape],
                    "datatype": "FP32",
                    "data": digit.ravel().tolist(),
                }
            ]
        }
    ).encode()

    def label(answer: bytes, _headers: dict[str, str]) -> int:
        outputs = {o["name"]: o for o in json.loads(answer)["outputs"]}
        return int(outputs["label"]["data"][0])

    headers = {"Content-Type": "application/json"}
    return Form("OIP JSON", f"/v2/models/{MODEL}/infer", headers, body, label)


async def _load(port: int, form: Form, concurrency: int, total: int, label: int) -> Measurement:
    import asyncio

    head = f"POST {form.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in form.headers.items())
    request = (head + f"Content-Length: {len(form.body)}\r\n\r\n").encode() + form.body
    latencies: list[float] = []
    failures = 0
    remaining = total

    async def connection() -> None:
        nonlocal remaining, failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                status, answer, headers = await _exchange_with_headers(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                try:
                    right = status == 200 and form.answers(answer, headers) == label
                except (ValueError, KeyError):
                    right = False
                failures += not right
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    milliseconds = np.array(latencies) * 1000
    return Measurement(
        concurrency,
        total,
        seconds,
        float(np.percentile(milliseconds, 50)),
        float(np.percentile(milliseconds, 99)),
        failures,
    )


async def _exchange_with_headers(reader, writer, request):  # type: ignore[no-untyped-def]
    """``serving._exchange``, keeping the response's headers (the binary header length)."""
    captured: dict[str, str] = {}

    class Peek:
        async def readuntil(self, separator: bytes) -> bytes:
            head = await reader.readuntil(separator)
            for line in head.decode("latin-1").split("\r\n")[1:]:
                key, _, value = line.partition(":")
                captured[key.strip().lower()] = value.strip()
            return head

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(reader, name)

    status, body = await _exchange(Peek(), writer, request)  # type: ignore[arg-type]
    return status, body, captured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per form, level and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--concurrency", default="64", help="comma-separated levels")
    parser.add_argument("--home", type=Path, help="ATHANOR_HOME to use (default: a scratch one)")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs (first run)")
    parser.add_argument("--subset", type=int, default=20000, help="training images (first run)")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    args = parser.parse_args()

    from athanor.data.prepare import load_raw

    levels = [int(level) for level in args.concurrency.split(",")]
    home = (args.home or Path(tempfile.gettempdir()) / "athanor-serving-benchmark").resolve()
    home.mkdir(parents=True, exist_ok=True)
    prepare_model(home, args.epochs, args.subset)
    raw = load_raw("mnist")
    digit, label = raw.x_test[0], int(raw.y_test[0])  # uint8 [1, 28, 28]
    forms = [native_form(digit), binary_form(digit), json_form(digit)]
    env = {**os.environ, "ATHANOR_HOME": str(home)}
    serve = [sys.executable, "-m", "athanor.cli", "serve", MODEL, "--port", "{port}"]
    serve += ["--max-batch-size", str(args.max_batch_size), "--max-wait-ms", str(args.max_wait_ms)]
    print(
        f"{platform.machine()} with {os.cpu_count()} CPU thread(s); client and server share "
        f"the machine; {args.requests:,} requests per form, level and round, median of "
        f"{args.rounds} interleaved rounds; one MNIST digit per request "
        f"({', '.join(f'{f.name}: {len(f.body):,} bytes' for f in forms)})"
    )
    running = start(Server("athanor serve", serve, "", "/v2/health/ready", env))
    rounds: dict[tuple[str, int], list[Measurement]] = {}
    try:
        for form in forms:  # warm-up, and a check that every form is answered right
            warm = run_async(_load(running.port, form, 16, 200, label))
            if warm.failures:
                raise SystemExit(f"{form.name}: {warm.failures} of 200 answers were wrong")
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds}...", flush=True)
            for level in levels:
                for form in forms:
                    measured = run_async(_load(running.port, form, level, args.requests, label))
                    rounds.setdefault((form.name, level), []).append(measured)
    finally:
        stop(running)
    print()
    print(f"{'form':<28}{'conc.':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}")
    for level in levels:
        results = {form.name: median_of(rounds[(form.name, level)]) for form in forms}
        for name, m in results.items():
            print(
                f"{name:<28}{m.concurrency:>6}{m.throughput:>10.0f}{m.p50_ms:>10.2f}"
                f"{m.p99_ms:>10.2f}{m.failures:>8}"
            )
        base = results[forms[0].name].throughput
        for form in forms[1:]:
            ratio = results[form.name].throughput / base
            print(
                f"  at concurrency {level}: {form.name} gives {ratio:.2f}x the native route's "
                f"throughput (the protocol costs {1 - ratio:+.1%}; goal < 10%)"
            )


if __name__ == "__main__":
    main()

"""Online serving throughput and latency of ``athanor serve`` against a hand-written endpoint.

The MNIST CNN of ``examples/mnist-cnn.yaml`` (trained once, briefly, in a scratch
ATHANOR_HOME) answers one 28x28 test digit per request, on loopback, in each body format:

  ``json``       ``{"inputs": [[[pixels]]]}`` (application/json),
  ``png``        the digit as a PNG file, the raw body (image/png),
  ``multipart``  the same PNG as a file of a multipart/form-data body,

sent to

  (a) ``athanor serve mnist-cnn`` (dynamic batching) with each runtime (``onnx``, the
      default, and ``torch``),
  (b) a minimal hand-written FastAPI endpoint that loads the model's TorchScript export and
      calls it once per request, decoding a PNG with Pillow per request (the baseline; one
      route per body format),
  (c) BentoML serving the same TorchScript export with adaptive batching, when it imports
      (JSON bodies only).

For each format and concurrency (64 connections by default) a fixed number of requests is
sent by a keep-alive HTTP/1.1 load generator in this process, in rounds that interleave the
servers (all running throughout); it prints the median round's throughput and p50/p99
latency per server and format, with the server's CPU time per request (which a busy
machine changes less), and a table of each format and runtime at the highest concurrency
with its ratio to the baseline of the same format (goal: >= 3x the throughput, p99 <= 50
ms). Every answer is checked (status 200, the expected digit). ``--one-thread-baseline``
also measures the hand-written endpoint with PyTorch limited to one thread, which is
kinder to it on a machine with few cores; ``--before SRC`` also measures ``athanor serve``
run from other sources (an earlier checkout), in the same rounds.

    ATHANOR_DATA_MIRROR=... .venv/bin/python benchmarks/serving.py \
        [--formats json,png,multipart] [--runtimes onnx,torch] [--concurrency 64] \
        [--requests 2000] [--rounds 3]

The client shares the machine's cores with the servers; figures from a loaded machine vary.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np

# At module level: FastAPI reads the baseline's parameter annotations from here.
from fastapi import Body, File, UploadFile

MODEL = "mnist-cnn"
BASELINE = "hand-written FastAPI"

BENTO_SERVICE = """
import json
import os

import bentoml
import numpy as np
import torch

MODEL_PATH = os.environ["BENCH_TORCHSCRIPT"]


@bentoml.service(workers=1, traffic={"timeout": 60})
class MnistCNN:
    def __init__(self) -> None:
        extra = {"athanor.json": ""}
        self.model = torch.jit.load(MODEL_PATH, _extra_files=extra).eval()
        steps = json.loads(extra["athanor.json"])["preprocessing"]
        self.scale = steps[0]["scale"]
        self.mean, self.std = steps[1]["mean"][0], steps[1]["std"][0]

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, inputs: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(inputs, dtype=torch.float32).reshape(-1, 1, 28, 28)
        x = (x * self.scale - self.mean) / self.std
        with torch.no_grad():
            return torch.softmax(self.model(x), dim=1).numpy()
"""


def baseline_app(model_path: str, threads: int):  # type: ignore[no-untyped-def]
    """The hand-written endpoint: one TorchScript call per request, as most tutorials write it
    (``/predict`` for JSON, ``/predict/png`` for a PNG body and ``/predict/multipart`` for a
    PNG file, decoded with Pillow per request).

    ``threads`` sets PyTorch's intra-op threads (0 leaves PyTorch's default).
    """
    import io

    import torch
    from fastapi import FastAPI
    from PIL import Image

    if threads:
        torch.set_num_threads(threads)

    extra = {"athanor.json": ""}
    model = torch.jit.load(model_path, _extra_files=extra).eval()
    steps = json.loads(extra["athanor.json"])["preprocessing"]
    scale, mean, std = steps[0]["scale"], steps[1]["mean"][0], steps[1]["std"][0]
    app = FastAPI()

    def answer(x: torch.Tensor) -> dict:
        x = (x.reshape(-1, 1, 28, 28) * scale - mean) / std
        with torch.no_grad():
            probabilities = torch.softmax(model(x), dim=1)
        return {
            "predictions": [
                {
                    "label": str(int(p.argmax())),
                    "probability": float(p.max()),
                    "probabilities": {str(i): float(v) for i, v in enumerate(p)},
                }
                for p in probabilities
            ]
        }

    def pixels(data: bytes) -> torch.Tensor:
        image = Image.open(io.BytesIO(data)).convert("L")
        return torch.tensor(np.array(image), dtype=torch.float32)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    def predict(body: dict) -> dict:
        return answer(torch.tensor(body["inputs"], dtype=torch.float32))

    @app.post("/predict/png")
    def predict_png(body: Annotated[bytes, Body(media_type="image/png")]) -> dict:
        return answer(pixels(body))

    @app.post("/predict/multipart")
    def predict_multipart(files: Annotated[UploadFile, File()]) -> dict:
        return answer(pixels(files.file.read()))

    return app


@dataclass
class Server:
    """A server process under test and the path it answers each body format at."""

    name: str
    command: list[str]
    paths: dict[str, str]
    health: str
    env: dict[str, str]
    cwd: str | None = None
    runtime: str | None = None  # athanor's runtime; None for the baselines


@dataclass
class RequestBody:
    """A request body of one format: its content type and bytes."""

    content_type: str
    data: bytes


@dataclass
class Measurement:
    concurrency: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int
    cpu_us: float = 0.0  # the server's CPU time per request (all its threads and processes)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, await reader.readexactly(int(headers.get("content-length", "0")))


def answers_label(answer: bytes, label: int) -> bool:
    """Whether a response names ``label``: Athanor's and the baseline's predictions, or
    BentoML's array of probabilities."""
    try:
        data = json.loads(answer)
    except ValueError:
        return False
    if isinstance(data, dict):
        return data["predictions"][0]["label"] == str(label)
    return int(np.argmax(data[0])) == label


async def _load(
    port: int, path: str, body: RequestBody, concurrency: int, total: int, label: int | Callable
) -> Measurement:
    """``total`` requests of ``body`` over ``concurrency`` connections; an answer counts as
    right when it names ``label`` (or when ``label``, a check of the answer's bytes, says so)."""
    check = label if callable(label) else (lambda answer: answers_label(answer, label))
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {body.content_type}\r\n"
        f"Content-Length: {len(body.data)}\r\n\r\n"
    ).encode() + body.data
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
                status, answer = await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                if status != 200 or not check(answer):
                    failures += 1
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


def wait_ready(process: subprocess.Popen, port: int, health: str, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError("the server did not become ready")


def run_async(coroutine):  # type: ignore[no-untyped-def]
    """Run with uvloop when installed: a cheaper client leaves more CPU to the servers."""
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


@dataclass
class Running:
    """A started server process and its port."""

    server: Server
    process: subprocess.Popen
    port: int


def start(server: Server) -> Running:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in server.command]
    process = subprocess.Popen(
        command,
        env=server.env,
        cwd=server.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_ready(process, port, server.health)
    except RuntimeError:
        stop(Running(server, process, port))
        sys.stderr.write((process.stderr.read() or b"").decode()[-3000:])
        raise
    return Running(server, process, port)


def stop(running: Running) -> None:
    process = running.process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def cpu_seconds(pid: int) -> float:
    """The CPU time a process and its children have used (user and system)."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def median_of(rounds: list[Measurement]) -> Measurement:
    """The round with the median throughput (its latencies come with it), with the median
    CPU time per request of all rounds."""
    ranked = sorted(rounds, key=lambda m: m.throughput)
    chosen = ranked[len(ranked) // 2]
    chosen.failures = sum(m.failures for m in rounds)
    chosen.cpu_us = float(np.median([m.cpu_us for m in rounds]))
    return chosen


def prepare_model(home: Path, epochs: int, subset: int) -> tuple[Path, np.ndarray, int]:
    """Train and register the CNN (once per home); export TorchScript; pick a test digit
    (``uint8 [1, 28, 28]``) and its label."""
    import athanor as at
    from athanor.data.prepare import load_raw
    from athanor.errors import NotFound
    from athanor.settings import current_settings

    os.environ["ATHANOR_HOME"] = str(home)
    settings = current_settings()
    try:
        at.models.show(MODEL, settings=settings)
    except NotFound:
        print(f"training {MODEL} once ({epochs} epoch(s) on {subset:,} images) in {home}")
        at.train(
            MODEL,
            {"train.epochs": epochs, "data.subset.train": subset},
            register_as=MODEL,
            progress=False,
            settings=settings,
        )
    torchscript = home / "mnist-cnn.pt"
    at.models.export(MODEL, torchscript, "torchscript", overwrite=True, settings=settings)
    raw = load_raw("mnist", settings)
    return torchscript, raw.x_test[0], int(raw.y_test[0])


FORMATS = ("json", "png", "multipart")
RUNTIMES = ("onnx", "torch")
RUNTIME_NAMES = {"onnx": "onnxruntime", "torch": "torch"}  # as athanor serve names them
BOUNDARY = "athanor-benchmark-boundary"


def request_bodies(digit: np.ndarray) -> dict[str, RequestBody]:
    """The digit in each body format: JSON pixels, a PNG body, a PNG file in a form."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(digit[0]).save(buffer, "PNG")
    png = buffer.getvalue()
    multipart = (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="files"; filename="digit.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return {
        "json": RequestBody("application/json", json.dumps({"inputs": digit.tolist()}).encode()),
        "png": RequestBody("image/png", png),
        "multipart": RequestBody(f"multipart/form-data; boundary={BOUNDARY}", multipart),
    }


def choices(value: str, valid: tuple[str, ...], flag: str) -> list[str]:
    chosen = [item.strip() for item in value.split(",") if item.strip()]
    wrong = [item for item in chosen if item not in valid]
    if wrong or not chosen:
        raise SystemExit(
            f"{flag}: {', '.join(wrong) or 'nothing'} is not one of {', '.join(valid)}"
        )
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="per server, format, level, round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--concurrency", default="64", help="comma-separated levels")
    parser.add_argument("--formats", default=",".join(FORMATS), help="of " + ", ".join(FORMATS))
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="of " + ", ".join(RUNTIMES))
    parser.add_argument(
        "--one-thread-baseline",
        action="store_true",
        help="also measure the hand-written endpoint with one PyTorch thread",
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="SRC",
        help="also measure athanor serve run from the sources in SRC (an earlier checkout's src)",
    )
    parser.add_argument("--home", type=Path, help="ATHANOR_HOME to use (default: a scratch one)")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs (first run)")
    parser.add_argument("--subset", type=int, default=20000, help="training images (first run)")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--skip-bentoml", action="store_true", help="do not try BentoML")
    parser.add_argument(
        "--serve-baseline", nargs=3, metavar=("MODEL", "PORT", "THREADS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()

    if args.serve_baseline:
        import uvicorn

        model_path, port, threads = args.serve_baseline
        uvicorn.run(
            baseline_app(model_path, int(threads)),
            host="127.0.0.1",
            port=int(port),
            log_level="warning",
            access_log=False,
        )
        return

    import torch

    levels = [int(level) for level in args.concurrency.split(",")]
    formats = choices(args.formats, FORMATS, "--formats")
    runtimes = choices(args.runtimes, RUNTIMES, "--runtimes")
    home = args.home or Path(tempfile.gettempdir()) / "athanor-serving-benchmark"
    home.mkdir(parents=True, exist_ok=True)
    torchscript, digit, label = prepare_model(home.resolve(), args.epochs, args.subset)
    bodies = request_bodies(digit)
    env = {**os.environ, "ATHANOR_HOME": str(home.resolve()), "BENCH_TORCHSCRIPT": str(torchscript)}
    athanor = [sys.executable, "-m", "athanor.cli"]
    batching = [
        "--max-batch-size",
        str(args.max_batch_size),
        "--max-wait-ms",
        str(args.max_wait_ms),
    ]
    serve = [*athanor, "serve", MODEL, "--port", "{port}", *batching]
    predict = f"/v1/models/{MODEL}/predict"
    ours = dict.fromkeys(FORMATS, predict)
    theirs = {"json": "/predict", "png": "/predict/png", "multipart": "/predict/multipart"}
    baseline = [sys.executable, __file__, "--serve-baseline", str(torchscript), "{port}"]
    servers = [
        Server(
            f"athanor serve --runtime {runtime}",
            [*serve, "--runtime", RUNTIME_NAMES[runtime]],
            ours,
            "/readyz",
            env,
            runtime=runtime,
        )
        for runtime in runtimes
    ]
    if args.before:
        # The same server from other sources (e.g. a checkout of an earlier commit), measured
        # in the same rounds, so that a change is compared on the same machine load.
        before_env = {**env, "PYTHONPATH": str(args.before.resolve())}
        servers += [
            Server(
                f"before: athanor serve --runtime {runtime}",
                [*serve, "--runtime", RUNTIME_NAMES[runtime]],
                ours,
                "/readyz",
                before_env,
                runtime=f"{runtime} (before)",
            )
            for runtime in runtimes
        ]
    servers.append(Server(BASELINE, [*baseline, "0"], theirs, "/healthz", env))
    if args.one_thread_baseline:
        servers.append(
            Server(f"{BASELINE}, 1 torch thread", [*baseline, "1"], theirs, "/healthz", env)
        )
    bento_note = "skipped (--skip-bentoml)"
    if not args.skip_bentoml:
        if importlib.util.find_spec("bentoml") is None:
            bento_note = "not installed (pip install bentoml to include it)"
        elif "json" not in formats:
            bento_note = "skipped (JSON bodies only)"
        else:
            service_dir = Path(tempfile.mkdtemp(prefix="bento-service-"))
            (service_dir / "service.py").write_text(textwrap.dedent(BENTO_SERVICE))
            bentoml = str(Path(sys.executable).with_name("bentoml"))
            servers.append(
                Server(
                    "BentoML (adaptive batching)",
                    [
                        bentoml,
                        "serve",
                        "service:MnistCNN",
                        "--port",
                        "{port}",
                        "--host",
                        "127.0.0.1",
                    ],
                    {"json": "/predict"},
                    "/readyz",
                    env,
                    cwd=str(service_dir),
                )
            )
            bento_note = "included"
    print(
        f"{platform.machine()} with {os.cpu_count()} CPU thread(s), torch {torch.__version__} "
        f"({torch.get_num_threads()} intra-op threads); client and servers share the machine"
    )
    sizes = ", ".join(f"{f} {len(bodies[f].data):,} bytes" for f in formats)
    print(
        f"{args.requests:,} requests per server, format, level and round, median of "
        f"{args.rounds} interleaved rounds; one MNIST digit per request ({sizes}); "
        f"athanor: max batch {args.max_batch_size}, max wait {args.max_wait_ms:g} ms; "
        f"BentoML {bento_note}"
    )
    # Every server runs for the whole measurement; rounds interleave them level by level and
    # format by format, so a change in the machine's load touches all of them alike. The
    # median round is shown.
    running = []
    try:
        for server in servers:
            print(f"starting {server.name}...", flush=True)
            running.append(start(server))
            for form in formats:
                if form in server.paths:  # warm-up
                    path = server.paths[form]
                    run_async(_load(running[-1].port, path, bodies[form], 16, 300, label))
        rounds: dict[tuple[str, str, int], list[Measurement]] = {}
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds}...", flush=True)
            for level in levels:
                for form in formats:
                    for item in running:
                        path = item.server.paths.get(form)
                        if path is None:
                            continue
                        cpu = cpu_seconds(item.process.pid)
                        measured = run_async(
                            _load(item.port, path, bodies[form], level, args.requests, label)
                        )
                        cpu = cpu_seconds(item.process.pid) - cpu
                        measured.cpu_us = cpu / args.requests * 1e6
                        rounds.setdefault((item.server.name, form, level), []).append(measured)
    finally:
        for item in running:
            stop(item)
    results = {key: median_of(measured) for key, measured in rounds.items()}
    print()
    print(
        f"{'server':<38}{'format':>10}{'conc.':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'CPU us':>8}{'failed':>8}"
    )
    for (name, form, level), m in results.items():
        print(
            f"{name:<38}{form:>10}{level:>6}{m.throughput:>10.0f}{m.p50_ms:>10.2f}"
            f"{m.p99_ms:>10.2f}{m.cpu_us:>8.0f}{m.failures:>8}"
        )
    top = levels[-1]
    print(
        f"\nathanor serve at concurrency {top} against the hand-written endpoint taking the "
        "same format (goal: >= 3x, p99 <= 50 ms)"
    )
    print(
        f"{'format':<11}{'runtime':<16}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU us':>8}"
        f"{'ratio':>8}  goal"
    )
    for form in formats:
        base = results[(BASELINE, form, top)]
        for server in servers:
            if server.runtime is None:
                continue
            m = results[(server.name, form, top)]
            ratio = m.throughput / base.throughput
            met = ratio >= 3 and m.p99_ms <= 50
            print(
                f"{form:<11}{server.runtime:<16}{m.throughput:>8.0f}{m.p50_ms:>9.1f}{m.p99_ms:>9.1f}"
                f"{m.cpu_us:>8.0f}{ratio:>7.2f}x  {'met' if met else 'missed'}"
            )
        print(
            f"{form:<11}{'baseline':<16}{base.throughput:>8.0f}{base.p50_ms:>9.1f}"
            f"{base.p99_ms:>9.1f}{base.cpu_us:>8.0f}{1:>7.2f}x"
        )
    failed = sum(m.failures for m in results.values())
    if failed:
        raise SystemExit(f"{failed} answer(s) were wrong or failed")


if __name__ == "__main__":
    main()

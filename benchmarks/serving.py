"""Online serving throughput and latency of ``athanor serve`` against a hand-written endpoint.

The MNIST CNN of ``examples/mnist-cnn.yaml`` (trained once, briefly, in a scratch
ATHANOR_HOME) answers one 28x28 test digit per request, sent as JSON pixels, on loopback:

  (a) ``athanor serve mnist-cnn`` (dynamic batching),
  (b) a minimal hand-written FastAPI endpoint that loads the model's TorchScript export and
      calls it once per request (the baseline),
  (c) BentoML serving the same TorchScript export with adaptive batching, when it imports.

For each concurrency (1, 16 and 64 connections by default) a fixed number of requests is sent
by a keep-alive HTTP/1.1 load generator in this process, in rounds that interleave the
servers (all running throughout); it prints the median round's throughput and p50/p99 latency
per server, and at the highest concurrency the ratio of (a) to (b) (goal: >= 3x the
throughput with a p99 no worse). Every answer is checked (status 200, the expected digit).
The hand-written endpoint is also measured with PyTorch limited to one thread, which is
kinder to it on a machine with few cores.

    ATHANOR_DATA_MIRROR=... .venv/bin/python benchmarks/serving.py [--requests 2000]

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

import numpy as np

MODEL = "mnist-cnn"

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
    """The hand-written endpoint: one TorchScript call per request, as most tutorials write it.

    ``threads`` sets PyTorch's intra-op threads (0 leaves PyTorch's default).
    """
    import torch
    from fastapi import FastAPI

    if threads:
        torch.set_num_threads(threads)

    extra = {"athanor.json": ""}
    model = torch.jit.load(model_path, _extra_files=extra).eval()
    steps = json.loads(extra["athanor.json"])["preprocessing"]
    scale, mean, std = steps[0]["scale"], steps[1]["mean"][0], steps[1]["std"][0]
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    def predict(body: dict) -> dict:
        x = torch.tensor(body["inputs"], dtype=torch.float32).reshape(-1, 1, 28, 28)
        x = (x * scale - mean) / std
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

    return app


@dataclass
class Server:
    """A server process under test."""

    name: str
    command: list[str]
    path: str
    health: str
    env: dict[str, str]
    cwd: str | None = None


@dataclass
class Measurement:
    concurrency: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int

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
    port: int, path: str, body: bytes, concurrency: int, total: int, label: int | Callable
) -> Measurement:
    """``total`` requests of ``body`` over ``concurrency`` connections; an answer counts as
    right when it names ``label`` (or when ``label``, a check of the answer's bytes, says so)."""
    check = label if callable(label) else (lambda answer: answers_label(answer, label))
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
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


def median_of(rounds: list[Measurement]) -> Measurement:
    """The round with the median throughput (its latencies come with it)."""
    ranked = sorted(rounds, key=lambda m: m.throughput)
    chosen = ranked[len(ranked) // 2]
    chosen.failures = sum(m.failures for m in rounds)
    return chosen


def prepare_model(home: Path, epochs: int, subset: int) -> tuple[Path, bytes, int]:
    """Train and register the CNN (once per home); export TorchScript; pick a test digit."""
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
    digit = raw.x_test[0]  # uint8 [1, 28, 28]
    body = json.dumps({"inputs": digit.tolist()}).encode()
    return torchscript, body, int(raw.y_test[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per level and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated levels")
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
    home = args.home or Path(tempfile.gettempdir()) / "athanor-serving-benchmark"
    home.mkdir(parents=True, exist_ok=True)
    torchscript, body, label = prepare_model(home.resolve(), args.epochs, args.subset)
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
    baseline = [sys.executable, __file__, "--serve-baseline", str(torchscript), "{port}"]
    servers = [
        Server("athanor serve", serve, predict, "/readyz", env),
        Server(
            "athanor serve --runtime torch", [*serve, "--runtime", "torch"], predict, "/readyz", env
        ),
        Server("hand-written FastAPI", [*baseline, "0"], "/predict", "/healthz", env),
        Server("hand-written, 1 torch thread", [*baseline, "1"], "/predict", "/healthz", env),
    ]
    bento_note = "skipped (--skip-bentoml)"
    if not args.skip_bentoml:
        if importlib.util.find_spec("bentoml") is None:
            bento_note = "not installed (pip install bentoml to include it)"
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
                    "/predict",
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
    print(
        f"{args.requests:,} requests per level and round, median of {args.rounds} interleaved "
        f"rounds; one MNIST digit per request as JSON "
        f"({len(body):,} bytes); athanor: max batch {args.max_batch_size}, max wait "
        f"{args.max_wait_ms:g} ms; BentoML {bento_note}"
    )
    # Every server runs for the whole measurement; rounds interleave them level by level, so
    # a change in the machine's load touches all of them alike. The median round is shown.
    running = []
    try:
        for server in servers:
            print(f"starting {server.name}...", flush=True)
            running.append(start(server))
            run_async(_load(running[-1].port, server.path, body, 16, 500, label))  # warm-up
        rounds: dict[tuple[str, int], list[Measurement]] = {}
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds}...", flush=True)
            for level in levels:
                for item in running:
                    measured = run_async(
                        _load(item.port, item.server.path, body, level, args.requests, label)
                    )
                    rounds.setdefault((item.server.name, level), []).append(measured)
    finally:
        for item in running:
            stop(item)
    results = {
        server.name: [median_of(rounds[(server.name, level)]) for level in levels]
        for server in servers
    }
    print()
    print(f"{'server':<32}{'conc.':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}")
    for name, measurements in results.items():
        for m in measurements:
            print(
                f"{name:<32}{m.concurrency:>6}{m.throughput:>10.0f}{m.p50_ms:>10.2f}"
                f"{m.p99_ms:>10.2f}{m.failures:>8}"
            )
    ours, theirs = results["athanor serve"][-1], results["hand-written FastAPI"][-1]
    print(
        f"\nat concurrency {ours.concurrency}: athanor serve gives "
        f"{ours.throughput / theirs.throughput:.2f}x the throughput of the hand-written "
        f"endpoint (goal >= 3x), p99 {ours.p99_ms:.1f} ms vs {theirs.p99_ms:.1f} ms "
        f"(goal: no worse)"
    )


if __name__ == "__main__":
    main()

"""What INT8 quantization gives and costs: the MNIST CNN and the California MLP, FP32 vs INT8.

Both models are trained once, briefly, in a scratch ATHANOR_HOME (the CNN of
``examples/mnist-cnn.yaml`` as ``benchmarks/serving.py`` trains it; the MLP of
``examples/mlp-california.yaml`` with fewer epochs), then exported with
``athanor models export M -f onnx --quantize int8 --register M-int8`` (static QDQ with
calibration for the CNN, dynamic for the MLP). The export's own measurement on the test split
gives the accuracy or RMSE change, the file size ratio and the one-sample latency ratio of the
graphs (one thread).

Then one ``athanor serve`` serves all four versions (FP32 on ONNX Runtime through
``runtime: auto``, INT8 on its graph), and the keep-alive load generator of
``benchmarks/serving.py`` sends one test sample per request (JSON) at concurrency 1 (the
single-request latency) and 16 (throughput), in rounds that interleave FP32 and INT8; the
median round is kept. Every answer is checked (status 200; the expected digit for the CNN).
It prints INT8 / FP32 ratios, and the load average before and after (the machine may be
shared: ratios from interleaved rounds hold up better than absolute figures).

    ATHANOR_DATA_MIRROR=... .venv/bin/python benchmarks/quantization.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling script, from anywhere

import contextlib

from serving import (
    MODEL,
    Measurement,
    Server,
    _load,
    median_of,
    prepare_model,
    run_async,
    start,
    stop,
)

MLP = "mlp-california"


def prepare_mlp(epochs: int) -> tuple[bytes, Callable[[bytes], bool]]:
    """Train and register the California MLP (once per home); one test row as the body."""
    import athanor as at
    from athanor.errors import NotFound
    from athanor.settings import current_settings

    settings = current_settings()
    try:
        at.models.show(MLP, settings=settings)
    except NotFound:
        print(f"training {MLP} once ({epochs} epoch(s))")
        at.train(MLP, {"train.epochs": epochs}, register_as=MLP, progress=False, settings=settings)
    row = _first_row(settings)
    body = json.dumps({"inputs": [row]}).encode()

    def answers(answer: bytes) -> bool:
        values = json.loads(answer)["predictions"][0]["values"]
        return bool(np.isfinite(values).all())

    return body, answers


def _first_row(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The first row of the mirror's California housing CSV as it is (text cells)."""
    import csv

    for mirror in settings.data_mirrors:
        path = Path(mirror) / "california-housing" / "housing.csv"
        if path.is_file():
            with path.open(newline="") as handle:
                row = next(csv.DictReader(handle))
            row.pop("median_house_value", None)
            return row
    raise SystemExit("California housing is not in ATHANOR_DATA_MIRROR")


def quantize(name: str, calibration: int) -> dict:
    """Export ``name`` as INT8, register it as ``name-int8`` (replacing an earlier one)."""
    import athanor as at
    from athanor.errors import NotFound
    from athanor.settings import current_settings

    settings = current_settings()
    with contextlib.suppress(NotFound):
        at.models.delete(f"{name}-int8", force=True, settings=settings)
    target = Path(settings.home) / f"{name}.int8.onnx"
    result = at.models.export(
        name,
        target,
        "onnx",
        quantize="int8",
        max_drop=1.0,  # report the change whatever it is; the export's bound is the user's
        calibration=calibration,
        register=f"{name}-int8",
        overwrite=True,
        settings=settings,
    )
    return result.details["quantization"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="per level and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--home", type=Path, help="ATHANOR_HOME to use (default: a scratch one)")
    parser.add_argument("--epochs", type=int, default=1, help="CNN training epochs (first run)")
    parser.add_argument("--subset", type=int, default=20000, help="CNN training images")
    parser.add_argument("--mlp-epochs", type=int, default=15, help="MLP epochs (first run)")
    parser.add_argument("--calibration", type=int, default=512, help="CNN calibration samples")
    args = parser.parse_args()

    load_before = os.getloadavg()
    home = (args.home or Path(tempfile.gettempdir()) / "athanor-quantization-benchmark").resolve()
    home.mkdir(parents=True, exist_ok=True)
    _torchscript, cnn_body, label = prepare_model(home, args.epochs, args.subset)
    mlp_body, mlp_answers = prepare_mlp(args.mlp_epochs)

    def cnn_answers(answer: bytes) -> bool:
        return json.loads(answer)["predictions"][0]["label"] == str(label)

    print("quantizing...", flush=True)
    reports = {MODEL: quantize(MODEL, args.calibration), MLP: quantize(MLP, args.calibration)}

    env = {**os.environ, "ATHANOR_HOME": str(home)}
    names = [MODEL, f"{MODEL}-int8", MLP, f"{MLP}-int8"]
    serve = [sys.executable, "-m", "athanor.cli", "serve", *names, "--port", "{port}"]
    server = Server("athanor serve", serve, "", "/readyz", env)
    bodies = {MODEL: (cnn_body, cnn_answers), MLP: (mlp_body, mlp_answers)}
    levels = (1, 16)
    rounds: dict[tuple[str, int], list[Measurement]] = {}
    print("serving all four versions; measuring...", flush=True)
    running = start(server)
    try:
        for name in names:  # warm-up
            body, answers = bodies[name.removesuffix("-int8")]
            path = f"/v1/models/{name}/predict"
            run_async(_load(running.port, path, body, 16, 300, answers))
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds}...", flush=True)
            for level in levels:
                for name in names:
                    body, answers = bodies[name.removesuffix("-int8")]
                    path = f"/v1/models/{name}/predict"
                    measured = run_async(
                        _load(running.port, path, body, level, args.requests, answers)
                    )
                    rounds.setdefault((name, level), []).append(measured)
    finally:
        stop(running)
    load_after = os.getloadavg()

    print()
    print(
        f"{platform.machine()} with {os.cpu_count()} CPU thread(s); load average (1, 5, 15 min) "
        f"{', '.join(f'{v:.2f}' for v in load_before)} before, "
        f"{', '.join(f'{v:.2f}' for v in load_after)} after"
    )
    print(
        f"{args.requests:,} requests per level and round, median of {args.rounds} interleaved "
        "rounds; one sample per request as JSON; FP32 and INT8 on the same server"
    )
    print()
    header = f"{'model':<26}{'conc.':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}"
    print(header)
    results = {key: median_of(value) for key, value in rounds.items()}
    for name in names:
        for level in levels:
            m = results[(name, level)]
            print(
                f"{name:<26}{level:>6}{m.throughput:>10.0f}{m.p50_ms:>10.2f}{m.p99_ms:>10.2f}"
                f"{m.failures:>8}"
            )
    print()
    print(
        f"{'INT8 / FP32':<16}{'quality change':>24}{'size':>8}{'graph latency':>15}"
        f"{'request p50':>13}{'req/s @16':>11}"
    )
    for name, report in reports.items():
        single = results[(f"{name}-int8", 1)].p50_ms / results[(name, 1)].p50_ms
        throughput = results[(f"{name}-int8", 16)].throughput / results[(name, 16)].throughput
        if report["metric"] == "accuracy":
            change = f"acc {report['fp32']:.4f}->{report['int8']:.4f}"
        else:
            change = f"RMSE {report['int8'] / report['fp32']:.4f}x"
        print(
            f"{name:<16}{change:>24}{report['size_ratio']:>7.2f}x"
            f"{report['latency_ratio']:>14.2f}x{single:>12.2f}x{throughput:>10.2f}x"
        )
    for name, report in reports.items():
        print(f"  {name}: {json.dumps({k: report[k] for k in sorted(report)})}")


if __name__ == "__main__":
    main()

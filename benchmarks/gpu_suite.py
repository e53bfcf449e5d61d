"""The GPU path, checked and timed on hardware in a few minutes.

Each check runs Athanor's own code path on the GPU and says whether it worked and how long it
took: mixed precision (bf16 autocast; fp16 autocast with a GradScaler), GPU-resident batching
(the split moved to the GPU once and sliced there), pinned host memory (page-locked copies and
the streaming loader's pinned path), ``torch.compile``, a job placed on a GPU by the platform
(``athanor up`` on loopback), DDP over NCCL (two GPUs or more), and the anchors: MNIST to 99%
test accuracy (training seconds only; goal < 0.5 s on an H100, anchor 0.76 s on a GTX 1660 Ti)
and a CIFAR-10 preset when the CIFAR-10 archive is in ``ATHANOR_DATA_MIRROR`` (the GPU
machine has no network; without the file the check says so and skips).

    ATHANOR_DATA_MIRROR=/data .venv/bin/python benchmarks/gpu_suite.py --out gpu.json

It prints a table (check, result, seconds, detail) headed by the GPU's name and the torch
version, and writes the same as JSON to ``--out``. Without CUDA it exits at once with status 2.
``--device cpu --quick`` runs every check that can run on a CPU, on slices of the data, to test
the script itself; ``--only``/``--skip`` choose checks by name.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MNIST_TARGET = 0.99
CIFAR_TARGET = 0.94
CIFAR_FILE = "cifar-10-binary.tar.gz"
AIRBENCH94_A100_SECONDS = 2.59


@dataclass
class Check:
    """One row of the table."""

    name: str
    result: str  # ok, FAIL, skipped, missed (ran, but short of its target)
    seconds: float | None = None
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


class Skip(Exception):
    """A check that cannot run here; its message says why."""


def learned(accuracy: float, ctx: Context) -> bool:
    """A one-epoch check learned: > 90% on MNIST, > 50% on the slices of ``--quick``."""
    return accuracy > (0.5 if ctx.quick else 0.9)


@dataclass
class Context:
    """What every check needs: the device, the size of the work, where the data is."""

    device: Any  # torch.device
    quick: bool
    home: Path

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def sync(self) -> None:
        import torch

        if self.cuda:
            torch.cuda.synchronize(self.device)


# --- shared pieces -------------------------------------------------------------------------


def small_cnn(extra: dict[str, Any] | None = None, **train: Any) -> dict[str, Any]:
    """A run spec: a small batch-normed CNN on MNIST (a slice of it with ``quick``)."""
    spec: dict[str, Any] = {
        "name": "gpu-suite",
        "seed": 0,
        "data": {"dataset": "mnist", "split": {"val": 5000}, "normalize": "standard"},
        "model": {
            "layers": [
                {
                    "conv2d": {
                        "filters": 32,
                        "padding": "same",
                        "batchnorm": True,
                        "activation": "relu",
                    }
                },
                {"maxpool": 2},
                {
                    "conv2d": {
                        "filters": 64,
                        "padding": "same",
                        "batchnorm": True,
                        "activation": "relu",
                    }
                },
                {"maxpool": 2},
                "flatten",
                {"dense": {"units": 128, "activation": "relu"}},
            ]
        },
        "train": {
            "epochs": 1,
            "batch_size": 256,
            "optimizer": {"type": "adam", "lr": 0.002},
            "checkpoint": {"enabled": False},
            **train,
        },
    }
    spec.update(extra or {})
    return spec


def quick_subset(spec: dict[str, Any], ctx: Context, train: int = 2000) -> dict[str, Any]:
    if ctx.quick:
        spec["data"] = {
            **spec["data"],
            "split": {"val": 200},
            "subset": {"train": train, "test": 500},
        }
    return spec


def fit(spec_data: dict[str, Any], ctx: Context) -> tuple[Any, Any, Any]:
    """Prepare the spec's data and fit its network with Athanor's Trainer, on ``ctx.device``."""
    from athanor.data.prepare import prepare
    from athanor.nets import build_network
    from athanor.spec import load_spec
    from athanor.training import Trainer

    spec = load_spec({**spec_data, "train": {**spec_data["train"], "device": str(ctx.device)}})
    prepared = prepare(spec.data, spec.seed)
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    trainer = Trainer(spec.train, seed=spec.seed)
    result = trainer.fit(network, prepared)
    return trainer, result, prepared


# --- the checks ----------------------------------------------------------------------------


def check_amp_bf16(ctx: Context) -> Check:
    trainer, result, prepared = fit(quick_subset(small_cnn(precision="bf16"), ctx), ctx)
    accuracy = trainer.test(prepared)["test_accuracy"]
    ok = result.device.startswith(ctx.device.type) and learned(accuracy, ctx)
    return Check(
        "amp_bf16",
        "ok" if ok else "FAIL",
        result.seconds,
        f"1 epoch, test accuracy {accuracy:.2%}, {result.samples_per_second:,.0f} samples/s",
        {"test_accuracy": accuracy},
    )


def check_amp_fp16(ctx: Context) -> Check:
    if not ctx.cuda:
        raise Skip("fp16 autocast with a GradScaler needs a CUDA GPU")
    trainer, result, prepared = fit(quick_subset(small_cnn(precision="fp16"), ctx), ctx)
    accuracy = trainer.test(prepared)["test_accuracy"]
    scaled = trainer.scaler is not None and trainer.scaler.get_scale() > 0
    ok = scaled and learned(accuracy, ctx)
    return Check(
        "amp_fp16",
        "ok" if ok else "FAIL",
        result.seconds,
        f"1 epoch with a GradScaler (scale {trainer.scaler.get_scale():g}), test "
        f"accuracy {accuracy:.2%}",
        {"test_accuracy": accuracy},
    )


def check_gpu_resident_batching(ctx: Context) -> Check:
    import torch

    from athanor.data.batching import TensorBatches
    from athanor.data.prepare import prepare
    from athanor.spec import load_spec

    spec = load_spec(quick_subset(small_cnn(), ctx))
    prepared = prepare(spec.data, spec.seed)
    batches = prepared.batches("train", 512, shuffle=True, seed=0, device=ctx.device)
    if not isinstance(batches, TensorBatches):
        return Check(
            "gpu_resident_batching",
            "FAIL",
            None,
            f"MNIST came as {type(batches).__name__}, not in-memory TensorBatches",
        )
    resident = batches.split.x.device.type == ctx.device.type
    ctx.sync()
    started = time.perf_counter()
    count = 0
    for epoch in range(3):
        for x, y in batches.epoch(epoch):
            count += x.shape[0]
            assert x.device.type == ctx.device.type and y.device.type == ctx.device.type
            torch.add(x, 1)  # touch it, as a network would
    ctx.sync()
    seconds = time.perf_counter() - started
    return Check(
        "gpu_resident_batching",
        "ok" if resident else "FAIL",
        seconds,
        f"3 shuffled epochs sliced on {batches.split.x.device}: {count / seconds:,.0f} samples/s",
        {"samples_per_second": count / seconds},
    )


def check_pinned_memory(ctx: Context) -> Check:
    import numpy as np
    import torch

    from athanor.data.batching import LazySplit, StreamingBatches, load_rows

    if not ctx.cuda:
        raise Skip("page-locked copies go to a CUDA GPU")
    size = 64 if ctx.quick else 256
    pageable = torch.empty(size * 2**20, dtype=torch.uint8)
    pinned = pageable.pin_memory()
    rates = {}
    for name, host in (("pageable", pageable), ("pinned", pinned)):
        host.to(ctx.device, non_blocking=True)
        ctx.sync()
        started = time.perf_counter()
        for _ in range(5):
            host.to(ctx.device, non_blocking=True)
        ctx.sync()
        rates[name] = 5 * size / 1024 / (time.perf_counter() - started)
    images = np.random.default_rng(0).integers(0, 255, (20_000, 1, 28, 28), dtype=np.uint8)
    split = LazySplit(
        load=lambda rows: load_rows(images, rows),
        targets=torch.zeros(len(images), dtype=torch.long),
        transform=lambda raw: torch.from_numpy(np.asarray(raw, dtype=np.float32) / 255.0),
        size=len(images),
    )
    stream = StreamingBatches(split, 512, shuffle=True, workers=0, device=ctx.device)
    started = time.perf_counter()
    seen = sum(x.shape[0] for x, _ in stream.epoch(0) if x.is_cuda)
    ctx.sync()
    streamed = time.perf_counter() - started
    ok = rates["pinned"] >= rates["pageable"] and seen == len(images)
    return Check(
        "pinned_memory",
        "ok" if ok else "FAIL",
        streamed,
        f"host->GPU {rates['pinned']:.1f} GB/s pinned vs {rates['pageable']:.1f} "
        f"pageable; streaming loader {seen / streamed:,.0f} samples/s (pin_memory)",
        {"gbps": rates, "stream_samples_per_second": seen / streamed},
    )


def check_torch_compile(ctx: Context) -> Check:
    _, plain, _ = fit(quick_subset(small_cnn(epochs=2), ctx), ctx)
    compiled_trainer, compiled, prepared = fit(
        quick_subset(small_cnn(epochs=2, compile=True), ctx), ctx
    )
    accuracy = compiled_trainer.test(prepared)["test_accuracy"]
    first, second = (h["epoch_seconds"] for h in compiled.history)
    eager = plain.history[-1]["epoch_seconds"]
    ok = learned(accuracy, ctx)
    return Check(
        "torch_compile",
        "ok" if ok else "FAIL",
        compiled.seconds,
        f"epoch 1 (compiling) {first:.2f} s, epoch 2 {second:.2f} s vs eager "
        f"{eager:.2f} s ({eager / second:.2f}x); test accuracy {accuracy:.2%}",
        {"compile_epoch_s": first, "compiled_epoch_s": second, "eager_epoch_s": eager},
    )


def check_platform_gpu_job(ctx: Context) -> Check:
    """``athanor up`` on loopback, one training job asking for a GPU, its run's device."""
    home = ctx.home / "platform"
    env = {
        **os.environ,
        "ATHANOR_HOME": str(home),
        "ATHANOR_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop("ATHANOR_URL", None)
    env.pop("ATHANOR_TOKEN", None)
    athanor = [sys.executable, "-m", "athanor.cli"]
    gpus = "auto" if ctx.cuda else "none"

    def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*athanor, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"athanor {' '.join(args)}: {done.stderr.strip()[-400:]}")
        return done

    spec = small_cnn()
    spec = quick_subset(spec, ctx) if ctx.quick else spec
    spec["job"] = {"resources": {"gpus": 1 if ctx.cuda else 0, "cpus": 2}}
    spec["train"]["device"] = "cuda" if ctx.cuda else "cpu"
    spec_path = ctx.home / "job.json"  # JSON is YAML
    spec_path.write_text(json.dumps(spec))
    cli("up", "-d", "--host", "127.0.0.1", "--port", "0", "--cpus", "2", "--gpus", gpus)
    try:
        started = time.perf_counter()
        cli("train", str(spec_path), "--detach")
        deadline = started + (600 if not ctx.quick else 300)
        job: dict[str, Any] = {}
        while time.perf_counter() < deadline:
            (job,) = json.loads(cli("jobs", "list", "--json").stdout)[:1]
            if job.get("status") in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.5)
        seconds = time.perf_counter() - started
        shown = json.loads(cli("jobs", "show", str(job["id"]), "--json").stdout)
    finally:
        subprocess.run([*athanor, "down"], env=env, capture_output=True, timeout=120, check=False)
    device = (shown.get("summary") or {}).get("device", "?")
    attempts = shown.get("attempts") or [{}]
    placed = attempts[0].get("devices")
    ok = shown.get("status") == "succeeded" and device.startswith(ctx.device.type)
    if ctx.cuda:
        ok = ok and bool(placed)
    return Check(
        "platform_gpu_job",
        "ok" if ok else "FAIL",
        seconds,
        f"job {shown.get('id')} {shown.get('status')} on {device}, devices given "
        f"{placed}; submitted to finished",
        {"job": shown.get("id")},
    )


def _ddp_worker(rank: int, world: int, port: int, results: Any) -> None:
    import torch
    import torch.distributed as dist
    from torch import nn

    dist.init_process_group(
        "nccl", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    torch.cuda.set_device(rank)
    torch.manual_seed(rank)  # different data per rank; DDP must keep the weights equal
    model = nn.parallel.DistributedDataParallel(nn.Linear(256, 10).cuda(rank), device_ids=[rank])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(1024, 256, device=rank), torch.randint(0, 10, (1024,), device=rank)
    torch.cuda.synchronize(rank)
    started = time.perf_counter()
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    torch.cuda.synchronize(rank)
    weights = model.module.weight.detach().clone()
    gathered = [torch.empty_like(weights) for _ in range(world)]
    dist.all_gather(gathered, weights)
    if rank == 0:
        same = all(torch.equal(gathered[0], other) for other in gathered[1:])
        results.put((same, time.perf_counter() - started))
    dist.destroy_process_group()


def check_ddp_nccl(ctx: Context) -> Check:
    import socket

    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp

    if not ctx.cuda:
        raise Skip("DDP with NCCL needs CUDA GPUs")
    count = torch.cuda.device_count()
    if count < 2:
        raise Skip(f"{count} GPU visible; DDP with NCCL needs 2 or more")
    if not dist.is_nccl_available():
        return Check("ddp_nccl", "FAIL", None, "this torch build has no NCCL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    world = min(count, 8)
    queue = mp.get_context("spawn").SimpleQueue()
    started = time.perf_counter()
    mp.spawn(_ddp_worker, args=(world, port, queue), nprocs=world, join=True)
    same, seconds = queue.get()
    return Check(
        "ddp_nccl",
        "ok" if same else "FAIL",
        seconds,
        f"{world} ranks, 50 steps, weights equal on every rank: {same}; "
        f"spawn to end {time.perf_counter() - started:.1f} s",
    )


def mnist_anchor_spec(ctx: Context) -> dict[str, Any]:
    """The fast GPU recipe: a small ResNet-ish CNN, large batches, bf16, one-cycle."""

    def conv(filters: int) -> dict[str, Any]:
        return {
            "conv2d": {
                "filters": filters,
                "padding": "same",
                "batchnorm": True,
                "activation": "relu",
                "bias": False,
            }
        }

    spec = small_cnn(
        {
            "model": {
                "layers": [
                    conv(32),
                    {"residual": 32},
                    {"maxpool": 2},
                    conv(64),
                    {"maxpool": 2},
                    conv(128),
                    {"globalmaxpool": {}},
                ]
            }
        },
        epochs=2,
        batch_size=512,
        eval_batch_size=5000,
        optimizer={
            "type": "adam",
            "lr": 0.002,
        },
        schedule={"type": "onecycle", "max_lr": 0.01, "pct_start": 0.25},
        loss={"type": "cross_entropy", "label_smoothing": 0.1},
        precision="bf16" if ctx.cuda else "fp32",
        channels_last=True,
        nan_guard=False,
    )
    spec["data"] = {**spec["data"], "split": {"val": 1000}}
    return quick_subset(spec, ctx, train=4000)


def check_mnist_anchor(ctx: Context) -> Check:
    spec = mnist_anchor_spec(ctx)
    warm = json.loads(json.dumps(spec))  # cuDNN autotuning and lazy CUDA start, not timed
    warm["train"]["epochs"] = 1
    warm["train"]["schedule"] = {"type": "constant"}  # one-cycle needs more than 4 steps
    warm["data"] = {**warm["data"], "subset": {"train": 2048, "test": 256}}
    fit(warm, ctx)
    trainer, result, prepared = fit(spec, ctx)
    accuracy = trainer.test(prepared)["test_accuracy"]
    met = accuracy >= MNIST_TARGET
    goal = "goal < 0.5 s on an H100, anchor 0.76 s on a GTX 1660 Ti"
    return Check(
        "mnist_99_anchor",
        "ok" if met or ctx.quick else "missed",
        result.seconds,
        f"{result.epochs_run} epochs, test accuracy {accuracy:.2%} "
        f"(target {MNIST_TARGET:.0%}); training seconds only; {goal}",
        {"test_accuracy": accuracy, "training_seconds": result.seconds},
    )


def find_cifar() -> Path | None:
    for folder in filter(None, os.environ.get("ATHANOR_DATA_MIRROR", "").split(os.pathsep)):
        found = next(Path(folder).rglob(CIFAR_FILE), None) if Path(folder).is_dir() else None
        if found is not None:
            return found
    return None


def check_cifar10_preset(ctx: Context) -> Check:
    archive = find_cifar()
    if archive is None:
        raise Skip(f"{CIFAR_FILE} is not in ATHANOR_DATA_MIRROR (this machine has no network)")

    def conv(filters: int) -> dict[str, Any]:
        return {
            "conv2d": {
                "filters": filters,
                "padding": "same",
                "batchnorm": True,
                "activation": "gelu",
                "bias": False,
            }
        }

    spec = small_cnn(
        {
            "data": {
                "dataset": "cifar10",
                "split": {"val": 1000},
                "normalize": "standard",
                "augment": {"flip": True, "crop": 2},
            },
            "model": {
                "layers": [
                    conv(64),
                    {"maxpool": 2},
                    conv(256),
                    conv(256),
                    {"maxpool": 2},
                    conv(256),
                    conv(256),
                    {"maxpool": 2},
                    conv(256),
                    conv(256),
                    {"globalmaxpool": {}},
                ]
            },
        },
        epochs=10,
        batch_size=1024,
        eval_batch_size=2000,
        optimizer={
            "type": "sgd",
            "lr": 0.2,
            "momentum": 0.85,
            "nesterov": True,
            "weight_decay": 5e-4,
        },
        schedule={"type": "onecycle", "max_lr": 0.4, "pct_start": 0.2},
        loss={"type": "cross_entropy", "label_smoothing": 0.2},
        precision="bf16" if ctx.cuda else "fp32",
        channels_last=True,
        nan_guard=False,
    )
    spec = quick_subset(spec, ctx)
    if ctx.quick:
        spec["train"]["epochs"] = 1
    trainer, result, prepared = fit(spec, ctx)
    accuracy = trainer.test(prepared)["test_accuracy"]
    met = accuracy >= CIFAR_TARGET
    ratio = result.seconds / AIRBENCH94_A100_SECONDS
    return Check(
        "cifar10_preset",
        "ok" if met or ctx.quick else "missed",
        result.seconds,
        f"test accuracy {accuracy:.2%} (target {CIFAR_TARGET:.0%}); "
        f"{ratio:.2f}x airbench94's {AIRBENCH94_A100_SECONDS} s on an A100 (goal "
        "<= 1.5x of airbench on the same GPU)",
        {"test_accuracy": accuracy},
    )


CHECKS: dict[str, Callable[[Context], Check]] = {
    "amp_bf16": check_amp_bf16,
    "amp_fp16": check_amp_fp16,
    "gpu_resident_batching": check_gpu_resident_batching,
    "pinned_memory": check_pinned_memory,
    "torch_compile": check_torch_compile,
    "platform_gpu_job": check_platform_gpu_job,
    "ddp_nccl": check_ddp_nccl,
    "mnist_99_anchor": check_mnist_anchor,
    "cifar10_preset": check_cifar10_preset,
}


def run_check(name: str, ctx: Context) -> Check:
    started = time.perf_counter()
    try:
        check = CHECKS[name](ctx)
    except Skip as why:
        return Check(name, "skipped", None, str(why))
    except Exception as error:  # a failed check is a row of the table, not the end of the run
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return Check(name, "FAIL", time.perf_counter() - started, detail[-600:])
    return check


def describe(device: Any) -> dict[str, Any]:
    import torch

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "device": str(device),
        "gpu": gpu,
        "gpus_visible": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu_threads": os.cpu_count(),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="slices of the data (tests)")
    parser.add_argument("--only", nargs="*", choices=list(CHECKS), help="run only these")
    parser.add_argument("--skip", nargs="*", choices=list(CHECKS), default=[])
    args = parser.parse_args(argv)

    import torch

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "gpu_suite: no CUDA GPU is visible here (torch "
            f"{torch.__version__}, CUDA build {torch.version.cuda}); run it on a GPU machine, "
            "or use --device cpu --quick to test the script",
            file=sys.stderr,
        )
        return 2
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    names = [n for n in (args.only or CHECKS) if n not in args.skip]
    with tempfile.TemporaryDirectory(
        prefix="athanor-gpu-suite-", ignore_cleanup_errors=True
    ) as folder:
        return _run_checks(args, device, names, Path(folder))


def _run_checks(args: argparse.Namespace, device: Any, names: list[str], home: Path) -> int:
    """Run the checks ``names`` with ``home`` as the Athanor home; print and write them."""
    os.environ["ATHANOR_HOME"] = str(home)
    os.environ.setdefault("ATHANOR_OFFLINE", "1")
    ctx = Context(device=device, quick=args.quick, home=home)
    machine = describe(device)
    print(
        f"gpu_suite on {machine['gpu'] or 'CPU'} ({machine['device']}, "
        f"{machine['gpus_visible']} GPU(s) visible), torch {machine['torch']}, CUDA "
        f"{machine['cuda']}, {machine['cpu_threads']} CPU threads"
        + (", quick" if args.quick else ""),
        flush=True,
    )
    checks = []
    for name in names:
        check = run_check(name, ctx)
        checks.append(check)
        seconds = f"{check.seconds:.3f}" if check.seconds is not None else "-"
        print(f"  {check.name:<22} {check.result:<8} {seconds:>9}  {check.detail}", flush=True)
    print(f"{'check':<22} {'result':<8} {'seconds':>9}  gpu / torch")
    for check in checks:
        seconds = f"{check.seconds:.3f}" if check.seconds is not None else "-"
        print(
            f"{check.name:<22} {check.result:<8} {seconds:>9}  "
            f"{machine['gpu'] or 'cpu'} / {machine['torch']}"
        )
    if args.out is not None:
        args.out.write_text(
            json.dumps(
                {"machine": machine, "quick": args.quick, "checks": [asdict(c) for c in checks]},
                indent=2,
            )
        )
        print(f"written to {args.out}")
    return 1 if any(c.result == "FAIL" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel scaling on paper: images/s and efficiency for 1 to 64 GPUs from one worker.

Measures, on this machine, one worker's training step time (forward, backward and an SGD
step on a synthetic batch, the median of ``--steps`` after warm-up) and the gradient size of
named Athanor networks, then models synchronous data-parallel training (PyTorch DDP, which
Ray Train's ``TorchTrainer`` runs) on N GPUs, 8 per node, with a ring all-reduce::

    t_allreduce(N) = 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency
    t_step(N)      = t_compute + max(0, t_allreduce(N) - overlap * t_backward)
    images/s(N)    = N * batch / t_step(N);   efficiency = images/s(N) / (N * images/s(1))

Assumptions (also printed with the table):

* Weak scaling: every GPU keeps the per-worker batch, so the global batch is N times it
  (the learning rate is scaled with it; see docs/scaling.md). The compute time of a step
  does not change with N; the input pipeline keeps up; no stragglers.
* 8 GPUs per node. Within a node the ring runs over the node's GPU link; across nodes the
  ring's slowest link sets the pace of the whole ring once N > 8. A ring enters and leaves
  each node once, so across nodes the bandwidth is the node's network bandwidth (NCCL runs
  one ring per NIC: a node with a NIC per GPU has 8 of them), not a per-GPU share. All
  bandwidths are effective all-reduce (bus) bandwidths, not nominal link rates.
* Fabrics (bandwidth in GB/s, latency per ring step):
    - ``nvlink+ib``: NVLink 4 / NVSwitch in the node (H100 SXM class: 360 GB/s, 5 µs);
      InfiniBand NDR across nodes, a 400 Gb/s NIC per GPU (8 per node) with GPUDirect
      RDMA at 80 % of line rate (320 GB/s per node, 10 µs).
    - ``nvlink+eth``: the same NVLink in the node; one 100 GbE NIC per node, TCP without
      RDMA, at 80 % of line rate (10 GB/s, 30 µs).
    - ``pcie+eth``: GPUs without NVLink (PCIe 4.0 x16 through the host: 20 GB/s, 10 µs),
      and the same 100 GbE across nodes.
* Gradients are all-reduced in fp32 (DDP's default: 4 bytes per parameter) unless
  ``--grad-dtype bf16`` (a compression hook, 2 bytes).
* The backward pass is 2/3 of the compute time; ``--overlap`` is the fraction of it that
  DDP's gradient buckets hide communication behind (default 0.5; 0 means none hidden).
* The step time measured here is this machine's (a CPU, unless a GPU is present): a CPU step
  is so long that communication hardly matters. ``--step-time SECONDS`` and ``--params N``
  replace the measurement with figures measured on a GPU (``--batch`` then is that step's
  per-worker batch).

    .venv/bin/python benchmarks/ddp_scaling.py [--model resnet18] [--overlap 0.5]
    .venv/bin/python benchmarks/ddp_scaling.py --model resnet18 --step-time 0.08 --batch 256
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass

GPUS_PER_NODE = 8
GPU_COUNTS = (1, 2, 4, 8, 16, 32, 64)
BACKWARD_SHARE = 2 / 3
GRAD_BYTES = {"fp32": 4, "bf16": 2}


@dataclass(frozen=True)
class Link:
    """One link of the ring: effective all-reduce bandwidth per GPU and latency per step."""

    name: str
    gbytes_per_s: float
    latency_s: float


@dataclass(frozen=True)
class Fabric:
    """The link inside a node and the network between nodes."""

    name: str
    intra: Link
    inter: Link

    def link(self, gpus: int) -> Link:
        if gpus <= GPUS_PER_NODE:
            return self.intra
        # the ring's slowest link sets its pace
        slower = min((self.intra, self.inter), key=lambda link: link.gbytes_per_s)
        return Link(
            slower.name, slower.gbytes_per_s, max(self.intra.latency_s, self.inter.latency_s)
        )


NVLINK = Link("NVLink 4 / NVSwitch", 360.0, 5e-6)
PCIE = Link("PCIe 4.0 x16", 20.0, 10e-6)
INFINIBAND = Link("InfiniBand NDR, 8 x 400 Gb/s per node, RDMA", 8 * 400 / 8 * 0.8, 10e-6)
ETHERNET = Link("one 100 GbE per node, TCP", 100 / 8 * 0.8, 30e-6)
FABRICS = (
    Fabric("nvlink+ib", NVLINK, INFINIBAND),
    Fabric("nvlink+eth", NVLINK, ETHERNET),
    Fabric("pcie+eth", PCIE, ETHERNET),
)

MODELS = {
    # name: (Athanor model spec, input shape, classes, default per-worker batch)
    "mnist-cnn": ({"template": "lenet5"}, [1, 28, 28], 10, 128),
    "resnet18": ({"template": "resnet", "depth": 18}, [3, 224, 224], 1000, 8),
}


def allreduce_seconds(gpus: int, nbytes: float, link: Link) -> float:
    """Ring all-reduce of ``nbytes`` over ``gpus`` workers."""
    if gpus == 1:
        return 0.0
    steps = gpus - 1
    return 2 * steps / gpus * nbytes / (link.gbytes_per_s * 1e9) + 2 * steps * link.latency_s


def step_seconds(compute: float, comm: float, overlap: float) -> float:
    """A DDP step: compute, plus the communication the backward pass did not hide."""
    return compute + max(0.0, comm - overlap * BACKWARD_SHARE * compute)


def measure(model: str, batch: int, steps: int) -> tuple[float, int, str]:
    """(median step seconds, parameters, device) of one worker training ``model``."""
    import torch

    from athanor.data.schema import InputSchema, Schema
    from athanor.nets import build_network
    from athanor.spec import load_spec

    spec, shape, classes, _ = MODELS[model]
    run = load_spec({"name": "scaling", "data": {"dataset": "mnist"}, "model": spec})
    schema = Schema(
        task="classification",
        input=InputSchema(kind="image", shape=shape),
        classes=[str(i) for i in range(classes)],
    )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    network = build_network(run.model, schema, seed=0).to(device)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.01, momentum=0.9)
    inputs = torch.randn(batch, *shape, device=device)
    targets = torch.randint(0, classes, (batch,), device=device)
    times = []
    for index in range(steps + 2):  # two warm-up steps
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(network(inputs), targets)
        loss.backward()
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        if index >= 2:
            times.append(time.perf_counter() - started)
    params = sum(p.numel() for p in network.parameters() if p.requires_grad)
    where = (
        torch.cuda.get_device_name()
        if device == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    return statistics.median(times), params, where


def _rate(images_per_second: float) -> str:
    """Images/s with three significant digits below 100 (a CPU's rates)."""
    if images_per_second >= 100:
        return f"{images_per_second:,.0f}"
    return f"{images_per_second:.3g}"


def table(compute: float, params: int, batch: int, grad_dtype: str, overlap: float) -> list[str]:
    """The scaling table's lines."""
    nbytes = params * GRAD_BYTES[grad_dtype]
    single = batch / compute
    header = f"{'GPUs':>5} {'nodes':>5}"
    for fabric in FABRICS:
        header += f" | {fabric.name + ' img/s':>18} {'eff':>5} {'comm ms':>8}"
    lines = [header, "-" * len(header)]
    for gpus in GPU_COUNTS:
        row = f"{gpus:>5} {math.ceil(gpus / GPUS_PER_NODE):>5}"
        for fabric in FABRICS:
            comm = allreduce_seconds(gpus, nbytes, fabric.link(gpus))
            rate = gpus * batch / step_seconds(compute, comm, overlap)
            row += f" | {_rate(rate):>18} {rate / (gpus * single):>5.0%} {comm * 1e3:>8.2f}"
        lines.append(row)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="resnet18")
    parser.add_argument("--batch", type=int, help="Per-worker batch (default: the model's).")
    parser.add_argument("--steps", type=int, default=5, help="Steps timed after warm-up.")
    parser.add_argument("--step-time", type=float, help="Seconds per step measured elsewhere.")
    parser.add_argument("--params", type=int, help="Parameters (default: the model's).")
    parser.add_argument("--grad-dtype", choices=sorted(GRAD_BYTES), default="fp32")
    parser.add_argument("--overlap", type=float, default=0.5, help="Backward share hiding comm.")
    args = parser.parse_args()
    if not 0 <= args.overlap <= 1:
        parser.error("--overlap is a fraction from 0 to 1")
    batch = args.batch or MODELS[args.model][3]
    if args.step_time is not None:
        compute, where = args.step_time, "given (--step-time)"
        params = args.params
        if params is None:
            params = measure(args.model, 1, 1)[1]
    else:
        compute, params, where = measure(args.model, batch, args.steps)
        params = args.params or params
    nbytes = params * GRAD_BYTES[args.grad_dtype]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU threads")
    print(
        f"model {args.model}: {params:,} parameters, {args.grad_dtype} gradients "
        f"{nbytes / 2**20:.1f} MiB; per-worker batch {batch}; step {compute * 1e3:.1f} ms "
        f"({where}), {_rate(batch / compute)} images/s on one worker"
    )
    print(
        f"assumptions: {GPUS_PER_NODE} GPUs per node; ring all-reduce 2(N-1)/N*bytes/bw + "
        f"2(N-1)*latency; backward {BACKWARD_SHARE:.0%} of the step, {args.overlap:.0%} of it "
        "hiding communication; weak scaling (global batch = N x per-worker batch)"
    )
    for fabric in FABRICS:
        print(
            f"  {fabric.name}: in the node {fabric.intra.name} {fabric.intra.gbytes_per_s:g} GB/s "
            f"{fabric.intra.latency_s * 1e6:g} µs; across nodes {fabric.inter.name} "
            f"{fabric.inter.gbytes_per_s:g} GB/s {fabric.inter.latency_s * 1e6:g} µs"
        )
    print()
    print("\n".join(table(compute, params, batch, args.grad_dtype, args.overlap)))


if __name__ == "__main__":
    main()

"""Placement: priority and FIFO order, GPUs handed out whole, backfilling without
starvation, reasons for waiting, and jobs that could never start."""

from __future__ import annotations

from athanor.jobs.machine import Gpu, Machine
from athanor.jobs.placement import Demand, Holding, never_fits, plan

MACHINE = Machine(host="h", gpus=(Gpu(0), Gpu(1)), cpus=4, memory_gb=16.0)


def test_jobs_start_in_queue_order_while_they_fit_and_get_distinct_gpus() -> None:
    decision = plan(
        MACHINE,
        [],
        [Demand(1, gpus=1), Demand(2, gpus=1), Demand(3, gpus=1), Demand(4, cpus=1)],
    )
    assert [(p.job_id, p.devices) for p in decision.placements] == [
        (1, (0,)),
        (2, (1,)),
        (4, ()),
    ]
    assert decision.waiting[3].startswith("waiting for 1 GPU (0 of 2 free)")


def test_a_waiting_job_reserves_what_it_needs_but_smaller_jobs_use_the_rest() -> None:
    holdings = [Holding(7, devices=(0,), cpus=1, eta_seconds=83.0)]
    queue = [Demand(1, gpus=2, cpus=1), Demand(2, gpus=1, cpus=1), Demand(3, cpus=1)]
    decision = plan(MACHINE, holdings, queue)
    # Job 1 waits for GPU 0 and holds back GPU 1 for itself: job 2 cannot take it, while
    # job 3 (CPUs only) starts on what job 1 does not need.
    assert [p.job_id for p in decision.placements] == [3]
    assert decision.waiting[1] == (
        "waiting for 2 GPUs (1 of 2 free); held by job 7 (GPU 0; 1 CPU slot, ~1:23 left)"
    )
    assert decision.waiting[2].startswith("waiting behind job 1 (priority 0)")


def test_cpu_slots_and_memory_are_accounted() -> None:
    holdings = [Holding(5, cpus=2, memory_gb=10.0), Holding(6, cpus=1)]
    decision = plan(MACHINE, holdings, [Demand(1, cpus=2), Demand(2, memory_gb=8.0)])
    assert decision.placements == []
    assert decision.waiting[1].startswith(
        "waiting for 2 CPU slots (1 of 4 free); held by job 5 (2 CPU slots), job 6"
    )
    assert decision.waiting[2] == (
        "waiting for 8 GB of memory (6 of 16 GB unreserved); held by job 5 (2 CPU slots)"
    )


def test_jobs_that_could_never_start_are_named_with_what_the_platform_has() -> None:
    assert never_fits(Demand(1, gpus=2, cpus=4, memory_gb=16.0), MACHINE) is None
    message = never_fits(Demand(1, gpus=3, cpus=8, memory_gb=32.0), MACHINE)
    assert message is not None
    assert "job.resources.gpus: 3 asked for, and this platform has 2 (GPU 0, GPU 1)" in message
    assert "job.resources.cpus: 8 asked for, and this platform has 4 CPU slots" in message
    assert "job.resources.memory_gb: 32 asked for, and this platform has 16 GB" in message
    no_gpu = Machine(host="h", gpus=(), cpus=2, memory_gb=None)
    assert "this platform has 0 (none)" in (never_fits(Demand(1, gpus=1), no_gpu) or "")

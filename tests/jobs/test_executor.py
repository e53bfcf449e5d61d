"""The local executor on real worker processes: start, watch, signal, hand a job to the warm
worker, and tell a worker from a process that merely has its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from athanor.jobs.executor import EXECUTORS, Launch, LocalExecutor, WorkerState


def wait_until_ended(executor: LocalExecutor, pid: int, timeout: float = 60) -> WorkerState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = executor.state(pid)
        if not state.alive:
            return state
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} still runs after {timeout:g} s")


def launch(tmp_path: Path, job_id: int = 999, devices: tuple[int, ...] = ()) -> Launch:
    return Launch(job_id, 1, devices, 2, tmp_path / "logs" / f"{job_id}.log", {"EXTRA": "1"})


def test_how_a_worker_ended_is_said_in_words() -> None:
    assert WorkerState(False, -signal.SIGKILL).describe() == "was killed by SIGKILL"
    assert WorkerState(False, -99).describe() == "was killed by signal 99"
    assert WorkerState(False, 1).describe() == (
        "exited with status 1 without recording how the run ended"
    )
    assert WorkerState(False).describe() == "is gone (its process no longer exists)"


def test_a_launch_shows_the_worker_only_its_gpus_and_threads(tmp_path: Path) -> None:
    env = launch(tmp_path, 5, (1, 3)).worker_env()
    assert env["CUDA_VISIBLE_DEVICES"] == "1,3" and env["OMP_NUM_THREADS"] == "2"
    assert (env["ATHANOR_JOB_ID"], env["ATHANOR_JOB_ATTEMPT"], env["EXTRA"]) == ("5", "1", "1")
    assert launch(tmp_path).worker_env()["CUDA_VISIBLE_DEVICES"] == ""  # none: all hidden
    assert EXECUTORS["local"] is LocalExecutor


def test_a_worker_is_started_in_its_own_session_signalled_and_collected(tmp_path: Path) -> None:
    executor = LocalExecutor(warm_workers=0)
    pid = executor.start(launch(tmp_path))
    assert executor.state(pid).alive and (tmp_path / "logs" / "999.log").is_file()
    assert os.getsid(pid) == pid != os.getsid(0)  # a platform killed does not take it down
    # another executor (a platform started later) finds it by its pid, as a worker
    assert LocalExecutor(warm_workers=0).state(pid).alive
    executor.signal(pid, signal.SIGKILL)
    ended = wait_until_ended(executor, pid)
    assert ended.exit_code == -signal.SIGKILL and ended.describe() == "was killed by SIGKILL"
    assert not LocalExecutor(warm_workers=0).state(pid).alive
    executor.signal(pid, signal.SIGTERM)  # no error once it has ended


def test_a_pid_that_is_not_a_worker_is_not_taken_for_one() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        executor = LocalExecutor(warm_workers=0)
        assert not executor.state(other.pid).alive  # alive, but not an Athanor worker
        assert not executor.state(os.getpid()).alive
    finally:
        other.kill()
        other.wait()
    assert not LocalExecutor(warm_workers=0).state(other.pid).alive


def test_the_warm_worker_takes_a_cpu_job_and_writes_to_its_log(tmp_path: Path) -> None:
    executor = LocalExecutor(warm_workers=1, spare_log=tmp_path / "workers.log")
    executor.prepare()
    spare = executor._spare
    assert spare is not None
    executor.prepare()  # one is ready: no second one
    assert executor._spare is spare
    job = launch(tmp_path)
    pid = executor.start(job)
    assert pid == spare.pid and executor._spare is None
    ended = wait_until_ended(executor, pid, timeout=120)
    # job 999 does not exist: the worker says so in the job's log, with its environment
    assert ended.exit_code == 2
    log = job.log_path.read_text()
    assert "job 999 attempt 1: worker pid" in log and "CUDA_VISIBLE_DEVICES=''" in log
    assert "error: run 999 does not exist" in log
    executor.close()  # no warm worker left: nothing to do


def test_a_gpu_job_gets_a_fresh_process_not_the_warm_worker(tmp_path: Path) -> None:
    executor = LocalExecutor(warm_workers=1)
    executor.prepare()
    spare = executor._spare
    pid = executor.start(launch(tmp_path, 998, devices=(0,)))
    try:
        assert spare is not None and pid != spare.pid and executor._spare is spare
    finally:
        executor.signal(pid, signal.SIGKILL)
        wait_until_ended(executor, pid)
        executor.close()  # the warm worker is told to exit (and killed if it does not)
    assert spare.poll() is not None and executor._spare is None

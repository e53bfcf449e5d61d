"""The Ray executor: job workers run on the nodes of a Ray cluster (``athanor up --executor ray``).

Athanor keeps its own queue and placement (Ray Jobs has no queue and dies with its cluster);
the executor only places each attempt on the cluster. Each attempt is one *detached, named*
Ray actor, ``athanor-job-<job>-<attempt>`` in the namespace ``athanor``, that asks for the
job's resources (``num_cpus``, ``num_gpus``) and starts the ordinary job worker,
``python -m athanor.jobs.worker JOB --attempt N``, as a subprocess on its node. The worker's
output goes to the job's log (where :attr:`Launch.log_path` says: the node shares the store,
on one machine or through team mode's bucket); ``CUDA_VISIBLE_DEVICES`` comes from the GPUs
Ray gave the actor. The actor reports the worker's exit status and forwards signals to it.
Detached actors outlive the platform: a platform started again finds them by name.

**Worker ids.** The scheduler knows a worker by the number it stores as the job's pid. Pids
repeat across a cluster's nodes, and the scheduler asks about a worker by that number alone,
also after a restart, when nothing is in memory. So the executor gives each attempt a
synthetic id, ``job * 1000 + attempt`` (attempts 1 to 999), from which the actor's name
follows; the worker holds its job under that id (``ATHANOR_WORKER_ID``) and under the
cluster's host name, ``ray:<platform host>`` (:data:`athanor.store.lease.CLUSTER_HOST_PREFIX`),
whose leases are judged by heartbeats only, never by a pid of the machine that looks.

An actor whose worker ended is killed once the scheduler has read the exit status, which
gives its resources back; an actor or node that died reads as a worker gone without a status,
and the scheduler's restart policy queues the job again to resume from its checkpoint.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal as signals
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from athanor.errors import UserError
from athanor.jobs.executor import Executor, Launch, WorkerState, register_executor
from athanor.jobs.machine import Gpu, Machine, Node
from athanor.jobs.ray_training import RAY_ADDRESS_VARIABLE
from athanor.store.lease import CLUSTER_HOST_PREFIX, WORKER_ID_VARIABLE, this_host

NAMESPACE = "athanor"
ATTEMPTS_PER_ID = 1000
USAGE_STATS_VARIABLE = "RAY_USAGE_STATS_ENABLED"
CALL_TIMEOUT_SECONDS = 10.0
PR_SET_PDEATHSIG = 1
# What reaches a worker from the platform's environment: its settings (home, database,
# bucket); the rest (Python, where Athanor is installed) is the node's own.
FORWARDED_PREFIX = "ATHANOR_"


class RayUnavailable(UserError):
    """Ray is not installed, or its cluster cannot be reached or runs nothing."""


def worker_id(job_id: int, attempt: int) -> int:
    """The id the scheduler stores for one attempt of a job."""
    if not 1 <= attempt < ATTEMPTS_PER_ID:
        raise OSError(f"attempt {attempt} of job {job_id}: the Ray executor counts 1 to 999")
    return job_id * ATTEMPTS_PER_ID + attempt


def actor_name(worker: int) -> str:
    """The name of the actor that runs the attempt ``worker`` (see :func:`worker_id`)."""
    job_id, attempt = divmod(worker, ATTEMPTS_PER_ID)
    return f"athanor-job-{job_id}-{attempt}"


def cluster_host(host: str | None = None) -> str:
    """The name jobs on the cluster are held under: ``ray:<this platform's host>``."""
    return f"{CLUSTER_HOST_PREFIX}{host or this_host()}"


def _die_with_parent() -> None:
    """In the worker before it runs: SIGKILL when the actor's process ends (Linux), so that a
    killed actor or a lost node never leaves a worker training on unseen."""
    # Not Linux: no prctl, and the worker's heartbeat check remains.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signals.SIGKILL)


class AttemptActor:
    """Runs inside a Ray actor on some node: one job worker subprocess and its log."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: str) -> None:
        import ray

        gpus = [str(g) for g in ray.get_gpu_ids()]  # what Ray gave this actor, not the plan
        environment = {**os.environ, **env, "CUDA_VISIBLE_DEVICES": ",".join(gpus)}
        # a data-parallel job's worker drives Ray Train workers on this cluster
        environment[RAY_ADDRESS_VARIABLE] = ray.get_runtime_context().gcs_address
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *command],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_die_with_parent,
            )
        self.node = ray.get_runtime_context().get_node_id()
        # Reap the child as soon as it ends, so its status is there when asked for.
        threading.Thread(target=self.process.wait, daemon=True).start()

    def describe(self) -> dict[str, Any]:
        """The worker's real pid, its node and its exit status (``None`` while it runs)."""
        return {"pid": self.process.pid, "node": self.node, "exit_code": self.process.poll()}

    def send(self, signum: int) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)


@register_executor
class RayExecutor(Executor):
    """Workers are subprocesses of detached Ray actors on a Ray cluster.

    Args:
        address: the cluster: ``local`` (start one in this process, ended with it),
            ``auto`` (the one this machine belongs to), ``HOST:PORT`` or ``ray://HOST:PORT``.
        env: the environment whose Athanor settings reach the workers (default: this
            process's).
        host: the host name jobs are held under (default :func:`cluster_host`).
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str = "local",
        env: dict[str, str] | None = None,
        host: str | None = None,
    ) -> None:
        self.address = address
        source = os.environ if env is None else env
        self.env = {k: v for k, v in source.items() if k.startswith(FORWARDED_PREFIX)}
        self.host = host or cluster_host()
        self._actors: dict[int, Any] = {}
        self._asked: dict[int, Any] = {}  # describe() calls not answered yet, by worker
        self._lock = threading.Lock()

    # --- the cluster -------------------------------------------------------------------

    def connect(self) -> Any:
        """``ray``, connected to the cluster (once).

        Raises:
            RayUnavailable: Ray is not installed, or the cluster cannot be reached.
        """
        # Ray asks before it reports usage statistics; the machines may well be offline.
        os.environ.setdefault(USAGE_STATS_VARIABLE, "0")
        try:
            import ray
        except ImportError as exc:
            raise RayUnavailable("the Ray executor needs Ray: pip install 'athanor[ray]'") from exc
        if not ray.is_initialized():
            local = self.address == "local"
            try:
                ray.init(
                    address=None if local else self.address,
                    namespace=NAMESPACE,
                    log_to_driver=False,
                    **({"include_dashboard": False} if local else {}),
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise RayUnavailable(
                    f"--ray-address {self.address}: cannot join the Ray cluster ({exc}); "
                    "valid: local, auto, HOST:PORT of a head node or ray://HOST:PORT"
                ) from exc
        return ray

    def machine(self) -> Machine:
        """What the cluster offers, all nodes together, for the scheduler's placement, and
        each live node's size, for the check that a job's process fits one of them."""
        ray = self.connect()
        resources = ray.cluster_resources()
        nodes = tuple(
            Node(
                cpus=float(node["Resources"].get("CPU", 0)),
                gpus=int(node["Resources"].get("GPU", 0)),
                memory_gb=(
                    round(node["Resources"]["memory"] / 2**30, 1)
                    if node["Resources"].get("memory")
                    else None
                ),
            )
            for node in ray.nodes()
            if node.get("Alive")
        )
        if int(resources.get("CPU", 0)) < 1:
            raise RayUnavailable(
                f"the Ray cluster at {self.address} has no CPUs to run job workers on"
            )
        gpus = tuple(Gpu(index) for index in range(int(resources.get("GPU", 0))))
        memory = resources.get("memory")
        return Machine(
            host=self.host,
            gpus=gpus,
            cpus=int(resources.get("CPU", 0)),
            memory_gb=round(memory / 2**30, 1) if memory else None,
            nodes=nodes,
        )

    # --- workers -----------------------------------------------------------------------

    def start(self, launch: Launch) -> int:
        worker = worker_id(launch.job_id, launch.attempt)
        env = {
            **self.env,
            **launch.worker_env(),
            WORKER_ID_VARIABLE: str(worker),
        }
        try:
            ray = self.connect()
            actor = (
                ray.remote(AttemptActor)
                .options(
                    name=actor_name(worker),
                    namespace=NAMESPACE,
                    lifetime="detached",
                    # a data-parallel job's ranks (Ray Train workers) hold its resources;
                    # its worker only drives them
                    num_cpus=launch.cpus if launch.workers == 1 else 0,
                    num_gpus=len(launch.devices) if launch.workers == 1 else 0,
                    # Ray places the actor only where this much memory is unreserved
                    memory=(
                        int(launch.memory_gb * 2**30)
                        if launch.memory_gb is not None and launch.workers == 1
                        else None
                    ),
                    max_restarts=0,
                    get_if_exists=True,
                )
                .remote(
                    [
                        "-m",
                        "athanor.jobs.worker",
                        str(launch.job_id),
                        "--attempt",
                        str(launch.attempt),
                    ],
                    env,
                    str(launch.log_path),
                )
            )
        except Exception as exc:  # the scheduler records an OSError as "could not start"
            raise OSError(f"Ray could not place the worker: {exc}") from exc
        with self._lock:
            self._actors[worker] = actor
        return worker

    def _actor(self, worker: int) -> Any | None:
        with self._lock:
            actor = self._actors.get(worker)
        if actor is not None:
            return actor
        ray = self.connect()
        try:  # started by an earlier platform: found by its name
            actor = ray.get_actor(actor_name(worker), namespace=NAMESPACE)
        except ValueError:  # no such actor (it ended, or was never started)
            return None
        with self._lock:
            self._actors[worker] = actor
        return actor

    def _describe(self, worker: int) -> dict[str, Any] | None:
        """What the actor says of its worker; ``None`` when actor or node are gone.

        A scheduler pass never waits for an actor still being placed or started: its
        question stays open, and the worker is taken for alive until it is answered (the
        scheduler's start timeout ends an attempt that never starts).
        """
        actor = self._actor(worker)
        if actor is None:
            return None
        ray = self.connect()
        from ray.exceptions import RayActorError

        with self._lock:
            asked = self._asked.pop(worker, None)
        if asked is None:
            asked = actor.describe.remote()
        ready, _ = ray.wait([asked], timeout=0.2)
        if not ready:
            with self._lock:
                self._asked[worker] = asked
            return {"exit_code": None}
        try:
            return ray.get(asked)
        except RayActorError:
            self._forget(worker)
            return None

    def _forget(self, worker: int, *, kill: bool = False) -> None:
        with self._lock:
            actor = self._actors.pop(worker, None)
            self._asked.pop(worker, None)
        if kill and actor is not None:
            self.connect().kill(actor)

    def state(self, pid: int) -> WorkerState:
        described = self._describe(pid)
        if described is None:
            return WorkerState(alive=False)
        code = described.get("exit_code")
        if code is None:
            return WorkerState(alive=True)
        self._forget(pid, kill=True)  # its status is read: give its resources back
        return WorkerState(alive=False, exit_code=code)

    def signal(self, pid: int, signum: int) -> None:
        actor = self._actor(pid)
        if actor is None:
            return
        ray = self.connect()
        from ray.exceptions import GetTimeoutError, RayActorError

        try:
            ray.get(actor.send.remote(int(signum)), timeout=CALL_TIMEOUT_SECONDS)
        except GetTimeoutError:
            if signum == signals.SIGKILL:  # the actor does not answer: end it with its worker
                self._forget(pid, kill=True)
        except RayActorError:
            self._forget(pid)

    def close(self) -> None:
        """Disconnect from the cluster; the detached actors (running jobs) are left alone."""
        with self._lock:
            self._actors.clear()
            self._asked.clear()
        import ray

        if ray.is_initialized():
            ray.shutdown()

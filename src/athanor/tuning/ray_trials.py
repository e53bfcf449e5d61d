"""Trials as Ray tasks: a search's trials spread over the nodes of a Ray cluster.

``athanor tune SPEC --executor ray [--ray-address ADDR] --parallel N`` (or
``athanor.tune(spec, executor="ray", ray_address=ADDR, parallel=N)``): the search's process
stays the Optuna driver (ask, tell, the report) and keeps ``N`` trials in flight, each a Ray
task that asks for the trial's ``job.resources`` (CPUs, GPUs, memory) and runs the ordinary
:func:`athanor.tuning.trials.run_trial` on whichever node Ray places it. The trial opens
itself in the searches' database, reports every epoch there and asks Optuna's pruner itself,
so pruning works as with worker processes (Ray Tune's Optuna wrapper is not used: it turns
pruners off and feeds truncated scores to the sampler).

Every node must therefore reach the same storage: the searches' database
(``ATHANOR_TUNE_DB_URL``: PostgreSQL, or ``journal:///PATH`` on a shared filesystem) and the
metadata database and artifacts of the trials' runs (team mode: ``ATHANOR_DB_URL``,
``ATHANOR_ARTIFACTS_URL``). SQLite is refused on a cluster of more than one node
(:class:`SharedStorageRequired`): its locks do not hold over a network filesystem, and a file
on each node's own disk would split the search. On a one-node cluster it is fine.

A trial whose Ray worker or node dies is recovered as other executors' abandoned trials are:
it is failed and queued again with the same parameters and its run, resuming from the run's
last checkpoint (up to ``tune.max_retries``); the search goes on meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from athanor.errors import UserError
from athanor.settings import Settings, current_settings
from athanor.tuning.executors import TrialExecutor
from athanor.tuning.study import journal_path
from athanor.tuning.trials import TrialOutcome, TrialTask

USAGE_STATS_VARIABLE = "RAY_USAGE_STATS_ENABLED"
FORWARDED_PREFIX = "ATHANOR_"
"""The search's Athanor settings reach its trials' workers; the rest of the environment
(Python, where Athanor is installed) is the node's own."""
STOP_SECONDS = 30.0
"""How long :meth:`RayTrialExecutor.close` lets running trials stop with a checkpoint."""


class RayUnavailable(UserError):
    """Ray is not installed, or its cluster cannot be reached or cannot run a trial."""


class SharedStorageRequired(UserError):
    """A search on a Ray cluster of several nodes was given a storage they cannot share."""


def check_shared_storage(settings: Settings, nodes: int) -> None:
    """Refuse SQLite files as a multi-node search's storage (one node may use them).

    Args:
        settings: the search's storage locations.
        nodes: live nodes of the cluster.

    Raises:
        SharedStorageRequired: naming each SQLite file and what would be valid.
    """
    if nodes <= 1:
        return
    problems = []
    if settings.tuning_url.startswith("sqlite"):
        problems.append(
            f"the searches' database is the SQLite file {settings.tuning_url.split(':///')[-1]}"
            " (set ATHANOR_TUNE_DB_URL to postgresql+psycopg://... or to "
            "journal:///PATH on a filesystem every node mounts)"
        )
    if settings.db_url.startswith("sqlite"):
        problems.append(
            f"the trials' runs go to the SQLite file {settings.db_url.split(':///')[-1]} "
            "(set ATHANOR_DB_URL to postgresql+psycopg://..., and ATHANOR_ARTIFACTS_URL to a "
            "bucket or ATHANOR_HOME to a shared folder)"
        )
    if problems:
        raise SharedStorageRequired(
            f"--executor ray: the cluster has {nodes} nodes, which cannot share SQLite "
            "(its locks do not hold over a network filesystem): " + "; ".join(problems)
        )


def _run_on_worker(task: TrialTask, threads: int) -> TrialOutcome:
    """In a Ray worker: the trial, with the CPU threads Ray gave it."""
    import torch

    from athanor.tuning.trials import run_trial

    torch.set_num_threads(max(1, threads))
    return run_trial(task)


class RayTrialExecutor(TrialExecutor):
    """``slots`` trials at the same time, each a Ray task with the trial's resources.

    Args:
        slots: trials in flight (``tune.parallel``); Ray queues those its nodes cannot hold
            yet.
        address: the cluster: ``auto`` (the one this machine belongs to), ``HOST:PORT`` of a
            head node, ``ray://HOST:PORT`` (Ray Client) or ``local`` (start one in this
            process, ended with it).
        settings: the search's storage, checked against the cluster's nodes (default: the
            environment).
        env: the environment whose Athanor settings reach the trials (default: this
            process's).

    Raises:
        RayUnavailable: Ray is missing or the cluster cannot be reached.
        SharedStorageRequired: SQLite storage and a cluster of several nodes.
    """

    def __init__(
        self,
        slots: int = 1,
        *,
        address: str = "auto",
        settings: Settings | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.slots = max(1, slots)
        self.address = address
        source = os.environ if env is None else env
        self.env = {k: v for k, v in source.items() if k.startswith(FORWARDED_PREFIX)}
        self._ray, self._connected_here = self._connect()
        settings = settings or current_settings()
        nodes = [node for node in self._ray.nodes() if node.get("Alive")]
        check_shared_storage(settings, len(nodes))
        journal = journal_path(settings.tuning_url)
        if journal is not None and len(nodes) > 1 and not journal.parent.is_dir():
            raise SharedStorageRequired(
                f"ATHANOR_TUNE_DB_URL: {journal.parent} does not exist here; the journal "
                "must be on a filesystem every node mounts at the same path"
            )
        self._nodes = [node.get("Resources", {}) for node in nodes]
        self._remote = self._ray.remote(max_retries=0)(_run_on_worker)
        self._tasks: dict[Any, TrialTask] = {}

    def _connect(self) -> tuple[Any, bool]:
        # Ray asks before it reports usage statistics; the machines may well be offline.
        os.environ.setdefault(USAGE_STATS_VARIABLE, "0")
        try:
            import ray
        except ImportError as exc:
            raise RayUnavailable("--executor ray needs Ray: pip install 'athanor[ray]'") from exc
        if ray.is_initialized():
            return ray, False
        local = self.address == "local"
        try:
            ray.init(
                address=None if local else self.address,
                log_to_driver=False,
                **({"include_dashboard": False} if local else {}),
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(
                f"--ray-address {self.address}: cannot join the Ray cluster ({exc}); valid: "
                "auto, HOST:PORT of a head node, ray://HOST:PORT or local"
            ) from exc
        return ray, True

    def _options(self, task: TrialTask) -> dict[str, Any]:
        """The trial's ``job.resources`` as Ray task options, checked against the nodes."""
        resources = (task.spec.get("job") or {}).get("resources") or {}
        cpus = int(resources.get("cpus", 1))
        gpus = int(resources.get("gpus", 0))
        memory_gb = resources.get("memory_gb")
        if not any(
            node.get("CPU", 0) >= cpus and node.get("GPU", 0) >= gpus for node in self._nodes
        ):
            biggest = max(self._nodes, key=lambda node: (node.get("GPU", 0), node.get("CPU", 0)))
            raise RayUnavailable(
                f"job.resources: a trial asks for {cpus} CPU(s) and {gpus} GPU(s); the "
                f"largest node of the Ray cluster has {int(biggest.get('CPU', 0))} CPU(s) and "
                f"{int(biggest.get('GPU', 0))} GPU(s)"
            )
        options: dict[str, Any] = {
            "num_cpus": cpus,
            "num_gpus": gpus,
            "name": f"trial {task.number} of {task.study_name}",
            "runtime_env": {"env_vars": self.env},
        }
        if memory_gb:
            options["memory"] = int(float(memory_gb) * 2**30)
        return options

    def submit(self, task: TrialTask, trial: Any) -> None:
        options = self._options(task)
        reference = self._remote.options(**options).remote(task, options["num_cpus"])
        self._tasks[reference] = task

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        if not self._tasks:
            return []
        pending = list(self._tasks)
        ready, _ = self._ray.wait(pending, num_returns=1, timeout=timeout)
        if ready:  # and whatever else ended meanwhile
            ready, _ = self._ray.wait(pending, num_returns=len(pending), timeout=0)
        return [self._outcome(reference, self._tasks.pop(reference)) for reference in ready]

    def _outcome(self, reference: Any, task: TrialTask) -> TrialOutcome:
        from ray import exceptions

        def ended(state: str, reason: str, *, lost: bool = False) -> TrialOutcome:
            return TrialOutcome(
                task.number, task.trial_id, state, reason=reason, params=task.params, lost=lost
            )

        try:
            return self._ray.get(reference)
        except exceptions.TaskCancelledError:
            return ended("interrupted", "cancelled on the Ray cluster")
        except exceptions.RayTaskError as exc:  # raised outside run_trial: Athanor's import...
            cause = exc.cause if exc.cause is not None else exc
            return ended("failed", f"{type(cause).__name__}: {str(cause).strip()[:300]}")
        except exceptions.RuntimeEnvSetupError as exc:
            return ended("failed", f"the Ray worker's environment failed: {exc}")
        except exceptions.RayError as exc:  # the worker or its node died, or ran out of memory
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return ended(
                "interrupted", f"its Ray worker died ({type(exc).__name__}: {first})", lost=True
            )

    def interrupt(self) -> None:
        """Ctrl-C reached only this process: each trial's task gets it too (a
        KeyboardInterrupt, which training takes as a request to stop with a checkpoint)."""
        for reference in self._tasks:
            with contextlib.suppress(Exception):  # a task that ended meanwhile
                self._ray.cancel(reference, force=False)

    def close(self) -> None:
        """Stop the trials still running (each with a checkpoint, within
        :data:`STOP_SECONDS`, then forcibly); the search runs them again when continued."""
        if self._tasks:
            self.interrupt()
            ends = time.monotonic() + STOP_SECONDS
            while self._tasks and time.monotonic() < ends:
                ready, _ = self._ray.wait(list(self._tasks), num_returns=1, timeout=1.0)
                for reference in ready:
                    self._tasks.pop(reference, None)
            for reference in self._tasks:
                with contextlib.suppress(Exception):
                    self._ray.cancel(reference, force=True)
            self._tasks.clear()
        if self._connected_here:
            self._ray.shutdown()

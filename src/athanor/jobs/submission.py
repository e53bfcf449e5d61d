"""Submitting a job: the spec is checked completely before anything is queued.

A job is refused at once, with the reason, when its spec is invalid, its dataset unknown, its
model name invalid, or when it asks for more than the platform has (it could never start).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from athanor.data.versions import resolve_dataset
from athanor.errors import DataError, DatasetUnavailable, UserError
from athanor.jobs.machine import Machine
from athanor.jobs.placement import Demand, never_fits
from athanor.registry.registry import check_model_name
from athanor.settings import Settings
from athanor.spec.loading import load_spec, load_spec_text
from athanor.spec.run import RunSpec
from athanor.store import JobRecord, Store


def check_job_spec(spec: RunSpec, machine: Machine | None) -> None:
    """Refuse a job that could never start here, or whose device contradicts its resources.

    ``machine`` ``None``: the platform runs no jobs itself; the machines of the team that
    join later are not known yet, so only the spec's own consistency is checked.

    Raises:
        UserError: naming the key and what the platform has.
    """
    resources = spec.job.resources
    problem = machine is not None and never_fits(
        Demand(0, resources.gpus, resources.cpus, resources.memory_gb, spec.job.priority),
        machine,
    )
    if problem:
        raise UserError(problem)
    if machine is not None:  # on a cluster, each process (each rank) must fit one node
        ranks = resources.workers
        memory = resources.memory_gb / ranks if resources.memory_gb is not None else None
        too_big = machine.no_node_fits(resources.cpus / ranks, resources.gpus // ranks, memory)
        if too_big:
            spread = (
                "; job.resources.workers spreads a data-parallel job over several nodes"
                if ranks == 1
                else ""
            )
            raise UserError(f"job.resources: {too_big}{spread} (the job could never start)")
    if spec.train.device.startswith("cuda") and resources.gpus == 0:
        raise UserError(
            f"train.device: {spec.train.device} needs a GPU, and job.resources.gpus is 0; "
            "set job.resources.gpus (a job sees only the GPUs it was given)"
        )
    if spec.train.device.startswith("cuda:"):
        index = int(spec.train.device.split(":")[1])
        if index >= resources.gpus:
            raise UserError(
                f"train.device: {spec.train.device}: the job sees its {resources.gpus} GPU(s) "
                f"as cuda:0..cuda:{resources.gpus - 1}"
            )


def load_job_spec(
    spec: Mapping[str, Any] | str | RunSpec,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    origin: str = "spec",
) -> RunSpec:
    """Validate a job's spec: a mapping, YAML text (named ``origin`` in errors) or a RunSpec.

    Raises:
        SpecError: naming the key path (and the line, for YAML text).
    """
    if isinstance(spec, str):
        return load_spec_text(spec, origin, overrides)
    return load_spec(spec, overrides)


def validate_job(
    store: Store,
    machine: Machine | None,
    spec: Mapping[str, Any] | str | RunSpec,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    origin: str = "spec",
) -> RunSpec:
    """Every check :func:`submit` makes, without queueing anything.

    Args:
        store: the platform's store (imported datasets are looked up there).
        machine: what the platform can give jobs (``None``: it runs none itself).
        spec: a mapping, YAML text or a RunSpec.
        overrides: ``["train.epochs=3"]`` or ``{"train.epochs": 3}``.
        origin: the spec's name in error messages.

    Returns:
        The validated spec, defaults filled in.

    Raises:
        SpecError: an invalid spec or override.
        DatasetNotFound: an unknown dataset.
        UserError: an invalid model name, or resources the platform can never provide.
    """
    run_spec = load_job_spec(spec, overrides, origin=origin)
    if run_spec.register_as:
        check_model_name(run_spec.register_as)
    resolve_dataset(run_spec.data.dataset, store.settings)
    check_job_spec(run_spec, machine)
    return run_spec


def check_dataset_loads(spec: RunSpec, settings: Settings) -> None:
    """Load the spec's dataset as its run would, up to its first training batch, training
    nothing: missing files, a target column that is absent or data that cannot be split or
    batched are found before a job waits in the queue for them.

    A catalog dataset that is not on this machine yet passes: its job downloads it (unless
    the platform is offline, where nothing can be downloaded).

    Raises:
        DataError: naming ``data.dataset`` and why it cannot be loaded.
    """
    from dataclasses import replace

    from athanor.data.prepare import prepare

    ref = spec.data.dataset
    try:
        prepared = prepare(spec.data, spec.seed, settings=replace(settings, offline=True))
        next(iter(prepared.batches("train", spec.train.batch_size).epoch(0, 0)))
    except DatasetUnavailable as exc:
        if settings.offline:
            raise DataError(f"data.dataset: '{ref}' cannot be loaded: {exc}") from None
    except UserError as exc:
        raise DataError(f"data.dataset: '{ref}' cannot be loaded: {exc}") from None
    except Exception as exc:  # a check reports what a run would fail on, whatever it is
        raise DataError(
            f"data.dataset: '{ref}' cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None


def submit(
    store: Store,
    machine: Machine | None,
    spec: Mapping[str, Any] | str | RunSpec,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    origin: str = "spec",
    submitted_by: str = "",
    trial: Mapping[str, Any] | None = None,
) -> JobRecord:
    """Check a job completely, then queue it; its run is created ``queued``.

    Args:
        store: the platform's store.
        machine: what the platform can give jobs (``None``: it runs none itself).
        spec: a mapping, YAML text or a RunSpec; its ``job`` section says how it runs.
        overrides: ``["train.epochs=3"]`` or ``{"train.epochs": 3}``.
        origin: the spec's name in error messages (e.g. its file name).
        submitted_by: who submits it.
        trial: the search trial the job trains (see ``athanor.tuning.trials.JobTrial``).

    Returns:
        The queued job.

    Raises:
        SpecError: an invalid spec or override.
        DatasetNotFound: an unknown dataset.
        UserError: an invalid model name, or resources the platform can never provide.
    """
    run_spec = validate_job(store, machine, spec, overrides, origin=origin)
    return store.jobs.submit(
        run_spec.model_dump(mode="json"),
        name=run_spec.name,
        dataset=run_spec.data.dataset,
        submitted_by=submitted_by,
        summary={"trial": dict(trial)} if trial else None,
    )

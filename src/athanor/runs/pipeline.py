"""One run end to end: prepare the data, build the network, fit it, then package, register
and test it (:mod:`athanor.runs.packaging`). Every front end trains through here: the CLI,
the Python API, a job's worker and a search's trial."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from torch import Tensor

from athanor.data.prepare import prepare
from athanor.data.versions import resolve_dataset
from athanor.errors import SpecError, UserError
from athanor.nets.builder import Network, build_network, count_parameters
from athanor.nets.pretrained import IMAGENET_WEIGHTS, ZOO, load_pretrained, zoo_entry
from athanor.registry.package import ModelPackage, load_package
from athanor.registry.registry import check_model_name, package_path, resolve
from athanor.registry.zoo import load_zoo_package
from athanor.runs import lifecycle
from athanor.runs.callbacks import run_callbacks
from athanor.runs.distributed import local_ranks
from athanor.runs.packaging import complete_run
from athanor.runs.recovery import reconcile_orphans
from athanor.runs.result import TrainedRun
from athanor.settings import Settings
from athanor.spec.examples import resolve_spec_path
from athanor.spec.loading import load_spec
from athanor.spec.run import RunSpec
from athanor.store import Lease, RunRecord, Store, open_store
from athanor.store.checkpoints import CheckpointFolder, checkpoint_step
from athanor.training.callbacks import Callback
from athanor.training.distributed import DistributedContext, PeerLost
from athanor.training.losses import loss_description, uses_single_logit
from athanor.training.parameters import freeze, load_matching
from athanor.training.trainer import FitResult, Trainer
from athanor.training.transfer import apply_transfer

StopRecorder = Callable[[int, FitResult], RunRecord]
"""Records a run stopped by a signal (its id, what fit did); returns the stored run."""


def _spec_source(spec: Any) -> Any:
    return resolve_spec_path(spec) if isinstance(spec, str | os.PathLike) else spec


def train(
    spec: str | Path | Mapping[str, Any] | RunSpec,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    register_as: str | None = None,
    progress: bool = True,
    console: Console | None = None,
    callbacks: list[Callback] | None = None,
    settings: Settings | None = None,
    evaluate_test: bool = True,
) -> TrainedRun:
    """Train a network as ``spec`` says, record the run and save the model package.

    Checkpoints are written under the run's artifacts (``train.checkpoint``); SIGTERM or a
    first Ctrl-C stops after the current step with a checkpoint, and the run can be continued
    with :func:`resume`.

    Args:
        spec: a YAML path, a bundled example name (``"mnist-cnn"``), a mapping or a RunSpec.
        overrides: ``{"train.epochs": 3}`` or ``["train.epochs=3"]``. Default none.
        register_as: register the model under this name (default: the spec's
            ``register_as``, else not registered).
        progress: show a live progress bar and a line per epoch (default True).
        console: where progress goes (default: standard error).
        callbacks: extra callbacks, called after the built-in ones.
        settings: store location (default: from the environment).
        evaluate_test: evaluate the test split at the end (default True). Trials of a search
            pass False: they are compared on validation metrics alone, and only the chosen
            model is tested, once (:func:`test_run`).

    Returns:
        The stored run, its history, test metrics, package folder and model version.

    Raises:
        SpecError: an invalid spec, before anything is recorded.
        UserError: data or network problems (the run is recorded as failed with the reason).
    """
    run_spec = load_spec(_spec_source(spec), overrides)
    if register_as:
        run_spec = run_spec.model_copy(update={"register_as": check_model_name(register_as)})
    elif run_spec.register_as:
        check_model_name(run_spec.register_as)
    resolve_dataset(run_spec.data.dataset, settings)  # unknown names fail before a run exists
    store = open_store(settings)
    reconcile_orphans(store)
    record = store.runs.create(
        run_spec.model_dump(mode="json"), name=run_spec.name, dataset=run_spec.data.dataset
    )
    return _guarded(
        store,
        record,
        run_spec,
        progress,
        console,
        callbacks,
        resume_from=None,
        evaluate_test=evaluate_test,
    )


def resume(
    run_id: int,
    *,
    progress: bool = True,
    console: Console | None = None,
    callbacks: list[Callback] | None = None,
    settings: Settings | None = None,
    evaluate_test: bool = True,
) -> TrainedRun:
    """Continue a stopped, cancelled or crashed run from its latest checkpoint.

    The result is the same as if the run had never been interrupted: same batches, same
    random numbers, same weights (bitwise on the CPU). Metric points logged after the
    checkpoint are replaced. ``evaluate_test`` is as for :func:`train`.

    Raises:
        NotFound: no such run.
        UserError: the run is still running, already succeeded, or has no checkpoint.
    """
    store = open_store(settings)
    reconcile_orphans(store)
    record = store.runs.get(run_id)
    lifecycle.ensure_resumable(record)
    checkpoint = CheckpointFolder.of_run(store.artifacts.run_dir(run_id)).fetch_newest(
        store.artifacts
    )
    if checkpoint is None:
        raise UserError(
            f"run {run_id} has no checkpoint to resume from (it {record.status} before its "
            "first one; train.checkpoint.every_steps makes them more frequent)"
        )
    step = checkpoint_step(checkpoint)
    spec = RunSpec.model_validate(record.spec)
    change = lifecycle.resumed(record, step)
    store.runs.delete_metrics_after(run_id, step)
    claimed = store.runs.transition(run_id, change, owner=Lease.of_this_process())
    if claimed is None:  # it changed since it was read: say how it is now
        lifecycle.ensure_resumable(store.runs.get(run_id))
        raise UserError(f"run {run_id} changed while it was being resumed; try again")
    record = claimed
    return _guarded(
        store,
        record,
        spec,
        progress,
        console,
        callbacks,
        resume_from=checkpoint,
        evaluate_test=evaluate_test,
    )


def execute(
    run_id: int,
    *,
    progress: bool = True,
    console: Console | None = None,
    callbacks: list[Callback] | None = None,
    settings: Settings | None = None,
    on_stop: StopRecorder | None = None,
    evaluate_test: bool = True,
    distributed: DistributedContext | None = None,
) -> TrainedRun | None:
    """Execute a queued run: one attempt of a job, in the worker the platform started for it.

    The run is claimed for this process in one statement (two workers never both train
    it). An attempt after a crash continues from the run's newest checkpoint, exactly as
    :func:`resume` does; every metric point logged before the crash is kept, and points the
    attempt computes again for steps already logged are not written twice.

    Args:
        run_id: a run in the ``queued`` status with a job (see ``athanor.jobs``).
        progress: print progress lines (to standard error, i.e. the job's log).
        console: where progress goes (default: standard error).
        callbacks: extra callbacks, e.g. the job's progress reporter.
        settings: the store (default: from the environment).
        on_stop: records a stop requested by SIGTERM instead of marking the run cancelled
            (the platform requeues a run it preempts).
        evaluate_test: as for :func:`train` (a search's trials are not tested).
        distributed: rank 0's place in a process group already started for the run's
            ``job.resources.workers`` (Ray Train's); default: start the other ranks here.

    Returns:
        The run's outcome, or ``None`` when it was no longer queued (nothing was done).

    Raises:
        NotFound: no such job.
        UserError: data or network problems (the run is recorded as failed with the reason).
    """
    store = open_store(settings)
    record = store.runs.get(run_id)
    checkpoint = CheckpointFolder.of_run(store.artifacts.run_dir(run_id)).fetch_newest(
        store.artifacts
    )
    step = checkpoint_step(checkpoint) if checkpoint is not None else None
    claimed = store.jobs.claim(run_id, lifecycle.started(step))
    if claimed is None:
        return None
    spec = RunSpec.model_validate(record.spec)
    logged = store.runs.last_logged_steps(run_id)
    return _guarded(
        store,
        claimed,
        spec,
        progress,
        console,
        callbacks,
        resume_from=checkpoint,
        logged_until=logged,
        on_stop=on_stop,
        evaluate_test=evaluate_test,
        distributed=distributed,
    )


def _guarded(
    store: Store,
    record: RunRecord,
    spec: RunSpec,
    progress: bool,
    console: Console | None,
    callbacks: list[Callback] | None,
    *,
    resume_from: Path | None,
    logged_until: dict[str, int] | None = None,
    on_stop: StopRecorder | None = None,
    evaluate_test: bool = True,
    distributed: DistributedContext | None = None,
) -> TrainedRun:
    """Run, recording how it ended: succeeded, cancelled (resumable) or failed with why.

    A job's run whose other ranks failed (:class:`PeerLost`) is left running for the job's
    restart policy to decide, as for a worker that was killed.
    """
    try:
        return _execute(
            store,
            record,
            spec,
            progress,
            console,
            callbacks,
            resume_from,
            logged_until=logged_until,
            on_stop=on_stop,
            evaluate_test=evaluate_test,
            distributed=distributed,
        )
    except PeerLost as exc:
        # A job's worker exits leaving its run running: the job's restart policy resumes it
        # from its checkpoint, as after a killed worker. A foreground run fails (resumable).
        if not store.jobs.exists(record.id):
            store.runs.transition(record.id, lifecycle.failed(exc))
        raise
    # A run that ended otherwise meanwhile (its stop recorded before the error) stays so.
    except KeyboardInterrupt:
        store.runs.transition(record.id, lifecycle.interrupted())
        raise
    except BaseException as exc:
        store.runs.transition(record.id, lifecycle.failed(exc))
        raise
    finally:
        # whatever the end, what the run wrote reaches the bucket (a no-op without one)
        store.artifacts.publish_run(record.id)


@contextmanager
def _stop_on_signals(trainer: Trainer) -> Iterator[None]:
    """SIGTERM or a first Ctrl-C stop the trainer after its current step, with a checkpoint;
    a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    requested: list[str] = []

    def handle(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if requested:
            raise KeyboardInterrupt
        requested.append(name)
        trainer.request_stop(f"stopped by {name}")

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start_weights(
    store: Store, spec: RunSpec, network: Network, classes: list[str] | None
) -> tuple[str | None, str] | None:
    """Load published (``pretrained``, ``init_from: zoo:...``) or ``train.init_from`` weights.

    ``classes`` are the run's classes: a package's head is kept only for the same ones.

    Returns:
        The parent model version's reference (``name@vN``, None for published weights) and
        what was loaded, or None when the network starts from scratch.
    """
    source = spec.train.init_from
    if source is not None and source.model.removeprefix("zoo:") in ZOO:
        entry = zoo_entry(source.model)
        return None, load_pretrained(network, entry, store.settings)
    if source is not None and source.model.startswith("zoo:"):  # Athanor's own zoo
        package = load_zoo_package(source.model, store.settings)
        state = _without_other_head(package, classes)
        report = load_matching(network, state, strict=source.strict, source_name=source.model)
        return None, report.describe(f"{source.model} ({package.content_hash[:12]})")
    if getattr(spec.model, "pretrained", None) == "imagenet":
        entry = IMAGENET_WEIGHTS[spec.model.depth]  # type: ignore[union-attr]
        loaded = load_pretrained(network, entry, store.settings)
        if source is None:
            return None, loaded
    if source is None:
        return None
    version = resolve(store, source.model)
    package = load_package(package_path(store, version), expected_hash=version.content_hash)
    report = load_matching(
        network,
        _without_other_head(package, classes),
        strict=source.strict,
        source_name=version.ref,
    )
    return version.ref, report.describe(version.ref)


def _without_other_head(package: ModelPackage, classes: list[str] | None) -> dict[str, Tensor]:
    """The package's tensors, less its head when it was trained for other classes: digits 0-4
    to 5-9 keeps the size of the head, not its meaning, so it starts fresh."""
    theirs = package.metadata["schema"].get("classes")
    if classes is None or theirs is None or theirs == classes:
        return package.state_dict
    return {k: v for k, v in package.state_dict.items() if not k.startswith("output.")}


def _execute(
    store: Store,
    record: RunRecord,
    spec: RunSpec,
    progress: bool,
    console: Console | None,
    extra_callbacks: list[Callback] | None,
    resume_from: Path | None,
    *,
    logged_until: dict[str, int] | None = None,
    on_stop: StopRecorder | None = None,
    evaluate_test: bool = True,
    distributed: DistributedContext | None = None,
) -> TrainedRun:
    console = console or Console(stderr=True)
    skipped = None
    if spec.train.transfer is not None and not spec.starts_from_weights:
        if spec.train.transfer.from_scratch == "error":
            raise SpecError(
                f"train.transfer: the {spec.train.transfer.preset} recipe keeps trained "
                "weights, and this network starts from scratch: add train.init_from (a "
                "registered model or zoo:NAME) or model.pretrained, or remove train.transfer"
            )
        # from_scratch: train_all: nothing to keep, every layer learns
        skipped = f"train.transfer ({spec.train.transfer.preset}) not applied: no trained weights"
        spec = spec.model_copy(update={"train": spec.train.model_copy(update={"transfer": None})})
    if progress:
        console.print(f"run {record.id}: loading {spec.data.dataset}...", highlight=False)
    prepared = prepare(spec.data, spec.seed, settings=store.settings)
    if uses_single_logit(spec.train.loss, prepared.schema):
        prepared.schema = prepared.schema.model_copy(update={"single_logit": True})
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    started = (
        _start_weights(store, spec, network, prepared.schema.classes)
        if resume_from is None
        else None
    )
    parent, transfer = started if started is not None else (None, None)
    # Frozen before counting, so the run's record says what training really updates.
    if spec.train.freeze:
        freeze(network, spec.train.freeze)
    apply_transfer(network, spec.train.transfer)
    run_dir = store.artifacts.run_dir(record.id)
    assembled = run_callbacks(
        spec,
        prepared,
        network,
        runs=store.runs,
        run_id=record.id,
        run_dir=run_dir,
        console=console,
        progress=progress,
        logged_until=logged_until,
        extra=extra_callbacks,
        artifacts=store.artifacts,
    )
    checkpoint_dir = CheckpointFolder.of_run(run_dir).path
    ranks = ExitStack()  # the other data-parallel ranks, until training ends
    context = ranks.enter_context(
        nullcontext(distributed)
        if distributed is not None
        else local_ranks(
            spec, checkpoint_dir=checkpoint_dir, resume_from=resume_from, settings=store.settings
        )
    )
    try:
        trainer = Trainer(
            spec.train,
            seed=spec.seed,
            callbacks=assembled.callbacks,
            checkpoint_dir=checkpoint_dir,
            distributed=context,
        )
        trainer.run_id = record.id
        trainable, frozen = count_parameters(network)
        loss = loss_description(
            spec.train.loss, prepared.schema, scaled_target=bool(prepared.preprocessor.target_steps)
        )
        store.runs.update(
            record.id,
            summary={
                "data": prepared.record,
                "loss": loss,
                "parameters": {"trainable": trainable, "frozen": frozen},
                "device": str(trainer.device),
                **({"init_from": transfer} if transfer else {}),
                **({"transfer": skipped} if skipped else {}),
                **({"parent": parent} if parent else {}),
                **({"workers": context.world_size} if context.active else {}),
            },
        )
        if progress:
            sizes = prepared.record["split"]["sizes"]
            console.print(
                f"run {record.id}: {trainable + frozen:,} parameters"
                + (f" ({frozen:,} frozen)" if frozen else "")
                + f" on {trainer.device}"
                + (f" x {context.world_size} workers (DDP)" if context.active else "")
                + "; "
                + ", ".join(f"{name} {count:,}" for name, count in sizes.items()),
                highlight=False,
            )
            console.print(f"run {record.id}: loss {loss}", highlight=False)
            for warning in prepared.record.get("warnings", []):
                console.print(f"run {record.id}: warning: {warning}", highlight=False, markup=False)
            for note in (transfer, f"resuming from {resume_from.name}" if resume_from else None):
                if note:
                    console.print(f"run {record.id}: {note}", highlight=False)
    except BaseException:
        ranks.close()  # the other ranks stop with the run
        raise
    with ranks, _stop_on_signals(trainer):
        fit = trainer.fit(network, prepared, resume_from=resume_from)
    if trainer.frozen:
        store.runs.update(record.id, summary={"frozen": trainer.frozen})
    if fit.interrupted:
        if on_stop is not None:
            return TrainedRun(on_stop(record.id, fit), fit, {}, None, None, network)
        change = lifecycle.stopped(record.id, str(fit.stop_reason), fit.steps)
        run = store.runs.transition(record.id, change, summary={"steps": fit.steps})
        return TrainedRun(run or store.runs.get(record.id), fit, {}, None, None, network)
    return complete_run(
        store, record, spec, prepared, network, trainer, fit, assembled.stopping, evaluate_test
    )

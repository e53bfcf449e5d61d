"""Training runs from the Python API: ``athanor.train(spec)`` and ``athanor.resume(run_id)``."""

from __future__ import annotations

import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from athanor.data.prepare import Prepared, prepare
from athanor.data.versions import resolve_dataset
from athanor.errors import UserError
from athanor.nets.builder import Network, build_network, count_parameters
from athanor.registry.lineage import code_version
from athanor.registry.model_card import render_model_card
from athanor.registry.package import load_package, write_package
from athanor.registry.registry import (
    check_model_name,
    package_path,
    register_package,
    resolve,
)
from athanor.serve.predictor import Predictor
from athanor.settings import Settings
from athanor.spec.examples import resolve_spec_path
from athanor.spec.loading import load_spec
from athanor.spec.run import RunSpec
from athanor.store import ModelVersionRecord, RunRecord, RunStatus, Store, open_store
from athanor.store.runs import MetricPoint
from athanor.train.callbacks import Callback, EarlyStopping, ProgressBar, StoreLogger
from athanor.train.callbacks.anomaly_threshold import AnomalyThreshold
from athanor.train.callbacks.gan_samples import GanSamples
from athanor.train.callbacks.lr_monitor import LRMonitor
from athanor.train.callbacks.text_samples import TextSamples
from athanor.train.losses import uses_single_logit
from athanor.train.parameters import load_matching
from athanor.train.trainer import FitResult, Trainer, latest_checkpoint

StopRecorder = Callable[[int, FitResult], RunRecord]
"""Records a run stopped by a signal (its id, what fit did); returns the stored run."""


@dataclass
class TrainedRun:
    """The outcome of :func:`train` or :func:`resume`.

    ``package_dir`` and ``model_version`` are ``None`` when the run was stopped before the
    end (it can be resumed).
    """

    run: RunRecord
    fit: FitResult
    test_metrics: dict[str, float]
    package_dir: Path | None
    model_version: ModelVersionRecord | None
    network: Network

    @property
    def id(self) -> int:
        return self.run.id

    def predictor(self) -> Predictor:
        """A predictor reloaded from the run's saved package."""
        if self.package_dir is None:
            raise UserError(f"run {self.id} was stopped before the end and has no model yet")
        return Predictor.from_package(self.package_dir)


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
    store.runs.reconcile_orphans()
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
    store.runs.reconcile_orphans()
    record = store.runs.get(run_id)
    if record.status == RunStatus.RUNNING:
        raise UserError(
            f"run {run_id} is still running (pid {record.pid} on {record.host}); stop it first"
        )
    if record.status == RunStatus.SUCCEEDED:
        raise UserError(f"run {run_id} already succeeded; there is nothing to resume")
    checkpoint = latest_checkpoint(store.artifacts.run_dir(run_id) / "checkpoints")
    if checkpoint is None:
        raise UserError(
            f"run {run_id} has no checkpoint to resume from (it {record.status} before its "
            "first one; train.checkpoint.every_steps makes them more frequent)"
        )
    step = int(checkpoint.name.split("-")[1])
    spec = RunSpec.model_validate(record.spec)
    store.runs.delete_metrics_after(run_id, step)
    record = store.runs.claim(run_id, f"resumed from the checkpoint at step {step}")
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

    Returns:
        The run's outcome, or ``None`` when it was no longer queued (nothing was done).

    Raises:
        NotFound: no such job.
        UserError: data or network problems (the run is recorded as failed with the reason).
    """
    store = open_store(settings)
    record = store.runs.get(run_id)
    checkpoint = latest_checkpoint(store.artifacts.run_dir(run_id) / "checkpoints")
    note = (
        f"resumed from the checkpoint at step {int(checkpoint.name.split('-')[1])}"
        if checkpoint is not None
        else "started"
    )
    claimed = store.jobs.claim(run_id, note)
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
) -> TrainedRun:
    """Run, recording how it ended: succeeded, cancelled (resumable) or failed with why."""
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
        )
    except KeyboardInterrupt:
        store.runs.finish(record.id, RunStatus.CANCELLED, "interrupted (Ctrl-C twice)")
        raise
    except UserError as exc:
        store.runs.finish(record.id, RunStatus.FAILED, str(exc))
        raise
    except BaseException as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1:] or [None]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last[0] else ""
        store.runs.finish(record.id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}{where}")
        raise


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


def _task_callbacks(
    spec: RunSpec,
    prepared: Prepared,
    network: Network,
    *,
    console: Console,
    progress: bool,
) -> list[Callback]:
    """Callbacks a task needs: text samples for language models, the anomaly threshold of
    autoencoders (chosen on validation windows)."""
    schema = prepared.schema
    if schema.task == "language_model" and hasattr(network, "sample") and schema.input.vocab:
        level = getattr(getattr(spec.data, "text", None), "level", "char")
        return [
            TextSamples(
                schema.input.vocab,
                prefix="" if level == "word" else "\n",
                length=60 if level == "word" else 300,
                seed=spec.seed,
                console=console if progress else None,
                joiner=" " if level == "word" else "",
            )
        ]
    if schema.task == "reconstruction" and prepared.size("val"):
        return [AnomalyThreshold(prepared, spec.train.eval_batch_size)]
    return []


def _start_weights(store: Store, spec: RunSpec, network: Network) -> str | None:
    """Load ``train.init_from`` weights into ``network``; returns what was done."""
    source = spec.train.init_from
    if source is None:
        return None
    version = resolve(store, source.model)
    package = load_package(package_path(store, version), expected_hash=version.content_hash)
    report = load_matching(
        network, package.state_dict, strict=source.strict, source_name=version.ref
    )
    return report.describe(version.ref)


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
) -> TrainedRun:
    console = console or Console(stderr=True)
    if progress:
        console.print(f"run {record.id}: loading {spec.data.dataset}...", highlight=False)
    prepared = prepare(spec.data, spec.seed, settings=store.settings)
    if uses_single_logit(spec.train.loss, prepared.schema):
        prepared.schema = prepared.schema.model_copy(update={"single_logit": True})
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    transfer = _start_weights(store, spec, network) if resume_from is None else None
    callbacks: list[Callback] = []
    if progress:
        callbacks.append(ProgressBar(console))
    stopping = EarlyStopping(spec.train.early_stopping) if spec.train.early_stopping else None
    if stopping is not None:
        callbacks.append(stopping)
    callbacks += [LRMonitor(), StoreLogger(store.runs, record.id, logged_until=logged_until)]
    run_dir = store.artifacts.run_dir(record.id)
    callbacks += _task_callbacks(spec, prepared, network, console=console, progress=progress)
    if prepared.schema.task == "generation":
        callbacks.append(
            GanSamples(
                run_dir / "samples",
                prepared.preprocessor.to_json(),
                every=spec.train.gan.samples_every,
                grid=spec.train.gan.grid,
                seed=spec.seed,
            )
        )
    callbacks.extend(extra_callbacks or [])
    trainer = Trainer(
        spec.train, seed=spec.seed, callbacks=callbacks, checkpoint_dir=run_dir / "checkpoints"
    )
    trainer.run_id = record.id
    trainable, frozen = count_parameters(network)
    store.runs.update(
        record.id,
        summary={
            "data": prepared.record,
            "parameters": {"trainable": trainable, "frozen": frozen},
            "device": str(trainer.device),
            **({"init_from": transfer} if transfer else {}),
        },
    )
    if progress:
        sizes = prepared.record["split"]["sizes"]
        console.print(
            f"run {record.id}: {trainable + frozen:,} parameters on {trainer.device}; "
            + ", ".join(f"{name} {count:,}" for name, count in sizes.items()),
            highlight=False,
        )
        for note in (transfer, f"resuming from {resume_from.name}" if resume_from else None):
            if note:
                console.print(f"run {record.id}: {note}", highlight=False)
    with _stop_on_signals(trainer):
        fit = trainer.fit(network, prepared, resume_from=resume_from)
    if trainer.frozen:
        store.runs.update(record.id, summary={"frozen": trainer.frozen})
    if fit.interrupted:
        if on_stop is not None:
            return TrainedRun(on_stop(record.id, fit), fit, {}, None, None, network)
        reason = (
            f"{fit.stop_reason} at step {fit.steps}; "
            f"continue with 'athanor runs resume {record.id}'"
        )
        run = store.runs.finish(record.id, RunStatus.CANCELLED, reason, {"steps": fit.steps})
        return TrainedRun(run, fit, {}, None, None, network)
    return _complete(store, record, spec, prepared, network, trainer, fit, stopping, evaluate_test)


def _layer_rows(network: Network) -> list[tuple[str, str, str]]:
    """(name, type, output shape) per layer for the model card."""
    if hasattr(network, "layer_specs"):
        return [
            (name, layer.type, str(list(shape)))
            for (name, layer), shape in zip(
                network.layer_specs.items(), network.layer_shapes.values(), strict=True
            )
        ]
    return [(name, type(child).__name__, "") for name, child in network.named_children()]


def _complete(
    store: Store,
    record: RunRecord,
    spec: RunSpec,
    prepared: Prepared,
    network: Network,
    trainer: Trainer,
    fit: FitResult,
    stopping: EarlyStopping | None,
    evaluate_test: bool = True,
) -> TrainedRun:
    """Test once (unless told not to), save the package, register it, and mark the run
    succeeded."""
    test_metrics = trainer.test(prepared) if evaluate_test else {}
    if test_metrics:
        store.runs.log_metrics(
            record.id,
            [
                MetricPoint(name, fit.steps, fit.epochs_run, value, 0.0)
                for name, value in test_metrics.items()
            ],
        )
    final = dict(fit.history[-1]) if fit.history else {}
    if stopping is not None and stopping.restored_epoch is not None:
        final = dict(fit.history[stopping.restored_epoch - 1])
    metrics = {
        key: value
        for key, value in {**final, **test_metrics}.items()
        if key not in ("lr", "epoch_seconds")
    }
    register_name = spec.register_as
    run_dir = store.artifacts.run_dir(record.id)
    package_dir = run_dir / "model"
    run_dir.mkdir(parents=True, exist_ok=True)
    spec_json = spec.model_dump(mode="json")
    schema_json = prepared.schema.model_dump(mode="json")
    lineage = {
        "run_id": record.id,
        "dataset": spec.data.dataset,
        **prepared.record,
        "code": code_version(Path.cwd()),
    }
    layers = _layer_rows(network)
    card = render_model_card(
        title=register_name or spec.name,
        spec=spec_json,
        schema=schema_json,
        metrics=metrics,
        lineage=lineage,
        parameters=sum(count_parameters(network)),
        layers=layers,
    )
    if package_dir.exists():  # a resumed run that had finished training before it crashed
        import shutil

        shutil.rmtree(package_dir)
    with store.artifacts.staging(package_dir) as staging:
        content_hash = write_package(
            staging,
            state_dict=network.state_dict(),
            spec=spec_json,
            schema=schema_json,
            preprocessing=prepared.preprocessor.to_json(),
            metrics=metrics,
            lineage=lineage,
            card=card,
        )
    reason = fit.stop_reason or f"completed {fit.epochs_run} epoch(s)"
    if stopping is not None and stopping.restored_epoch is not None:
        reason += f"; kept the weights of epoch {stopping.restored_epoch}"
    reports = {**fit.reports, **getattr(trainer, "test_reports", {})}
    summary = {
        "metrics": metrics,
        **({} if evaluate_test else {"test": "not evaluated"}),
        "epochs_run": fit.epochs_run,
        "steps": fit.steps,
        "best_epoch": fit.best_epoch,
        "train_seconds": round(fit.seconds, 3),
        "samples_per_second": round(fit.samples_per_second, 1),
        "package": store.artifacts.relative(package_dir),
        "package_hash": content_hash,
        **({"reports": reports} if reports else {}),
    }
    version = None
    if register_name:
        version = register_package(
            store,
            register_name,
            package_dir,
            run_id=record.id,
            metrics=metrics,
            description=spec.description,
        )
        summary["registered_as"] = version.ref
    run = store.runs.finish(record.id, RunStatus.SUCCEEDED, reason, summary)
    fit.test_metrics = test_metrics
    return TrainedRun(run, fit, test_metrics, package_dir, version, network)


@dataclass
class TestedRun:
    """The outcome of :func:`test_run`: the run, its test metrics and the registered version."""

    run: RunRecord
    test_metrics: dict[str, float]
    model_version: ModelVersionRecord | None
    evaluated: bool
    """False when the run had been tested before and its recorded metrics were returned."""

    __test__ = False  # not a pytest test class, despite its name


def test_run(
    run_id: int,
    *,
    register_as: str | None = None,
    description: str = "",
    settings: Settings | None = None,
) -> TestedRun:
    """Evaluate a succeeded run's model on its test split, once, and optionally register it.

    Meant for runs trained with ``evaluate_test=False``: the winner of a search is tested
    here after it was chosen on validation metrics alone. The split is rebuilt from the run's
    spec (same seed, same samples). A run that already has test metrics is not evaluated
    again: its recorded metrics are returned, so the test split is looked at once per model.

    Args:
        run_id: a succeeded run.
        register_as: register the model under this name, with its test metrics.
        description: the registered version's description.
        settings: store location (default: from the environment).

    Returns:
        The updated run record, its test metrics and the registered version.

    Raises:
        NotFound: no such run.
        UserError: the run did not succeed, or its data has no test split.
    """
    store = open_store(settings)
    record = store.runs.get(run_id)
    if record.status != RunStatus.SUCCEEDED or not record.summary.get("package"):
        raise UserError(f"run {run_id} {record.status}; only a succeeded run has a model to test")
    if register_as:
        check_model_name(register_as)
    metrics = dict(record.summary.get("metrics", {}))
    tested = {name: value for name, value in metrics.items() if name.startswith("test_")}
    evaluated = not tested
    package_dir = store.artifacts.resolve(record.summary["package"])
    if evaluated:
        spec = RunSpec.model_validate(record.spec)
        tested = _evaluate_test_split(store, spec, package_dir, record.summary.get("package_hash"))
        if not tested:
            raise UserError(
                f"run {run_id}: dataset '{spec.data.dataset}' has no test split to evaluate "
                "(data.split.test)"
            )
        epochs = int(record.summary.get("epochs_run", 0))
        store.runs.log_metrics(
            run_id,
            [
                MetricPoint(name, int(record.summary.get("steps", 0)), epochs, value, 0.0)
                for name, value in tested.items()
            ],
        )
        metrics.update(tested)
        store.runs.update(
            run_id, summary={"metrics": metrics, "test": "evaluated once, after selection"}
        )
    version = None
    if register_as:
        version = register_package(
            store,
            register_as,
            package_dir,
            run_id=run_id,
            metrics=metrics,
            description=description,
        )
        store.runs.update(run_id, summary={"registered_as": version.ref})
    return TestedRun(store.runs.get(run_id), tested, version, evaluated)


def _evaluate_test_split(
    store: Store, spec: RunSpec, package_dir: Path, package_hash: str | None
) -> dict[str, float]:
    """Loss and scalar metrics of the package's network on the test split of ``spec``."""
    from athanor.train.devices import select_device
    from athanor.train.evaluation import evaluate_split, split_scalars
    from athanor.train.losses import build_loss
    from athanor.train.metrics import build_metrics

    prepared = prepare(spec.data, spec.seed, settings=store.settings)
    if prepared.schema.task == "generation":
        raise UserError("a generative model has no test metrics to evaluate")
    if not prepared.size("test"):
        return {}
    if uses_single_logit(spec.train.loss, prepared.schema):
        prepared.schema = prepared.schema.model_copy(update={"single_logit": True})
    package = load_package(package_dir, expected_hash=package_hash)
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    network.load_state_dict(package.state_dict)
    device = select_device(spec.train.device)
    network.to(device)
    counts = prepared.class_counts() if spec.train.loss.class_weights == "balanced" else None
    results = evaluate_split(
        network,
        prepared.batches("test", spec.train.eval_batch_size, device=device),
        build_loss(spec.train.loss, prepared.schema, counts).to(device),
        build_metrics(spec.train.metrics, prepared.schema),
        prefix="test",
        # in the targets' own units, as the validation metrics the winner was chosen on
        unscale=prepared.preprocessor.inverse_target
        if prepared.preprocessor.target_steps
        else None,
    )
    return split_scalars(results)[0]

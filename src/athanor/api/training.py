"""Training runs from the Python API: ``athanor.train(spec)``."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from athanor.data.catalog import catalog_entry
from athanor.data.prepare import prepare
from athanor.errors import UserError
from athanor.nets.builder import Network, build_network, count_parameters
from athanor.registry.lineage import code_version
from athanor.registry.model_card import render_model_card
from athanor.registry.package import write_package
from athanor.registry.registry import check_model_name, register_package
from athanor.serve.predictor import Predictor
from athanor.settings import Settings
from athanor.spec.examples import resolve_spec_path
from athanor.spec.loading import load_spec
from athanor.spec.run import RunSpec
from athanor.store import ModelVersionRecord, RunRecord, RunStatus, Store, open_store
from athanor.store.runs import MetricPoint
from athanor.train.callbacks import Callback, EarlyStopping, ProgressBar, StoreLogger
from athanor.train.trainer import FitResult, Trainer


@dataclass
class TrainedRun:
    """The outcome of :func:`train`."""

    run: RunRecord
    fit: FitResult
    test_metrics: dict[str, float]
    package_dir: Path
    model_version: ModelVersionRecord | None
    network: Network

    @property
    def id(self) -> int:
        return self.run.id

    def predictor(self) -> Predictor:
        """A predictor reloaded from the run's saved package."""
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
) -> TrainedRun:
    """Train a network as ``spec`` says, record the run and save the model package.

    Args:
        spec: a YAML path, a bundled example name (``"mnist-cnn"``), a mapping or a RunSpec.
        overrides: ``{"train.epochs": 3}`` or ``["train.epochs=3"]``. Default none.
        register_as: register the model under this name (default: the spec's
            ``register_as``, else not registered).
        progress: show a live progress bar and a line per epoch (default True).
        console: where progress goes (default: standard error).
        callbacks: extra callbacks, called after the built-in ones.
        settings: store location (default: from the environment).

    Returns:
        The stored run, its history, test metrics, package folder and model version.

    Raises:
        SpecError: an invalid spec, before anything is recorded.
        UserError: data or network problems (the run is recorded as failed with the reason).
    """
    run_spec = load_spec(_spec_source(spec), overrides)
    register_name = register_as or run_spec.register_as
    if register_name:
        check_model_name(register_name)
    catalog_entry(run_spec.data.dataset)  # an unknown name fails before a run is recorded
    store = open_store(settings)
    store.runs.reconcile_orphans()
    record = store.runs.create(
        run_spec.model_dump(mode="json"), name=run_spec.name, dataset=run_spec.data.dataset
    )
    try:
        return _execute(store, record, run_spec, register_name, progress, console, callbacks)
    except KeyboardInterrupt:
        store.runs.finish(record.id, RunStatus.CANCELLED, "interrupted (Ctrl-C)")
        raise
    except UserError as exc:
        store.runs.finish(record.id, RunStatus.FAILED, str(exc))
        raise
    except BaseException as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1:] or [None]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last[0] else ""
        store.runs.finish(record.id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}{where}")
        raise


def _execute(
    store: Store,
    record: RunRecord,
    spec: RunSpec,
    register_name: str | None,
    progress: bool,
    console: Console | None,
    extra_callbacks: list[Callback] | None,
) -> TrainedRun:
    console = console or Console(stderr=True)
    if progress:
        console.print(f"run {record.id}: loading {spec.data.dataset}...", highlight=False)
    prepared = prepare(spec.data, spec.seed, settings=store.settings)
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    trainable, frozen = count_parameters(network)
    callbacks: list[Callback] = []
    if progress:
        callbacks.append(ProgressBar(console))
    stopping = EarlyStopping(spec.train.early_stopping) if spec.train.early_stopping else None
    if stopping is not None:
        callbacks.append(stopping)
    callbacks.append(StoreLogger(store.runs, record.id))
    callbacks.extend(extra_callbacks or [])
    trainer = Trainer(spec.train, seed=spec.seed, callbacks=callbacks)
    store.runs.update(
        record.id,
        summary={
            "data": prepared.record,
            "parameters": {"trainable": trainable, "frozen": frozen},
            "device": str(trainer.device),
        },
    )
    if progress:
        sizes = prepared.record["split"]["sizes"]
        console.print(
            f"run {record.id}: {trainable:,} parameters on {trainer.device}; "
            + ", ".join(f"{name} {count:,}" for name, count in sizes.items()),
            highlight=False,
        )
    fit = trainer.fit(network, prepared)
    test_metrics = trainer.test(prepared)
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
    layers = [
        (name, layer.type, str(list(shape)))
        for (name, layer), shape in zip(
            network.layer_specs.items(), network.layer_shapes.values(), strict=True
        )
    ]
    card = render_model_card(
        title=register_name or spec.name,
        spec=spec_json,
        schema=schema_json,
        metrics=metrics,
        lineage=lineage,
        parameters=trainable + frozen,
        layers=layers,
    )
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
    summary = {
        "metrics": metrics,
        "epochs_run": fit.epochs_run,
        "steps": fit.steps,
        "best_epoch": fit.best_epoch,
        "train_seconds": round(fit.seconds, 3),
        "samples_per_second": round(fit.samples_per_second, 1),
        "package": store.artifacts.relative(package_dir),
        "package_hash": content_hash,
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

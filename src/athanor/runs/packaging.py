"""The end of a successful run: test once, write the model package, register it, and mark
the run succeeded."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from athanor.data.prepare import Prepared
from athanor.nets.builder import Network, count_parameters
from athanor.nets.hardware import local_cost
from athanor.registry.lineage import code_version
from athanor.registry.model_card import render_model_card
from athanor.registry.package import write_package
from athanor.registry.registry import register_package
from athanor.runs import lifecycle
from athanor.runs.evaluation import evaluate_run, write_evaluation
from athanor.runs.result import TrainedRun
from athanor.spec.run import RunSpec
from athanor.store import RunRecord, Store
from athanor.store.runs import MetricPoint
from athanor.training.callbacks import EarlyStopping
from athanor.training.trainer import FitResult, Trainer


def complete_run(
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
    if prepared.schema.task == "next_key":
        fit.reports["log_anomaly_rule"] = choose_log_rule(spec, prepared, network, trainer)
        if evaluate_test and "test" in prepared.sessions:
            test_metrics.update(
                _score_log_sessions(prepared, network, trainer, fit.reports["log_anomaly_rule"])
            )
    run_dir = store.artifacts.run_dir(record.id)
    if test_metrics:
        store_evaluation(
            store, run_dir, network, prepared, trainer.spec.eval_batch_size, trainer.device
        )
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
    package_dir = run_dir / "model"
    run_dir.mkdir(parents=True, exist_ok=True)
    spec_json = spec.model_dump(mode="json")
    schema_json = prepared.schema.model_dump(mode="json")
    parent = store.runs.get(record.id).summary.get("parent")
    lineage = {
        "run_id": record.id,
        "dataset": spec.data.dataset,
        **({"parent": parent} if parent else {}),
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
            anomaly=fit.reports.get("anomaly_threshold") or fit.reports.get("log_anomaly_rule"),
        )
    restored = stopping.restored_epoch if stopping is not None else None
    reason = lifecycle.completion_reason(fit.stop_reason, fit.epochs_run, restored)
    reports = {**fit.reports, **getattr(trainer, "test_reports", {})}
    summary = {
        "metrics": metrics,
        **({} if evaluate_test else {"test": "not evaluated"}),
        "epochs_run": fit.epochs_run,
        "steps": fit.steps,
        "best_epoch": fit.best_epoch,
        "train_seconds": round(fit.seconds, 3),
        "samples_per_second": round(fit.samples_per_second, 1),
        **device_cost(store.runs.get(record.id), str(trainer.device)),
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
    run = store.runs.transition(record.id, lifecycle.succeeded(reason), summary=summary)
    run = run or store.runs.get(record.id)  # it was stopped or lost meanwhile
    fit.test_metrics = test_metrics
    return TrainedRun(run, fit, test_metrics, package_dir, version, network)


def choose_log_rule(
    spec: RunSpec, prepared: Prepared, network: Network, trainer: Trainer
) -> dict[str, Any]:
    """The top-g rule a log model flags sessions by (kept in its package as ``anomaly``):
    the spec's ``top_g``, or the smallest g that flags at most ``max_false_positive_rate``
    of the validation sessions, which are all normal."""
    from athanor.data.log_windows import KeyIndex
    from athanor.training.log_anomaly import choose_top_g, key_ranks

    window = int(prepared.schema.input.shape[0])
    end = spec.data.log.end
    rule: dict[str, Any] = {"rule": "top_g", "window": window, "end": end}
    top_g = getattr(spec.model, "top_g", None)
    if top_g is not None:
        return {**rule, "top_g": int(top_g), "chosen": "spec"}
    largest = len(prepared.schema.input.vocab or [])
    validation = prepared.sessions.get("val")
    if validation is None or not len(validation):
        return {**rule, "top_g": min(9, largest), "chosen": "default (no validation sessions)"}
    target = float(getattr(spec.model, "max_false_positive_rate", 0.01))
    ranks = key_ranks(
        network,
        validation.keys,
        KeyIndex(list(prepared.schema.input.vocab or [])),
        window,
        end=end,
        device=trainer.device,
    )
    g, rate = choose_top_g(ranks, target, largest)
    return {
        **rule,
        "top_g": g,
        "chosen": f"smallest g flagging at most {target:g} of the validation sessions",
        "validation_sessions": len(validation),
        "validation_false_positive_rate": rate,
    }


def _score_log_sessions(
    prepared: Prepared, network: Network, trainer: Trainer, rule: dict[str, Any]
) -> dict[str, float]:
    """Test sessions (held-out normal and every anomalous one) flagged by the top-g rule:
    ``test_session_precision``, ``_recall``, ``_f1`` and ``_false_positive_rate``."""
    from athanor.data.log_windows import KeyIndex
    from athanor.training.log_anomaly import log_anomaly_report, score_sessions

    sessions = prepared.sessions["test"]
    scores = score_sessions(
        network,
        sessions.keys,
        sessions.labels,
        KeyIndex(list(prepared.schema.input.vocab or [])),
        rule["window"],
        rule["top_g"],
        end=rule["end"],
        device=trainer.device,
    )
    trainer.test_reports = {
        **getattr(trainer, "test_reports", {}),
        "log_anomaly": log_anomaly_report(scores, rule),
    }
    names = ("precision", "recall", "f1", "false_positive_rate")
    if not sessions.labels.any():  # no anomalous session to find: only false alarms count
        names = ("false_positive_rate",)
    return {f"test_session_{name}": float(scores.metrics[name]) for name in names}


def device_cost(record: RunRecord, device: str) -> dict[str, object]:
    """The run's device, its device-hours (from its start until now) and what they cost at
    this machine's price (``ATHANOR_LOCAL_PRICE``, 0 for own hardware)."""
    cost = local_cost(record.duration_s or 0.0).to_json()
    return {"device": device, "device_hours": cost["device_hours"], "cost": cost}


def store_evaluation(
    store: Store,
    run_dir: Path,
    network: Network,
    prepared: Prepared,
    batch_size: int,
    device: object,
) -> bool:
    """Evaluate the network on the test split and keep the result in the run's folder
    (:mod:`athanor.runs.evaluation`); False when the task has none."""
    evaluation = evaluate_run(network, prepared, batch_size=batch_size, device=device)
    if evaluation is None:
        return False
    write_evaluation(store.artifacts, run_dir, evaluation)
    return True


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

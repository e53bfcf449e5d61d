"""Testing a finished run once, after selection: the winner of a search is tested here on a
split that no decision looked at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from athanor.data.prepare import prepare
from athanor.errors import UserError
from athanor.nets.builder import build_network
from athanor.registry.package import load_package
from athanor.registry.registry import check_model_name, register_package
from athanor.runs.packaging import store_evaluation
from athanor.settings import Settings
from athanor.spec.run import RunSpec
from athanor.store import ModelVersionRecord, RunRecord, RunStatus, Store, open_store
from athanor.store.runs import MetricPoint
from athanor.training.losses import uses_single_logit


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
    package_dir = store.artifacts.local(record.summary["package"])
    if evaluated:
        spec = RunSpec.model_validate(record.spec)
        tested = _evaluate_test_split(
            store, spec, package_dir, record.summary.get("package_hash"), run_id
        )
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
    store: Store, spec: RunSpec, package_dir: Path, package_hash: str | None, run_id: int
) -> dict[str, float]:
    """Loss and scalar metrics of the package's network on the test split of ``spec``; the
    run's evaluation (confusion matrix, residuals...) is stored in its folder."""
    from athanor.training.devices import select_device
    from athanor.training.evaluation import evaluate_split, split_scalars
    from athanor.training.losses import build_loss
    from athanor.training.metrics import build_metrics

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
    store_evaluation(
        store,
        store.artifacts.run_dir(run_id),
        network,
        prepared,
        spec.train.eval_batch_size,
        device,
    )
    return split_scalars(results)[0]

"""The callbacks a run is trained with: progress, early stopping, the store's logger, and
what its task needs (text samples, the anomaly threshold, GAN samples)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from athanor.data.prepare import Prepared
from athanor.nets.builder import Network
from athanor.spec.run import RunSpec
from athanor.store.artifacts import ArtifactStore
from athanor.store.runs import RunRepository
from athanor.training.callbacks import Callback, EarlyStopping, ProgressBar, StoreLogger
from athanor.training.callbacks.anomaly_threshold import AnomalyThreshold
from athanor.training.callbacks.checkpoint_publisher import CheckpointPublisher
from athanor.training.callbacks.gan_samples import GanSamples
from athanor.training.callbacks.lr_monitor import LRMonitor
from athanor.training.callbacks.text_samples import TextSamples


@dataclass
class RunCallbacks:
    """The callbacks in the order the trainer calls them, and the early stopping among them
    (its restored epoch decides which metrics the run reports)."""

    callbacks: list[Callback]
    stopping: EarlyStopping | None


def run_callbacks(
    spec: RunSpec,
    prepared: Prepared,
    network: Network,
    *,
    runs: RunRepository,
    run_id: int,
    run_dir: Path,
    console: Console,
    progress: bool,
    logged_until: dict[str, int] | None = None,
    extra: list[Callback] | None = None,
    artifacts: ArtifactStore | None = None,
) -> RunCallbacks:
    """Assemble a run's callbacks: the built-in ones first, then ``extra``.

    Args:
        spec: the run's spec (early stopping, seed, GAN sample settings).
        prepared: the prepared data (its task decides the task callbacks).
        network: the network (a language model's ``sample``).
        runs: where metrics are logged.
        run_id: the run being trained.
        run_dir: the run's artifact folder (GAN samples go under it).
        console: where progress and samples are printed.
        progress: show the progress bar and samples.
        logged_until: per metric, the last step already stored (a resumed job's attempt
            does not write them twice).
        extra: the caller's callbacks, called after the built-in ones.
        artifacts: the artifact store; with a bucket, each checkpoint is published to it.
    """
    callbacks: list[Callback] = []
    if progress:
        callbacks.append(ProgressBar(console))
    stopping = EarlyStopping(spec.train.early_stopping) if spec.train.early_stopping else None
    if stopping is not None:
        callbacks.append(stopping)
    callbacks += [LRMonitor(), StoreLogger(runs, run_id, logged_until=logged_until)]
    callbacks += task_callbacks(spec, prepared, network, console=console, progress=progress)
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
    if artifacts is not None and artifacts.remote_url is not None:
        callbacks.append(CheckpointPublisher(artifacts))
    callbacks.extend(extra or [])
    return RunCallbacks(callbacks, stopping)


def task_callbacks(
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
        rule = spec.train.anomaly_threshold
        return [
            AnomalyThreshold(
                prepared,
                spec.train.eval_batch_size,
                method=rule.method,
                quantile=rule.quantile,
                k=rule.k,
            )
        ]
    return []

"""Publishing each checkpoint to the artifact bucket as soon as it is complete."""

from __future__ import annotations

from pathlib import Path

from athanor.store.artifacts import ArtifactStore
from athanor.store.checkpoints import CheckpointFolder
from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


class CheckpointPublisher(Callback):
    """Publish every checkpoint the trainer writes, and withdraw those it pruned.

    A run continued on another machine (sharing the database and the bucket) resumes from
    the newest published checkpoint; the bucket keeps the same ones as the local folder.

    Args:
        artifacts: the artifact store; it must have a bucket (:attr:`ArtifactStore.remote_url`).
    """

    def __init__(self, artifacts: ArtifactStore) -> None:
        self.artifacts = artifacts

    def on_checkpoint_save(self, trainer, state: TrainState, path: Path) -> None:
        self.artifacts.publish(path)
        folder = CheckpointFolder(path.parent)
        kept = {checkpoint.name for checkpoint in folder.list()}
        for published in self.artifacts.published_folders(folder.path):
            if published.name not in kept and published.name.startswith("step-"):
                self.artifacts.delete(published)

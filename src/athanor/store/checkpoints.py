"""The layout of a run's checkpoints on disk, without PyTorch.

A run's checkpoints live in ``<run dir>/checkpoints/``, one folder per checkpoint named by
the optimizer step it was taken at, ``step-000000120``; a folder is complete once it has that
name (writers stage it under a name starting with ``.step-`` and rename it into place). The
trainer writes them; the run pipeline, the job scheduler, workers and the REST API read which
ones exist, and none of them needs to load PyTorch for that.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from athanor.store.artifacts import ArtifactStore

PREFIX = "step-"
_NAME = re.compile(r"^step-(\d+)$")


def checkpoint_step(checkpoint: Path | str) -> int:
    """The optimizer step a checkpoint folder was taken at (``step-000000120`` is 120).

    Raises:
        ValueError: the name is not a checkpoint's.
    """
    name = Path(checkpoint).name
    found = _NAME.match(name)
    if found is None:
        raise ValueError(f"{name!r} is not a checkpoint folder name (step-NNNNNNNNN)")
    return int(found.group(1))


class CheckpointFolder:
    """The checkpoints of one run: their names, which is newest, and pruning old ones.

    Args:
        path: the folder holding ``step-*`` checkpoint folders (it need not exist yet).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def of_run(cls, run_dir: Path) -> CheckpointFolder:
        """The checkpoints of the run whose artifact folder is ``run_dir``."""
        return cls(Path(run_dir) / "checkpoints")

    def path_for(self, step: int) -> Path:
        """Where the checkpoint taken at optimizer step ``step`` goes."""
        return self.path / f"{PREFIX}{step:09d}"

    def list(self) -> list[Path]:
        """Every complete checkpoint, oldest first (by step)."""
        if not self.path.is_dir():
            return []
        found = [p for p in self.path.iterdir() if _NAME.match(p.name) and p.is_dir()]
        return sorted(found, key=checkpoint_step)

    def newest(self) -> Path | None:
        """The checkpoint with the highest step, if any."""
        found = self.list()
        return found[-1] if found else None

    def fetch_newest(self, artifacts: ArtifactStore) -> Path | None:
        """The newest checkpoint here or in the artifact bucket, fetched when only the
        bucket has it (a run continued on another machine); :meth:`newest` without a bucket.
        """
        local = self.newest()
        published = [p for p in artifacts.published_folders(self.path) if _NAME.match(p.name)]
        if not published:
            return local
        newest = max(published, key=checkpoint_step)
        if local is not None and checkpoint_step(local) >= checkpoint_step(newest):
            return local
        return newest if artifacts.fetch(newest) else local

    def newest_step(self) -> int | None:
        """The step of :meth:`newest`, if any."""
        newest = self.newest()
        return checkpoint_step(newest) if newest is not None else None

    def prune(self, keep: int) -> list[Path]:
        """Remove all but the newest ``keep`` checkpoints, and folders a killed write left
        half-done; returns the checkpoints removed."""
        removed = self.list()[:-keep] if keep > 0 else self.list()
        for old in removed:
            shutil.rmtree(old, ignore_errors=True)
        if self.path.is_dir():
            for leftover in self.path.glob(f".{PREFIX}*"):
                shutil.rmtree(leftover, ignore_errors=True)
        return removed


__all__ = ["PREFIX", "CheckpointFolder", "checkpoint_step"]

"""The checkpoint folder layout: names by step, the newest, pruning, and no PyTorch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from athanor.store.checkpoints import CheckpointFolder, checkpoint_step


def _make(folder: CheckpointFolder, *steps: int) -> list[Path]:
    paths = [folder.path_for(step) for step in steps]
    for path in paths:
        path.mkdir(parents=True)
        (path / "state.json").write_text("{}")
    return paths


def test_names_steps_and_the_newest(tmp_path: Path) -> None:
    folder = CheckpointFolder.of_run(tmp_path / "runs" / "7")
    assert folder.path == tmp_path / "runs" / "7" / "checkpoints"
    assert folder.list() == [] and folder.newest() is None and folder.newest_step() is None
    assert folder.path_for(120).name == "step-000000120"
    assert checkpoint_step(folder.path_for(120)) == 120
    assert checkpoint_step("step-1234567890") == 1234567890  # past nine digits too
    _make(folder, 9, 1_000_000_000, 40)
    (folder.path / "step-000000050").write_text("a file, not a checkpoint")
    (folder.path / ".step-000000060.3f2a").mkdir()  # a write cut short
    (folder.path / "step-latest").mkdir()
    assert [checkpoint_step(p) for p in folder.list()] == [9, 40, 1_000_000_000]
    assert folder.newest() == folder.path_for(1_000_000_000)
    assert folder.newest_step() == 1_000_000_000


def test_checkpoint_step_refuses_other_names() -> None:
    for name in ("step-", "step-12a", "steps-12", ".step-000000001.ab", "model"):
        with pytest.raises(ValueError, match="is not a checkpoint folder name"):
            checkpoint_step(name)


def test_prune_keeps_the_newest_and_removes_half_written_ones(tmp_path: Path) -> None:
    folder = CheckpointFolder(tmp_path)
    old = _make(folder, 7, 14, 21, 28)
    (tmp_path / ".step-000000035.9c1d").mkdir()
    (tmp_path / "notes").mkdir()
    assert folder.prune(2) == old[:2]
    assert folder.list() == old[2:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes",
        "step-000000021",
        "step-000000028",
    ]
    assert folder.prune(5) == [] and folder.list() == old[2:]
    assert CheckpointFolder(tmp_path / "absent").prune(1) == []


def test_reading_checkpoints_does_not_import_torch() -> None:
    code = (
        "import sys; from athanor.store.checkpoints import CheckpointFolder; "
        "CheckpointFolder('.').newest(); print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

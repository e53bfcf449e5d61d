"""A write that runs out of room is a named error and leaves nothing half-written.

The commands run in a subprocess under a real OS limit: ``RLIMIT_FSIZE`` with ``SIGXFSZ``
ignored, so a write past the limit fails with ``EFBIG`` (or stops short), as a write to a
full disk fails with ``ENOSPC``; both reach the same code paths.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from athanor.errors import DiskFullError
from athanor.store.disk_space import disk_full_as_error, disk_full_error

ATHANOR = [sys.executable, "-m", "athanor.cli"]


def run_limited(args: list[str], max_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [*ATHANOR, *args],
        preexec_fn=limit if max_file_bytes else None,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_an_import_past_the_file_size_limit_is_named_and_leaves_nothing(tmp_path: Path) -> None:
    home = Path(os.environ["ATHANOR_HOME"])
    assert run_limited(["data", "list"]).returncode == 0  # the database exists first
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "noise" / label).mkdir(parents=True)
        for index in range(20):
            pixels = rng.integers(0, 255, (64, 64, 3)).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "noise" / label / f"{index}.png")
    result = run_limited(["data", "import", str(tmp_path / "noise"), "-n", "noise"], 300_000)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr
    assert f"{home / 'artifacts' / 'datasets'}" in message and "cannot write" in message
    assert "free on its disk" in message and "nothing was kept" in message
    assert files_under(home / "artifacts") == []  # no staging folder, no partial version
    listed = run_limited(["data", "list", "--json"])
    assert "noise" not in listed.stdout


def test_a_checkpoint_past_the_limit_fails_the_run_by_name_and_keeps_no_part(
    tmp_path: Path,
) -> None:
    home = Path(os.environ["ATHANOR_HOME"])
    spec = tmp_path / "big.yaml"
    spec.write_text(
        "name: big\ndata: {dataset: iris}\nmodel: {template: mlp, hidden: [256, 256]}\n"
        "train: {epochs: 2, batch_size: 32}\n"
    )
    result = run_limited(["train", str(spec)], 400_000)  # the checkpoint needs ~800 KB
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "checkpoints/step-" in result.stderr
    assert "the file would be larger than this system allows" in result.stderr
    checkpoints = home / "artifacts" / "runs" / "1" / "checkpoints"
    assert files_under(checkpoints) == []  # not a half-written checkpoint
    [run] = json.loads(run_limited(["runs", "list", "--json"]).stdout)
    assert run["status"] == "failed" and "cannot write" in run["status_reason"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/x/f.bin"), "no space left on the"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "the disk quota is exhausted"),
        (OSError("491520 requested and 300000 written"), "the write stopped short"),
        (RuntimeError("I/O error: No space left on device (os error 28)"), "no space left"),
    ],
)
def test_each_way_of_reporting_no_room_is_read(
    tmp_path: Path, error: Exception, reason: str
) -> None:
    translated = disk_full_error(error, tmp_path / "target")
    assert isinstance(translated, DiskFullError) and reason in str(translated)
    with pytest.raises(DiskFullError, match=reason), disk_full_as_error(tmp_path / "target"):
        raise error
    assert disk_full_error(OSError(errno.EACCES, "Permission denied"), tmp_path) is None
    with pytest.raises(PermissionError), disk_full_as_error(tmp_path):
        raise PermissionError(errno.EACCES, "Permission denied")


def test_an_export_that_cannot_fit_is_refused_before_it_starts(tmp_path: Path) -> None:
    import athanor as at

    spec = {
        "name": "wide",
        "data": {"dataset": "iris"},
        "model": {"template": "mlp", "hidden": [512, 512]},
        "train": {"epochs": 1},
    }
    at.train(spec, register_as="wide", progress=False)  # weights of about 1.1 MB
    exports = tmp_path / "exports"
    exports.mkdir()
    for kind in ("torchscript", "onnx", "zip"):  # PyTorch's zip writer aborts when cut short
        output = exports / f"wide.{kind}"
        result = run_limited(["models", "export", "wide", "-f", kind, "-o", str(output)], 600_000)
        assert result.returncode == 2, result.stderr
        assert f"{output}: cannot write about 1.1 MB" in result.stderr
        assert "files of at most 600.0 KB (ulimit -f)" in result.stderr
    assert list(exports.iterdir()) == []  # no partial file either
    done = run_limited(["models", "export", "wide", "-f", "onnx", "-o", str(exports / "w.onnx")])
    assert done.returncode == 0, done.stderr

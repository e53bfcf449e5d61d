"""Logs imported as dataset versions: raw HDFS lines (templates mined, sessions by block)
and DeepLog's pre-parsed key files, prepared into next-key windows without leaks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from athanor.api import datasets
from athanor.data.log_lines import HDFS_FORMAT
from athanor.data.prepare import prepare
from athanor.errors import DataError
from athanor.spec.data import DataSpec
from tests.conftest import MIRROR


@pytest.fixture
def hdfs_files() -> Path:
    if MIRROR is None or not (MIRROR / "hdfs-logs").is_dir():
        pytest.skip("needs ATHANOR_DATA_MIRROR with hdfs-logs/")
    return MIRROR / "hdfs-logs"


def test_raw_hdfs_lines_import_with_their_templates(hdfs_files: Path) -> None:
    log = hdfs_files / "loghub" / "HDFS_2k.log"
    result = datasets.import_dataset(log, name="hdfs", log_format=HDFS_FORMAT)
    version = result.version
    assert (version.kind, version.task, version.rows) == ("logs", "next_key", 2200)
    assert version.info["templates"] == 16 and version.info["lines"] == 2000
    assert datasets.import_dataset(log, name="hdfs", log_format=HDFS_FORMAT).reused

    shown = datasets.show("hdfs")
    templates = shown["templates"]
    assert [t["key"] for t in templates] == list(range(1, 17))
    assert sum(t["count"] for t in templates) == 2000
    assert templates[0]["template"] == "PacketResponder <*> for block blk_<*> terminating"
    assert "blk_38865049064139660" in templates[0]["example"]


def test_a_bad_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("081109 203518 143 INFO dfs.DataNode: Receiving block blk_1\nno header\n")
    with pytest.raises(DataError, match=r"app.log:2: does not fit the log format"):
        datasets.import_dataset(log, name="app", log_format=HDFS_FORMAT)
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "normal").write_text("1 2 3\n1 2 -3\n")
    with pytest.raises(DataError, match=r"normal:2: '-3' is not a log key"):
        datasets.import_dataset(keys, name="keys", kind="log_keys")


def test_key_sessions_split_whole_with_anomalous_ones_only_tested(
    hdfs_files: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "deeplog"
    folder.mkdir()
    for name, count in (("hdfs_train", 300), ("hdfs_test_abnormal", 100)):
        lines = (hdfs_files / "deeplog" / name).read_text().splitlines()[:count]
        (folder / name).write_text("\n".join(lines) + "\n")
    version = datasets.import_dataset(folder, name="deeplog", kind="log_keys").version
    assert version.info["class_counts"] == {"normal": 300, "anomalous": 100}
    preview = datasets.preview("deeplog", rows=400)["text"].splitlines()
    assert len(preview) == 400 and preview[0].startswith(
        "[anomalous] hdfs_test_abnormal:1: 5 5 22 5 11 9"
    )
    assert any(line.startswith("[normal] hdfs_train:1: 5 5 5 22 11 9") for line in preview)

    spec = DataSpec(dataset="deeplog", split={"val": 0.1, "test": 0.2}, log={"window": 4})
    prepared = prepare(spec, seed=3)
    sessions = prepared.sessions
    assert {n: len(s) for n, s in sessions.items()} == {"val": 30, "test": 160, "train": 210}
    assert sessions["test"].labels.sum() == 100 and not sessions["train"].labels.any()
    assert not sessions["val"].labels.any()
    ids = {n: set(s.ids) for n, s in sessions.items()}
    assert not ids["train"] & ids["test"] and not ids["train"] & ids["val"]
    # Every key of a training session (and its end) is one sample of the h keys before it.
    keys = sum(len(k) + 1 for k in sessions["train"].keys)
    assert prepared.train.x.shape == (keys, 4) and prepared.schema.task == "next_key"
    vocab = prepared.schema.input.vocab
    assert vocab[:3] == ["<pad>", "<unknown>", "<end>"] and prepared.schema.output_shape == (
        len(vocab),
    )

    by_sequence = prepare(
        DataSpec(
            dataset="deeplog",
            split={"val": 0.1, "test": 0.2},
            log={"window": 4, "split_by": "sequence"},
        ),
        seed=3,
    )
    train = {s.tobytes() for s in by_sequence.sessions["train"].keys}
    normal_test = [
        k for k, label in zip(*_pair(by_sequence.sessions["test"]), strict=True) if label == 0
    ]
    assert normal_test and not any(k.tobytes() in train for k in normal_test)


def _pair(sessions) -> tuple[list[np.ndarray], np.ndarray]:
    return sessions.keys, sessions.labels


def test_a_log_folder_is_detected_as_logs(tmp_path: Path, hdfs_files: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(hdfs_files / "loghub" / "HDFS_2k.log", folder / "a.log")
    version = datasets.import_dataset(folder, name="folder", log_format=HDFS_FORMAT).version
    assert version.kind == "logs" and version.info["lines"] == 2000

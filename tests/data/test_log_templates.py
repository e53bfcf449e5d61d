"""Drain on loghub's real HDFS_2k: grouping accuracy, matching, and its JSON state."""

from __future__ import annotations

import csv

import pytest

from athanor.data.download import fetch
from athanor.data.log_lines import HDFS_FORMAT, read_log_lines
from athanor.data.log_templates import TemplateMiner, grouping_accuracy
from athanor.data.sources.hdfs_logs import HDFS_2K
from tests.conftest import MIRROR


@pytest.fixture(scope="module")
def hdfs_2k():
    if MIRROR is None:
        pytest.skip("needs ATHANOR_DATA_MIRROR with hdfs-logs/")
    path = fetch(HDFS_2K)  # from the mirror, checksum-verified
    with open(f"{path}_structured.csv", newline="") as handle:
        truth = [row["EventId"] for row in csv.DictReader(handle)]
    return [line.content for line in read_log_lines(path, HDFS_FORMAT)], truth


def test_drain_groups_hdfs_2k_as_its_true_templates(hdfs_2k) -> None:
    contents, truth = hdfs_2k
    miner = TemplateMiner()
    keys = [miner.add(content).key for content in contents]
    assert len(contents) == len(truth) == 2000
    assert grouping_accuracy(truth, keys) >= 0.99  # Drain's paper: 0.9975
    assert sum(t.count for t in miner.templates) == 2000
    first = miner.templates[0]
    assert first.template == "PacketResponder <*> for block blk_<*> terminating"
    assert first.example.startswith("PacketResponder 1 for block blk_38865049064139660")


def test_a_restored_miner_matches_lines_as_the_miner_did_and_learns_nothing(hdfs_2k) -> None:
    contents, _ = hdfs_2k
    miner = TemplateMiner()
    keys = [miner.add(content).key for content in contents]
    restored = TemplateMiner.from_state(miner.state())
    assert [restored.match(content).key for content in contents] == keys
    assert restored.match("a kind of line the logs never showed") is None
    assert len(restored.templates) == len(miner.templates)


def test_grouping_accuracy_counts_only_exactly_matching_groups() -> None:
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 2]) == 1.0
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 1]) == 0.0  # one group for two
    assert grouping_accuracy(["a", "a", "b"], [1, 2, 3]) == pytest.approx(1 / 3)

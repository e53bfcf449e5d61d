"""HDFS logs (loghub's HDFS_v1, Xu et al. SOSP 2009): DeepLog's parsed block sessions and
loghub's 2,000 raw lines.

``hdfs-deeplog``: the sessions DeepLog (Du et al., CCS 2017) published, one HDFS block per
line as template keys 1-28: 4,855 normal sessions (its training set) and all 16,838
anomalous blocks. ``hdfs-2k``: loghub's raw sample, templates mined with Drain and lines
grouped by block id (no labels; most blocks have one or two lines in so short a sample).
"""

from __future__ import annotations

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import RemoteFile, fetch
from athanor.data.log_lines import HDFS_FORMAT
from athanor.data.log_parsing import parse_log_file, parsing_record
from athanor.data.log_sessions import HDFS_SESSION, read_key_files
from athanor.data.log_templates import TemplateMiner
from athanor.data.log_versions import raw_from_sessions
from athanor.data.raw import RawDataset
from athanor.settings import Settings

_DEEPLOG = "https://raw.githubusercontent.com/wuyifan18/DeepLog/master/data/"
DEEPLOG_NORMAL = RemoteFile(
    "hdfs_train",
    (_DEEPLOG + "hdfs_train",),
    "55cb65a39728b0d21ab95d0bb44a586e79e27993d7a799e2f42e8a5d7fb20d49",
    folder="hdfs-logs",
)
DEEPLOG_ABNORMAL = RemoteFile(
    "hdfs_test_abnormal",
    (_DEEPLOG + "hdfs_test_abnormal",),
    "a1e6c2706bd4df4b068f4b5a06dc1425bfd8d90e68905998d51825dedc563dd0",
    folder="hdfs-logs",
)
HDFS_2K = RemoteFile(
    "HDFS_2k.log",
    ("https://raw.githubusercontent.com/logpai/loghub/master/HDFS/HDFS_2k.log",),
    "7c967000980c086ed55fa6544ba4f05fe66d44622795e890c68caf8bbb635035",
    folder="hdfs-logs",
)


def load_hdfs_deeplog(settings: Settings | None) -> RawDataset:
    """DeepLog's HDFS sessions: normal (label 0) then anomalous (label 1)."""
    normal = fetch(DEEPLOG_NORMAL, settings=settings)
    abnormal = fetch(DEEPLOG_ABNORMAL, settings=settings)
    sessions = read_key_files([normal, abnormal])
    return raw_from_sessions(
        sessions,
        "hdfs-deeplog",
        None,
        origin={DEEPLOG_NORMAL.name: str(normal), DEEPLOG_ABNORMAL.name: str(abnormal)},
    )


def load_hdfs_2k(settings: Settings | None) -> RawDataset:
    """loghub's 2,000 HDFS lines: templates mined, lines grouped by block id."""
    path = fetch(HDFS_2K, settings=settings)
    miner = TemplateMiner()
    parsed = parse_log_file(path, miner, log_format=HDFS_FORMAT, session=HDFS_SESSION, learn=True)
    return raw_from_sessions(
        parsed.sessions,
        "hdfs-2k",
        parsing_record(miner, HDFS_FORMAT, HDFS_SESSION, None),
        origin={HDFS_2K.name: str(path)},
    )


register_dataset(
    DatasetEntry(
        name="hdfs-deeplog",
        task="next_key",
        kind="logs",
        size="4,855 normal + 16,838 anomalous block sessions, keys 1-28",
        license="data for research use (loghub); DeepLog code MIT",
        source="https://github.com/wuyifan18/DeepLog",
        description="HDFS block sessions parsed into log keys, as DeepLog trains and tests "
        "on them; hold out part of the normal sessions to test.",
        loader=load_hdfs_deeplog,
    )
)
register_dataset(
    DatasetEntry(
        name="hdfs-2k",
        task="next_key",
        kind="logs",
        size="2,000 raw lines, 14 true templates",
        license="free for research and academic use (loghub)",
        source="https://github.com/logpai/loghub/tree/master/HDFS",
        description="Raw HDFS log lines; templates mined with Drain, lines grouped by block.",
        loader=load_hdfs_2k,
    )
)

"""A log model trained on pre-parsed keys reads key files: unseen keys and early ends of
sessions are its unexpected keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.serve.log_prediction import detect_log_anomalies
from athanor.serve.predictor import Predictor
from tests.conftest import MIRROR


@pytest.fixture(scope="module")
def key_model(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    if MIRROR is None or not (MIRROR / "hdfs-logs" / "deeplog" / "hdfs_train").is_file():
        pytest.skip("HDFS logs are not in ATHANOR_DATA_MIRROR (nor in ../shared/data)")
    import athanor as at
    from athanor.data.importing import import_dataset
    from athanor.settings import Settings

    home = tmp_path_factory.mktemp("keys-home")
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    folder = home / "keys"
    folder.mkdir()
    lines = (MIRROR / "hdfs-logs" / "deeplog" / "hdfs_train").read_text().splitlines()[:300]
    (folder / "hdfs_train").write_text("\n".join(lines) + "\n")
    import_dataset(folder, name="keys", kind="log_keys", settings=settings)
    spec = {
        "name": "keys",
        "seed": 2,
        "data": {"dataset": "keys", "split": {"val": 0.2, "test": 0.1}, "log": {"window": 4}},
        "model": {"template": "log_lstm", "units": 16, "layers": 1, "embedding_dim": 8},
        "train": {"epochs": 3, "batch_size": 64, "optimizer": {"type": "adam", "lr": 0.02}},
    }
    run = at.train(spec, progress=False, settings=settings)
    return Predictor.from_package(run.package_dir)


def test_key_files_get_unseen_keys_and_early_ends_flagged(key_model, tmp_path: Path) -> None:
    keys = tmp_path / "sessions"
    keys.write_text("22 5\n5 5 5 22 11 9 99 11 9\n")
    result = detect_log_anomalies(key_model, keys, top_g=1)
    assert [s.session for s in result.flagged] == ["sessions:1", "sessions:2"]
    early, unseen = result.flagged
    assert early.unexpected[-1].template.startswith("<end of session>")
    assert early.unexpected[-1].position == 2 and early.unexpected[-1].key is None
    seven = [u for u in unseen.unexpected if u.position == 6]
    assert seven and seven[0].key == 99 and seven[0].rank is None  # never seen in training
    assert result.to_json()["anomalous"] == 2

    posted = detect_log_anomalies(key_model, b"22 5\n", name="posted", top_g=1)
    assert posted.source == "posted" and len(posted.flagged) == 1

"""The artifact store on a real S3 API server: publish-last folders, checked fetches, deletes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from athanor.errors import StoreMismatch, UserError
from athanor.settings import current_settings
from athanor.store import open_artifacts, open_store
from athanor.store.artifacts import ArtifactStore
from athanor.store.bucket import (
    MANIFEST_NAME,
    ArtifactIntegrityError,
    BucketError,
    open_bucket,
    split_url,
)


@pytest.fixture
def two_machines(s3_bucket: str, tmp_path: Path) -> tuple[ArtifactStore, ArtifactStore]:
    """Two artifact caches (two machines' homes) publishing to the same bucket."""
    bucket = open_bucket(s3_bucket)
    return ArtifactStore(tmp_path / "one", bucket), ArtifactStore(tmp_path / "two", bucket)


def write_package(store: ArtifactStore, name: str = "iris", version: int = 1) -> Path:
    destination = store.model_dir(name, version)
    with store.staging(destination) as staging:
        (staging / "weights.bin").write_bytes(b"\x00\x01" * 1000)
        (staging / "nested").mkdir()
        (staging / "nested" / "card.md").write_text("# a card\n")
    return destination


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_folder_staged_on_one_machine_is_fetched_whole_on_another(two_machines) -> None:
    one, two = two_machines
    written = write_package(one)
    wanted = two.model_dir("iris", 1)
    assert not wanted.exists()
    assert two.fetch(wanted) is True
    assert tree(wanted) == tree(written)
    assert not (wanted / MANIFEST_NAME).exists()  # the manifest stays in the bucket
    assert two.published_folders(two.root / "models" / "iris") == [wanted]
    # nothing of a fetch is left in the staging area
    assert list((two.root / ".staging").iterdir()) == []


def test_a_folder_without_its_manifest_does_not_exist_for_readers(two_machines) -> None:
    one, two = two_machines
    written = write_package(one)
    # a publication killed after its files and before its manifest
    one.bucket.fs.rm_file(one.bucket.key(f"{one.relative(written)}/{MANIFEST_NAME}"))
    assert one.bucket.fs.find(one.bucket.key(one.relative(written)))  # the files are there
    assert two.fetch(two.model_dir("iris", 1)) is False
    assert not two.model_dir("iris", 1).exists()
    assert two.published_folders(two.root / "models" / "iris") == []


def test_a_tampered_object_is_refused_and_nothing_is_left_in_place(two_machines) -> None:
    one, two = two_machines
    written = write_package(one)
    one.bucket.fs.pipe_file(
        one.bucket.key(f"{one.relative(written)}/weights.bin"), b"\x00\x02" * 1000
    )
    with pytest.raises(ArtifactIntegrityError, match=r"weights\.bin: the object differs"):
        two.fetch(two.model_dir("iris", 1))
    assert not two.model_dir("iris", 1).exists()
    assert list((two.root / ".staging").iterdir()) == []


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "../escape.txt", "size": 1, "sha256": "0" * 64},
        {"name": "/etc/passwd", "size": 1, "sha256": "0" * 64},
        {"name": "a/./b", "size": 1, "sha256": "0" * 64},
        {"name": "fine.txt", "size": 2**41, "sha256": "0" * 64},
    ],
    ids=["dotdot", "absolute", "dot", "huge"],
)
def test_an_unsafe_manifest_is_refused_before_downloading(two_machines, entry) -> None:
    one, two = two_machines
    written = write_package(one)
    manifest = {"format": 1, "files": [entry]}
    one.bucket.fs.pipe_file(
        one.bucket.key(f"{one.relative(written)}/{MANIFEST_NAME}"), json.dumps(manifest).encode()
    )
    with pytest.raises(ArtifactIntegrityError, match="refusing it"):
        two.fetch(two.model_dir("iris", 1))
    assert not (two.root / "models" / "escape.txt").exists()


def test_republishing_a_changed_folder_replaces_its_files_and_drops_stale_ones(
    two_machines,
) -> None:
    one, two = two_machines
    written = write_package(one)
    (written / "nested" / "card.md").unlink()
    (written / "weights.bin").write_bytes(b"new")
    one.publish(written)
    assert two.fetch(two.model_dir("iris", 1))
    assert tree(two.model_dir("iris", 1)) == {"weights.bin": b"new"}


def test_a_file_is_republished_in_place_and_fetched(two_machines) -> None:
    one, two = two_machines
    log = one.run_dir(3) / "job.log"
    log.parent.mkdir(parents=True)
    log.write_text("epoch 1\n")
    one.publish(log)
    log.write_text("epoch 1\nepoch 2\n")  # a growing log
    one.publish(log)
    assert two.fetch(two.run_dir(3) / "job.log")
    assert (two.run_dir(3) / "job.log").read_text() == "epoch 1\nepoch 2\n"
    assert two.fetch(two.run_dir(3) / "other.log") is False


def test_delete_removes_the_folder_here_and_in_the_bucket(two_machines) -> None:
    one, two = two_machines
    written = write_package(one)
    write_package(one, version=2)
    one.delete(written)
    assert not written.exists()
    assert one.bucket.fs.find(one.bucket.key(one.relative(written))) == []
    assert two.fetch(two.model_dir("iris", 1)) is False
    assert two.fetch(two.model_dir("iris", 2)) is True  # its neighbour is untouched


def test_a_failed_publication_leaves_nothing_in_the_cache(two_machines) -> None:
    one, _ = two_machines
    destination = one.model_dir("iris", 1)
    bucket = one.bucket
    one.bucket = type(bucket)("s3://gone/x", "gone-bucket-x", "", bucket.fs)  # no such bucket
    with pytest.raises(FileNotFoundError), one.staging(destination) as staging:
        (staging / "weights.bin").write_bytes(b"1")
    assert not destination.exists()


def test_the_store_opens_with_its_bucket_and_without_one_nothing_changes(s3_bucket) -> None:
    store = open_store()
    assert store.artifacts.remote_url == s3_bucket
    embedded = current_settings().__class__(**{**vars(current_settings()), "artifacts_url": None})
    local = open_artifacts(embedded)
    assert local.remote_url is None
    path = local.run_dir(1) / "x.txt"
    path.parent.mkdir(parents=True)
    path.write_text("x")
    local.publish(path)  # a no-op
    assert local.fetch(path) is True
    assert local.fetch(local.run_dir(2)) is False
    assert local.published_folders(local.root / "runs") == []


def test_a_missing_bucket_or_a_bad_url_is_a_user_error_naming_the_url(
    s3_bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATHANOR_ARTIFACTS_URL", "s3://no-such-bucket-here/team")
    with pytest.raises(UserError, match=r"s3://no-such-bucket-here/team: the bucket .* not exist"):
        open_store()
    with pytest.raises(UserError, match="ATHANOR_ARTIFACTS_URL='gs://x' is not an S3 URL"):
        split_url("gs://x")


def test_a_database_behind_the_buckets_run_folders_is_refused_with_an_empty_cache(
    s3_bucket: str, tmp_path: Path
) -> None:
    other_machine = ArtifactStore(tmp_path / "elsewhere", open_bucket(s3_bucket))
    log = other_machine.run_dir(4) / "job.log"
    log.parent.mkdir(parents=True)
    log.write_text("a run this database never saw\n")
    other_machine.publish(log)
    with pytest.raises(
        StoreMismatch, match=rf"with {s3_bucket}/runs holds 1 run folder\(s\) up to run 4"
    ):
        open_store()  # an empty home and an empty database


def test_a_bucket_that_stops_answering_is_a_user_error_naming_the_object(two_machines) -> None:
    one, _ = two_machines
    written = write_package(one)
    s3fs = pytest.importorskip("s3fs")
    # a closed loopback port: the endpoint refuses connections
    silent = type(one.bucket)(one.bucket.url, one.bucket.bucket, one.bucket.prefix, None)
    silent.fs = s3fs.S3FileSystem(
        skip_instance_cache=True,
        client_kwargs={"endpoint_url": "http://127.0.0.1:9"},
        config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 1},
    )
    with pytest.raises(BucketError, match=r"could not publish s3://.*/models/iris/v1: "):
        ArtifactStore(one.root, silent).publish(written)

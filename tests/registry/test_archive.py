"""Package zips: written with the four files, read back without trusting member names."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from athanor.errors import PackageIntegrityError
from athanor.registry.archive import PACKAGE_FILES, extract_package_zip, write_package_zip
from athanor.registry.package import load_package
from tests.registry.test_package import make


def test_round_trip_and_a_zipped_folder(tmp_path: Path) -> None:
    content_hash = make(tmp_path / "p")
    write_package_zip(tmp_path / "p", tmp_path / "p.zip")
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        assert sorted(archive.namelist()) == sorted(PACKAGE_FILES)
    (tmp_path / "out").mkdir()
    extract_package_zip(tmp_path / "p.zip", tmp_path / "out")
    assert load_package(tmp_path / "out", expected_hash=content_hash).content_hash == content_hash
    # A zip of the package folder itself (files under one top folder) reads the same.
    with zipfile.ZipFile(tmp_path / "folder.zip", "w") as archive:
        for name in PACKAGE_FILES:
            archive.write(tmp_path / "p" / name, arcname=f"my-model/{name}")
    (tmp_path / "out2").mkdir()
    extract_package_zip(tmp_path / "folder.zip", tmp_path / "out2")
    assert load_package(tmp_path / "out2").content_hash == content_hash


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (["../../evil.py"], "unexpected member '../../evil.py'"),
        (["a/b/model.json"], "unexpected member 'a/b/model.json'"),
        (["notes.txt"], "unexpected member 'notes.txt'"),
        (["x/model.json", "y/README.md"], "files under several folders"),
        (["model.json"], "'weights.safetensors' is missing"),
    ],
)
def test_hostile_or_incomplete_zips_are_refused(
    tmp_path: Path, members: list[str], message: str
) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        for member in members:
            archive.writestr(member, "{}")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PackageIntegrityError, match=message):
        extract_package_zip(bad, out)
    assert not (tmp_path / "evil.py").exists()
    (tmp_path / "plain.zip").write_text("not a zip")
    with pytest.raises(PackageIntegrityError, match="not a readable zip"):
        extract_package_zip(tmp_path / "plain.zip", out)

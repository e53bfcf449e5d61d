"""Package zips: written with the four files, read back without trusting member names."""

from __future__ import annotations

import re
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
    with pytest.raises(PackageIntegrityError, match=re.escape(message)):
        extract_package_zip(bad, out)
    assert not (tmp_path / "evil.py").exists()
    (tmp_path / "plain.zip").write_text("not a zip")
    with pytest.raises(PackageIntegrityError, match="not a readable zip"):
        extract_package_zip(tmp_path / "plain.zip", out)


# --- zip bombs and forged metadata -----------------------------------------------------------


def bomb_zip(path: Path, package: Path, weights_bytes: int) -> Path:
    """A package zip whose weights member is ``weights_bytes`` of zeros (compressing ~1000:1)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in PACKAGE_FILES:
            if name == "weights.safetensors":
                with archive.open(name, "w", force_zip64=True) as member:
                    for _ in range(weights_bytes >> 20):
                        member.write(bytes(1 << 20))
            else:
                archive.write(package / name, arcname=name)
    return path


def test_a_zip_bomb_is_refused_from_its_directory_before_extraction(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    from athanor.errors import ResourceLimitError
    from athanor.registry.archive import ArchiveTooLarge

    make(tmp_path / "p")
    bomb = bomb_zip(tmp_path / "bomb.zip", tmp_path / "p", 64 << 20)
    assert bomb.stat().st_size < 200_000
    out = tmp_path / "out"
    out.mkdir()
    started = time.perf_counter()
    with pytest.raises(ArchiveTooLarge, match=r"'weights.safetensors' expands 1,0\d\d times"):
        extract_package_zip(bomb, out)
    assert time.perf_counter() - started < 1
    assert list(out.iterdir()) == []  # nothing was extracted
    assert issubclass(ArchiveTooLarge, ResourceLimitError)
    result = subprocess.run(
        [sys.executable, "-m", "athanor.cli", "models", "import", str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "'weights.safetensors' expands" in result.stderr and "a zip bomb?" in result.stderr
    home = Path(os.environ["ATHANOR_HOME"])
    assert not list(home.glob("artifacts/models/*"))
    assert not list(home.glob("artifacts/.staging/*"))


def test_the_total_size_limit_and_too_many_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from athanor.registry.archive import ArchiveTooLarge

    make(tmp_path / "p")
    noise = tmp_path / "noise.zip"
    with zipfile.ZipFile(noise, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in PACKAGE_FILES:
            data = (tmp_path / "p" / name).read_bytes()
            archive.writestr(name, data + (os.urandom(2 << 20) if name == "README.md" else b""))
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("ATHANOR_MAX_ARCHIVE_MB", "1")
    with pytest.raises(ArchiveTooLarge, match=r"more than the limit of 1,048,576 \(ATHANOR_MAX_A"):
        extract_package_zip(noise, out)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for index in range(100):
            archive.writestr(f"d{index}/", b"")
    with pytest.raises(ArchiveTooLarge, match="100 entries; a package zip holds four files"):
        extract_package_zip(many, out)
    assert list(out.iterdir()) == []


def rehash(folder: Path) -> None:
    """Make the manifest match the (forged) files again, as an attacker would."""
    import hashlib
    import json

    manifest = json.loads((folder / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "model.json: not valid JSON"),
        (b"\xff\xfe\x00garbage", "model.json: not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "model.json: not valid JSON"),
        (b"[1, 2]", "model.json: not a JSON object (found list)"),
        (b'{"format": 1}', "model.json: 'spec' must be a JSON object (missing)"),
    ],
)
def test_a_forged_model_json_is_a_named_error_through_models_import(
    tmp_path: Path, content: bytes, message: str
) -> None:
    import json
    import subprocess
    import sys

    make(tmp_path / "p")
    if content == b'{"format": 1}':
        content = json.dumps(
            {"format": json.loads((tmp_path / "p" / "model.json").read_text())["format"]}
        ).encode()
    (tmp_path / "p" / "model.json").write_bytes(content)
    rehash(tmp_path / "p")
    write_package_zip(tmp_path / "p", tmp_path / "forged.zip")
    with pytest.raises(PackageIntegrityError, match=re.escape(message)):
        load_package(tmp_path / "p")
    if content != b"{not json":
        return  # one import through the CLI is enough
    result = subprocess.run(
        [sys.executable, "-m", "athanor.cli", "models", "import", str(tmp_path / "forged.zip")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr

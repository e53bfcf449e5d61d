"""One walker for folders of class subfolders: the same rules for images and documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.data.class_folders import BadFile, read_class_folders, split_folders
from athanor.errors import DataError

TERMS = {"noun": "notes", "example": "a/1.txt, b/2.txt", "add_hint": "add some"}


def read_note(path: Path) -> str:
    """The file's text; refuses files that do not end in .txt."""
    if path.suffix != ".txt":
        raise BadFile(f"{path}: not a note; remove it", "not a note")
    return path.read_text()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_classes_and_files_in_sorted_order_at_any_depth_hidden_names_ignored(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path / "notes",
        {
            "b/2.txt": "b2",
            "b/deep/1.txt": "b-deep",
            "a/1.txt": "a1",
            "a/.hidden.txt": "hidden file",
            "a/.cache/3.txt": "inside a hidden folder",
            ".trash/9.txt": "a hidden class folder",
            ".DS_Store": "beside the classes, hidden",
        },
    )
    found = read_class_folders(root, read_note, **TERMS)
    assert found.classes == ["a", "b"]
    assert found.items == ["a1", "b2", "b-deep"]
    assert found.files == ["a/1.txt", "b/2.txt", "b/deep/1.txt"]
    assert found.labels.tolist() == [0, 1, 1] and not found.is_test.any()
    assert found.skipped == []


def test_train_and_test_folders_make_an_official_test_split(tmp_path: Path) -> None:
    root = write(
        tmp_path / "notes",
        {"train/a/1.txt": "a", "train/b/1.txt": "b", "test/a/2.txt": "a test"},
    )
    assert split_folders(root) == {"test": root / "test", "train": root / "train"}
    found = read_class_folders(root, read_note, **TERMS)
    assert found.files == ["test/a/2.txt", "train/a/1.txt", "train/b/1.txt"]
    assert found.is_test.tolist() == [True, False, False]
    assert found.labels.tolist() == [0, 0, 1]
    only_test = write(tmp_path / "other", {"test/a/1.txt": "a"})
    assert split_folders(only_test) == {"train": only_test}  # 'test' alone is a class


def test_links_are_read_like_the_files_they_lead_to(tmp_path: Path) -> None:
    elsewhere = write(tmp_path / "elsewhere", {"x.txt": "linked"})
    root = write(tmp_path / "notes", {"a/1.txt": "a1"})
    (root / "a" / "2.txt").symlink_to(elsewhere / "x.txt")
    found = read_class_folders(root, read_note, **TERMS)
    assert found.items == ["a1", "linked"]


def test_bad_files_stray_files_and_empty_classes_fail_or_are_skipped(tmp_path: Path) -> None:
    root = write(tmp_path / "notes", {"a/1.txt": "a1", "a/2.csv": "x", "b/1.csv": "y"})
    with pytest.raises(BadFile, match=r"2\.csv: not a note; remove it"):
        read_class_folders(root, read_note, **TERMS)
    found = read_class_folders(root, read_note, skip_bad=True, **TERMS)
    assert found.classes == ["a"] and found.items == ["a1"]
    assert [(Path(s["item"]).name, s["reason"]) for s in found.skipped] == [
        ("2.csv", "not a note"),
        ("1.csv", "not a note"),
        ("b", "class folder without notes"),
    ]
    (root / "b" / "1.csv").unlink()
    (root / "a" / "2.csv").unlink()
    with pytest.raises(DataError, match="class folder 'b' has no notes; add some, remove it"):
        read_class_folders(root, read_note, **TERMS)
    write(root, {"readme.md": "beside the classes"})
    with pytest.raises(DataError, match=r"readme\.md: a file outside the class folders"):
        read_class_folders(root, read_note, **TERMS)
    skipped = read_class_folders(root, read_note, skip_bad=True, **TERMS).skipped
    assert skipped[0]["reason"] == "outside the class folders"


def test_a_file_or_a_folder_without_class_folders_is_refused(tmp_path: Path) -> None:
    file = write(tmp_path, {"one.txt": "x"}) / "one.txt"
    with pytest.raises(DataError, match="not a folder; notes are read from a folder of class"):
        read_class_folders(file, read_note, **TERMS)
    with pytest.raises(DataError, match=r"no class folders; put the notes .* \(e\.g\. a/1\.txt"):
        read_class_folders(tmp_path, read_note, **TERMS)


def test_dangling_and_looping_links_are_listed_or_skipped(tmp_path: Path) -> None:
    root = write(tmp_path / "notes", {"a/1.txt": "a1", "b/1.txt": "b1"})
    (root / "gone").symlink_to(tmp_path / "nowhere")
    (root / "a" / "lost.txt").symlink_to(tmp_path / "missing.txt")
    (root / "b" / "again").symlink_to(root / "b")
    with pytest.raises(DataError, match="3 symbolic link") as error:
        read_class_folders(root, read_note, **TERMS)
    message = str(error.value)
    for name in ("gone (dangling", "lost.txt (dangling", "again (a link to a folder it is in)"):
        assert name in message
    found = read_class_folders(root, read_note, **TERMS, skip_bad=True)
    assert found.classes == ["a", "b"] and found.items == ["a1", "b1"]
    assert sorted(Path(s["item"]).name for s in found.skipped) == ["again", "gone", "lost.txt"]


def test_a_linked_class_folder_is_read_through_the_link(tmp_path: Path) -> None:
    other = write(tmp_path / "other", {"cats/1.txt": "cat", "cats/deep/2.txt": "deep cat"})
    root = write(tmp_path / "notes", {"dogs/1.txt": "dog"})
    (root / "cats").symlink_to(other / "cats")
    found = read_class_folders(root, read_note, **TERMS)
    assert found.classes == ["cats", "dogs"]
    assert found.files == ["cats/1.txt", "cats/deep/2.txt", "dogs/1.txt"]
    assert found.items == ["cat", "deep cat", "dog"]

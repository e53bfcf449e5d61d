"""Folders of one subfolder per class, read the same way for images and documents.

``root/<class>/<file>``, or ``root/train/<class>/...`` plus ``root/test/<class>/...`` for an
official test split. Names starting with ``.`` are ignored at every level. The files of a
class are found at any depth below its folder, in sorted order. Symbolic links are followed
like the files and folders they lead to, by :func:`walk_files`, which the content hash of an
import uses too, so a version's hash covers exactly what is read; a link that dangles or
leads back into a folder holding it is an error listing every such link. A file beside the
class folders, a file the reader refuses, a bad link and a class folder without a usable
file are errors naming it; with ``skip_bad`` they are left out and listed instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from athanor.errors import DataError

Item = TypeVar("Item")


class BadFile(DataError):
    """A file that a class-folder reader refuses.

    Args:
        message: the error, naming the file and how to fix it.
        reason: the short reason the import report lists when the file is skipped
            (default: the message).
    """

    code = "file_unreadable"

    def __init__(self, message: str, reason: str | None = None) -> None:
        self.reason = reason or message
        file = message.split(": ", 1)[0] if ": " in message else ""
        super().__init__(message, params={"file": file, "reason": self.reason}, field="path")


@dataclass
class ClassFolderContents(Generic[Item]):
    """What was read from class folders: one item per usable file, with its class."""

    items: list[Item]
    labels: np.ndarray
    """``int64``: each item's index into ``classes``; ``-1`` for an unlabeled item."""
    classes: list[str]
    """The classes with at least one item, sorted by name."""
    files: list[str]
    """Each item's file, relative to the root, '/'-separated."""
    is_test: np.ndarray
    """True for items of a ``test/`` folder (an official test split)."""
    skipped: list[dict[str, str]] = field(default_factory=list)


@dataclass
class FolderFiles:
    """The files below a folder, with links followed, and the links that could not be."""

    files: list[Path]
    """Every file, named by its path through the links (below the folder), sorted."""
    bad_links: list[dict[str, str]]
    """``{"item": link, "reason": ...}`` for each link that dangles or loops."""

    def check(self, root: Path, skip_bad: bool) -> list[dict[str, str]]:
        """The bad links to list as skipped; without ``skip_bad``, a DataError naming them.

        Raises:
            DataError: (without ``skip_bad``) listing every bad link below ``root``.
        """
        if self.bad_links and not skip_bad:
            listed = "; ".join(f"{b['item']} ({b['reason']})" for b in self.bad_links)
            raise DataError(
                f"{root}: {len(self.bad_links)} symbolic link(s) cannot be followed: {listed}; "
                "fix or remove them, or import with --skip-bad",
                code="file_unreadable",
                params={"file": self.bad_links[0]["item"], "reason": self.bad_links[0]["reason"]},
                field="path",
            )
        return list(self.bad_links)


def walk_files(root: Path) -> FolderFiles:
    """Every file below ``root``, following symbolic links to files and folders.

    Hidden names (starting with ``.``) are walked as plain entries but a hidden link is
    neither followed nor checked, as no reader reads it. A link that dangles, or that
    leads to a folder it lies in (an endless loop), is listed in ``bad_links``.
    """
    files: list[Path] = []
    bad: list[dict[str, str]] = []

    def walk(folder: Path, ancestors: frozenset[str]) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink():
                if entry.name.startswith("."):
                    continue
                if not entry.exists():
                    target = os.readlink(entry)
                    bad.append({"item": str(entry), "reason": f"dangling link to {target}"})
                    continue
                if entry.is_dir():
                    real = os.path.realpath(entry)
                    if real in ancestors:
                        bad.append({"item": str(entry), "reason": "a link to a folder it is in"})
                        continue
                    walk(entry, ancestors | {real})
                elif entry.is_file():
                    files.append(entry)
            elif entry.is_dir():
                walk(entry, ancestors | {os.path.realpath(entry)})
            elif entry.is_file():
                files.append(entry)

    walk(root, frozenset({os.path.realpath(root)}))
    return FolderFiles(sorted(files), bad)


def hidden(path: Path, root: Path) -> bool:
    """Whether any part of ``path`` below ``root`` starts with ``.``."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def visible_dirs(folder: Path, leave_out: frozenset[Path] = frozenset()) -> list[Path]:
    """The subfolders of ``folder`` whose names do not start with ``.``, sorted.

    Args:
        folder: the folder to list.
        leave_out: folders not to list (links that cannot be followed).
    """
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p not in leave_out
    )


def split_folders(root: Path, leave_out: frozenset[Path] = frozenset()) -> dict[str, Path]:
    """``{"train": root}``, or the ``train`` and ``test`` folders when the root holds them."""
    names = {p.name for p in visible_dirs(root, leave_out)}
    if names and names <= {"train", "test"} and "train" in names:
        return {name: root / name for name in sorted(names)}
    return {"train": root}


def read_class_folders(
    root: Path,
    read: Callable[[Path], Item],
    *,
    noun: str,
    example: str,
    add_hint: str,
    skip_bad: bool = False,
    unlabeled: bool = False,
) -> ClassFolderContents[Item]:
    """Read every file of every class folder under ``root`` with ``read``.

    Args:
        root: the folder of class folders (or of ``train/`` and ``test/``).
        read: turns one file into an item; raises :class:`BadFile` for a file it refuses.
        noun: what the files are, in messages (``images``).
        example: class folders and files for the messages (``cats/001.png, dogs/002.jpg``).
        add_hint: how to fill an empty class folder (``add some``).
        skip_bad: leave out bad files and empty class folders, listing them in
            ``skipped``, instead of failing (default False).
        unlabeled: read the files beside the class folders (or of a folder without any) as
            unlabeled items, label ``-1`` (default False: they are errors).

    Raises:
        DataError: the root is not a folder or holds no class folders, or (without
            ``skip_bad``) every link that cannot be followed, or the first stray file, bad
            file or empty class folder.
    """
    if not root.is_dir():
        raise DataError(
            f"{root}: not a folder; {noun} are read from a folder of class subfolders "
            f"(e.g. {example})"
        )
    walked = walk_files(root)
    skipped: list[dict[str, str]] = walked.check(root, skip_bad)
    broken = frozenset(Path(b["item"]) for b in walked.bad_links)
    parts = split_folders(root, broken)
    class_names = sorted(
        {c.name for folder in parts.values() for c in visible_dirs(folder, broken)}
    )
    if not class_names and not unlabeled:
        raise DataError(
            f"{root}: no class folders; put the {noun} of each class in a subfolder named "
            f"after the class (e.g. {example})"
        )
    loose: list[tuple[str, Path]] = []
    for split, folder in parts.items():
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                if unlabeled:
                    loose.append((split, path))
                    continue
                if not skip_bad:
                    raise DataError(
                        f"{path}: a file outside the class folders; move it into a class "
                        "folder or remove it"
                    )
                skipped.append({"item": str(path), "reason": "outside the class folders"})
    # Each file under its class folder, found once (a walk can hold many thousand files).
    by_class: dict[tuple[str, ...], list[Path]] = {}
    for path in walked.files:
        for folder in parts.values():
            depth = len(folder.parts)
            if path.parts[:depth] == folder.parts and len(path.parts) > depth + 1:
                by_class.setdefault(path.parts[: depth + 1], []).append(path)
    items: list[Item] = []
    labels: list[int] = []
    files: list[str] = []
    is_test: list[bool] = []
    used: list[str] = []
    for name in class_names:
        found = 0
        for split, folder in parts.items():
            class_dir = folder / name
            if not class_dir.is_dir() or class_dir in broken:
                continue
            for path in by_class.get(class_dir.parts, []):
                if hidden(path, class_dir):
                    continue
                try:
                    item = read(path)
                except BadFile as bad:
                    if not skip_bad:
                        raise
                    skipped.append({"item": str(path), "reason": bad.reason})
                    continue
                items.append(item)
                labels.append(len(used))
                files.append(path.relative_to(root).as_posix())
                is_test.append(split == "test")
                found += 1
        if found == 0:
            if not skip_bad:
                raise DataError(
                    f"{root / name}: class folder '{name}' has no {noun}; {add_hint}, remove "
                    "it, or import with --skip-bad"
                )
            skipped.append({"item": str(root / name), "reason": f"class folder without {noun}"})
            continue
        used.append(name)
    for split, path in loose:
        try:
            item = read(path)
        except BadFile as bad:
            if not skip_bad:
                raise
            skipped.append({"item": str(path), "reason": bad.reason})
            continue
        items.append(item)
        labels.append(-1)
        files.append(path.relative_to(root).as_posix())
        is_test.append(split == "test")
    return ClassFolderContents(
        items=items,
        labels=np.array(labels, dtype=np.int64),
        classes=used,
        files=files,
        is_test=np.array(is_test, dtype=bool),
        skipped=skipped,
    )

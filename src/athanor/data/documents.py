"""Labeled text: a folder of class subfolders of documents, one document per file.

``reviews/pos/001.txt, reviews/neg/002.txt`` (or ``reviews/train/pos/...`` plus
``reviews/test/pos/...`` for an official test split) is read into documents with class
labels, checked, and stored in an imported version as ``documents.jsonl``: one JSON object
per line with the document's ``text``, its class index ``label``, whether it belongs to the
official ``test`` split, and the ``file`` it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from athanor.errors import DataError

DOCUMENT_SUFFIXES = (".txt", ".text", ".md")
DOCUMENTS_FILE = "documents.jsonl"


@dataclass
class TextFolder:
    """Documents read from class folders, with their labels and what was skipped."""

    texts: list[str]
    labels: np.ndarray
    classes: list[str]
    files: list[str]
    is_test: np.ndarray
    """True for documents of a ``test/`` folder (an official test split)."""
    skipped: list[dict[str, str]] = field(default_factory=list)


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def split_folders(root: Path) -> dict[str, Path]:
    """``{"train": root}``, or the ``train`` and ``test`` folders when the root holds them."""
    names = {p.name for p in _visible_dirs(root)}
    if names and names <= {"train", "test"} and "train" in names:
        return {name: root / name for name in sorted(names)}
    return {"train": root}


def looks_like_text_classes(root: Path) -> bool:
    """Whether ``root`` holds text files only, all inside class subfolders."""
    if not root.is_dir():
        return False
    files = [p for p in root.rglob("*") if p.is_file() and not _hidden(p, root)]
    if not files or any(p.suffix.lower() not in DOCUMENT_SUFFIXES for p in files):
        return False
    parts = split_folders(root)
    for path in files:
        folder = next((f for f in parts.values() if path.is_relative_to(f)), None)
        if folder is None or len(path.relative_to(folder).parts) < 2:
            return False
    return True


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_text_folder(root: Path, *, encoding: str = "utf-8", skip_bad: bool = False) -> TextFolder:
    """Read ``root/<class>/<file>.txt`` (or ``root/train/<class>/...`` + ``root/test/...``).

    Hidden files are ignored. A file that is not ``.txt``/``.text``/``.md``, cannot be
    decoded in ``encoding`` or holds only whitespace, a file outside the class folders and a
    class folder without documents are errors naming the file or folder; with ``skip_bad``
    they are left out and listed instead.

    Raises:
        DataError: the problem with the folder or the first bad file.
    """
    from athanor.data.tables import decode_text

    if not root.is_dir():
        raise DataError(f"{root}: not a folder; labeled text is a folder of class subfolders")
    parts = split_folders(root)
    class_names = sorted({c.name for folder in parts.values() for c in _visible_dirs(folder)})
    if not class_names:
        raise DataError(
            f"{root}: no class folders; put the documents of each class in a subfolder named "
            "after the class (e.g. pos/001.txt, neg/002.txt)"
        )
    skipped: list[dict[str, str]] = []
    for folder in parts.values():
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                problem = f"{path}: a file outside the class folders"
                if not skip_bad:
                    raise DataError(problem + "; move it into a class folder or remove it")
                skipped.append({"item": str(path), "reason": "outside the class folders"})
    texts: list[str] = []
    labels: list[int] = []
    files: list[str] = []
    is_test: list[bool] = []
    used: list[str] = []
    for name in class_names:
        found = 0
        for split, folder in parts.items():
            class_dir = folder / name
            if not class_dir.is_dir():
                continue
            for path in sorted(class_dir.rglob("*")):
                if not path.is_file() or _hidden(path, class_dir):
                    continue
                problem = _check_document(path)
                text = ""
                if problem is None:
                    try:
                        text = decode_text(path.read_bytes(), str(path), encoding)
                    except DataError as exc:
                        problem = str(exc)
                if problem is None and not text.strip():
                    problem = f"{path}: an empty document (only whitespace)"
                if problem is not None:
                    if not skip_bad:
                        raise DataError(f"{problem}; fix or remove it, or import with --skip-bad")
                    skipped.append({"item": str(path), "reason": problem.split(": ", 1)[-1]})
                    continue
                texts.append(text.replace("\r\n", "\n"))
                labels.append(len(used))
                files.append(path.relative_to(root).as_posix())
                is_test.append(split == "test")
                found += 1
        if found == 0:
            if not skip_bad:
                raise DataError(
                    f"{root / name}: class folder '{name}' has no documents; add .txt files, "
                    "remove it, or import with --skip-bad"
                )
            skipped.append({"item": str(root / name), "reason": "class folder without documents"})
            continue
        used.append(name)
    if len(used) < 2:
        raise DataError(
            f"{root}: only {len(used)} class ({', '.join(used) or 'none'}) has documents; "
            "classification needs at least two class folders (to train a language model on "
            "one corpus, import it with --kind text)"
        )
    test_flags = np.array(is_test, dtype=bool)
    if test_flags.any() and not test_flags.all():
        train_classes = set(np.array(labels)[~test_flags].tolist())
        missing = [used[i] for i in range(len(used)) if i not in train_classes]
        if missing:
            raise DataError(
                f"{root / 'train'}: class(es) {', '.join(missing)} have test documents but "
                "no training documents"
            )
    return TextFolder(
        texts=texts,
        labels=np.array(labels, dtype=np.int64),
        classes=used,
        files=files,
        is_test=test_flags,
        skipped=skipped,
    )


def _check_document(path: Path) -> str | None:
    if path.suffix.lower() not in DOCUMENT_SUFFIXES:
        return f"{path}: not a text document ({', '.join(DOCUMENT_SUFFIXES)})"
    return None


def save_documents(folder: Path, found: TextFolder) -> None:
    """Write the documents of a version as JSON lines (UTF-8)."""
    with (folder / DOCUMENTS_FILE).open("w", encoding="utf-8") as handle:
        for text, label, test, file in zip(
            found.texts, found.labels.tolist(), found.is_test.tolist(), found.files, strict=True
        ):
            record = {"text": text, "label": label, "test": test, "file": file}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def load_documents(folder: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, class indices and official-test flags of a version's documents.

    Raises:
        DataError: the file is missing or damaged, naming its line.
    """
    path = folder / DOCUMENTS_FILE
    texts: list[str] = []
    labels: list[int] = []
    tests: list[bool] = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    record = json.loads(line)
                    texts.append(str(record["text"]))
                    labels.append(int(record["label"]))
                    tests.append(bool(record["test"]))
                except (ValueError, KeyError, TypeError):
                    raise DataError(f"{path}:{number}: not a document record") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the documents ({exc})") from None
    return texts, np.array(labels, dtype=np.int64), np.array(tests, dtype=bool)

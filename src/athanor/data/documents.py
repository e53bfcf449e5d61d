"""Labeled text: a folder of class subfolders of documents, one document per file.

``reviews/pos/001.txt, reviews/neg/002.txt`` (or ``reviews/train/pos/...`` plus
``reviews/test/pos/...`` for an official test split) is read into documents with class
labels, checked, and stored in an imported version as ``documents.jsonl``: one JSON object
per line with the document's ``text``, its class index ``label``, whether it belongs to the
official ``test`` split, and the ``file`` it came from.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np

from athanor.data.class_folders import (
    BadFile,
    ClassFolderContents,
    hidden,
    read_class_folders,
    split_folders,
)
from athanor.errors import DataError

DOCUMENT_SUFFIXES = (".txt", ".text", ".md")
DOCUMENTS_FILE = "documents.jsonl"


TextFolder = ClassFolderContents[str]
"""Documents read from class folders, with their labels and what was skipped."""


def looks_like_text_classes(root: Path) -> bool:
    """Whether ``root`` holds text files only, all inside class subfolders."""
    if not root.is_dir():
        return False
    files = [p for p in root.rglob("*") if p.is_file() and not hidden(p, root)]
    if not files or any(p.suffix.lower() not in DOCUMENT_SUFFIXES for p in files):
        return False
    parts = split_folders(root)
    for path in files:
        folder = next((f for f in parts.values() if path.is_relative_to(f)), None)
        if folder is None or len(path.relative_to(folder).parts) < 2:
            return False
    return True


def read_text_folder(
    root: Path, *, encoding: str = "utf-8", skip_bad: bool = False, unlabeled: bool = False
) -> TextFolder:
    """Read ``root/<class>/<file>.txt`` (or ``root/train/<class>/...`` + ``root/test/...``).

    Folders are walked by :func:`athanor.data.class_folders.read_class_folders`: hidden
    files are ignored. A file that is not ``.txt``/``.text``/``.md``, cannot be decoded in
    ``encoding`` or holds only whitespace, a file outside the class folders and a class
    folder without documents are errors naming the file or folder; with ``skip_bad`` they
    are left out and listed instead. With ``unlabeled``, documents beside the class folders
    (or in a folder without any) are unlabeled items (label ``-1``).

    Raises:
        DataError: the problem with the folder or the first bad file.
    """
    found = read_class_folders(
        root,
        partial(_read_document, encoding=encoding),
        noun="documents",
        example="pos/001.txt, neg/002.txt",
        add_hint="add .txt files",
        skip_bad=skip_bad,
        unlabeled=unlabeled,
    )
    used = found.classes
    if not found.items:
        raise DataError(f"{root}: no documents")
    if len(used) < 2 and not (found.labels < 0).any():
        raise DataError(
            f"{root}: only {len(used)} class ({', '.join(used) or 'none'}) has documents; "
            "classification needs at least two class folders (to train a language model on "
            "one corpus, import it with --kind text)"
        )
    test_flags = found.is_test
    if test_flags.any() and not test_flags.all():
        train_classes = set(found.labels[~test_flags].tolist())
        missing = [used[i] for i in range(len(used)) if i not in train_classes]
        if missing:
            raise DataError(
                f"{root / 'train'}: class(es) {', '.join(missing)} have test documents but "
                "no training documents"
            )
    return found


def _read_document(path: Path, *, encoding: str) -> str:
    from athanor.data.tables import decode_text

    problem = None
    text = ""
    if path.suffix.lower() not in DOCUMENT_SUFFIXES:
        problem = f"{path}: not a text document ({', '.join(DOCUMENT_SUFFIXES)})"
    else:
        try:
            text = decode_text(path.read_bytes(), str(path), encoding)
        except DataError as exc:
            problem = str(exc)
    if problem is None and not text.strip():
        problem = f"{path}: an empty document (only whitespace)"
    if problem is not None:
        raise BadFile(
            f"{problem}; fix or remove it, or import with --skip-bad", problem.split(": ", 1)[-1]
        )
    return text.replace("\r\n", "\n")


def save_documents(folder: Path, found: TextFolder) -> None:
    """Write the documents of a version as JSON lines (UTF-8)."""
    with (folder / DOCUMENTS_FILE).open("w", encoding="utf-8") as handle:
        for text, label, test, file in zip(
            found.items, found.labels.tolist(), found.is_test.tolist(), found.files, strict=True
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

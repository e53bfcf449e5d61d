"""Importing the user's own data as immutable, content-addressed dataset versions.

``import_dataset(path, name=...)`` reads a CSV/TSV/Parquet table, a folder of class
subfolders of images, IDX files, plain text, a folder of class subfolders of text documents,
or a time-series CSV; checks it; and stores it
under ``artifacts/datasets/<content hash>/`` with a ``dataset.json`` describing it. The hash
covers the source files' bytes and the import options, so importing the same content again
returns the existing version. Everything is written into a staging folder first: a failed
import leaves nothing in the store.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.box_versions import looks_like_detection, write_detection_version
from athanor.data.catalog import catalog
from athanor.data.class_folders import walk_files
from athanor.data.documents import looks_like_text_classes, read_text_folder, save_documents
from athanor.data.idx import read_idx_file
from athanor.data.images import (
    IMAGE_SUFFIXES,
    ImageCollection,
    save_labels,
    write_image_folder,
)
from athanor.data.log_versions import LOG_SUFFIXES, write_log_keys_version, write_log_version
from athanor.data.series import read_series_csv
from athanor.data.tables import (
    TableData,
    TargetRequired,
    column_overview,
    decode_text,
    missing_mask,
    read_delimited,
    read_workbook,
    table_from_frame,
    table_to_frame,
)
from athanor.errors import DataError, UserError
from athanor.settings import Settings
from athanor.spec.imports import IMPORT_KINDS, ImportOptions, import_options
from athanor.store import DatasetVersionRecord, open_store

TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".xlsx", ".xlsm")
TEXT_SUFFIXES = (".txt", ".text", ".md")
FORMAT = 1
DATASET_JSON = "dataset.json"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_IDX_NAME = re.compile(r"idx\d-ubyte|\.idx\d?$", re.IGNORECASE)


@dataclass
class ImportResult:
    """The version an import produced or found again."""

    version: DatasetVersionRecord
    reused: bool
    report: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.version.to_json(), "reused": self.reused}


def check_dataset_name(name: str) -> str:
    """Raises UserError unless ``name`` can name an imported dataset."""
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"dataset name '{name}' is invalid: use 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if name in catalog():
        raise UserError(f"'{name}' is a catalog dataset; choose another name for your data")
    return name


def detect_kind(path: Path) -> str:
    """The import kind a path looks like (see :func:`import_dataset`).

    Raises:
        DataError: the path does not exist or is of no supported kind.
    """
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in TABLE_SUFFIXES:
            return (
                "series"
                if suffix in (".csv", ".tsv", ".tab") and _looks_like_series(path)
                else "table"
            )
        if suffix in TEXT_SUFFIXES:
            return "text"
        if suffix in LOG_SUFFIXES:
            return "logs"
        if _IDX_NAME.search(path.name.removesuffix(".gz")):
            return "idx"
        if suffix == ".json":
            return "detection"  # COCO annotations
        raise DataError(
            f"{path}: unsupported file type '{suffix}'; import CSV/TSV/Parquet/Excel tables, .txt "
            "text, IDX files, COCO .json boxes, .log logs, or a folder of class subfolders of "
            "images (log key files: --kind log_keys; other logs: --kind logs)",
            code="file_type_unsupported",
            params={"file": str(path), "suffix": suffix},
            field="kind",
        )
    # Through links, as the readers go (a folder of linked class folders holds images too).
    files = [p for p in walk_files(path).files if not p.name.startswith(".")]
    if any(_IDX_NAME.search(p.name.removesuffix(".gz")) for p in files):
        return "idx"
    if looks_like_detection(path):
        return "detection"
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in files):
        return "images"
    if looks_like_text_classes(path):
        return "text_classes"
    if files and all(p.suffix.lower() in TEXT_SUFFIXES for p in files):
        return "text"
    if files and all(p.suffix.lower() in LOG_SUFFIXES for p in files):
        return "logs"
    raise DataError(
        f"{path}: cannot tell what this folder holds; give --kind ({', '.join(IMPORT_KINDS)})",
        code="kind_undetected",
        params={"path": str(path), "kinds": ", ".join(IMPORT_KINDS)},
        field="kind",
    )


def _looks_like_series(path: Path) -> bool:
    # A first column of timestamps and only numbers after it: a time series.
    try:
        head = path.read_bytes()[:65536].decode("utf-8", errors="replace").splitlines()
    except OSError:
        return False
    if len(head) < 3:
        return False
    import csv

    rows = list(csv.reader(head[:50]))
    body = [r for r in rows[1:] if r]
    if not body or len(rows[0]) < 2:
        return False
    from athanor.data.tables import infer_column

    first, _ = infer_column("t", [r[0] for r in body])
    if first.type != "datetime":
        return False
    for position in range(1, len(rows[0])):
        column, _ = infer_column("v", [r[position] if position < len(r) else "" for r in body])
        if column.type not in ("numeric", "boolean"):
            return False
    return True


def _source_files(path: Path, skip_bad: bool) -> list[Path]:
    # The walker of the class-folder readers, so the hash covers exactly the files they read.
    if path.is_file():
        return [path]
    walked = walk_files(path)
    walked.check(path, skip_bad)
    return walked.files


def content_hash(path: Path, options: dict[str, Any]) -> str:
    """SHA-256 of the source files (relative names and bytes) and the import options.

    Links are followed as the readers follow them (:func:`walk_files`): the hash covers the
    content they lead to, named by the path through the link.

    Raises:
        DataError: (unless ``options["skip_bad"]``) links that dangle or loop, listed.
    """
    digest = hashlib.sha256()
    digest.update(f"athanor-dataset-{FORMAT}\n".encode())
    digest.update(json.dumps(options, sort_keys=True).encode() + b"\n")
    root = path if path.is_dir() else path.parent
    for file in _source_files(path, bool(options.get("skip_bad"))):
        name = file.relative_to(root).as_posix() if path.is_dir() else ""
        digest.update(f"{name}\n{file.stat().st_size}\n".encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def import_dataset(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    settings: Settings | None = None,
    **values: Any,
) -> ImportResult:
    """Import ``path`` as a version of the dataset ``options.name``.

    Args:
        path: a CSV/TSV/Parquet file, a folder of class subfolders of images (optionally
            under ``train/`` and ``test/``), IDX files (a file or a folder of them), a
            ``.txt`` file or folder of them (a corpus), a folder of class subfolders of
            ``.txt``/``.text``/``.md`` documents (text classification, optionally under
            ``train/`` and ``test/``), or a time-series CSV.
        options: the name, what ``path`` holds and how strictly to read it (see
            :class:`~athanor.spec.imports.ImportOptions`).
        settings: the store (default: from the environment).
        values: fields of :class:`~athanor.spec.imports.ImportOptions` by name, over
            ``options``: ``import_dataset("houses.csv", name="houses", target="price")``.

    Returns:
        The version, and whether it already existed.

    Raises:
        DataError: a problem with the data, naming the file, line or column.
        UserError: an invalid name or option.
    """
    options = import_options(options, values)
    source = Path(path).expanduser()
    check_dataset_name(options.name)
    if options.kind == "auto":
        options = options.model_copy(update={"kind": detect_kind(source)})
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    # Every option but the name shapes the stored files; versions of several names may
    # share them. The hash covers these options, so their set must not change.
    recorded = {key: getattr(options, key) for key in ImportOptions.model_fields if key != "name"}
    if recorded.get("duplicates") == "error":
        # Added later: its default leaves it out, so earlier versions keep their hashes.
        del recorded["duplicates"]
    if recorded.get("text_column") is None:
        # Added later: left out when unset so versions imported before keep their hashes.
        recorded.pop("text_column", None)
    for key in ("log_format", "session", "time_format"):
        if recorded.get(key) is None:
            recorded.pop(key, None)  # likewise
    if recorded.get("format") is None:
        recorded.pop("format", None)  # likewise
    store = open_store(settings)
    hashed, hash_options = source, recorded
    if options.kind == "detection" and source.is_file():
        # A COCO JSON or a YOLO data.yaml: its images are in its folder.
        hashed, hash_options = source.parent, {**recorded, "entry": source.name}
    digest = content_hash(hashed, hash_options)
    existing = store.datasets.find(options.name, digest)
    if existing is not None:
        return ImportResult(existing, reused=True, report=existing.info.get("report", {}))
    destination = store.artifacts.dataset_dir(digest)
    if not (destination / DATASET_JSON).is_file():
        writer = _WRITERS[options.kind]
        try:
            with store.artifacts.staging(destination) as staging:
                info = writer(source, staging, options)
                info.update(
                    {"format": FORMAT, "source": str(source), "options": recorded, "hash": digest}
                )
                (staging / DATASET_JSON).write_text(json.dumps(info, indent=1, default=str))
        except FileExistsError:
            pass  # the same content was published meanwhile: use it
    info = json.loads((destination / DATASET_JSON).read_text())
    size = sum(p.stat().st_size for p in destination.rglob("*") if p.is_file())
    relative = store.artifacts.relative(destination)
    try:
        record, created = store.datasets.add_version(
            options.name,
            content_hash=digest,
            kind=info["kind"],
            task=info["task"],
            path=relative,
            source=str(source),
            rows=int(info["rows"]),
            size_bytes=size,
            info={k: v for k, v in info.items() if k not in ("files",)},
        )
    except BaseException:
        if store.datasets.uses_of(relative) == 0:
            shutil.rmtree(destination, ignore_errors=True)
        raise
    return ImportResult(record, reused=not created, report=info.get("report", {}))


def _report(skipped: list[dict[str, str]], notes: list[str] | None = None) -> dict[str, Any]:
    return {"skipped_count": len(skipped), "skipped": skipped, "notes": list(notes or [])}


# -- writers: parse the source, check it, write the version's files ----------------------


def _write_table(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    if source.is_dir():
        raise DataError(f"{source}: a table import takes one CSV, TSV, Parquet or Excel file")
    skipped: list[dict[str, str]] = []
    if source.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        try:
            frame = pd.read_parquet(source)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise DataError(f"{source}: not a readable Parquet file ({exc})") from None
        table = table_from_frame(frame, str(source))
    elif source.suffix.lower() in (".xlsx", ".xlsm"):
        table = read_workbook(source)
    else:
        table, problems = read_delimited(source, encoding=options.encoding)
        width = len(table.columns)
        for line, count in problems.ragged:
            if not options.skip_bad:
                raise DataError(
                    f"{source}:{line}: {count} fields, the header has {width}; fix the row "
                    "or import with --skip-bad to leave such rows out",
                    code="row_unreadable",
                    params={
                        "file": str(source),
                        "line": line,
                        "reason": f"{count} fields, the header has {width}",
                    },
                    field="path",
                )
            skipped.append(
                {"item": f"{source.name}:{line}", "reason": f"{count} fields, not {width}"}
            )
    if len(table) == 0:
        raise DataError(f"{source}: no data rows")
    target = options.target
    task = options.task
    classes = None
    if target is None:
        raise TargetRequired.of_table(source.name, column_overview(table))
    if target is not None:
        table.column(target)  # names the columns when it is missing
        gaps = missing_mask(table.values[target])
        if gaps.any() and options.skip_bad:
            for line in table.lines[gaps].tolist():
                skipped.append({"item": f"{source.name}:{line}", "reason": f"no {target}"})
            table = table[~gaps]
        _features, _y, classes, task = table.split_target(target, task, dataset=source.name)
    frame = table_to_frame(table)
    frame.to_parquet(folder / "table.parquet", index=False)
    np.save(folder / "lines.npy", table.lines.astype(np.int64), allow_pickle=False)
    missing = table.missing_counts()
    info: dict[str, Any] = {
        "kind": "tabular",
        "task": task or "regression",
        "target": target,
        "rows": len(table),
        "columns": [c.model_dump() for c in table.columns],
        "missing": {k: v for k, v in missing.items() if v},
        "report": _report(skipped),
    }
    if target is not None and classes is not None:
        labels = [str(v) for v in table.values[target]]
        counts = Counter(_canonical(v) for v in labels)
        info["classes"] = classes
        info["class_counts"] = {c: counts.get(c, 0) for c in classes}
    return info


def _classes_info(labels: np.ndarray, classes: list[str], is_test: np.ndarray) -> dict[str, Any]:
    """The task, rows and class balance of a classification import; items labeled ``-1``
    are unlabeled (counted in ``unlabeled``)."""
    counts = np.bincount(labels[labels >= 0], minlength=len(classes))
    info = {
        "task": "classification",
        "rows": len(labels),
        "classes": classes,
        "class_counts": dict(zip(classes, counts.tolist(), strict=True)),
        "test_rows": int(is_test.sum()),
    }
    unlabeled = int((labels < 0).sum())
    if unlabeled:
        info["unlabeled"] = unlabeled
    return info


def _canonical(label: str) -> str:
    try:
        number = float(label)
    except ValueError:
        return label
    return str(int(number)) if number.is_integer() else label


def _write_images(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    found = write_image_folder(source, folder, skip_bad=options.skip_bad)
    shapes = np.array(found.items, dtype=np.int64).reshape(-1, 3)
    meta = {"classes": found.classes, "files": found.files}
    save_labels(folder, found.labels, found.is_test, meta)
    sizes = Counter(f"{h}x{w}" for h, w in shapes[:, 1:].tolist())
    return {
        "kind": "image",
        **_classes_info(found.labels, found.classes, found.is_test),
        "channels": int(shapes[:, 0].max()),
        "sizes": dict(sizes.most_common(10)),
        "report": _report(found.skipped),
    }


def _write_idx(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    files = _source_files(source, options.skip_bad)
    arrays: dict[str, np.ndarray] = {}
    for file in files:
        if not _IDX_NAME.search(file.name.removesuffix(".gz")):
            continue
        arrays[file.name] = read_idx_file(file)
    images = {n: a for n, a in arrays.items() if a.ndim >= 3}
    labels = {n: a for n, a in arrays.items() if a.ndim == 1}
    if not images or not labels:
        raise DataError(
            f"{source}: IDX import needs an images file (3-D) and a labels file (1-D); "
            f"found {', '.join(sorted(arrays)) or 'none'}"
        )
    parts: list[tuple[np.ndarray, np.ndarray, bool]] = []
    for image_name, image_array in sorted(images.items()):
        is_test = image_name.startswith(("t10k", "test"))
        match = [
            n
            for n in labels
            if n.startswith(("t10k", "test")) == is_test and len(labels[n]) == len(image_array)
        ]
        if len(match) != 1:
            raise DataError(
                f"{source}: no labels file of {len(image_array)} entries matches {image_name}"
            )
        parts.append((image_array, labels[match[0]], is_test))
    all_images = np.concatenate([p[0] for p in parts])
    if all_images.ndim == 3:
        all_images = all_images[:, None]
    elif all_images.ndim == 4 and all_images.shape[-1] in (1, 3):
        all_images = all_images.transpose(0, 3, 1, 2)
    if all_images.dtype != np.uint8:
        raise DataError(f"{source}: IDX images must be unsigned bytes, not {all_images.dtype}")
    all_labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    is_test = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    values = np.unique(all_labels)
    classes = [str(v) for v in values.tolist()]
    encoded = np.searchsorted(values, all_labels)
    collection = ImageCollection.from_arrays(list(all_images))
    collection.save(folder)
    save_labels(folder, encoded, is_test, {"classes": classes, "files": sorted(images)})
    return {
        "kind": "image",
        **_classes_info(encoded, classes, is_test),
        "channels": int(all_images.shape[1]),
        "sizes": {f"{all_images.shape[2]}x{all_images.shape[3]}": len(encoded)},
        "report": _report([]),
    }


def _write_text(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    files = [p for p in _source_files(source, options.skip_bad) if not p.name.startswith(".")]
    skipped: list[dict[str, str]] = []
    texts: list[str] = []
    for file in files:
        if file.suffix.lower() not in TEXT_SUFFIXES:
            if not options.skip_bad:
                raise DataError(
                    f"{file}: not a text file (.txt); remove it or use --skip-bad",
                    code="file_unreadable",
                    params={"file": str(file), "reason": "not a text file (.txt)"},
                    field="path",
                )
            skipped.append({"item": str(file), "reason": "not a text file"})
            continue
        try:
            texts.append(decode_text(file.read_bytes(), str(file), options.encoding))
        except DataError as exc:
            if not options.skip_bad:
                raise
            skipped.append({"item": str(file), "reason": str(exc).split(": ", 1)[-1]})
    corpus = "\n\n".join(t.replace("\r\n", "\n") for t in texts)
    if not corpus.strip():
        raise DataError(f"{source}: no text")
    (folder / "corpus.txt").write_text(corpus, encoding="utf-8")
    return {
        "kind": "tokens",
        "task": "language_model",
        "rows": len(corpus),
        "characters": len(corpus),
        "distinct_characters": len(set(corpus)),
        "lines": corpus.count("\n") + 1,
        "files": len(texts),
        "report": _report(skipped),
    }


def _write_text_classes(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    from athanor.data.text import length_statistics, split_tokens

    found = read_text_folder(source, encoding=options.encoding, skip_bad=options.skip_bad)
    save_documents(folder, found)
    words = np.array([len(split_tokens(t, "word")) for t in found.items])
    characters = np.array([len(t) for t in found.items])
    return {
        "kind": "text_classes",
        **_classes_info(found.labels, found.classes, found.is_test),
        "lengths": {
            "words": length_statistics(words),
            "characters": length_statistics(characters),
        },
        "report": _report(found.skipped),
    }


def _write_documents(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    """Documents to label: a folder (class folders and loose files) or a CSV text column."""
    from athanor.data.class_folders import ClassFolderContents

    if source.is_dir():
        found = read_text_folder(
            source, encoding=options.encoding, skip_bad=options.skip_bad, unlabeled=True
        )
    else:
        if source.suffix.lower() not in (".csv", ".tsv", ".tab"):
            raise DataError(f"{source}: documents are read from a folder or a CSV file")
        table, _problems = read_delimited(source, encoding=options.encoding)
        text_name = options.text_column or "text"
        table.column(text_name)  # names the columns when it is missing
        label_name = options.target or ("label" if "label" in table.names else None)
        raw_labels = (
            [None] * len(table)
            if label_name is None
            else [None if v is None or v != v else str(v) for v in table.values[label_name]]
        )
        raw_labels = [_canonical(v.strip()) if v and v.strip() else None for v in raw_labels]
        classes = sorted({v for v in raw_labels if v is not None})
        items: list[str] = []
        labels: list[int] = []
        for line, value, label in zip(
            table.lines.tolist(), table.values[text_name].tolist(), raw_labels, strict=True
        ):
            if value is None or not str(value).strip():
                raise DataError(f"{source}:{line}: column '{text_name}' is empty")
            items.append(str(value))
            labels.append(classes.index(label) if label is not None else -1)
        found = ClassFolderContents(
            items=items,
            labels=np.array(labels, dtype=np.int64),
            classes=classes,
            files=[f"{source.name}:{line}" for line in table.lines.tolist()],
            is_test=np.zeros(len(items), dtype=bool),
        )
        if not items:
            raise DataError(f"{source}: no data rows")
    save_documents(folder, found)
    return {
        "kind": "text_classes",
        **_classes_info(found.labels, found.classes, found.is_test),
        "report": _report(found.skipped),
    }


def _write_series(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    if source.is_dir():
        raise DataError(f"{source}: a series import takes one CSV file")
    times, values, names, notes = read_series_csv(
        source,
        time_column=options.time_column,
        encoding=options.encoding,
        duplicates=options.duplicates,
    )
    target = options.target
    if target is not None and target not in names:
        raise DataError(
            f"--target: '{target}' is not a value column of {source}; columns: {', '.join(names)}"
        )
    np.save(folder / "values.npy", values, allow_pickle=False)
    np.save(folder / "timestamps.npy", times.astype("datetime64[ns]"), allow_pickle=False)
    return {
        "kind": "sequence",
        "task": "forecasting",
        "rows": len(values),
        "columns": names,
        "targets": [target] if target else names,
        "start": str(times[0]),
        "end": str(times[-1]),
        "report": {
            **_report([], [n["reason"] for n in notes]),
            "duplicates_merged": sum(int(n.get("duplicates_merged", 0)) for n in notes),
        },
    }


_WRITERS = {
    "table": _write_table,
    "images": _write_images,
    "idx": _write_idx,
    "text": _write_text,
    "text_classes": _write_text_classes,
    "documents": _write_documents,
    "series": _write_series,
    "detection": write_detection_version,
    "logs": write_log_version,
    "log_keys": write_log_keys_version,
}


def load_table_version(folder: Path, info: dict[str, Any]) -> TableData:
    """The table of a version, with the column types recorded at import."""
    import pandas as pd

    from athanor.data.schema import ColumnSchema

    frame = pd.read_parquet(folder / "table.parquet")
    columns = [ColumnSchema(**c) for c in info["columns"]]
    values: dict[str, np.ndarray] = {}
    for column in columns:
        series = frame[column.name]
        if column.type in ("numeric", "boolean"):
            values[column.name] = series.to_numpy(np.float64, na_value=np.nan)
        elif column.type == "datetime":
            values[column.name] = series.to_numpy("datetime64[ns]")
        else:
            values[column.name] = np.array(
                [None if v is None or v is pd.NA else str(v) for v in series.tolist()],
                dtype=object,
            )
    lines = np.load(folder / "lines.npy", allow_pickle=False)
    return TableData(columns, values, lines, info.get("source", str(folder)))

"""Importing the user's own files: versions by content, bad input named, nothing half-written."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import athanor as at
from athanor.data.importing import import_dataset
from athanor.data.prepare import load_raw
from athanor.errors import DataError, DatasetNotFound, UserError
from athanor.store import open_store

SUFFIXES = ("png", "jpg", "bmp", "webp")


def make_shapes(root: Path, per_class: int = 12) -> Path:
    """Two classes of drawn shapes, in mixed sizes, formats and colour modes."""
    rng = np.random.default_rng(0)
    for label in ("circle", "square"):
        (root / label).mkdir(parents=True)
        for index in range(per_class):
            size = 16 if index % 3 else 20
            yy, xx = np.mgrid[:size, :size]
            centre = size / 2 + rng.uniform(-2, 2)
            if label == "circle":
                mask = (yy - centre) ** 2 + (xx - centre) ** 2 < (size / 3) ** 2
            else:
                mask = (abs(yy - centre) < size / 3) & (abs(xx - centre) < size / 3)
            pixels = np.where(mask, 230, 20).astype(np.uint8)
            image = Image.fromarray(pixels)
            if index % 2:
                image = image.convert("RGB")
            suffix = SUFFIXES[index % len(SUFFIXES)]
            image.save(root / label / f"{index:03d}.{suffix}")
    return root


MESSY_CSV = """\
city,rooms,area,garden,built,price
Lyon,3,72.5,yes,2001-05-01,310000
Paris,2,,no,1999-03-12,455000
Lyon,,88,yes,2010-10-10,350000
Nice,4,120,NA,1985-01-30,520000
Paris,1,30,no,2015-06-01,290000
,3,75,yes,2003-07-07,305000
"""


def messy_csv(path: Path, rows: int = 60) -> Path:
    rng = np.random.default_rng(0)
    lines = MESSY_CSV.splitlines()
    cities = ["Lyon", "Paris", "Nice", ""]
    for _ in range(rows):
        rooms = int(rng.integers(1, 6))
        area = rooms * 25 + rng.normal(0, 5)
        city = cities[int(rng.integers(0, 4))]
        price = 50_000 + area * 3000 + (150_000 if city == "Paris" else 0)
        area_cell = "" if rng.random() < 0.1 else f"{area:.1f}"
        lines.append(
            f"{city},{rooms},{area_cell},{'yes' if rng.random() < 0.5 else 'no'},"
            f"20{int(rng.integers(0, 20)):02d}-01-15,{price:.0f}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def test_image_folder_import_is_versioned_by_content(tmp_path: Path) -> None:
    folder = make_shapes(tmp_path / "shapes")
    first = import_dataset(folder, name="shapes")
    assert not first.reused and first.version.number == 1 and first.version.kind == "image"
    info = first.version.info
    assert info["classes"] == ["circle", "square"] and info["class_counts"]["circle"] == 12
    assert info["channels"] == 3 and set(info["sizes"]) == {"16x16", "20x20"}
    again = import_dataset(folder, name="shapes")
    assert again.reused and again.version.content_hash == first.version.content_hash
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(folder / "circle" / "extra.png")
    changed = import_dataset(folder, name="shapes")
    assert not changed.reused and changed.version.number == 2
    raw = load_raw(f"shapes@{first.version.short_hash}")
    assert len(raw.y) == 24 and raw.version == first.version.ref
    assert load_raw("shapes@2").y.shape == (25,)
    with pytest.raises(DatasetNotFound, match="'shapes@7' is not a version"):
        load_raw("shapes@7")


def test_a_linked_class_folder_is_hashed_as_read(tmp_path: Path) -> None:
    # Folder B's 'circle' is a link to folder A's: the hash covers the files behind it, so
    # B gets its own version (with B's classes), not A's.
    first = make_shapes(tmp_path / "a")
    second = make_shapes(tmp_path / "b", per_class=3)
    shutil.rmtree(second / "circle")
    (second / "circle").symlink_to(first / "circle")
    (second / "triangle").mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(second / "triangle" / "t.png")
    version_a = import_dataset(first, name="shapes").version
    version_b = import_dataset(second, name="shapes").version
    assert version_b.content_hash != version_a.content_hash and version_b.number == 2
    assert version_b.info["classes"] == ["circle", "square", "triangle"]
    assert version_b.info["class_counts"] == {"circle": 12, "square": 3, "triangle": 1}
    (first / "circle" / "000.png").unlink()  # B's linked class changes: so does its hash
    assert import_dataset(second, name="shapes").version.number == 3
    only_links = tmp_path / "only-links"
    only_links.mkdir()
    for label in ("circle", "square"):
        (only_links / label).symlink_to(first / label)
    linked = import_dataset(only_links, name="linked").version  # its kind found through links
    assert linked.kind == "image" and linked.info["class_counts"] == {"circle": 11, "square": 12}


def test_dangling_links_are_listed_before_hashing(tmp_path: Path) -> None:
    folder = make_shapes(tmp_path / "shapes", per_class=2)
    (folder / "circle" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (folder / "ghosts").symlink_to(tmp_path / "no-folder")
    with pytest.raises(DataError, match="2 symbolic link") as error:
        import_dataset(folder, name="shapes")
    assert "gone.png (dangling link" in str(error.value) and "ghosts (dangling" in str(error.value)
    result = import_dataset(folder, name="shapes", skip_bad=True)
    assert result.version.info["classes"] == ["circle", "square"]
    listed = sorted(Path(s["item"]).name for s in result.report["skipped"])
    assert listed == ["ghosts", "gone.png"]


def test_bad_image_files_are_named_or_skipped_and_listed(tmp_path: Path) -> None:
    folder = make_shapes(tmp_path / "shapes", per_class=4)
    (folder / "circle" / "notes.txt").write_text("not an image")
    good = (folder / "square" / "000.png").read_bytes()
    (folder / "square" / "broken.png").write_bytes(good[: len(good) // 2])
    (folder / "circle" / ".DS_Store").write_bytes(b"\x00\x01")
    with pytest.raises(DataError, match="notes.txt: not an image file"):
        import_dataset(folder, name="shapes")
    (folder / "circle" / "notes.txt").unlink()
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        import_dataset(folder, name="shapes")
    (folder / "circle" / "notes.txt").write_text("not an image")
    (folder / "empty").mkdir()
    result = import_dataset(folder, name="shapes", skip_bad=True)
    report = result.report
    assert report["skipped_count"] == 3
    reasons = {Path(item["item"]).name: item["reason"] for item in report["skipped"]}
    assert reasons["notes.txt"] == "not an image file"
    assert reasons["empty"] == "class folder without images"
    assert "not a readable image" in reasons["broken.png"]
    assert result.version.info["classes"] == ["circle", "square"]
    assert result.version.rows == 8


def test_empty_class_folder_is_an_error(tmp_path: Path) -> None:
    folder = make_shapes(tmp_path / "shapes", per_class=2)
    (folder / "triangle").mkdir()
    with pytest.raises(DataError, match="class folder 'triangle' has no images"):
        import_dataset(folder, name="shapes")


def test_a_failed_import_leaves_nothing_in_the_store(tmp_path: Path, athanor_home: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,target\n1,2,x\n3,4\n5,6,y\n")
    with pytest.raises(DataError, match=r"bad.csv:3: 2 fields, the header has 3"):
        import_dataset(path, name="bad", target="target")
    assert open_store().datasets.list() == []
    datasets = athanor_home / "artifacts" / "datasets"
    assert not datasets.exists() or list(datasets.iterdir()) == []
    staging = athanor_home / "artifacts" / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []


def test_messy_csv_types_missing_values_and_errors(tmp_path: Path) -> None:
    path = messy_csv(tmp_path / "houses.csv")
    result = import_dataset(path, name="houses", target="price")
    info = result.version.info
    types = {c["name"]: c["type"] for c in info["columns"]}
    assert types == {
        "city": "categorical",
        "rooms": "numeric",
        "area": "numeric",
        "garden": "boolean",
        "built": "datetime",
        "price": "numeric",
    }
    assert info["task"] == "regression" and info["missing"]["area"] >= 1
    assert info["missing"]["city"] >= 1 and info["missing"]["garden"] == 1
    with pytest.raises(DataError, match="houses.csv: no column 'cost'; columns: city, rooms"):
        import_dataset(path, name="houses2", target="cost")
    with pytest.raises(UserError, match="'iris' is a catalog dataset"):
        import_dataset(path, name="iris")
    nan_target = tmp_path / "nan.csv"
    nan_target.write_text("x,y\n1,2\n2,\n3,NaN\n4,5\n")
    with pytest.raises(
        DataError, match=r"nan.csv: target column 'y' has no value on line\(s\) 3, 4"
    ):
        import_dataset(nan_target, name="nan", target="y")
    kept = import_dataset(nan_target, name="nan", target="y", skip_bad=True)
    assert kept.version.rows == 2 and kept.report["skipped_count"] == 2
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("x,y\n1,2\n3,4,5\n6,7\n")
    skipped = import_dataset(ragged, name="ragged", target="y", skip_bad=True)
    assert skipped.report["skipped"] == [{"item": "ragged.csv:3", "reason": "3 fields, not 2"}]


def test_non_utf8_text_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "poem.txt"
    path.write_bytes("first line\nsecond é line\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"poem.txt:2: not valid utf-8 \(byte 0xe9"):
        import_dataset(path, name="poem")
    result = import_dataset(path, name="poem", encoding="latin-1")
    assert load_raw("poem").text.startswith("first line\nsecond é line")
    assert result.version.kind == "tokens"


def test_parquet_series_and_idx_imports(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {"a": [1.0, 2.0, None, 4.0], "flag": [True, False, True, None], "kind": list("xyxz")}
    )
    frame.to_parquet(tmp_path / "t.parquet")
    table = import_dataset(tmp_path / "t.parquet", name="pq", target="kind").version.info
    assert {c["name"]: c["type"] for c in table["columns"]}["flag"] == "boolean"
    assert table["task"] == "classification" and table["classes"] == ["x", "y", "z"]

    series = tmp_path / "load.csv"
    stamps = pd.date_range("2024-01-01", periods=50, freq="h")
    rows = [f"{t},{i % 7},{'' if i == 5 else i}" for i, t in enumerate(stamps)]
    series.write_text("time,cycle,ramp\n" + "\n".join(reversed(rows)) + "\n")
    result = import_dataset(series, name="load")
    assert result.version.kind == "sequence"
    raw = load_raw("load")
    assert raw.x.shape == (50, 2) and raw.x[5, 1] == 4.0  # sorted by time, gap filled forward
    assert result.report["notes"] == ["1 missing value(s) filled forward"]

    images = np.random.default_rng(0).integers(0, 256, (6, 5, 4), dtype=np.uint8)
    labels = np.array([3, 1, 3, 1, 1, 3], dtype=np.uint8)
    (tmp_path / "idx").mkdir()
    header = bytes([0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 5, 0, 0, 0, 4])
    (tmp_path / "idx" / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(header + images.tobytes())
    )
    (tmp_path / "idx" / "train-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 8, 1, 0, 0, 0, 6]) + labels.tobytes()
    )
    idx = import_dataset(tmp_path / "idx", name="tiny-idx")
    assert idx.version.info["classes"] == ["1", "3"]
    raw = load_raw("tiny-idx")
    assert raw.x.shape == (6, 1, 5, 4) and np.array_equal(raw.x[:, 0], images)


def test_datasets_api_lists_shows_and_previews(tmp_path: Path) -> None:
    import_dataset(messy_csv(tmp_path / "houses.csv", rows=10), name="houses", target="price")
    assert [s.name for s in at.datasets.list()] == ["houses"]
    shown = at.datasets.show("houses")
    assert shown["ref"].startswith("houses@") and shown["samples"]["train"] == 16
    columns = {c["name"]: c for c in shown["columns"]}
    assert columns["area"]["missing"] >= 1
    stats = at.datasets.stats("houses")
    city = next(c for c in stats["columns"] if c["column"] == "city")
    assert city["unique"] == 3 and city["missing"] >= 1
    preview = at.datasets.preview("houses", rows=3)
    assert len(preview["rows"]) == 3 and all(line >= 2 for line in preview["lines"])
    assert len(at.datasets.versions("houses")) == 1


def test_one_import_options_model_from_python_keywords_or_given_whole(tmp_path: Path) -> None:
    path = messy_csv(tmp_path / "houses.csv", rows=10)
    first = at.datasets.import_dataset(path, name="houses", target="price")
    options = at.datasets.ImportOptions(name="houses", target="price")
    again = import_dataset(path, options)
    assert again.reused and again.version.content_hash == first.version.content_hash
    recorded = first.version.info["options"]
    assert recorded == {
        "kind": "table",
        "target": "price",
        "task": None,
        "skip_bad": False,
        "encoding": "utf-8",
        "time_column": None,
    }
    # Another name shares the stored files; any other option makes another version.
    other_name = import_dataset(path, options, name="homes")
    assert other_name.version.content_hash == first.version.content_hash
    assert other_name.version.path == first.version.path
    strict = import_dataset(path, options, task="regression")
    assert strict.version.content_hash != first.version.content_hash
    assert strict.version.info["options"]["task"] == "regression"
    with pytest.raises(UserError, match=r"import options: kind: must be 'auto'"):
        at.datasets.import_dataset(path, name="houses", kind="spreadsheet")
    with pytest.raises(UserError, match=r"unknown key \(did you mean 'target'\?\)"):
        at.datasets.import_dataset(path, name="houses", targt="price")


def test_a_table_without_a_target_lists_its_columns_and_imports_nothing(tmp_path: Path) -> None:
    from athanor.data.tables import TargetRequired

    path = messy_csv(tmp_path / "houses.csv", rows=10)
    with pytest.raises(TargetRequired) as refused:
        import_dataset(path, name="houses")
    message = str(refused.value)
    assert message.startswith("houses.csv: which column should the model predict? Choose the ")
    assert '--target COLUMN (Python: target=..., REST: "target")' in message
    assert "\n  city    categorical  e.g. Lyon, Paris" in message
    columns = {c["name"]: c for c in refused.value.details["columns"]}
    assert columns["price"]["type"] == "numeric" and len(columns["price"]["examples"]) == 3
    assert columns["garden"]["type"] == "boolean"
    assert at.datasets.list() == []


def test_an_excel_workbook_imports_as_a_table(tmp_path: Path) -> None:
    import pandas as pd

    path = messy_csv(tmp_path / "houses.csv", rows=20)
    workbook = tmp_path / "houses.xlsx"
    pd.read_csv(path).to_excel(workbook, index=False)
    result = import_dataset(workbook, name="sheet", target="price")
    info = result.version.info
    assert result.version.kind == "tabular" and info["task"] == "regression"
    assert {c["name"]: c["type"] for c in info["columns"]}["city"] == "categorical"
    assert result.version.rows == len(pd.read_csv(path))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK not a workbook")
    with pytest.raises(DataError, match="broken.xlsx: not a readable Excel workbook"):
        import_dataset(broken, name="broken", target="price")


def test_unlabeled_and_partly_labeled_images_train_on_the_labeled_ones(tmp_path: Path) -> None:
    from athanor.data.versions import load_dataset
    from tests.label.conftest import write_mnist_pngs

    flat = tmp_path / "flat"
    write_mnist_pngs(flat, 6)
    version = import_dataset(flat, name="flat").version
    assert version.kind == "image" and version.rows == 6
    assert version.info["unlabeled"] == 6 and version.info["classes"] == []
    with pytest.raises(DataError, match=r"0 of 6 items are labeled .* 'athanor label'"):
        load_dataset("flat")
    mixed = tmp_path / "mixed"
    labels = write_mnist_pngs(mixed, 12, labeled=8)
    info = import_dataset(mixed, name="mixed").version.info
    assert info["unlabeled"] == 4
    assert sum(info["class_counts"].values()) == 8
    raw = load_dataset("mixed")
    assert len(raw.y) == 8  # the labeled images only
    assert [raw.classes[i] for i in raw.y] == [str(v) for v in sorted(labels[:8])]


def test_documents_from_folders_and_a_csv_text_column(tmp_path: Path) -> None:
    from athanor.data.versions import load_dataset
    from tests.label.conftest import write_texts

    folder = write_texts(tmp_path / "reviews")
    version = import_dataset(folder, name="reviews", kind="documents").version
    assert version.kind == "text_classes" and version.info["unlabeled"] == 3
    assert version.info["class_counts"] == {"neg": 2, "pos": 2}
    assert len(load_dataset("reviews").y) == 4
    table = tmp_path / "notes.csv"
    table.write_text('text,label\n"Great, lovely",pos\nBoring film,\nDull,neg\n')
    notes = import_dataset(table, name="notes", kind="documents").version
    assert notes.rows == 3 and notes.info["unlabeled"] == 1
    assert notes.info["classes"] == ["neg", "pos"]
    column = tmp_path / "column.csv"
    column.write_text("id,body\n1,first text\n2,second text\n")
    with pytest.raises(DataError, match="text"):
        import_dataset(column, name="column", kind="documents")
    only = import_dataset(column, name="column", kind="documents", text_column="body").version
    assert only.info["unlabeled"] == 2

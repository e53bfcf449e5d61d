"""Labeled text: importing class folders of documents, checking them, preparing them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import athanor as at
from athanor.data.importing import detect_kind, import_dataset
from athanor.data.prepare import load_raw, prepare
from athanor.data.text import split_tokens
from athanor.errors import DataError
from athanor.spec.data import DataSpec
from athanor.store import open_store


def _write(folder: Path, documents: dict[str, list[str]]) -> Path:
    for label, texts in documents.items():
        (folder / label).mkdir(parents=True, exist_ok=True)
        for index, text in enumerate(texts):
            (folder / label / f"{index}.txt").write_text(text, encoding="utf-8")
    return folder


def _reviews(folder: Path) -> Path:
    return _write(
        folder,
        {
            "good": [f"a fine film number {i}, well acted" for i in range(10)],
            "bad": [f"a dull film number {i}; badly written" for i in range(10)],
        },
    )


def _artifact_folders() -> list[Path]:
    root = open_store().artifacts.dataset_dir("x").parent
    return sorted(root.iterdir()) if root.is_dir() else []


def test_import_makes_a_versioned_text_classes_dataset(labeled_text: Path) -> None:
    assert detect_kind(labeled_text) == "text_classes"
    result = import_dataset(labeled_text, name="passages")
    version = result.version
    assert not result.reused and version.kind == "text_classes"
    assert version.task == "classification" and version.rows == 300
    assert version.info["class_counts"] == {"manual": 150, "play": 150}
    words = version.info["lengths"]["words"]
    assert 25 <= words["min"] <= words["median"] <= words["p95"] <= words["max"]
    again = import_dataset(labeled_text, name="passages")
    assert again.reused and again.version.content_hash == version.content_hash
    raw = load_raw("passages")
    assert raw.kind == "tokens" and raw.task == "classification"
    assert raw.classes == ["manual", "play"] and len(raw.x) == 300
    first_play = (labeled_text / "play" / "0000.txt").read_text(encoding="utf-8")
    assert first_play in set(raw.x[raw.y == 1].tolist())
    shown = at.datasets.show("passages")
    assert shown["class_counts"] == {"manual": 150, "play": 150}
    assert shown["documents"]["words_by_class"]["play"]["max"] >= 25
    preview = at.datasets.preview("passages", rows=3)
    assert preview["text"].count("\n") == 2 and preview["text"].startswith("[")


def test_train_and_test_folders_give_an_official_test_split(tmp_path: Path) -> None:
    root = tmp_path / "reviews"
    _reviews(root / "train")
    _write(root / "test", {"good": ["a fine film"], "bad": ["a dull film"]})
    assert detect_kind(root) == "text_classes"
    version = import_dataset(root, name="reviews").version
    assert version.info["test_rows"] == 2
    raw = load_raw("reviews")
    assert len(raw.x) == 20 and raw.x_test.tolist() == ["a dull film", "a fine film"]


def test_bad_input_is_named_and_leaves_nothing_behind(tmp_path: Path) -> None:
    root = _reviews(tmp_path / "reviews")
    (root / "bad" / "latin.txt").write_bytes("un film tr\xe8s ennuyeux".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.txt:1: not valid utf-8 \(byte 0xe8"):
        import_dataset(root, name="reviews")
    assert _artifact_folders() == [] and not open_store().datasets.exists("reviews")
    latin = import_dataset(root, name="reviews", encoding="latin-1")
    assert "un film très ennuyeux" in load_raw("reviews").x.tolist()
    assert latin.version.rows == 21

    (root / "bad" / "blank.txt").write_text("  \n\n")
    with pytest.raises(DataError, match=r"blank\.txt: an empty document"):
        import_dataset(root, name="reviews", encoding="latin-1")
    skipped = import_dataset(root, name="reviews", encoding="latin-1", skip_bad=True)
    assert skipped.report["skipped"] == [
        {"item": str(root / "bad" / "blank.txt"), "reason": "an empty document (only whitespace)"}
    ]
    (root / "bad" / "blank.txt").unlink()

    (root / "neutral").mkdir()
    (root / "neutral" / ".hidden.txt").write_text("not a document")
    with pytest.raises(DataError, match="class folder 'neutral' has no documents"):
        import_dataset(root, name="other", encoding="latin-1", kind="text_classes")

    single = _write(tmp_path / "single", {"good": ["fine"]})
    with pytest.raises(DataError, match=r"only 1 class \(good\) has documents"):
        import_dataset(single, name="single")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no class folders"):
        import_dataset(empty, name="empty", kind="text_classes")
    stray = _reviews(tmp_path / "stray")
    (stray / "notes.txt").write_text("outside")
    assert detect_kind(stray) == "text"  # a document at the top: a corpus, not classes
    with pytest.raises(DataError, match=r"notes\.txt: a file outside the class folders"):
        import_dataset(stray, name="stray", kind="text_classes")
    assert not open_store().datasets.exists("other")


def test_vocabulary_and_length_come_from_the_training_split_only(labeled_text: Path) -> None:
    import_dataset(labeled_text, name="passages")
    spec = DataSpec(
        dataset="passages",
        split={"val": 0.2, "test": 0.2},
        text={"level": "word", "lowercase": True},
    )
    prepared = prepare(spec, seed=0)
    sizes = {name: prepared.size(name) for name in ("train", "val", "test")}
    assert sizes == {"train": 180, "val": 60, "test": 60}
    assert prepared.class_counts() == [90, 90]  # stratified
    raw = load_raw("passages")
    fingerprints = prepared.record["split"]["fingerprints"]
    assert set(fingerprints) == {"train", "val", "test"}
    vocab = prepared.schema.input.vocab
    assert vocab[:2] == ["<pad>", "<unk>"] and prepared.schema.input.kind == "tokens"
    # Rebuild the split's documents: the vocabulary holds exactly the training tokens.
    from athanor.data.splits import split_indices

    parts = split_indices(300, {"val": 60, "test": 60}, seed=0, labels=raw.y)
    train_tokens = {t for i in parts["train"] for t in split_tokens(raw.x[i], "word", True)}
    held_out = {
        t for name in ("val", "test") for i in parts[name] for t in split_tokens(raw.x[i], "word")
    }
    assert set(vocab[2:]) == train_tokens
    assert {t.lower() for t in held_out} - train_tokens  # unseen words: <unk> (id 1)
    train_lengths = np.array([len(split_tokens(raw.x[i], "word", True)) for i in parts["train"]])
    length = prepared.schema.input.shape[0]
    assert length == int(np.ceil(np.percentile(train_lengths, 95)))
    assert prepared.record["text"]["length"] == length
    x = prepared.train.x
    assert x.dtype == prepared.test.x.dtype and x.shape[1] == length
    assert int(x.max()) < len(vocab) and int((prepared.test.x == 1).sum()) > 0  # unknown ids
    # A short document is padded on the left; a long one keeps its first tokens.
    tokenizer = prepared.preprocessor.steps[0]
    short = tokenizer.transform(["thou"])[0]
    assert short[:-1].eq(0).all() and int(short[-1]) == vocab.index("thou")
    words = ["the"] * length + ["thou"]
    assert int(tokenizer.transform([" ".join(words)])[0][-1]) == vocab.index("the")

    capped = prepare(
        DataSpec(
            dataset="passages",
            split={"val": 0.2, "test": 0.2},
            text={"level": "char", "length": 32, "max_vocab": 10},
        ),
        seed=0,
    )
    assert capped.schema.input.shape == [32] and len(capped.schema.input.vocab) == 10
    with pytest.raises(DataError, match="data.split.method: 'time'"):
        prepare(DataSpec(dataset="passages", split={"method": "time"}), seed=0)

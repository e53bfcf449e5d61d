"""``athanor.models``: aliases, tags, descriptions, and a package moved between homes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from athanor.api import models
from athanor.errors import NotFound, UserError
from athanor.registry import register_package
from athanor.settings import Settings
from athanor.store import open_store


def home(path: Path) -> Settings:
    return Settings(home=path, db_url=f"sqlite:///{path / 'athanor.db'}", data_mirrors=())


def test_a_package_exported_from_one_home_predicts_identically_in_another(
    trained_digits, digits_raw, tmp_path: Path
) -> None:
    run, source = trained_digits
    archive = models.export("digits-cnn", tmp_path / "d.zip", "zip", settings=source)
    assert archive.content_hash == run.model_version.content_hash
    elsewhere = home(tmp_path / "elsewhere")
    record = models.import_(archive.path, expected_hash=archive.content_hash, settings=elsewhere)
    assert record.ref == "digits-cnn@1" and record.content_hash == archive.content_hash
    original = models.load("digits-cnn", settings=source)
    copy = models.load("digits-cnn@1", settings=elsewhere)
    assert copy.metadata == original.metadata
    assert np.array_equal(copy.predict_proba(digits_raw.x), original.predict_proba(digits_raw.x))
    shown = models.show("digits-cnn", settings=elsewhere)
    assert shown["lineage"]["run_id"] == run.id  # lineage travels with the package
    assert shown["lineage"]["code"]["athanor"]
    assert shown["signature"]["outputs"][0]["classes"] == [str(d) for d in range(10)]


def test_aliases_tags_and_descriptions(trained_digits) -> None:
    run, _ = trained_digits
    store = open_store()
    for _ in range(2):
        register_package(store, "d", run.package_dir)
    record, previous = models.set_alias("d", "staging", 1)
    assert (record.ref, previous) == ("d@1", None)
    record, previous = models.set_alias("d", "production", "staging")  # follow another alias
    assert record.ref == "d@1" and record.aliases == ("production", "staging")
    assert models.set_alias("d", "production", 2)[1] == 1
    assert models.load("d@production").ref == "d@2"
    with pytest.raises(UserError, match="alias 'latest' is invalid"):
        models.set_alias("d", "latest", 1)
    assert models.tag("d@production", {"reviewed": "yes", "owner": "ana"}).tags == {
        "owner": "ana",
        "reviewed": "yes",
    }
    assert models.tag("d@2", remove=["owner"]).tags == {"reviewed": "yes"}
    models.describe("d", "digits from the 8x8 set")
    models.describe("d@1", "first try")
    assert models.list()[0].description == "digits from the 8x8 set"
    assert models.show("d@staging")["description"] == "first try"
    assert models.remove_alias("d", "staging") == 1
    with pytest.raises(NotFound, match="no alias 'staging'"):
        models.load("d@staging")


def test_generate_by_reference_is_the_loaded_models(trained_generators) -> None:
    import athanor as at

    by_ref = at.models.generate(
        "shakes-char", "KING:", length=40, seed=8, settings=trained_generators
    )
    loaded = at.models.load("shakes-char", settings=trained_generators)
    assert loaded.generate("KING:", length=40, seed=8).text == by_ref.text
    assert by_ref.text.startswith("KING:") and by_ref.tokens == 40
    images = at.models.generate("digits-gan", n=2, seed=8, settings=trained_generators)
    assert images.count == 2 and images.grid_bytes().startswith(b"\x89PNG")

"""Pre-labels from a model trained on the labels ("train from labels"), sorted by doubt."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.errors import UserError
from athanor.label import projects
from athanor.label.prelabel import prelabel
from athanor.label.publish import publish
from athanor.label.training import after_training, record_training, training_spec
from athanor.settings import Settings
from athanor.spec.labeling import LabelClass
from athanor.store import Store, open_store
from tests.label.conftest import write_mnist_pngs


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    """300 digits, 200 labeled, and a model trained for one epoch on the published labels."""
    import athanor as at
    from athanor.data.importing import import_dataset

    root = tmp_path_factory.mktemp("prelabel")
    home = root / "home"
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    labels = write_mnist_pngs(root / "digits", 300)
    import_dataset(root / "digits", name="scans", settings=settings)
    store = open_store(settings)
    digits = [LabelClass(name=str(d)) for d in range(10)]
    projects.create_project(store, "scans-work", "scans", labels=digits)
    projects.label_items(store, "scans-work", [(i, str(labels[i])) for i in range(200)], by="a")
    spec = training_spec("image", publish(store, "scans-work")["dataset"], project="scans-work")
    spec["train"]["epochs"] = 2
    run = at.train(spec, progress=False, settings=settings)
    record_training(store, "scans-work", job_id=run.id, status="queued", model="scans-work-labels")
    return store, labels


def test_after_the_training_job_the_rest_is_prelabeled_hardest_first(trained) -> None:
    store, labels = trained
    assert after_training(store, 12345, "scans-work-labels") is None  # no project's job
    job_id = store.labeling.get_project("scans-work").training["job_id"]
    result = after_training(store, job_id, "scans-work-labels@1")
    assert result["prelabeled"] == 100 and result["counts"]["prelabeled"] == 100
    view = projects.project_view(store, store.labeling.get_project("scans-work"))
    assert view["training"]["status"] == "prelabeled" and view["training"]["prelabeled"] == 100
    page = projects.list_items(store, "scans-work", state="prelabeled", sort="uncertainty")
    doubts = [item["prediction"]["uncertainty"]["least"] for item in page["items"]]
    assert doubts == sorted(doubts, reverse=True) and len(doubts) == 100
    right = sum(item["prediction"]["label"] == str(labels[item["id"]]) for item in page["items"])
    assert right >= 50  # far better than chance (10%) after 200 labels
    by_margin = projects.list_items(
        store, "scans-work", state="prelabeled", sort="uncertainty", strategy="margin", limit=5
    )
    margins = [i["prediction"]["uncertainty"]["margin"] for i in by_margin["items"]]
    assert margins == sorted(margins, reverse=True)
    sure = [i for i in page["items"] if i["prediction"]["confidence"] >= 0.8]
    accepted = projects.accept(store, "scans-work", min_confidence=0.8, by="ann")
    assert accepted["updated"] == len(sure)
    assert accepted["counts"]["labeled"] == 200 + len(sure)
    item = projects.list_items(store, "scans-work", state="labeled", offset=200, limit=1)["items"]
    if item:
        assert item[0]["source"] == "model" and item[0]["review"] == "accepted"
    published = publish(store, "scans-work")
    assert published["from_model"] == len(sure)


def test_a_model_that_does_not_fit_is_refused(trained, tmp_path: Path) -> None:
    from athanor.data.importing import import_dataset
    from athanor.errors import NotFound
    from tests.label.conftest import write_texts

    store, _ = trained
    with pytest.raises(NotFound, match="nothing-here"):
        prelabel(store, "scans-work", "nothing-here")
    import_dataset(
        write_texts(tmp_path / "reviews"), name="reviews", kind="documents", settings=store.settings
    )
    projects.create_project(store, "moods", "reviews")
    with pytest.raises(UserError, match="takes image inputs; project moods labels texts"):
        prelabel(store, "moods", "scans-work-labels")

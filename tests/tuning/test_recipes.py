"""Recipes: valid searches sized to the data and the budget."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from athanor.data.prepare import prepare
from athanor.nets.pretrained import IMAGENET_WEIGHTS, ZOO
from athanor.settings import current_settings
from athanor.spec.tune import load_search
from athanor.tuning.detect import (
    FORECASTING,
    IMAGE_CLASSIFICATION,
    OBJECT_DETECTION,
    TABLE_REGRESSION,
    TEXT_CLASSIFICATION,
    Detection,
)
from athanor.tuning.recipes import (
    DETECTION_TRIAL_IMAGES,
    TRIAL_IMAGES,
    default_metric,
    recipe_for,
)


def _search(detection: Detection, budget: float = 600.0):
    recipe = recipe_for(detection, budget=budget, metric=default_metric(detection))
    return recipe, load_search({**recipe.spec, "tune": recipe.tune})


def test_every_candidate_of_every_recipe_is_a_valid_spec() -> None:
    cases = [
        Detection("iris", "tabular classification", 150, classes=["a", "b", "c"], features=4),
        Detection("diabetes", TABLE_REGRESSION, 442, target="target", features=10),
        Detection(
            "digits", IMAGE_CLASSIFICATION, 1797, classes=list("0123456789"), image_shape=(1, 8, 8)
        ),
        Detection("sunspots", FORECASTING, 309, target="SUNACTIVITY", features=1),
        Detection(
            "digits-detection",
            OBJECT_DETECTION,
            6000,
            classes=list("0123456789"),
            image_shape=(1, 96, 96),
        ),
    ]
    for detection in cases:
        recipe, search = _search(detection)  # load_search checks every bound and choice
        assert recipe.candidates and search.params
        assert search.tune.pruner.type == "asha" and search.tune.metric == default_metric(detection)
        assert search.base["train"]["early_stopping"]["monitor"] == search.tune.metric
    regression = _search(cases[1])[0]
    assert regression.spec["data"]["scale_target"] == "standard"
    assert default_metric(cases[0]) == "val_accuracy" and default_metric(cases[3]) == "val_rmse"


def test_series_windows_fit_the_validation_part() -> None:
    detection = Detection("sunspots", FORECASTING, 309, target="SUNACTIVITY", features=1)
    _, search = _search(detection)
    (windows,) = [p for p in search.params if p.name == "data.window.length"]
    assert windows.marker.values == [4, 8, 12, 16]
    longest = search.concrete({**{p.name: p.probes()[0] for p in search.params}, windows.name: 16})
    prepared = prepare(longest.data, 0, settings=current_settings())
    assert prepared.size("val") > 0 and prepared.size("test") > 0


def test_large_image_sets_are_subsampled_and_resized_on_a_short_budget() -> None:
    mnist = Detection(
        "mnist", IMAGE_CLASSIFICATION, 60_000, classes=list("0123456789"), image_shape=(1, 28, 28)
    )
    short, search = _search(mnist, budget=600)
    assert short.trial_subset == TRIAL_IMAGES
    assert search.base["data"]["subset"] == {"train": TRIAL_IMAGES}
    assert search.base["train"]["epochs"] == 8
    assert len(search.params[0].marker.values) == 2  # lenet5 and the small CNN
    long, search = _search(mnist, budget=3600)
    assert long.trial_subset is None and len(search.params[0].marker.values) == 3  # + resnet-8
    photos = Detection(
        "photos", IMAGE_CLASSIFICATION, 300, classes=["cat", "dog"], image_shape=(3, 240, 320)
    )
    recipe, _ = _search(photos)
    assert recipe.spec["data"]["image"] == {"size": [32, 32]}
    assert recipe.notes == ["images resized from 240x320 to 32x32 for speed"]


def test_text_recipe_reads_fewer_words_on_short_budgets() -> None:
    lengths = {"words": {"min": 3, "mean": 180.0, "median": 150.0, "p95": 400.0, "max": 900}}
    detection = Detection(
        "reviews@1", TEXT_CLASSIFICATION, 900, classes=["neg", "pos"], text_lengths=lengths
    )
    short, search = _search(detection, budget=120)
    assert short.spec["data"]["text"]["length"] == 128
    assert search.tune.metric == "val_accuracy"
    models = next(p for p in search.params if p.name == "model").probes()
    assert {m["template"] for m in models} == {"text_classifier"} and len(models) == 3
    long, search = _search(detection, budget=3600)
    assert long.spec["data"]["text"]["length"] == 256
    models = next(p for p in search.params if p.name == "model").probes()
    assert len(models) == 4 and any(m.get("bidirectional") for m in models)
    brief = Detection("notes@1", TEXT_CLASSIFICATION, 40, classes=["a", "b"])
    assert "length" not in _search(brief)[0].spec["data"]["text"]  # chosen when prepared


def test_detection_trains_centernets_on_small_squares_and_subsamples_on_a_short_budget() -> None:
    digits = Detection(
        "digits-detection",
        OBJECT_DETECTION,
        6000,
        classes=list("0123456789"),
        image_shape=(1, 96, 96),
    )
    assert default_metric(digits) == "val_map50"
    short, search = _search(digits, budget=300)
    assert short.spec["data"]["image"]["size"] == [64, 64]
    assert short.spec["data"]["subset"] == {"train": DETECTION_TRIAL_IMAGES}
    assert short.trial_subset == DETECTION_TRIAL_IMAGES
    assert "flip" not in short.spec["data"]["image"]["augment"]  # digits mirrored are not digits
    models = short.spec["model"]["choice"]
    assert {m["template"] for m in models} == {"centernet"} and len(models) == 2
    assert search.tune.metric == "val_map50"
    long = _search(digits, budget=3600)[0]
    assert long.spec["data"]["image"]["size"] == [96, 96] and long.trial_subset is None
    assert len(long.spec["model"]["choice"]) == 3
    tiny = Detection("shapes", OBJECT_DETECTION, 40, classes=["box"], image_shape=(3, 40, 50))
    recipe = _search(tiny, budget=60)[0]
    assert recipe.spec["data"]["image"]["size"] == [32, 32]  # not enlarged; divisible by 8
    assert recipe.trial_subset is None


@pytest.fixture
def local_resnet18(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file with the official resnet18 key layout and shapes in a mirror folder, pinned in
    place of the published file's SHA-256 (the real file is 46 MB and not in the tests)."""
    from tests.nets.test_pretrained import ReferenceResNet

    torch.manual_seed(0)
    path = tmp_path / "weights-mirror" / "weights" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.save(ReferenceResNet(18).state_dict(), path)
    official = ZOO["resnet18"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = replace(official, remote=replace(official.remote, digest=digest))
    monkeypatch.setitem(ZOO, "resnet18", entry)
    monkeypatch.setitem(IMAGENET_WEIGHTS, 18, entry)
    mirrors = [*current_settings().data_mirrors, path.parents[1]]
    monkeypatch.setenv("ATHANOR_DATA_MIRROR", os.pathsep.join(map(str, mirrors)))
    return path


DIGITS = Detection(
    "digits", IMAGE_CLASSIFICATION, 1797, classes=list("0123456789"), image_shape=(1, 8, 8)
)


def test_without_local_weights_the_recipe_says_which_file_it_looked_for_and_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATHANOR_DATA_MIRROR", str(tmp_path / "mirror"))
    recipe, search = _search(DIGITS)
    assert len(search.params[0].marker.values) == 2 and "transfer" not in recipe.spec["train"]
    cache = current_settings().cache_dir / "datasets" / "weights" / "resnet18-f37072fd.pth"
    assert recipe.weights == (
        "no pretrained candidate: resnet18-f37072fd.pth (torchvision "
        "ResNet18_Weights.IMAGENET1K_V1 (resnet18-f37072fd.pth)) is not in the "
        f"ATHANOR_DATA_MIRROR folders ({tmp_path / 'mirror'}) and the cache "
        f"({cache}), and auto never downloads; to add a fine-tuned ImageNet ResNet-18, get it "
        f"once on a machine with internet (curl -L -o {cache} "
        "https://download.pytorch.org/models/resnet18-f37072fd.pth, or copy the file into a "
        "mirror folder)"
    )


def test_local_imagenet_weights_add_a_fine_tuned_resnet_candidate(local_resnet18: Path) -> None:
    import athanor as at

    recipe, search = _search(DIGITS)  # load_search checks every candidate with the others
    pretrained = {"template": "resnet", "depth": 18, "pretrained": "imagenet"}
    assert search.params[0].marker.values[-1] == pretrained
    assert recipe.candidates[2].startswith(f"resnet-18 pretrained on ImageNet ({local_resnet18})")
    assert recipe.weights is not None and str(local_resnet18) in recipe.weights
    assert recipe.spec["data"]["image"] == {"size": [8, 8]}  # not ImageNet's 224 x 224
    values = {p.name: p.probes()[0] for p in search.params}
    lenet = search.concrete(values)
    assert lenet.data.image.channels is None and lenet.data.normalize == "auto"
    trial = search.concrete({**values, "model": pretrained}).model_dump(mode="json")
    trial["data"]["subset"] = {"train": 60, "val": 30, "test": 30}
    trial["train"].update(epochs=1, batch_size=30, checkpoint={"enabled": False})
    run = at.train(trial, progress=False)
    summary = run.run.summary
    assert summary["init_from"].startswith("loaded 120 tensors from torchvision ResNet18")
    assert summary["data"]["image"] == {"size": [8, 8], "channels": 3}
    assert "transfer" not in summary  # applied: fine_tune's groups, not skipped
    scratch = at.train({**trial, "model": {"template": "lenet5"}}, progress=False)
    assert scratch.run.summary["transfer"] == (
        "train.transfer (fine_tune) not applied: no trained weights"
    )

"""The spec reference names every key a spec accepts."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from athanor.spec.data import (
    AugmentSpec,
    BatchingSpec,
    DataSpec,
    ImageSpec,
    LogSpec,
    SplitSpec,
    SubsetSpec,
    TableSpec,
    TextSpec,
    WindowSpec,
)
from athanor.spec.job import JobSpec, ResourcesSpec
from athanor.spec.layers import LAYER_SPECS
from athanor.spec.model import TEMPLATE_SPECS, LayerStackSpec
from athanor.spec.run import RunSpec
from athanor.spec.train import (
    OPTIMIZER_SPECS,
    SCHEDULE_SPECS,
    ClipGradSpec,
    EarlyStoppingSpec,
    LossSpec,
    TrainSpec,
)
from athanor.spec.tune import MARKER_SPECS, PRUNER_SPECS, SAMPLER_SPECS, TuneSpec

REFERENCE = (Path(__file__).resolve().parents[1] / "docs" / "specs.md").read_text()


def test_every_key_and_member_is_documented() -> None:
    models: list[type[BaseModel]] = [
        RunSpec,
        DataSpec,
        SplitSpec,
        SubsetSpec,
        ImageSpec,
        AugmentSpec,
        TableSpec,
        TextSpec,
        WindowSpec,
        LogSpec,
        BatchingSpec,
        LayerStackSpec,
        TrainSpec,
        LossSpec,
        EarlyStoppingSpec,
        ClipGradSpec,
        JobSpec,
        ResourcesSpec,
        *LAYER_SPECS.values(),
        *TEMPLATE_SPECS.values(),
        *OPTIMIZER_SPECS.values(),
        *SCHEDULE_SPECS.values(),
        TuneSpec,
        *SAMPLER_SPECS.values(),
        *PRUNER_SPECS.values(),
        *MARKER_SPECS.values(),
    ]
    missing = sorted(
        f"{model.__name__}.{field}"
        for model in models
        for field in model.model_fields
        if field not in ("type", "template")
        and f"`{field}`" not in REFERENCE
        and f"`{field} " not in REFERENCE
        and f".{field}`" not in REFERENCE
    )
    assert missing == []
    names = [*LAYER_SPECS, *TEMPLATE_SPECS, *OPTIMIZER_SPECS, *SCHEDULE_SPECS]
    names += [*SAMPLER_SPECS, *PRUNER_SPECS, *MARKER_SPECS]
    assert [n for n in names if f"`{n}`" not in REFERENCE] == []


def test_the_networks_guide_explains_every_piece_with_plots() -> None:
    from athanor.spec.activations import ACTIVATIONS
    from athanor.spec.initializers import INITIALIZERS

    docs = Path(__file__).resolve().parents[1] / "docs"
    guide = (docs / "networks.md").read_text()
    names = [*LAYER_SPECS, *TEMPLATE_SPECS, *ACTIVATIONS, *INITIALIZERS]
    headings = {
        name.strip()
        for line in guide.splitlines()
        if line.startswith("### ")
        for name in line[4:].split(",")
    }
    assert [n for n in names if f"`{n}`" not in guide and n not in headings] == []
    for name in ACTIVATIONS:
        image = f"images/activation_{name}.png"
        assert (docs / image).is_file() and f"]({image})" in guide, name
    assert (docs / "plots" / "activation_plots.py").is_file()


def test_the_lessons_links_lead_to_pages_and_headings_that_exist() -> None:
    import re

    docs = Path(__file__).resolve().parents[1] / "docs"
    lessons = sorted((docs / "learn").glob("*.md"))
    assert lessons
    broken = []
    for lesson in lessons:
        for target in re.findall(r"\]\(([^)\s]+)\)", lesson.read_text()):
            if "://" in target or target.startswith("/"):
                continue  # a web address, or a console page such as /lab/playground?...
            page, _, anchor = target.partition("#")
            path = (lesson.parent / page).resolve() if page else lesson
            if not path.is_file():
                broken.append(f"{lesson.name}: {target}")
                continue
            if not anchor:
                continue  # a page or an image: reading it as Markdown would mean nothing
            # GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
            slugs = {
                re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
                for line in path.read_text().splitlines()
                if line.startswith("#")
            }
            if anchor not in slugs:
                broken.append(f"{lesson.name}: {target}")
    assert broken == []
    assert "learn/log-anomaly.md" in (docs / "logs.md").read_text()

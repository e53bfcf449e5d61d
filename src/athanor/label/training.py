""" "Train from labels": the run spec that trains on a project's published labels, and the
step that pre-labels the rest with the model once that training succeeded.

The job itself is started above this layer (the platform's jobs, or the CLI in-process);
the job's worker calls :func:`after_training` when the run succeeded.
"""

from __future__ import annotations

from typing import Any

from athanor.errors import UserError
from athanor.store import Store

SMALL_CNN = {
    "layers": [
        {"conv2d": {"filters": 32, "kernel": 3, "padding": "same", "activation": "relu"}},
        {"maxpool": 2},
        {"conv2d": {"filters": 64, "kernel": 3, "padding": "same", "activation": "relu"}},
        {"maxpool": 2},
        "flatten",
        {"dense": {"units": 128, "activation": "relu", "dropout": 0.3}},
    ]
}
"""``auto`` for images: the small CNN that ``athanor auto`` also tries."""
TEXT_CLASSIFIER = {"template": "text_classifier", "cell": "gru", "units": 32, "embedding_dim": 32}
"""``auto`` for texts."""
BOX_DETECTOR = {"template": "centernet", "width": 8, "depth": 3, "head_width": 16}
"""``auto`` for boxes: the smaller of the detectors ``athanor auto`` tries."""
DETECTION_TEMPLATES = ("centernet",)
"""The templates that detect boxes (the others classify)."""
MIN_BOXED_IMAGES = 10
"""Labeled images a box project needs before it trains: a tenth each for validation and test."""
DETECTION_SIDES = (32, 64)
"""The smallest and largest square side box images are resized to (a multiple of 16)."""


def model_name(project: str) -> str:
    """The registered model "train from labels" makes for a project."""
    return f"{project}-labels"[:100]


def check_training(kind: str, template: str, *, project: str, labeled: int) -> None:
    """Refuse a template that does not fit the project's kind, or too few labels for boxes.

    Raises:
        UserError: a classification template for a box project (or the reverse), or a box
            project with fewer than :data:`MIN_BOXED_IMAGES` labeled images.
    """
    detectors = ", ".join(DETECTION_TEMPLATES)
    if kind == "detection":
        if template != "auto" and template not in DETECTION_TEMPLATES:
            raise UserError(
                f"template: {template} classifies; project {project} labels boxes, so it "
                f"trains a detector: auto or {detectors}"
            )
        if labeled < MIN_BOXED_IMAGES:
            raise UserError(
                f"project {project} has {labeled} labeled image(s); training a detector needs "
                f"at least {MIN_BOXED_IMAGES} (label {MIN_BOXED_IMAGES - labeled} more)",
                code="label_too_few_labeled",
                params={"name": project, "labeled": labeled, "needed": MIN_BOXED_IMAGES},
            )
    elif template in DETECTION_TEMPLATES:
        raise UserError(
            f"template: {template} detects boxes; project {project} labels {kind}s with "
            "classes, so it trains a classifier: auto or a classification template"
        )


def training_spec(
    kind: str,
    dataset: str,
    *,
    project: str,
    template: str = "auto",
    epochs: int | None = None,
    labeled: int | None = None,
    image_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A run spec training ``template`` (or a small network for ``auto``) on ``dataset``.

    A box project (``kind`` ``detection``) trains a CenterNet detector on its images resized
    to a small square (``image_size``, height and width, sets the side) with box-preserving
    augmentation; ``labeled`` is how many labeled images the version holds.

    Raises:
        UserError: epochs outside 1..1000, or what :func:`check_training` refuses.
    """
    if epochs is not None and not 1 <= epochs <= 1000:
        raise UserError(f"epochs: {epochs} is not within 1..1000")
    check_training(
        kind, template, project=project, labeled=MIN_BOXED_IMAGES if labeled is None else labeled
    )
    if kind == "detection":
        return _detection_spec(dataset, project, template, epochs, image_size)
    if template == "auto":
        model: dict[str, Any] = SMALL_CNN if kind == "image" else TEXT_CLASSIFIER
    else:
        model = {"template": template}
    data: dict[str, Any] = {"dataset": dataset, "split": {"val": 0.1, "test": 0.1}}
    if kind == "image":
        data["normalize"] = "standard"
    return {
        "name": f"label-{project}"[:100],
        "data": data,
        "model": model,
        "train": {
            "epochs": epochs or 5,
            "batch_size": 64,
            "optimizer": {"type": "adam", "lr": 0.002},
        },
        "register_as": model_name(project),
    }


def _detection_spec(
    dataset: str,
    project: str,
    template: str,
    epochs: int | None,
    image_size: tuple[int, int] | None,
) -> dict[str, Any]:
    smallest, largest = DETECTION_SIDES
    # A small image is not enlarged: the largest multiple of 16 it holds (as auto's recipe).
    side = largest if image_size is None else 16 * (min(image_size) // 16)
    side = max(smallest, min(largest, side))
    return {
        "name": f"label-{project}"[:100],
        "data": {
            "dataset": dataset,
            "split": {"val": 0.1, "test": 0.1},
            # No mirroring: a mirrored digit or letter is another shape.
            "image": {"size": [side, side], "augment": {"scale": 0.15, "crop": side // 16}},
        },
        "model": dict(BOX_DETECTOR) if template == "auto" else {"template": template},
        "train": {
            "epochs": epochs or 10,
            "batch_size": 16,
            "optimizer": {"type": "adam", "lr": 0.004},
            "loss": "centernet",
            "metrics": ["map50", "map"],
        },
        "register_as": model_name(project),
    }


def publish_for_training(
    store: Store, project: str, *, template: str = "auto", epochs: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the project can train ``template``, publish its labels and return the published
    version (see :func:`athanor.label.publish.publish`) and the run spec training on it.

    Raises:
        NotFound: no such project.
        UserError: what :func:`training_spec` refuses (checked before publishing).
    """
    from athanor.label.publish import publish

    record = store.labeling.get_project(project)
    labeled = int(store.labeling.counts(record.id)["labeled"])
    check_training(record.kind, template, project=project, labeled=labeled)
    image_size = None
    if record.kind == "detection":
        sizes = [
            (item.height, item.width)
            for item in store.labeling.get_items(record.id)
            if item.label is not None and item.height and item.width
        ]
        image_size = min(sizes, key=min) if sizes else None
    published = publish(store, project)
    spec = training_spec(
        record.kind,
        published["dataset"],
        project=project,
        template=template,
        epochs=epochs,
        labeled=int(published["labels"]),
        image_size=image_size,
    )
    return published, spec


def record_training(store: Store, project: str, **values: Any) -> None:
    """Note where the project's training is (job id, model, status, message)."""
    record = store.labeling.get_project(project)
    store.labeling.update_project(record.id, training={**record.training, **values})


def after_training(store: Store, job_id: int, model: str | None) -> dict[str, Any] | None:
    """Pre-label the rest of the project that job ``job_id`` trained for, with ``model``.

    Returns None when the job trained for no project. A failure to pre-label is recorded
    on the project (its training status says why), not raised: the job itself succeeded.
    """
    from athanor.label.prelabel import prelabel

    project = store.labeling.find_by_training_job(job_id)
    if project is None:
        return None
    if model is None:
        record_training(store, project.name, status="failed", message="no model was registered")
        return None
    try:
        result = prelabel(store, project.name, model)
    except UserError as exc:
        record_training(store, project.name, status="failed", model=model, message=str(exc))
        return None
    record_training(
        store, project.name, status="prelabeled", model=model, prelabeled=result["prelabeled"]
    )
    return result

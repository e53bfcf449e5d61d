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


def model_name(project: str) -> str:
    """The registered model "train from labels" makes for a project."""
    return f"{project}-labels"[:100]


def training_spec(
    kind: str, dataset: str, *, project: str, template: str = "auto", epochs: int | None = None
) -> dict[str, Any]:
    """A run spec training ``template`` (or a small network for ``auto``) on ``dataset``.

    Raises:
        UserError: epochs outside 1..1000.
    """
    if epochs is not None and not 1 <= epochs <= 1000:
        raise UserError(f"epochs: {epochs} is not within 1..1000")
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

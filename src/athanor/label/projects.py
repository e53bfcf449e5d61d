"""Labeling projects: create one on a dataset version, label, accept, review, page items.

Every change names who made it (the API token's user, or the local user at the CLI). A
person's label has source ``person``; a pre-label accepted as it is has source ``model`` and
review ``accepted``; a person correcting a label gives review ``fixed``; ``rejected`` takes
an item out of the published version (a bad image, an item outside every class).
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Sequence
from typing import Any

from athanor.data.catalog import catalog
from athanor.errors import UserError
from athanor.label import sources
from athanor.spec.labeling import LabelClass, complete_label_set
from athanor.store import Store
from athanor.store.labeling import BOXES_LABEL, STATES, LabelItemRecord, LabelProjectRecord

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
REVIEWS = ("accepted", "fixed", "rejected")
MAX_PAGE = 500


def local_user() -> str:
    """Who labels at the CLI: the operating system's user name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def create_project(
    store: Store,
    name: str,
    dataset: str,
    *,
    kind: str | None = None,
    labels: Sequence[LabelClass] = (),
    instructions: str = "",
    by: str = "",
) -> LabelProjectRecord:
    """Create project ``name`` on the imported version ``dataset`` (``NAME[@VERSION]``).

    Labels already in the dataset become person labels by ``imported``. Without ``labels``
    the dataset's classes are the label set; classes of the dataset missing from
    ``labels`` are added to it.

    Raises:
        UserError: an invalid name, a kind that does not fit the data, a label set without
            labels.
        DatasetNotFound: no such dataset.
        Conflict: the project exists.
    """
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"project name '{name}' is invalid: use 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
            code="name_invalid",
            params={"name": name},
            field="name",
        )
    if name in catalog():
        raise UserError(
            f"project name '{name}' is a catalog dataset's; the project publishes its labels "
            "as a dataset of its name, so choose another",
            code="name_taken",
            params={"name": name},
            field="name",
        )
    source = sources.source_version(store, dataset)
    allowed = sources.PROJECT_KINDS[source.project_kind]
    kind = kind or source.project_kind
    if kind not in allowed:
        holds = {"image": "images", "text": "texts", "detection": "images with boxes"}
        raise UserError(
            f"kind: '{kind}' does not fit dataset {source.record.ref}, which holds "
            f"{holds[source.project_kind]}; use {' or '.join(repr(k) for k in allowed)}",
            code="label_kind_mismatch",
            params={"kind": kind, "dataset": source.record.ref, "allowed": ", ".join(allowed)},
            field="kind",
        )
    given = list(labels)
    known = {label.name for label in given}
    given += [LabelClass(name=c) for c in source.classes if c not in known]
    fewest = 1 if kind == "detection" else 2
    if len(given) < fewest:
        raise UserError(
            f"labels: a {kind} project needs at least {fewest} label(s); dataset "
            f"{source.record.ref} has {len(source.classes)} class(es): give the label names "
            "(e.g. --labels cat,dog)",
            code="label_set_too_small",
            params={"kind": kind, "fewest": fewest, "dataset": source.record.ref},
            field="labels",
        )
    label_set = complete_label_set(given)
    names, imported = sources.item_names_and_labels(source)
    classes = source.classes
    images = None
    if kind == "detection":
        images = sources.item_images(source)
        items = [
            (item_name, BOXES_LABEL if image["boxes"] is not None else None)
            for item_name, image in zip(names, images, strict=True)
        ]
    else:
        items = [
            (item_name, classes[label] if label >= 0 else None)
            for item_name, label in zip(names, imported.tolist(), strict=True)
        ]
    return store.labeling.create_project(
        name,
        dataset=source.record.ref,
        kind=kind,
        labels=label_set,
        instructions=instructions,
        created_by=by,
        items=items,
        images=images,
    )


def update_project(
    store: Store,
    name: str,
    *,
    labels: Sequence[LabelClass] | None = None,
    instructions: str | None = None,
) -> LabelProjectRecord:
    """Change the label set or the instructions.

    Raises:
        UserError: a label set that leaves out a label some items have.
    """
    project = store.labeling.get_project(name)
    values: dict[str, Any] = {}
    if labels is not None:
        label_set = complete_label_set(list(labels))
        used = set(store.labeling.counts(project.id)["per_class"])
        missing = sorted(used - {label["name"] for label in label_set})
        if missing:
            raise UserError(
                f"labels: {', '.join(missing)} label(s) items of project {name}; keep them in "
                "the label set or relabel those items first"
            )
        values["labels"] = label_set
    if instructions is not None:
        values["instructions"] = instructions
    if values:
        store.labeling.update_project(project.id, **values)
    return store.labeling.get_project(name)


def training_view(store: Store, project: LabelProjectRecord) -> dict[str, Any] | None:
    """Where "train from labels" is: the job, its status (or ``prelabeled``), the model."""
    training = project.training
    if not training.get("job_id") and not training.get("status"):
        return None
    status = training.get("status") or "queued"
    if training.get("job_id") and status in ("queued", "running", "submitted"):
        try:
            status = store.runs.get(int(training["job_id"])).status
        except UserError:
            status = "unknown"
    return {
        "job_id": training.get("job_id"),
        "status": status,
        "model": training.get("model"),
        "prelabeled": training.get("prelabeled"),
        "message": training.get("message", ""),
    }


def project_view(store: Store, project: LabelProjectRecord) -> dict[str, Any]:
    """A project as the API shows it (see docs/labeling.md)."""
    versions = [
        {
            "dataset": f"{version.name}@{version.number}",
            "created_at": version.created_at.isoformat(),
            "labels": int(version.info.get("lineage", {}).get("labels", 0)),
        }
        for version in (
            store.datasets.versions(project.name) if store.datasets.exists(project.name) else []
        )
        if version.info.get("lineage", {}).get("project") == project.name
    ]
    return {
        "name": project.name,
        "dataset": project.dataset,
        "kind": project.kind,
        "labels": project.labels,
        "instructions": project.instructions,
        "created_by": project.created_by,
        "created_at": project.created_at.isoformat(),
        "counts": store.labeling.counts(project.id),
        "training": training_view(store, project),
        "versions": versions,
    }


def item_view(record: LabelItemRecord, text: str | None = None) -> dict[str, Any]:
    """One item as the API shows it."""
    prediction = None
    if record.predicted is not None:
        prediction = {
            "label": record.predicted,
            "confidence": record.confidence,
            "uncertainty": record.uncertainty,
            "model": record.model,
            "boxes": record.predicted_boxes,
        }
    return {
        "id": record.item,
        "name": record.name,
        "text": text,
        "label": record.label,
        "source": record.source,
        "by": record.labeled_by,
        "at": record.labeled_at.isoformat() if record.labeled_at else None,
        "prediction": prediction,
        "review": record.review,
        "width": record.width,
        "height": record.height,
        "boxes": record.boxes,
    }


def list_items(
    store: Store,
    name: str,
    *,
    state: str = "all",
    sort: str = "index",
    strategy: str = "least",
    label: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """A page of a project's items: ``{total, offset, items}``.

    Raises:
        UserError: an unknown state, sort, strategy or label, or a limit over 500.
    """
    from athanor.label.uncertainty import STRATEGIES

    project = store.labeling.get_project(name)
    _choose("state", state, STATES)
    _choose("sort", sort, ("index", "uncertainty"))
    _choose("strategy", strategy, STRATEGIES)
    if label is not None:
        _check_labels(project, [label])
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise UserError(f"limit must be 1..{MAX_PAGE} and offset 0 or more")
    total, records = store.labeling.items(
        project.id,
        state=state,
        sort=sort,
        strategy=strategy,
        label=label,
        offset=offset,
        limit=limit,
    )
    documents = None
    if project.kind == "text":
        documents = sources.texts(sources.source_version(store, project.dataset))
    return {
        "total": total,
        "offset": offset,
        "items": [
            item_view(r, documents[r.item] if documents is not None else None) for r in records
        ],
    }


def label_items(
    store: Store, name: str, changes: Sequence[tuple[int, str | None]], *, by: str
) -> dict[str, Any]:
    """A person labels items (``None`` clears a label): ``{updated, counts}``.

    An item that held a label of another value, or a model's pre-label of another value,
    is marked ``fixed``.

    Raises:
        UserError: an unknown item id or label.
    """
    project = store.labeling.get_project(name)
    if project.kind == "detection":
        raise UserError(
            f"project {name} labels boxes: set an item's boxes (PUT "
            f"/api/v1/labeling/projects/{name}/items/ID/boxes), not a class"
        )
    _check_labels(project, [label for _, label in changes if label is not None])
    current = existing_items(store, project, [item for item, _ in changes])
    rows = []
    for item, label in changes:
        before = current[item]
        earlier = before.label if before.label is not None else before.predicted
        review = "fixed" if label is not None and earlier not in (None, label) else None
        rows.append({"item": item, "label": label, "review": review})
    updated = store.labeling.set_labels(project.id, rows, by=by)
    return {"updated": updated, "counts": store.labeling.counts(project.id)}


def accept(
    store: Store,
    name: str,
    *,
    ids: Sequence[int] | None = None,
    min_confidence: float | None = None,
    by: str,
) -> dict[str, Any]:
    """Make pre-labels labels (source ``model``, review ``accepted``): those of ``ids``, or
    every one at ``min_confidence`` or above.

    Raises:
        UserError: neither or both of ids and min_confidence, or a confidence outside 0..1.
    """
    project = store.labeling.get_project(name)
    if (ids is None) == (min_confidence is None):
        raise UserError("accept takes either ids or min_confidence (0..1)")
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise UserError(f"min_confidence: {min_confidence} is not within 0..1")
    if ids is not None:
        existing_items(store, project, ids)
    updated = store.labeling.accept_prelabels(
        project.id, ids=ids, min_confidence=min_confidence, by=by
    )
    return {"updated": updated, "counts": store.labeling.counts(project.id)}


def review(
    store: Store, name: str, changes: Sequence[tuple[int, str, str | None]], *, by: str
) -> dict[str, Any]:
    """Review items: ``(id, accepted|fixed|rejected, label or None)``.

    ``accepted`` keeps the item's label (or makes its pre-label the label); ``fixed`` sets
    the given label as the person's; ``rejected`` leaves the item out of published versions.

    Raises:
        UserError: an unknown item, review or label; ``fixed`` without a label; accepting an
            item with neither a label nor a pre-label.
    """
    project = store.labeling.get_project(name)
    for item, state, label in changes:
        _choose("review", state, REVIEWS)
        if state == "fixed" and label is None:
            raise UserError(f"item {item}: review 'fixed' needs the right label")
    _check_labels(project, [label for _, _, label in changes if label is not None])
    current = existing_items(store, project, [item for item, _, _ in changes])
    relabeled: list[dict[str, Any]] = []
    to_accept: list[int] = []
    marked: dict[str, list[int]] = {}
    for item, state, label in changes:
        before = current[item]
        if state == "fixed" or (label is not None and state == "accepted"):
            relabeled.append({"item": item, "label": label, "review": state})
        elif state == "accepted" and before.label is None:
            if before.predicted is None:
                raise UserError(f"item {item} has neither a label nor a pre-label to accept")
            to_accept.append(item)
        else:
            marked.setdefault(state, []).append(item)
    if relabeled:
        store.labeling.set_labels(project.id, relabeled, by=by)
    if to_accept:
        store.labeling.accept_prelabels(project.id, ids=to_accept, min_confidence=None, by=by)
    for state, items in marked.items():
        store.labeling.set_review(project.id, items, state)
    return {"updated": len(changes), "counts": store.labeling.counts(project.id)}


def _choose(what: str, value: str, valid: Sequence[str]) -> None:
    if value not in valid:
        raise UserError(f"{what}: '{value}' is not one of {', '.join(valid)}")


def _check_labels(project: LabelProjectRecord, labels: Sequence[str]) -> None:
    unknown = sorted(set(labels) - set(project.label_names))
    if unknown:
        raise UserError(
            f"label(s) {', '.join(unknown)} are not in project {project.name}'s label set "
            f"({', '.join(project.label_names)}); add them first"
        )


def existing_items(
    store: Store, project: LabelProjectRecord, ids: Sequence[int]
) -> dict[int, LabelItemRecord]:
    """The items ``ids`` of ``project`` by id.

    Raises:
        UserError: an id that is not an item, with the valid range.
    """
    records = {r.item: r for r in store.labeling.get_items(project.id, ids)}
    missing = sorted(set(ids) - set(records))
    if missing:
        size = store.labeling.size(project.id)
        shown = ", ".join(str(i) for i in missing[:10])
        raise UserError(f"no item(s) {shown} in project {project.name}; ids are 0..{size - 1}")
    return records

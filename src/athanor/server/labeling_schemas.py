"""Request and response bodies of ``/v1/label/projects`` (see docs/labeling.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from athanor.spec.labeling import LabelClass, LabelName


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_a_boolean(value: object) -> object:
    # JSON's true and false are not ids (pydantic would read them as 1 and 0).
    if isinstance(value, bool):
        raise ValueError("an item id is an integer, not true or false")
    return value


ItemId = Annotated[
    int, Field(ge=0, le=2**31, description="An item's id."), BeforeValidator(_not_a_boolean)
]


class ProjectCreate(_Body):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", examples=["digits-labels"])
    dataset: str = Field(min_length=1, max_length=220, description="NAME[@VERSION]")
    kind: Literal["image", "text", "detection"] | None = Field(
        default=None,
        description="image, text or detection (boxes on images; default: from the dataset).",
    )
    labels: list[LabelClass] = Field(default_factory=list, max_length=200)
    instructions: str = Field(default="", max_length=20_000)


class ProjectPatch(_Body):
    labels: list[LabelClass] | None = Field(default=None, max_length=200)
    instructions: str | None = Field(default=None, max_length=20_000)


class LabelOut(BaseModel):
    name: str
    color: str
    hotkey: str


class CountsOut(BaseModel):
    total: int
    labeled: int
    prelabeled: int
    unlabeled: int
    rejected: int
    per_class: dict[str, int]
    boxes: int | None = Field(default=None, description="Box projects: confirmed boxes.")


class TrainingOut(BaseModel):
    job_id: int | None
    status: str
    model: str | None
    prelabeled: int | None = None
    message: str = ""


class VersionOut(BaseModel):
    dataset: str
    created_at: str
    labels: int


class ProjectOut(BaseModel):
    name: str
    dataset: str
    kind: str
    labels: list[LabelOut]
    instructions: str
    created_by: str
    created_at: str
    counts: CountsOut
    training: TrainingOut | None
    versions: list[VersionOut]


class BoxOut(BaseModel):
    """A box in the pixels of its item's image; ``score`` on a model's boxes."""

    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class")
    xyxy: list[float]
    polygon: list[list[float]] | None = None
    score: float | None = None


class BoxIn(_Body):
    """A box as a person draws it: ``xyxy`` or a ``polygon`` (its bounding box is the box)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: str = Field(alias="class", min_length=1, max_length=100)
    xyxy: list[float] | None = Field(
        default=None, min_length=4, max_length=4, description="[x1, y1, x2, y2] in pixels."
    )
    polygon: list[list[float]] | None = Field(
        default=None, min_length=3, max_length=1000, description="[[x, y], ...] in pixels."
    )


class BoxesIn(_Body):
    boxes: list[BoxIn] | None = Field(
        max_length=10_000, description="The item's boxes ([]: nothing to box; null: unlabeled)."
    )


class ItemPredictionOut(BaseModel):
    label: str
    confidence: float | None
    uncertainty: dict[str, float] | None
    model: str | None
    boxes: list[BoxOut] | None = None


class ItemOut(BaseModel):
    id: int
    name: str
    text: str | None
    label: str | None
    source: Literal["person", "model"] | None
    by: str | None
    at: str | None
    prediction: ItemPredictionOut | None
    review: Literal["accepted", "fixed", "rejected"] | None
    width: int | None = None
    height: int | None = None
    boxes: list[BoxOut] | None = None


class ItemPage(BaseModel):
    total: int
    offset: int
    items: list[ItemOut]


class ItemLabel(_Body):
    id: ItemId
    label: LabelName | None


class LabelsIn(_Body):
    items: list[ItemLabel] = Field(min_length=1, max_length=10_000)


class AcceptIn(_Body):
    ids: list[ItemId] | None = Field(default=None, max_length=100_000)
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class ItemReview(_Body):
    id: ItemId
    review: Literal["accepted", "fixed", "rejected"]
    label: LabelName | None = None


class ReviewIn(_Body):
    items: list[ItemReview] = Field(min_length=1, max_length=10_000)


class PrelabelIn(_Body):
    model: str = Field(min_length=1, max_length=220, description="NAME[@VERSION|@ALIAS]")
    min_score: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Detectors: the lowest box score kept."
    )


class TrainIn(_Body):
    template: str = Field(default="auto", min_length=1, max_length=100)
    epochs: int | None = Field(default=None, ge=1, le=1000)


class UpdatedOut(BaseModel):
    updated: int
    counts: CountsOut


class PrelabeledOut(BaseModel):
    prelabeled: int
    model: str
    counts: CountsOut


class TrainOut(BaseModel):
    job_id: int
    model: str
    dataset: str


class PublishOut(BaseModel):
    dataset: str
    content_hash: str
    labels: int
    from_model: int


class PairOut(BaseModel):
    a: str
    b: str
    items: int
    agreement: float
    kappa: float | None
    boxes_a: int | None = None
    boxes_b: int | None = None
    matched: int | None = None
    mean_iou: float | None = None
    class_agreement: float | None = None


class DisputedOut(BaseModel):
    item: int
    name: str
    agreement: float
    people: list[str]


class AgreementOut(BaseModel):
    kind: Literal["classes", "boxes"]
    items_with_several: int
    agreement: float | None
    kappa: float | None
    pairs: list[PairOut]
    disputed: list[DisputedOut]
    iou: float | None = None
    mean_iou: float | None = None
    class_agreement: float | None = None


class LabelsImportedOut(BaseModel):
    imported: int
    predictions: int
    counts: CountsOut

"""Labeling specs: a project's label set (names, colours, keyboard keys)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from athanor.spec.base import StrictModel

HOTKEYS = tuple("123456789abcdefghijklmnopqrstuvwxyz")
"""The keys a label may have, in the order default keys are given."""
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
"""Default label colours (matplotlib's tab10), repeated for more labels."""

LabelName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\s,/\\][^,/\\]*$")
]


class LabelClass(StrictModel):
    """One label of a project's label set."""

    name: LabelName = Field(description="The class name (no ',', '/' or '\\').")
    color: str | None = Field(
        default=None,
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="Its colour as #rrggbb (default: from a palette).",
    )
    hotkey: str | None = Field(
        default=None,
        pattern=r"^[1-9a-z]$",
        description="The key that gives an item this label: 1-9 or a-z (default: in order).",
    )


def complete_label_set(labels: list[LabelClass], origin: str = "labels") -> list[dict[str, str]]:
    """The label set with a colour and a key for every label, checked.

    Raises:
        SpecError: a name or key used twice, naming both entries.
    """
    from athanor.errors import SpecError

    names: dict[str, int] = {}
    keys: dict[str, int] = {}
    for index, label in enumerate(labels):
        if label.name in names:
            raise SpecError(
                f"{origin}[{index}].name: '{label.name}' is also {origin}[{names[label.name]}]"
            )
        names[label.name] = index
        if label.hotkey is not None:
            if label.hotkey in keys:
                raise SpecError(
                    f"{origin}[{index}].hotkey: '{label.hotkey}' is also the key of "
                    f"{origin}[{keys[label.hotkey]}]"
                )
            keys[label.hotkey] = index
    free = iter(key for key in HOTKEYS if key not in keys)
    complete = []
    for index, label in enumerate(labels):
        complete.append(
            {
                "name": label.name,
                "color": (label.color or PALETTE[index % len(PALETTE)]).lower(),
                "hotkey": label.hotkey or next(free, ""),
            }
        )
    return complete

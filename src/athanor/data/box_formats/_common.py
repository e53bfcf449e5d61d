"""What the detection format readers share: their result, limits, problems and image lookup.

Each reader turns a source folder into a :class:`BoxSource`: the boxes as a
:class:`~athanor.data.boxes.BoxDataset` whose ``root`` is the source folder, where each box
came from (file and line, or key path) and the problems met while parsing. :func:`checked`
then applies the box checks of :mod:`athanor.data.boxes` and either raises the first problem,
named by its place in the source, or (``skip_bad``) leaves the bad boxes and images out and
lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from athanor.data.boxes import Box, BoxDataset, BoxedImage, box_problems
from athanor.data.class_folders import walk_files
from athanor.data.image_decoding import image_size
from athanor.data.images import IMAGE_SUFFIXES
from athanor.errors import DataError, PayloadTooLarge

MAX_IMAGES = 1_000_000
"""Images one detection import may hold; more are refused before any label is parsed."""
MAX_LABEL_FILE_BYTES = 4 * 1024 * 1024
"""A YOLO label file, a VOC XML file or a YOLO ``data.yaml``/classes list larger than this is
refused before it is parsed."""
MAX_CLASSES = 10_000
EDGE_TOLERANCE_PX = 0.5
"""A box edge at most this far outside the image is rounding in the source: it is moved onto
the image's edge. Farther out, the box is out of the image (a bad box)."""
SKIP_HINT = "Fix the label, or import with --skip-bad to leave such boxes out and list them."
SKIP_IMAGE_HINT = (
    "Fix or remove the file, or import with --skip-bad to leave such images out and list them."
)


@dataclass(frozen=True)
class Problem:
    """Something wrong in a source, where it is and whether it costs the whole image."""

    where: str
    reason: str
    image: str | None = None
    """The image left out (its whole label file or annotation is unusable); ``None``: a box."""

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class BoxSource:
    """A format reader's result: boxes, each box's place in the source, problems and notes."""

    dataset: BoxDataset
    format: str
    locations: dict[tuple[int, int], str] = field(default_factory=dict)
    """``(image index, box index)`` -> e.g. ``labels/train/1.txt line 3``."""
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def checked(source: BoxSource, *, skip_bad: bool) -> tuple[BoxDataset, list[dict[str, str]]]:
    """The source's dataset with bad boxes and images left out, and what was left out.

    Raises:
        DataError: (unless ``skip_bad``) the first problem, named by its place in the source.
    """
    dataset = source.dataset
    problems = list(source.problems)
    dropped_images = {problem.image for problem in problems if problem.image is not None}
    kept: list[BoxedImage] = []
    for index, image in enumerate(dataset.images):
        if image.file in dropped_images:
            continue
        bad_boxes: set[int] = set()
        for bad in box_problems(image, len(dataset.classes)):
            where = (
                source.locations.get((index, bad.box), f"{image.file}, box {bad.box}")
                if bad.box is not None
                else image.file
            )
            problems.append(
                Problem(where, bad.reason, image=image.file if bad.box is None else None)
            )
            if bad.box is None:
                break
            bad_boxes.add(bad.box)
        else:
            boxes = tuple(box for i, box in enumerate(image.boxes) if i not in bad_boxes)
            kept.append(replace(image, boxes=boxes))
    if problems and not skip_bad:
        hint = SKIP_HINT if problems[0].image is None else SKIP_IMAGE_HINT
        first = problems[0]
        raise DataError(
            f"{first}. {hint}",
            code="box_invalid" if first.image is None else "file_unreadable",
            params={"file": str(first.where), "reason": first.reason},
            field="path",
        )
    skipped = [{"item": problem.where, "reason": problem.reason} for problem in problems]
    return replace(dataset, images=tuple(kept)), skipped


def check_file_size(path: Path, name: str, limit: int = MAX_LABEL_FILE_BYTES) -> None:
    """Refuse a file larger than ``limit`` before it is read.

    Raises:
        PayloadTooLarge: naming the file, its size and the limit.
    """
    size = path.stat().st_size
    if size > limit:
        raise PayloadTooLarge(f"{name}: {size:,} bytes; a file of this kind may have {limit:,}")


def read_small_text(path: Path, name: str, limit: int = MAX_LABEL_FILE_BYTES) -> str:
    """A label file's text (size checked first; UTF-8, a byte-order mark allowed).

    Raises:
        PayloadTooLarge: the file is larger than ``limit``.
        DataError: not UTF-8 text, naming the file.
    """
    check_file_size(path, name, limit)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{name}: not UTF-8 text (byte {error.start})") from None


def image_files(folder: Path) -> list[Path]:
    """The images below ``folder`` (links followed, hidden names left out), counted against
    :data:`MAX_IMAGES` before anything is parsed.

    Raises:
        PayloadTooLarge: more than :data:`MAX_IMAGES` images.
    """
    found = [
        path
        for path in walk_files(folder).files
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    check_image_count(len(found), str(folder))
    return found


def check_image_count(count: int, where: str) -> None:
    """Raises PayloadTooLarge when an import would hold more than :data:`MAX_IMAGES`."""
    if count > MAX_IMAGES:
        raise PayloadTooLarge(f"{where}: {count:,} images; one import may hold {MAX_IMAGES:,}")


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, '/'-separated."""
    return path.relative_to(root).as_posix()


def inside(root: Path, relative: str, where: str) -> Path:
    """``root / relative``, refusing a path that leads outside ``root`` (``..``, absolute).

    Raises:
        DataError: naming ``where`` and the path.
    """
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts or not relative.strip():
        raise DataError(
            f"{where}: {relative!r} must be a path relative to the dataset folder, without '..'"
        )
    return root / candidate


def header_size(path: Path, name: str) -> tuple[int, int] | Problem:
    """An image's size from its header, or the problem that leaves the image out."""
    try:
        return image_size(path, name)
    except DataError as error:
        return Problem(name, str(error).removeprefix(f"{name}: "), image=name)


def fit_to_image(box: Box, width: int, height: int) -> Box:
    """``box`` with edges less than :data:`EDGE_TOLERANCE_PX` outside the image moved onto
    the edge (rounding in the source); farther out, unchanged (the check reports it)."""

    def snap(value: float, low: float, high: float) -> float:
        if low - EDGE_TOLERANCE_PX <= value < low:
            return low
        if high < value <= high + EDGE_TOLERANCE_PX:
            return high
        return value

    x0, x1 = snap(box.x0, 0, width), snap(box.x1, 0, width)
    y0, y1 = snap(box.y0, 0, height), snap(box.y1, 0, height)
    if (x0, y0, x1, y1) == box.xyxy:
        return box
    return replace(box, x0=x0, y0=y0, x1=x1, y1=y1)


def number_text(value: float, decimals: int) -> str:
    """``value`` with at most ``decimals`` decimals, trailing zeros dropped (``12``, ``3.5``)."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def flat_names(dataset: BoxDataset) -> dict[str, str]:
    """A unique plain file name for each image (formats with one folder of images): its own
    name, or its path joined with ``_`` where two images share a name."""
    counts: dict[str, int] = {}
    for image in dataset.images:
        name = Path(image.file).name
        counts[name] = counts.get(name, 0) + 1
    names: dict[str, str] = {}
    for image in dataset.images:
        name = Path(image.file).name
        names[image.file] = name if counts[name] == 1 else image.file.replace("/", "_")
    return names

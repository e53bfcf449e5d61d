"""Images with boxes (object detection): split by image, boxes follow their image.

Images are sized and scaled as for classification (:mod:`.images`); box targets are kept as
one padded tensor per split (:mod:`athanor.data.box_targets`) in pixels of the network's
input, so every image keeps its own boxes through batching. Training batches are augmented
by :func:`athanor.data.box_augment.augment_boxed_batch`, which moves the boxes with the
pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from athanor.data.batching import LazySplit, TensorSplit
from athanor.data.box_augment import augment_boxed_batch
from athanor.data.box_targets import valid_rows
from athanor.data.prepare._common import (
    add_split_warnings,
    split_pools,
    split_record,
    split_sizes,
)
from athanor.data.prepare.core import Prepared, preparer
from athanor.data.prepare.images import STREAM_FIT_SAMPLES, image_steps, sized_images
from athanor.data.preprocessing import Preprocessor
from athanor.data.raw import RawDataset
from athanor.data.schema import DETECTION_STRIDE, InputSchema, Schema
from athanor.data.splits import split_indices
from athanor.errors import DataError
from athanor.spec.data import DataSpec


@preparer("image", task="detection")
def prepare_detection(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """Split ``raw`` by image, fit the image scaling on train, boxes to input pixels."""
    if raw.task != "detection":
        raise DataError(
            f"data.task: detection needs a dataset with boxes; '{raw.name}' is a {raw.task} "
            "dataset (try digits-detection, or import one with athanor data import --kind "
            "detection)"
        )
    augment = spec.image.augment
    if augment is not None and augment.rotation:
        raise DataError(
            "data.image.augment.rotation: rotating would loosen the boxes of detection data; "
            "use flip, scale, crop or color_jitter"
        )
    total = len(raw.x)
    sizes = split_sizes(spec, total, not raw.has_official_test)
    parts = split_indices(total, sizes, seed=seed)
    pools = split_pools(raw, parts, spec, seed)
    pools, loaders, image_options = sized_images(pools, spec, seed)
    channels, (height, width) = image_options["channels"], image_options["size"]
    if height % DETECTION_STRIDE or width % DETECTION_STRIDE:
        raise DataError(
            f"data.image.size: {height}x{width}; a detector's input sides must be multiples "
            f"of {DETECTION_STRIDE} (e.g. {height // 16 * 16 or 16}x{width // 16 * 16 or 16})"
        )
    steps = image_steps(spec, "detection")
    targets = {name: _pixel_targets(y, height, width) for name, (_, y) in pools.items()}
    preprocessor = Preprocessor(steps)
    if loaders:
        count = len(pools["train"][1])
        rng = np.random.default_rng(seed + 2)
        sample = np.sort(rng.choice(count, size=min(count, STREAM_FIT_SAMPLES), replace=False))
        preprocessor.fit(loaders["train"](sample), targets["train"][sample])
    else:
        preprocessor.fit(torch.from_numpy(pools["train"][0]), targets["train"])

    splits: dict[str, TensorSplit | LazySplit] = {}
    for name, (x, y) in pools.items():
        if loaders:
            splits[name] = LazySplit(loaders[name], targets[name], preprocessor.transform, len(y))
        else:
            splits[name] = TensorSplit(
                preprocessor.transform(torch.from_numpy(np.ascontiguousarray(x))), targets[name]
            )
    schema = Schema(
        task="detection",
        input=InputSchema(
            kind="image",
            shape=[channels, height, width],
            background=image_options.get("background"),
        ),
        target="boxes",
        classes=list(raw.classes or []),
    )
    record = split_record(seed, "random", raw.has_official_test, splits, parts)
    add_split_warnings(record, raw.name, total, sizes)
    record["task"] = "detection"
    record["batching"] = "stream" if loaders else "memory"
    record["image"] = {k: v for k, v in image_options.items() if k != "background"}
    record["boxes"] = {name: int(valid_rows(t).sum()) for name, t in targets.items()}
    return Prepared(
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=preprocessor,
        record=record,
        augment=augment.model_dump() if augment else None,
        augmenter=augment_boxed_batch,
        workers=spec.batching.workers,
    )


def _pixel_targets(y: Any, height: int, width: int) -> torch.Tensor:
    """Fractions of the image -> pixels of the network's input (padding rows kept)."""
    targets = torch.from_numpy(np.array(y, dtype=np.float32, copy=True))
    valid = valid_rows(targets)
    scale = torch.tensor([1.0, width, height, width, height])
    return torch.where(valid[..., None], targets * scale, targets)

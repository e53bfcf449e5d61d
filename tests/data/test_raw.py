from __future__ import annotations

import numpy as np

from athanor.data.images import ImageCollection
from athanor.data.raw import collection_or_array


def test_images_of_one_size_are_dense_only_up_to_the_limit() -> None:
    same = ImageCollection.from_arrays([np.full((3, 4, 5), i, np.uint8) for i in range(6)])
    dense = collection_or_array(same, dense_limit=6 * 60)
    assert isinstance(dense, np.ndarray) and dense.shape == (6, 3, 4, 5)
    assert np.array_equal(dense[:, 0, 0, 0], np.arange(6))
    kept = collection_or_array(same, dense_limit=6 * 60 - 1)
    assert kept is same
    mixed = ImageCollection.from_arrays(
        [np.zeros((1, 2, 2), np.uint8), np.zeros((1, 3, 2), np.uint8)]
    )
    assert collection_or_array(mixed) is mixed

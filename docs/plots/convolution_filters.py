"""Draw classic filters on an MNIST digit into docs/images/convolution-filters.png.

The convolution lab's own computation (:func:`athanor.lab.convolution.convolve`, that is
``torch.nn.functional.conv2d``) on test digit 0 of MNIST: Sobel x and y, the Laplacian, a
Gaussian blur, sharpen, and Sobel x with stride 2 followed by 2x2 max pooling; each panel
is titled with its output shape. Run from the repository root with the dataset available
(``ATHANOR_DATA_MIRROR`` or a downloaded copy):

    python docs/plots/convolution_filters.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

IMAGES = Path(__file__).resolve().parents[1] / "images"


def main() -> Path:
    from athanor.lab.convolution import Pooling, convolve, named_kernel
    from athanor.lab.images import dataset_sample
    from athanor.settings import current_settings

    image = dataset_sample("mnist", 0, current_settings()).grey()
    panels = [("input", image, None)]
    for name in ("sobel_x", "sobel_y", "laplacian", "gaussian", "sharpen"):
        result = convolve(image, named_kernel(name), padding=1)
        panels.append((f"{name}, padding 1", result.output, result))
    strided = convolve(image, named_kernel("sobel_x"), stride=2, pooling=Pooling("max", 2))
    panels.append(("sobel_x, stride 2, max pool 2", strided.pooled, strided))

    figure, axes = plt.subplots(1, len(panels), figsize=(2.0 * len(panels), 2.9))
    for axis, (title, values, result) in zip(axes, panels, strict=True):
        axis.imshow(values, cmap="gray")
        shape = "x".join(str(n) for n in values.shape)
        count = f"\n{result.multiplications:,} mult." if result is not None else ""
        axis.set_title(f"{title}\n{shape}{count}", fontsize=7)
        axis.axis("off")
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "convolution-filters.png"
    figure.savefig(path, dpi=90)
    return path


if __name__ == "__main__":
    print(main())

"""``/v1/lab/convolution`` and ``/v1/lab/cnn``: the vision labs' computations (a convolution
of an image, what a registered CNN sees and why it answered), read-only and bounded."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from athanor.server.routes import Context, errors

router = APIRouter(prefix="/v1/lab", tags=["lab"])

MAX_IMAGE_CHARS = 1_400_000
"""Base64 of an image within the 1 MiB request body."""
Weight = Annotated[float, Field(ge=-1000, le=1000)]


class ImageSource(BaseModel):
    """An uploaded image (base64, or a ``data:`` URL) or a catalog dataset's sample."""

    model_config = ConfigDict(extra="forbid")

    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_CHARS,
        description="A PNG, JPEG, BMP, WebP or GIF image as base64 or a data: URL.",
    )
    dataset: str | None = Field(
        default=None,
        max_length=64,
        description="A catalog image dataset (e.g. mnist).",
        examples=["mnist"],
    )
    index: int = Field(default=0, ge=0, le=1_000_000, description="The sample's index.")

    def lab_image(self, context: Any) -> Any:
        from athanor.lab.images import LabInputError, dataset_sample, uploaded_image

        if (self.image is None) == (self.dataset is None):
            raise LabInputError("image, dataset: give one, an uploaded image or a dataset sample")
        if self.image is not None:
            return uploaded_image(self.image)
        return dataset_sample(self.dataset or "", self.index, context.store.settings)


class ConvolutionRequest(ImageSource):
    """The image, the kernel (named or custom weights) and how it slides."""

    kernel: str = Field(
        default="sobel_x",
        max_length=32,
        description="sobel_x, sobel_y, prewitt_x, prewitt_y, laplacian, sharpen, mean, "
        "gaussian or custom (then weights).",
    )
    size: int = Field(default=3, ge=3, le=7, description="The size of mean and gaussian.")
    weights: list[Annotated[list[Weight], Field(min_length=1, max_length=7)]] | None = Field(
        default=None, min_length=1, max_length=7, description="A custom kernel's rows."
    )
    stride: int = Field(default=1, ge=1, le=8)
    padding: int = Field(default=0, ge=0, le=8)
    dilation: int = Field(default=1, ge=1, le=4)
    pool: Literal["none", "max", "avg"] = "none"
    pool_size: int = Field(default=2, ge=2, le=4)


class SizeFormulasOut(BaseModel):
    height: str
    width: str


class PoolingOut(BaseModel):
    kind: str
    size: int
    output_shape: list[int]
    output: list[list[float]]
    formulas: SizeFormulasOut
    operations: dict[str, int]


class ConvolutionOut(BaseModel):
    source: str
    label: str | None
    input: list[list[int]] = Field(description="The grey input, 0..255.")
    input_shape: list[int]
    kernel: list[list[float]]
    stride: int
    padding: int
    dilation: int
    output: list[list[float]] = Field(description="The raw output values.")
    output_shape: list[int]
    formulas: SizeFormulasOut
    multiplications: int
    additions: int
    pooling: PoolingOut | None


class KernelOut(BaseModel):
    name: str
    weights: list[list[float]]


class ConvolutionOptionsOut(BaseModel):
    kernels: list[KernelOut]
    datasets: list[str]


class CnnRequest(ImageSource):
    """A registered image classifier, an input, and the class to explain."""

    model: str = Field(
        max_length=200,
        description="NAME, NAME@VERSION or NAME@ALIAS of an image classifier.",
        examples=["mnist-cnn"],
    )
    target: str | None = Field(
        default=None, max_length=200, description="The class to explain (default: predicted)."
    )


class ExplanationOut(BaseModel):
    model: str
    source: str
    label: str | None
    input: list[list[list[int]]] = Field(description="The input at the model's size, [C][H][W].")
    predicted: str
    probabilities: dict[str, float]
    explained: str
    gradcam: list[list[float]] = Field(description="Grad-CAM of the last convolution, 0..1.")
    saliency: list[list[float]] = Field(description="Gradient saliency, 0..1.")


class FiltersOut(BaseModel):
    layer: str
    shape: list[int]
    weights: list[list[list[list[float]]]]


class FeatureMapsOut(BaseModel):
    layer: str
    shape: list[int]
    maps: list[list[list[float]]]


class CnnViewsOut(ExplanationOut):
    filters: FiltersOut
    feature_maps: list[FeatureMapsOut]
    conv_layers: int


@router.get(
    "/convolution/kernels",
    response_model=ConvolutionOptionsOut,
    summary="The convolution lab's kernels and sample datasets",
)
def convolution_options() -> dict[str, Any]:
    """The named kernels with their weights (at size 3), and the datasets to sample from."""
    from athanor.lab.convolution import kernel_catalog
    from athanor.lab.images import SAMPLE_DATASETS

    return {"kernels": kernel_catalog(), "datasets": list(SAMPLE_DATASETS)}


@router.post(
    "/convolution",
    response_model=ConvolutionOut,
    responses=errors(400, 413),
    summary="Convolve an image with a kernel",
)
def convolution(body: ConvolutionRequest, context: Context) -> dict[str, Any]:
    """Convolve an upload or a dataset sample (grey) with a named or custom kernel
    (``torch.nn.functional.conv2d``), then pool: the output, its shape by the formula, and
    the multiplications and additions computed."""
    import numpy as np

    from athanor.lab.convolution import Pooling, convolve, custom_kernel, named_kernel
    from athanor.lab.images import LabInputError

    if body.kernel == "custom":
        if body.weights is None:
            raise LabInputError("weights: a custom kernel needs its rows of weights")
        kernel = custom_kernel(body.weights)
    else:
        kernel = named_kernel(body.kernel, body.size)
    pooling = None if body.pool == "none" else Pooling(body.pool, body.pool_size)
    image = body.lab_image(context)
    grey = image.grey()
    result = convolve(
        grey,
        kernel,
        stride=body.stride,
        padding=body.padding,
        dilation=body.dilation,
        pooling=pooling,
    )
    return {
        **result.to_json(),
        "source": image.source,
        "label": image.label,
        "input": np.rint(grey * 255).astype(int).tolist(),
    }


@router.post(
    "/cnn",
    response_model=CnnViewsOut,
    responses=errors(400, 404, 413),
    summary="What a CNN sees",
)
def cnn(body: CnnRequest, context: Context) -> dict[str, Any]:
    """For a registered image classifier and an input: the first convolution's filters,
    every convolution's feature maps, the prediction, and Grad-CAM and saliency maps of the
    class explained."""
    from athanor.lab.cnn_views import cnn_views, image_classifier

    predictor = image_classifier(context.store, body.model)
    return cnn_views(predictor, body.lab_image(context), body.target)


@router.post(
    "/cnn/explain",
    response_model=ExplanationOut,
    responses=errors(400, 404, 413),
    summary="Why an image classifier chose its class",
)
def explain(body: CnnRequest, context: Context) -> dict[str, Any]:
    """The prediction for an input and the Grad-CAM and saliency maps of the class
    explained (the predicted one by default): the deployments' "why this class"."""
    from athanor.lab.cnn_views import explain as explained
    from athanor.lab.cnn_views import image_classifier

    predictor = image_classifier(context.store, body.model)
    return explained(predictor, body.lab_image(context), body.target)

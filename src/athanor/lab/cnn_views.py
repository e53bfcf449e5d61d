"""What a registered image classifier sees: its first convolution's filters, every
convolution's feature maps for one input, and which pixels its answer rests on (Grad-CAM on
the last convolution and gradient saliency, computed with Captum)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from athanor.lab.images import LabImage, LabInputError
from athanor.registry import package_path, resolve

if TYPE_CHECKING:
    import torch
    from torch import nn

    from athanor.serve.predictor import Predictor
    from athanor.store import Store

MAX_FILTERS = 64
MAX_CHANNELS = 16
"""Feature maps shown per layer (the first ones): enough to see what the layer picks up."""
MAX_LAYERS = 16
MAX_MAP_SIDE = 64
"""Feature maps larger than this are averaged down to it (a bounded answer)."""
_CACHED = 4

_PREDICTORS: OrderedDict[tuple[str, str], Predictor] = OrderedDict()
_PREDICTORS_LOCK = threading.Lock()
_RUNNING = threading.RLock()
"""Held while a cached network runs: the server's threads share it, and the forward hooks
that Captum and the feature maps put on it must see only their own request's pass."""


def image_classifier(store: Store, ref: str) -> Predictor:
    """The registered model ``ref`` (kept loaded for the next requests), which must classify
    images with at least one convolution.

    Raises:
        NotFound: no such model; LabInputError: a model that is not a CNN classifier.
    """
    from athanor.serve.predictor import Predictor

    record = resolve(store, ref)
    key = (str(package_path(store, record)), record.content_hash)
    with _PREDICTORS_LOCK:
        predictor = _PREDICTORS.get(key)
        if predictor is not None:
            _PREDICTORS.move_to_end(key)
            return predictor
    predictor = Predictor.from_package(key[0], expected_hash=record.content_hash, ref=record.ref)
    schema = predictor.schema
    if schema.input.kind != "image" or schema.task != "classification" or not schema.classes:
        raise LabInputError(
            f"model: {record.ref} is a {schema.task} model of {schema.input.kind} inputs; "
            f"the CNN views need an image classifier"
        )
    if not convolutions(predictor.network):
        raise LabInputError(f"model: {record.ref} has no convolution layer (conv2d) to show")
    with _PREDICTORS_LOCK:
        _PREDICTORS[key] = predictor
        while len(_PREDICTORS) > _CACHED:
            _PREDICTORS.popitem(last=False)
    return predictor


def convolutions(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """The network's ``Conv2d`` layers with their names, in the order they were built."""
    from torch import nn

    return [(name, m) for name, m in network.named_modules() if isinstance(m, nn.Conv2d)]


def model_input(predictor: Predictor, image: LabImage) -> tuple[np.ndarray, torch.Tensor]:
    """``image`` at the model's size and channels (``uint8 [C, H, W]``, as the model's own
    predictions fit it) and the network's input ``[1, C, H, W]`` after its preprocessing."""
    raw = predictor.to_raw([image.pil()])
    return raw[0], predictor.preprocessor.transform(raw).to(predictor.device)


def first_filters(network: nn.Module) -> dict[str, Any]:
    """The first convolution's weights: its name and ``[filters][channels][kh][kw]`` (at
    most :data:`MAX_FILTERS` filters)."""
    name, layer = convolutions(network)[0]
    weights = layer.weight.detach().float().cpu()
    return {
        "layer": name,
        "shape": list(weights.shape),
        "weights": weights[:MAX_FILTERS].tolist(),
    }


def feature_maps(network: nn.Module, x: torch.Tensor) -> list[dict[str, Any]]:
    """Each convolution's output for ``x`` (the first :data:`MAX_LAYERS` layers, their first
    :data:`MAX_CHANNELS` channels, averaged down to :data:`MAX_MAP_SIDE`)."""
    import torch
    import torch.nn.functional as F

    layers = convolutions(network)[:MAX_LAYERS]
    outputs: dict[str, torch.Tensor] = {}
    hooks = [
        layer.register_forward_hook(
            lambda _m, _i, out, name=name: outputs.__setitem__(name, out.detach())
        )
        for name, layer in layers
    ]
    try:
        with torch.no_grad():
            network(x)
    finally:
        for hook in hooks:
            hook.remove()
    found = []
    for name, _layer in layers:
        output = outputs[name][0].float()
        shape = list(output.shape)
        shown = output[:MAX_CHANNELS]
        if max(shown.shape[-2:]) > MAX_MAP_SIDE:
            shown = F.adaptive_avg_pool2d(shown, MAX_MAP_SIDE)
        found.append({"layer": name, "shape": shape, "maps": shown.cpu().tolist()})
    return found


def class_evidence(network: nn.Module, x: torch.Tensor, target: int) -> dict[str, np.ndarray]:
    """Where the evidence for class ``target`` lies, as maps of the input's height and width
    in 0..1: Grad-CAM on the last convolution (upsampled bilinearly, negative evidence cut)
    and the gradient saliency (the largest absolute input gradient over the channels)."""
    from captum.attr import LayerAttribution, LayerGradCam, Saliency

    last = convolutions(network)[-1][1]
    height, width = x.shape[-2:]
    cam = LayerGradCam(network, last).attribute(x, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, (height, width), interpolate_mode="bilinear")
    saliency = Saliency(network).attribute(x.clone().requires_grad_(True), target=target)
    return {
        "gradcam": _unit(cam[0].amax(dim=0).detach().cpu().numpy()),
        "saliency": _unit(saliency[0].abs().amax(dim=0).detach().cpu().numpy()),
    }


def _unit(values: np.ndarray) -> np.ndarray:
    """``values`` scaled to 0..1 by their maximum (zeros stay zeros)."""
    values = np.maximum(values.astype(np.float32), 0.0)
    top = float(values.max())
    return values / top if top > 0 else values


def probabilities(predictor: Predictor, x: torch.Tensor) -> np.ndarray:
    """The classes' probabilities for the single input ``x``."""
    import torch

    with torch.no_grad():
        logits = predictor.network(x).float()
    if predictor.schema.single_logit:
        positive = torch.sigmoid(logits.reshape(-1))
        return torch.stack([1 - positive, positive], dim=1)[0].numpy()
    return torch.softmax(logits, dim=1)[0].cpu().numpy()


def explain(predictor: Predictor, image: LabImage, target: str | None = None) -> dict[str, Any]:
    """The model's answer for ``image`` and why: its probabilities, the class explained
    (``target``, or the predicted one), and the Grad-CAM and saliency maps over the input
    the model saw.

    Raises:
        LabInputError: ``target`` is not one of the model's classes.
    """
    with _RUNNING:
        return _explain(predictor, image, target)


def _explain(predictor: Predictor, image: LabImage, target: str | None) -> dict[str, Any]:
    classes = list(predictor.classes or [])
    pixels, x = model_input(predictor, image)
    chances = probabilities(predictor, x)
    predicted = int(np.argmax(chances))
    if target is None or target == "":
        explained = predicted
    elif target in classes:
        explained = classes.index(target)
    else:
        raise LabInputError(f"target: {target!r} is not one of the classes {', '.join(classes)}")
    if predictor.schema.single_logit:
        raise LabInputError("model: a single-logit classifier has no per-class evidence to show")
    maps = class_evidence(predictor.network, x, explained)
    return {
        "model": predictor.ref,
        "source": image.source,
        "label": image.label,
        "input": pixels.tolist(),
        "predicted": classes[predicted],
        "probabilities": {name: float(p) for name, p in zip(classes, chances, strict=True)},
        "explained": classes[explained],
        "gradcam": maps["gradcam"].tolist(),
        "saliency": maps["saliency"].tolist(),
    }


def cnn_views(predictor: Predictor, image: LabImage, target: str | None = None) -> dict[str, Any]:
    """Everything the "What a CNN sees" page shows for ``image``: :func:`explain`'s answer,
    the first layer's filters and every convolution's feature maps."""
    with _RUNNING:
        answer = _explain(predictor, image, target)
        _pixels, x = model_input(predictor, image)
        answer["filters"] = first_filters(predictor.network)
        answer["feature_maps"] = feature_maps(predictor.network, x)
    answer["conv_layers"] = len(convolutions(predictor.network))
    return answer

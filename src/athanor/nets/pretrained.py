"""Official ImageNet weights for Athanor's ResNets: pinned files, safe loading, name mapping.

The files are torchvision's ``IMAGENET1K_V1`` weights, fetched like dataset files (each
``ATHANOR_DATA_MIRROR`` folder, then ``$ATHANOR_HOME/cache/datasets/weights/``, then the
official URL, resumable and checksum-verified), read with ``torch.load(weights_only=True)``
(tensors only: a file cannot run code) and mapped by name onto Athanor's modules, every shape
checked. The 1,000-class head (``fc``) is never loaded: the task's output layer replaces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from athanor._choices import choices_text
from athanor.data.download import RemoteFile, fetch
from athanor.errors import DatasetUnavailable, UserError
from athanor.settings import Settings, current_settings
from athanor.spec.model import RESNET_BLOCKS

_TORCHVISION = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class PretrainedWeights:
    """One published weight file and the Athanor network it fits."""

    name: str
    """The zoo name (``init_from: zoo:NAME``)."""
    depth: int
    """The ResNet depth (``model: {template: resnet, depth: ...}``)."""
    remote: RemoteFile
    origin: str
    """Who published the weights, and under which name."""


def _torchvision(name: str, depth: int, file: str, digest: str, prefix: bool) -> PretrainedWeights:
    return PretrainedWeights(
        name=name,
        depth=depth,
        remote=RemoteFile(
            file, (_TORCHVISION + file,), digest, folder="weights", digest_is_prefix=prefix
        ),
        origin=f"torchvision ResNet{depth}_Weights.IMAGENET1K_V1 ({file})",
    )


ZOO: dict[str, PretrainedWeights] = {
    entry.name: entry
    for entry in (
        # The full SHA-256 of resnet18-f37072fd.pth (46,830,571 bytes) is published by many
        # independent users of the file; for the other two only the first 8 hex digits of
        # the SHA-256 are published (in the file name), which is what torchvision checks.
        _torchvision(
            "resnet18",
            18,
            "resnet18-f37072fd.pth",
            "f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec",
            prefix=False,
        ),
        _torchvision("resnet34", 34, "resnet34-b627a593.pth", "b627a593", prefix=True),
        _torchvision("resnet50", 50, "resnet50-0676ba61.pth", "0676ba61", prefix=True),
    )
}
"""Published weights by zoo name."""

IMAGENET_WEIGHTS = {entry.depth: entry for entry in ZOO.values()}
"""``pretrained: imagenet`` weights by ResNet depth."""


def zoo_entry(name: str, where: str = "train.init_from") -> PretrainedWeights:
    """The zoo entry ``name`` (with or without its ``zoo:`` prefix).

    Raises:
        UserError: an unknown name, listing the valid ones.
    """
    key = name.removeprefix("zoo:")
    if key not in ZOO:
        raise UserError(
            f"{where}: no published weights named '{name}'; valid: "
            + choices_text([f"zoo:{n}" for n in ZOO])
        )
    return ZOO[key]


def fetch_weights(entry: PretrainedWeights, settings: Settings | None = None) -> Path:
    """A local, verified copy of ``entry``'s file.

    Raises:
        DatasetUnavailable: no verified copy anywhere; says how to provide one offline.
    """
    try:
        return fetch(entry.remote, settings=settings, timeout=60.0)
    except DatasetUnavailable as exc:
        raise DatasetUnavailable(
            f"{entry.name} weights ({entry.origin}): {exc} Download {entry.remote.urls[0]} "
            "once on a machine with internet and copy it into a mirror folder."
        ) from None


def local_weights(entry: PretrainedWeights, settings: Settings | None = None) -> Path | None:
    """A verified copy of ``entry``'s file already on this machine (a mirror folder or the
    cache), or None; never downloads."""
    settings = settings or current_settings()
    try:
        return fetch(entry.remote, settings=replace(settings, offline=True))
    except DatasetUnavailable:
        return None


def weights_places(entry: PretrainedWeights, settings: Settings | None = None) -> str:
    """Where :func:`local_weights` looks for ``entry``'s file, for messages."""
    settings = settings or current_settings()
    mirrors = (
        "the ATHANOR_DATA_MIRROR folders (" + ", ".join(map(str, settings.data_mirrors)) + ")"
        if settings.data_mirrors
        else "ATHANOR_DATA_MIRROR (not set)"
    )
    return f"{mirrors} and the cache ({weights_cache_path(entry, settings)})"


def weights_cache_path(entry: PretrainedWeights, settings: Settings | None = None) -> Path:
    """Where a downloaded copy of ``entry``'s file is kept."""
    settings = settings or current_settings()
    return settings.cache_dir / "datasets" / entry.remote.folder / entry.remote.name


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weight file, read without unpickling code.

    ``.safetensors`` files are read with safetensors, anything else with
    ``torch.load(weights_only=True)``, which refuses every object but tensors and containers.

    Raises:
        UserError: the file is not a flat mapping of names to tensors.
    """
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # the unpickler raises several types for unsafe content
            raise UserError(f"{path}: not a plain file of tensors ({exc})") from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UserError(f"{path}: not a mapping of tensor names to tensors")
    return state


_BLOCK = re.compile(r"^layer(\d)\.(\d+)\.(.+)$")
_BLOCK_PARTS = {"downsample.0": "shortcut.conv", "downsample.1": "shortcut.norm"}


def map_torchvision_resnet(
    state: dict[str, torch.Tensor], network: nn.Module, depth: int, source: str
) -> dict[str, torch.Tensor]:
    """torchvision ResNet tensors under the names of ``network``'s modules, shapes checked.

    torchvision's ``conv1``/``bn1`` are Athanor's stem convolution block, ``layer{s}.{i}`` the
    i-th residual block of stage s (``conv{k}``/``bn{k}`` its body's ``conv{k}``/``norm{k}``,
    ``downsample`` its shortcut); ``fc`` (the ImageNet head) is left out.

    Raises:
        UserError: a tensor without a place in ``network``, a shape that differs (naming the
            tensor and both shapes), or a tensor of ``network`` that the file does not hold.
    """
    children = [name for name, _ in network.named_children()]
    stems = [name for name in children if name.startswith("conv2d_")]
    blocks = [name for name in children if name.startswith("residual_")]
    stages = RESNET_BLOCKS[depth]
    if len(stems) != 1 or len(blocks) != sum(stages):
        raise UserError(
            f"{source} fits a ResNet-{depth} (one stem convolution and {sum(stages)} residual "
            f"blocks); this network has {len(stems)} and {len(blocks)}: use "
            f"model: {{template: resnet, depth: {depth}}}"
        )
    first = [sum(stages[:stage]) for stage in range(len(stages))]
    own = network.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    problems: list[str] = []
    for key, tensor in state.items():
        if key.startswith("fc."):
            continue  # the ImageNet head: the task's output layer replaces it
        target = _athanor_name(key, stems[0], blocks, first)
        if target is None or target not in own:
            problems.append(f"{key} has no place in the network")
            continue
        if tuple(tensor.shape) != tuple(own[target].shape):
            problems.append(
                f"{key} -> {target}: shape {list(tensor.shape)} in {source}, "
                f"{list(own[target].shape)} here"
            )
            continue
        mapped[target] = tensor.to(own[target].dtype)
    missing = [
        name
        for name in own
        if name not in mapped
        and not name.startswith("output.")
        and not name.endswith("num_batches_tracked")  # older files do not carry the counter
    ]
    problems += [f"{name} is not in {source}" for name in missing]
    if problems:
        raise UserError(
            f"{source} does not fit this network: "
            + "; ".join(problems[:6])
            + (f" ... ({len(problems)} in all)" if len(problems) > 6 else "")
        )
    return mapped


def _athanor_name(key: str, stem: str, blocks: list[str], first: list[int]) -> str | None:
    for theirs, ours in (("conv1.", "conv."), ("bn1.", "norm.")):
        if key.startswith(theirs):
            return f"{stem}.{ours}{key.removeprefix(theirs)}"
    match = _BLOCK.match(key)
    if match is None:
        return None
    stage, index, rest = int(match[1]) - 1, int(match[2]), match[3]
    if not 0 <= stage < len(first):
        return None
    position = first[stage] + index
    last = first[stage + 1] if stage + 1 < len(first) else len(blocks)
    if position >= last:
        return None
    block = blocks[position]
    for theirs, ours in _BLOCK_PARTS.items():
        if rest.startswith(theirs + "."):
            return f"{block}.{ours}.{rest.removeprefix(theirs + '.')}"
    part = re.match(r"^(conv|bn)(\d)\.(.+)$", rest)
    if part is None:
        return None
    kind = "conv" if part[1] == "conv" else "norm"
    return f"{block}.body.{kind}{part[2]}.{part[3]}"


def load_pretrained(
    network: nn.Module, entry: PretrainedWeights, settings: Settings | None = None
) -> str:
    """Load ``entry``'s published weights into ``network``; returns what was loaded.

    Raises:
        DatasetUnavailable: the file cannot be had (see :func:`fetch_weights`).
        UserError: the file does not fit the network (see :func:`map_torchvision_resnet`).
    """
    path = fetch_weights(entry, settings)
    mapped = map_torchvision_resnet(read_state_dict(path), network, entry.depth, entry.origin)
    network.load_state_dict(mapped, strict=False)
    new = [name for name in network.state_dict() if name.startswith("output.")]
    return f"loaded {len(mapped)} tensors from {entry.origin}; new: {', '.join(new)}"

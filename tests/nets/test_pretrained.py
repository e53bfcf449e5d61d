"""Published ImageNet weights: download over loopback, checksums, name mapping, equal outputs.

torchvision cannot be imported beside the project's torch build, so the reference is a
torchvision-style ResNet written here: the same module names, hence exactly the key layout and
shapes of the official files, saved the way those files are (``torch.save`` of a state dict).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from torch import nn

from athanor.data.schema import InputSchema, Schema
from athanor.errors import DatasetUnavailable, SpecError, UserError
from athanor.nets import build_network
from athanor.nets.pretrained import (
    ZOO,
    PretrainedWeights,
    fetch_weights,
    load_pretrained,
    map_torchvision_resnet,
    read_state_dict,
    zoo_entry,
)
from athanor.settings import Settings
from athanor.spec import load_spec

SIZE = 64  # small images keep the test fast; the weights do not depend on the size


class _Basic(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = _downsample(inplanes, planes, stride, self.expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # stride here (v1.5)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = _downsample(inplanes, planes, stride, self.expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def _downsample(inplanes: int, planes: int, stride: int, expansion: int) -> nn.Module | None:
    if stride == 1 and inplanes == planes * expansion:
        return None
    return nn.Sequential(
        nn.Conv2d(inplanes, planes * expansion, 1, stride, bias=False),
        nn.BatchNorm2d(planes * expansion),
    )


class ReferenceResNet(nn.Module):
    """torchvision.models.ResNet's structure and parameter names (conv1, bn1, layer1-4, fc)."""

    def __init__(self, depth: int, classes: int = 1000) -> None:
        super().__init__()
        block = _Bottleneck if depth >= 50 else _Basic
        counts = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}[depth]
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for stage, count in enumerate(counts):
            planes = 64 * 2**stage
            blocks = []
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(block(inplanes, planes, stride))
                inplanes = planes * block.expansion
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _schema(classes: int) -> Schema:
    return Schema(
        task="classification",
        input=InputSchema(kind="image", shape=[3, SIZE, SIZE]),
        classes=[f"c{i}" for i in range(classes)],
    )


def _athanor_resnet(depth: int, classes: int) -> nn.Module:
    spec = load_spec(
        {"data": "x", "model": {"template": "resnet", "depth": depth, "pretrained": "imagenet"}}
    )
    return build_network(spec.model, _schema(classes), seed=1)


@pytest.fixture(scope="module")
def reference() -> ReferenceResNet:
    torch.manual_seed(0)
    model = ReferenceResNet(18)
    with torch.no_grad():  # running statistics as after training, so eval mode uses them
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def served(reference: ReferenceResNet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An official-format resnet18 file on a loopback HTTP server; yields its URL."""
    folder = tmp_path_factory.mktemp("published")
    torch.save(reference.state_dict(), folder / "resnet18-f37072fd.pth")

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/resnet18-f37072fd.pth"
    httpd.shutdown()
    httpd.server_close()


def _entry(url: str, digest: str, prefix: bool = False) -> PretrainedWeights:
    official = ZOO["resnet18"]
    remote = replace(official.remote, urls=(url,), digest=digest, digest_is_prefix=prefix)
    return replace(official, remote=remote)


def _settings(home: Path, *mirrors: Path) -> Settings:
    return Settings(home=home, db_url="sqlite://", data_mirrors=tuple(mirrors))


def _sha256(url_file: Path) -> str:
    return hashlib.sha256(url_file.read_bytes()).hexdigest()


def test_the_zoo_pins_torchvision_files() -> None:
    for name, entry in ZOO.items():
        file = entry.remote.name
        assert entry.remote.urls == (f"https://download.pytorch.org/models/{file}",)
        # torchvision names each file after the start of its SHA-256
        assert file.startswith(f"{name}-") and entry.remote.digest.startswith(file[-12:-4])
    assert len(ZOO["resnet18"].remote.digest) == 64 and not ZOO["resnet18"].remote.digest_is_prefix


def test_download_is_verified_and_maps_onto_the_network_with_equal_outputs(
    served: str, reference: ReferenceResNet, tmp_path: Path
) -> None:
    import urllib.request

    with urllib.request.urlopen(served) as response:
        digest = hashlib.sha256(response.read()).hexdigest()
    settings = _settings(tmp_path)
    path = fetch_weights(_entry(served, digest), settings)
    assert path.parent == settings.cache_dir / "datasets" / "weights"

    network = _athanor_resnet(18, 1000)
    report = load_pretrained(network, _entry(served, digest), settings)
    assert "loaded 120 tensors" in report and "new: output.linear.weight" in report
    # the head is the task's: copy the reference's to compare whole networks
    with torch.no_grad():
        network.output.linear.weight.copy_(reference.fc.weight)
        network.output.linear.bias.copy_(reference.fc.bias)
    image = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(network.eval()(image), reference(image), rtol=1e-4, atol=1e-4)


def test_a_wrong_checksum_is_refused_and_the_file_discarded(served: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(DatasetUnavailable, match="checksum mismatch") as caught:
        fetch_weights(_entry(served, "0" * 64), settings)
    assert "copy it into a mirror folder" in str(caught.value)
    assert not (settings.cache_dir / "datasets" / "weights" / "resnet18-f37072fd.pth").exists()
    # a hash prefix (all torchvision publishes for most files) is checked too
    with pytest.raises(DatasetUnavailable, match="checksum mismatch"):
        fetch_weights(_entry(served, "00000000", prefix=True), settings)


def test_the_mirror_comes_first(reference: ReferenceResNet, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror" / "weights"
    mirror.mkdir(parents=True)
    torch.save(reference.state_dict(), mirror / "resnet18-f37072fd.pth")
    entry = _entry("http://127.0.0.1:9/unreachable", _sha256(mirror / "resnet18-f37072fd.pth"))
    assert fetch_weights(entry, _settings(tmp_path / "home", tmp_path / "mirror")) == (
        mirror / "resnet18-f37072fd.pth"
    )


def test_files_that_are_not_plain_tensors_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "hook": Path("/")}, path)
    with pytest.raises(UserError, match="not a plain file of tensors"):
        read_state_dict(path)


def test_a_resnet50_file_maps_by_name_and_shape() -> None:
    with torch.device("meta"):
        state = ReferenceResNet(50).state_dict()
        network = _athanor_resnet(50, 5)
    mapped = map_torchvision_resnet(state, network, 50, "resnet50")
    assert len(mapped) == len(state) - 2  # all but fc.weight and fc.bias
    assert (
        mapped["residual_3.shortcut.conv.weight"].shape
        == state["layer1.0.downsample.0.weight"].shape
    )


def test_a_shape_mismatch_names_the_tensor_and_both_shapes(reference: ReferenceResNet) -> None:
    state = dict(reference.state_dict())
    state["layer2.0.conv1.weight"] = torch.zeros(128, 64, 5, 5)
    with pytest.raises(UserError) as caught:
        map_torchvision_resnet(state, _athanor_resnet(18, 3), 18, "resnet18")
    assert "layer2.0.conv1.weight -> residual_5.body.conv1.weight: shape [128, 64, 5, 5]" in str(
        caught.value
    )
    assert "[128, 64, 3, 3] here" in str(caught.value)
    with pytest.raises(UserError, match="fits a ResNet-18"):
        map_torchvision_resnet(state, _athanor_resnet(34, 3), 18, "resnet18")


def test_specs_refuse_unknown_values_with_the_key_path() -> None:
    with pytest.raises(SpecError, match=r"model\.pretrained: must be 'imagenet'"):
        load_spec({"data": "x", "model": {"template": "resnet", "pretrained": "in21k"}})
    with pytest.raises(SpecError, match="depth 18, 34 or 50; got depth 101"):
        load_spec(
            {"data": "x", "model": {"template": "resnet", "depth": 101, "pretrained": "imagenet"}}
        )
    with pytest.raises(UserError, match=r"train.init_from: .*valid: zoo:resnet18, zoo:resnet34"):
        zoo_entry("zoo:resnet19")


def test_pretrained_runs_see_imagenet_preprocessing() -> None:
    spec = load_spec({"data": "flowers", "model": {"template": "resnet", "pretrained": "imagenet"}})
    assert (spec.data.normalize, spec.data.image.size, spec.data.image.channels) == (
        "imagenet",
        [224, 224],
        3,
    )
    own = load_spec(
        {
            "data": {"dataset": "flowers", "normalize": "standard", "image": {"size": [96, 96]}},
            "model": {"template": "resnet"},
            "train": {"init_from": "zoo:resnet18"},
        }
    )
    assert (own.data.normalize, own.data.image.size) == ("standard", [96, 96])

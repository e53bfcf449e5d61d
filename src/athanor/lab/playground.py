"""The playground: a small MLP learning a 2-D, two-class dataset, a few steps at a time.

Nothing is kept between calls: a call carries the settings and the network's weights (JSON
numbers, exact for float32), trains ``steps`` more SGD steps and answers the new weights, the
losses, the decision boundary and every neuron's output over the plane. The data, the initial
weights and each step's batch are drawn from the seed and the step's index only, so training
in chunks of any size gives the same weights as training at once, and a shared URL replays.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

import torch
from pydantic import BeforeValidator, Field, model_validator
from torch import nn

from athanor.errors import UserError
from athanor.lab._numbers import Float, Int, only_numbers
from athanor.nets.activations import build_activation
from athanor.spec.activations import ACTIVATIONS, ActivationSpec
from athanor.spec.base import StrictModel

MAX_LAYERS = 8
MAX_NEURONS = 32
MAX_STEPS_PER_CALL = 100
MAX_CSV_ROWS = 2000
MAX_CSV_CHARS = 200_000
BOUNDARY_RESOLUTION = 64
NEURON_RESOLUTION = 20
DOMAIN = 6.0
"""Generated data lies in [-DOMAIN, DOMAIN]², where the boundary is drawn."""
MAXOUT_PIECES = 2

FEATURES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1_sq": lambda x1, x2: x1 * x1,
    "x2_sq": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin_x1": lambda x1, x2: torch.sin(x1),
    "sin_x2": lambda x1, x2: torch.sin(x2),
}
"""The input features a network may see, computed from the point (x1, x2)."""

DatasetName = Literal["xor", "circles", "spiral", "gaussians", "csv"]
FeatureName = Literal["x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2"]
ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
Neurons = Annotated[int, Field(ge=1, le=MAX_NEURONS), BeforeValidator(only_numbers)]


class PlaygroundSettings(StrictModel):
    """What the playground trains: the data, the network and the training."""

    dataset: DatasetName = Field(default="xor", description="A generated dataset, or csv.")
    csv: str | None = Field(
        default=None,
        max_length=MAX_CSV_CHARS,
        description=f"dataset csv: rows 'x1,x2,label' (a header is optional; at most "
        f"{MAX_CSV_ROWS} rows, two label values).",
    )
    samples: Int = Field(default=400, ge=50, le=1000, description="Points generated.")
    noise: Float = Field(default=0.0, ge=0, le=50, description="Noise, in percent.")
    train_ratio: Float = Field(default=0.5, ge=0.1, le=0.9, description="Share that trains.")
    features: list[FeatureName] = Field(
        default_factory=lambda: ["x1", "x2"],
        min_length=1,
        max_length=len(FEATURES),
        json_schema_extra={"uniqueItems": True},
    )
    layers: list[Neurons] = Field(
        default_factory=lambda: [4, 2],
        max_length=MAX_LAYERS,
        description=f"Neurons of each hidden layer (1 to {MAX_NEURONS}; at most {MAX_LAYERS}).",
    )
    activation: ActivationName = "tanh"
    learning_rate: Float = Field(default=0.03, gt=0, le=10)
    batch_size: Int = Field(default=10, ge=1, le=100)
    regularization: Literal["none", "l1", "l2"] = "none"
    regularization_rate: Float = Field(default=0.0, ge=0, le=1)
    seed: Int = Field(default=0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _check(self) -> PlaygroundSettings:
        if len(set(self.features)) != len(self.features):
            raise ValueError("features: each feature at most once")
        return self


class LayerWeights(StrictModel):
    """One linear layer's parameters as JSON numbers: ``weight[out][in]`` and ``bias[out]``."""

    weight: list[list[Float]]
    bias: list[Float]


def read_points_csv(text: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The points of a CSV of rows ``x1,x2,label``, and the two label values (as 0 and 1).

    Raises:
        UserError: the text is too long, a row is malformed (naming its line) or there are
            not exactly two label values.
    """
    if len(text) > MAX_CSV_CHARS:
        raise UserError(f"csv: {len(text)} characters; at most {MAX_CSV_CHARS}")
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as exc:  # a NUL byte, an unclosed quote at the end
        raise UserError(f"csv: not readable as CSV ({exc})") from None
    if rows and not _is_number(rows[0][0] if rows[0] else ""):
        rows = rows[1:]  # a header
    if len(rows) > MAX_CSV_ROWS:
        raise UserError(f"csv: {len(rows)} rows; at most {MAX_CSV_ROWS}")
    if len(rows) < 4:
        raise UserError("csv: at least 4 rows 'x1,x2,label' are needed")
    coordinates, labels = [], []
    for line, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise UserError(f"csv line {line}: {len(row)} columns; expected 3: x1,x2,label")
        if not (_is_number(row[0]) and _is_number(row[1])):
            raise UserError(f"csv line {line}: x1 and x2 must be finite numbers")
        x1, x2 = float(row[0]), float(row[1])
        if max(abs(x1), abs(x2)) > 1e6:
            raise UserError(f"csv line {line}: |x1| and |x2| must be at most 1e6")
        coordinates.append((x1, x2))
        labels.append(row[2].strip())
    names = sorted(set(labels))
    if len(names) != 2:
        raise UserError(f"csv: the label column has {len(names)} values; expected exactly 2")
    points = torch.tensor(coordinates, dtype=torch.float32)
    return points, torch.tensor([names.index(label) for label in labels]), names


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def make_points(settings: PlaygroundSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """The dataset's points ``[N, 2]`` and labels ``[N]`` (0/1), drawn from the seed."""
    if settings.dataset == "csv":
        if not settings.csv:
            raise UserError("csv: dataset 'csv' needs the CSV text of the points")
        points, labels, _ = read_points_csv(settings.csv)
        return points, labels
    generator = torch.Generator().manual_seed(settings.seed)
    n = settings.samples
    half = n // 2
    noise = settings.noise / 100

    def uniform(*shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=generator)

    if settings.dataset == "xor":
        points = uniform(n, 2, low=-5, high=5)
        points = points + torch.sign(points) * 0.3  # a gap along the axes
        labels = (points[:, 0] * points[:, 1] > 0).long()
        points = points + noise * 5 * (uniform(n, 2) * 2 - 1)
    elif settings.dataset == "circles":
        radius = torch.cat([uniform(half, high=2.5), uniform(n - half, low=3.5, high=5.0)])
        angle = uniform(n, high=2 * math.pi)
        points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
        labels = torch.cat([torch.ones(half), torch.zeros(n - half)]).long()
        points = points + noise * 5 * (uniform(n, 2) * 2 - 1)
    elif settings.dataset == "spiral":
        arms = []
        for arm, offset in ((1, 0.0), (0, math.pi)):
            count = half if arm else n - half
            t = torch.arange(count, dtype=torch.float32) / count
            radius, angle = 5 * t, 1.75 * 2 * math.pi * t + offset
            arm_points = torch.stack([radius * torch.sin(angle), radius * torch.cos(angle)], 1)
            arms.append((arm_points + noise * 2 * (uniform(count, 2) * 2 - 1), arm, count))
        points = torch.cat([a for a, _, _ in arms])
        labels = torch.cat([torch.full((count,), arm) for _, arm, count in arms]).long()
    else:  # gaussians
        spread = 0.7 + 3 * noise
        centers = torch.tensor([[2.0, 2.0]] * half + [[-2.0, -2.0]] * (n - half))
        points = centers + spread * torch.randn(n, 2, generator=generator)
        labels = torch.cat([torch.ones(half), torch.zeros(n - half)]).long()
    return points.float(), labels


def split_points(
    settings: PlaygroundSettings, points: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train points, train labels, test points, test labels: a seeded random split."""
    order = torch.randperm(len(points), generator=torch.Generator().manual_seed(settings.seed + 1))
    cut = min(max(1, round(settings.train_ratio * len(points))), len(points) - 1)
    train, test = order[:cut], order[cut:]
    return points[train], labels[train], points[test], labels[test]


def features_of(settings: PlaygroundSettings, points: torch.Tensor) -> torch.Tensor:
    """The network's inputs ``[N, F]``: the chosen features of each point."""
    x1, x2 = points[:, 0], points[:, 1]
    return torch.stack([FEATURES[name](x1, x2) for name in settings.features], dim=1)


class PlaygroundNet(nn.Module):
    """Hidden dense layers with one activation, then one logit for class 1."""

    def __init__(self, settings: PlaygroundSettings) -> None:
        super().__init__()
        spec = ActivationSpec(type=settings.activation)
        widen = MAXOUT_PIECES if settings.activation == "maxout" else 1
        self.linears = nn.ModuleList()
        self.activations = nn.ModuleList()
        width = len(settings.features)
        for neurons in settings.layers:
            self.linears.append(nn.Linear(width, neurons * widen))
            self.activations.append(
                build_activation(spec.model_copy(update={"pieces": widen}))
                if widen > 1
                else build_activation(spec)
            )
            width = neurons
        self.output = nn.Linear(width, 1)

    def forward_all(self, inputs: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The logits ``[N]`` and each hidden layer's outputs ``[N, neurons]``."""
        hidden = []
        x = inputs
        for linear, activation in zip(self.linears, self.activations, strict=True):
            x = activation(linear(x))
            hidden.append(x)
        return self.output(x).squeeze(1), hidden

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.forward_all(inputs)[0]

    def linear_layers(self) -> list[nn.Linear]:
        return [*self.linears, self.output]


def build_network(
    settings: PlaygroundSettings, weights: list[LayerWeights] | None
) -> PlaygroundNet:
    """The network of ``settings``, with ``weights`` or Xavier-uniform ones drawn from the seed.

    Raises:
        UserError: ``weights`` do not fit the layers of ``settings``.
    """
    net = PlaygroundNet(settings)
    layers = net.linear_layers()
    if weights is None:
        generator = torch.Generator().manual_seed(settings.seed + 2)
        with torch.no_grad():
            for layer in layers:
                fan_out, fan_in = layer.weight.shape
                bound = math.sqrt(6 / (fan_in + fan_out))
                layer.weight.copy_(
                    (torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound
                )
                layer.bias.zero_()
        return net
    if len(weights) != len(layers):
        raise UserError(
            f"weights: {len(weights)} layers given; the settings make {len(layers)} "
            "(hidden layers and the output)"
        )
    with torch.no_grad():
        for index, (layer, given) in enumerate(zip(layers, weights, strict=True)):
            try:
                weight = torch.tensor(given.weight, dtype=torch.float32)
                bias = torch.tensor(given.bias, dtype=torch.float32)
            except (ValueError, TypeError):  # rows of different lengths
                raise UserError(
                    f"weights[{index}]: the weight's rows must all have the same length"
                ) from None
            if weight.shape != layer.weight.shape or bias.shape != layer.bias.shape:
                raise UserError(
                    f"weights[{index}]: weight {list(weight.shape)} and bias "
                    f"{list(bias.shape)}; the settings need {list(layer.weight.shape)} and "
                    f"{list(layer.bias.shape)}"
                )
            if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
                raise UserError(f"weights[{index}]: every number must be finite")
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
    return net


def _penalty(settings: PlaygroundSettings, net: PlaygroundNet) -> torch.Tensor:
    weights = [layer.weight for layer in net.linear_layers()]
    if settings.regularization == "l1":
        return settings.regularization_rate * sum(w.abs().sum() for w in weights)
    if settings.regularization == "l2":
        return settings.regularization_rate * sum((w * w).sum() for w in weights)
    return torch.zeros(())


def _loss(net: PlaygroundNet, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        logits = net(inputs)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.float())
    return float(loss)


def domain_of(settings: PlaygroundSettings, points: torch.Tensor) -> float:
    """Half the side of the square drawn: DOMAIN, or what holds a CSV's points."""
    if settings.dataset != "csv":
        return DOMAIN
    return float(points.abs().max()) * 1.1 or 1.0


def _grid(domain: float, resolution: int) -> torch.Tensor:
    """Points ``[R*R, 2]`` row by row from the top (x2 = domain) down, left to right."""
    axis = torch.linspace(-domain, domain, resolution)
    x2, x1 = torch.meshgrid(axis.flip(0), axis, indexing="ij")
    return torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)


def _finite(values: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(values.detach(), nan=0.0)


def _rounded(values: torch.Tensor, digits: int = 4) -> list[Any]:
    scale = 10**digits
    return (torch.round(values * scale) / scale).tolist()


def train_steps(
    settings: PlaygroundSettings,
    weights: list[LayerWeights] | None = None,
    step: int = 0,
    steps: int = 10,
) -> dict[str, Any]:
    """Train ``steps`` SGD steps from step ``step`` and describe the network after them.

    Args:
        settings: the data, network and training.
        weights: the network after ``step`` steps (``None``: the initial weights; then
            ``step`` must be 0).
        step: how many steps ``weights`` have been trained.
        steps: how many to train now (0 to MAX_STEPS_PER_CALL).

    Returns:
        ``step`` (the new count), ``epoch`` (passes over the training points), ``weights``,
        ``train_loss`` and ``test_loss`` (cross-entropy without the penalty), ``domain``,
        ``boundary`` (P(class 1) on a 64×64 grid, rows from the top), ``neurons`` (each hidden
        layer's neurons' outputs on a 20×20 grid), ``inputs`` (each feature on that grid) and
        ``points``.

    Raises:
        UserError: out-of-range ``steps``/``step``, or weights that do not fit.
    """
    if not 0 <= steps <= MAX_STEPS_PER_CALL:
        raise UserError(f"steps: {steps}; valid: 0 to {MAX_STEPS_PER_CALL} per call")
    if step < 0 or (weights is None and step != 0):
        raise UserError(f"step: {step}; valid: 0 without weights, >= 0 with them")
    points, labels = make_points(settings)
    train_points, train_labels, test_points, test_labels = split_points(settings, points, labels)
    train_inputs, test_inputs = (
        features_of(settings, train_points),
        features_of(settings, test_points),
    )
    net = build_network(settings, weights)
    batch = min(settings.batch_size, len(train_inputs))
    for index in range(step, step + steps):
        # each step's batch depends on the seed and the step only: chunks replay exactly
        chosen = torch.randperm(
            len(train_inputs),
            generator=torch.Generator().manual_seed(settings.seed * 1_000_003 + index),
        )[:batch]
        net.zero_grad()
        logits = net(train_inputs[chosen])
        loss = nn.functional.binary_cross_entropy_with_logits(logits, train_labels[chosen].float())
        (loss + _penalty(settings, net)).backward()
        with torch.no_grad():
            for parameter in net.parameters():
                parameter -= settings.learning_rate * parameter.grad
    step += steps
    train_loss, test_loss = (
        _loss(net, train_inputs, train_labels),
        _loss(net, test_inputs, test_labels),
    )
    domain = domain_of(settings, points)
    with torch.no_grad():
        boundary = torch.sigmoid(net(features_of(settings, _grid(domain, BOUNDARY_RESOLUTION))))
        coarse = features_of(settings, _grid(domain, NEURON_RESOLUTION))
        _, hidden = net.forward_all(coarse)
    diverged = not (math.isfinite(train_loss) and math.isfinite(test_loss))
    return {
        "step": step,
        "epoch": step * batch / len(train_inputs),
        "diverged": diverged,
        # a diverged network's weights may hold inf or NaN, which JSON cannot carry: they
        # become the largest float32 (or 0), and the next step diverges the same way
        "weights": [
            {"weight": _finite(layer.weight).tolist(), "bias": _finite(layer.bias).tolist()}
            for layer in net.linear_layers()
        ],
        "train_loss": train_loss if not diverged else None,
        "test_loss": test_loss if not diverged else None,
        "domain": domain,
        "boundary": _rounded(torch.nan_to_num(boundary, nan=0.5), 3),
        "neurons": [
            _rounded(torch.nan_to_num(layer.T, nan=0.0).clamp(-1e6, 1e6), 3) for layer in hidden
        ],
        "inputs": _rounded(coarse.T, 3),
        "points": {
            "train": _rounded(train_points, 3),
            "train_labels": train_labels.tolist(),
            "test": _rounded(test_points, 3),
            "test_labels": test_labels.tolist(),
        },
    }


def run_files(settings: PlaygroundSettings, steps: int, name: str | None = None) -> dict[str, str]:
    """An ordinary Athanor run of the playground: the points' CSV and the spec's YAML.

    The CSV holds every point's chosen features and its label (``a`` for class 0, ``b`` for
    class 1); the spec names it as the dataset ``name`` (import the CSV under that name with
    target ``label``), holds out the playground's test share, and trains the same layers,
    activation, SGD rate, batch size and penalty for as many epochs as ``steps`` made.

    Returns:
        ``dataset`` (the name), ``csv`` and ``yaml``.
    """
    points, labels = make_points(settings)
    inputs = features_of(settings, points)
    dataset = name or f"playground-{settings.dataset}-{settings.seed}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*settings.features, "label"])
    for row, label in zip(inputs.tolist(), labels.tolist(), strict=True):
        writer.writerow([f"{value:.6g}" for value in row] + ["ab"[label]])
    n_train = max(1, round(settings.train_ratio * len(points)))
    epochs = max(1, math.ceil(max(steps, 1) * settings.batch_size / n_train))
    activation = settings.activation
    if activation == "maxout":
        activation = f"{{maxout: {{pieces: {MAXOUT_PIECES}}}}}"
    layers = "\n".join(
        f"    - dense: {{units: {n}, activation: {activation}}}" for n in settings.layers
    )
    regularization = (
        f"  regularization: {{{settings.regularization}: {settings.regularization_rate:g}}}\n"
        if settings.regularization != "none" and settings.regularization_rate > 0
        else ""
    )
    yaml = (
        f"# The playground's {settings.dataset} network as a run "
        f"(features {', '.join(settings.features)})\n"
        f"name: {dataset}\n"
        f"seed: {settings.seed}\n"
        "data:\n"
        f"  dataset: {dataset}\n"
        "  target: label\n"
        f"  split: {{val: 0, test: {1 - settings.train_ratio:.2f}, method: random}}\n"
        "  normalize: none\n"
        "model:\n"
        + "  layers:\n"
        # no hidden layer: the output layer alone (a spec's stack holds at least one layer)
        + (layers if settings.layers else "    - activation: linear")
        + "\n"
        + "train:\n"
        f"  epochs: {epochs}\n"
        f"  batch_size: {settings.batch_size}\n"
        f"  optimizer: {{type: sgd, lr: {settings.learning_rate:g}}}\n" + regularization
    )
    return {"dataset": dataset, "csv": out.getvalue(), "yaml": yaml}

"""Training specs: optimizer, schedule, loss, metrics, stopping and gradient handling."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from athanor._choices import choices_text, closest
from athanor.spec.base import StrictModel


def _typed_union(specs: dict[str, type[StrictModel]], default: str, what: str) -> Any:
    """A union selected by ``type``, written as a name or a mapping; ``default`` if absent."""

    def normalize(value: Any) -> Any:
        if isinstance(value, str):
            value = {"type": value}
        if isinstance(value, dict):
            kind = value.get("type", default)
            if kind not in specs:
                hint = closest(str(kind), list(specs))
                raise PydanticCustomError(
                    f"unknown_{what}",
                    "unknown {what} '{kind}'{suggestion}; valid: {valid}",
                    {
                        "what": what,
                        "kind": kind,
                        "suggestion": f" (did you mean '{hint}'?)" if hint else "",
                        "valid": choices_text(list(specs)),
                    },
                )
            value = {**value, "type": kind}
        return value

    def tag(value: Any) -> str | None:
        return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)

    members = tuple(Annotated[cls, Tag(name)] for name, cls in specs.items())
    return Annotated[
        Union[members],  # noqa: UP007 - built from a registry
        Discriminator(tag),
        BeforeValidator(normalize),
    ]


PositiveLR = Annotated[float, Field(gt=0.0, description="Learning rate.")]
Decay = Annotated[float, Field(ge=0.0, description="L2 weight decay.")]


class ParamGroupSpec(StrictModel):
    """Options for the parameters whose names match ``params`` (a glob, e.g. ``dense_*``).

    Parameters are named ``<layer>.<part>.<weight|bias>`` (``athanor summary`` lists them); a
    parameter joins the first group it matches, the rest use the optimizer's own options.
    """

    params: str = Field(min_length=1, description="Glob over parameter names.")
    lr: float | None = Field(default=None, gt=0.0)
    weight_decay: float | None = Field(default=None, ge=0.0)


class TorchBound(StrictModel):
    """A spec that configures one PyTorch class, named in ``torch_class``.

    Every field is a keyword argument of that class under the same name, except the fields in
    ``not_torch`` (ours alone) and those renamed in ``torch_renames``; a test checks each
    against the class's signature, so a field cannot silently go unused.
    """

    torch_class: ClassVar[str]
    """The dotted path of the class (``torch.optim.SGD``); the spec layer does not import it."""
    torch_renames: ClassVar[dict[str, str]] = {}
    """Our field name -> the class's keyword, where the two differ."""
    not_torch: ClassVar[frozenset[str]] = frozenset({"type"})
    """Fields that are not keywords of the class (the builder uses them itself)."""

    def torch_keywords(self) -> dict[str, Any]:
        """The class's keyword arguments from this spec's fields."""
        return {
            self.torch_renames.get(name, name): getattr(self, name)
            for name in type(self).model_fields
            if name not in self.not_torch
        }


class _OptimizerSpec(TorchBound):
    not_torch: ClassVar[frozenset[str]] = frozenset({"type", "param_groups"})

    param_groups: list[ParamGroupSpec] = Field(
        default_factory=list, description="Per-group learning rates / weight decay."
    )


class SGDSpec(_OptimizerSpec):
    """Stochastic gradient descent with optional (Nesterov) momentum."""

    torch_class: ClassVar[str] = "torch.optim.SGD"

    type: Literal["sgd"] = "sgd"
    lr: PositiveLR = 0.01
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: Decay = 0.0

    @model_validator(mode="after")
    def _check(self) -> SGDSpec:
        if self.nesterov and self.momentum == 0.0:
            raise PydanticCustomError("bad_nesterov", "nesterov needs momentum > 0", {})
        return self


class AdamSpec(_OptimizerSpec):
    """Adam (Kingma & Ba, 2015)."""

    torch_class: ClassVar[str] = "torch.optim.Adam"

    type: Literal["adam"] = "adam"
    lr: PositiveLR = 1e-3
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (
        0.9,
        0.999,
    )
    eps: float = Field(default=1e-8, gt=0.0)
    weight_decay: Decay = 0.0
    amsgrad: bool = False


class AdamWSpec(AdamSpec):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019)."""

    torch_class: ClassVar[str] = "torch.optim.AdamW"

    type: Literal["adamw"] = "adamw"  # type: ignore[assignment]
    weight_decay: Decay = 0.01


class RMSpropSpec(_OptimizerSpec):
    """RMSprop (Hinton, 2012)."""

    torch_class: ClassVar[str] = "torch.optim.RMSprop"

    type: Literal["rmsprop"] = "rmsprop"
    lr: PositiveLR = 1e-3
    alpha: float = Field(default=0.99, gt=0.0, lt=1.0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    eps: float = Field(default=1e-8, gt=0.0)
    centered: bool = False
    weight_decay: Decay = 0.0


class AdagradSpec(_OptimizerSpec):
    """Adagrad (Duchi et al., 2011)."""

    torch_class: ClassVar[str] = "torch.optim.Adagrad"

    type: Literal["adagrad"] = "adagrad"
    lr: PositiveLR = 1e-2
    lr_decay: float = Field(default=0.0, ge=0.0)
    eps: float = Field(default=1e-10, gt=0.0)
    weight_decay: Decay = 0.0


OPTIMIZER_SPECS: dict[str, type[StrictModel]] = {
    "sgd": SGDSpec,
    "adam": AdamSpec,
    "adamw": AdamWSpec,
    "rmsprop": RMSpropSpec,
    "adagrad": AdagradSpec,
}
OptimizerSpec = _typed_union(OPTIMIZER_SPECS, default="adam", what="optimizer")


LOSS_NAMES = (
    "auto",
    "cross_entropy",
    "nll",
    "bce",
    "bce_with_logits",
    "mse",
    "mae",
    "huber",
    "centernet",
)


class LossSpec(StrictModel):
    """The training objective; the name must fit the task (see ``athanor.training.losses``)."""

    type: Literal[LOSS_NAMES] = "auto"  # type: ignore[valid-type]
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    class_weights: list[Annotated[float, Field(ge=0.0)]] | Literal["balanced"] | None = Field(
        default=None,
        description="Per-class loss weights, or 'balanced' (inverse class frequency).",
    )
    delta: float = Field(default=1.0, gt=0.0, description="Huber threshold.")
    shorthand = "type"


METRIC_NAMES = (
    "accuracy",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
    "f1_macro",
    "f1_micro",
    "roc_auc",
    "pr_auc",
    "confusion_matrix",
    "perplexity",
    "mse",
    "rmse",
    "mae",
    "r2",
    "map",
    "map50",
    "map75",
    "class_ap",
)
TOP_K = re.compile(r"^top([1-9][0-9]?)_accuracy$")
SCALAR_METRICS = tuple(
    name for name in METRIC_NAMES if name not in ("confusion_matrix", "class_ap")
)


def check_metric_name(name: str) -> str:
    """A metric name, or a PydanticCustomError listing the valid ones."""
    if name in METRIC_NAMES or TOP_K.match(name):
        return name
    hint = closest(name, [*METRIC_NAMES, "top5_accuracy"])
    raise PydanticCustomError(
        "unknown_metric",
        "unknown metric '{name}'{suggestion}; valid: {valid}, topK_accuracy (e.g. top5_accuracy)",
        {
            "name": name,
            "suggestion": f" (did you mean '{hint}'?)" if hint else "",
            "valid": ", ".join(METRIC_NAMES),
        },
    )


def check_monitor(monitor: str) -> str:
    """``val_<scalar metric>`` / ``train_<...>`` / ``*_loss``, or a PydanticCustomError."""
    prefix, _, metric = monitor.partition("_")
    if prefix in ("val", "train") and (
        metric == "loss" or metric in SCALAR_METRICS or TOP_K.match(metric)
    ):
        return monitor
    valid = ", ".join(f"val_{name}" for name in ("loss", *SCALAR_METRICS))
    raise PydanticCustomError("bad_monitor", "must be one of {valid}", {"valid": valid})


class _WarmupSchedule(StrictModel):
    warmup_steps: int = Field(
        default=0, ge=0, description="Linear warm-up from ~0 over this many optimizer steps."
    )
    warmup_epochs: float = Field(
        default=0.0, ge=0.0, description="Linear warm-up over this many epochs (or use steps)."
    )

    @model_validator(mode="after")
    def _one_warmup(self) -> _WarmupSchedule:
        if self.warmup_steps and self.warmup_epochs:
            raise PydanticCustomError(
                "bad_warmup", "give warmup_steps or warmup_epochs, not both", {}
            )
        return self


class ConstantScheduleSpec(_WarmupSchedule):
    """The optimizer's learning rate throughout (after an optional linear warm-up)."""

    type: Literal["constant"] = "constant"


class StepScheduleSpec(_WarmupSchedule):
    """Multiply the learning rate by ``gamma`` every ``every`` epochs."""

    type: Literal["step"] = "step"
    every: int = Field(default=10, ge=1, description="Epochs between decays.")
    gamma: float = Field(default=0.1, gt=0.0, le=1.0)


class ExponentialScheduleSpec(_WarmupSchedule):
    """Multiply the learning rate by ``gamma`` after every epoch."""

    type: Literal["exponential"] = "exponential"
    gamma: float = Field(default=0.95, gt=0.0, le=1.0)


class CosineScheduleSpec(_WarmupSchedule):
    """Cosine annealing from the optimizer's rate to ``min_lr`` over the run, per step."""

    type: Literal["cosine"] = "cosine"
    min_lr: float = Field(default=0.0, ge=0.0)


class OneCycleScheduleSpec(TorchBound):
    """One-cycle policy (Smith, 2018): warm up to ``max_lr``, then anneal, per step.

    Parameter groups with their own learning rate peak in proportion (a group at a tenth of
    the optimizer's rate peaks at a tenth of ``max_lr``).
    """

    torch_class: ClassVar[str] = "torch.optim.lr_scheduler.OneCycleLR"

    type: Literal["onecycle"] = "onecycle"
    max_lr: float | None = Field(
        default=None, gt=0.0, description="Peak rate. Default: the optimizer's lr."
    )
    pct_start: float = Field(default=0.3, gt=0.0, lt=1.0)
    div_factor: float = Field(default=25.0, gt=1.0, description="Start at max_lr / div_factor.")
    final_div_factor: float = Field(default=1e4, gt=1.0)


class PlateauScheduleSpec(TorchBound):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving."""

    torch_class: ClassVar[str] = "torch.optim.lr_scheduler.ReduceLROnPlateau"
    not_torch: ClassVar[frozenset[str]] = frozenset({"type", "monitor"})

    type: Literal["plateau"] = "plateau"
    monitor: str = Field(default="val_loss", description="val_loss or val_<metric>.")
    mode: Literal["auto", "min", "max"] = "auto"
    factor: float = Field(default=0.1, gt=0.0, lt=1.0)
    patience: int = Field(default=2, ge=0, description="Epochs without improvement.")
    threshold: float = Field(default=1e-4, ge=0.0, description="Relative improvement needed.")
    cooldown: int = Field(default=0, ge=0)
    min_lr: float = Field(default=0.0, ge=0.0)

    _check_monitor = field_validator("monitor")(classmethod(lambda cls, v: check_monitor(v)))


SCHEDULE_SPECS: dict[str, type[StrictModel]] = {
    "constant": ConstantScheduleSpec,
    "step": StepScheduleSpec,
    "exponential": ExponentialScheduleSpec,
    "cosine": CosineScheduleSpec,
    "onecycle": OneCycleScheduleSpec,
    "plateau": PlateauScheduleSpec,
}
ScheduleSpec = _typed_union(SCHEDULE_SPECS, default="constant", what="schedule")


class EarlyStoppingSpec(StrictModel):
    """Stop when the monitored validation metric stops improving."""

    monitor: str = Field(default="val_loss", description="val_loss or val_<metric>.")
    mode: Literal["auto", "min", "max"] = "auto"
    patience: int = Field(default=3, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    restore_best: bool = Field(default=True, description="End with the best epoch's weights.")

    _check_monitor = field_validator("monitor")(classmethod(lambda cls, v: check_monitor(v)))


class ClipGradSpec(StrictModel):
    """Gradient clipping: by global norm or by value (one of the two)."""

    norm: float | None = Field(default=None, gt=0.0)
    value: float | None = Field(default=None, gt=0.0)

    @model_validator(mode="after")
    def _check(self) -> ClipGradSpec:
        if (self.norm is None) == (self.value is None):
            raise PydanticCustomError("bad_clip", "give exactly one of 'norm' or 'value'", {})
        return self


class RegularizationSpec(StrictModel):
    """Penalties added to the loss over the weight matrices and kernels (not biases/norms)."""

    l1: float = Field(default=0.0, ge=0.0, description="lambda * sum |w|.")
    l2: float = Field(default=0.0, ge=0.0, description="lambda * sum w^2.")


class CheckpointSpec(StrictModel):
    """When full training state is saved (for ``athanor runs resume`` and crash recovery)."""

    enabled: bool = True
    every_epochs: int = Field(default=1, ge=0, description="At the end of every N epochs (0: no).")
    every_steps: int | None = Field(
        default=None, ge=1, description="Also every N optimizer steps (mid-epoch resume points)."
    )
    keep: int = Field(default=2, ge=1, description="Newest checkpoints kept on disk.")


class InitFromSpec(StrictModel):
    """Start from the weights of a registered model version (transfer learning).

    Every tensor whose name and shape match is loaded; the output layer is re-initialized
    when the number of classes (or targets) differs.
    """

    model: str = Field(
        min_length=1,
        description="NAME[@VERSION] of a registered model, or published weights (zoo:resnet18).",
    )
    strict: bool = Field(
        default=True, description="Fail when a layer other than the output layer differs."
    )
    shorthand = "model"


class TransferSpec(StrictModel):
    """A transfer-learning recipe for a network that starts from trained weights
    (``init_from``, ``pretrained``).

    ``features`` (feature extraction) trains only the head: every other parameter is frozen
    and its batch normalization keeps the pretrained statistics (eval mode). ``fine_tune``
    trains everything, the backbone at ``backbone_lr`` times the optimizer's rate.
    ``gradual`` starts like ``features`` and thaws one more layer, from the output end down,
    every ``unfreeze_every`` epochs.
    """

    preset: Literal["features", "fine_tune", "gradual"] = Field(
        description="features: frozen backbone, only the head learns; fine_tune: all layers "
        "learn, the backbone more slowly; gradual: the head first, then one more layer from "
        "the top every unfreeze_every epochs, the backbone more slowly."
    )
    head: str = Field(
        default="output.*", min_length=1, description="Glob of the parameters that start fresh."
    )
    backbone_lr: float = Field(
        default=0.1,
        gt=0.0,
        le=1.0,
        description="fine_tune, gradual: the backbone's learning rate as a fraction of the "
        "optimizer's.",
    )
    unfreeze_every: int = Field(
        default=1, ge=1, description="gradual: epochs between two layers being thawed."
    )
    from_scratch: Literal["error", "train_all"] = Field(
        default="error",
        description="When the network starts from scratch (no init_from, no pretrained): "
        "error (a recipe needs trained weights to keep), or train_all (the recipe is not "
        "applied, every layer learns; auto searches pretrained and new networks together "
        "this way).",
    )
    shorthand = "preset"


class GanSpec(StrictModel):
    """Adversarial training (task ``generation``, e.g. ``template: dcgan``)."""

    d_steps: int = Field(
        default=1, ge=1, le=20, description="Discriminator steps per generator step (k)."
    )
    discriminator_lr: float | None = Field(
        default=None, gt=0.0, description="Default: the optimizer's lr."
    )
    real_label: float = Field(
        default=1.0,
        gt=0.5,
        le=1.0,
        description="Target for real images (0.9: one-sided smoothing).",
    )
    samples_every: int = Field(
        default=1, ge=0, description="Save a grid of generated images every N epochs (0: never)."
    )
    grid: int = Field(default=8, ge=1, le=16, description="The grid is grid x grid images.")


class AnomalyThresholdSpec(StrictModel):
    """How an anomaly detector's threshold is chosen after training (task reconstruction),
    from the validation part's timestamp scores."""

    method: Literal["quantile", "sigma"] = Field(
        default="quantile",
        description="quantile: the q-quantile of the scores; sigma: their mean + k sd.",
    )
    quantile: float = Field(default=0.99, gt=0.0, lt=1.0, description="q (method quantile).")
    k: float = Field(default=3.0, gt=0.0, le=100.0, description="k (method sigma).")


class TrainSpec(StrictModel):
    """How the network is trained."""

    epochs: int = Field(default=10, ge=1, le=100_000)
    batch_size: int = Field(default=64, ge=1)
    eval_batch_size: int = Field(default=1024, ge=1, description="Batch size to evaluate.")
    accumulate: int = Field(
        default=1, ge=1, description="Batches whose gradients are summed per optimizer step."
    )
    optimizer: OptimizerSpec = Field(default_factory=lambda: AdamSpec())
    schedule: ScheduleSpec = Field(default_factory=lambda: ConstantScheduleSpec())
    loss: LossSpec = Field(default_factory=LossSpec)
    metrics: list[Annotated[str, AfterValidator(check_metric_name)]] | None = Field(
        default=None,
        description="Default: accuracy for classification, rmse/mae/r2 for regression.",
    )
    regularization: RegularizationSpec = Field(default_factory=RegularizationSpec)
    early_stopping: EarlyStoppingSpec | None = None
    clip_grad: ClipGradSpec | None = None
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
    nan_guard: bool = Field(default=True, description="Stop when the loss becomes NaN or Inf.")
    freeze: list[str] = Field(
        default_factory=list, description="Globs of parameter names kept fixed."
    )
    init_from: InitFromSpec | None = None
    transfer: TransferSpec | None = Field(
        default=None, description="Feature extraction or fine-tuning recipe (features, fine_tune)."
    )
    gan: GanSpec = Field(default_factory=GanSpec)
    anomaly_threshold: AnomalyThresholdSpec = Field(default_factory=AnomalyThresholdSpec)
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        default="fp32", description="Mixed precision (fp16 needs a CUDA GPU)."
    )
    compile: bool = Field(default=False, description="torch.compile the network (GPU).")
    channels_last: bool = Field(
        default=False,
        description="Keep 2-D convolution weights channels-last (NHWC): oneDNN's fast path on "
        "CPUs, tensor cores on GPUs.",
    )
    device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
        description="auto picks cuda, then mps, then cpu.",
    )

"""Training specs: optimizer, schedule, loss, metrics, stopping and gradient handling."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator
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


class SGDSpec(StrictModel):
    """Stochastic gradient descent with optional (Nesterov) momentum."""

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


class AdamSpec(StrictModel):
    """Adam (Kingma & Ba, 2015)."""

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

    type: Literal["adamw"] = "adamw"  # type: ignore[assignment]
    weight_decay: Decay = 0.01


class RMSpropSpec(StrictModel):
    """RMSprop (Hinton, 2012)."""

    type: Literal["rmsprop"] = "rmsprop"
    lr: PositiveLR = 1e-3
    alpha: float = Field(default=0.99, gt=0.0, lt=1.0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    eps: float = Field(default=1e-8, gt=0.0)
    centered: bool = False
    weight_decay: Decay = 0.0


class AdagradSpec(StrictModel):
    """Adagrad (Duchi et al., 2011)."""

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


class ConstantScheduleSpec(StrictModel):
    """The optimizer's learning rate throughout."""

    type: Literal["constant"] = "constant"


class StepScheduleSpec(StrictModel):
    """Multiply the learning rate by ``gamma`` every ``every`` epochs."""

    type: Literal["step"] = "step"
    every: int = Field(default=10, ge=1, description="Epochs between decays.")
    gamma: float = Field(default=0.1, gt=0.0, le=1.0)


class ExponentialScheduleSpec(StrictModel):
    """Multiply the learning rate by ``gamma`` after every epoch."""

    type: Literal["exponential"] = "exponential"
    gamma: float = Field(default=0.95, gt=0.0, le=1.0)


class CosineScheduleSpec(StrictModel):
    """Cosine annealing from the optimizer's rate to ``min_lr`` over the run, per step."""

    type: Literal["cosine"] = "cosine"
    min_lr: float = Field(default=0.0, ge=0.0)


class OneCycleScheduleSpec(StrictModel):
    """One-cycle policy (Smith, 2018): warm up to ``max_lr``, then anneal, per step."""

    type: Literal["onecycle"] = "onecycle"
    max_lr: float | None = Field(default=None, gt=0.0, description="Default: optimizer's lr.")
    pct_start: float = Field(default=0.3, gt=0.0, lt=1.0)


SCHEDULE_SPECS: dict[str, type[StrictModel]] = {
    "constant": ConstantScheduleSpec,
    "step": StepScheduleSpec,
    "exponential": ExponentialScheduleSpec,
    "cosine": CosineScheduleSpec,
    "onecycle": OneCycleScheduleSpec,
}
ScheduleSpec = _typed_union(SCHEDULE_SPECS, default="constant", what="schedule")


class LossSpec(StrictModel):
    """The training objective; the name must fit the task (see ``athanor.train.losses``)."""

    type: Literal["auto", "cross_entropy", "mse", "mae", "huber"] = "auto"
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    delta: float = Field(default=1.0, gt=0.0, description="Huber threshold.")
    shorthand = "type"


METRIC_NAMES = ("accuracy", "mse", "rmse", "mae", "r2")


class EarlyStoppingSpec(StrictModel):
    """Stop when the monitored validation metric stops improving."""

    monitor: str = Field(default="val_loss", description="val_loss or val_<metric>.")
    mode: Literal["auto", "min", "max"] = "auto"
    patience: int = Field(default=3, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    restore_best: bool = Field(default=True, description="End with the best epoch's weights.")

    @field_validator("monitor")
    @classmethod
    def _check_monitor(cls, monitor: str) -> str:
        names = {"loss", *METRIC_NAMES}
        prefix, _, metric = monitor.partition("_")
        if prefix not in ("val", "train") or metric not in names:
            valid = ", ".join(f"val_{name}" for name in sorted(names))
            raise PydanticCustomError("bad_monitor", "must be one of {valid}", {"valid": valid})
        return monitor


class ClipGradSpec(StrictModel):
    """Gradient clipping: by global norm or by value (one of the two)."""

    norm: float | None = Field(default=None, gt=0.0)
    value: float | None = Field(default=None, gt=0.0)

    @model_validator(mode="after")
    def _check(self) -> ClipGradSpec:
        if (self.norm is None) == (self.value is None):
            raise PydanticCustomError("bad_clip", "give exactly one of 'norm' or 'value'", {})
        return self


class TrainSpec(StrictModel):
    """How the network is trained."""

    epochs: int = Field(default=10, ge=1, le=100_000)
    batch_size: int = Field(default=64, ge=1)
    eval_batch_size: int = Field(default=1024, ge=1, description="Batch size to evaluate.")
    optimizer: OptimizerSpec = Field(default_factory=lambda: AdamSpec())
    schedule: ScheduleSpec = Field(default_factory=lambda: ConstantScheduleSpec())
    loss: LossSpec = Field(default_factory=LossSpec)
    metrics: list[Literal[METRIC_NAMES]] | None = Field(  # type: ignore[valid-type]
        default=None, description="Default: accuracy for classification, rmse/mae/r2 otherwise."
    )
    early_stopping: EarlyStoppingSpec | None = None
    clip_grad: ClipGradSpec | None = None
    device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
        description="auto picks cuda, then mps, then cpu.",
    )

"""Transfer-learning presets (``train.transfer``): feature extraction and fine-tuning."""

from __future__ import annotations

from torch import nn

from athanor.errors import UserError
from athanor.spec.train import ParamGroupSpec, TrainSpec, TransferSpec
from athanor.training.parameters import matches


def with_transfer_groups(spec: TrainSpec) -> TrainSpec:
    """``spec`` with the optimizer groups its ``fine_tune`` preset implies.

    The head keeps the optimizer's rate, every other parameter gets ``backbone_lr`` times it;
    the user's own ``param_groups`` come first, so they still win where they match.
    """
    transfer = spec.transfer
    if transfer is None or transfer.preset != "fine_tune":
        return spec
    optimizer = spec.optimizer
    groups = [
        *optimizer.param_groups,
        ParamGroupSpec(params=transfer.head),
        ParamGroupSpec(params="*", lr=optimizer.lr * transfer.backbone_lr),
    ]
    return spec.model_copy(
        update={"optimizer": optimizer.model_copy(update={"param_groups": groups})}
    )


def apply_transfer(module: nn.Module, transfer: TransferSpec | None) -> list[str]:
    """Freeze what ``transfer``'s preset keeps fixed; returns the frozen parameter names.

    With ``features``, batch normalization layers whose parameters are all frozen stay in
    eval mode even while the rest trains: their running statistics are the pretrained ones,
    which a new, often small, dataset must not overwrite.

    Raises:
        UserError: the head glob matches no parameter.
    """
    if transfer is None:
        return []
    names = [name for name, _ in module.named_parameters()]
    if not any(matches(name, transfer.head) for name in names):
        raise UserError(
            f"train.transfer.head: '{transfer.head}' matches no parameter; parameters end "
            f"with: {', '.join(names[-4:])}"
        )
    if transfer.preset != "features":
        return []
    frozen = [name for name in names if not matches(name, transfer.head)]
    for name, parameter in module.named_parameters():
        if name in frozen:
            parameter.requires_grad_(False)
    for norm in module.modules():
        if _is_frozen_norm(norm) and not getattr(norm, "_athanor_kept_in_eval", False):
            norm.register_forward_pre_hook(_keep_in_eval)
            norm._athanor_kept_in_eval = True  # type: ignore[assignment]
    return frozen


def _is_frozen_norm(module: nn.Module) -> bool:
    parameters = list(module.parameters(recurse=False))
    return isinstance(module, nn.modules.batchnorm._BatchNorm) and not any(
        p.requires_grad for p in parameters
    )


def _keep_in_eval(module: nn.Module, _inputs: object) -> None:
    # A pre-hook rather than an overridden train(): the trainer and evaluation switch modes
    # freely, and this holds whatever they do, without a special network class.
    module.eval()

"""Transfer-learning presets (``train.transfer``): feature extraction, fine-tuning and
gradual unfreezing."""

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
    if transfer is None or transfer.preset == "features":
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
    if transfer.preset == "fine_tune":
        return []
    _keep_frozen_norms_in_eval(module)
    if transfer.preset == "gradual":
        return []  # frozen by :class:`GradualUnfreezing` once the optimizer holds every group
    frozen = [name for name in names if not matches(name, transfer.head)]
    for name, parameter in module.named_parameters():
        if name in frozen:
            parameter.requires_grad_(False)
    return frozen


class GradualUnfreezing:
    """The ``gradual`` preset: the head first, then one more layer (from the output end down)
    every ``unfreeze_every`` epochs.

    The optimizer is built over every parameter beforehand (a frozen one has no gradient, so
    the optimizer skips it), so thawing needs no new optimizer and resumes exactly: what is
    frozen depends on the epoch alone.
    """

    def __init__(self, module: nn.Module, transfer: TransferSpec) -> None:
        self.every = transfer.unfreeze_every
        named = [(n, m) for n, m in module.named_children() if any(True for _ in m.parameters())]
        head = [
            m
            for n, m in named
            if any(matches(f"{n}.{p}", transfer.head) for p, _ in m.named_parameters())
        ]
        rest = [m for _, m in reversed(named) if not any(m is h for h in head)]
        self.stages: list[list[nn.Module]] = [head, *([m] for m in rest)]
        # train.freeze stays in force: those parameters are never thawed
        self.kept_frozen = {id(p) for p in module.parameters() if not p.requires_grad}

    def apply(self, epoch: int) -> int:
        """Freeze and thaw for ``epoch`` (0-based); returns how many stages learn."""
        thawed = min(len(self.stages), 1 + epoch // self.every)
        for index, stage in enumerate(self.stages):
            for part in stage:
                for parameter in part.parameters():
                    if id(parameter) not in self.kept_frozen:
                        parameter.requires_grad_(index < thawed)
        return thawed


def _keep_frozen_norms_in_eval(module: nn.Module) -> None:
    """Batch normalization layers whose parameters are frozen normalize with their running
    statistics and leave them as they are, even while the rest of the network trains."""
    for norm in module.modules():
        if isinstance(norm, nn.modules.batchnorm._BatchNorm) and not hasattr(norm, "_athanor_mode"):
            norm._athanor_mode = norm.training  # type: ignore[assignment]
            norm.register_forward_pre_hook(_frozen_norm_in_eval)
            norm.register_forward_hook(_restore_mode)


def _frozen_norm_in_eval(module: nn.Module, _inputs: object) -> None:
    # Hooks rather than an overridden train(): the trainer and evaluation switch modes freely,
    # and this holds whatever they do, without a special network class. The frozen state is
    # read at each call because gradual unfreezing thaws layers during training.
    module._athanor_mode = module.training  # type: ignore[assignment]
    if not any(p.requires_grad for p in module.parameters(recurse=False)):
        module.training = False


def _restore_mode(module: nn.Module, _inputs: object, _output: object) -> None:
    module.training = module._athanor_mode  # type: ignore[assignment]

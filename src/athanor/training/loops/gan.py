"""Adversarial training of a generator against a discriminator (Goodfellow et al., 2014).

The model has ``generator`` (noise ``[B, latent_dim]`` -> samples), ``discriminator``
(samples -> one logit each) and ``latent_dim``. Each batch of real samples makes one
discriminator step; every ``train.gan.d_steps`` batches the generator takes one step with
the non-saturating loss -log D(G(z)) (Goodfellow's practical variant, as in DCGAN). Logged
per epoch: ``train_d_loss``, ``train_g_loss``, ``train_d_real`` (mean D(x)) and
``train_d_fake`` (mean D(G(z))). Noise comes from the global torch generator, so runs are
reproducible and resume exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn import functional

from athanor.data.batching import BatchSource
from athanor.data.prepare import Prepared
from athanor.errors import UserError
from athanor.training.loops.base import Loop
from athanor.training.loops.supervised import to_device
from athanor.training.optimizers import build_optimizer
from athanor.training.schedules import Schedule, build_schedule

if TYPE_CHECKING:
    from athanor.training.state import TrainState
    from athanor.training.trainer import Trainer

_SUMS = ("d_loss", "g_loss", "d_real", "d_fake")


class GanLoop(Loop):
    """k discriminator steps : 1 generator step, non-saturating generator loss."""

    def setup(
        self,
        trainer: Trainer,
        module: nn.Module,
        forward: nn.Module,
        prepared: Prepared,
        batches: BatchSource,
    ) -> int:
        spec = trainer.spec
        missing = [
            a for a in ("generator", "discriminator", "latent_dim") if not hasattr(module, a)
        ]
        if missing:
            raise UserError(
                "model: generation needs a network with a generator and a discriminator "
                f"(template: dcgan); this one has no {', '.join(missing)}"
            )
        if spec.precision == "fp16":
            raise UserError("train.precision: fp16 is not supported for GANs; use bf16 or fp32")
        self.trainer = trainer
        self.module = module
        self.generator = module.generator
        self.discriminator = module.discriminator
        self.latent_dim = int(module.latent_dim)
        self.device = trainer.device
        self.optimizer = build_optimizer(spec.optimizer, self.generator)
        self.d_optimizer = build_optimizer(
            spec.optimizer, self.discriminator, lr=spec.gan.discriminator_lr
        )
        steps = len(batches)
        # each optimizer is scheduled from its own rates (the discriminator's may differ)
        self.schedules: list[Schedule] = [
            schedule
            for optimizer in (self.optimizer, self.d_optimizer)
            if (schedule := build_schedule(spec.schedule, optimizer, steps, spec.epochs))
            is not None
        ]
        if any(schedule.interval != "step" for schedule in self.schedules):
            raise UserError("train.schedule: plateau needs validation, which GANs do not have")
        self.sums = torch.zeros(len(_SUMS), dtype=torch.float64, device=self.device)
        self.counts = [0, 0]  # samples seen by discriminator steps, by generator steps
        return steps

    def monitors(self) -> list[str]:
        return ["loss", *_SUMS]

    def start_epoch(self) -> None:
        self.sums.zero_()
        self.counts = [0, 0]

    def run(
        self, trainer: Trainer, state: TrainState, batches: BatchSource, epoch: int, start: int
    ) -> None:
        spec = trainer.spec
        generator, discriminator = self.generator, self.discriminator
        d_opt, g_opt = self.d_optimizer, self.optimizer
        d_steps, real_label = spec.gan.d_steps, spec.gan.real_label
        clip = spec.clip_grad
        guard = trainer.nan_guard
        autocast = trainer.autocast
        calls = trainer.callbacks
        on_batch_start = calls.has("on_batch_start")
        for index, (real, _labels) in enumerate(batches.epoch(epoch, start), start=start):
            state.batch = index
            if on_batch_start:
                calls.call("on_batch_start", trainer, state)
            size = real.shape[0]
            noise = torch.randn(size, self.latent_dim, device=real.device)
            with autocast():
                fake = generator(noise)
                real_logits = discriminator(real).reshape(-1).float()
                fake_logits = discriminator(fake.detach()).reshape(-1).float()
                d_loss = functional.binary_cross_entropy_with_logits(
                    real_logits, torch.full_like(real_logits, real_label)
                ) + functional.binary_cross_entropy_with_logits(
                    fake_logits, torch.zeros_like(fake_logits)
                )
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            _clip(discriminator, clip)
            d_opt.step()
            with torch.no_grad():
                batch_sums = torch.stack(
                    [
                        d_loss.detach().double() * size,
                        torch.zeros((), dtype=torch.float64, device=real.device),
                        torch.sigmoid(real_logits).sum().double(),
                        torch.sigmoid(fake_logits).sum().double(),
                    ]
                )
            self.counts[0] += size
            if (index + 1) % d_steps == 0:
                with autocast():
                    g_logits = discriminator(fake).reshape(-1).float()
                    # Non-saturating: maximize log D(G(z)) instead of minimizing log(1 - D(G(z))).
                    g_loss = functional.binary_cross_entropy_with_logits(
                        g_logits, torch.ones_like(g_logits)
                    )
                g_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                _clip(generator, clip)
                g_opt.step()
                batch_sums[1] = g_loss.detach().double() * size
                self.counts[1] += size
                if guard is not None:
                    guard.add(g_loss.detach(), state.step + 1, state)
            self.sums += batch_sums
            for schedule in self.schedules:
                schedule.scheduler.step()
            state.samples_seen += size
            if guard is not None:
                guard.add(d_loss.detach(), state.step + 1, state)
            if trainer.after_step(state, index):
                return
            calls.call("on_batch_end", trainer, state, d_loss.detach())

    def epoch_results(self) -> dict[str, Any]:
        d_loss, g_loss, d_real, d_fake = self.sums.tolist()
        seen_d, seen_g = max(self.counts[0], 1), max(self.counts[1], 1)
        results = {
            "train_d_loss": d_loss / seen_d,
            "train_g_loss": g_loss / seen_g,
            "train_d_real": d_real / seen_d,
            "train_d_fake": d_fake / seen_d,
        }
        results["train_loss"] = results["train_d_loss"] + results["train_g_loss"]
        return results

    def validate(self, batches: BatchSource) -> dict[str, Any]:
        return {}

    def test(self, prepared: Prepared) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {
            "g_optimizer": self.optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "schedules": [schedule.state_dict() for schedule in self.schedules],
            "sums": self.sums,
            "counts": list(self.counts),
        }

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        for schedule, saved in zip(self.schedules, state["schedules"], strict=True):
            schedule.load_state_dict(saved)
        self.sums = to_device(state["sums"], device).clone()
        self.counts = list(state["counts"])


def _clip(module: nn.Module, clip: Any) -> None:
    if clip is None:
        return
    parameters = [p for p in module.parameters() if p.grad is not None]
    if clip.norm is not None:
        torch.nn.utils.clip_grad_norm_(parameters, clip.norm)
    else:
        torch.nn.utils.clip_grad_value_(parameters, clip.value)

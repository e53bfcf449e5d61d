"""Sample text from a language model after each epoch."""

from __future__ import annotations

import torch
from rich.console import Console
from rich.markup import escape

from athanor.data.text import PAD, UNK
from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


class TextSamples(Callback):
    """Every ``every`` epochs, generate ``length`` tokens after ``prefix`` with the model's
    ``sample(prefix, length, temperature, generator)`` (the ``char_rnn`` template), decode
    them with the vocabulary, print them and keep them in the run's reports.

    Sampling uses its own seeded generator, so the training random stream is untouched.
    """

    def __init__(
        self,
        vocab: list[str],
        *,
        prefix: str = "\n",
        length: int = 300,
        temperature: float = 0.8,
        every: int = 1,
        seed: int = 0,
        console: Console | None = None,
        joiner: str = "",
    ) -> None:
        self.vocab = vocab
        self.index = {token: i for i, token in enumerate(vocab)}
        # Padding and unknown-token markers are not text: a sample never shows them.
        self.banned = [i for i, token in enumerate(vocab) if token in (PAD, UNK)]
        self.prefix = prefix
        self.length = length
        self.temperature = temperature
        self.every = every
        self.seed = seed
        self.console = console
        self.joiner = joiner
        self.samples: list[str] = []

    def encode(self, text: str) -> list[int]:
        units = list(text) if self.joiner == "" else text.split(self.joiner)
        return [self.index[unit] for unit in units if unit in self.index]

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        epoch = state.epoch + 1
        if not self.every or epoch % self.every:
            return
        module = trainer.module
        prefix = torch.tensor(self.encode(self.prefix) or [0], dtype=torch.long)
        generator = torch.Generator(device=trainer.device).manual_seed(self.seed + epoch)
        was_training = module.training
        module.eval()
        with torch.no_grad():
            tokens = module.sample(
                prefix.to(trainer.device),
                self.length,
                self.temperature,
                generator,
                banned=self.banned,
            )
        module.train(was_training)
        text = self.joiner.join(self.vocab[int(i)] for i in tokens.tolist())
        self.samples.append(text)
        state.reports["text_samples"] = self.samples[-5:]
        if self.console is not None:
            self.console.print(
                f"[dim]sample after epoch {epoch} (temperature {self.temperature}):[/dim]\n"
                + escape(self.prefix + text)
            )

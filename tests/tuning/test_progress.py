"""The search's ETA: remaining trials at the mean trial time, bounded by the budget."""

from __future__ import annotations

import io

from rich.console import Console

from athanor.tuning.progress import SearchProgress, estimate_eta
from athanor.tuning.trials import TrialOutcome


def test_eta_uses_finished_trials_slots_and_the_deadline() -> None:
    assert estimate_eta(10, [], 1, None, now=0.0) is None
    assert estimate_eta(10, [], 1, 50.0, now=20.0) == 30.0
    assert estimate_eta(10, [2.0, 4.0], 1, None, now=0.0) == 30.0
    assert estimate_eta(10, [2.0, 4.0], 2, None, now=0.0) == 15.0
    assert estimate_eta(10, [2.0, 4.0], 2, 100.0, now=95.0) == 5.0


def test_a_line_per_trial_with_its_outcome() -> None:
    out = io.StringIO()
    progress = SearchProgress(Console(file=out, width=200, highlight=False))
    progress.start("search 1", done=0, target=3, slots=1, metric="val_loss", deadline=None)
    progress.trial_done(
        TrialOutcome(
            0,
            1,
            "pruned",
            0.71,
            5,
            "pruned by asha at epoch 1",
            1,
            0.4,
            params={"train.optimizer.lr": 0.01},
        ),
        done=1,
        best=None,
    )
    progress.stop()
    line = out.getvalue()
    assert (
        "trial 0  pruned  val_loss 0.7100  1 ep  0.4s  lr=0.01  pruned by asha at epoch 1" in line
    )
    assert progress.eta() == 0.8  # two trials left at 0.4 s

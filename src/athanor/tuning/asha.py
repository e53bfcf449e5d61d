"""ASHA whose first rung waits for a quorum before it judges anyone.

Optuna's successive halving, run one trial after another, judges a trial the moment it
reaches a rung. The first trials then have nobody to rank against: each goes on while it
is the best so far, so the first one always trains to the end and the next ones mostly
do, whatever their promise. Here a trial that reaches the first rung before ``quorum``
trials have is *held* instead: it stops there (with its checkpoint, as a pruned trial
would) and the search keeps its Optuna trial open. Once ``quorum`` trials have reached
the first rung, each held trial that ranks in the top ``1/r`` of them goes on from where
it stopped, and the rest are pruned (:func:`judge_held`). Later rungs judge as Optuna does.
"""

from __future__ import annotations

import math
from typing import Any

from optuna.pruners import SuccessiveHalvingPruner
from optuna.study import StudyDirection
from optuna.trial import TrialState

FIRST_RUNG_KEY = "completed_rung_0"
"""Where Optuna's successive halving keeps a trial's value at its first rung."""


class AshaPruner(SuccessiveHalvingPruner):
    """Optuna's successive halving, whose first rung holds trials until ``quorum`` trials
    have reached it; :attr:`held` names the trials whose last judgement here held them."""

    def __init__(
        self,
        *,
        min_resource: int,
        reduction_factor: int,
        min_early_stopping_rate: int,
        quorum: int,
    ) -> None:
        super().__init__(
            min_resource=min_resource,
            reduction_factor=reduction_factor,
            min_early_stopping_rate=min_early_stopping_rate,
        )
        self.quorum = quorum
        self.reduction_factor = reduction_factor
        self.first_rung = min_resource * reduction_factor**min_early_stopping_rate
        self.held: set[int] = set()

    def judges_at(self, step: int) -> bool:
        """Whether ``step`` is a rung: at any other epoch the answer is "go on", and asking
        would cost a read of the trial from the database."""
        rung = self.first_rung
        while rung < step:
            rung *= self.reduction_factor
        return rung == step

    def prune(self, study: Any, trial: Any) -> bool:
        self.held.discard(trial._trial_id)  # it says what this very call decided
        step = trial.last_step
        if (
            self.quorum > 1
            and step is not None
            and step >= self.first_rung
            and FIRST_RUNG_KEY not in trial.system_attrs
        ):
            value = trial.intermediate_values[step]
            if math.isfinite(value):  # a NaN is pruned at once, below
                reached = first_rung_values(study.get_trials(deepcopy=False))
                if len(reached) + 1 < self.quorum:
                    study._storage.set_trial_system_attr(trial._trial_id, FIRST_RUNG_KEY, value)
                    self.held.add(trial._trial_id)
                    return True
        return super().prune(study, trial)


def first_rung_values(trials: list[Any]) -> list[float]:
    """The values at which ``trials`` reached the first rung (held ones included; not failed
    ones, whose queued copies carry their values)."""
    return [
        t.system_attrs[FIRST_RUNG_KEY]
        for t in trials
        if FIRST_RUNG_KEY in t.system_attrs and t.state != TrialState.FAIL
    ]


def judge_held(
    value: float, reached: list[float], reduction_factor: int, direction: StudyDirection
) -> bool:
    """Whether a held trial with ``value`` at the first rung goes on: it ranks in the top
    ``1/r`` of ``reached`` (all values at that rung, its own included; the best one at
    least)."""
    keep = max(len(reached) // reduction_factor, 1)
    ranked = sorted(reached, reverse=direction == StudyDirection.MAXIMIZE)
    cutoff = ranked[keep - 1]
    return value >= cutoff if direction == StudyDirection.MAXIMIZE else value <= cutoff

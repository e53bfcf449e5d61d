"""Optimizers race with torch.optim's own steps: their paths start together and end where
each optimizer's rule takes them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from athanor.errors import UserError
from athanor.lab.optimizer_race import Racer, RaceSettings, race


def test_race_on_rosenbrock() -> None:
    answer = race(RaceSettings(surface="rosenbrock", steps=60))
    racers = {racer["optimizer"]: racer for racer in answer["racers"]}
    assert set(racers) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    assert all(racer["path"][0] == [-1.5, 2.5] for racer in racers.values())
    assert all(len(racer["path"]) == 61 == len(racer["losses"]) for racer in racers.values())
    # momentum goes further down the valley than plain SGD at the same rate
    assert racers["momentum"]["losses"][-1] < racers["sgd"]["losses"][-1]
    assert len(answer["grid"]) == 80 and len(answer["grid"][0]) == 80


def test_adaptive_optimizers_leave_the_saddle() -> None:
    answer = race(
        RaceSettings(
            surface="saddle",
            steps=100,
            racers=[Racer(optimizer="sgd", lr=0.01), Racer(optimizer="adam", lr=0.05)],
        )
    )
    sgd, adam = answer["racers"]
    assert abs(sgd["path"][-1][1]) < 0.2  # still near the saddle's ridge
    assert adam["path"][-1][1] == pytest.approx(2**0.5, abs=0.05)


def test_limits_are_named() -> None:
    with pytest.raises(UserError, match=r"start: \(5, 0\) is outside the saddle plot"):
        race(RaceSettings(surface="saddle", start=(5, 0)))
    with pytest.raises(ValidationError, match="steps"):
        RaceSettings(steps=301)
    with pytest.raises(ValidationError, match="lr"):
        Racer(optimizer="adam", lr=0)

"""Search spaces as Optuna distributions, and values back as spec values."""

from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from athanor.spec.tune import load_search
from athanor.tuning import space


def test_each_marker_becomes_its_distribution_and_choices_round_trip() -> None:
    search = load_search(
        {
            "data": "iris",
            "model": {
                "choice": [{"template": "mlp", "hidden": [8]}, {"template": "mlp", "hidden": [4]}]
            },
            "train": {
                "epochs": {"int": [2, 10, 2]},
                "batch_size": {"logint": [8, 64]},
                "optimizer": {
                    "lr": {"loguniform": [1e-4, 1e-1]},
                    "weight_decay": {"uniform": [0, 0.1]},
                },
                "loss": {"choice": ["cross_entropy", "nll"]},
            },
        }
    )
    dists = space.distributions(search.params)
    assert dists["train.epochs"] == IntDistribution(2, 10, step=2)
    assert dists["train.batch_size"] == IntDistribution(8, 64, log=True)
    assert dists["train.optimizer.lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["train.optimizer.weight_decay"] == FloatDistribution(0, 0.1)
    assert dists["train.loss"] == CategoricalDistribution(["cross_entropy", "nll"])
    assert isinstance(dists["model"], CategoricalDistribution)  # JSON text of each model
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(12):
        trial = study.ask(dists)
        values = space.decode(search.params, trial.params)
        spec = search.concrete(values)  # every drawn point is a valid run spec
        assert spec.model.hidden in ([8], [4]) and 2 <= spec.train.epochs <= 10
        seen.add(tuple(values["model"]["hidden"]))
        study.tell(trial, 0.0)
    assert seen == {(8,), (4,)}
    grid = space.grid([p for p in search.params if p.grid() is not None])
    assert grid["train.epochs"] == [2, 4, 6, 8, 10] and len(grid["model"]) == 2


def test_short_texts_for_tables() -> None:
    assert space.short(0.000123456) == "0.0001235"
    assert space.short({"template": "lstm_forecaster", "units": 32}) == "lstm_forecaster units=32"
    assert space.short({"layers": ["flatten", {"dense": 8}]}) == "2 layers"
    assert space.short(list(range(40)), 12) == "[0,1,2,3,..."

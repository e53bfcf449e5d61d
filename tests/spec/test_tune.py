"""Search specs: markers are found with their lines, and bad spaces fail before any trial."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.errors import SpecError
from athanor.spec.tune import (
    SearchDefinition,
    grid_size,
    load_search,
    parse_duration,
)

SPEC = """\
name: iris-search
data: {dataset: iris, split: {val: 0.2, test: 0.2}}
model:
  template: mlp
  hidden: {choice: [[16], [32, 16]]}
  dropout: {uniform: [0.0, 0.3]}
train:
  epochs: 6
  batch_size: {logint: [8, 64]}
  optimizer: {type: adam, lr: {loguniform: [1.0e-4, 1.0e-1]}}
register_as: iris-best
tune:
  metric: val_accuracy
  trials: 4
  pruner: {type: median, startup_trials: 2}
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "search.yaml"
    path.write_text(SPEC)
    return path


def test_markers_are_found_with_their_key_paths_and_lines(spec_file: Path) -> None:
    search = load_search(spec_file)
    found = [(p.name, p.kind, p.line) for p in search.params]
    assert found == [
        ("model.hidden", "choice", 5),
        ("model.dropout", "uniform", 6),
        ("train.batch_size", "logint", 9),
        ("train.optimizer.lr", "loguniform", 10),
    ]
    assert search.tune.metric == "val_accuracy" and search.tune.trials == 4
    assert search.tune.pruner.type == "median" and search.tune.pruner.startup_trials == 2
    assert search.tune.sampler.type == "tpe" and "tune" not in search.base
    run = search.concrete(
        {
            "model.hidden": [32, 16],
            "model.dropout": 0.1,
            "train.batch_size": 16,
            "train.optimizer.lr": 0.01,
        },
        name="iris-search-t3",
    )
    assert run.model.hidden == [32, 16] and run.train.batch_size == 16
    assert run.train.optimizer.lr == 0.01 and run.name == "iris-search-t3"
    assert run.register_as is None  # trials never register; the search may register its best


def test_every_bound_and_choice_is_checked_before_any_trial(spec_file: Path) -> None:
    with pytest.raises(SpecError) as error:
        load_search(spec_file, ["model.dropout={uniform: [0.5, 1.5]}"])
    assert str(error.value) == (
        "--set model.dropout={uniform: [0.5, 1.5]}: model.dropout = 1.5 (uniform [0.5, 1.5]): "
        "model.dropout: must be less than 1 (got 1.5)"
    )
    spec_file.write_text(SPEC.replace("[[16], [32, 16]]", "[[16], [0]]"))
    with pytest.raises(SpecError, match=rf"^{spec_file}:5: model.hidden = \[0\] \(choice of 2\): "):
        load_search(spec_file)
    spec_file.write_text(SPEC.replace("1.0e-4, 1.0e-1", "0, 1.0e-1"))
    with pytest.raises(SpecError) as error:
        load_search(spec_file)
    assert str(error.value) == (
        f"{spec_file}:10: train.optimizer.lr: loguniform: must be greater than 0 (got 0)"
    )
    spec_file.write_text(
        SPEC.replace("dropout: {uniform: [0.0, 0.3]}", "dropout: {uniform: [0.3]}")
    )
    with pytest.raises(SpecError, match="model.dropout: uniform: give \\[low, high\\]"):
        load_search(spec_file)
    spec_file.write_text(SPEC.replace("epochs: 6", "epohcs: 6"))
    with pytest.raises(SpecError, match=rf"{spec_file}:8: train.epohcs: unknown key"):
        load_search(spec_file)


@pytest.mark.parametrize(
    ("tune", "message"),
    [
        ({"pruner": "asah"}, "--pruner asah: tune.pruner: unknown pruner 'asah' (did you mean"),
        ({"sampler": "tp"}, "--sampler tp: tune.sampler: unknown sampler 'tp'"),
        ({"metric": "accuracy"}, "--metric accuracy: tune.metric: must be one of val_loss"),
        ({"budget": "soon"}, "--budget soon: tune.budget: must be a positive duration"),
        ({"trials": 0}, "--trials 0: tune.trials: must be greater than or equal to 1"),
        ({"stop_at": "high"}, "--stop-at high: tune.stop_at: must be a valid number"),
        ({"stop_at": float("nan")}, "--stop-at nan: tune.stop_at: must be a finite number"),
        (
            {"pruner": {"type": "asha", "quorum": 0}},
            "--pruner {'type': 'asha', 'quorum': 0}: tune.pruner.quorum: must be greater than "
            "or equal to 1",
        ),
    ],
)
def test_tune_options_fail_with_their_name(spec_file: Path, tune: dict, message: str) -> None:
    with pytest.raises(SpecError) as error:
        load_search(spec_file, tune=tune)
    assert str(error.value).startswith(message)


def test_durations() -> None:
    assert [parse_duration(v) for v in ("10m", "90s", "1h30m", "2.5m", 600, "45")] == [
        600.0,
        90.0,
        5400.0,
        150.0,
        600.0,
        45.0,
    ]
    for bad in ("", "ten minutes", -5, "0s", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_grid_needs_finite_values_and_counts_combinations(spec_file: Path) -> None:
    with pytest.raises(SpecError, match=r":6: model.dropout: the grid sampler needs choice or int"):
        load_search(spec_file, tune={"sampler": "grid"})
    search = load_search(
        spec_file,
        [
            "model.dropout={uniform: [0.0, 0.2, 0.1]}",
            "train.batch_size={int: [8, 32, 8]}",
            "train.optimizer.lr={choice: [0.01, 0.001]}",
        ],
        tune={"sampler": "grid"},
    )
    assert [p.grid() for p in search.params][1:] == [
        [0.0, 0.1, 0.2],
        [8, 16, 24, 32],
        [0.01, 0.001],
    ]
    assert grid_size(search.params) == 2 * 3 * 4 * 2


def test_choices_of_whole_sections_but_no_nested_markers(spec_file: Path) -> None:
    with pytest.raises(SpecError) as error:
        load_search(spec_file, ["model={choice: [{template: mlp}, {template: mlp, hiden: [8]}]}"])
    assert str(error.value).startswith(
        "--set model={choice: [{template: mlp}, {template: mlp, hiden: [8]}]}: "
        'model = {"template": "mlp", "hiden": [8]} (choice of 2): model.hiden: unknown key'
    )
    search = load_search(
        spec_file,
        ["model={choice: [{template: mlp, hidden: [8]}, {template: mlp, batchnorm: true}]}"],
    )
    assert search.params[0].name == "model" and search.params[0].kind == "choice"
    with pytest.raises(SpecError, match="a choice cannot hold search markers"):
        load_search(spec_file, ["model={choice: [{template: mlp, dropout: {uniform: [0, 1]}}]}"])


def test_a_spec_without_markers_is_not_a_search(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text("data: iris\nmodel: {template: mlp}\n")
    with pytest.raises(SpecError, match="nothing to search: mark values with"):
        load_search(path)


def test_fingerprint_ignores_how_long_and_how_wide_a_search_runs(spec_file: Path) -> None:
    first = load_search(spec_file)
    longer = load_search(
        spec_file, tune={"trials": 50, "budget": "1h", "parallel": 2, "stop_at": 0.9}
    )
    other = load_search(spec_file, ["train.epochs=7"])
    assert first.fingerprint() == longer.fingerprint() != other.fingerprint()
    stored = SearchDefinition.from_json(first.to_json())
    assert [p.name for p in stored.params] == [p.name for p in first.params]
    assert stored.fingerprint() == first.fingerprint()


def test_the_bundled_search_example_is_valid() -> None:
    from athanor.spec.examples import resolve_spec_path

    search = load_search(resolve_spec_path("housing-tune"))
    assert search.tune.metric == "val_rmse" and search.tune.budget == 600.0
    assert [p.name for p in search.params] == [
        "model.hidden",
        "model.dropout",
        "train.batch_size",
        "train.optimizer.lr",
        "train.optimizer.weight_decay",
    ]

"""Spec loading: defaults, shorthands, overrides, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.errors import SpecError
from athanor.spec import load_spec
from athanor.spec.examples import EXAMPLES_DIR, list_examples, resolve_spec_path
from athanor.spec.layers import Conv2dSpec, DenseSpec, FlattenSpec, MaxPoolSpec
from athanor.spec.model import LayerStackSpec, LeNet5Spec

EXAMPLE = EXAMPLES_DIR / "mnist-cnn.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def error_of(source, overrides=None) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(source, overrides)
    return str(caught.value)


def test_example_loads_with_every_default_filled() -> None:
    spec = load_spec(EXAMPLE)
    assert spec.name == "mnist-cnn"
    assert isinstance(spec.model, LayerStackSpec)
    kinds = [type(layer) for layer in spec.model.layers]
    assert kinds == [Conv2dSpec, MaxPoolSpec, Conv2dSpec, MaxPoolSpec, FlattenSpec, DenseSpec]
    assert spec.model.layers[1].size == 2  # "- maxpool: 2"
    assert spec.model.layers[0].activation.type == "relu"
    assert spec.train.optimizer.type == "adam" and spec.train.optimizer.lr == 0.002
    assert spec.train.eval_batch_size == 1024  # default
    # The stored form round-trips to the same spec.
    assert load_spec(spec.model_dump(mode="json")) == spec


def test_bundled_examples_resolve_by_name(tmp_path: Path) -> None:
    assert "mnist-cnn" in list_examples()
    assert resolve_spec_path("mnist-cnn") == EXAMPLE
    assert resolve_spec_path(tmp_path / "x.yaml") == tmp_path / "x.yaml"


def test_overrides_in_cli_form_and_mapping_form() -> None:
    spec = load_spec(EXAMPLE, ["train.epochs=7", "train.optimizer.lr=0.1", "data.split.val=0.2"])
    assert (spec.train.epochs, spec.train.optimizer.lr, spec.data.split.val) == (7, 0.1, 0.2)
    spec = load_spec(EXAMPLE, {"train.optimizer": "sgd", "train.optimizer.momentum": 0.9})
    assert spec.train.optimizer.type == "sgd" and spec.train.optimizer.momentum == 0.9


def test_overrides_reach_into_layer_shorthands() -> None:
    spec = load_spec(
        EXAMPLE,
        [
            "model.layers.1.maxpool.size=3",
            "model.layers.4.flatten.name=flat",
            "model.layers.0.conv2d.filters=8",
        ],
    )
    assert spec.model.layers[1].size == 3
    assert spec.model.layers[4].name == "flat"
    assert spec.model.layers[0].filters == 8


def test_negative_learning_rate_override_names_the_key() -> None:
    message = error_of(EXAMPLE, ["train.optimizer.lr=-1"])
    assert message == (
        "--set train.optimizer.lr=-1: train.optimizer.lr: must be greater than 0 (got -1)"
    )


def test_misspelt_key_names_file_line_path_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "data: {dataset: mnist}\nmodel: {template: mlp}\ntrain:\n  epohcs: 3\n")
    message = error_of(path)
    assert message.startswith(f"{path}:4: train.epohcs: unknown key (did you mean 'epochs'?)")
    assert "\n" not in message


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data: mnist\n"
        "model:\n"
        "  layers:\n"
        "    - conv2d: {filters: 6, kernal: 5}\n"
        "    - maxpol: 2\n"
        "    - dense: {units: -3, activation: rellu}\n",
    )
    lines = error_of(path).splitlines()
    assert lines[0].startswith(f"{path}:4: model.layers[0].conv2d.kernal: unknown key")
    assert lines[1].startswith(f"{path}:5: model.layers[1]: unknown layer type 'maxpol'")
    assert "did you mean 'maxpool'" in lines[1]
    text = "\n".join(lines)
    assert "model.layers[2].dense.activation: unknown activation 'rellu'" in text
    assert "model.layers[2].dense.units: must be greater than or equal to 1" in text


def test_template_errors_drop_the_union_tag() -> None:
    assert error_of({"data": "mnist", "model": {"template": "mlp", "hiden": [3]}}).startswith(
        "spec: model.hiden: unknown key (did you mean 'hidden'?)"
    )
    assert "unknown template 'lenet6' (did you mean 'lenet5'?)" in error_of(
        {"data": "mnist", "model": {"template": "lenet6"}}
    )
    assert isinstance(
        load_spec({"data": "mnist", "model": {"template": "lenet5"}}).model, LeNet5Spec
    )


def test_cross_field_rules() -> None:
    assert "train.optimizer: nesterov needs momentum > 0" in error_of(
        EXAMPLE, ["train.optimizer.type=sgd", "train.optimizer.nesterov=true"]
    )
    assert "train.clip_grad: give exactly one of 'norm' or 'value'" in error_of(
        EXAMPLE, ["train.clip_grad.value=1"]
    )
    assert "train.early_stopping.monitor: must be one of" in error_of(
        EXAMPLE, ["train.early_stopping.monitor=val_acc"]
    )
    assert "padding 'same' needs stride 1" in error_of(EXAMPLE, ["model.layers.0.conv2d.stride=2"])


def test_wrong_types_and_missing_sections() -> None:
    assert error_of({"model": {"layers": ["flatten"]}}) == "spec: data: is required"
    message = error_of(EXAMPLE, ["train.epochs=many"])
    assert "train.epochs: must be a valid integer" in message and "(got 'many')" in message
    assert "model: a model needs 'template'" in error_of({"data": "mnist", "model": {}})


def test_malformed_overrides_and_files(tmp_path: Path) -> None:
    assert "expected KEY.PATH=VALUE" in error_of(EXAMPLE, ["train.epochs"])
    assert "no such list item" in error_of(EXAMPLE, ["model.layers.9.dense.units=3"])
    assert error_of(tmp_path / "missing.yaml") == f"{tmp_path / 'missing.yaml'}: no such spec file"
    bad = write(tmp_path, "data: [unclosed\n")
    assert f"{bad}:2:1: invalid YAML" in error_of(bad)
    assert "a spec is a mapping" in error_of(write(tmp_path, "- just a list\n"))


# --- limits: alias bombs, deep nesting, huge numbers --------------------------------------

BASE = {"name": "x", "data": {"dataset": "iris"}, "train": {"epochs": 1}}


def timed_error(source, overrides=None) -> tuple[str, float]:
    import time

    started = time.perf_counter()
    message = error_of(source, overrides)
    return message, time.perf_counter() - started


def test_an_alias_bomb_is_refused_in_milliseconds_naming_the_line(tmp_path: Path) -> None:
    from tests.resource_bombs import BILLION_LAUGHS

    message, seconds = timed_error(write(tmp_path, BILLION_LAUGHS))
    assert seconds < 0.5  # expanding it took 9 s and 2 GB
    assert message.startswith(f"{tmp_path / 'spec.yaml'}:7:")
    assert "YAML beyond a limit: more than 100,000 values with its aliases expanded" in message
    many = "name: x\nv: &v 1\nall: [" + ", ".join(["*v"] * 101) + "]\n"
    assert "more than 100 uses of aliases (*name); that is the limit" in error_of(
        write(tmp_path, many)
    )
    few = "name: x\ndata: &d {dataset: iris}\ntrain: {epochs: 1}\nmodel: {template: mlp}\n"
    assert load_spec(write(tmp_path, few)).data.dataset == "iris"  # aliases within limits work


@pytest.mark.parametrize("depth", [101, 5_000, 20_000])
def test_deep_nesting_is_a_spec_error_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    flow = "name: x\ndata: " + "[" * depth + "]" * depth + "\n"
    message, seconds = timed_error(write(tmp_path, flow))
    assert seconds < 0.5
    assert f"{tmp_path / 'spec.yaml'}:2:" in message
    assert "nested more than 100 levels deep; that is the limit" in message
    nested: object = 1
    for _ in range(depth):
        nested = {"a": nested}
    message, seconds = timed_error({**BASE, "data": nested})
    assert seconds < 0.5
    assert message == "spec: data.a.a...: nested more than 100 levels deep; that is the limit"


def test_block_nesting_counts_too(tmp_path: Path) -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(150)) + " " * 150 + "v\n"
    assert "nested more than 100 levels deep" in error_of(write(tmp_path, text))
    fine = "".join(" " * i + f"k{i}:\n" for i in range(20)) + " " * 20 + "v\n"
    assert "k0: unknown key" in error_of(write(tmp_path, fine))


def test_huge_integers_are_named_spec_errors(tmp_path: Path) -> None:
    digits = "9" * 5000
    message = error_of(
        write(tmp_path, f"name: x\ndata: {{dataset: iris}}\ntrain:\n  epochs: {digits}\n")
    )
    assert message.startswith(f"{tmp_path / 'spec.yaml'}:4:11: YAML beyond a limit: an integer")
    assert len(message) < 300
    message = error_of(BASE, [f"train.epochs={digits}"])
    assert (
        message.startswith("--set train.epochs=999") and "an integer of 5000 characters" in message
    )
    assert len(message) < 300
    message = error_of(BASE, {"train.epochs": int("9" * 4000)})
    assert "train.epochs: an integer of about 4000 digits is out of range" in message
    assert len(message) < 400
    assert error_of(BASE, [f"seed={2**70}"]) == (
        f"--set seed={2**70}: seed: {2**70} is out of range; integers in a spec fit in 64 bits "
        "(at most 9223372036854775807)"
    )
    assert "spec: seed: 1180591620717411303424 is out of range" in error_of({**BASE, "seed": 2**70})
    seeded = load_spec({**BASE, "model": {"template": "mlp"}}, [f"seed={2**63 - 1}"])
    assert seeded.seed == 2**63 - 1


def test_every_yaml_reader_uses_the_limited_loader() -> None:
    source = Path(__file__).parents[2] / "src" / "athanor"
    readers = [
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        if any(
            call in path.read_text(encoding="utf-8")
            for call in ("yaml.safe_load", "yaml.load(", "yaml.compose", "yaml.full_load")
        )
    ]
    assert readers == []


def test_non_printable_characters_are_a_spec_error() -> None:
    from athanor.spec.loading import load_spec_text, parse_override

    for text in ("\u0080\u008d", "\f\u00b2[Q"):
        with pytest.raises(SpecError, match="invalid YAML: special characters are not allowed"):
            load_spec_text(text, "body.yaml")
    assert parse_override("name=\u0080") == (("name",), "\u0080")  # kept as text, as before

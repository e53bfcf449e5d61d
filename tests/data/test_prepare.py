"""From a data spec to tensors: splits recorded, statistics from the training split only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from athanor.data.prepare import prepare
from athanor.errors import DataError, PredictionInputError
from athanor.spec.data import DataSpec


def test_preprocessing_statistics_come_from_the_training_split_only(mnist_raw) -> None:
    spec = DataSpec(dataset="mnist", split={"val": 0.5})
    prepared = prepare(spec, seed=7, raw=mnist_raw)
    step = prepared.preprocessor.steps[1]
    # Recompute the split independently and take statistics of its training half.
    from athanor.data.splits import split_indices

    parts = split_indices(60_000, {"val": 30_000}, seed=7, labels=mnist_raw.y)
    train_pixels = mnist_raw.x[parts["train"]].astype(np.float64) / 255.0
    assert step.mean[0] == pytest.approx(train_pixels.mean(), abs=1e-6)
    assert step.std[0] == pytest.approx(train_pixels.std(), abs=1e-6)
    every_pixel = np.concatenate([mnist_raw.x, mnist_raw.x_test]).astype(np.float64) / 255.0
    assert abs(step.mean[0] - every_pixel.mean()) > 1e-5  # not the statistics of all data
    assert prepared.train.x.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert prepared.test.x.mean().item() != pytest.approx(0.0, abs=1e-4)


def test_mnist_keeps_its_official_test_set_and_records_the_split(mnist_raw) -> None:
    spec = DataSpec(dataset="mnist", split={"val": 5000}, subset={"train": 1000, "test": 500})
    prepared = prepare(spec, seed=1, raw=mnist_raw)
    assert (len(prepared.train), len(prepared.val), len(prepared.test)) == (1000, 5000, 500)
    assert prepared.schema.input.shape == [1, 28, 28] and prepared.schema.output_size == 10
    assert prepared.schema.input.background == "dark"
    split = prepared.record["split"]
    assert split["official_test"] and split["method"] == "stratified" and split["seed"] == 1
    assert set(split["fingerprints"]) == {"train", "val"}
    assert prepared.train.y.dtype == torch.int64


def test_dataset_without_a_test_set_gets_a_seeded_test_split(digits_raw) -> None:
    spec = DataSpec(dataset="digits", split={"val": 0.1, "test": 0.2})
    first = prepare(spec, seed=3, raw=digits_raw)
    assert first.record["split"]["sizes"] == {"val": 180, "test": 359, "train": 1258}
    again = prepare(spec, seed=3, raw=digits_raw)
    assert torch.equal(first.test.y, again.test.y)
    assert first.record["split"]["fingerprints"] == again.record["split"]["fingerprints"]


def test_regression_targets_and_errors() -> None:
    prepared = prepare(DataSpec(dataset="diabetes"), seed=0)
    assert prepared.schema.task == "regression" and prepared.train.y.shape[1] == 1
    assert prepared.schema.input.features[0] == "age"
    with pytest.raises(DataError, match="has the target 'progression', not 'price'"):
        prepare(DataSpec(dataset="diabetes", target="price"), seed=0)
    with pytest.raises(DataError, match="leave no training samples"):
        prepare(DataSpec(dataset="iris", split={"val": 0.5, "test": 75}), seed=0)


def test_table_encoding_statistics_come_from_the_training_split_only() -> None:
    from athanor.data.splits import split_indices

    spec = DataSpec(
        dataset="california-housing", split={"val": 0.2, "test": 0.2}, table={"impute": "mean"}
    )
    prepared = prepare(spec, seed=5)
    raw = prepare.__globals__["load_raw"]("california-housing").with_target(None)
    total = len(raw.x)
    parts = split_indices(total, {"val": round(0.2 * total), "test": round(0.2 * total)}, seed=5)
    encoder, scaler = prepared.preprocessor.steps[:2]
    bedrooms = raw.x.values["total_bedrooms"]
    train_bedrooms = bedrooms[parts["train"]]
    fill = next(c["fill"] for c in encoder.columns if c["name"] == "total_bedrooms")
    assert fill == pytest.approx(np.nanmean(train_bedrooms))
    assert fill != pytest.approx(np.nanmean(bedrooms), abs=1e-3)  # not the mean of all rows
    position = prepared.schema.input.features.index("median_income")
    income = raw.x.values["median_income"][parts["train"]]
    assert scaler.mean[position] == pytest.approx(income.mean(), rel=1e-5)
    assert prepared.schema.input.features[-5:][0] == "ocean_proximity=<1H OCEAN"
    assert [c.name for c in prepared.schema.input.columns][-1] == "ocean_proximity"
    assert prepared.train.x.shape[1] == 13 and torch.isfinite(prepared.train.x).all()


def test_group_and_time_splits(tmp_path) -> None:
    from athanor.data.importing import import_dataset

    rng = np.random.default_rng(0)
    rows = ["patient,day,x,y"]
    for index in range(200):
        rows.append(f"p{index % 20},2024-01-{1 + index % 28:02d},{rng.normal():.3f},{index % 2}")
    (tmp_path / "visits.csv").write_text("\n".join(rows) + "\n")
    import_dataset(tmp_path / "visits.csv", name="visits", target="y")
    grouped = prepare(
        DataSpec(dataset="visits", split={"method": "group", "group": "patient"}), seed=0
    )
    assert grouped.record["split"]["method"] == "group"
    assert "patient" not in [c.name for c in grouped.schema.input.columns]
    timed = prepare(DataSpec(dataset="visits", split={"method": "time", "time": "day"}), seed=0)
    raw = prepare.__globals__["load_raw"]("visits").with_target("y")
    days = raw.x.values["day"]
    from athanor.data.splits import ordered_split_indices

    parts = ordered_split_indices(days, {"val": 20, "test": 40})
    assert days[parts["train"]].max() <= days[parts["test"]].min()
    assert timed.record["split"]["sizes"] == {"test": 40, "val": 20, "train": 140}
    groups = raw.x.values["patient"]
    from athanor.data.splits import group_split_indices

    split = group_split_indices(groups, {"val": 20, "test": 40}, seed=0)
    assert not set(groups[split["train"]]) & set(groups[split["test"]])


def test_series_windows_forecast_and_anomaly_labels() -> None:
    spec = DataSpec(dataset="sunspots", window={"length": 20, "horizon": 3, "stride": 2})
    prepared = prepare(spec, seed=0)
    assert prepared.schema.output_shape == (3, 1) and prepared.train.x.shape[1:] == (20, 1)
    steps = prepared.record["steps"]
    assert steps["train"][1] == steps["val"][0] and steps["val"][1] == steps["test"][0]
    train_end = steps["train"][1]
    values = prepare.__globals__["load_raw"]("sunspots").x[:train_end, 0]
    assert prepared.preprocessor.steps[0].mean[0] == pytest.approx(values.mean(), rel=1e-5)
    assert prepared.preprocessor.target_steps[0].mean[0] == pytest.approx(values.mean(), rel=1e-5)
    nab = prepare(DataSpec(dataset="nab", window={"length": 48, "stride": 24}), seed=0)
    assert nab.schema.task == "reconstruction" and nab.train.y is nab.train.x
    test_windows = nab.windows["test"]
    assert test_windows.anomaly.sum() > 0 and len(test_windows) == nab.size("test")
    assert str(test_windows.start_time[0]) >= str(nab.windows["val"].end_time[-1])
    assert nab.windows["train"].to_json()["anomaly"][0] is False


def test_generation_text_and_augmentation(mnist_raw) -> None:
    gan = prepare(
        DataSpec(dataset="mnist", task="generation", subset={"train": 256}), seed=0, raw=mnist_raw
    )
    x, y = next(iter(gan.batches("train", 64, shuffle=True).epoch(0)))
    assert x.shape == (64, 1, 28, 28) and y.shape == (64, 0)
    assert gan.schema.classes is None
    text = prepare(DataSpec(dataset="tinyshakespeare", text={"length": 32}), seed=0)
    assert text.schema.input.vocab[:2] == ["<pad>", "<unk>"]
    assert torch.equal(text.train.x[0, 1:], text.train.y[0, :-1])
    spec = DataSpec(
        dataset="digits",
        image={
            "size": [12, 12],
            "augment": {"crop": 2, "flip": True, "rotation": 15, "color_jitter": 0.3},
        },
    )
    augmented = prepare(spec, seed=0)
    batches = augmented.batches("train", 50, shuffle=True, seed=3)
    full = [x for x, _ in batches.epoch(2)]
    resumed = [x for x, _ in batches.epoch(2, start_batch=5)]
    assert all(torch.equal(a, b) for a, b in zip(full[5:], resumed, strict=True))
    plain = augmented.batches("val", 50)
    assert torch.equal(next(iter(plain.epoch(0)))[0], augmented.val.x[:50])
    unaugmented = prepare(DataSpec(dataset="digits", image={"size": [12, 12]}), seed=0)
    first = next(iter(unaugmented.batches("train", 50, shuffle=True, seed=3).epoch(2)))[0]
    assert not torch.equal(full[0], first)


def test_streaming_matches_memory_and_resumes() -> None:
    memory = prepare(DataSpec(dataset="digits"), seed=0)
    stream = prepare(DataSpec(dataset="digits", batching={"mode": "stream", "workers": 2}), seed=0)
    assert stream.record["batching"] == "stream" and stream.size("train") == memory.size("train")
    a = list(stream.batches("train", 100, shuffle=True, seed=1).epoch(1, start_batch=8))
    b = list(memory.batches("train", 100, shuffle=True, seed=1).epoch(1, start_batch=8))
    assert len(a) == len(b) == 5
    assert all(
        torch.allclose(p[0], q[0], atol=1e-6) and torch.equal(p[1], q[1])
        for p, q in zip(a, b, strict=True)
    )


def test_imported_png_folder_csv_and_text_train(tmp_path) -> None:
    import athanor as at
    from athanor.data.importing import import_dataset
    from tests.data.test_importing import make_shapes, messy_csv

    import_dataset(make_shapes(tmp_path / "shapes", per_class=20), name="shapes")
    run = at.train(
        {
            "data": {"dataset": "shapes", "image": {"channels": 1}, "split": {"val": 4, "test": 8}},
            "model": {"template": "mlp", "hidden": [16]},
            "train": {"epochs": 8, "batch_size": 8, "optimizer": {"lr": 0.01}},
        },
        progress=False,
    )
    assert run.run.summary["data"]["version"].startswith("shapes@")
    assert run.test_metrics["test_accuracy"] >= 0.75
    import_dataset(messy_csv(tmp_path / "houses.csv", rows=150), name="houses", target="price")
    houses = at.train(
        {
            "data": {"dataset": "houses", "scale_target": "standard"},
            "model": {"template": "mlp", "hidden": [16]},
            "train": {"epochs": 30, "batch_size": 16, "optimizer": {"lr": 0.01}},
        },
        progress=False,
        register_as="houses-mlp",
    )
    assert houses.test_metrics["test_r2"] > 0.5
    predictor = at.models.load("houses-mlp")
    row = {"city": "Paris", "rooms": 3, "area": 75, "garden": "yes", "built": "2005-01-01"}
    # Unseen and missing values; every column is named (an absent key is refused, not imputed).
    missing = {"city": "Atlantis", "rooms": None, "area": None, "garden": "", "built": None}
    values = [p.values[0] for p in predictor.predict([row, missing])]
    with pytest.raises(
        PredictionInputError,
        match=r"input 0: missing column\(s\) area, garden, built; the model takes city",
    ):
        predictor.predict([{"city": "Atlantis", "rooms": None, "Garden": ""}])
    assert 300_000 < values[0] < 700_000 and np.isfinite(values[1])
    csv = tmp_path / "new.csv"
    csv.write_text("rooms,city,area,garden,built\n3,Paris,75,yes,2005-01-01\n")
    assert predictor.predict(csv)[0].values[0] == pytest.approx(values[0], rel=1e-5)
    (tmp_path / "story.txt").write_text("the cat sat on the mat. " * 200)
    import_dataset(tmp_path / "story.txt", name="story")
    text = prepare(DataSpec(dataset="story", text={"level": "word", "length": 8}), seed=0)
    assert text.schema.input.vocab[2:4] == ["the", "."] or "cat" in text.schema.input.vocab
    assert text.train.x.dtype == torch.int64 and text.train.x.shape[1] == 8


def test_subsets_apply_to_text_and_series_windows() -> None:
    from athanor.spec.data import DataSpec as Spec

    text = prepare(Spec(dataset="tinyshakespeare", subset={"train": 100, "val": 20}), seed=1)
    assert (len(text.train), len(text.val)) == (100, 20)
    series = prepare(
        Spec(
            dataset="nab",
            series="machine_temperature_system_failure",
            window={"length": 32, "stride": 4},
            subset={"train": 50, "test": 10},
        ),
        seed=1,
    )
    assert (len(series.train), len(series.test)) == (50, 10)
    assert len(series.windows["train"]) == 50 and len(series.windows["test"]) == 10
    # The kept windows are the ones the tensors hold: same starts, in the same order.
    assert (series.windows["train"].start[1:] > series.windows["train"].start[:-1]).all()


def _imported_table(tmp_path, name: str, text: str, target: str) -> str:
    from athanor.data.importing import import_dataset

    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    import_dataset(path, name=name, target=target)
    return name


def test_a_single_class_target_is_named_before_training(tmp_path) -> None:
    rows = "".join(f"{i},{i * 2},cat\n" for i in range(20))
    name = _imported_table(tmp_path, "one-class", "a,b,label\n" + rows, "a")
    with pytest.raises(
        DataError,
        match="data.target: 'label' of 'one-class' has only the class 'cat'; "
        "classification needs at least 2 classes",
    ):
        prepare(DataSpec(dataset=name, target="label", task="classification"), seed=0)
    # Two classes in the data, but a subset keeps the training split to one of them.
    rows = "".join(f"{i},{i * 2},{'cat' if i else 'dog'}\n" for i in range(20))
    rare = _imported_table(tmp_path, "rare", "a,b,label\n" + rows, "label")
    with pytest.raises(DataError, match="the training split of 'rare' has only the class 'cat'"):
        prepare(
            DataSpec(dataset=rare, target="label", split={"method": "random", "val": 1, "test": 1}),
            seed=next(s for s in range(50) if _no_rare_in_train(s)),
        )


def _no_rare_in_train(seed: int) -> bool:
    from athanor.data.splits import split_indices

    parts = split_indices(20, {"val": 1, "test": 1}, seed=seed)
    return 0 not in parts["train"]


def test_infinite_values_name_their_column_and_lines(tmp_path) -> None:
    rows = "".join(f"{i},{i % 3}\n" for i in range(2, 30))
    name = _imported_table(tmp_path, "infinite", "x,y\n1,0\ninf,1\n-inf,2\n" + rows, "y")
    with pytest.raises(
        DataError,
        match=r"infinite.csv: column 'x' holds infinite values \(inf or -inf\) on "
        r"line\(s\) 3, 4 \(2 row\(s\)\); use finite numbers",
    ):
        prepare(DataSpec(dataset=name, target="y"), seed=0)
    target = _imported_table(
        tmp_path,
        "inf-target",
        "x,y\n" + "".join(f"{i},{'inf' if i == 5 else i * 1.5}\n" for i in range(30)),
        "x",
    )
    with pytest.raises(DataError, match=r"column 'y' holds infinite values .* line\(s\) 7 "):
        prepare(DataSpec(dataset=target, target="y"), seed=0)


def test_splits_leaving_fewer_than_two_training_samples_are_refused() -> None:
    with pytest.raises(
        DataError,
        match=r"data.split: val \(74\) \+ test \(75\) leave only 1 training sample "
        "of 150; training needs at least 2",
    ):
        prepare(DataSpec(dataset="iris", split={"val": 74, "test": 75}), seed=0)
    with pytest.raises(DataError, match="data.subset: keeps 1 training sample"):
        prepare(DataSpec(dataset="iris", subset={"train": 1}), seed=0)


def test_regression_targets_are_standardized_unless_asked_not_to() -> None:
    prepared = prepare(DataSpec(dataset="diabetes"), seed=0)
    (step,) = prepared.preprocessor.target_steps
    assert step.kind == "target_standardize" and step.mean[0] > 100  # progression units
    y = prepared.train.y.double()
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.std(correction=0)) - 1) < 1e-5
    back = prepared.preprocessor.inverse_target(prepared.train.y[:3])
    assert float(back.min()) > 20  # the raw progression scores again
    plain = prepare(DataSpec(dataset="diabetes", scale_target="none"), seed=0)
    assert plain.preprocessor.target_steps == [] and float(plain.train.y.mean()) > 100


def test_imagenet_normalization_uses_fixed_statistics(digits_raw) -> None:
    spec = DataSpec(dataset="digits", normalize="imagenet", image={"channels": 3})
    prepared = prepare(spec, seed=0, raw=digits_raw)
    steps = prepared.preprocessor.to_json()
    assert steps[-1] == {
        "type": "standardize",
        "per": "channel",
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "fixed": True,
    }
    assert prepared.schema.input.shape[0] == 3
    with pytest.raises(DataError, match="data.normalize: imagenet is for images"):
        prepare(DataSpec(dataset="iris", normalize="imagenet"), seed=0)

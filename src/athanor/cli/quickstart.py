"""``athanor quickstart``: the whole path on real data, in a few minutes on a laptop CPU."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from athanor.cli.output import console, duration

TARGET_ACCURACY = 0.985
MODEL_NAME = "mnist-cnn"
SPEC_NAME = "mnist-quick"  # >= 99% in 2 epochs; benchmarks/quickstart.py compares it
SAMPLES = 5


def quickstart(
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a key of the spec: KEY.PATH=VALUE."),
    ] = None,
) -> None:
    """Train the MNIST CNN, register it, reload it and classify five test digits."""
    import numpy as np
    from PIL import Image

    import athanor as at
    from athanor.cli.terminal_images import render_images
    from athanor.errors import DatasetUnavailable
    from athanor.spec.examples import resolve_spec_path

    started = time.perf_counter()
    spec_path = resolve_spec_path(SPEC_NAME)
    overrides = list(set_ or [])
    console.rule("[bold]Athanor quickstart[/bold]")

    console.print("[bold]1/5 data[/bold]  looking for MNIST (ATHANOR_DATA_MIRROR, cache, download)")
    try:
        raw = at.datasets.load("mnist")
        source = next(iter(raw.origin.values()))
        console.print(
            f"  MNIST: {len(raw.x):,} training and {len(raw.x_test):,} test images "
            f"from {source.rsplit('/', 1)[0]}"
        )
    except DatasetUnavailable as exc:
        console.print(f"  [yellow]MNIST is not available here:[/yellow] {exc}")
        console.print(
            "  [yellow]falling back to scikit-learn's bundled 8x8 digits[/yellow] "
            "(1,797 images; the 98.5% MNIST target does not apply)"
        )
        raw = at.datasets.load("digits")
        overrides = [
            "data.dataset=digits",
            "train.epochs=40",
            "train.batch_size=64",
            "data.split.val=0.1",
            *overrides,
        ]

    console.print(f"[bold]2/5 train[/bold]  {spec_path.name}: the CNN of examples/{spec_path.name}")
    run = at.train(spec_path, overrides, register_as=MODEL_NAME, console=console)
    accuracy = run.test_metrics.get("test_accuracy", float("nan"))

    console.print("[bold]3/5 evaluate[/bold]  on the untouched test set")
    verdict = ""
    if raw.name == "mnist":
        met = accuracy >= TARGET_ACCURACY
        verdict = f"  (target >= {TARGET_ACCURACY:.1%}: " + (
            "[green]met[/green])" if met else "[red]not met[/red])"
        )
    test_size = run.run.summary["data"]["split"]["sizes"].get("test", 0)
    console.print(
        f"  test accuracy [bold]{accuracy:.2%}[/bold] on {test_size:,} images{verdict}; "
        f"training took {run.fit.seconds:.0f}s"
    )

    version = run.model_version
    assert version is not None
    console.print(f"[bold]4/5 register[/bold]  registered as [bold]{version.ref}[/bold]")

    x_test = raw.x_test if raw.x_test is not None else raw.x
    y_test = raw.y_test if raw.y_test is not None else raw.y
    rng = np.random.default_rng(run.run.spec["seed"])
    picks = rng.choice(len(x_test), size=SAMPLES, replace=False)
    samples_dir = at.models.package_dir(version.ref).parents[2] / "runs" / str(run.id) / "samples"
    samples_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for index in picks:
        path = samples_dir / f"test-{index}-label-{y_test[index]}.png"
        Image.fromarray(x_test[index][0]).save(path)
        files.append(path)

    predictor = at.models.load(version.ref)  # a fresh predictor, read back from disk
    predictions = predictor.predict(files)
    console.print(f"[bold]5/5 predict[/bold]  {version.ref} reloaded from disk; five test images:")
    for line in render_images([x_test[i] for i in picks]):
        console.print("  " + line, markup=False)
    width = 14 + 2
    truth = "".join(f"true {y_test[i]}".ljust(width) for i in picks)
    guess = "".join(f"pred {p.label} ({p.probability:.0%})".ljust(width) for p in predictions)
    marks = "".join(
        ("[green]right[/green]" if p.label == str(y_test[i]) else "[red]wrong[/red]")
        + " " * (width - 5)
        for p, i in zip(predictions, picks, strict=True)
    )
    console.print("  " + truth, markup=False)
    console.print("  " + guess, markup=False)
    console.print("  " + marks)

    from athanor.settings import current_settings

    settings = current_settings()
    console.rule()
    console.print(
        f"run {run.id}:  {at.runs.show(run.id)['artifacts']}   (athanor runs show {run.id})"
    )
    console.print(
        f"model:  {at.models.package_dir(version.ref)}   (athanor models show {version.ref})"
    )
    console.print(f"store:  {settings.db_url}")
    console.print(f"try it: athanor predict {MODEL_NAME} {files[0]}")
    console.print(f"done in {duration(time.perf_counter() - started)}")

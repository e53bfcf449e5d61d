"""``athanor predict NAME[@VERSION|@ALIAS] FILE...`` and batch prediction into a CSV (or a
detector's COCO JSON)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from athanor.cli.output import console, errors, print_json, table

if TYPE_CHECKING:
    from athanor.serve.predictor import Predictor


def predict(
    ref: Annotated[
        str, typer.Argument(help="NAME, NAME@VERSION or NAME@ALIAS of a registered model.")
    ],
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Images (PNG/JPEG/BMP/WebP), CSV files of rows, text files (.txt), or folders."
        ),
    ] = None,
    input_paths: Annotated[
        list[Path] | None,
        typer.Option("--input", "-i", help="A folder, CSV or image to predict (repeatable)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "--out",
            "-o",
            help="Write predictions to this file (a CSV; a detector's .json is COCO), "
            "streaming, and go on past unusable items.",
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="With --output: csv, or coco (detectors: images, categories and scored "
            "boxes). Default: coco for a detector's .json file, csv otherwise.",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=65536, help="Samples per forward pass (with --output).")
    ] = 256,
    top: Annotated[int, typer.Option(help="Classes shown per input.")] = 3,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Series models: draw the series with its scores and flagged spans, or its "
            "forecast, to this PNG. Detectors: the image with its boxes (one image; with "
            "several, PLOT-1.png, PLOT-2.png...)."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Anomaly detectors: flag above this score (default: the model's). "
            "Object detectors: the lowest box score shown (default 0.3)."
        ),
    ] = None,
    duplicates: Annotated[
        str,
        typer.Option(
            help="Series: rows sharing a timestamp: error, first (keep it) or mean (average)."
        ),
    ] = "error",
    top_g: Annotated[
        int | None,
        typer.Option("--top-g", min=1, help="Log models: flag keys outside the top G."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Predict with a registered model: a table of results, or a file with --output.

    With --output, unusable items (unreadable images, bad rows) are listed and skipped, and
    the exit status is 1 when there were any. A series model (anomaly detector or
    forecaster) reads one series CSV and cuts its windows itself: per-timestamp scores,
    flags and flagged intervals, or the forecast after the series' end. A log model reads
    raw log files (or key files) and prints the anomalous sessions with their unexpected
    lines and templates.
    """
    from athanor.api import models
    from athanor.errors import UserError

    sources = [*(files or []), *(input_paths or [])]
    if not sources:
        raise UserError("give files or folders to predict, or --input DIR|FILE.csv")
    predictor = models.load(ref)
    predictor.require_predictive()  # a language model or GAN answers `athanor generate`
    from athanor.serve.log_prediction import is_log_model
    from athanor.serve.series_prediction import is_series_model

    if is_log_model(predictor):
        from athanor.cli.predict_logs import predict_logs

        predict_logs(predictor, sources, output=output, top_g=top_g, json_output=json_output)
        return
    if is_series_model(predictor):
        from athanor.cli.predict_series import predict_series

        predict_series(
            predictor,
            sources,
            output=output,
            plot=plot,
            threshold=threshold,
            duplicates=_duplicate_policy(duplicates),
            json_output=json_output,
        )
        return
    if output is not None:
        _predict_to_file(
            predictor, sources, output, batch_size, json_output, output_format, threshold
        )
        return
    if output_format is not None:
        raise UserError("--format chooses what --output writes; give --output FILE too")
    if predictor.schema.task == "detection":
        _detect_to_table(predictor, sources, plot, threshold, json_output)
        return
    _predict_to_table(predictor, sources, top, json_output)


def _detect_to_table(
    predictor: Predictor,
    sources: list[Path],
    plot: Path | None,
    threshold: float | None,
    json_output: bool,
) -> None:
    from athanor.errors import PredictionInputError
    from athanor.serve.batch_prediction import list_sources
    from athanor.serve.detection_prediction import draw_boxes

    for path in sources:
        if not path.exists():
            raise PredictionInputError(f"{path}: no such file")
    images = list_sources(sources, image_model=True)
    predictions = predictor.detect(images, threshold=threshold)
    drawn = []
    if plot is not None:
        for number, (path, prediction) in enumerate(zip(images, predictions, strict=True), 1):
            target = plot if len(images) == 1 else plot.with_name(f"{plot.stem}-{number}.png")
            drawn.append(str(draw_boxes(path, prediction.boxes or [], target)))
    if json_output:
        print_json(
            {
                "model": predictor.ref,
                "predictions": [
                    {"input": str(path), **p.to_json()}
                    for path, p in zip(images, predictions, strict=True)
                ],
                "plots": drawn,
            }
        )
        return
    rows = [
        (str(path), box["label"], f"{box['score']:.3f}", ", ".join(f"{v:.1f}" for v in box["xyxy"]))
        for path, p in zip(images, predictions, strict=True)
        for box in p.boxes or []
    ]
    console.print(table(predictor.ref, ["input", "class", "score", "x0, y0, x1, y1"], rows))
    for path in drawn:
        console.print(f"boxes drawn: {path}")


def _duplicate_policy(value: str) -> str:
    from athanor.errors import UserError

    if value not in ("error", "first", "mean"):
        raise UserError(f"--duplicates: '{value}' is not one of error, first, mean")
    return value


def _predict_to_file(
    predictor: Predictor,
    sources: list[Path],
    output: Path,
    batch_size: int,
    json_output: bool,
    output_format: str | None,
    threshold: float | None,
) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed:,.0f} items/s" if task.speed else "")

    from athanor.serve import batch_prediction
    from athanor.serve.batch_prediction import count_items, list_sources, predict_files

    chosen = batch_prediction.output_format(predictor, output, output_format)
    image_model = predictor.schema.input.kind == "image"
    text_model = predictor.schema.input.kind == "tokens"
    total = count_items(list_sources(sources, image_model=image_model, text_model=text_model))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        disable=json_output or not errors.is_terminal,
    ) as progress:
        task = progress.add_task(f"predicting with {predictor.ref}", total=total)
        summary = predict_files(
            predictor,
            sources,
            output,
            batch_size=batch_size,
            on_progress=lambda count: progress.advance(task, count),
            file_format=chosen,
            threshold=threshold,
        )
    if json_output:
        print_json(
            {
                "model": predictor.ref,
                "output": str(summary.output),
                "format": summary.format,
                "predicted": summary.predicted,
                "failed": [{"input": item, "error": error} for item, error in summary.failures],
                "errors_file": str(summary.errors_file) if summary.errors_file else None,
            }
        )
    else:
        console.print(
            f"{summary.predicted:,} prediction(s) by {predictor.ref} written to {summary.output}"
            + (" (COCO JSON)" if summary.format == "coco" else "")
        )
        if summary.failures:
            errors.print(
                f"[yellow]{len(summary.failures):,} item(s) skipped[/yellow] "
                f"(all listed in {summary.errors_file}):",
                highlight=False,
            )
            for item, error in summary.failures[:20]:
                errors.print(f"  {error if error.startswith(item) else item + ': ' + error}")
            if len(summary.failures) > 20:
                errors.print(f"  ... and {len(summary.failures) - 20:,} more")
    if summary.failures:
        sys.exit(1)


def _shown_path(label: str, sources: list[Path]) -> str:
    """``docs/speech.txt`` for a file found in a folder given as ``/long/path/docs``."""
    path = Path(label)
    for source in sources:
        if source.is_dir() and path.is_relative_to(source):
            return str(Path(source.resolve().name) / path.relative_to(source))
    return label


def _predict_to_table(
    predictor: Predictor, sources: list[Path], top: int, json_output: bool
) -> None:
    from athanor.errors import PredictionInputError
    from athanor.serve.batch_prediction import list_sources
    from athanor.serve.inputs import TEXT_SUFFIXES, read_csv_rows, read_table_rows, read_text_file

    labels: list[str] = []
    inputs: list[object] = []
    for path in sources:
        if not path.exists():
            raise PredictionInputError(f"{path}: no such file")
    image_model = predictor.schema.input.kind == "image"
    text_model = predictor.schema.input.kind == "tokens"
    for path in list_sources(sources, image_model=image_model, text_model=text_model):
        if text_model and path.suffix.lower() in TEXT_SUFFIXES:
            inputs.append(read_text_file(path))
            labels.append(str(path))
        elif path.suffix.lower() == ".csv" and predictor.schema.input.columns:
            typed, row_labels = read_table_rows(path, predictor.schema)
            inputs.extend(
                {name: typed.values[name][i] for name in typed.values} for i in range(len(typed))
            )
            labels.extend(row_labels)
        elif path.suffix.lower() == ".csv":
            rows, row_labels = read_csv_rows(path, predictor.schema)
            inputs.extend(rows.reshape(len(rows), *predictor.schema.input.shape))
            labels.extend(row_labels)
        else:
            inputs.append(path)
            labels.append(str(path))
    predictions = predictor.predict(inputs)
    if not json_output:  # a table's column is narrow: files found in a folder, from its name
        labels = [_shown_path(label, sources) for label in labels]
    if json_output:
        print_json(
            {
                "model": predictor.ref,
                "predictions": [
                    {"input": label, **p.to_json()}
                    for label, p in zip(labels, predictions, strict=True)
                ],
            }
        )
        return
    if predictor.schema.task == "classification":
        rows = []
        for label, p in zip(labels, predictions, strict=True):
            ranked = sorted((p.probabilities or {}).items(), key=lambda kv: -kv[1])[:top]
            rows.append(
                (
                    label,
                    p.label,
                    f"{p.probability:.3f}",
                    "  ".join(f"{c} {v:.3f}" for c, v in ranked),
                )
            )
        console.print(table(predictor.ref, ["input", "class", "probability", f"top {top}"], rows))
    else:
        console.print(
            table(
                predictor.ref,
                ["input", predictor.schema.target],
                [
                    (label, ", ".join(f"{v:.4g}" for v in p.values or []))
                    for label, p in zip(labels, predictions, strict=True)
                ],
            )
        )

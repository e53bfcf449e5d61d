"""``athanor predict NAME[@VERSION] FILE...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from athanor.cli.output import console, print_json, table


def predict(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION of a registered model.")],
    files: Annotated[
        list[Path], typer.Argument(help="Images (PNG/JPEG/BMP/WebP) or CSV files of rows.")
    ],
    top: Annotated[int, typer.Option(help="Classes shown per input.")] = 3,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Predict with a registered model: one row per image or CSV row."""
    from athanor.api import models
    from athanor.errors import PredictionInputError
    from athanor.serve.inputs import read_csv_rows, read_table_rows

    predictor = models.load(ref)
    labels: list[str] = []
    inputs: list[object] = []
    for path in files:
        if not path.exists():
            raise PredictionInputError(f"{path}: no such file")
        if path.suffix.lower() == ".csv" and predictor.schema.input.columns:
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

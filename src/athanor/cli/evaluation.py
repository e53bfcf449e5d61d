"""A run's stored evaluation as terminal tables for ``athanor runs show``, readable at 80
columns: the confusion matrix (or its largest confusions when it is too wide), per-class
scores, ROC AUC and average precision, the most confidently wrong samples; for regression
the error by decile."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from athanor.cli.output import console

MATRIX_COLUMNS = 10
"""The widest confusion matrix drawn in full; above it the largest confusions are listed."""
WRONG_SHOWN = 5


def _numbers_table(title: str, columns: list[str], *, first_left: bool = True) -> Table:
    """A compact table whose numbers never wrap (a folded number reads as two)."""
    result = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
    )
    for k, column in enumerate(columns):
        left = first_left and k == 0
        result.add_column(
            column,
            justify="left" if left else "right",
            no_wrap=not left,
            overflow="ellipsis" if left else "ignore",
            max_width=18 if left else None,
        )
    return result


def print_evaluation(evaluation: dict[str, Any] | None, run_id: int) -> None:
    """Print ``evaluation`` (or say there is none and why)."""
    if evaluation is None:
        console.print(
            "  evaluation: none stored (trained before evaluations were kept, not "
            "tested, or a task without one)"
        )
        return
    if evaluation["task"] == "classification":
        _classification(evaluation)
    elif evaluation["task"] == "detection":
        _detection(evaluation)
    else:
        _regression(evaluation)
    console.print(f"  figures: athanor runs report {run_id} -o run-{run_id}.html")


def _detection(evaluation: dict[str, Any]) -> None:
    def number(value: float | None) -> str:  # None: no boxes of that class (NaN in JSON)
        return "–" if value is None or value != value else f"{value:.4f}"

    console.print(
        f"  {evaluation['samples']:,} test images, {evaluation['boxes']:,} boxes: COCO "
        f"mAP@[.5:.95] {number(evaluation['map'])}, mAP@0.5 {number(evaluation['map50'])}, "
        f"mAP@0.75 {number(evaluation['map75'])}"
    )
    per_class = _numbers_table("average precision per class", ["class", "boxes", "AP", "AP50"])
    for row in evaluation["per_class"]:
        per_class.add_row(row["class"], str(row["boxes"]), number(row["ap"]), number(row["ap50"]))
    console.print(per_class)


def _classification(evaluation: dict[str, Any]) -> None:
    classes = evaluation["classes"]
    matrix = evaluation.get("confusion_matrix")
    if matrix is not None and len(classes) <= MATRIX_COLUMNS:
        labels = [name if len(name) <= 6 else name[:5] + "…" for name in classes]
        grid = _numbers_table(
            "confusion matrix (rows: actual, columns: predicted)", ["actual", *labels]
        )
        for name, row in zip(classes, matrix, strict=True):
            grid.add_row(name, *(str(count) for count in row))
        console.print(grid)
    elif matrix is not None:
        pairs = sorted(
            (
                (count, i, j)
                for i, row in enumerate(matrix)
                for j, count in enumerate(row)
                if i != j and count
            ),
            reverse=True,
        )[:10]
        confusions = _numbers_table("largest confusions", ["actual", "predicted", "samples"])
        for count, i, j in pairs:
            confusions.add_row(classes[i], classes[j], str(count))
        console.print(confusions)
    scores = _numbers_table("per class (test)", ["class", "precision", "recall", "F1", "support"])
    for row in evaluation["per_class"]:
        scores.add_row(
            row["class"],
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    for name in ("macro", "weighted"):
        average = evaluation[name]
        scores.add_row(
            f"{name} avg",
            f"{average['precision']:.3f}",
            f"{average['recall']:.3f}",
            f"{average['f1']:.3f}",
            str(evaluation["samples"]),
            style="dim",
        )
    console.print(scores)
    binary = evaluation.get("binary")
    if binary:
        console.print(
            f"  ROC AUC {binary['roc']['auc']:.4f}, average precision "
            f"{binary['pr']['average_precision']:.4f} (positive class "
            f"{binary['positive_class']})"
        )
    wrong = evaluation.get("wrong_examples") or []
    if wrong:
        shown = _numbers_table(
            "most confidently wrong (test)", ["sample", "actual", "predicted", "confidence"]
        )
        for example in wrong[:WRONG_SHOWN]:
            shown.add_row(
                f"#{example['index']}",
                example["actual"],
                example["predicted"],
                f"{example['confidence']:.1%}",
            )
        console.print(shown)


def _regression(evaluation: dict[str, Any]) -> None:
    r2 = evaluation.get("r2")
    console.print(
        f"  test {evaluation['target']}: MAE {_number(evaluation['mae'])}, RMSE "
        f"{_number(evaluation['rmse'])}"
        + (f", R² {r2:.4f}" if r2 is not None else "")
        + f", mean residual {_number(evaluation['bias'])} ({evaluation['samples']:,} samples)"
    )
    deciles = _numbers_table(
        f"error by decile of actual {evaluation['target']}",
        ["decile", "actual from", "to", "n", "MAE", "RMSE", "bias"],
    )
    for row in evaluation["deciles"]:
        deciles.add_row(
            str(row["decile"]),
            _number(row["low"]),
            _number(row["high"]),
            str(row["count"]),
            _number(row["mae"]),
            _number(row["rmse"]),
            _number(row["bias"]),
        )
    console.print(deciles)


def _number(value: float | None) -> str:
    """Four significant figures, thousands grouped (dollars read as dollars)."""
    if value is None:
        return "–"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.4g}"

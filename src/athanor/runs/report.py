"""A run's report: one self-contained HTML file (figures as inline SVG, images as base64 PNG,
no script, nothing fetched) with the run's record, learning curves, test metrics and its
stored evaluation (:mod:`athanor.runs.evaluation`). ``athanor runs report ID``."""

from __future__ import annotations

import base64
from html import escape
from itertools import pairwise
from pathlib import Path
from typing import Any

from athanor.runs import figures
from athanor.runs.evaluation_files import example_image, read_evaluation
from athanor.runs.records import run_folder, show
from athanor.settings import Settings
from athanor.store import open_store

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1040px;color:#111827;
padding:0 16px}h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid
#e5e7eb;padding-bottom:4px}table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #e5e7eb;padding:3px 8px;text-align:right}th{background:#f3f4f6}
td:first-child,th:first-child{text-align:left}.muted{color:#6b7280}.figures{display:flex;
flex-wrap:wrap;gap:16px;align-items:flex-start}.wrong{display:flex;flex-wrap:wrap;gap:10px}
.wrong figure{margin:0;border:1px solid #e5e7eb;padding:6px;font-size:12px;max-width:240px}
.wrong img{width:84px;height:84px;image-rendering:pixelated;display:block}
.wrong pre{white-space:pre-wrap;font-size:11px;margin:4px 0 0}
"""

NO_EVALUATION = (
    "This run has no stored evaluation: it was trained before evaluations were kept, was "
    "not tested (a search's trial), or its task has none (only classification, "
    "regression and detection have one)."
)


def write_report(run_id: int, path: Path, *, settings: Settings | None = None) -> Path:
    """Write the HTML report of run ``run_id`` to ``path`` and return it.

    Raises:
        NotFound: no such run.
    """
    store = open_store(settings)
    data = show(run_id, settings=settings)
    run_dir = run_folder(store, run_id)
    evaluation = read_evaluation(run_dir)
    path.write_text(render_report(data, evaluation, run_dir), encoding="utf-8")
    return path


def render_report(data: dict[str, Any], evaluation: dict[str, Any] | None, run_dir: Path) -> str:
    """The report's HTML for a run as :func:`athanor.runs.show` gives it."""
    title = f"Run {data['id']} {data['name']}"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _overview(data),
        _learning_curves(data["metrics"]),
        _test_metrics(data["metrics"]),
        "<h2>Evaluation on the test split</h2>",
    ]
    if evaluation is None:
        parts.append(f"<p class='muted'>{escape(NO_EVALUATION)}</p>")
    elif evaluation["task"] == "classification":
        parts.append(_classification(evaluation, run_dir))
    elif evaluation["task"] == "detection":
        parts.append(_detection(evaluation))
    else:
        parts.append(_regression(evaluation))
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def _overview(data: dict[str, Any]) -> str:
    summary = data["summary"]
    rows = [
        [
            "status",
            f"{data['status']} ({data['status_reason']})"
            if data["status_reason"]
            else data["status"],
        ],
        ["dataset", data["dataset"]],
        ["created", data["created_at"]],
        ["took", f"{data['duration_s']:.1f} s" if data.get("duration_s") else None],
        [
            "parameters",
            f"{summary['parameters']['trainable']:,}" if "parameters" in summary else None,
        ],
        ["registered as", summary.get("registered_as")],
    ]
    return _table(["", ""], [row for row in rows if row[1] is not None])


def _learning_curves(metrics: dict[str, list[dict[str, Any]]]) -> str:
    losses = {n: p for n, p in metrics.items() if n in ("train_loss", "val_loss")}
    if not any(len(points) > 1 for points in losses.values()):
        return ""
    series = {n: [(p["epoch"], p["value"]) for p in points] for n, points in losses.items()}
    return "<h2>Learning curves</h2>" + figures.lines(series, "Loss by epoch", "epoch", "loss")


def _test_metrics(metrics: dict[str, list[dict[str, Any]]]) -> str:
    tests = [[n, p[-1]["value"]] for n, p in metrics.items() if n.startswith("test_") and p]
    if not tests:
        return ""
    return "<h2>Test metrics</h2>" + _table(["metric", "value"], tests)


def _classification(evaluation: dict[str, Any], run_dir: Path) -> str:
    classes = evaluation["classes"]
    parts = [
        f"<p>{evaluation['samples']:,} test samples, accuracy "
        f"<b>{evaluation['accuracy']:.4f}</b>, macro F1 {evaluation['macro']['f1']:.4f}.</p>"
    ]
    if evaluation.get("confusion_matrix") is not None:
        parts.append(
            "<h3>Confusion matrix</h3><p class='muted'>Rows: the true class; "
            "columns: the predicted class.</p>"
        )
        parts.append(figures.confusion_heatmap(evaluation["confusion_matrix"], classes))
    parts.append("<h3>Per class</h3>")
    rows = [
        [r["class"], r["precision"], r["recall"], r["f1"], r["support"]]
        for r in evaluation["per_class"]
    ]
    for name in ("macro", "weighted"):
        average = evaluation[name]
        rows.append(
            [
                f"{name} avg",
                average["precision"],
                average["recall"],
                average["f1"],
                evaluation["samples"],
            ]
        )
    parts.append(_table(["class", "precision", "recall", "F1", "support"], rows))
    binary = evaluation.get("binary")
    if binary:
        positive = binary["positive_class"]
        parts.append(f"<h3>ROC and precision-recall (positive class: {escape(positive)})</h3>")
        parts.append("<div class='figures'>")
        parts.append(
            figures.curve(
                binary["roc"]["points"],
                f"ROC curve, AUC {binary['roc']['auc']:.4f}",
                "false positive rate",
                "true positive rate",
                diagonal=True,
            )
        )
        parts.append(
            figures.curve(
                binary["pr"]["points"],
                "Precision-recall curve, average precision "
                f"{binary['pr']['average_precision']:.4f}",
                "recall",
                "precision",
            )
        )
        parts.append("</div>")
        parts.append(
            f"<p>ROC AUC <b>{binary['roc']['auc']:.4f}</b>, average precision "
            f"<b>{binary['pr']['average_precision']:.4f}</b>.</p>"
        )
    parts.append(_wrong_examples(evaluation.get("wrong_examples", []), run_dir))
    return "\n".join(parts)


def _wrong_examples(examples: list[dict[str, Any]], run_dir: Path) -> str:
    if not examples:
        return "<h3>Most confidently wrong</h3><p class='muted'>No test sample was wrong.</p>"
    tiles = []
    for rank, example in enumerate(examples):
        caption = (
            f"#{example['index']}: <b>{escape(example['actual'])}</b> taken for "
            f"<b>{escape(example['predicted'])}</b> ({example['confidence']:.1%})"
        )
        content = ""
        image = example_image(run_dir, rank) if example.get("image") else None
        if image is not None:
            encoded = base64.b64encode(image.read_bytes()).decode("ascii")
            content = (
                f"<img alt='test sample {example['index']}' src='data:image/png;base64,{encoded}'>"
            )
        elif example.get("row"):
            cells = [f"{k}={v}" for k, v in example["row"].items()]
            more = ", …" if len(cells) > 8 else ""
            content = "<pre>" + escape(", ".join(cells[:8]) + more) + "</pre>"
        elif example.get("text"):
            content = f"<pre>{escape(example['text'])}</pre>"
        tiles.append(f"<figure>{content}<figcaption>{caption}</figcaption></figure>")
    return (
        "<h3>Most confidently wrong</h3><p class='muted'>The test samples the model got wrong "
        "with the highest confidence (table rows as the network sees them, after "
        "preprocessing).</p><div class='wrong'>" + "".join(tiles) + "</div>"
    )


def _detection(evaluation: dict[str, Any]) -> str:
    rows = [[c["class"], c["boxes"], c["ap"], c["ap50"]] for c in evaluation["per_class"]]
    return "\n".join(
        [
            f"<p>{evaluation['samples']:,} test images with {evaluation['boxes']:,} boxes: "
            f"COCO mAP@[.5:.95] <b>{_cell(evaluation['map'])}</b>, mAP@0.5 "
            f"<b>{_cell(evaluation['map50'])}</b>, mAP@0.75 {_cell(evaluation['map75'])}.</p>",
            "<h3>Average precision per class</h3>",
            _table(["class", "test boxes", "AP@[.5:.95]", "AP@0.5"], rows),
        ]
    )


def _regression(evaluation: dict[str, Any]) -> str:
    target = evaluation["target"]
    r2 = evaluation.get("r2")
    parts = [
        f"<p>{evaluation['samples']:,} test samples of <b>{escape(target)}</b>: MAE "
        f"<b>{_cell(evaluation['mae'])}</b>, RMSE <b>{_cell(evaluation['rmse'])}</b>"
        + (f", R² {r2:.4f}" if r2 is not None else "")
        + f", mean residual {_cell(evaluation['bias'])}.</p>",
        "<div class='figures'>",
        figures.scatter_predicted(evaluation["points"], target),
        figures.scatter_residuals(evaluation["points"], target),
        "</div>",
        "<h3>Error by decile of the actual value</h3>",
    ]
    deciles = evaluation["deciles"]
    parts.append(
        _table(
            ["decile", "actual from", "to", "samples", "MAE", "RMSE", "mean residual"],
            [
                [d["decile"], d["low"], d["high"], d["count"], d["mae"], d["rmse"], d["bias"]]
                for d in deciles
            ],
        )
    )
    parts.append(
        figures.bars(
            [str(d["decile"]) for d in deciles], [d["mae"] for d in deciles], "MAE by decile", "MAE"
        )
    )
    histogram = evaluation.get("residual_histogram") or {}
    if histogram.get("counts"):
        edges = histogram["edges"]
        parts.append("<h3>Residuals</h3>")
        parts.append(
            figures.bars(
                [f"{(a + b) / 2:.3g}" for a, b in pairwise(edges)],
                [float(c) for c in histogram["counts"]],
                "Residual histogram",
                "samples",
            )
        )
    return "\n".join(parts)

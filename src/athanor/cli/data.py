"""``athanor data``: the catalog, imports and what a dataset holds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from athanor.cli.output import console, human_bytes, print_json, table

app = typer.Typer(
    help="Datasets: the built-in catalog, imports of your own data, versions and previews.",
    no_args_is_help=True,
)

_SPARK = " ▁▂▃▄▅▆▇█"


@app.command("catalog")
def show_catalog(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the built-in datasets with their task, size, license and source."""
    from athanor.api import datasets

    entries = datasets.catalog()
    if json_output:
        print_json([entry.to_json() for entry in entries])
        return
    console.print(
        table(
            None,
            ["name", "task", "kind", "size", "license", "source"],
            [(e.name, e.task, e.kind, e.size, e.license, e.source) for e in entries],
        )
    )


@app.command("import")
def import_data(
    path: Annotated[
        Path, typer.Argument(help="CSV/TSV/Parquet, image folder, IDX, text, text class folders.")
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="Name of the dataset.")],
    kind: Annotated[
        str,
        typer.Option(
            help="auto, table, images, idx, text, text_classes, documents (texts to label: a "
            "folder or a CSV text column), series, detection (images with boxes), logs "
            "(raw log lines) or log_keys (one session of keys per line) (default: detect)."
        ),
    ] = "auto",
    box_format: Annotated[
        str | None,
        typer.Option("--format", help="Detection: yolo, coco or voc (default: detect)."),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Target column (tables) or column to forecast (series).")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="Tables: classification or regression (default: infer).")
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Leave out bad rows/files and list them.")
    ] = False,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV and text files.")] = "utf-8",
    time_column: Annotated[
        str | None, typer.Option("--time", help="Series: the timestamp column.")
    ] = None,
    duplicates: Annotated[
        str,
        typer.Option(
            help="Series: rows sharing a timestamp: error (refuse, naming the line), first "
            "(keep the first row) or mean (average them)."
        ),
    ] = "error",
    text_column: Annotated[
        str | None,
        typer.Option("--text-column", help="Documents from a CSV: the text column (def. text)."),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help="Logs: the header, e.g. '<Date> <Time> <Pid> <Level> <Component>: <Content>'.",
        ),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(
            help="Logs: the session id's regex (default HDFS block ids) or 'window:SECONDS'."
        ),
    ] = None,
    time_format: Annotated[
        str | None,
        typer.Option("--time-format", help="Logs: strptime format of <Date> <Time>."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import your data as an immutable version named by its content hash.

    Images or documents beside class folders, or in a folder without any, are imported
    unlabeled: label them with 'athanor label'; training uses only the labeled items.
    """
    from athanor.api import datasets
    from athanor.spec.imports import import_options

    options = import_options(
        values={
            "name": name,
            "kind": kind,
            "target": target,
            "task": task,
            "skip_bad": skip_bad,
            "encoding": encoding,
            "time_column": time_column,
            "duplicates": duplicates,
            **({"text_column": text_column} if text_column else {}),
            **({"format": box_format} if box_format else {}),
            **({"log_format": log_format} if log_format else {}),
            **({"session": session} if session else {}),
            **({"time_format": time_format} if time_format else {}),
        }
    )
    result = datasets.import_dataset(path, options)
    if json_output:
        print_json(result.to_json())
        return
    version = result.version
    verb = "already imported as" if result.reused else "imported as"
    console.print(
        f"{path}: {verb} [bold]{version.ref}[/bold] (version {version.number}; "
        f"{version.kind}, {version.task}, {version.rows:,} rows, "
        f"{human_bytes(version.size_bytes)})"
    )
    if version.kind == "logs":
        info = version.info
        mined = (
            f"{info['templates']} templates mined from {info['lines']:,} lines; "
            if ("templates" in info)
            else ""
        )
        console.print(
            f"  {mined}{info['rows']:,} sessions ({info['class_counts']['normal']:,} normal, "
            f"{info['class_counts']['anomalous']:,} anomalous)"
        )
    if version.kind == "detection":
        info = version.info
        splits = ", ".join(
            f"{split} {c['images']:,} images / {c['boxes']:,} boxes"
            for split, c in info.get("splits", {}).items()
        )
        console.print(
            f"  {info.get('source_format')}: {len(info.get('classes', []))} classes; {splits}"
        )
    unlabeled = version.info.get("unlabeled", 0)
    if unlabeled:
        console.print(
            f"[yellow]{unlabeled:,} of {version.rows:,} items are unlabeled[/yellow]: label them "
            f"with 'athanor label create PROJECT --dataset {version.ref}'; training on this "
            "version uses only the labeled items"
        )
    report = result.report or {}
    skipped = report.get("skipped", [])
    if skipped:
        console.print(f"[yellow]skipped {len(skipped)} item(s):[/yellow]")
        for item in skipped[:20]:
            console.print(f"  {item['item']}: {item['reason']}")
        if len(skipped) > 20:
            console.print(f"  ... and {len(skipped) - 20} more (athanor data show {version.ref})")
    for note in report.get("notes", []):
        console.print(f"note: {note}")

    console.print(f"train on it with: data: {{dataset: {version.name}}}")


@app.command("list")
def list_datasets(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List imported datasets with their newest version."""
    from athanor.api import datasets

    summaries = datasets.list()
    if json_output:
        print_json([s.to_json() for s in summaries])
        return
    if not summaries:
        console.print("no imported datasets yet (athanor data import PATH --name NAME)")
        return
    console.print(
        table(
            None,
            ["name", "versions", "latest", "kind", "task", "rows", "size", "source"],
            [
                (
                    s.name,
                    s.versions,
                    f"{s.latest.number} ({s.latest.short_hash})",
                    s.latest.kind,
                    s.latest.task,
                    f"{s.latest.rows:,}",
                    human_bytes(s.latest.size_bytes),
                    s.latest.source,
                )
                for s in summaries
            ],
        )
    )


@app.command("delete")
def delete_dataset(
    ref: Annotated[
        str, typer.Argument(help="NAME (every version) or NAME@VERSION (a number or hash).")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete an imported dataset or one version, and its files, for good.

    The original can be imported again. Refused while a queued or running job trains on it
    or a labeling project is built on it; model versions trained on it keep working.
    """
    from athanor.api import datasets

    found = datasets.dependents(ref)
    versions = ", ".join(record.ref for record in found.versions)
    if found.model_versions:
        console.print(
            f"{len(found.model_versions)} model version(s) were trained on it "
            f"({', '.join(found.model_versions)}): they keep working but can no longer be "
            "trained again from this data",
            markup=False,
        )
    if not yes and not (found.active_jobs or found.projects):
        typer.confirm(f"delete {versions} for good?", abort=True)
    deleted = datasets.delete(ref)
    console.print(f"deleted {', '.join(record.ref for record in deleted)}")


def _series_option(series: str | None) -> dict[str, Any]:
    return {"series": series} if series else {}


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="A catalog name or an imported NAME[@VERSION].")],
    series: Annotated[str | None, typer.Option(help="NAB: which series.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Schema, counts, class balance, missing values and the import report."""
    from athanor.api import datasets

    info = datasets.show(ref, **_series_option(series))
    if json_output:
        print_json(info)
        return
    title = info.get("ref") or info["name"]
    console.print(f"[bold]{title}[/bold]: {info['kind']}, {info['task']}")
    if "catalog" in info:
        entry = info["catalog"]
        console.print(f"  {entry['description']} ({entry['license']}; {entry['source']})")
    if "samples" in info:
        samples = info["samples"]
        official = samples["official_test"]
        console.print(
            f"  samples: {samples['train']:,}"
            + (f" + an official test split of {official:,}" if official else "")
        )
    if info["kind"] == "detection":
        console.print(
            f"  {info['images']:,} images, {info['boxes']:,} boxes, "
            f"{len(info['classes'])} classes (from {info.get('source_format') or 'boxes'})"
        )
        for split, counts in info["splits"].items():
            console.print(f"  {split}: {counts['images']:,} images, {counts['boxes']:,} boxes")
    for key in ("characters", "distinct_characters", "lines", "steps", "start", "end"):
        if key in info and info[key] is not None:
            console.print(f"  {key.replace('_', ' ')}: {info[key]}")
    if info.get("documents"):
        documents = info["documents"]
        rows = [("all documents", documents["words"], documents["characters"])]
        for name, words in documents.get("words_by_class", {}).items():
            rows.append((name, words, None))
        console.print(
            table(
                "document lengths (words; characters for all)",
                ["documents", "min", "median", "mean", "95th pct", "max", "characters mean"],
                [
                    (
                        label,
                        words["min"],
                        f"{words['median']:g}",
                        f"{words['mean']:g}",
                        f"{words['p95']:g}",
                        words["max"],
                        f"{characters['mean']:g}" if characters else "",
                    )
                    for label, words, characters in rows
                ],
            )
        )
    if info.get("image"):
        sizes = ", ".join(f"{k} ({v})" for k, v in info["image"]["sizes"].items())
        console.print(f"  images: {info['image']['channels']} channel(s); sizes {sizes}")
    if info.get("columns") and isinstance(info["columns"][0], dict):
        target = info.get("target")
        console.print(
            table(
                "columns",
                ["column", "type", "missing", "role"],
                [
                    (c["name"], c["type"], c["missing"], "target" if c["name"] == target else "")
                    for c in info["columns"]
                ],
            )
        )
    if info.get("class_counts"):
        total = sum(info["class_counts"].values()) or 1
        console.print(
            table(
                "class balance",
                ["class", "samples", "share"],
                [(c, f"{n:,}", f"{n / total:.1%}") for c, n in info["class_counts"].items()],
            )
        )
    if info.get("templates"):
        sessions = info["sessions"]
        console.print(
            f"  sessions: {sessions['count']:,} ({sessions['keys']:,} keys, "
            f"{sessions['length_min']}-{sessions['length_max']} per session)"
        )
        console.print(f"log templates ({len(info['templates'])}):", highlight=False)
        for item in info["templates"]:
            console.print(
                f"  key {item['key']} ({item['count']:,} lines): "
                + (item["template"] or "(pre-parsed key)"),
                highlight=False,
                markup=False,
            )
            if item["example"]:
                console.print(f"      e.g. {item['example'][:160]}", highlight=False, markup=False)
    if info.get("anomaly_windows"):
        console.print(f"  labeled anomaly windows: {len(info['anomaly_windows'])}")
        for start, end in info["anomaly_windows"]:
            console.print(f"    {start} .. {end}")
    report = info.get("report") or {}
    if report.get("skipped"):
        console.print(f"[yellow]skipped at import: {report['skipped_count']}[/yellow]")
        for item in report["skipped"][:20]:
            console.print(f"  {item['item']}: {item['reason']}")
    for note in report.get("notes", []):
        console.print(f"note: {note}")


@app.command("stats")
def stats(
    ref: Annotated[str, typer.Argument(help="A catalog name or an imported NAME[@VERSION].")],
    series: Annotated[str | None, typer.Option(help="NAB: which series.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per-column (or per-channel) statistics and class balance."""
    from athanor.api import datasets

    result = datasets.stats(ref, **_series_option(series))
    if json_output:
        print_json(result)
        return

    def number(value: Any) -> str:
        return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)

    if result.get("columns"):
        console.print(
            table(
                f"{ref}: columns",
                ["column", "type", "missing", "mean", "std", "min", "max", "unique", "top"],
                [
                    (
                        c["column"],
                        c["type"],
                        c["missing"],
                        number(c.get("mean")),
                        number(c.get("std")),
                        number(c.get("min")),
                        number(c.get("max")),
                        c.get("unique", ""),
                        ", ".join(f"{v} ({n})" for v, n in c.get("top", [])[:3]),
                    )
                    for c in result["columns"]
                ],
            )
        )
    if result.get("channels"):
        console.print(
            table(
                f"{ref}: pixels (0-1 scale, {result['sampled_images']:,} images)",
                ["channel", "mean", "std"],
                [(c["channel"], f"{c['mean']:.4f}", f"{c['std']:.4f}") for c in result["channels"]],
            )
        )
    if result.get("top_characters"):
        console.print(f"{ref}: {result['characters']:,} characters; most frequent:")
        console.print("  " + ", ".join(f"{c} {n:,}" for c, n in result["top_characters"]))
    if result.get("class_balance"):
        console.print(
            table(
                "class balance",
                ["class", "samples", "share"],
                [
                    (c, f"{v['count']:,}", f"{v['share']:.1%}")
                    for c, v in result["class_balance"].items()
                ],
            )
        )
    if result.get("target"):
        t = result["target"]
        console.print(
            f"target {t['column']}: mean {t['mean']:.4g}, std {t['std']:.4g}, "
            f"min {t['min']:.4g}, max {t['max']:.4g}"
        )


@app.command("preview")
def preview(
    ref: Annotated[str, typer.Argument(help="A catalog name or an imported NAME[@VERSION].")],
    rows: Annotated[int, typer.Option(help="Samples shown.", min=1, max=50)] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the random sample.")] = 0,
    series: Annotated[str | None, typer.Option(help="NAB: which series.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Detection: write a PNG grid of images with their boxes here."),
    ] = None,
    count: Annotated[
        int, typer.Option(help="Detection: images in the PNG grid.", min=1, max=64)
    ] = 16,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sample rows, images drawn in the terminal, text, a series sparkline, or (detection,
    with --out) a PNG of images with their boxes and class names."""
    from athanor.api import datasets

    if out is not None:
        png = datasets.preview_boxes(ref, count=count, seed=seed)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(png)
        if json_output:
            print_json({"out": str(out), "bytes": len(png)})
        else:
            console.print(f"wrote {out} ({human_bytes(len(png))})")
        return
    sample = datasets.preview(ref, rows=rows, seed=seed, **_series_option(series))
    if json_output:
        if sample["kind"] == "image":
            sample = {**sample, "images": [image.tolist() for image in sample["images"]]}
        print_json(sample)
        return
    kind = sample["kind"]
    if kind == "detection":
        for image in sample["images"]:
            classes = Counter(box["class"] for box in image["boxes"])
            console.print(
                f"{image['file']} ({image['width']}x{image['height']}"
                + (f", {image['split']}" if image["split"] else "")
                + f"): {len(image['boxes'])} boxes"
                + (
                    ": " + ", ".join(f"{c} {n}" for c, n in classes.most_common())
                    if classes
                    else ""
                ),
                markup=False,
            )
        console.print("draw them with --out preview.png")
    elif kind == "image":
        from athanor.cli.terminal_images import render_images

        for line in render_images(sample["images"]):
            console.print(line, markup=False)
        console.print(
            "  ".join(f"{str(label)[:14]:<14}" for label in sample["labels"]), markup=False
        )
    elif kind == "tabular":
        columns = list(sample["rows"][0]) if sample["rows"] else []
        console.print(
            table(
                f"{ref}: {len(sample['rows'])} random rows",
                ["line", *columns],
                [
                    (line, *("" if row[c] is None else row[c] for c in columns))
                    for line, row in zip(sample["lines"], sample["rows"], strict=True)
                ],
            )
        )
    elif kind == "sequence":
        console.print(_sparkline(sample["series"]), markup=False)
        columns = list(sample["rows"][0]) if sample["rows"] else []
        console.print(
            table(
                f"{ref}: first steps",
                columns,
                [[row[c] for c in columns] for row in sample["rows"]],
            )
        )
    else:
        console.print(sample["text"], markup=False, highlight=False)


@app.command("export")
def export(
    ref: Annotated[str, typer.Argument(help="An imported detection dataset NAME[@VERSION].")],
    box_format: Annotated[str, typer.Option("--format", help="yolo, coco or voc.")],
    out: Annotated[Path, typer.Option(help="A new (or empty) folder to write.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write a detection dataset's images and boxes as YOLO, COCO JSON or Pascal VOC."""
    from athanor.api import datasets

    result = datasets.export(ref, box_format, out)
    if json_output:
        print_json(result)
        return
    console.print(
        f"wrote {result['images']:,} images and {result['boxes']:,} boxes of {ref} as "
        f"{box_format} to {result['out']}"
    )


def _sparkline(values: list[float], width: int = 100) -> str:
    import numpy as np

    series = np.asarray(values, dtype=float)
    if not len(series):
        return ""
    chunks = np.array_split(series, min(width, len(series)))
    means = np.array([chunk.mean() for chunk in chunks])
    low, high = float(np.nanmin(means)), float(np.nanmax(means))
    scaled = (means - low) / (high - low) if high > low else np.zeros_like(means)
    return "".join(_SPARK[1 + int(v * (len(_SPARK) - 2))] for v in scaled)

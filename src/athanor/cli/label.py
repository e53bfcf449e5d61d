"""``athanor label ...``: labeling projects on imported images and texts.

create, status, items, set, prelabel, accept, export, import, publish, agreement and train;
labels made here are the operating system user's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from athanor.cli.output import console, print_json, table

app = typer.Typer(
    help="Label images and texts: projects, pre-labels, review, formats, versions.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _store():
    from athanor.store import open_store

    return open_store()


def _user() -> str:
    from athanor.label.projects import local_user

    return local_user()


def _print_counts(counts: dict) -> None:
    console.print(
        f"{counts['labeled']:,} of {counts['total']:,} labeled, "
        f"{counts['prelabeled']:,} pre-labeled (to confirm), {counts['unlabeled']:,} unlabeled, "
        f"{counts['rejected']:,} rejected"
    )


def _report(result: dict, json_output: bool, message: str) -> None:
    """Print ``result`` as JSON, or ``message`` then the project's counts from it."""
    if json_output:
        print_json(result)
        return
    console.print(message)
    _print_counts(result["counts"])


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The project's name.")],
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", help="An imported dataset: NAME[@VERSION].")
    ],
    labels: Annotated[
        str | None,
        typer.Option(help="Label names, comma-separated (default: the dataset's classes)."),
    ] = None,
    instructions: Annotated[str, typer.Option(help="What labelers should know.")] = "",
    kind: Annotated[
        str | None,
        typer.Option(help="image, text or detection (boxes on images; default: from the dataset)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a labeling project on an imported dataset (labeled, unlabeled or mixed)."""
    from athanor.label.projects import create_project, project_view
    from athanor.spec.labeling import LabelClass

    store = _store()
    names = [n.strip() for n in (labels or "").split(",") if n.strip()]
    project = create_project(
        store,
        name,
        dataset,
        kind=kind,
        labels=[LabelClass(name=n) for n in names],
        instructions=instructions,
        by=_user(),
    )
    _report(
        project_view(store, project),
        json_output,
        f"project [bold]{project.name}[/bold] on {project.dataset} ({project.kind}); labels: "
        + ", ".join(f"{label['name']} [{label['hotkey']}]" for label in project.labels),
    )


@app.command("status")
def status(
    name: Annotated[str | None, typer.Argument(help="A project (default: list them).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show a project's progress, per-class counts, training and versions (or list all)."""
    from athanor.label.projects import project_view

    store = _store()
    if name is None:
        views = [project_view(store, p) for p in store.labeling.list_projects()]
        if json_output:
            print_json(views)
            return
        console.print(
            table(
                "labeling projects",
                ["name", "dataset", "kind", "labeled", "pre-labeled", "total"],
                [
                    (
                        v["name"],
                        v["dataset"],
                        v["kind"],
                        f"{v['counts']['labeled']:,}",
                        f"{v['counts']['prelabeled']:,}",
                        f"{v['counts']['total']:,}",
                    )
                    for v in views
                ],
            )
        )
        return
    view = project_view(store, store.labeling.get_project(name))
    if json_output:
        print_json(view)
        return
    console.print(f"[bold]{view['name']}[/bold] on {view['dataset']} ({view['kind']})")
    _print_counts(view["counts"])
    per_class = view["counts"]["per_class"]
    console.print(
        table(
            "labels",
            ["label", "key", "boxes" if view["kind"] == "detection" else "items"],
            [
                (lab["name"], lab["hotkey"], f"{per_class.get(lab['name'], 0):,}")
                for lab in view["labels"]
            ],
        )
    )
    if view["training"]:
        training = view["training"]
        console.print(
            f"training: job {training['job_id']} {training['status']}, model {training['model']}"
            + (f" ({training['message']})" if training.get("message") else "")
        )
    for version in view["versions"]:
        console.print(f"published: {version['dataset']} ({version['labels']:,} labels)")


@app.command("items")
def items(
    name: Annotated[str, typer.Argument(help="The project.")],
    state: Annotated[
        str, typer.Option(help="all, unlabeled, prelabeled, labeled or rejected.")
    ] = "all",
    sort: Annotated[str, typer.Option(help="index or uncertainty (most unsure first).")] = "index",
    strategy: Annotated[str, typer.Option(help="least, margin or entropy.")] = "least",
    label: Annotated[str | None, typer.Option(help="Only items of this label.")] = None,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many (1-500).")] = 20,
    json_output: JsonOption = False,
) -> None:
    """List items with their labels and pre-labels."""
    from athanor.label.projects import list_items

    page = list_items(
        _store(),
        name,
        state=state,
        sort=sort,
        strategy=strategy,
        label=label,
        offset=offset,
        limit=limit,
    )
    if json_output:
        print_json(page)
        return
    rows = []
    for item in page["items"]:
        prediction = item["prediction"]
        rows.append(
            (
                str(item["id"]),
                item["name"][:40],
                _label_text(item["label"], item["boxes"]),
                f"{item['source'] or ''} {item['by'] or ''}".strip(),
                f"{_label_text(prediction['label'], prediction['boxes'])} "
                f"({prediction['confidence']:.2f})"
                if prediction
                else "",
                item["review"] or "",
            )
        )
    console.print(
        table(
            f"{name}: {page['total']:,} {state} item(s), from {offset}",
            ["id", "name", "label", "by", "pre-label", "review"],
            rows,
        )
    )


def _label_text(label: str | None, boxes: list | None) -> str:
    """A class label as it is; a box label as its box count and classes."""
    if boxes is None:
        return label or ""
    classes = sorted({box["class"] for box in boxes})
    return f"{len(boxes)} box(es)" + (f": {', '.join(classes)}" if classes else "")


@app.command("set")
def set_labels(
    name: Annotated[str, typer.Argument(help="The project.")],
    assignments: Annotated[
        list[str], typer.Argument(help="ID=LABEL (ID= clears the label), repeatable.")
    ],
    json_output: JsonOption = False,
) -> None:
    """Label items by id: athanor label set PROJECT 0=cat 1=dog."""
    from athanor.errors import UserError
    from athanor.label.projects import label_items

    changes = []
    for assignment in assignments:
        item, sep, label = assignment.partition("=")
        if not sep or not item.strip().isdigit():
            raise UserError(f"'{assignment}': expected ID=LABEL, e.g. 3=cat")
        changes.append((int(item), label.strip() or None))
    result = label_items(_store(), name, changes, by=_user())
    _report(result, json_output, f"labeled {result['updated']} item(s)")


@app.command("prelabel")
def prelabel(
    name: Annotated[str, typer.Argument(help="The project.")],
    model: Annotated[str, typer.Option(help="A registered model: NAME[@VERSION|@ALIAS].")],
    min_score: Annotated[
        float | None,
        typer.Option(help="Detectors: the lowest box score kept (default: the detector's)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Pre-label every unlabeled item with a registered model (answers wait to be confirmed)."""
    from athanor.label.prelabel import prelabel as run_prelabel

    result = run_prelabel(_store(), name, model, min_score=min_score)
    _report(
        result, json_output, f"pre-labeled {result['prelabeled']:,} item(s) with {result['model']}"
    )


@app.command("accept")
def accept(
    name: Annotated[str, typer.Argument(help="The project.")],
    min_confidence: Annotated[
        float | None, typer.Option(help="Accept every pre-label at this confidence or above.")
    ] = None,
    ids: Annotated[str | None, typer.Option(help="Accept these items: 1,2,3.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Make pre-labels labels (source model, review accepted)."""
    from athanor.errors import UserError
    from athanor.label.projects import accept as run_accept

    chosen = None
    if ids is not None:
        try:
            chosen = [int(i) for i in ids.split(",") if i.strip()]
        except ValueError:
            raise UserError(f"--ids: '{ids}' is not a list of item ids like 1,2,3") from None
    result = run_accept(_store(), name, ids=chosen, min_confidence=min_confidence, by=_user())
    _report(result, json_output, f"accepted {result['updated']:,} pre-label(s)")


@app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="The project.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    format: Annotated[
        str | None,
        typer.Option(
            help="csv, labelstudio or folders (a zip); box projects: coco, voc, yolo (a zip "
            "with the images) or labelstudio (default: csv, or coco for boxes)."
        ),
    ] = None,
) -> None:
    """Write the project's labels as CSV, Label Studio JSON, class folders or box formats."""
    from athanor.label.formats import export_labels

    store = _store()
    if format is None:
        format = "coco" if store.labeling.get_project(name).kind == "detection" else "csv"
    content = export_labels(store, name, format)
    output.write_bytes(content)
    console.print(f"wrote {output} ({len(content):,} bytes, {format})")


@app.command("import")
def import_file(
    name: Annotated[str, typer.Argument(help="The project.")],
    path: Annotated[
        Path,
        typer.Argument(
            help="A labels file (.csv or Label Studio .json); box projects: a COCO, VOC or "
            "YOLO zip or folder, or Label Studio .json."
        ),
    ],
    format: Annotated[
        str | None,
        typer.Option(
            help="csv or labelstudio; box projects: coco, voc, yolo or labelstudio (default: "
            "from the suffix; a box project's zip or folder: detected)."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Read labels (CSV, Label Studio JSON; boxes as COCO, VOC, YOLO) into the project."""
    from athanor.errors import DataError
    from athanor.label.formats import import_labels

    store = _store()
    boxes = store.labeling.get_project(name).kind == "detection"
    if not path.is_file() and not (boxes and path.is_dir()):
        raise DataError(f"{path}: no such file" + (" or folder" if boxes else ""))
    if format is not None:
        chosen = format
    elif path.suffix.lower() == ".json":
        chosen = "labelstudio"
    elif boxes:
        chosen = _box_format(path)
    else:
        chosen = "csv"
    content = path if path.is_dir() else path.read_bytes()
    result = import_labels(store, name, chosen, content, by=_user())
    _report(
        result,
        json_output,
        f"imported {result['imported']:,} label(s) and {result['predictions']:,} pre-label(s)",
    )


def _box_format(path: Path) -> str:
    """The detection format of a folder or of a zip's names (YOLO, VOC or COCO)."""
    import zipfile

    from athanor.data.box_formats import detect_format
    from athanor.errors import DataError

    if path.is_dir():
        return detect_format(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        raise DataError(f"{path}: not a zip; give --format") from None
    if any(n.startswith("Annotations/") for n in names):
        return "voc"
    if any(n.endswith("data.yaml") or n.startswith("labels/") for n in names):
        return "yolo"
    return "coco"


@app.command("publish")
def publish(
    name: Annotated[str, typer.Argument(help="The project.")],
    json_output: JsonOption = False,
) -> None:
    """Snapshot the labels as a dataset version that train, tune and auto use."""
    from athanor.label.publish import publish as run_publish

    result = run_publish(_store(), name)
    if json_output:
        print_json(result)
        return
    console.print(
        f"published [bold]{result['dataset']}[/bold]: {result['labels']:,} labels "
        f"({result['from_model']:,} confirmed from a model)"
    )


@app.command("agreement")
def agreement(
    name: Annotated[str, typer.Argument(help="The project.")],
    iou: Annotated[
        float,
        typer.Option("--iou", min=0.1, max=0.95, help="Boxes: the IoU that matches two boxes."),
    ] = 0.5,
    json_output: JsonOption = False,
) -> None:
    """How far labelers agree on the items two or more of them labeled, and the least
    agreed items."""
    from athanor.label.agreement import agreement as report

    result = report(_store(), name, iou=iou)
    if json_output:
        print_json(result)
        return
    if not result["items_with_several"]:
        console.print("No item has labels from two people yet.")
        return
    share = lambda value: "-" if value is None else f"{value:.1%}"  # noqa: E731
    decimals = lambda value: "-" if value is None else f"{value:.3f}"  # noqa: E731
    boxes = result["kind"] == "boxes"
    summary = f"{result['items_with_several']:,} items labeled by two or more people: "
    if boxes:
        summary += (
            f"box F1 {share(result['agreement'])} at IoU {result['iou']:g}, mean IoU "
            f"{decimals(result['mean_iou'])}, same class {share(result['class_agreement'])}"
        )
    else:
        summary += (
            f"agreement {share(result['agreement'])}, Cohen's kappa {decimals(result['kappa'])}"
        )
    console.print(summary)
    columns = ["people", "items", "box F1" if boxes else "agreement"]
    columns += ["boxes", "matched", "mean IoU"] if boxes else ["kappa"]
    rows = []
    for pair in result["pairs"]:
        row = [f"{pair['a']} / {pair['b']}", f"{pair['items']:,}", share(pair["agreement"])]
        if boxes:
            boxes_drawn = f"{pair['boxes_a']:,} / {pair['boxes_b']:,}"
            row += [boxes_drawn, f"{pair['matched']:,}", decimals(pair["mean_iou"])]
        else:
            row.append(decimals(pair["kappa"]))
        rows.append(row)
    console.print(table("pairs of labelers", columns, rows))
    if result["disputed"]:
        console.print(
            table(
                "least agreed items",
                ["item", "file", "agreement", "people"],
                [
                    (str(d["item"]), d["name"], share(d["agreement"]), ", ".join(d["people"]))
                    for d in result["disputed"]
                ],
            )
        )


@app.command("train")
def train(
    name: Annotated[str, typer.Argument(help="The project.")],
    template: Annotated[
        str,
        typer.Option(
            help="auto (a small network for the data) or a template name (centernet for boxes)."
        ),
    ] = "auto",
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 5; 10 for boxes).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Publish the labels, train on them here (a detector for a box project), register the
    model and pre-label the rest."""
    from athanor.label.prelabel import prelabel as run_prelabel
    from athanor.label.training import publish_for_training, record_training
    from athanor.runs import train as run_training

    store = _store()
    published, spec = publish_for_training(store, name, template=template, epochs=epochs)
    result = run_training(spec, progress=not (quiet or json_output))
    model = result.model_version.ref if result.model_version is not None else None
    record_training(
        store, name, job_id=result.run.id, status=result.run.status, model=model, message=""
    )
    outcome = None
    if model is not None and result.run.status == "succeeded":
        outcome = run_prelabel(store, name, model)
        record_training(store, name, status="prelabeled", prelabeled=outcome["prelabeled"])
    if json_output:
        print_json(
            {
                "dataset": published["dataset"],
                "run": result.run.id,
                "status": result.run.status,
                "model": model,
                "test_metrics": result.test_metrics,
                "prelabeled": outcome["prelabeled"] if outcome else 0,
            }
        )
        return
    console.print(
        f"trained run {result.run.id} on {published['dataset']}: {result.run.status}; model {model}"
    )
    for metric, value in (result.test_metrics or {}).items():
        console.print(f"  test {metric}: {value:.4f}")
    if outcome:
        console.print(f"pre-labeled {outcome['prelabeled']:,} item(s) with {model}")
        _print_counts(outcome["counts"])

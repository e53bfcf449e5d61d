"""``athanor models list|show|alias|tag|describe|delete|export|import``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from athanor.cli.output import ago, console, print_json, table

app = typer.Typer(
    help="Registered models: versions, aliases, tags, export and import.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_models(json_output: JsonOption = False) -> None:
    """List registered models with their number of versions and their aliases."""
    from athanor.api import models

    records = models.list()
    if json_output:
        print_json([record.to_json() for record in records])
        return
    if not records:
        console.print("no models registered yet: try 'athanor quickstart'")
        return
    console.print(
        table(
            None,
            ["name", "versions", "latest", "aliases", "created"],
            [
                (
                    r.name,
                    r.versions,
                    f"{r.name}@{r.latest}" if r.latest else "",
                    ", ".join(f"{alias} -> {version}" for alias, version in r.aliases.items()),
                    ago(r.created_at),
                )
                for r in records
            ],
        )
    )


@app.command("versions")
def list_versions(
    name: Annotated[str, typer.Argument(help="A model name.")],
    json_output: JsonOption = False,
) -> None:
    """List the versions of a model with their aliases, tags and headline metrics."""
    from athanor.api import models

    records = models.versions(name)
    if json_output:
        print_json([record.to_json() for record in records])
        return
    rows = []
    for r in records:
        headline = {k: v for k, v in r.metrics.items() if k.startswith("test_")} or r.metrics
        rows.append(
            (
                r.ref,
                ", ".join(r.aliases),
                ", ".join(f"{k}={v}" if v else k for k, v in r.tags.items()),
                "  ".join(f"{k} {v:.4g}" for k, v in sorted(headline.items())[:3]),
                ago(r.created_at),
            )
        )
    console.print(table(name, ["version", "aliases", "tags", "metrics", "created"], rows))


@app.command("show")
def show_model(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME@ALIAS.")],
    json_output: JsonOption = False,
) -> None:
    """Show a version: metrics, inputs and outputs, classes, lineage, aliases, tags, package."""
    from athanor.api import models

    data = models.show(ref)
    if json_output:
        print_json(data)
        return
    schema = data["schema"]
    console.print(f"[bold]{data['ref']}[/bold]  created {data['created_at']}")
    if data["description"]:
        console.print(f"  {data['description']}")
    if data["aliases"]:
        console.print(f"  aliases: {', '.join(data['aliases'])}")
    if data["tags"]:
        console.print("  tags: " + ", ".join(f"{k}={v}" for k, v in data["tags"].items()))
    (inputs,) = data["signature"]["inputs"]
    (outputs,) = data["signature"]["outputs"]
    console.print(
        f"  task: {schema['task']}   parameters: {data['parameters']:,}\n"
        f"  input: {inputs['kind']} {inputs['shape']} ({inputs['dtype']})   "
        f"output: {outputs['name']} {outputs['shape']}"
    )
    if schema.get("classes"):
        console.print(f"  classes: {', '.join(schema['classes'])}")
    anomaly = data.get("anomaly")
    if anomaly and anomaly.get("rule") == "top_g":  # a log model (task next_key)
        console.print(
            f"  anomaly rule: a key outside the top {anomaly['top_g']} after the last "
            f"{anomaly['window']} keys ({anomaly.get('chosen', 'spec')})",
            highlight=False,
        )
    elif anomaly:
        rule = (
            f"quantile {anomaly.get('quantile')}"
            if anomaly.get("method") == "quantile"
            else f"mean + {anomaly.get('k')} sd"
        )
        console.print(
            f"  anomaly threshold: {anomaly['value']:.4g} ({rule} of the "
            f"{anomaly.get('split', 'val')} split's timestamp scores)",
            highlight=False,
        )
    quantized = data.get("quantization")
    if quantized:
        console.print(
            f"  precision: INT8 ({quantized['method']} quantization of "
            f"{data['lineage'].get('quantized_from', {}).get('ref')}; test "
            f"{quantized['metric']} {quantized['fp32']:.4g} -> {quantized['int8']:.4g}, "
            f"size {quantized['size_ratio']:.2f}x), served by onnxruntime",
            highlight=False,
        )
    lineage = data["lineage"]
    code = lineage.get("code") or {}
    console.print(
        f"  from run {lineage.get('run_id')} on dataset {lineage.get('dataset')} "
        f"(seed {data['spec'].get('seed')}, {data.get('producer')}, torch {lineage.get('torch')}"
        + (
            f", code {code['commit'][:12]}{' (modified)' if code.get('dirty') else ''}"
            if code.get("commit")
            else ""
        )
        + ")"
    )
    if lineage.get("parent"):
        console.print(f"  initialized from: {lineage['parent']} (train.init_from)")
    console.print(
        table(
            "metrics",
            ["metric", "value"],
            [(n, f"{v:.4f}") for n, v in sorted(data["metrics"].items())],
        )
    )
    console.print(f"  package: {data['package_path']}")
    console.print(f"  content hash: {data['content_hash']}")


@app.command("alias")
def alias_model(
    name: Annotated[str, typer.Argument(help="A model name.")],
    alias: Annotated[str, typer.Argument(help="The alias, e.g. production or staging.")],
    version: Annotated[
        str | None,
        typer.Argument(help="The version (a number, or another alias) it points at."),
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
) -> None:
    """Point NAME@ALIAS at a version (servers following it swap), or remove it."""
    from athanor.api import models
    from athanor.errors import UserError

    if delete:
        was = models.remove_alias(name, alias)
        console.print(f"removed {name}@{alias} (pointed at {name}@{was})")
        return
    if version is None:
        raise UserError(f"give the version {name}@{alias} should point at, or --delete")
    record, previous = models.set_alias(name, alias, version)
    moved = f" (was {name}@{previous})" if previous not in (None, record.version) else ""
    console.print(f"{name}@{alias} -> {record.ref}{moved}")


@app.command("tag")
def tag_model(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION or NAME@ALIAS.")],
    tags: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE (or a bare KEY) tags to set.")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", "-r", help="A tag key to remove.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Set or remove tags on a version."""
    from athanor.api import models
    from athanor.errors import UserError

    parsed: dict[str, str] = {}
    for text in tags or []:
        key, _, value = text.partition("=")
        key = key.strip()
        if not key or len(key) > 100:
            raise UserError(f"tag '{text}': write KEY=VALUE (a key of 1-100 characters)")
        parsed[key] = value
    if not parsed and not remove:
        raise UserError("give KEY=VALUE tags to set or --remove KEY")
    record = models.tag(ref, parsed, remove=remove or [])
    if json_output:
        print_json(record.to_json())
        return
    shown = ", ".join(f"{k}={v}" if v else k for k, v in record.tags.items()) or "none"
    console.print(f"{record.ref} tags: {shown}")


@app.command("describe")
def describe_model(
    ref: Annotated[str, typer.Argument(help="NAME (the model) or NAME@VERSION.")],
    description: Annotated[str, typer.Argument(help="The new description.")],
) -> None:
    """Set the description of a model or of one version."""
    from athanor.api import models

    models.describe(ref, description)
    console.print(f"described {ref}")


@app.command("delete")
def delete_model(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION (one version) or NAME (all).")],
    force: Annotated[
        bool, typer.Option("--force", help="Also when an alias points at it (removes the alias).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
) -> None:
    """Delete a version, or a whole model, with its package files."""
    from athanor.api import models
    from athanor.errors import NotFound, UserError

    if "@" not in ref and not yes:
        count = next((m.versions for m in models.list() if m.name == ref), None)
        if count is None:
            raise NotFound(f"no model named '{ref}' (see 'athanor models list')")
        if not typer.confirm(f"delete model {ref} and its {count} version(s)?", default=False):
            raise UserError("not deleted")
    deleted = models.delete(ref, force=force)
    console.print("deleted " + ", ".join(record.ref for record in deleted))


@app.command("export")
def export_model(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME@ALIAS.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="package (folder), zip, onnx or torchscript.")
    ] = "package",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File or folder to write (default NAME-vN.<ext>)."),
    ] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset, 17-20.")] = 17,
    tolerance: Annotated[
        float, typer.Option(help="Largest output difference accepted from the export.")
    ] = 1e-4,
    quantize: Annotated[
        str | None,
        typer.Option(
            "--quantize",
            help="int8: quantize the ONNX graph (static with calibration for convolutional "
            "networks, dynamic for dense and recurrent ones), measured on the test split.",
        ),
    ] = None,
    max_drop: Annotated[
        float,
        typer.Option(
            "--max-drop",
            help="Refuse an INT8 graph losing more than this: accuracy as a fraction "
            "(0.01 = one point), or the relative RMSE increase for regression.",
        ),
    ] = 0.01,
    calibration: Annotated[
        int,
        typer.Option(
            "--calibration", help="Training samples that calibrate a convolutional network."
        ),
    ] = 512,
    register: Annotated[
        str | None,
        typer.Option(
            "--register",
            help="Also register the INT8 graph as the next version of this model name.",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Export a version: its package (folder or zip), ONNX (FP32 or INT8) or TorchScript."""
    from athanor.api import models

    result = models.export(
        ref,
        output,
        format,
        opset=opset,
        tolerance=tolerance,
        overwrite=overwrite,
        quantize=quantize,
        max_drop=max_drop,
        calibration=calibration,
        register=register,
    )
    if json_output:
        print_json(result.to_json())
        return
    console.print(f"exported {ref} as {result.format} to {result.path} in {result.seconds:.2f}s")
    if result.max_abs_diff is not None:
        console.print(
            f"  checked on {result.checked_samples} samples: max abs difference "
            f"{result.max_abs_diff:.3g} (tolerance {tolerance:g})"
        )
    report = result.details.get("quantization")
    if report:
        print_quantization(report)
    console.print(f"  package hash: {result.content_hash}")
    if result.details.get("registered"):
        console.print(f"  registered as [bold]{result.details['registered']}[/bold] (onnxruntime)")


def print_quantization(report: dict) -> None:
    """The INT8 measurement: method, test score change, size and latency ratios."""
    from athanor.registry.export.quantization import describe_change

    method = (
        f"static QDQ, calibrated on {report['calibration_samples']} training samples"
        if report["method"] == "static"
        else "dynamic (INT8 weights, activation ranges per batch)"
    )
    metric = report["metric"]
    rows = [
        (
            f"test {metric}",
            f"{report['fp32']:.4f}",
            f"{report['int8']:.4f}",
            describe_change(report),
        ),
        (
            "file size",
            f"{report['fp32_bytes']:,} B",
            f"{report['int8_bytes']:,} B",
            f"{report['size_ratio']:.2f}x",
        ),
        (
            "latency (1 sample)",
            f"{report['fp32_latency_ms']:.3f} ms",
            f"{report['int8_latency_ms']:.3f} ms",
            f"{report['latency_ratio']:.2f}x",
        ),
    ]
    if "int8_mae" in report:
        rows.insert(1, ("test mae", f"{report['fp32_mae']:.4f}", f"{report['int8_mae']:.4f}", ""))
    console.print(f"  INT8: {method}; {report['test_samples']} test samples", highlight=False)
    console.print(table(None, ["", "FP32", "INT8", "change"], rows))
    bound = (
        f"{report['max_drop'] * 100:.2f} accuracy points"
        if metric == "accuracy"
        else f"{report['max_drop'] * 100:.2f}% of the RMSE"
    )
    console.print(f"  allowed loss: {bound} (--max-drop {report['max_drop']:g})", highlight=False)


@app.command("import")
def import_model(
    source: Annotated[Path, typer.Argument(help="A package folder or zip from 'models export'.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Register under this name (default: its own).")
    ] = None,
    expect_hash: Annotated[
        str | None,
        typer.Option("--hash", help="Refuse the package unless its content hash is this."),
    ] = None,
    description: Annotated[str, typer.Option(help="Description of the new version.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Register an exported package as a new version, after verifying every file."""
    from athanor.api import models

    record = models.import_(source, name, expected_hash=expect_hash, description=description)
    if json_output:
        print_json(record.to_json())
        return
    console.print(f"imported {source} as [bold]{record.ref}[/bold] (hash {record.content_hash})")

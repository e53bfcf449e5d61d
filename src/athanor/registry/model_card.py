"""The model card (README.md) written into every package."""

from __future__ import annotations

from typing import Any


def render_model_card(
    *,
    title: str,
    spec: dict[str, Any],
    schema: dict[str, Any],
    metrics: dict[str, float],
    lineage: dict[str, Any],
    parameters: int,
    layers: list[tuple[str, str, str]],
) -> str:
    """Markdown describing what the model is, how it was made and how well it does.

    ``layers`` holds (name, type, output shape) rows.
    """
    task = schema["task"]
    lines = [
        f"# {title}",
        "",
        spec.get("description") or f"A {task} model trained by Athanor.",
        "",
        "## Data",
        f"- dataset: `{lineage.get('dataset', spec['data']['dataset'])}`",
        f"- task: {task}",
        f"- input: {schema['input']['kind']} {schema['input']['shape']}",
    ]
    if schema.get("classes"):
        lines.append(f"- classes ({len(schema['classes'])}): {', '.join(schema['classes'])}")
    split = lineage.get("split", {})
    if split:
        lines.append(f"- split sizes: {split.get('sizes')} (seed {split.get('seed')})")
    lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items())]
    lines += [
        "",
        "## Network",
        "",
        f"{parameters:,} parameters.",
        "",
        "| layer | type | output shape |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {kind} | {shape} |" for name, kind, shape in layers]
    lines += [
        "",
        "## Lineage",
        f"- run: {lineage.get('run_id')}",
        f"- seed: {spec.get('seed')}",
        *_code_lines(lineage.get("code") or {}),
        "",
        "## Use",
        "```python",
        "import athanor as at",
        f'model = at.models.load("{title}")',
        "model.predict(inputs)",
        "```",
        "",
    ]
    return "\n".join(lines)


def _code_lines(code: dict[str, Any]) -> list[str]:
    if not code:
        return []
    line = f"- code: athanor {code.get('athanor')}"
    if code.get("commit"):
        line += f", commit {code['commit']}" + (
            " (with uncommitted changes)" if code.get("dirty") else ""
        )
    return [line]

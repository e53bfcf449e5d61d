"""The figures of a run's report as SVG text: no plotting library, nothing fetched, so a
report opens anywhere, offline, and stays small.

Each function takes plain numbers (as stored by :mod:`athanor.runs.evaluation`) and returns
an ``<svg>`` element sized in pixels, with a ``<title>`` for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

_FONT = 'font-family="sans-serif" font-size="11"'
_ACCENT = "#2563eb"
_MUTED = "#9ca3af"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="figure"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, content: str, anchor: str = "middle", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {_FONT} {extra}>'
        f"{escape(content)}</text>"
    )


def confusion_heatmap(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> str:
    """The confusion matrix as a heatmap: rows the true class, columns the predicted one;
    each cell shaded by its share of the row (recall), with its count."""
    size = len(classes)
    cell = max(14, min(44, 440 // max(size, 1)))
    margin = 30 + min(90, 7 * max((len(c) for c in classes), default=1))
    width = height = margin + cell * size + 10
    body = []
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total
            colour = (
                f"rgba(37,99,235,{0.08 + 0.92 * share:.3f})"
                if i == j
                else f"rgba(220,38,38,{0.9 * share:.3f})"
                if count
                else "#f9fafb"
            )
            x, y = margin + j * cell, margin + i * cell
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{colour}" '
                f'stroke="#e5e7eb"><title>{escape(classes[i])} → {escape(classes[j])}: '
                f"{count}</title></rect>"
            )
            if cell >= 22 and count:
                fill = 'fill="#fff"' if share > 0.55 else ""
                body.append(_text(x + cell / 2, y + cell / 2 + 4, str(count), extra=fill))
    for k, name in enumerate(classes):
        label = name if len(name) <= 12 else name[:11] + "…"
        body.append(_text(margin - 4, margin + k * cell + cell / 2 + 4, label, "end"))
        cx = margin + k * cell + cell / 2
        body.append(
            _text(cx, margin - 6, label, "start", f'transform="rotate(-45 {cx:.1f} {margin - 6})"')
        )
    body.append(
        _text(
            12,
            margin + cell * size / 2,
            "actual",
            extra=f'transform="rotate(-90 12 {margin + cell * size / 2:.1f})"',
        )
    )
    body.append(_text(margin + cell * size / 2, 12, "predicted"))
    return _svg(width, height, "Confusion matrix", body)


def _axes(
    width: int,
    height: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    x_label: str,
    y_label: str,
    *,
    x_ticks: bool = True,
) -> tuple[list[str], Callable[[float, float], tuple[float, float]]]:
    """Axes with five ticks each (none on x without ``x_ticks``); returns the elements and
    a data -> pixel mapping."""
    left, right, top, bottom = 52, 12, 12, 40
    (x0, x1), (y0, y1) = x_range, y_range
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / (x1 - x0) * (width - left - right),
            height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom),
        )

    body = [
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="#fff" stroke="#d1d5db"/>'
    ]
    for k in range(5):
        xv = x0 + (x1 - x0) * k / 4
        yv = y0 + (y1 - y0) * k / 4
        px, _ = at(xv, y0)
        _, py = at(x0, yv)
        if x_ticks:
            body.append(_text(px, height - bottom + 14, _tick(xv)))
        body.append(_text(left - 4, py + 4, _tick(yv), "end"))
    body.append(_text(left + (width - left - right) / 2, height - 6, x_label))
    body.append(
        _text(
            12,
            top + (height - top - bottom) / 2,
            y_label,
            extra=f'transform="rotate(-90 12 {top + (height - top - bottom) / 2:.1f})"',
        )
    )
    return body, at


def _tick(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 10_000 else f"{value:.2e}"


def curve(
    points: Sequence[Sequence[float]],
    title: str,
    x_label: str,
    y_label: str,
    *,
    diagonal: bool = False,
    width: int = 320,
    height: int = 280,
) -> str:
    """A curve on the unit square (ROC with its chance diagonal, precision-recall)."""
    body, at = _axes(width, height, (0.0, 1.0), (0.0, 1.0), x_label, y_label)
    if diagonal:
        (ax, ay), (bx, by) = at(0, 0), at(1, 1)
        body.append(
            f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" '
            f'stroke="{_MUTED}" stroke-dasharray="4 3"/>'
        )
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(p[0], p[1]) for p in points))
    body.append(f'<polyline points="{path}" fill="none" stroke="{_ACCENT}" stroke-width="2"/>')
    return _svg(width, height, title, body)


def scatter_predicted(
    points: Sequence[Sequence[float]], target: str, *, width: int = 360, height: int = 320
) -> str:
    """Predicted against actual values, with the line where they are equal."""
    values = [v for p in points for v in p if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    body, at = _axes(
        width, height, (low, high), (low, high), f"actual {target}", f"predicted {target}"
    )
    (ax, ay), (bx, by) = at(low, low), at(high, high)
    body.append(
        f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" '
        f'stroke="{_MUTED}" stroke-dasharray="4 3"/>'
    )
    for actual, predicted in points:
        if actual is None or predicted is None:
            continue
        x, y = at(actual, predicted)
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{_ACCENT}" fill-opacity="0.55"/>'
        )
    return _svg(width, height, "Predicted against actual", body)


def scatter_residuals(
    points: Sequence[Sequence[float]], target: str, *, width: int = 360, height: int = 320
) -> str:
    """Residuals (predicted - actual) against the actual value, around zero."""
    pairs = [(a, p - a) for a, p in points if a is not None and p is not None]
    xs = [a for a, _ in pairs] or [0.0, 1.0]
    extent = max((abs(r) for _, r in pairs), default=1.0) or 1.0
    body, at = _axes(
        width, height, (min(xs), max(xs)), (-extent, extent), f"actual {target}", "residual"
    )
    (ax, ay), (bx, by) = at(min(xs), 0), at(max(xs), 0)
    body.append(
        f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{_MUTED}" '
        'stroke-dasharray="4 3"/>'
    )
    for actual, residual in pairs:
        x, y = at(actual, residual)
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="#dc2626" fill-opacity="0.5"/>'
        )
    return _svg(width, height, "Residuals", body)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    y_label: str,
    *,
    width: int = 420,
    height: int = 260,
) -> str:
    """Vertical bars, one per label (error by decile, a residual histogram)."""
    finite = [v for v in values if v is not None]
    top = max(finite, default=1.0) or 1.0
    body, at = _axes(
        width, height, (0.0, float(len(values))), (0.0, top), "", y_label, x_ticks=False
    )
    for k, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is None:
            continue
        (x0, y0), (x1, y1) = at(k + 0.12, 0), at(k + 0.88, value)
        body.append(
            f'<rect x="{x0:.1f}" y="{y1:.1f}" width="{x1 - x0:.1f}" height="{y0 - y1:.1f}" '
            f'fill="{_ACCENT}"><title>{escape(label)}: {value:.4g}</title></rect>'
        )
    step = max(1, len(labels) // 10)
    for k in range(0, len(labels), step):
        x, _ = at(k + 0.5, 0)
        body.append(_text(x, height - 40 + 14, labels[k]))
    return _svg(width, height, title, body)


def lines(
    series: dict[str, Sequence[tuple[float, float]]],
    title: str,
    x_label: str,
    y_label: str,
    *,
    width: int = 420,
    height: int = 260,
) -> str:
    """A few named series of (x, y) points (a learning curve), with a legend."""
    colours = [_ACCENT, "#dc2626", "#16a34a", "#9333ea", "#ea580c"]
    points = [p for values in series.values() for p in values if p[1] is not None]
    xs = [p[0] for p in points] or [0.0, 1.0]
    ys = [p[1] for p in points] or [0.0, 1.0]
    body, at = _axes(width, height, (min(xs), max(xs)), (min(ys), max(ys)), x_label, y_label)
    for k, (name, values) in enumerate(series.items()):
        colour = colours[k % len(colours)]
        path = " ".join(
            f"{x:.1f},{y:.1f}" for x, y in (at(px, py) for px, py in values if py is not None)
        )
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body.append(
            f'<rect x="{width - 110}" y="{18 + 14 * k}" width="10" height="3" fill="{colour}"/>'
        )
        body.append(_text(width - 96, 22 + 14 * k, name, "start"))
    return _svg(width, height, title, body)

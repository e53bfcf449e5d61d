"""``athanor predict`` with a series model: per-timestamp anomaly scores and flagged
intervals, or a forecast ahead of the series' end; CSV files and an optional plot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from athanor.cli.output import console, print_json, table

if TYPE_CHECKING:
    from athanor.serve.predictor import Predictor

SHOWN_INTERVALS = 20


def predict_series(
    predictor: Predictor,
    sources: list[Path],
    *,
    output: Path | None,
    plot: Path | None,
    threshold: float | None,
    duplicates: str,
    json_output: bool,
) -> None:
    """Window one series CSV for ``predictor`` and write what it finds.

    Anomaly detectors write ``OUTPUT`` (default ``<series>-anomalies.csv``: timestamp,
    values, score, anomaly) and ``<OUTPUT stem>-intervals.csv``; forecasters write
    ``OUTPUT`` (default ``<series>-forecast.csv``: the future timestamps and values).
    """
    from athanor.errors import PredictionInputError
    from athanor.serve.series_plots import plot_anomalies, plot_forecast
    from athanor.serve.series_prediction import detect_anomalies, forecast, read_series

    if len(sources) != 1 or sources[0].suffix.lower() not in (".csv", ".tsv"):
        raise PredictionInputError(
            f"{predictor.ref} reads a time series: give one CSV file with a timestamp column "
            "and the value column(s) it was trained on"
        )
    source = sources[0]
    if not source.is_file():
        raise PredictionInputError(f"{source}: no such file")
    series = read_series(predictor, source, duplicates=duplicates)
    if not json_output:  # JSON carries them under "notes"
        for note in series.notes:
            console.print(f"note: {note}", highlight=False)
    if predictor.schema.task == "forecasting":
        result = forecast(predictor, series)
        output = output or Path(f"{source.stem}-forecast.csv")
        result.write_csv(output)
        if plot is not None:
            plot_forecast(result, plot)
        if json_output:
            print_json({**result.to_json(), "output": str(output), "plot": _str(plot)})
            return
        console.print(
            table(
                f"{predictor.ref}: {len(result.timestamps)} step(s) after {source.name}",
                ["timestamp", *result.targets],
                [
                    (str(row["timestamp"]), *(f"{row[t]:.4g}" for t in result.targets))
                    for row in result.rows()
                ],
            )
        )
        console.print(f"forecast written to {output}" + (f"; plot: {plot}" if plot else ""))
        return
    result = detect_anomalies(predictor, series, threshold=threshold)
    output = output or Path(f"{source.stem}-anomalies.csv")
    intervals_path = output.with_name(f"{output.stem}-intervals.csv")
    result.write_csv(output)
    result.write_intervals_csv(intervals_path)
    if plot is not None:
        plot_anomalies(result, plot)
    if json_output:
        payload = result.to_json()
        print_json(
            {
                "model": payload["model"],
                "threshold": payload["threshold"],
                "threshold_method": payload["threshold_method"],
                "timestamps": len(series.timestamps),
                "flagged": payload["flagged"],
                "intervals": payload["intervals"],
                "output": str(output),
                "intervals_file": str(intervals_path),
                "plot": _str(plot),
                "notes": series.notes,
            }
        )
        return
    method = result.threshold_record
    how = (
        f"{method.get('quantile', 0) * 100:g}th percentile"
        if method.get("method") == "quantile"
        else f"mean + {method.get('k')} sd"
        if method.get("method") == "sigma"
        else "given"
    )
    console.print(
        f"{predictor.ref}: {int(result.flags.sum()):,} of {len(series.timestamps):,} "
        f"timestamp(s) flagged in {len(result.intervals)} interval(s) (threshold "
        f"{result.threshold:.4g}, {how}"
        + (f" of {method['split']} scores" if method.get("split") else "")
        + ")",
        highlight=False,
    )
    if result.intervals:
        console.print(
            table(
                "flagged intervals",
                ["start", "end", "steps", "peak score", "peak at"],
                [
                    (
                        i["start"],
                        i["end"],
                        str(i["steps"]),
                        f"{i['peak_score']:.4g}",
                        i["peak_time"],
                    )
                    for i in (x.to_json() for x in result.intervals[:SHOWN_INTERVALS])
                ],
            )
        )
        if len(result.intervals) > SHOWN_INTERVALS:
            console.print(f"... and {len(result.intervals) - SHOWN_INTERVALS} more")
    console.print(
        f"scores and flags written to {output}; intervals to {intervals_path}"
        + (f"; plot: {plot}" if plot else ""),
        highlight=False,
    )


def _str(path: Path | None) -> str | None:
    return str(path) if path is not None else None

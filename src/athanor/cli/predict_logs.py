"""``athanor predict`` with a log model: the anomalous sessions of a log, each with its
unexpected lines and their templates; every session's verdict into a CSV with --output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from athanor.cli.output import console, print_json

if TYPE_CHECKING:
    from athanor.serve.predictor import Predictor

SHOWN_SESSIONS = 20
SHOWN_LINES = 5


def predict_logs(
    predictor: Predictor,
    sources: list[Path],
    *,
    output: Path | None,
    top_g: int | None,
    json_output: bool,
) -> None:
    """Flag the sessions of each log file; print the flagged ones (or JSON), and write
    every session's verdict to ``output`` when given (one file: that path; several:
    ``OUTPUT-<log name>.csv``)."""
    from athanor.serve.log_prediction import detect_log_anomalies

    results = []
    for source in sources:
        result = detect_log_anomalies(predictor, source, top_g=top_g)
        written = None
        if output is not None:
            target = (
                output
                if len(sources) == 1
                else output.with_name(f"{output.stem}-{source.stem}.csv")
            )
            written = str(result.write_csv(target))
        results.append((result, written))
    if json_output:
        payload = [{**r.to_json(), "output": w} for r, w in results]
        print_json(payload[0] if len(payload) == 1 else payload)
        return
    for result, written in results:
        flagged = result.flagged
        console.print(
            f"[bold]{result.source}[/bold]: {len(flagged):,} of {len(result.sessions):,} "
            f"session(s) anomalous (a key outside the top {result.top_g} of {predictor.ref}, "
            f"window {result.window})",
            highlight=False,
        )
        if result.unmatched_lines:
            console.print(
                f"  {result.unmatched_lines:,} line(s) fit no template of the training logs",
                highlight=False,
            )
        if result.without_session:
            console.print(
                f"  {result.without_session:,} line(s) named no session id", highlight=False
            )
        for verdict in flagged[:SHOWN_SESSIONS]:
            console.print(
                f"[red]{verdict.session}[/red] ({len(verdict.keys)} lines): "
                f"{len(verdict.unexpected)} unexpected",
                highlight=False,
            )
            for item in verdict.unexpected[:SHOWN_LINES]:
                where = (
                    f"line {item.line}" if item.line is not None else f"key #{item.position + 1}"
                )
                rank = f"rank {item.rank}" if item.rank is not None else "never seen"
                console.print(
                    f"  {where} [{rank}] key {item.key if item.key is not None else '-'}: "
                    f"{item.template or '(pre-parsed key)'}",
                    highlight=False,
                    markup=False,
                )
                if item.text:
                    console.print(f"    {item.text[:200]}", highlight=False, markup=False)
            if len(verdict.unexpected) > SHOWN_LINES:
                console.print(
                    f"  ... {len(verdict.unexpected) - SHOWN_LINES} more", highlight=False
                )
        if len(flagged) > SHOWN_SESSIONS:
            console.print(
                f"... {len(flagged) - SHOWN_SESSIONS:,} more anomalous session(s)"
                + ("" if written else "; write them all with --output FILE.csv"),
                highlight=False,
            )
        if written:
            console.print(f"every session's verdict: {written}", highlight=False)

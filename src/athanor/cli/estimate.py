"""``athanor estimate SPEC``: time, memory and cost of training a spec here and elsewhere."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from athanor.cli.output import console, human_bytes, print_json, table


def span_duration(seconds: dict[str, float]) -> str:
    """``{"low": 50, "high": 80, ...}`` -> ``50s-1m20s``; a short step in ms."""
    from athanor.cli.output import duration

    low, high = seconds["low"], seconds["high"]
    if high < 1:
        return f"{low * 1000:.3g}-{high * 1000:.3g} ms"
    if high < 60:
        return f"{low:.2g}-{high:.2g} s"
    return f"{duration(low)}-{duration(high)}"


def cost_text(costs: list[dict[str, Any]]) -> str:
    """The cheapest and dearest offering's cost per currency: ``CNY 0.01-0.05; USD 0.002``."""
    parts = []
    for currency in ("CNY", "USD"):
        amounts = [c["amount"] for c in costs if c["currency"] == currency]
        if not amounts:
            continue
        low = min(a["low"] for a in amounts)
        high = max(a["high"] for a in amounts)
        low_text, high_text = _money(low), _money(high)
        parts.append(f"{currency} {low_text}" + (f"-{high_text}" if high_text != low_text else ""))
    return "; ".join(parts) or "-"


def _money(amount: float) -> str:
    """Two decimals, no invented precision: ``<0.01`` for a positive amount below a cent."""
    return "<0.01" if 0 < amount < 0.005 else f"{amount:.2f}"


def list_prices() -> None:
    from athanor.nets.hardware import price_table

    rows = [
        (
            p.provider,
            p.offering,
            p.device,
            f"{p.price_per_hour:g} {p.currency}",
            p.as_of,
            p.source + (f" ({p.note})" if p.note else ""),
        )
        for p in price_table()
    ]
    console.print(
        table(
            "hourly list prices of one GPU: check the source, prices change",
            ["provider", "offering", "device", "per hour", "as of", "source"],
            rows,
        )
    )


def estimate(
    spec: Annotated[
        str | None, typer.Argument(help="A spec YAML file or bundled example name.")
    ] = None,
    device: Annotated[
        list[str] | None,
        typer.Option(
            "--device",
            "-d",
            help="cpu or cuda (this machine, measured) or a catalog GPU (t4, v100, a10, l4, "
            "a100-40gb, a100-80gb, h100, rtx-2080-ti, rtx-3090, rtx-4090); repeatable. "
            "Default: this machine and every catalog GPU.",
        ),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Instead of the spec's train.epochs.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a spec key: KEY.PATH=VALUE (repeatable)."),
    ] = None,
    steps: Annotated[
        int, typer.Option("--steps", min=1, help="Training steps timed on this machine.")
    ] = 5,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    prices: Annotated[
        bool, typer.Option("--prices", help="List the price table and exit.")
    ] = False,
) -> None:
    """Per-step, per-epoch and total training time, peak memory and whether it fits, and
    the cost, on this machine (measured) and on catalog GPUs (estimated). Never downloads
    data. Exits with 1 when a device asked for (default: this machine) lacks the memory."""
    if prices:
        list_prices()
        return
    if spec is None:
        raise typer.BadParameter("give a SPEC (or --prices)", param_hint="SPEC")
    from athanor.api.estimates import estimate as run_estimate

    result = run_estimate(spec, device or None, epochs=epochs, overrides=set_ or None, steps=steps)
    asked = set(device or [result.calibration["device"]])
    misfits = [
        d
        for d in result.devices
        if not d.fits and (d.device in asked or not device) and (device or d.method == "measured")
    ]
    if json_output:
        print_json(result.to_json())
    else:
        _print(result)
    for misfit in misfits:
        console.print(f"[red]{misfit.name}: {misfit.advice}[/red]", highlight=False)
    if misfits:
        raise typer.Exit(1)


def _print(result: Any) -> None:
    memory = result.memory
    samples = ", ".join(f"{name} {count:,}" for name, count in result.samples.items())
    console.print(
        f"{result.spec}: {result.epochs} epoch(s) of {result.steps_per_epoch:,} steps "
        f"(batch {result.batch_size}; {samples})",
        highlight=False,
    )
    console.print(
        f"memory of a step: {human_bytes(memory['total'])} = weights "
        f"{human_bytes(memory['weights'])} + gradients {human_bytes(memory['gradients'])} + "
        f"optimizer state {human_bytes(memory['optimizer_state'])} + activations "
        f"{human_bytes(memory['activations'])}"
        + (
            f" + best epoch's weights {human_bytes(memory['best_weights'])}"
            if memory.get("best_weights")
            else ""
        ),
        highlight=False,
    )
    calibration = result.calibration
    console.print(
        f"measured on {calibration['device']}: {calibration['seconds_per_step'] * 1000:.3g} ms "
        f"per step ({calibration['steps_timed']} steps), "
        f"{calibration['efficiency']:.0%} of its measured matmul rate "
        f"({calibration['matmul_flops'] / 1e9:.1f} GFLOP/s)",
        highlight=False,
    )
    rows = []
    for d in result.devices:
        rows.append(
            (
                d.device,
                d.method,
                span_duration(d.to_json()["step_seconds"]),
                span_duration(d.to_json()["epoch_seconds"]),
                span_duration(d.to_json()["total_seconds"]),
                f"{human_bytes(d.memory_bytes)} / {human_bytes(d.device_memory_bytes)}",
                "yes" if d.fits else "[red]NO[/red]",
                cost_text(d.costs),
                ", ".join(f"{x['layer']} {x['share']:.0%}" for x in d.dominant[:2]),
            )
        )
    console.print(
        table(
            None,
            [
                "device",
                "how",
                "step",
                "epoch",
                "total",
                "memory / device",
                "fits",
                "cost",
                "dominant layers",
            ],
            rows,
        )
    )
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)

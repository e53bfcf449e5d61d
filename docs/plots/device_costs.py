"""Draw estimated training time and cost per device into docs/images/device-costs.png.

``athanor.estimate`` for a ResNet-18 (CIFAR stem) on MNIST, 30 epochs: this machine's CPU
measured, catalog GPUs by the roofline calibrated on it, and the cheapest list price of
each GPU in the price table. Run from the repository root with MNIST available
(``ATHANOR_DATA_MIRROR``); the CPU is measured, so it takes a minute or two and the
numbers are this machine's:

    python docs/plots/device_costs.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

IMAGES = Path(__file__).resolve().parents[1] / "images"
DEVICES = ["cpu", "t4", "l4", "a100-80gb", "h100"]
OVERRIDES = ["model={template: resnet, depth: 18, stem: cifar}"]


def cheapest_usd(costs: list[dict]) -> float | None:
    """The expected cost at the cheapest USD offering (None without one)."""
    usd = [c for c in costs if c["currency"] == "USD" and c.get("device")]
    if not usd:
        return None
    best = min(usd, key=lambda c: c["price_per_hour"])
    return (best["amount"]["low"] + best["amount"]["high"]) / 2


def main() -> Path:
    import athanor as at

    found = at.estimate("lenet5-mnist", DEVICES, epochs=30, overrides=OVERRIDES, steps=2)
    names = [d.device for d in found.devices]
    hours = [d.total_seconds[1] / 3600 for d in found.devices]
    figure, (times, costs) = plt.subplots(1, 2, figsize=(10.0, 3.6))
    bars = times.bar(names, hours, color=["0.5"] + ["tab:green"] * (len(names) - 1))
    times.set_yscale("log")
    times.set_ylabel("hours (log scale)")
    times.set_title("ResNet-18 on MNIST, 30 epochs: estimated time", fontsize=9)
    for bar, value in zip(bars, hours, strict=True):
        label = f"{value:.1f} h" if value >= 1 else f"{value * 60:.0f} min"
        times.annotate(
            label, (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=8
        )
    priced = [(d.device, cheapest_usd(d.costs)) for d in found.devices]
    priced = [(name, usd) for name, usd in priced if usd is not None]
    bars = costs.bar([n for n, _ in priced], [u for _, u in priced], color="tab:blue")
    for bar, (_, value) in zip(bars, priced, strict=True):
        costs.annotate(
            f"${value:.2f}",
            (bar.get_x() + bar.get_width() / 2, value),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    costs.set_ylabel("USD at the cheapest list price")
    costs.set_title("the same run: cost on a rented GPU", fontsize=9)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "device-costs.png"
    figure.savefig(path, dpi=72)
    for device in found.devices:
        print(
            device.device,
            device.method,
            [round(s) for s in device.total_seconds],
            cheapest_usd(device.costs),
        )
    return path


if __name__ == "__main__":
    print(main())

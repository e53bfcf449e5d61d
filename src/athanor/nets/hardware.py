"""The device catalog and the price table: what accelerators can do and what an hour costs.

Both are YAML files bundled in ``athanor/nets/hardware_tables/``; a ``devices.yaml`` or
``prices.yaml`` in ``ATHANOR_HOME`` adds entries (an entry with the same id, or the same
provider and offering, replaces the bundled one). This machine's own devices cost
``ATHANOR_LOCAL_PRICE`` per hour (``"0"`` by default: your own hardware; e.g. ``"2.5 CNY"``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from athanor.errors import UserError
from athanor.settings import Settings, current_settings
from athanor.spec.loading import load_yaml_text

TABLES = Path(__file__).with_name("hardware_tables")
CURRENCIES = ("CNY", "USD")
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
LOCAL_PRICE = "ATHANOR_LOCAL_PRICE"


@dataclass(frozen=True)
class Device:
    """An accelerator of the catalog (datasheet figures)."""

    id: str
    name: str
    memory_gib: float
    bandwidth_gbs: float
    tflops: dict[str, float | None]
    source: str

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * 1024**3)

    def peak_flops(self, precision: str = "fp32") -> float:
        """FLOP/s at ``precision``, falling back to FP32 where the chip has no such unit."""
        value = self.tflops.get(precision) or self.tflops["fp32"]
        return float(value) * 1e12

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "memory_gib": self.memory_gib,
            "bandwidth_gbs": self.bandwidth_gbs,
            "tflops": dict(self.tflops),
            "source": self.source,
        }


@dataclass(frozen=True)
class Price:
    """One offering's hourly list price for one GPU."""

    provider: str
    offering: str
    device: str
    currency: str
    price_per_hour: float
    source: str
    as_of: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "offering": self.offering,
            "device": self.device,
            "currency": self.currency,
            "price_per_hour": self.price_per_hour,
            "source": self.source,
            "as_of": self.as_of,
            "note": self.note,
        }


@dataclass(frozen=True)
class Cost:
    """What a stretch of device time cost: hours times an hourly price."""

    device_hours: float
    amount: float
    currency: str
    price_per_hour: float
    basis: str = field(default="")

    def to_json(self) -> dict[str, Any]:
        return {
            "device_hours": round(self.device_hours, 6),
            "amount": round(self.amount, 4),
            "currency": self.currency,
            "price_per_hour": self.price_per_hour,
            "basis": self.basis,
        }


def _read_table(path: Path, key: str) -> list[dict[str, Any]]:
    data = load_yaml_text(path.read_text(encoding="utf-8"), str(path)) or {}
    entries = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UserError(f"{path}: needs a list under '{key}:' (see the bundled {path.name})")
    return entries


def _device(entry: Any, where: str) -> Device:
    required = ("id", "name", "memory_gib", "bandwidth_gbs", "tflops")
    if not isinstance(entry, dict) or any(key not in entry for key in required):
        raise UserError(f"{where}: a device needs {', '.join(required)} (and a source)")
    tflops = entry["tflops"]
    if not isinstance(tflops, dict) or not tflops.get("fp32"):
        raise UserError(f"{where}.tflops: give at least fp32 (TFLOP/s), e.g. {{fp32: 8.1}}")
    return Device(
        id=str(entry["id"]).lower(),
        name=str(entry["name"]),
        memory_gib=float(entry["memory_gib"]),
        bandwidth_gbs=float(entry["bandwidth_gbs"]),
        tflops={p: (float(tflops[p]) if tflops.get(p) else None) for p in PRECISIONS},
        source=str(entry.get("source", "")),
    )


def _price(entry: Any, where: str, as_of: str) -> Price:
    required = ("provider", "offering", "device", "currency", "price_per_hour", "source")
    if not isinstance(entry, dict) or any(key not in entry for key in required):
        raise UserError(f"{where}: a price needs {', '.join(required)} (and as_of)")
    currency = str(entry["currency"]).upper()
    if currency not in CURRENCIES:
        raise UserError(f"{where}.currency: {currency}; valid: {', '.join(CURRENCIES)}")
    price = float(entry["price_per_hour"])
    if not math.isfinite(price) or price < 0:
        raise UserError(f"{where}.price_per_hour: {price}; give a price >= 0")
    return Price(
        provider=str(entry["provider"]),
        offering=str(entry["offering"]),
        device=str(entry["device"]).lower(),
        currency=currency,
        price_per_hour=price,
        source=str(entry["source"]),
        as_of=str(entry.get("as_of") or as_of),
        note=str(entry.get("note") or ""),
    )


def _tables(name: str, settings: Settings | None) -> list[Path]:
    home = (settings or current_settings()).home / name
    return [TABLES / name, *([home] if home.is_file() else [])]


def device_catalog(settings: Settings | None = None) -> dict[str, Device]:
    """The devices by id: the bundled catalog plus ``ATHANOR_HOME/devices.yaml``.

    Raises:
        UserError: a malformed entry, naming the file and the entry.
    """
    found: dict[str, Device] = {}
    for path in _tables("devices.yaml", settings):
        for index, entry in enumerate(_read_table(path, "devices")):
            device = _device(entry, f"{path}: devices[{index}]")
            found[device.id] = device
    return found


def price_table(settings: Settings | None = None) -> list[Price]:
    """Every offering: the bundled table plus ``ATHANOR_HOME/prices.yaml``.

    Raises:
        UserError: a malformed entry, naming the file and the entry.
    """
    found: dict[tuple[str, str], Price] = {}
    for path in _tables("prices.yaml", settings):
        data = load_yaml_text(path.read_text(encoding="utf-8"), str(path)) or {}
        as_of = str(data.get("as_of", "")) if isinstance(data, dict) else ""
        for index, entry in enumerate(_read_table(path, "prices")):
            price = _price(entry, f"{path}: prices[{index}]", as_of)
            found[(price.provider, price.offering)] = price
    return list(found.values())


def find_device(name: str, settings: Settings | None = None) -> Device:
    """The catalog's device called ``name`` (its id, or its name without spaces and case).

    Raises:
        UserError: no such device, listing the ids.
    """
    catalog = device_catalog(settings)

    def key(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    wanted = key(name.removeprefix("nvidia").removeprefix("NVIDIA"))
    for device in catalog.values():
        if key(device.id) == wanted or key(device.name).removeprefix("nvidia") == wanted:
            return device
    for device in catalog.values():  # "3090", "a100" (the first of its kind)
        if wanted and wanted in key(device.id):
            return device
    raise UserError(
        f"device {name}: not in the device catalog; valid: cpu, cuda, "
        f"{', '.join(catalog)} (add others in {current_settings().home / 'devices.yaml'})"
    )


def local_price() -> tuple[float, str]:
    """``(price per hour, currency)`` of this machine's devices, from ``ATHANOR_LOCAL_PRICE``.

    Raises:
        UserError: not a number optionally followed by CNY or USD.
    """
    text = os.environ.get(LOCAL_PRICE, "").strip()
    if not text:
        return 0.0, "CNY"
    number, _, currency = text.partition(" ")
    currency = currency.strip().upper() or "CNY"
    try:
        price = float(number)
    except ValueError:
        price = -1.0
    if price < 0 or not math.isfinite(price) or currency not in CURRENCIES:
        raise UserError(
            f"{LOCAL_PRICE}={text}: give this machine's price per device-hour as a number and "
            "a currency, e.g. '0' (own hardware), '2.5 CNY' or '0.4 USD'"
        )
    return price, currency


def local_cost(seconds: float) -> Cost:
    """What ``seconds`` on this machine's device cost at ``ATHANOR_LOCAL_PRICE``."""
    price, currency = local_price()
    hours = max(seconds, 0.0) / 3600
    basis = f"{LOCAL_PRICE} ({price:g} {currency}/h)" if price else "own hardware (price 0)"
    return Cost(hours, hours * price, currency, price, basis)

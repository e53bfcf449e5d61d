"""The device catalog and the price table: format, sources, and extension in ATHANOR_HOME."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from athanor.errors import UserError
from athanor.nets.hardware import (
    CURRENCIES,
    device_catalog,
    find_device,
    local_cost,
    price_table,
)

CATALOG_GPUS = {
    "t4",
    "v100",
    "a10",
    "l4",
    "a100-40gb",
    "a100-80gb",
    "h100",
    "rtx-2080-ti",
    "rtx-3090",
    "rtx-4090",
}


def test_the_catalog_has_the_usual_gpus_with_datasheet_figures_and_sources() -> None:
    catalog = device_catalog()
    assert set(catalog) >= CATALOG_GPUS
    for device in catalog.values():
        assert device.memory_gib > 0 and device.bandwidth_gbs > 0
        assert device.tflops["fp32"] and device.source
        for value in device.tflops.values():  # tensor rates are never below FP32
            assert value is None or value >= device.tflops["fp32"]
    assert find_device("RTX 3090").id == "rtx-3090"
    assert find_device("NVIDIA A100 SXM 80 GB").id == "a100-80gb"
    with pytest.raises(UserError, match="valid: cpu, cuda, t4"):
        find_device("tpu-v9")


def test_the_price_table_is_well_formed_with_sources_and_dates() -> None:
    prices = price_table()
    catalog = device_catalog()
    providers = {p.provider for p in prices}
    assert {"Alibaba Cloud", "Huawei Cloud", "Tencent Cloud", "AutoDL"} <= providers
    assert {"AWS", "GCP", "Azure", "Lambda", "RunPod"} <= providers
    for price in prices:
        assert price.device in catalog, price
        assert price.currency in CURRENCIES
        assert 0 < price.price_per_hour < 100
        # no invented precision: at most two decimals, at most three significant digits
        assert re.fullmatch(r"\d+(\.\d{1,2})?", f"{price.price_per_hour:g}"), price
        assert price.source and re.fullmatch(r"20\d\d-\d\d", price.as_of), price
    assert {p.currency for p in prices if p.provider == "AutoDL"} == {"CNY"}
    assert {p.currency for p in prices if p.provider == "AWS"} == {"USD"}


def test_files_in_athanor_home_add_devices_and_prices(tmp_path: Path) -> None:
    home = Path(os.environ["ATHANOR_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "devices.yaml").write_text(
        "devices:\n  - {id: lab-card, name: Lab Card, memory_gib: 8, bandwidth_gbs: 400,"
        " tflops: {fp32: 10}, source: lab}\n"
    )
    (home / "prices.yaml").write_text(
        "prices:\n  - {provider: Lab, offering: card, device: lab-card, currency: CNY,"
        " price_per_hour: 1.5, source: our lab, as_of: '2026-01'}\n"
    )
    assert device_catalog()["lab-card"].peak_flops() == 10e12
    assert [p.provider for p in price_table() if p.device == "lab-card"] == ["Lab"]
    (home / "prices.yaml").write_text(
        "prices:\n  - {provider: Lab, offering: card, device: lab-card, currency: EUR,"
        " price_per_hour: 1.5, source: our lab}\n"
    )
    with pytest.raises(UserError, match=r"prices\.yaml: prices\[0\]\.currency: EUR; valid: CNY"):
        price_table()


def test_local_cost_uses_the_configured_price(monkeypatch: pytest.MonkeyPatch) -> None:
    assert local_cost(3600).amount == 0  # own hardware by default
    monkeypatch.setenv("ATHANOR_LOCAL_PRICE", "2.5 CNY")
    cost = local_cost(1800)
    assert (cost.device_hours, cost.amount, cost.currency) == (0.5, 1.25, "CNY")
    monkeypatch.setenv("ATHANOR_LOCAL_PRICE", "cheap")
    with pytest.raises(UserError, match="ATHANOR_LOCAL_PRICE=cheap"):
        local_cost(1)

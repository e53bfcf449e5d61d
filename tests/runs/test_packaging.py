"""A finished run records its device, device-hours and their cost."""

from __future__ import annotations

import pytest

import athanor as at

TINY = {
    "name": "xor-cost",
    "data": {"dataset": "xor"},
    "model": {"template": "mlp", "hidden": [4]},
    "train": {"epochs": 2, "batch_size": 4},
}


def test_a_finished_run_records_device_hours_and_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATHANOR_LOCAL_PRICE", "3600 CNY")  # 1 CNY a second: visible costs
    run = at.train(TINY, progress=False)
    summary = at.runs.show(run.id)["summary"]
    assert summary["device"] == "cpu"
    hours = summary["device_hours"]
    assert 0 < hours < 0.1 and hours * 3600 >= summary["train_seconds"]
    cost = summary["cost"]
    assert cost["currency"] == "CNY" and cost["price_per_hour"] == 3600
    assert cost["amount"] == pytest.approx(hours * 3600, abs=0.004)  # hours to 6 decimals

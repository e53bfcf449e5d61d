"""Time series bundled with statsmodels: yearly sunspots and weekly Mauna Loa CO2."""

from __future__ import annotations

import numpy as np

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.raw import RawDataset
from athanor.data.series import _fill_forward
from athanor.settings import Settings


def _sunspots(_settings: Settings | None) -> RawDataset:
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    years = frame["YEAR"].to_numpy().astype(np.int64)
    stamps = np.array([f"{year:04d}-01-01" for year in years], dtype="datetime64[ns]")
    return RawDataset(
        name="sunspots",
        kind="sequence",
        task="forecasting",
        x=frame[["SUNACTIVITY"]].to_numpy(np.float32),
        y=None,
        features=["SUNACTIVITY"],
        target="SUNACTIVITY",
        targets=["SUNACTIVITY"],
        timestamps=stamps,
        origin={"sunspots": "bundled with statsmodels"},
    )


def _co2(_settings: Settings | None) -> RawDataset:
    from statsmodels.datasets import co2

    frame = co2.load_pandas().data
    values = _fill_forward(frame[["co2"]].to_numpy(np.float64)).astype(np.float32)
    return RawDataset(
        name="co2",
        kind="sequence",
        task="forecasting",
        x=values,
        y=None,
        features=["co2"],
        target="co2",
        targets=["co2"],
        timestamps=frame.index.to_numpy("datetime64[ns]"),
        origin={"co2": "bundled with statsmodels (59 missing weeks filled forward)"},
    )


register_dataset(
    DatasetEntry(
        name="sunspots",
        task="forecasting",
        kind="sequence",
        size="309 yearly values (1700-2008), 1 series",
        license="public domain (SIDC / NOAA), via statsmodels (BSD-3)",
        source="https://www.statsmodels.org/stable/datasets/generated/sunspots.html",
        description="Yearly mean sunspot activity: an 11-year cycle to forecast.",
        loader=_sunspots,
    )
)
register_dataset(
    DatasetEntry(
        name="co2",
        task="forecasting",
        kind="sequence",
        size="2,284 weekly values (1958-2001), 1 series",
        license="public domain (Scripps / NOAA), via statsmodels (BSD-3)",
        source="https://www.statsmodels.org/stable/datasets/generated/co2.html",
        description="Atmospheric CO2 at Mauna Loa: trend plus a yearly season.",
        loader=_co2,
    )
)

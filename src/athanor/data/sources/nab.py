"""Numenta Anomaly Benchmark, realKnownCause: real series with labeled anomaly windows.

One series per load (``data.series``, default ``nyc_taxi``); its labeled anomaly ranges
come from NAB's ``labels/combined_windows.json``.
"""

from __future__ import annotations

import json

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import RemoteFile, fetch
from athanor.data.raw import RawDataset
from athanor.data.series import read_series_csv
from athanor.errors import DataError
from athanor.settings import Settings

_BASE = "https://raw.githubusercontent.com/numenta/NAB/master/"
# SHA-256 of each file of NAB's master branch.
SERIES_SHA256 = {
    "ambient_temperature_system_failure": (
        "230b68ccca20f59d562afd5d24ad52939c9b784386bed0054018358bf9120581"
    ),
    "cpu_utilization_asg_misconfiguration": (
        "58ba65dc0737cfbac11b51514476d50c438d44011232144bb8d93f392df58f9f"
    ),
    "ec2_request_latency_system_failure": (
        "98378580aa80157e057c61d59d81daddccc6c65a2c0c800e3f01f603b8215c3f"
    ),
    "machine_temperature_system_failure": (
        "92bf5b87fc7f9bba8ca0b7ec63ccaac8cb4a1371a258e8c29a10ae9c018d82a4"
    ),
    "nyc_taxi": "d8fa6f7f0734bf5c8be12c52a94e20a82664c397d9dec4449156bd453d32856d",
    "rogue_agent_key_hold": "47b110baa8e3636574c1033dda1cce780873647fab58223d159d4fee6f180e86",
    "rogue_agent_key_updown": "9797cfef477c13306f7a33874ab4d6cf700f8f2c7e5825a2a5bc02004370909a",
}
DEFAULT_SERIES = "nyc_taxi"
LABELS = RemoteFile(
    "combined_windows.json",
    (_BASE + "labels/combined_windows.json",),
    "1e1fbc4601321aad8d0f8b3784c8134299379f68f6c1f7777565f8ffd57ab6b1",
    folder="nab",
)


def series_file(series: str) -> RemoteFile:
    """The NAB file of ``series``.

    Raises:
        DataError: not one of the realKnownCause series.
    """
    if series not in SERIES_SHA256:
        raise DataError(
            f"data.series: NAB has no realKnownCause series '{series}'; valid: "
            + ", ".join(sorted(SERIES_SHA256))
        )
    return RemoteFile(
        f"{series}.csv",
        (f"{_BASE}data/realKnownCause/{series}.csv",),
        SERIES_SHA256[series],
        folder="nab",
    )


def load_nab(settings: Settings | None, series: str | None = None) -> RawDataset:
    """One realKnownCause series with its labeled anomaly windows (task reconstruction)."""
    series = series or DEFAULT_SERIES
    remote = series_file(series)
    path = fetch(remote, settings=settings)
    labels_path = fetch(LABELS, settings=settings)
    windows = json.loads(labels_path.read_text()).get(f"realKnownCause/{series}.csv", [])
    times, values, names, _notes = read_series_csv(path, time_column="timestamp", keep_order=True)
    return RawDataset(
        name="nab",
        kind="sequence",
        task="reconstruction",
        x=values,
        y=None,
        features=names,
        target="value",
        targets=names,
        timestamps=times,
        anomaly_windows=[(str(start), str(end)) for start, end in windows],
        origin={remote.name: str(path), LABELS.name: str(labels_path)},
    )


register_dataset(
    DatasetEntry(
        name="nab",
        task="reconstruction",
        kind="sequence",
        size="7 series of 1,882-22,695 points, 1-5 labeled anomaly windows each",
        license="MIT (Numenta)",
        source="https://github.com/numenta/NAB/tree/master/data/realKnownCause",
        description="Real machine, traffic and taxi series with known anomalies; windows "
        "for autoencoders, labels for scoring (data.series picks the series).",
        loader=load_nab,
        options=("series",),
    )
)

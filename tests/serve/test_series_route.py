"""``POST /v1/models/{name}/predict`` with a series body, on a real server."""

from __future__ import annotations

from pathlib import Path

from athanor.serve.app import create_app
from tests.conftest import write_sunspots_csv
from tests.serve.conftest import running


def test_series_bodies_get_scores_flags_and_intervals(trained_nab_detector, nab_mirror) -> None:
    _, settings = trained_nab_detector
    body = (nab_mirror / "realKnownCause" / "rogue_agent_key_hold.csv").read_bytes()
    with running(create_app(["keys-ae"], settings=settings)) as client:
        answer = client.post(
            "/v1/models/keys-ae/predict", content=body, headers={"content-type": "text/csv"}
        )
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["model"] == "keys-ae@1" and result["task"] == "anomaly"
        assert len(result["scores"]) == len(result["flags"]) == 1882
        assert result["flagged"] == sum(result["flags"]) > 0
        assert result["threshold_method"]["method"] == "quantile"
        assert result["intervals"][0].keys() >= {"start", "end", "peak_score"}

        upload = client.post(
            "/v1/models/keys-ae/predict?threshold=1e9",
            files={"file": ("keys.csv", body, "text/csv")},
        )
        assert upload.status_code == 200 and upload.json()["flagged"] == 0

        stamps = [f"2024-01-01 {h:02d}:00" for h in range(20)]
        repeated = client.post(
            "/v1/models/keys-ae/predict",
            content=("timestamp,value\n" + "".join(f"{t},1\n" for t in stamps * 2)).encode(),
            headers={"content-type": "text/csv"},
        )
        assert repeated.status_code == 422
        assert repeated.json()["detail"].startswith("body.csv:22: timestamp 2024-01-01 00:00:00")
        assert "?duplicates=first" in repeated.json()["detail"]
        merged = client.post(
            "/v1/models/keys-ae/predict?duplicates=mean",
            json={"timestamps": stamps * 2, "values": [1.0] * 40},
        )
        assert merged.status_code == 422  # 20 distinct steps: shorter than one window
        assert "20 timestamp(s)" in merged.json()["detail"]


def test_a_forecaster_answers_a_series_with_its_forecast(
    trained_sunspots_forecaster, tmp_path: Path
) -> None:
    _, settings = trained_sunspots_forecaster
    body = write_sunspots_csv(tmp_path / "sunspots.csv").read_bytes()
    with running(create_app(["spots"], settings=settings)) as client:
        answer = client.post(
            "/v1/models/spots/predict", content=body, headers={"content-type": "text/csv"}
        )
    assert answer.status_code == 200, answer.text
    forecast = answer.json()["forecast"]
    assert forecast["timestamps"] == [
        "2009-01-01 00:00:00",
        "2010-01-01 00:00:00",
        "2011-01-01 00:00:00",
    ]
    assert len(forecast["values"]["SUNACTIVITY"]) == 3

"""``POST /v1/models/{name}/predict`` with a log body, on a real server."""

from __future__ import annotations

from athanor.serve.app import create_app
from tests.serve.conftest import running

NEW_LINE = (
    "081109 204005 35 INFO dfs.FSNamesystem: Disk array of blk_38865049064139660 caught fire\n"
)


def test_a_posted_log_gets_its_anomalous_sessions(trained_log_model) -> None:
    _, settings, log = trained_log_model
    lines = log.read_text().splitlines(keepends=True)[:20]
    body = "".join(lines).encode() + NEW_LINE.encode()
    with running(create_app(["hdfs-logs"], settings=settings)) as client:
        answer = client.post(
            "/v1/models/hdfs-logs/predict", content=body, headers={"content-type": "text/plain"}
        )
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["model"] == "hdfs-logs@1" and result["lines"] == 21
        assert result["unmatched_lines"] == 1
        flagged = {s["session"]: s for s in result["flagged"]}
        unexpected = flagged["blk_38865049064139660"]["unexpected"]
        assert unexpected[0]["line"] == 21 and unexpected[0]["rank"] is None
        assert unexpected[0]["template"] == "<no template of the training logs fits>"
        assert "caught fire" in unexpected[0]["text"]
        # The session's lines in order, the unexpected one among them.
        assert flagged["blk_38865049064139660"]["lines"][-1] == 21
        assert len(flagged["blk_38865049064139660"]["lines"]) == 2

        upload = client.post(
            "/v1/models/hdfs-logs/predict?top_g=50",
            files={"file": ("app.log", body, "text/plain")},
        )
        assert upload.status_code == 200 and upload.json()["top_g"] == 50
        # An unknown line is unexpected for any g.
        assert [s["session"] for s in upload.json()["flagged"]] == ["blk_38865049064139660"]

        bad = client.post(
            "/v1/models/hdfs-logs/predict",
            content=b"no header here\n",
            headers={"content-type": "text/plain"},
        )
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("posted log:1: does not fit the log format")
        assert client.post("/v1/models/hdfs-logs/predict?top_g=0", content=body).status_code == 422

"""``athanor serve`` as a real process on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import httpx

from athanor.registry import register_package
from athanor.store import open_store
from tests.cli.test_main import ATHANOR, athanor


def test_serve_answers_then_stops_cleanly_on_ctrl_c(trained_digits, digits_raw) -> None:
    run, _ = trained_digits
    store = open_store()
    register_package(store, "digits", run.package_dir)
    store.models.set_alias("digits", "production", 1)
    process = subprocess.Popen(
        [*ATHANOR, "serve", "digits@production", "--port", "0", "--max-wait-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"serving digits@1 \(following digits@production\) at (\S+)", first)
        assert match, first + (process.stderr.read() if process.poll() is not None else "")
        url = match.group(1)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/models/digits/predict")
        response = httpx.post(url, json={"inputs": digits_raw.x[:3].tolist()}, timeout=30)
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == 3
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        finally:
            process.kill()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


def test_serve_refuses_unknown_models_and_bad_options_before_listening() -> None:
    missing = athanor("serve", "nothing", "--port", "0", check=False)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: no model named 'nothing'")
    bad = athanor("serve", "nothing", "--max-batch-size", "0", check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith(
        "error: serve options: max_batch_size: must be greater than or equal to 1"
    )


def test_serve_beyond_loopback_needs_the_homes_tokens(trained_digits, digits_raw) -> None:
    from athanor.cli.serve import _access_guard
    from athanor.serve.app import create_app
    from tests.serve.conftest import running

    run, _ = trained_digits
    store = open_store()
    register_package(store, "digits", run.package_dir)
    refused = athanor("serve", "digits", "--host", "0.0.0.0", "--port", "0", check=False)
    assert refused.returncode == 2
    assert "needs API tokens, and this home has none" in refused.stdout + refused.stderr
    _, secret = store.tokens.create("serving")
    # The guard 'athanor serve --host 0.0.0.0' puts in front of the app, served on loopback.
    guard = _access_guard("0.0.0.0", [])
    with running(guard(create_app("digits"))) as client:
        body = {"inputs": digits_raw.x[:2].tolist()}
        assert client.get("/healthz").status_code == 200
        assert client.get("/v2/health/ready").status_code == 200  # a probe, as /readyz
        tensor = {"name": "input", "shape": [2, 1, 8, 8], "datatype": "FP32"}
        infer = {"inputs": [{**tensor, "data": digits_raw.x[:2].ravel().tolist()}]}
        protected = [
            ("POST", "/v1/models/digits/predict", body),
            ("GET", "/metrics", None),
            ("POST", "/v2/models/digits/infer", infer),
            ("GET", "/v2/models/digits", None),
        ]
        for method, path, content in protected:
            answer = client.request(method, path, json=content)
            assert answer.status_code == 401, (path, answer.text)
        bearer = {"Authorization": f"Bearer {secret}"}
        answer = client.post("/v1/models/digits/predict", json=body, headers=bearer)
        assert answer.status_code == 200 and len(answer.json()["predictions"]) == 2
        answer = client.post("/v2/models/digits/infer", json=infer, headers=bearer)
        assert answer.status_code == 200 and answer.json()["outputs"][1]["shape"] == [2, 1]
        assert client.get("/metrics", headers=bearer).status_code == 200
        foreign = {**bearer, "Host": "attacker.example"}
        assert client.get("/v1/models", headers=foreign).status_code == 400

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

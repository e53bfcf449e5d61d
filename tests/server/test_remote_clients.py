"""Clients beyond the platform's machine, for real: the platform listens in a network
namespace of the test's own and the client calls from a second one, over a veth pair. Only
these two namespaces, made and removed by the test, carry the traffic."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.server.conftest import PlatformProcess

SERVER_ADDRESS = "10.251.7.1"
CLIENT_ADDRESS = "10.251.7.2"

CLIENT = """
import json, sys, urllib.error, urllib.request
url, token, path, method, body = sys.argv[1:6]
headers = {"Content-Type": "application/json"}
if token:
    headers["Authorization"] = "Bearer " + token
request = urllib.request.Request(
    url + path, data=body.encode() or None, method=method, headers=headers
)
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        print(json.dumps([response.status, response.read().decode()]))
except urllib.error.HTTPError as error:
    print(json.dumps([error.code, error.read().decode()]))
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    """Two network namespaces joined by a veth pair: (the server's, the client's)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2's 'ip'")
    tag = str(os.getpid())[-6:]
    server, client = f"aths{tag}", f"athc{tag}"
    try:
        _ip("netns", "add", server)
        _ip("netns", "add", client)
    except subprocess.CalledProcessError as error:
        subprocess.run(["ip", "netns", "del", server], capture_output=True)
        pytest.skip(f"network namespaces cannot be made here: {error.stderr.decode().strip()}")
    try:
        _ip("link", "add", f"vs{tag}", "type", "veth", "peer", "name", f"vc{tag}")
        _ip("link", "set", f"vs{tag}", "netns", server)
        _ip("link", "set", f"vc{tag}", "netns", client)
        for name, device, address in (
            (server, f"vs{tag}", SERVER_ADDRESS),
            (client, f"vc{tag}", CLIENT_ADDRESS),
        ):
            _ip("-n", name, "addr", "add", f"{address}/30", "dev", device)
            _ip("-n", name, "link", "set", device, "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield server, client
    finally:
        for name in (server, client):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def remote(client_ns: str, url: str, path: str, token: str = "", method: str = "GET", body=""):
    """(status, decoded answer) of a request made from the client's namespace."""
    arguments = [url, token, path, method, json.dumps(body) if body else ""]
    result = subprocess.run(
        ["ip", "netns", "exec", client_ns, sys.executable, "-c", CLIENT, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status, text = json.loads(result.stdout)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def test_a_client_on_another_machine_needs_a_token_and_names_no_path(
    platform_factory, namespaces, tmp_path
) -> None:
    server_ns, client_ns = namespaces
    platform: PlatformProcess = platform_factory(
        "--host", SERVER_ADDRESS, "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.launcher = ["ip", "netns", "exec", server_ns]
    url = platform.start()
    assert url.startswith(f"http://{SERVER_ADDRESS}:")
    assert remote(client_ns, url, "/v1/health")[0] == 200
    status, answer = remote(client_ns, url, "/v1/jobs")
    assert status == 401 and "a credential is required" in answer["detail"]
    created = json.loads(platform.cli("token", "create", "laptop", "--json").stdout)
    status, jobs = remote(client_ns, url, "/v1/jobs", created["token"])
    assert status == 200 and jobs == []
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n3,4\n")
    body = {"path": str(table), "name": "t"}
    status, answer = remote(
        client_ns, url, "/v1/datasets/imports/path", platform.owner_token, "POST", body
    )
    assert status == 403 and "only from that machine" in answer["detail"]
    assert remote(client_ns, url, "/v1/jobs", "ath_forged")[0] == 401

"""The trust model at the HTTP level, on a real platform: credentials for every client,
the console's one-time sign-in, DNS rebinding (Host) and cross-site requests (Origin)."""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import sys
import urllib.parse

import pytest

from tests.server.conftest import PlatformProcess
from tests.server.test_app import call


def raw(platform: PlatformProcess, method: str, path: str, headers: dict[str, str]):
    """A request with exactly ``headers`` (Host included when given)."""
    address = urllib.parse.urlsplit(platform.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host="Host" in headers)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_owners_token_file_is_private_and_the_cli_uses_it(
    shared_platform: PlatformProcess,
) -> None:
    path = shared_platform.home / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert shared_platform.owner_token.startswith("ath_")
    listed = shared_platform.cli("jobs", "list", "--json")  # no ATHANOR_TOKEN in its env
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout), list)


def test_a_foreign_host_header_is_refused_even_with_a_token(
    shared_platform: PlatformProcess,
) -> None:
    port = urllib.parse.urlsplit(shared_platform.url).port
    bearer = f"Bearer {shared_platform.owner_token}"
    for host in (f"attacker.example:{port}", "attacker.example", f"10.0.0.8:{port}"):
        status, _, body = raw(
            shared_platform, "GET", "/v1/datasets", {"Host": host, "Authorization": bearer}
        )
        assert status == 400 and b"does not name this server" in body, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        status, _, _ = raw(
            shared_platform, "GET", "/v1/datasets", {"Host": host, "Authorization": bearer}
        )
        assert status == 200, host


def test_the_console_signs_in_once_and_cross_site_requests_are_refused(
    shared_platform: PlatformProcess,
) -> None:
    link = urllib.parse.urlsplit(shared_platform.login_link())
    host = link.netloc
    status, headers, _ = raw(shared_platform, "GET", f"{link.path}?{link.query}", {"Host": host})
    assert status == 303 and headers["location"] == "/"
    cookie_header = headers["set-cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=strict" in cookie_header
    cookie = cookie_header.split(";")[0]
    status, _, body = raw(shared_platform, "GET", f"{link.path}?{link.query}", {"Host": host})
    assert status == 401 and b"athanor console" in body  # the link works once
    signed_in = {"Host": host, "Cookie": cookie}
    assert raw(shared_platform, "GET", "/v1/jobs", signed_in)[0] == 200
    assert raw(shared_platform, "GET", "/v1/jobs", {"Host": host})[0] == 401
    # A form on another site posting to the platform: refused before any handler runs.
    form = {**signed_in, "Origin": "http://attacker.example", "Content-Length": "0"}
    form["Content-Type"] = "application/x-www-form-urlencoded"
    status, _, body = raw(shared_platform, "POST", "/v1/uploads", form)
    assert status == 403 and b"refused" in body
    fetch = {**signed_in, "Sec-Fetch-Site": "cross-site", "Content-Length": "0"}
    assert raw(shared_platform, "POST", "/v1/uploads", fetch)[0] == 403
    null_origin = {**signed_in, "Origin": "null", "Content-Length": "0"}
    assert raw(shared_platform, "POST", "/v1/uploads", null_origin)[0] == 403
    same_site = {**signed_in, "Origin": f"http://{host}", "Content-Length": "0"}
    status, _, body = raw(shared_platform, "POST", "/v1/uploads", same_site)
    assert status == 201, body
    # No CORS: a preflight gets no Access-Control-Allow-Origin.
    preflight = {
        "Host": host,
        "Origin": "http://attacker.example",
        "Access-Control-Request-Method": "POST",
    }
    _, headers, _ = raw(shared_platform, "OPTIONS", "/v1/jobs", preflight)
    assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_athanor_console_prints_a_new_link_for_the_owner_only(
    shared_platform: PlatformProcess,
) -> None:
    printed = shared_platform.cli("console").stdout
    link = next(word for word in printed.split() if "/login?token=" in word)
    parts = urllib.parse.urlsplit(link)
    status, _, _ = raw(
        shared_platform, "GET", f"{parts.path}?{parts.query}", {"Host": parts.netloc}
    )
    assert status == 303
    created = json.loads(shared_platform.cli("token", "create", "ci-bot", "--json").stdout)
    status, _, answer = call(
        shared_platform,
        "POST",
        "/v1/auth/login-links",
        headers={"Authorization": f"Bearer {created['token']}"},
    )
    assert status == 403 and "owner" in answer["detail"]


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another Unix user needs root")
def test_another_unix_user_can_neither_read_the_token_nor_call(
    shared_platform: PlatformProcess,
) -> None:
    probe = (
        "import encodings.idna, os, sys, urllib.request, urllib.error\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "try:\n"
        "    open(sys.argv[1]).read(); print('read')\n"
        "except PermissionError:\n"
        "    print('denied')\n"
        "try:\n"
        "    urllib.request.urlopen(sys.argv[2] + '/v1/runs', timeout=10); print('called')\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(shared_platform.home / "token"), shared_platform.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["denied", "401"], result.stderr


def test_no_auth_lets_loopback_in_loudly_and_keeps_the_host_check(platform_factory) -> None:
    platform = platform_factory("--cpus", "1", "--gpus", "none", "--warm-workers", "0", "--no-auth")
    platform.start()
    assert "WARNING: --no-auth" in platform.output()
    status, _, jobs = call(platform, "GET", "/v1/jobs", auth=False)
    assert status == 200 and jobs == []
    port = urllib.parse.urlsplit(platform.url).port
    assert raw(platform, "GET", "/v1/jobs", {"Host": f"attacker.example:{port}"})[0] == 400
    assert (
        call(platform, "GET", "/v1/jobs", headers={"X-Forwarded-For": "203.0.113.7"}, auth=False)[0]
        == 401
    )

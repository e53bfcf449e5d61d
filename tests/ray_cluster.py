"""A real local Ray cluster for the tests (``ray start --head`` on 127.0.0.1, 2 CPUs, no
dashboard), started once per module that asks for the ``ray_cluster`` fixture (a plugin
of the root conftest, so every test module can).

Skipped where Ray is not installed (``pip install athanor[ray]``); CI
(``ATHANOR_REQUIRE_RAY``) fails instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import ray
except ImportError:  # pragma: no cover - the skip in the fixture says so
    ray = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    """The address of a Ray head node of 2 CPUs on 127.0.0.1, stopped after the module."""
    if ray is None or shutil.which("ray", path=os.path.dirname(sys.executable)) is None:
        message = "Ray is not installed (pip install 'athanor[ray]')"
        if os.environ.get("ATHANOR_REQUIRE_RAY"):
            pytest.fail(message)
        pytest.skip(message)
    command = os.path.join(os.path.dirname(sys.executable), "ray")
    # Ray's sockets live in its temporary folder: a short path, under the 107-byte limit.
    temporary = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    port = _free_port()
    # The cluster's processes hold no Athanor settings of their own: each test's reach the
    # workers through the executor.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATHANOR_")}
    # A cluster on loopback, of this test alone: no token (Ray enables token authentication
    # when it finds one in ~/.ray, and this process would not send it).
    for variable, value in {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}.items():
        env[variable] = value
        monkeypatch_module.setenv(variable, value)
    address = f"127.0.0.1:{port}"
    log = Path(temporary) / "head.log"
    with open(log, "wb") as output:
        # --block: the head's processes form one process group, ended together below;
        # 'ray stop' would end every Ray cluster of this user on the machine.
        head = subprocess.Popen(
            [
                command,
                "start",
                "--head",
                "--block",
                "--port",
                str(port),
                "--node-ip-address",
                "127.0.0.1",
                "--num-cpus",
                "2",
                "--num-gpus",
                "0",
                "--include-dashboard=false",
                "--disable-usage-stats",
                "--object-store-memory",
                str(80 * 2**20),
                "--temp-dir",
                temporary,
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = Path(temporary) / "ray_current_cluster"  # written once the head runs
        deadline = time.monotonic() + 120
        while not ready.exists():
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start --head failed:\n{log.read_text()}")
            time.sleep(0.2)
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _end_group(head)
        shutil.rmtree(temporary, ignore_errors=True)


def _end_group(head: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the head's process group, SIGKILL to what is left after 5 s (a test
    cluster keeps nothing worth a graceful stop, and its head lingers on SIGTERM)."""
    for signum, patience in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0)):
        deadline = time.monotonic() + patience
        try:
            os.killpg(head.pid, signum)
            while time.monotonic() < deadline:
                head.poll()  # reap the leader, or the group never empties
                os.killpg(head.pid, 0)
                time.sleep(0.2)
        except ProcessLookupError:  # no process of the group is left
            break
    head.wait(timeout=10)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch

"""A real platform (``athanor up``) in a subprocess, on loopback, with its own home."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from athanor.server.client import PlatformClient
from athanor.settings import Settings
from athanor.store import Store, open_store
from tests.conftest import MIRROR

ATHANOR = [sys.executable, "-m", "athanor.cli"]


def platform_env(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "ATHANOR_HOME": str(home),
        "ATHANOR_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("ATHANOR_URL", None)
    env.pop("ATHANOR_TOKEN", None)
    if MIRROR is not None:
        env["ATHANOR_DATA_MIRROR"] = str(MIRROR)
    return env


def wait_for(condition, timeout: float, what: str, every: float = 0.1):
    """Poll ``condition()`` until it returns something truthy; fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


class PlatformProcess:
    """``athanor up --port 0 OPTIONS`` in a subprocess; its output goes to ``up-N.log``."""

    def __init__(self, home: Path, *options: str) -> None:
        self.home = home
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.starts = 0
        self.env = platform_env(home)
        self.launcher: list[str] = []  # e.g. ["ip", "netns", "exec", NAME]

    def start(self, timeout: float = 90.0) -> str:
        from athanor.server.platform_file import read_platform_file

        self.starts += 1
        log = open(self.home.parent / f"up-{self.starts}.log", "wb")  # noqa: SIM115
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [*self.launcher, *ATHANOR, "up", "--port", "0", *self.options],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        settings = self.settings

        def ready() -> str | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"athanor up exited: {self.output()}")
            info = read_platform_file(settings)
            return info.url if info is not None and info.pid == self.process.pid else None

        self.url = wait_for(ready, timeout, "the platform to start")
        return self.url

    def output(self) -> str:
        path = self.home.parent / f"up-{self.starts}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def settings(self) -> Settings:
        """The platform's home, database and artifact bucket (``ATHANOR_DB_URL`` and
        ``ATHANOR_ARTIFACTS_URL`` when the test set them)."""
        db_url = self.env.get("ATHANOR_DB_URL") or f"sqlite:///{self.home / 'athanor.db'}"
        return Settings(
            home=self.home,
            db_url=db_url,
            data_mirrors=(),
            artifacts_url=self.env.get("ATHANOR_ARTIFACTS_URL"),
        )

    def store(self) -> Store:
        return open_store(self.settings)

    @property
    def owner_token(self) -> str:
        """The owner's token that ``athanor up`` keeps in the home (mode 0600)."""
        from athanor.server.credentials import read_owner_token

        token = read_owner_token(self.settings)
        assert token, f"no owner token in {self.home}"
        return token

    def client(self, token: str | None = None) -> PlatformClient:
        """A client with ``token``, by default the owner's (``""``: none)."""
        return PlatformClient(self.url, token=self.owner_token if token is None else token)

    def login_link(self) -> str:
        """The one-time console link that ``athanor up`` printed."""
        for line in reversed(self.output().splitlines()):
            if line.startswith("Console: open ") and "/login?token=" in line:
                return line.split()[2]
        raise AssertionError(f"athanor up printed no console link:\n{self.output()}")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*ATHANOR, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"athanor {' '.join(args)}:\n{result.stdout}\n{result.stderr}")
        return result

    def kill(self) -> None:
        """SIGKILL this platform, and one started detached on its home ('up -d')."""
        from athanor.server.platform_file import read_platform_file

        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        info = read_platform_file(self.settings)
        if info is not None and info.alive():
            try:
                cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes()
            except OSError:
                return
            if b"athanor.cli" in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(info.pid, signal.SIGKILL)

    def stop(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill_workers(self) -> None:
        """SIGKILL the workers this platform's jobs recorded (a test's leftovers)."""
        if not self.env.get("ATHANOR_DB_URL") and not (self.home / "athanor.db").exists():
            return
        store = self.store()
        pids = {job.worker_pid for job in store.jobs.placed()}
        pids |= {run.pid for run in store.runs.list(status="running", limit=500)}
        for pid in pids - {None}:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"athanor.jobs.worker" in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def platform_factory(tmp_path: Path) -> Iterator:
    """Start platforms on a home of the test's; everything is killed at the end."""
    started: list[PlatformProcess] = []

    def make(*options: str, home: Path | None = None) -> PlatformProcess:
        platform = PlatformProcess(home or tmp_path / "platform-home", *options)
        started.append(platform)
        return platform

    yield make
    for platform in started:
        platform.kill()
        platform.kill_workers()


@pytest.fixture(scope="session")
def shared_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    """One platform for the API tests: one CPU slot, no warm worker, 1 MB uploads."""
    platform = PlatformProcess(
        tmp_path_factory.mktemp("shared") / "home",
        "--cpus",
        "1",
        "--gpus",
        "none",
        "--warm-workers",
        "0",
        "--max-upload-mb",
        "1",
    )
    platform.start()
    yield platform
    platform.kill()
    platform.kill_workers()

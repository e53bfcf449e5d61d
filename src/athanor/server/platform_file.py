"""``$ATHANOR_HOME/platform.json``: how the CLI finds the running platform.

``athanor up`` writes it once it serves (URL, pid, start time) and removes it when it
stops; ``ATHANOR_URL`` overrides it. One platform runs per home: ``platform.lock`` is held
(``flock``) while it runs, so a second ``athanor up`` is refused with the first one's URL.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from athanor.errors import UserError
from athanor.processes import process_alive
from athanor.settings import Settings

PLATFORM_FILE = "platform.json"
LOCK_FILE = "platform.lock"


@dataclass(frozen=True)
class PlatformInfo:
    """A running platform, as ``platform.json`` records it."""

    url: str
    pid: int
    started_at: str
    version: str

    def alive(self) -> bool:
        """Whether the platform's process runs (an exited one its parent has not collected
        yet, a zombie, does not)."""
        return process_alive(self.pid)


def platform_file(settings: Settings) -> Path:
    """Where ``platform.json`` lies for the home of ``settings``."""
    return settings.home / PLATFORM_FILE


def write_platform_file(settings: Settings, info: PlatformInfo) -> None:
    """Write platform.json in one rename (a reader never sees half of it)."""
    path = platform_file(settings)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(info), indent=2) + "\n")
    os.replace(temporary, path)


def read_platform_file(settings: Settings) -> PlatformInfo | None:
    """The platform that platform.json names, or ``None`` (no file, unreadable)."""
    try:
        data = json.loads(platform_file(settings).read_text())
        return PlatformInfo(
            url=str(data["url"]),
            pid=int(data["pid"]),
            started_at=str(data.get("started_at", "")),
            version=str(data.get("version", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_platform_file(settings: Settings, pid: int) -> None:
    """Remove platform.json if it is this process's (``pid``)."""
    info = read_platform_file(settings)
    if info is not None and info.pid == pid:
        platform_file(settings).unlink(missing_ok=True)


class PlatformLock:
    """Holds ``platform.lock`` while a platform runs on this home.

    Raises:
        UserError: another platform holds it (its URL, when known).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handle: IO[str] | None = None

    def __enter__(self) -> PlatformLock:
        import fcntl

        self.settings.home.mkdir(parents=True, exist_ok=True)
        handle = open(self.settings.home / LOCK_FILE, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            info = _wait_for_platform_file(self.settings)
            where = f" at {info.url} (pid {info.pid})" if info else ""
            raise UserError(
                f"a platform already runs on {self.settings.home}{where}; 'athanor down' stops it"
            ) from None
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _wait_for_platform_file(settings: Settings, timeout: float = 15.0) -> PlatformInfo | None:
    """The platform that holds the lock, once it has written platform.json: a platform that
    started a moment ago writes it only when it serves."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        info = read_platform_file(settings)
        if (info is not None and info.alive()) or time.monotonic() > deadline:
            return info
        time.sleep(0.1)

"""A throwaway PostgreSQL server in a temporary folder, for tests and benchmarks.

Debian's ``postgresql`` package (or any install with ``initdb`` and ``postgres``) is enough:
:class:`TemporaryPostgres` runs ``initdb`` into a fresh folder, starts ``postgres`` on a free
loopback port with its unix socket in the same folder, hands out databases, and removes
everything on :meth:`~TemporaryPostgres.stop`. PostgreSQL refuses to run as root, so under root
both programs run as an unprivileged user (``postgres`` when it exists, else ``nobody``) that
owns the folder. Nothing here is used by the platform itself.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SUPERUSER = "athanor"
"""The cluster's superuser (trust authentication on loopback only)."""

UNPRIVILEGED_USERS = ("postgres", "nobody")
"""Who runs ``initdb`` and ``postgres`` when this process is root, in order of preference."""

FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""Settings for tests: a crash of the machine may lose the cluster, which is thrown away anyway."""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here; the message says why."""


def find_binaries() -> Path:
    """The folder holding ``initdb`` and ``postgres``: PATH first, then Debian's layout.

    Raises:
        PostgresUnavailable: neither is found.
    """
    initdb = shutil.which("initdb")
    if initdb is not None:
        folder = Path(initdb).resolve().parent
        if (folder / "postgres").is_file():
            return folder
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed: no initdb on PATH nor under /usr/lib/postgresql/*/bin "
        "(Debian/Ubuntu: apt-get install postgresql)"
    )


def _unprivileged_user() -> pwd.struct_passwd:
    for name in UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable(
        f"running as root, and none of the users {', '.join(UNPRIVILEGED_USERS)} exists to "
        "run PostgreSQL (initdb and postgres refuse root)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TemporaryPostgres:
    """One PostgreSQL cluster in a temporary folder, on ``127.0.0.1:<free port>``.

    Args:
        settings: server settings (``name=value``) on top of PostgreSQL's defaults, e.g.
            :data:`FAST_SETTINGS` for tests; a benchmark keeps the durable defaults.
    """

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = dict(settings or {})
        self.bin = find_binaries()
        self.port = 0
        self.folder: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = _unprivileged_user() if os.geteuid() == 0 else None

    # --- life cycle ----------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> TemporaryPostgres:
        """Create the cluster and start the server (returns ``self``).

        Raises:
            PostgresUnavailable: initdb or the server failed; the message holds their output.
        """
        # Not under pytest's 0700 folders: the unprivileged user must reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="athanor-pg-", dir=self._parent()))
        os.chmod(self.folder, 0o700)
        if self._user is not None:
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        data = self.folder / "data"
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            "initdb",
        )
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between the probe and the bind
            self.port = _free_port()
            try:
                self._start_server(data, timeout)
                return self
            except PostgresUnavailable as exc:
                last_error = str(exc)
        self.stop()
        raise PostgresUnavailable(last_error)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- databases -----------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3 over TCP on loopback)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement)

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """Create a database (a copy of ``template`` when given); returns its name."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{copy}')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending the connections that are still open to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # --- internals -----------------------------------------------------------------------

    def _parent(self) -> str:
        """The temporary folder's parent: the usual one, unless the unprivileged user cannot
        pass through it (a TMPDIR under /root), then /tmp."""
        default = Path(tempfile.gettempdir()).resolve()
        if self._user is None:
            return str(default)
        for folder in (default, *default.parents):
            status = folder.stat()
            if not status.st_mode & 0o001 and status.st_uid != self._user.pw_uid:
                return "/tmp"
        return str(default)

    def _popen(self, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        assert self.folder is not None
        options: dict = {}
        if self._user is not None:
            options = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "LC_ALL": "C",
        }
        handle = log.open("ab")
        if self._user is not None:
            os.chown(log, self._user.pw_uid, self._user.pw_gid)
        spawn = functools.partial(
            subprocess.Popen,
            command,
            cwd=self.folder,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the tests does not reach it; stop() does
        )
        try:
            try:
                return spawn(**options)
            except PermissionError:
                if "extra_groups" not in options:
                    raise
                # some containers refuse setgroups(): the user's own group is enough then
                options.pop("extra_groups")
                return spawn(**options)
        finally:
            handle.close()

    def _run(self, command: list[str], what: str) -> None:
        assert self.folder is not None
        log = self.folder / f"{what}.log"
        process = self._popen(command, log)
        if process.wait(timeout=120) != 0:
            output = log.read_text(errors="replace")[-2000:]
            self.stop()
            raise PostgresUnavailable(f"{what} failed (exit {process.returncode}): {output}")

    def _start_server(self, data: Path, timeout: float) -> None:
        assert self.folder is not None
        log = self.folder / "postgres.log"
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.folder),
            "max_connections": "200",
            **self.settings,
        }
        command = [str(self.bin / "postgres"), "-D", str(data)]
        for key, value in options.items():
            command += ["-c", f"{key}={value}"]
        self._process = self._popen(command, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = log.read_text(errors="replace")[-2000:]
                self._process = None
                raise PostgresUnavailable(f"postgres exited at start: {output}")
            if self._accepts_connections():
                return
            time.sleep(0.1)
        output = log.read_text(errors="replace")[-2000:]
        self._process.kill()
        self._process.wait()
        self._process = None
        raise PostgresUnavailable(
            f"postgres did not accept connections in {timeout:.0f}s: {output}"
        )

    def _accepts_connections(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user=SUPERUSER,
                dbname="postgres",
                connect_timeout=2,
            ):
                return True
        except psycopg.OperationalError:
            return False

"""Leases and the one process-liveness check, on real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

from athanor.store.lease import Lease, aware, process_alive, utcnow


def test_a_running_process_is_alive_and_an_ended_one_is_not() -> None:
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)
    assert not process_alive(0) and not process_alive(-1)


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    # it exits at once; until it is waited for, it is a zombie whose pid still exists
    while time.monotonic() < deadline and process_alive(child.pid):
        time.sleep(0.02)
    assert not process_alive(child.pid)
    os.kill(child.pid, 0)  # the pid is still there (a zombie): only the check knows better
    child.wait()


def test_init_is_alive_whoever_owns_it() -> None:
    assert process_alive(1)  # kill(1, 0) may be refused (another user's): it exists


def test_a_local_lease_lives_with_its_process_whatever_its_heartbeat() -> None:
    long_ago = utcnow() - timedelta(hours=1)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lease = Lease(child.pid, socket.gethostname(), long_ago)
        assert lease.local and lease.held and lease.stale(60)
        assert lease.alive(timeout=60)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert not lease.alive(timeout=60)
    assert not Lease(None, "").alive(timeout=60) and Lease(None, "").local


def test_a_remote_lease_lives_while_its_heartbeat_is_fresh() -> None:
    now = utcnow()
    fresh = Lease(1, "another-host", now - timedelta(seconds=5))
    old = Lease(1, "another-host", now - timedelta(seconds=120))
    assert not fresh.local and fresh.alive(timeout=60, now=now)
    assert not fresh.stale(60, now) and old.stale(60, now)
    assert not old.alive(timeout=60, now=now)
    assert not Lease(1, "another-host").alive(timeout=60)  # it never beat
    assert old.silent_for(now) == 120 and Lease(1, "h").silent_for(now) is None
    assert not Lease(1, "h").stale(0)  # no heartbeat yet is not a stale one


def test_this_process_lease_and_aware_moments() -> None:
    lease = Lease.of_this_process()
    assert (lease.pid, lease.host) == (os.getpid(), socket.gethostname())
    assert lease.heartbeat_at is not None and lease.heartbeat_at.tzinfo is not None
    naive = utcnow().replace(tzinfo=None)
    assert aware(naive).tzinfo is not None and aware(None) is None


def test_a_cluster_lease_is_judged_by_its_heartbeat_even_under_this_host_s_name(
    monkeypatch,
) -> None:
    """A worker on a Ray cluster holds its job under an executor's id and ``ray:<host>``:
    the id is no pid of any machine, so only its heartbeat tells."""
    monkeypatch.setenv("ATHANOR_HOST_NAME", "ray:box")
    monkeypatch.setenv("ATHANOR_WORKER_ID", "7001")
    lease = Lease.of_this_process()
    assert (lease.pid, lease.host) == (7001, "ray:box") and not lease.local
    now = utcnow()
    assert lease.alive(timeout=60, now=now)
    assert not Lease(os.getpid(), "ray:box", now - timedelta(seconds=120)).alive(
        timeout=60, now=now
    )  # this very process's pid, yet silent: taken for lost

"""Whether a process of this machine runs: the one pid check of the platform.

It sits below every layer and imports nothing heavy, so that the CLI's platform discovery,
the store's leases and the scheduler all use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs.

    A process that has exited but that its parent has not collected yet (a zombie) does not;
    one owned by another user does. Without ``/proc`` (macOS) the pid is all there is to go by.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        # the pid ended between the two looks, or there is no /proc at all (macOS)
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"

"""Importing ``athanor``: large CPU tensors go on transparent huge pages unless the user says no."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
# A 64 MB tensor filled, then the huge pages this process holds
ALLOCATE = """
import os
import athanor, torch
x = torch.empty(16 * 2**20).fill_(1)
rollup = open("/proc/self/smaps_rollup").read()
print(os.environ["THP_MEM_ALLOC_ENABLE"], rollup.split("AnonHugePages:")[1].split()[0])
"""


def _run(env_value: str | None) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    if env_value is not None:
        env["THP_MEM_ALLOC_ENABLE"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", ALLOCATE], env=env, capture_output=True, text=True, check=True
    )
    flag, huge_kb = out.stdout.split()
    return flag, int(huge_kb)


def _mode() -> str | None:
    if not THP_MODE.is_file() or not Path("/proc/self/smaps_rollup").is_file():
        return None
    found = re.search(r"\[(\w+)\]", THP_MODE.read_text())
    return found.group(1) if found else None


def test_import_asks_torch_for_huge_pages_and_a_users_zero_is_kept() -> None:
    mode = _mode()
    if mode is None:
        pytest.skip("no transparent huge pages to read on this system")
    flag, huge_kb = _run(None)
    assert flag == "1"
    if mode != "never":
        assert huge_kb >= 32 * 1024  # most of the 64 MB tensor is on 2 MB pages
    flag, huge_kb = _run("0")
    assert flag == "0"
    if mode == "madvise":  # only what asks for them gets them
        assert huge_kb == 0

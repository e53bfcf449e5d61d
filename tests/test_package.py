"""Importing ``athanor``: large CPU tensors go on transparent huge pages unless the user says no."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# A 64 MB tensor: glibc maps a block that large on its own, so its address is 64 bytes past
# a page boundary unless PyTorch's huge-page path aligned it to a page before advising the
# kernel (madvise MADV_HUGEPAGE). Whether the kernel then finds huge pages is its own affair.
ALLOCATE = """
import os
import athanor, torch
x = torch.empty(16 * 2**20).fill_(1)
print(os.environ.get("THP_MEM_ALLOC_ENABLE", "unset"), x.data_ptr() % 4096)
"""


def _run(env_value: str | None) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    if env_value is not None:
        env["THP_MEM_ALLOC_ENABLE"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", ALLOCATE], env=env, capture_output=True, text=True, check=True
    )
    flag, offset = out.stdout.split()
    return flag, int(offset)


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux only")
def test_import_asks_torch_for_huge_pages_and_a_users_zero_is_kept() -> None:
    assert _run(None) == ("1", 0)  # page-aligned: the huge-page path
    flag, offset = _run("0")
    assert flag == "0" and offset != 0  # glibc's own placement

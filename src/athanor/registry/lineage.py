"""Lineage facts recorded with a model: the version of the code that trained it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from athanor import __version__


def code_version(folder: Path) -> dict[str, Any]:
    """Athanor's version, and the git commit of ``folder`` (with a dirty flag) when it has one."""
    code: dict[str, Any] = {"athanor": __version__}
    git = shutil.which("git")
    if git is None:
        return code
    try:
        commit = subprocess.run(
            [git, "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return code
        status = subprocess.run(
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return code
    code["commit"] = commit.stdout.strip()
    code["dirty"] = bool(status.stdout.strip())
    return code

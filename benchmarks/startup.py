"""Startup budgets: ``athanor --help`` <= 0.3 s and ``import athanor`` <= 1 s.

Each figure is the median of N fresh processes (wall-clock seconds, interpreter start
included), printed against its budget; the exit status is 1 when a budget is broken, so CI or
a person can use it. The median CPU seconds of the same processes are printed beside the wall
time: on a shared machine the wall time grows with the load and the CPU time much less, and
``python -c pass`` (the interpreter alone) is printed as the floor both figures stand on.

    .venv/bin/python benchmarks/startup.py            # 15 processes per figure
    .venv/bin/python benchmarks/startup.py --runs 31 --importtime

``--importtime`` also prints the slowest imports of each command (``python -X importtime``),
the place to look when a budget breaks (a heavy library imported at the top of a CLI module
rather than inside the command that needs it).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    """One command's timings over fresh processes."""

    name: str
    budget: float | None
    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def within(self) -> bool:
        return self.budget is None or self.median <= self.budget


def cli_command() -> list[str]:
    """The ``athanor`` entry point next to this interpreter, as installed; else ``-m``."""
    script = shutil.which("athanor", path=str(Path(sys.executable).parent))
    if script is not None:
        return [script]
    return [sys.executable, "-m", "athanor.cli"]


def environment() -> dict[str, str]:
    """This checkout's ``src`` first on the path, so the code measured is the code here."""
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def time_processes(command: list[str], runs: int, env: dict[str, str]) -> tuple[list, list]:
    """Wall and CPU (user + system) seconds of ``runs`` fresh processes of ``command``."""
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def slowest_imports(command: list[str], env: dict[str, str], top: int) -> list[tuple[int, str]]:
    """The ``top`` largest cumulative import times (microseconds) of one run of ``command``."""
    if command[0] != sys.executable:
        command = [
            sys.executable,
            "-c",
            "import sys; from athanor.cli.main import main; "
            "sys.argv = ['athanor', '--help']; main()",
        ]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per figure")
    parser.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    args = parser.parse_args(argv)
    env = environment()
    commands = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "import athanor": ([sys.executable, "-c", "import athanor"], 1.0),
        "athanor --help": ([*cli_command(), "--help"], 0.3),
    }
    for command, _ in commands.values():  # warm the file cache and .pyc files once
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    load_before = os.getloadavg()
    figures = []
    for name, (command, budget) in commands.items():
        wall, cpu = time_processes(command, args.runs, env)
        figures.append(Figure(name, budget, wall, cpu))
    load_after = os.getloadavg()

    print(f"startup budgets: median of {args.runs} fresh processes each, {sys.executable}")
    print(
        f"CPU threads: {os.cpu_count()}; load average (1, 5, 15 min) before: "
        + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after: "
        + ", ".join(f"{v:.2f}" for v in load_after)
    )
    print(
        f"{'command':<16} {'wall s':>8} {'cpu s':>8} {'budget s':>9} {'wall/budget':>12}  verdict"
    )
    for figure in figures:
        budget = f"{figure.budget:.2f}" if figure.budget is not None else "-"
        ratio = f"{figure.median / figure.budget:.2f}" if figure.budget else "-"
        verdict = "-" if figure.budget is None else ("ok" if figure.within else "OVER")
        print(
            f"{figure.name:<16} {figure.median:>8.3f} {statistics.median(figure.cpu):>8.3f} "
            f"{budget:>9} {ratio:>12}  {verdict}"
        )
    if max(load_before[0], load_after[0]) > (os.cpu_count() or 1):
        print(
            "note: the machine was busier than its CPU count; wall times are inflated, the "
            "CPU column is the steadier figure"
        )
    if args.importtime:
        for name in ("import athanor", "athanor --help"):
            command, _ = commands[name]
            print(f"\nslowest imports of {name} (cumulative ms, one run):")
            for micros, module in slowest_imports(command, env, 12):
                print(f"  {micros / 1000:>8.1f}  {module}")
    return 0 if all(f.within for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())

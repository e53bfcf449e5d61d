"""The root command lists every command without importing any, and runs the real one."""

from __future__ import annotations

import inspect
import subprocess
import sys

import typer

from athanor.cli.main import COMMANDS, app

LISTING_IMPORTS = """
import sys
from athanor.cli.main import main
sys.argv = ["athanor", "--help"]
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("athanor.cli.") and m not in (
    "athanor.cli.main", "athanor.cli.lazy_commands", "athanor.cli.output", "athanor.cli.pipes")))
"""


def test_each_listed_help_line_is_the_commands_own() -> None:
    group = typer.main.get_command(app)
    placeholders = {name: group.commands[name].help for name in COMMANDS}
    group.load_all()
    for name, listed in placeholders.items():
        real = group.commands[name]
        assert real.callback is not None or isinstance(real, typer.core.TyperGroup), name
        own = inspect.cleandoc(real.help or "").split("\n\n")[0]
        assert listed == own, f"{name}: COMMANDS in athanor/cli/main.py says {listed!r}"
    assert group.list_commands(None) == list(COMMANDS)


def test_the_listing_imports_no_command_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LISTING_IMPORTS], capture_output=True, text=True, check=True
    )
    assert "quickstart" in result.stdout and "label" in result.stdout  # the help was printed
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_command_resolves_to_the_real_one() -> None:
    group = typer.main.get_command(app)
    context = group.make_context("athanor", ["runs", "list"])
    name, command, _ = group.resolve_command(context, ["runs", "list"])
    assert name == "runs" and "list" in command.commands and command.commands["list"].callback

"""Commands whose modules are imported only when they run.

``athanor --help`` lists every command, yet runs none: building each command's options
(typer reads every function's signature) and importing each command's module made it several
times slower than its budget (``benchmarks/startup.py``). The root group lists a placeholder
per command, holding the one line of help the listing shows, and puts the real command in its
place when it is invoked (``athanor train ...``, ``athanor runs --help``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """A command by where it lives and the help line ``athanor --help`` shows for it.

    Args:
        target: ``"module:attribute"``; the attribute is a command function or a
            ``typer.Typer`` of subcommands.
        help: the first paragraph of the command's help (a test checks they agree).
    """

    target: str
    help: str

    def load(self, name: str) -> Any:
        """The real command, built as ``app.command(name)`` or ``app.add_typer`` would."""
        module, _, attribute = self.target.partition(":")
        value = getattr(importlib.import_module(module), attribute)
        if isinstance(value, typer.Typer):
            command = typer.main.get_group(value)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(value)
            command = typer.main.get_command(single)
        command.name = name
        return command


class LazyGroup(TyperGroup):
    """A typer group whose commands, listed in ``lazy``, load when they are resolved."""

    lazy: ClassVar[dict[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, entry in self.lazy.items():
            if name not in self.commands:
                self.commands[name] = TyperCommand(name=name, help=entry.help)

    def load(self, name: str) -> None:
        """Put the real command ``name`` in place of its placeholder."""
        entry = self.lazy.get(name)
        command = self.commands.get(name)
        if entry is not None and (command is None or command.callback is None):
            self.commands[name] = entry.load(name)

    def load_all(self) -> None:
        for name in self.lazy:
            self.load(name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args:
            self.load(args[0])
        return super().resolve_command(ctx, args)

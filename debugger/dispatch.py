"""Command dispatch in gdb's manner, independent of what the commands do.

A command set is a class with one `do_<name>(self, arg: str)` method per command (underscores
in the name stand for dashes: `do_reverse_stepi` is `reverse-stepi`). Its docstring is its
help: the first line is the summary `help` lists, the rest the detail `help NAME` prints.
Aliases are attributes of the method (`do_break.aliases = ("b", "br")`), set with the
`aliases` decorator. A command is found by its name, an alias, or any prefix of its name
that no other command shares; an empty line repeats the last command that asked to be
repeatable (stepping and listing do, as in gdb).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)
_WORD = re.compile(r"^([A-Za-z][\w-]*)(?=[\s/]|$)\s*(.*)$", re.S)


class CommandError(Exception):
    """A command cannot do what it was asked: one line for the user, the session goes on."""


def aliases(*names: str, repeat: bool = False) -> Callable[[F], F]:
    """Decorator: give a command aliases; `repeat` makes an empty line run it again."""

    def mark(method: F) -> F:
        method.aliases = names
        method.repeat = repeat
        return method

    return mark


def command_name(method_name: str) -> str:
    """`do_reverse_stepi` -> `reverse-stepi`."""
    return method_name[3:].replace("_", "-")


class Dispatcher:
    """Finds and runs the `do_` methods of a subclass; keeps the repeatable last command."""

    def __init__(self) -> None:
        self.commands: dict[str, Callable[[str], object]] = {
            command_name(name): getattr(self, name) for name in dir(self) if name.startswith("do_")
        }
        self.alias_of: dict[str, str] = {}
        for name, method in self.commands.items():
            for alias in getattr(method, "aliases", ()):
                self.alias_of[alias] = name
        self.last: str | None = None

    def resolve(self, word: str) -> str:
        """The full command name for `word`: exact name, alias, or unique prefix."""
        if word in self.commands:
            return word
        if word in self.alias_of:
            return self.alias_of[word]
        matches = sorted(name for name in self.commands if name.startswith(word))
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise CommandError(f'undefined command: "{word}"; try "help"')
        raise CommandError(f'ambiguous command "{word}": {", ".join(matches)}')

    def dispatch(self, line: str) -> object:
        """Run one command line; an empty line repeats the last repeatable command."""
        line = line.strip()
        if not line:
            if self.last is None:
                return None
            line = self.last
        if line.startswith("#"):
            return None
        match = _WORD.match(line)  # `x/8xw addr`: the command word ends at a slash too
        word, arg = (match[1], match[2]) if match else line.partition(" ")[::2]
        name = self.resolve(word)
        method = self.commands[name]
        self.last = line if getattr(method, "repeat", False) else None
        return method(arg.strip())

    def summaries(self) -> list[tuple[str, str]]:
        """(name with aliases, one-line summary) of every command, sorted by name."""
        rows = []
        for name in sorted(self.commands):
            method = self.commands[name]
            names = ", ".join((name, *getattr(method, "aliases", ())))
            rows.append((names, help_text(method).splitlines()[0]))
        return rows


def help_text(method: Callable) -> str:
    """A command's help: its docstring, dedented."""
    return inspect.cleandoc(method.__doc__ or "(no help)")

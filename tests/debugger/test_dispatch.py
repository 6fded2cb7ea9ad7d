"""gdb-style dispatch: names, aliases, unique prefixes, Enter repeats, help from docstrings."""

from __future__ import annotations

import pytest

from debugger.dispatch import CommandError, Dispatcher, aliases, help_text


class Toy(Dispatcher):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        super().__init__()

    @aliases("s", repeat=True)
    def do_step(self, arg: str) -> None:
        """Step one source line.

        Longer help text.
        """
        self.calls.append(("step", arg))

    @aliases("si", repeat=True)
    def do_stepi(self, arg: str) -> None:
        """Step one instruction."""
        self.calls.append(("stepi", arg))

    def do_reverse_stepi(self, arg: str) -> None:
        """Step one instruction backwards."""
        self.calls.append(("reverse-stepi", arg))

    def do_print(self, arg: str) -> None:
        """Print an expression."""
        self.calls.append(("print", arg))


def test_names_aliases_and_prefixes():
    toy = Toy()
    toy.dispatch("s 3")
    toy.dispatch("si")
    toy.dispatch("reverse-s 2")  # unique prefix
    toy.dispatch("pr x0")
    assert toy.calls == [("step", "3"), ("stepi", ""), ("reverse-stepi", "2"), ("print", "x0")]


def test_ambiguous_and_unknown_are_one_line_errors():
    toy = Toy()
    with pytest.raises(CommandError, match='ambiguous command "st": step, stepi'):
        toy.dispatch("st")
    with pytest.raises(CommandError, match='undefined command: "frobnicate"'):
        toy.dispatch("frobnicate")


def test_enter_repeats_only_repeatable_commands():
    toy = Toy()
    toy.dispatch("si")
    toy.dispatch("")
    toy.dispatch("print 1")
    toy.dispatch("")  # print is not repeatable: nothing happens
    assert toy.calls == [("stepi", ""), ("stepi", ""), ("print", "1")]


def test_help_comes_from_docstrings():
    toy = Toy()
    summaries = dict(toy.summaries())
    assert summaries["step, s"] == "Step one source line."
    assert help_text(toy.do_step) == "Step one source line.\n\nLonger help text."

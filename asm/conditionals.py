"""Conditional assembly: `.if`, `.ifdef`, `.ifndef`, `.elseif`, `.else`, `.endif`.

Conditions are evaluated when they are reached, so they may use only constants known by
then: numbers, `-D` values, predefined symbols and `.equ` / `.set` symbols defined earlier
with constant values (label addresses are not known yet). `.ifdef NAME` is true for a
symbol or macro defined before the line. Lines in a branch not taken are not assembled,
and their syntax errors are not reported.
"""

from __future__ import annotations

from collections.abc import Callable

from lark import Token

from asm.diagnostics import AsmError
from asm.expr import NotConstant, integer
from asm.syntax import Stmt

CONDITIONALS = frozenset({".if", ".ifdef", ".ifndef", ".elseif", ".else", ".endif"})


class ConstScope:
    """Symbols visible to conditions: constants defined so far, nothing relocatable."""

    def __init__(self, consts: dict[str, int]) -> None:
        self.consts = consts

    def symbol(self, name: Token) -> int:
        value = self.consts.get(name)
        if value is None:
            raise NotConstant(f"'{name}' is not a constant defined before this line", name)
        return value

    def local(self, ref: Token) -> int:
        raise NotConstant("a label's address is not known here", ref)

    def sizeof(self, name: Token) -> int:
        raise NotConstant("sizeof is not known here", name)

    def here(self) -> int:
        raise NotConstant("'.' is not known here")


def condition(s: Stmt, scope: ConstScope, defined: set[str], macros: dict) -> bool:
    """The truth of `.if EXPR`, `.elseif EXPR`, `.ifdef NAME` or `.ifndef NAME`."""
    arg = s.args[0]
    if s.name in (".ifdef", ".ifndef"):
        if type(arg) is tuple or arg.type != "WORD":
            raise AsmError(f"{s.name} takes a symbol name", arg)
        return (arg in defined or arg in macros) == (s.name == ".ifdef")
    return integer(arg, scope) != 0


class Conditions:
    """The `.if` nesting of one text (a file, or one expansion of a body)."""

    def __init__(
        self, fail: Callable[[Stmt, AsmError], None], evaluate: Callable[[Stmt], bool]
    ) -> None:
        self.fail = fail
        self.evaluate = evaluate
        # per open .if: [enclosing branch active, a branch taken, this branch active,
        #                .else seen, the .if statement]
        self.frames: list[list] = []

    @property
    def active(self) -> bool:
        """Whether lines here are assembled."""
        return self.frames[-1][2] if self.frames else True

    def handle(self, s: Stmt) -> bool:
        """Apply one conditional directive; return whether the lines after it are active."""
        name, frames = s.name, self.frames
        if name in (".if", ".ifdef", ".ifndef"):
            value = self._truth(s) if self.active else False
            frames.append([self.active, value, value, False, s])
        elif not frames:
            self.fail(s, AsmError(f"'{name}' without '.if'", s.name))
        elif name == ".endif":
            frames.pop()
        else:
            frame = frames[-1]
            if frame[3]:
                self.fail(s, AsmError(f"'{name}' after '.else'", s.name))
            enclosing, taken = frame[0], frame[1]
            if name == ".else":
                frame[3] = True
                frame[2] = enclosing and not taken
            else:
                frame[2] = enclosing and not taken and self._truth(s)
            frame[1] = taken or frame[2]
        return self.active

    def _truth(self, s: Stmt) -> bool:
        """A condition's value; an error in it is reported and counts as false."""
        try:
            return self.evaluate(s)
        except AsmError as e:
            self.fail(s, e)
            return False

    def close(self) -> None:
        """Report every `.if` left open at the end of the text."""
        for frame in self.frames:
            self.fail(frame[4], AsmError(f"'{frame[4].name}' without a matching '.endif'"))

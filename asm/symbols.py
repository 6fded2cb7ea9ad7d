"""Symbol resolution after layout: `.global` symbols across files, and final values.

Each file sees its own symbols first, then the `.global` symbols of every file. A global
defined twice, a symbol used but defined nowhere, and a `.equ` that depends on itself are
errors that name every definition involved.
"""

from __future__ import annotations

from typing import Any

from lark import Token

from asm.diagnostics import AsmError, Loc, Reporter, did_you_mean, shown
from asm.layout import FileLayout, local_name
from asm.sections import Sym
from asm.syntax import diagnostic


def where(sym: Sym) -> str:
    """file:line:col of a symbol's definition."""
    if sym.stmt is None:
        return "predefined or -D"
    return str(diagnostic(sym.stmt, AsmError("")).loc)


def definition_note(sym: Sym) -> list[tuple[str, Loc | None]]:
    """A note pointing at a symbol's (first) definition."""
    if sym.stmt is None:
        return [(f"'{sym.name}' is predefined or set with -D", None)]
    return [("first defined here", diagnostic(sym.stmt, AsmError("")).loc)]


def global_table(layouts: list[FileLayout], reporter: Reporter) -> dict[str, Sym]:
    """Defined `.global` symbols of all files; duplicates are reported."""
    table: dict[str, Sym] = {}
    for lay in layouts:
        for sym in lay.symbols.values():
            if sym.binding != "global" or not sym.defined:
                continue
            other = table.get(sym.name)
            if other is not None:
                message = f"global symbol '{sym.name}' is defined twice: here and at {where(other)}"
                reporter.report(
                    diagnostic(sym.stmt, AsmError(message, None, "error", definition_note(other)))
                )
                continue
            table[sym.name] = sym
    return table


class Resolver:
    """Final symbol values for one file: the Scope of encoding (pass 2)."""

    def __init__(
        self, layout: FileLayout, layouts: list[FileLayout], globals_: dict[str, Sym]
    ) -> None:
        self.layout = layout
        self.layouts = layouts
        self.globals = globals_
        self.values: dict[str, int] = {}
        self.counts: dict[str, int] = {}  #: numeric-label definitions passed so far
        self.pc = 0  #: address of the statement being encoded, for `.`
        self._resolving: set[str] = set()

    def symbol(self, name: Token) -> int:
        value = self.values.get(name)
        if value is not None:
            return value
        sym = self.layout.symbols.get(name)
        if sym is None or not sym.defined:
            sym = self.globals.get(name)
        if sym is None:
            raise AsmError(self._undefined(str(name)), name)
        value = self.value_of(sym, name)
        if not sym.variable:
            self.values[name] = value
        return value

    def value_of(self, sym: Sym, node: Any = None) -> int:
        """Absolute value of a symbol, evaluating a pending `.equ` expression once."""
        if sym.chunk is not None:
            return sym.chunk.base + sym.offset
        if sym.value is not None:
            return sym.value
        if sym.name in self._resolving:
            raise AsmError(f"'{sym.name}' is defined in terms of itself", node)
        self._resolving.add(sym.name)
        try:
            from asm.expr import integer

            owner = (
                self
                if sym.stmt is None or sym.stmt.unit.file == self.layout.index
                else Resolver(self.layouts[sym.stmt.unit.file], self.layouts, self.globals)
            )
            sym.value = integer(sym.expr, owner)
        except AsmError:
            sym.value = 0  # reported once: later uses see a value, not the error again
            raise
        finally:
            self._resolving.discard(sym.name)
        return sym.value

    def assign(self, name: str, value: int) -> None:
        """`.set`: later statements see the new value."""
        self.values[name] = value

    def local(self, ref: Token) -> int:
        number, direction = ref[:-1].lstrip("0") or "0", ref[-1]
        count = self.counts.get(number, 0)
        if direction == "b" and count == 0:
            raise AsmError(f"no label '{number}:' before '{ref}'", ref)
        name = local_name(number, count if direction == "b" else count + 1)
        sym = self.layout.symbols.get(name)
        if sym is None:
            raise AsmError(f"no label '{number}:' after '{ref}'", ref)
        return sym.chunk.base + sym.offset

    def here(self) -> int:
        return self.pc

    def sizeof(self, name: Token) -> int:
        sym = self.layout.symbols.get(name)
        if sym is None or sym.io is None:
            sym = self.globals.get(name)
        if sym is None or sym.io is None:
            raise AsmError(f"'{name}' is not an .input/.output/.weight/.tensor", name)
        return sym.io.nbytes

    def _undefined(self, name: str) -> str:
        for lay in self.layouts:
            sym = lay.symbols.get(name)
            if sym is not None and sym.defined and lay is not self.layout:
                return (
                    f"undefined symbol '{shown(name)}' (defined at {where(sym)}, "
                    "but not declared .global there)"
                )
        visible = [n for n, s in self.layout.symbols.items() if s.defined and "\x02" not in n]
        hint = did_you_mean(name, visible + list(self.globals))
        return f"undefined symbol '{shown(name)}'{hint}"

    def check_pending(self, reporter: Reporter) -> None:
        """Evaluate every `.equ` not used so far, so that its errors are reported too."""
        for sym in self.layout.symbols.values():
            if sym.expr is not None and sym.value is None and sym.chunk is None:
                try:
                    self.value_of(sym, sym.stmt.args[0] if sym.stmt.args else None)
                except AsmError as e:
                    reporter.report(diagnostic(sym.stmt, e))

    def all_values(self, quiet: bool = True) -> dict[str, int]:
        """Every symbol this file can see, by name (for relaxation and the symbol table)."""
        values: dict[str, int] = {}
        for table in (self.globals, self.layout.symbols):
            for name, sym in table.items():
                if not sym.defined:
                    continue
                try:
                    values[name] = self.value_of(sym)
                except AsmError:
                    if not quiet:
                        raise
        return values

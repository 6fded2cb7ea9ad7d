"""Preprocessing: conditionals, macros, .rept / .irp / .irpc, .include — to a flat statement list.

Conditions and repeat counts must be constants when they are reached: numbers, `-D`
values, predefined symbols and `.equ` / `.set` symbols defined earlier with constant values
(label addresses are not known yet). Limits keep any input bounded: nesting depth of
includes and expansions, and a total budget of statements produced by expansion.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from asm import macros, syntax
from asm.blocks import Block
from asm.conditionals import CONDITIONALS, Conditions, ConstScope, condition
from asm.diagnostics import AsmError, Reporter
from asm.expr import integer
from asm.literals import parse_string
from asm.source import Expansion, Unit, find_file, read_source
from asm.syntax import DIRECTIVE, ERROR, INSN, LABEL, LOCAL_LABEL, MACRO_DEF, Stmt

MAX_DEPTH = 64  #: nested includes and expansions
MAX_EXPANDED = 1_000_000  #: default budget of statements produced by expansion
MAX_EXPANSIONS = 100_000  #: macro and .irp bodies expanded (each is parsed anew), per file


class Preprocessor:
    """Expands one command-line file (and what it includes) into `out`."""

    def __init__(
        self,
        file: int,
        reporter: Reporter,
        include_dirs: list[str],
        consts: dict[str, int],
        max_expanded: int = MAX_EXPANDED,
    ) -> None:
        self.file = file
        self.max_expanded = max_expanded
        self.reporter = reporter
        self.include_dirs = include_dirs
        self.consts = consts
        self.scope = ConstScope(consts)
        self.defined: set[str] = set(consts)
        self.macros: dict[str, macros.Macro] = {}
        self.out: list[Stmt] = []
        self.expanded = 0
        self.expansions = 0
        self.counter = 0
        self.parsed: dict[tuple, list[Stmt]] = {}  #: expanded texts already parsed
        self.including: list[str] = []

    def run(self, unit: Unit) -> list[Stmt]:
        """Flat statements of a whole file."""
        self.including.append(os.path.realpath(unit.path))
        self.process(syntax.parse(unit), 0, False)
        return self.out

    def fail(self, stmt: Stmt, error: AsmError) -> None:
        """Report `error` at `stmt`."""
        self.reporter.report(syntax.diagnostic(stmt, error))

    def process(self, stmts: list[Stmt], depth: int, in_macro: bool) -> None:
        """Walk statements of one unit, keeping its own conditional stack."""
        conds = Conditions(self.fail, self._condition)
        active = True
        out = self.out
        exited = False
        for s in stmts:
            kind = s.kind
            if kind == INSN:
                if not active:
                    continue
                if self.macros and s.name in self.macros:
                    self._guard(s, self._call_macro, s, depth)
                else:
                    out.append(s)
            elif kind == DIRECTIVE:
                name = s.name
                if name in CONDITIONALS:
                    active = conds.handle(s)
                elif not active:
                    continue
                elif name in _HANDLERS:
                    if name == ".exitm" and in_macro:
                        exited = True
                        break
                    self._guard(s, _HANDLERS[name], self, s, depth)
                else:
                    if name in (".equ", ".set"):
                        self._guard(s, self._constant, s)
                    out.append(s)
            elif not active:
                continue
            elif kind == LABEL:
                self.defined.add(s.name)
                out.append(s)
            elif kind == LOCAL_LABEL:
                out.append(s)
            elif kind == ERROR:
                self.fail(s, AsmError(s.name, None))
            elif kind == MACRO_DEF:
                self._guard(s, self._define_macro, s)
        if not exited:
            conds.close()

    def _condition(self, s: Stmt) -> bool:
        _expect(s, 1)
        return condition(s, self.scope, self.defined, self.macros)

    def _guard(self, stmt: Stmt, action: Any, *args: Any) -> None:
        """Run one statement's action; its AsmError becomes a diagnostic."""
        try:
            action(*args)
        except AsmError as e:
            self.fail(stmt, e)

    def _constant(self, s: Stmt) -> None:
        """Record `.equ`/`.set` values that are constant now, so conditions can use them."""
        if len(s.args) != 2 or type(s.args[0]) is tuple:
            return  # layout reports the malformed statement
        self.defined.add(s.args[0])
        try:
            value = integer(s.args[1], self.scope)
        except AsmError:
            self.consts.pop(s.args[0], None)
            return
        s.extra = value
        self.consts[s.args[0]] = value

    # ---- macros, repetition, includes --------------------------------------------------------

    def _define_macro(self, s: Stmt) -> None:
        macro = macros.define(s.extra, s.unit)
        self.macros[macro.name] = macro
        self.defined.add(macro.name)

    def _call_macro(self, s: Stmt, depth: int) -> None:
        macro = self.macros[s.name]
        values = macros.bind(macro, s.args, s.unit, s.line)
        self.counter += 1
        call = s.unit.loc(s.line, *syntax.span(s.name))
        context = Expansion("macro", macro.name, call, s.unit, macro.definition)
        self._expand(s, macro.body.body, values, macro.body_first, macro.path, context, depth)

    def _expand(
        self,
        s: Stmt,
        body: str,
        values: dict,
        first: int,
        path: str,
        context: Expansion,
        depth: int,
    ) -> None:
        if depth >= MAX_DEPTH:
            raise AsmError(
                f"expansions nested too deeply (limit {MAX_DEPTH}); is a macro calling itself?"
            )
        # The budget is charged before any work: once spent, further calls fail at once.
        self._spend(s, body.count("\n") + 1)
        self.expansions += 1
        if self.expansions > MAX_EXPANSIONS:
            raise AsmError(f"too many macro and .irp expansions (more than {MAX_EXPANSIONS})")
        what = f"macro '{context.name}'" if context.kind == "macro" else context.kind
        try:
            text = macros.substitute(body, values, self.counter, what)
        except AsmError as e:
            place = macros.substitution_error_place(e)
            if place is None:
                raise
            unit = Unit(path, body, self.file, first, 0, context)
            self.reporter.report(unit.diagnostic(e, place[0], place[1:]))
            return
        unit = Unit(path, text, self.file, first, 0, context)
        self.process(self._parse_expansion(unit), depth + 1, context.kind == "macro")

    def _parse_expansion(self, unit: Unit) -> list[Stmt]:
        """Statements of an expanded body; equal texts are parsed once (macros are often
        called with the same arguments, and recursion repeats one text many times)."""
        key = (unit.path, unit.first, unit.text)
        parsed = self.parsed.get(key)
        if parsed is None:
            parsed = self.parsed[key] = syntax.parse(unit)
            return parsed
        return [_copy(s, unit) for s in parsed]

    def _spend(self, s: Stmt, count: int) -> None:
        if self.expanded + count > self.max_expanded:
            raise AsmError(f"expansion too large (more than {self.max_expanded} statements)")
        self.expanded += count

    def rept(self, s: Stmt, depth: int) -> None:
        """`.rept N`: the body's statements, N times (parsed once)."""
        _expect(s, 1)
        count = integer(s.args[0], self.scope)
        if count < 0:
            raise AsmError(f".rept count {count} is negative", s.args[0])
        block = _body(s)
        if block.parsed is None:
            call = s.unit.loc(s.line, *syntax.span(s.name))
            first = s.unit.file_line(block.body_first)
            unit = Unit(
                s.unit.path,
                block.body,
                self.file,
                first,
                max(block.body_lines, 1),
                Expansion(".rept", ".rept", call, s.unit),
            )
            block.parsed = syntax.parse(unit)
        body = block.parsed
        if depth >= MAX_DEPTH:
            raise AsmError(f"expansions nested too deeply (limit {MAX_DEPTH})")
        self._spend(s, count * max(1, len(body)))  # an empty body still costs its loop
        for _ in range(count):
            self.process([_copy(b) for b in body], depth + 1, False)

    def irp(self, s: Stmt, depth: int) -> None:
        """`.irp SYM, V...` / `.irpc SYM, CHARS`: the body once per value, `\\SYM` replaced."""
        if not s.args or type(s.args[0]) is tuple or s.args[0].type != "WORD":
            raise AsmError(
                f"{s.name} takes a parameter name, then values", s.args[0] if s.args else None
            )
        texts = [syntax.source_text(a, s.unit, s.line) for a in s.args[1:]]
        if s.name == ".irpc":
            texts = list("".join(texts))
        block = _body(s)
        call = s.unit.loc(s.line, *syntax.span(s.name))
        first = s.unit.file_line(block.body_first)
        for text in texts or [""]:
            self.counter += 1
            context = Expansion(str(s.name), str(s.name), call, s.unit)
            self._expand(s, block.body, {s.args[0]: text}, first, s.unit.path, context, depth)

    def include(self, s: Stmt, depth: int) -> None:
        """`.include "file"`: the file's statements, here."""
        _expect(s, 1)
        name = parse_string(s.args[0]).decode("utf-8", "replace")
        path = find_file(name, s.unit.path, self.include_dirs)
        if path is None:
            raise AsmError(f"cannot find include file '{name}'", s.args[0])
        real = os.path.realpath(path)
        if real in self.including:
            raise AsmError(f"recursive .include of '{name}'", s.args[0])
        if depth >= MAX_DEPTH:
            raise AsmError(f"includes nested too deeply (limit {MAX_DEPTH})", s.args[0])
        text = read_source(path)
        call = s.unit.loc(s.line, *syntax.span(s.name))
        unit = Unit(path, text, self.file, context=Expansion(".include", name, call, s.unit))
        stmts = syntax.parse(unit)
        self._spend(s, len(stmts))  # a file included many times counts every time
        self.including.append(real)
        try:
            self.process(stmts, depth + 1, False)
        finally:
            self.including.pop()

    def message(self, s: Stmt, depth: int) -> None:
        """`.error "text"` / `.warning "text"`."""
        text = parse_string(s.args[0]).decode("utf-8", "replace") if s.args else s.name[1:]
        raise AsmError(text, None, "error" if s.name == ".error" else "warning")

    def stray(self, s: Stmt, depth: int) -> None:
        """A block terminator with no block open (asm.blocks lifts matched ones)."""
        opener = {".endm": ".macro", ".endr": ".rept", ".exitm": ".macro"}[s.name]
        raise AsmError(f"'{s.name}' without '{opener}'", s.name)


def _expect(s: Stmt, count: int) -> None:
    if len(s.args) != count:
        raise AsmError(f"'{s.name}' takes {count} operand{'s' * (count != 1)}, got {len(s.args)}")


def _body(s: Stmt) -> Any:
    if s.extra is None:
        raise AsmError(f"'{s.name}' without '.endr'", s.name)
    return s.extra


def _copy(s: Stmt, unit: Unit | None = None) -> Stmt:
    """A fresh statement (layout annotates statements, so repeats need their own), moved to
    another unit if given (with its own block, whose parsed body names that unit)."""
    copy = Stmt(s.kind, s.name, s.args, s.line, unit or s.unit)
    copy.extra = s.extra
    if unit is not None and isinstance(s.extra, Block):
        copy.extra = dataclasses.replace(s.extra, parsed=None)
    return copy


_HANDLERS = {
    ".rept": Preprocessor.rept,
    ".irp": Preprocessor.irp,
    ".irpc": Preprocessor.irp,
    ".include": Preprocessor.include,
    ".error": Preprocessor.message,
    ".warning": Preprocessor.message,
    ".endm": Preprocessor.stray,
    ".endr": Preprocessor.stray,
    ".exitm": Preprocessor.stray,
}

#: every directive this stage handles (".endm" and ".endr" close blocks found by asm.blocks)
PREPROCESSOR = frozenset({*_HANDLERS, *CONDITIONALS, ".macro"})

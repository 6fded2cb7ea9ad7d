"""Encoding (pass 2): instruction words and data bytes, with every symbol's final value.

Walks a file's statements in the order layout saw them (so `1b` / `1f` and `.set` values are
those at each statement), writes bytes into the section chunks at the offsets layout chose,
and records the line table (every instruction address -> file:line:column) and, on request,
listing records.
"""

from __future__ import annotations

from typing import Any

from asm.diagnostics import AsmError, Reporter
from asm.directives import DIRECTIVES
from asm.layout import FileLayout
from asm.plans import encode_words, resolve
from asm.symbols import Resolver
from asm.syntax import DIRECTIVE, INSN, LOCAL_LABEL, Stmt, diagnostic
from isa.elf import LineEntry


def _nop() -> bytes:
    """The `nop` pseudo's encoding, used to pad .text between instructions."""
    plan = resolve("nop")
    words = encode_words(plan, (), _NopContext())  # type: ignore[arg-type]
    return b"".join(w.to_bytes(8, "little") for w in words)


class _NopContext:
    scope = None
    pc = 0

    def warn(self, message: str, where: Any) -> None:
        raise AssertionError(message)


NOP = _nop()


class Emitter:
    """Pass-2 state for one file; also the encoding `Context` of asm.operands."""

    nop = NOP

    def __init__(
        self,
        layout: FileLayout,
        resolver: Resolver,
        reporter: Reporter,
        lines: list[LineEntry],
        records: list | None,
    ) -> None:
        self.layout = layout
        self.scope = resolver
        self.reporter = reporter
        self.lines = lines
        self.records = records
        self.pc = 0
        self.stmt: Stmt | None = None
        self.wrote = False  #: whether the current statement has written bytes

    def warn(self, message: str, where: Any) -> None:
        """A warning at a node of the statement being encoded."""
        self.reporter.report(diagnostic(self.stmt, AsmError(message, where, "warning")))

    def write(self, s: Stmt, data: bytes) -> None:
        """Bytes of a data statement, at the offset layout gave it."""
        chunk = s.chunk
        chunk.data[s.offset : s.offset + len(data)] = data
        if chunk.kind.executable and data:
            # Data in .text gets a line-table row too, so a trap on it names its line.
            path, line, col = s.unit.outermost(s.line)
            self.lines.append(LineEntry(chunk.base + s.offset, path, line, col or s.name.column))
        self.wrote = True
        if self.records is not None:
            self.records.append((s, chunk.base + s.offset, bytes(data)))

    def assign(self, name: str, value: int) -> None:
        """`.set`: later statements see the new value."""
        self.scope.assign(name, value)

    def run(self) -> None:
        """Encode every statement of the file."""
        scope = self.scope
        counts = scope.counts
        table = DIRECTIVES
        lines, records = self.lines, self.records
        for s in self.layout.stmts:
            self.stmt = s
            try:
                kind = s.kind
                if kind == INSN:
                    plan = s.plan
                    if not plan:
                        continue
                    chunk = s.chunk
                    pc = self.pc = scope.pc = chunk.base + s.offset
                    words = encode_words(plan, s.args, self, s.extra if not plan.words else 0)
                    data = b"".join([w.to_bytes(8, "little") for w in words])
                    chunk.data[s.offset : s.offset + len(data)] = data
                    path, line, col = s.unit.outermost(s.line)
                    col = col or s.name.column
                    for k in range(len(words)):
                        lines.append(LineEntry(pc + 8 * k, path, line, col))
                    if records is not None:
                        records.append((s, pc, data))
                elif kind == DIRECTIVE:
                    if s.plan is False:
                        continue
                    directive = table.get(s.name)
                    emit = directive.emit if directive is not None else None
                    address = s.chunk.base + s.offset if s.chunk else 0
                    self.wrote = False
                    if emit is not None:
                        scope.pc = address
                        emit(s, self)
                    if records is not None and not self.wrote:
                        records.append((s, address, b""))
                elif kind == LOCAL_LABEL:
                    number = s.name.lstrip("0") or "0"
                    counts[number] = counts.get(number, 0) + 1
                    if records is not None:
                        records.append((s, s.chunk.base + s.offset, b""))
                elif records is not None:
                    records.append((s, s.chunk.base + s.offset if s.chunk else 0, b""))
            except AsmError as e:
                self.reporter.report(diagnostic(s, e))

"""Source texts: files as read from disk, and the expanded bodies of macros, .rept and .irp.

A `Unit` is one text handed to the parser. Its line n maps back to a line of the file it was
written in (a body repeated by .rept maps every copy to the same lines), and an expansion
unit remembers where it was expanded so diagnostics can show the whole chain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from asm.diagnostics import AsmError, Diagnostic, Loc

MAX_FILE_BYTES = 16 << 20  #: larger sources and .incbin files are refused (bounded memory)
MAX_LINE_CHARS = 100_000  #: longer lines are reported instead of parsed


@dataclass
class Expansion:
    """Where a unit's text came from: a macro call, or a .rept / .irp / .irpc block."""

    kind: str  #: "macro", ".rept", ".irp" or ".irpc"
    name: str  #: the macro's name, or the directive
    call: Loc  #: the statement that expanded it
    call_unit: Unit  #: the unit that statement is in (for the rest of the chain)
    definition: Loc | None = None  #: the `.macro` line


class Unit:
    """A parsed text: its lines, and how they map to lines of the file they were written in."""

    __slots__ = ("_lines", "context", "file", "first", "path", "period", "text")

    def __init__(
        self,
        path: str,
        text: str,
        file: int = 0,
        first: int = 1,
        period: int = 0,
        context: Expansion | None = None,
    ) -> None:
        self.path = path  #: file the text was written in
        self.text = text
        self.file = file  #: index of the command-line file this text belongs to (its symbols)
        self.first = first  #: file line of the text's line 1
        self.period = period  #: >0 for .rept bodies: copies of `period` lines
        self.context = context
        self._lines: list[str] | None = None

    def file_line(self, line: int) -> int:
        """The line of `self.path` that the text's line `line` was written on."""
        if self.period:
            return self.first + (line - 1) % self.period
        return self.first + line - 1

    def line_text(self, line: int) -> str:
        """The text's line `line` (as assembled, after macro substitution)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""

    def loc(self, line: int, col: int = 0, end_col: int = 0) -> Loc:
        """The Loc of a span on the text's line `line`."""
        return Loc(self.path, self.file_line(line), col, end_col, self.line_text(line))

    def notes(self) -> list[tuple[str, Loc | None]]:
        """One note per enclosing expansion, innermost first."""
        notes: list[tuple[str, Loc | None]] = []
        ctx = self.context
        while ctx is not None:
            if ctx.kind == "macro":
                where = f" defined at {ctx.definition}" if ctx.definition else ""
                notes.append((f"in expansion of macro '{ctx.name}'{where}", ctx.call))
            elif ctx.kind == ".include":
                notes.append(("included from here", ctx.call))
            else:
                notes.append((f"in expansion of {ctx.kind}", ctx.call))
            ctx = ctx.call_unit.context
        if len(notes) > 6:  # deep recursion: the innermost few and the outermost call
            hidden = len(notes) - 5
            notes = [*notes[:4], (f"... {hidden} more levels of expansion", None), notes[-1]]
        return notes

    def outermost(self, line: int) -> tuple[str, int, int]:
        """(path, line, column or 0) for the line table: the outermost macro call, else
        this line (a .rept or .irp body line stands for itself)."""
        path, at, col = self.path, self.file_line(line), 0
        ctx = self.context
        while ctx is not None:
            if ctx.kind == "macro":
                path, at, col = ctx.call.path, ctx.call.line, ctx.call.col
            ctx = ctx.call_unit.context
        return path, at, col

    def diagnostic(self, error: AsmError, line: int, span: tuple[int, int]) -> Diagnostic:
        """A Diagnostic for `error` at `span` of line `line`, with the expansion notes."""
        return Diagnostic(error.severity, error.message, self.loc(line, *span), self.notes())


def decode_source(data: bytes, path: str) -> str:
    """UTF-8 text of a source file; AsmError naming the position of the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line_end = data.find(b"\n", e.start)
        shown = data[line_start : line_end if line_end >= 0 else len(data)]
        col = len(data[line_start : e.start].decode("utf-8", "replace")) + 1
        loc = Loc(
            path, data.count(b"\n", 0, e.start) + 1, col, col + 1, shown.decode("utf-8", "replace")
        )
        raise AsmError(f"invalid UTF-8 byte {data[e.start]:#04x}", loc) from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark is not part of the program
    return text


def read_source(path: str) -> str:
    """Read and decode a source file; AsmError (no location) if unreadable or too large."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise AsmError(f"{path}: file too large ({size} bytes; limit {MAX_FILE_BYTES})")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise AsmError(f"cannot read {path}: {e.strerror or e}") from None
    return decode_source(data, path)


def find_file(name: str, including: str, include_dirs: list[str]) -> str | None:
    """Resolve `.include` / `.incbin` / `.tensor` paths: the including file's folder, then -I."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    for folder in [os.path.dirname(including), *include_dirs]:
        candidate = os.path.normpath(os.path.join(folder, name))
        if os.path.isfile(candidate):
            return candidate
    return None

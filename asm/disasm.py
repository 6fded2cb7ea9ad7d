"""`jasm dis` and `jasm syms`: text views of a J1 ELF program, read with isa.elf.read_elf.

Disassembly prints labels, one instruction per line (`address: text`, or with the 64-bit
word when `show_encoding`), branch targets annotated with their label as a comment, and
the source line of each new line-table row when the source file can be read. Every
instruction line is valid jasm input at its address: reassembling it gives the same word.
"""

from __future__ import annotations

import os
from typing import Any

from isa import EncodingError, decode, disassemble
from isa.elf import Program
from isa.spec import Kind


class SourceCache:
    """Source lines by file, looked up as stored or next to the ELF file."""

    def __init__(self, elf_dir: str) -> None:
        self.elf_dir = elf_dir
        self.files: dict[str, list[str] | None] = {}

    def line(self, path: str, number: int) -> str | None:
        """Line `number` of source `path`, or None if it cannot be read."""
        if path not in self.files:
            self.files[path] = self._read(path)
        lines = self.files[path]
        return lines[number - 1] if lines is not None and 0 < number <= len(lines) else None

    def _read(self, path: str) -> list[str] | None:
        for candidate in (path, os.path.join(self.elf_dir, path)):
            try:
                with open(candidate, "rb") as f:
                    return f.read(1 << 26).decode("utf-8", "replace").split("\n")
            except OSError:
                continue
        return None


def disassembly(program: Program, show_encoding: bool = False, sources: Any = None) -> str:
    """The disassembly of every executable section of `program`."""
    labels: dict[int, list[str]] = {}
    for sym in program.symbols:
        if sym.section is not None:
            labels.setdefault(sym.value, []).append(sym.name)
    lines = {entry.address: entry for entry in program.lines}
    out = [f"entry point {program.entry:#x}"]
    for section in program.sections:
        if not section.executable:
            continue
        out.append(f"\nsection {section.name} at {section.address:#x}, {len(section.data)} bytes")
        last_row = None
        for k in range(0, len(section.data) - 7, 8):
            pc = section.address + k
            for name in labels.get(pc, ()):
                out.append(f"{name}:")
            row = lines.get(pc)
            if row is not None and sources is not None and (row.file, row.line) != last_row:
                text = sources.line(row.file, row.line)
                if text is not None:
                    out.append(f"# {row.file}:{row.line}: {text.strip()}")
                last_row = (row.file, row.line)
            word = int.from_bytes(section.data[k : k + 8], "little")
            out.append(_instruction_line(word, pc, labels, show_encoding))
        tail = len(section.data) - len(section.data) % 8
        if tail < len(section.data):  # data that does not fill a word
            values = ", ".join(f"{b:#04x}" for b in section.data[tail:])
            out.append(f"    {section.address + tail:x}:  .byte {values}")
    return "\n".join(out) + "\n"


def _instruction_line(word: int, pc: int, labels: dict[int, list[str]], show: bool) -> str:
    encoding = f"{word:016x}  " if show else ""
    try:
        inst = decode(word)
    except EncodingError:
        return f"    {pc:x}:  {encoding}.dword {word:#x}  # not an instruction"
    text = disassemble(inst, pc)
    notes = []
    for f, value in zip(inst.spec.fields, inst.values, strict=True):
        if f.kind is Kind.OFFSET:
            target = (pc + value) & ((1 << 64) - 1)
            if target in labels:
                notes.append(f"<{labels[target][0]}>")
    comment = f"  # {' '.join(notes)}" if notes else ""
    return f"    {pc:x}:  {encoding}{text}{comment}"


def symbol_table(program: Program) -> str:
    """The symbols and the I/O table of `program`."""
    out = [f"{len(program.symbols)} symbols:"]
    out.append(f"  {'VALUE':<18}{'SIZE':>8}  {'KIND':<7}{'BIND':<7}{'SECTION':<9}NAME")
    for s in program.symbols:
        section = s.section or "*ABS*"
        out.append(f"  {s.value:016x}  {s.size:>8}  {s.kind:<7}{s.binding:<7}{section:<9}{s.name}")
    if program.io:
        out.append(f"\n{len(program.io)} I/O entries:")
        out.append(f"  {'ROLE':<8}{'NAME':<20}{'DTYPE':<9}{'SHAPE':<18}{'ADDRESS':<18}NBYTES")
        for e in program.io:
            shape = "x".join(str(n) for n in e.shape)
            out.append(
                f"  {e.role:<8}{e.name:<20}{e.dtype:<9}{shape:<18}{e.address:016x}  {e.nbytes}"
            )
    return "\n".join(out) + "\n"

"""Sections, per-file section chunks, symbols, and the linker that places them.

Memory layout of a J1 program (the J1 ELF ABI, isa.elf.model):

- `.text` starts at DRAM address 0x1000; `.rodata`, `.data` and `.bss` follow in that order,
  each starting on a 64-byte boundary. `.tensor` constants live in `.rodata`.
- `.input`, `.output` and `.weight` buffers are reserved (NOBITS) in `.j1.io`, after `.bss`,
  each 64-byte aligned.
- `.sram` and `.acc` (NOBITS) start at isa.memmap.SRAM_BASE and ACC_BASE: labels there name
  on-chip buffers.
- With several source files, each file contributes one chunk per section; chunks are
  concatenated in command-line order (each aligned to its largest `.align`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isa.memmap import ACC_BASE, SRAM_BASE

TEXT_BASE = 0x1000
SECTION_ALIGN = 64


@dataclass(frozen=True)
class SectionKind:
    """Fixed properties of a section."""

    name: str
    nobits: bool = False
    writable: bool = False
    executable: bool = False
    base: int | None = None  #: fixed start address; None: follows the previous DRAM section


SECTIONS: dict[str, SectionKind] = {
    s.name: s
    for s in (
        SectionKind(".text", executable=True, base=TEXT_BASE),
        SectionKind(".rodata"),
        SectionKind(".data", writable=True),
        SectionKind(".bss", nobits=True, writable=True),
        SectionKind(".j1.io", nobits=True, writable=True),
        SectionKind(".sram", nobits=True, writable=True, base=SRAM_BASE),
        SectionKind(".acc", nobits=True, writable=True, base=ACC_BASE),
    )
}
USER_SECTIONS = (".text", ".rodata", ".data", ".bss", ".sram", ".acc")  #: `.section` names


class Chunk:
    """One file's part of one section."""

    __slots__ = ("align", "base", "data", "file", "kind", "size")

    def __init__(self, kind: SectionKind, file: int) -> None:
        self.kind = kind
        self.file = file
        self.size = 0
        self.align = 8 if kind.name == ".text" else 1
        self.base = 0
        self.data = bytearray()

    def __repr__(self) -> str:
        return f"Chunk({self.kind.name}, file {self.file}, {self.size} bytes at {self.base:#x})"


class Sym:
    """A symbol of one file: a label (chunk + offset), a constant, or a pending expression."""

    __slots__ = (
        "binding",
        "chunk",
        "expr",
        "io",
        "kind",
        "name",
        "offset",
        "size",
        "stmt",
        "value",
        "variable",
    )

    def __init__(self, name: str, stmt: Any = None) -> None:
        self.name = name
        self.stmt = stmt  #: the defining statement (its location), None for -D and predefined
        self.chunk: Chunk | None = None
        self.offset = 0
        self.value: int | None = None  #: absolute value once known
        self.expr: Any = None  #: `.equ` expression still to evaluate
        self.binding = "local"
        self.kind = "notype"
        self.size = 0
        self.io: Any = None  #: IoEntry fields for .input/.output/.weight/.tensor names
        self.variable = False  #: defined with .set (may be redefined)

    @property
    def defined(self) -> bool:
        """Whether a definition has been seen (a `.global` alone does not define)."""
        return self.chunk is not None or self.value is not None or self.expr is not None


def align_up(value: int, alignment: int) -> int:
    """`value` rounded up to a multiple of `alignment` (a power of two)."""
    return (value + alignment - 1) & -alignment


def link(chunks_by_file: list[dict[str, Chunk]]) -> dict[str, tuple[int, int]]:
    """Give every chunk its base address; return section name -> (address, size)."""
    placed: dict[str, tuple[int, int]] = {}
    cursor = TEXT_BASE
    for kind in SECTIONS.values():
        start = kind.base if kind.base is not None else align_up(cursor, SECTION_ALIGN)
        end, first = start, None
        for chunks in chunks_by_file:
            chunk = chunks.get(kind.name)
            if chunk is None:
                continue
            chunk.base = align_up(end, chunk.align)
            end = chunk.base + chunk.size
            first = chunk.base if first is None else first
        start = start if first is None else first
        placed[kind.name] = (start, end - start)
        if kind.base is None or kind.name == ".text":
            cursor = end  # DRAM sections follow each other; on-chip ones have their own bases
    return placed

"""The J1 program model: what an ELF file holds, independent of how the bytes are laid out.

The assembler builds a `Program` and writes it with `isa.elf.write_elf`; the simulator,
debugger and `jasm dis` read one back with `isa.elf.read_elf`. This is the J1 ELF ABI:

- ELF64, little-endian, e_machine = EM_J1 (0x4A31, "J1"), e_type ET_EXEC, entry = `_start`
  if defined, else the start of `.text`.
- Sections live at absolute addresses in the flat J1 address map (isa.memmap): `.text`,
  `.rodata`, `.data`, `.bss` and the program I/O buffers (`.j1.io`, NOBITS) in DRAM;
  `.sram` and `.acc` (NOBITS) name on-chip buffers.
- `.j1.iotab` holds the program's I/O table; `.symtab`/`.strtab` its symbols;
  `.debug_line` (DWARF) maps every instruction address to file:line:column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EM_J1 = 0x4A31  #: e_machine of J1 executables ("J1" in ASCII)

IoRole = Literal["input", "output", "weight", "tensor"]


@dataclass
class Section:
    """A named run of memory at an absolute address. NOBITS sections have `size` but no data."""

    name: str
    address: int
    data: bytes = b""
    nobits: bool = False
    size: int = 0  #: for NOBITS sections; for others len(data)
    executable: bool = False
    writable: bool = False
    align: int = 8

    @property
    def length(self) -> int:
        """Bytes the section occupies in memory."""
        return self.size if self.nobits else len(self.data)


@dataclass
class Symbol:
    """A symbol table entry. `section` is None for absolute symbols (`.equ`)."""

    name: str
    value: int
    section: str | None = None
    binding: Literal["local", "global"] = "local"
    kind: Literal["func", "object", "notype"] = "notype"
    size: int = 0


@dataclass(frozen=True)
class LineEntry:
    """One row of the line table: the instruction at `address` came from file:line:column."""

    address: int
    file: str
    line: int
    column: int = 1


@dataclass(frozen=True)
class IoEntry:
    """A named program tensor: `.input`, `.output`, `.weight` (reserved DRAM the runtime binds
    by name) or `.tensor` (an initialised constant). `dtype` is an isa.dtypes name; `nbytes`
    is the storage size (for quantised dtypes, whole 32-element blocks per row)."""

    name: str
    role: IoRole
    dtype: str
    shape: tuple[int, ...]
    address: int
    nbytes: int


@dataclass
class Program:
    """A linked J1 program, ready to load."""

    sections: list[Section] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)
    lines: list[LineEntry] = field(default_factory=list)
    io: list[IoEntry] = field(default_factory=list)
    entry: int = 0

    def section(self, name: str) -> Section | None:
        """The section called `name`, if any."""
        return next((s for s in self.sections if s.name == name), None)

    def symbol(self, name: str) -> Symbol | None:
        """The symbol called `name`, if any."""
        return next((s for s in self.symbols if s.name == name), None)

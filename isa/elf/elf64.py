"""ELF64 constants and record layouts (little-endian), as far as J1 executables use them.

Values are those of the System V gABI; only the subset that a J1 executable contains or that
the reader must recognise to reject is listed.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
EV_CURRENT = 1
ELFOSABI_SYSV = 0
ET_EXEC = 2

SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 0, 1, 2, 3, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_XINDEX = 0, 0xFF00, 0xFFF1, 0xFFFF

STB_LOCAL, STB_GLOBAL = 0, 1
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4

PT_LOAD = 1
PF_X, PF_W, PF_R = 0x1, 0x2, 0x4

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr, 64 bytes
PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr, 56 bytes
SHDR = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr, 64 bytes
SYM = struct.Struct("<IBBHQQ")  # Elf64_Sym, 24 bytes


class FileHeader(NamedTuple):
    """Elf64_Ehdr."""

    ident: bytes
    type: int
    machine: int
    version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


class ProgramHeader(NamedTuple):
    """Elf64_Phdr."""

    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


class SectionHeader(NamedTuple):
    """Elf64_Shdr."""

    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


class SymbolEntry(NamedTuple):
    """Elf64_Sym."""

    name: int
    info: int
    other: int
    shndx: int
    value: int
    size: int

    @property
    def binding(self) -> int:
        """STB_* from the high nibble of st_info."""
        return self.info >> 4

    @property
    def type(self) -> int:
        """STT_* from the low nibble of st_info."""
        return self.info & 0xF

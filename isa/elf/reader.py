"""Read a J1 ELF executable back into a `Program`, trusting nothing in the file.

The file is hostile until proven otherwise. Every failure is an ElfError with a one-line
reason; no allocation is sized by a header field before that field is checked against the
file size or `Limits` (NOBITS sections are never allocated: the Program carries their
size); every loop is bounded by the file size. What is checked:

- ELF header: magic, ELFCLASS64, little-endian, EV_CURRENT (ident and e_version), OSABI
  SYSV, ET_EXEC, e_machine EM_J1, e_flags 0, e_ehsize / e_phentsize / e_shentsize, a
  section header table with a valid e_shstrndx (no extended numbering).
- Layout: the header tables and every section's contents lie inside the file, and sections
  with contents share no bytes with each other or with the header tables (so the program's
  data can never be larger than the file); PT_LOAD segments lie inside the file, have
  p_filesz <= p_memsz and stay inside one J1 memory window.
- Sections: section 0 is null; names index into `.shstrtab` and are UTF-8; sh_link names an
  existing section; sh_addralign is 0 or a power of two; allocatable sections are PROGBITS
  or NOBITS with only the ALLOC, WRITE and EXECINSTR flags, and NOBITS sizes are within
  `Limits.max_region_bytes`; at most one `.symtab`, `.j1.iotab` and `.debug_line`, with the
  right types.
- Symbols: sh_entsize, sh_link to a string table, sh_info = first global, a null symbol 0,
  locals before globals, names inside `.strtab`, only LOCAL/GLOBAL bindings and NOTYPE /
  OBJECT / FUNC types (SECTION and FILE symbols are skipped), st_shndx naming a loaded
  section or SHN_ABS.
- `.debug_line` and `.j1.iotab`: see isa.elf.dwarf_line and isa.elf.iotab.
- The rebuilt program: every rule in isa.elf.rules (memory windows, overlaps, I/O table
  meaning, line addresses, entry point).

Sections, not segments, define the memory image: a loader uses `Program.sections`, so program
headers are only checked to be sane, not matched against the sections.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from isa.elf import elf64 as E
from isa.elf.cursor import Cursor
from isa.elf.dwarf_line import decode_line_program
from isa.elf.errors import ElfError
from isa.elf.iotab import decode_iotab
from isa.elf.model import EM_J1, Program, Section, Symbol
from isa.elf.rules import MAX_NAME_BYTES, canonical, check_program
from isa.memmap import REGION_SPAN, REGIONS, region_of

_ALLOC_FLAGS = E.SHF_ALLOC | E.SHF_WRITE | E.SHF_EXECINSTR
_KINDS = {E.STT_NOTYPE: "notype", E.STT_OBJECT: "object", E.STT_FUNC: "func"}
_BINDINGS = {E.STB_LOCAL: "local", E.STB_GLOBAL: "global"}


@dataclass(frozen=True)
class Limits:
    """Bounds on what a file may make the reader accept."""

    #: largest memory size of one section or segment, NOBITS included
    max_region_bytes: int = REGION_SPAN


class _StringTable:
    """Names inside one ELF string table.

    Decoded bytes are charged to a budget shared by all tables: without it, many symbols
    pointing into one long string would turn a small file into gigabytes of names.
    """

    def __init__(self, data: bytes, header: E.SectionHeader, where: str, budget: list[int]):
        if header.type != E.SHT_STRTAB:
            raise ElfError(f"{where} is not a string table (sh_type {header.type})")
        self.data, self.where, self.budget = data, where, budget
        self.start, self.size = header.offset, header.size
        self.cache: dict[int, str] = {}

    def name(self, index: int, what: str) -> str:
        if index >= self.size:
            raise ElfError(f"{what}: name index {index:#x} lies outside {self.where}")
        if index not in self.cache:
            cursor = Cursor(self.data, self.where, self.start, self.start + self.size)
            cursor.pos += index
            name = cursor.cstring(f"name of {what}", MAX_NAME_BYTES)
            self.budget[0] -= len(name) + 1
            if self.budget[0] < 0:
                raise ElfError(f"{self.where}: names add up to more than twice the file size")
            self.cache[index] = name
        return self.cache[index]


def _file_header(data: bytes) -> E.FileHeader:
    if len(data) < E.EHDR.size:
        raise ElfError(f"file is {len(data)} bytes, too short for an ELF header")
    header = E.FileHeader(*E.EHDR.unpack_from(data))
    ident = header.ident
    if ident[:4] != E.ELF_MAGIC:
        raise ElfError(f"not an ELF file (magic {ident[:4]!r})")
    if ident[4] != E.ELFCLASS64:
        kind = "32-bit ELF" if ident[4] == E.ELFCLASS32 else f"unknown ELF class {ident[4]}"
        raise ElfError(f"{kind}: J1 executables are ELF64")
    if ident[5] != E.ELFDATA2LSB:
        kind = (
            "big-endian ELF" if ident[5] == E.ELFDATA2MSB else f"unknown data encoding {ident[5]}"
        )
        raise ElfError(f"{kind}: J1 executables are little-endian")
    if ident[6] != E.EV_CURRENT or header.version != E.EV_CURRENT:
        raise ElfError(f"ELF version {ident[6]}/{header.version} is not EV_CURRENT (1)")
    if ident[7] != E.ELFOSABI_SYSV or ident[8] != 0:
        raise ElfError(f"OS ABI {ident[7]} version {ident[8]} is not System V (0, 0)")
    if header.type != E.ET_EXEC:
        raise ElfError(f"e_type {header.type} is not ET_EXEC ({E.ET_EXEC})")
    if header.machine != EM_J1:
        raise ElfError(f"e_machine {header.machine:#x} is not EM_J1 ({EM_J1:#x})")
    if header.flags:
        raise ElfError(f"e_flags {header.flags:#x} are not supported (must be 0)")
    if header.ehsize != E.EHDR.size:
        raise ElfError(f"e_ehsize {header.ehsize} is not {E.EHDR.size}")
    if header.phnum and header.phentsize != E.PHDR.size:
        raise ElfError(f"e_phentsize {header.phentsize} is not {E.PHDR.size}")
    if header.shentsize != E.SHDR.size:
        raise ElfError(f"e_shentsize {header.shentsize} is not {E.SHDR.size}")
    if header.shoff == 0 or header.shnum == 0:
        raise ElfError("no section header table (or extended section numbering)")
    if header.shnum >= E.SHN_LORESERVE:
        raise ElfError(f"e_shnum {header.shnum:#x} is in the reserved range")
    if not 0 < header.shstrndx < header.shnum:
        raise ElfError(f"e_shstrndx {header.shstrndx} does not name one of {header.shnum} sections")
    for what, offset, size in _header_tables(header):
        if offset + size > len(data):
            raise ElfError(f"{what} at {offset:#x} + {size:#x} runs past the end of the file")
    return header


def _header_tables(header: E.FileHeader) -> list[tuple[str, int, int]]:
    tables = [("ELF header", 0, E.EHDR.size)]
    tables.append(("section header table", header.shoff, header.shnum * E.SHDR.size))
    if header.phnum:
        tables.append(("program header table", header.phoff, header.phnum * E.PHDR.size))
    return tables


def _has_contents(header: E.SectionHeader) -> bool:
    return header.type not in (E.SHT_NULL, E.SHT_NOBITS) and header.size > 0


class _Reader:
    """One pass over one file: headers, names, then the program's parts."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data, self.limits = data, limits
        self.header = _file_header(data)
        self.budget = [2 * len(data)]
        shoff, shnum = self.header.shoff, self.header.shnum
        self.sections = [
            E.SectionHeader(*E.SHDR.unpack_from(data, shoff + i * E.SHDR.size))
            for i in range(shnum)
        ]
        if any(self.sections[0]):
            raise ElfError("section 0 is not the null section")
        for index, header in enumerate(self.sections):
            if _has_contents(header) and header.offset + header.size > len(data):
                raise ElfError(
                    f"section {index}: contents at {header.offset:#x} + {header.size:#x} run "
                    f"past the end of the file ({len(data):#x} bytes)"
                )
        self.shstrtab = _StringTable(
            data, self.sections[self.header.shstrndx], ".shstrtab", self.budget
        )
        self.names = [""] + [self._check_section(i) for i in range(1, shnum)]
        self._check_file_layout()
        self.special = self._container_sections()

    def _check_section(self, index: int) -> str:
        header = self.sections[index]
        name = self.shstrtab.name(header.name, f"section {index}")
        what = f"section {index} ({name!r})"
        if header.link >= len(self.sections):
            raise ElfError(f"{what}: sh_link {header.link} is not a section index")
        if header.addralign & (header.addralign - 1):
            raise ElfError(f"{what}: sh_addralign {header.addralign} is not a power of two")
        if header.flags & E.SHF_ALLOC:
            if header.type not in (E.SHT_PROGBITS, E.SHT_NOBITS):
                raise ElfError(f"{what}: allocatable sections of type {header.type} unsupported")
            if header.flags & ~_ALLOC_FLAGS:
                raise ElfError(f"{what}: unsupported flags {header.flags:#x}")
            if header.size > self.limits.max_region_bytes:
                raise ElfError(
                    f"{what}: {header.size:#x} bytes exceed the limit of "
                    f"{self.limits.max_region_bytes:#x}"
                )
        return name

    def _check_file_layout(self) -> None:
        """Section contents and header tables may not share file bytes."""
        ranges = [(offset, size, what) for what, offset, size in _header_tables(self.header)]
        ranges += [
            (h.offset, h.size, f"section {i} ({self.names[i]!r})")
            for i, h in enumerate(self.sections)
            if _has_contents(h)
        ]
        ranges.sort()
        for (offset, size, what), (next_offset, _, next_what) in itertools.pairwise(ranges):
            if offset + size > next_offset:
                raise ElfError(f"{what} and {next_what} overlap in the file")

    def _container_sections(self) -> dict[str, int]:
        found: dict[str, int] = {}
        expected = {
            ".symtab": E.SHT_SYMTAB,
            ".j1.iotab": E.SHT_PROGBITS,
            ".debug_line": E.SHT_PROGBITS,
        }
        for index, (header, name) in enumerate(zip(self.sections, self.names, strict=True)):
            if header.type == E.SHT_SYMTAB and name != ".symtab":
                raise ElfError(f"section {index} ({name!r}) is a symbol table not named .symtab")
            if name in expected and not header.flags & E.SHF_ALLOC:
                if header.type != expected[name]:
                    raise ElfError(f"section {index} ({name}) has the wrong type {header.type}")
                if name in found:
                    raise ElfError(f"more than one {name} section")
                found[name] = index
        return found

    def contents(self, index: int) -> bytes:
        header = self.sections[index]
        return self.data[header.offset : header.offset + header.size] if header.size else b""

    def program_sections(self) -> tuple[list[Section], dict[int, str]]:
        """The loadable sections, and their names by section index."""
        sections: list[Section] = []
        by_index: dict[int, str] = {}
        for index, header in enumerate(self.sections):
            if header.type == E.SHT_NULL or not header.flags & E.SHF_ALLOC:
                continue
            nobits = header.type == E.SHT_NOBITS
            sections.append(
                Section(
                    self.names[index],
                    header.addr,
                    b"" if nobits else self.contents(index),
                    nobits,
                    header.size,
                    bool(header.flags & E.SHF_EXECINSTR),
                    bool(header.flags & E.SHF_WRITE),
                    max(header.addralign, 1),
                )
            )
            by_index[index] = self.names[index]
        return sections, by_index

    def check_segments(self) -> None:
        """Program headers lie inside the file and their memory inside one J1 window."""
        for i in range(self.header.phnum):
            offset = self.header.phoff + i * E.PHDR.size
            segment = E.ProgramHeader(*E.PHDR.unpack_from(self.data, offset))
            what = f"program header {i}"
            if segment.filesz and segment.offset + segment.filesz > len(self.data):
                raise ElfError(
                    f"{what}: file bytes {segment.offset:#x} + {segment.filesz:#x} "
                    f"run past the end of the file"
                )
            if segment.type != E.PT_LOAD:
                continue
            if segment.filesz > segment.memsz:
                raise ElfError(f"{what}: p_filesz {segment.filesz:#x} > p_memsz {segment.memsz:#x}")
            if segment.memsz > self.limits.max_region_bytes:
                raise ElfError(f"{what}: p_memsz {segment.memsz:#x} exceeds the limit")
            region = region_of(segment.vaddr)
            if region is None or segment.vaddr + segment.memsz > REGIONS[region] + REGION_SPAN:
                raise ElfError(
                    f"{what}: {segment.vaddr:#x} + {segment.memsz:#x} is not inside "
                    f"one J1 memory window"
                )

    def symbols(self, section_names: dict[int, str]) -> list[Symbol]:
        index = self.special.get(".symtab")
        if index is None:
            return []
        header = self.sections[index]
        if header.entsize != E.SYM.size or header.size % E.SYM.size:
            raise ElfError(
                f".symtab: entry size {header.entsize} / size {header.size:#x} "
                f"do not describe {E.SYM.size}-byte symbols"
            )
        strtab = _StringTable(self.data, self.sections[header.link], ".strtab", self.budget)
        count = header.size // E.SYM.size
        if count and not 1 <= header.info <= count:
            raise ElfError(f".symtab: sh_info {header.info} is not a symbol index in 1..{count}")
        entries = (
            E.SymbolEntry(*E.SYM.unpack_from(self.data, header.offset + i * E.SYM.size))
            for i in range(count)
        )
        symbols = []
        for i, entry in enumerate(entries):
            if i == 0:
                if any(entry):
                    raise ElfError(".symtab: symbol 0 is not the null symbol")
                continue
            symbol = self._symbol(i, entry, header.info, strtab, section_names)
            if symbol is not None:
                symbols.append(symbol)
        return symbols

    def _symbol(
        self,
        i: int,
        entry: E.SymbolEntry,
        first_global: int,
        strtab: _StringTable,
        section_names: dict[int, str],
    ) -> Symbol | None:
        name = strtab.name(entry.name, f"symbol {i}")
        what = f"symbol {i} ({name!r})"
        if entry.binding not in _BINDINGS:
            raise ElfError(f"{what}: binding {entry.binding} is not LOCAL or GLOBAL")
        if (entry.binding == E.STB_LOCAL) != (i < first_global):
            raise ElfError(
                f"{what}: local and global symbols are out of order (sh_info {first_global})"
            )
        if entry.type in (E.STT_SECTION, E.STT_FILE):
            return None
        if entry.type not in _KINDS:
            raise ElfError(f"{what}: symbol type {entry.type} is not NOTYPE, OBJECT or FUNC")
        if entry.shndx == E.SHN_ABS:
            section = None
        elif entry.shndx in section_names:
            section = section_names[entry.shndx]
        elif entry.shndx == E.SHN_UNDEF:
            raise ElfError(f"{what}: undefined symbol in an executable")
        else:
            raise ElfError(f"{what}: st_shndx {entry.shndx:#x} is not a loaded section")
        return Symbol(
            name, entry.value, section, _BINDINGS[entry.binding], _KINDS[entry.type], entry.size
        )

    def optional(self, name: str) -> bytes | None:
        index = self.special.get(name)
        return None if index is None else self.contents(index)


def read_elf(data: bytes, *, limits: Limits = Limits()) -> Program:
    """The Program in J1 ELF image `data`; ElfError (one line) if anything is malformed."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"read_elf needs bytes, not {type(data).__name__}")
    reader = _Reader(bytes(data), limits)
    sections, section_names = reader.program_sections()
    reader.check_segments()
    symbols = reader.symbols(section_names)
    debug_line = reader.optional(".debug_line")
    lines = [] if debug_line is None else decode_line_program(debug_line)
    iotab = reader.optional(".j1.iotab")
    io = [] if iotab is None else decode_iotab(iotab)
    program = Program(sections, symbols, lines, io, reader.header.entry)
    check_program(program, max_region_bytes=limits.max_region_bytes)
    return canonical(program)

"""Write a `Program` as a J1 ELF executable (the layout is described in isa.elf.model).

File layout, in order: ELF header; one PT_LOAD program header per non-empty section, sorted
by address (NOBITS: p_filesz 0); the contents of the program's sections in program order
(file offsets aligned to the section alignment, capped at FILE_ALIGN_CAP because nothing maps
these files by page); `.j1.iotab` (if the program has I/O entries); `.debug_line` (if it has
line entries); `.symtab`, `.strtab`, `.shstrtab`; the section header table.

Section header order: the null section, the program's sections in program order, then the
container sections in the order above.
"""

from __future__ import annotations

from dataclasses import dataclass

from isa.elf import elf64 as E
from isa.elf.dwarf_line import encode_line_program
from isa.elf.errors import ElfError
from isa.elf.iotab import encode_iotab
from isa.elf.model import EM_J1, LineEntry, Program, Section, Symbol
from isa.elf.rules import canonical, check_program

FILE_ALIGN_CAP = 64
_CONTAINER_SECTIONS = ("", ".j1.iotab", ".debug_line", ".symtab", ".strtab", ".shstrtab")
_SYMBOL_TYPES = {"notype": E.STT_NOTYPE, "object": E.STT_OBJECT, "func": E.STT_FUNC}
_BINDINGS = {"local": E.STB_LOCAL, "global": E.STB_GLOBAL}


class _StringTable:
    """An ELF string table under construction; equal names share one entry."""

    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.offsets: dict[str, int] = {"": 0}

    def add(self, name: str) -> int:
        if name not in self.offsets:
            self.offsets[name] = len(self.data)
            self.data += name.encode("utf-8") + b"\0"
        return self.offsets[name]


@dataclass
class _Placed:
    """A section header being assembled: name, contents and header fields."""

    name: str
    type: int
    flags: int = 0
    addr: int = 0
    offset: int = 0
    size: int = 0
    link: int = 0
    info: int = 0
    align: int = 1
    entsize: int = 0


class _Image:
    """The file being written: bytes appended at aligned offsets."""

    def __init__(self, header_bytes: int) -> None:
        self.out = bytearray(header_bytes)

    def append(self, blob: bytes, align: int) -> int:
        offset = -(-len(self.out) // align) * align
        self.out += bytes(offset - len(self.out)) + blob
        return offset


def _file_align(section: Section) -> int:
    return min(section.align, FILE_ALIGN_CAP)


def _section_flags(section: Section) -> int:
    flags = E.SHF_ALLOC
    if section.executable:
        flags |= E.SHF_EXECINSTR
    if section.writable:
        flags |= E.SHF_WRITE
    return flags


def _segment(section: Section, offset: int) -> bytes:
    flags = E.PF_R
    if section.executable:
        flags |= E.PF_X
    if section.writable:
        flags |= E.PF_W
    filesz = 0 if section.nobits else section.length
    return E.PHDR.pack(
        E.PT_LOAD,
        flags,
        offset,
        section.address,
        section.address,
        filesz,
        section.length,
        _file_align(section),
    )


def _line_sequences(program: Program) -> list[tuple[list[LineEntry], int]]:
    """One DWARF sequence per section with line entries, ending at the section's end."""
    by_section: dict[str, list[LineEntry]] = {}
    spans = sorted(
        (s for s in program.sections if s.length and not s.nobits), key=lambda s: s.address
    )
    index = 0
    for entry in program.lines:  # already sorted by address (canonical form)
        while spans[index].address + spans[index].length <= entry.address:
            index += 1
        by_section.setdefault(spans[index].name, []).append(entry)
    ends = {s.name: s.address + s.length for s in spans}
    return [(rows, ends[name]) for name, rows in by_section.items()]


def _symbol_table(
    symbols: list[Symbol], section_index: dict[str, int], strtab: _StringTable
) -> tuple[bytes, int]:
    """The .symtab bytes (locals first) and the index of the first global symbol."""
    out = bytearray(E.SYM.size)  # the null symbol
    first_global = 1
    for symbol in symbols:
        if symbol.binding == "local":
            first_global += 1
        shndx = E.SHN_ABS if symbol.section is None else section_index[symbol.section]
        info = (_BINDINGS[symbol.binding] << 4) | _SYMBOL_TYPES[symbol.kind]
        out += E.SYM.pack(strtab.add(symbol.name), info, 0, shndx, symbol.value, symbol.size)
    return bytes(out), first_global


def write_elf(program: Program) -> bytes:
    """The J1 ELF executable for `program`; ElfError if the program breaks isa.elf.rules."""
    check_program(program)
    if len(program.sections) + len(_CONTAINER_SECTIONS) >= E.SHN_LORESERVE:
        raise ElfError(f"{len(program.sections)} sections do not fit in an ELF section table")
    program = canonical(program)  # locals before globals, lines by address
    loaded = sorted((s for s in program.sections if s.length), key=lambda s: s.address)
    image = _Image(E.EHDR.size + E.PHDR.size * len(loaded))

    headers = [_Placed("", E.SHT_NULL, align=0)]
    section_index: dict[str, int] = {}
    segments: dict[str, bytes] = {}
    for section in program.sections:
        # NOBITS takes no bytes, but an aligned offset keeps p_offset = p_vaddr mod p_align.
        offset = image.append(b"" if section.nobits else section.data, _file_align(section))
        section_index[section.name] = len(headers)
        headers.append(
            _Placed(
                section.name,
                E.SHT_NOBITS if section.nobits else E.SHT_PROGBITS,
                _section_flags(section),
                section.address,
                offset,
                section.length,
                align=section.align,
            )
        )
        segments[section.name] = _segment(section, offset)

    if program.io:
        blob = encode_iotab(program.io)
        headers.append(
            _Placed(
                ".j1.iotab", E.SHT_PROGBITS, offset=image.append(blob, 8), size=len(blob), align=8
            )
        )
    if program.lines:
        blob = encode_line_program(_line_sequences(program))
        headers.append(
            _Placed(".debug_line", E.SHT_PROGBITS, offset=image.append(blob, 1), size=len(blob))
        )

    strtab = _StringTable()
    symtab, first_global = _symbol_table(program.symbols, section_index, strtab)
    headers.append(
        _Placed(
            ".symtab",
            E.SHT_SYMTAB,
            offset=image.append(symtab, 8),
            size=len(symtab),
            link=len(headers) + 1,
            info=first_global,
            align=8,
            entsize=E.SYM.size,
        )
    )
    headers.append(
        _Placed(".strtab", E.SHT_STRTAB, offset=image.append(strtab.data, 1), size=len(strtab.data))
    )
    shstrtab = _StringTable()
    names = [shstrtab.add(h.name) for h in headers]
    names.append(shstrtab.add(".shstrtab"))
    headers.append(
        _Placed(
            ".shstrtab",
            E.SHT_STRTAB,
            offset=image.append(shstrtab.data, 1),
            size=len(shstrtab.data),
        )
    )

    table = b"".join(
        E.SHDR.pack(
            name, h.type, h.flags, h.addr, h.offset, h.size, h.link, h.info, h.align, h.entsize
        )
        for name, h in zip(names, headers, strict=True)
    )
    shoff = image.append(table, 8)
    ident = E.ELF_MAGIC + bytes([E.ELFCLASS64, E.ELFDATA2LSB, E.EV_CURRENT, E.ELFOSABI_SYSV])
    image.out[: E.EHDR.size] = E.EHDR.pack(
        ident.ljust(16, b"\0"),
        E.ET_EXEC,
        EM_J1,
        E.EV_CURRENT,
        program.entry,
        E.EHDR.size if loaded else 0,
        shoff,
        0,
        E.EHDR.size,
        E.PHDR.size,
        len(loaded),
        E.SHDR.size,
        len(headers),
        len(headers) - 1,
    )
    image.out[E.EHDR.size : E.EHDR.size + E.PHDR.size * len(loaded)] = b"".join(
        segments[s.name] for s in loaded
    )
    return bytes(image.out)

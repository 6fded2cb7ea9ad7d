"""What makes a `Program` writable and loadable, and the canonical form a round trip keeps.

`write_elf` checks a program with `check_program` before writing it, and `read_elf` checks
the program it rebuilt with the same function, so "valid" means the same thing on both
sides. The rules:

- names (sections, symbols, files, I/O entries) are non-empty UTF-8 without NUL, at most
  MAX_NAME_BYTES bytes;
- sections have unique names (none of the names the file format itself uses), a power-of-two
  alignment the address honours, lie wholly inside one J1 memory window (isa.memmap), are no
  larger than `max_region_bytes`, and do not overlap; NOBITS sections carry no data and
  PROGBITS sections have `size` 0 or `len(data)`;
- symbols name an existing section or none (absolute), with 64-bit value and size;
- line entries have unique addresses inside a section with contents, lines in 1..2**31-1 and
  columns in 0..2**31-1 (DWARF's column 0 means "unknown"; binutils decode lines as C ints);
- I/O entries have unique names, a known role and isa.dtypes name, a shape of at most
  MAX_RANK positive dimensions, `nbytes` equal to the storage of that shape (rows of whole
  32-element blocks for quantised types), and lie wholly inside one section;
- the entry point lies inside an executable section, if the program has one.

Canonical form (what `read_elf(write_elf(p))` returns, see `canonical`): sections in input
order with `size == len(data)` for PROGBITS; symbols local-first then global, each group in
input order; line entries sorted by address; I/O entries in input order with tuple shapes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import replace

from isa import dtypes
from isa.elf.errors import ElfError
from isa.elf.model import IoEntry, LineEntry, Program, Section, Symbol
from isa.memmap import REGION_SPAN, REGIONS, region_of

MAX_NAME_BYTES = 4096
MAX_RANK = 8
MAX_LINE = (1 << 31) - 1  #: binutils keep line numbers (and line steps) in a C int
ADDRESS_LIMIT = 1 << 64
ROLES = ("input", "output", "weight", "tensor")
BINDINGS = ("local", "global")
KINDS = ("func", "object", "notype")
#: names of the sections the file format adds; program sections may not use them
RESERVED_SECTIONS = frozenset({"", ".symtab", ".strtab", ".shstrtab", ".debug_line", ".j1.iotab"})


def check_name(name: object, what: str) -> bytes:
    """The UTF-8 bytes of `name`, or ElfError if it cannot be stored as an ELF string."""
    if not isinstance(name, str) or not name:
        raise ElfError(f"{what}: name {name!r} must be a non-empty string")
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        raise ElfError(f"{what}: name {name!r} cannot be encoded as UTF-8") from None
    if b"\0" in raw:
        raise ElfError(f"{what}: name {name!r} contains a NUL character")
    if len(raw) > MAX_NAME_BYTES:
        raise ElfError(f"{what}: name is {len(raw)} bytes long, more than {MAX_NAME_BYTES}")
    return raw


def _check_u64(value: object, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value < ADDRESS_LIMIT:
        raise ElfError(f"{what} {value!r} is not a 64-bit unsigned integer")
    return value


def _window_end(address: int) -> int | None:
    region = region_of(address)
    return None if region is None else REGIONS[region] + REGION_SPAN


def _check_section(section: Section, max_region_bytes: int) -> None:
    what = f"section {section.name!r}"
    check_name(section.name, "section")
    if section.name in RESERVED_SECTIONS:
        raise ElfError(f"{what}: the name is reserved for the ELF container")
    address = _check_u64(section.address, f"{what}: address")
    align = _check_u64(section.align, f"{what}: alignment")
    if align == 0 or align & (align - 1):
        raise ElfError(f"{what}: alignment {align} is not a power of two")
    if address % align:
        raise ElfError(f"{what}: address {address:#x} is not {align}-byte aligned")
    if not isinstance(section.data, bytes | bytearray):
        raise ElfError(f"{what}: data must be bytes, not {type(section.data).__name__}")
    size = _check_u64(section.size, f"{what}: size")
    if section.nobits and section.data:
        raise ElfError(f"{what}: a NOBITS section carries no data")
    if not section.nobits and size not in (0, len(section.data)):
        raise ElfError(f"{what}: size {size} differs from its {len(section.data)} data bytes")
    length = section.length
    if length > max_region_bytes:
        raise ElfError(f"{what}: {length:#x} bytes exceed the limit of {max_region_bytes:#x}")
    end = _window_end(address)
    if end is None:
        raise ElfError(f"{what}: address {address:#x} is outside every J1 memory window")
    if address + length > end:
        raise ElfError(
            f"{what}: {address:#x}..{address + length:#x} runs past its memory window "
            f"(ends at {end:#x})"
        )


def _check_sections(sections: list[Section], max_region_bytes: int) -> None:
    seen: set[str] = set()
    for section in sections:
        _check_section(section, max_region_bytes)
        if section.name in seen:
            raise ElfError(f"section {section.name!r} is defined twice")
        seen.add(section.name)
    # Sorting makes the overlap test linear in the neighbours; empty sections occupy nothing.
    previous: Section | None = None
    for section in sorted((s for s in sections if s.length), key=lambda s: s.address):
        if previous is not None and previous.address + previous.length > section.address:
            raise ElfError(f"sections {previous.name!r} and {section.name!r} overlap")
        previous = section


def _check_symbols(symbols: list[Symbol], names: set[str]) -> None:
    for symbol in symbols:
        check_name(symbol.name, "symbol")
        what = f"symbol {symbol.name!r}"
        _check_u64(symbol.value, f"{what}: value")
        _check_u64(symbol.size, f"{what}: size")
        if symbol.section is not None and symbol.section not in names:
            raise ElfError(f"{what}: no section named {symbol.section!r}")
        if symbol.binding not in BINDINGS:
            raise ElfError(f"{what}: binding {symbol.binding!r} is not one of {BINDINGS}")
        if symbol.kind not in KINDS:
            raise ElfError(f"{what}: kind {symbol.kind!r} is not one of {KINDS}")


class _Spans:
    """Sorted, non-overlapping [start, end) ranges of sections, for containment queries."""

    def __init__(self, sections: Iterable[Section]) -> None:
        ordered = sorted((s for s in sections if s.length), key=lambda s: s.address)
        self.starts = [s.address for s in ordered]
        self.sections = ordered

    def containing(self, address: int, length: int = 1) -> Section | None:
        """The section holding all of [address, address + length), if any."""
        i = bisect.bisect_right(self.starts, address) - 1
        if i < 0:
            return None
        section = self.sections[i]
        return section if address + length <= section.address + section.length else None


def _check_lines(lines: list[LineEntry], with_data: _Spans) -> None:
    # File names repeat on every row: check each distinct name once.
    for file in {entry.file for entry in lines}:
        check_name(file, "line table file")
    addresses: set[int] = set()
    for entry in lines:
        address = _check_u64(entry.address, "line entry: address")
        if address in addresses:
            raise ElfError(f"line table: two entries for address {address:#x}")
        addresses.add(address)
        if not isinstance(entry.line, int) or not 1 <= entry.line <= MAX_LINE:
            raise ElfError(f"line entry at {address:#x}: line {entry.line!r} is out of range")
        if not isinstance(entry.column, int) or not 0 <= entry.column <= MAX_LINE:
            raise ElfError(f"line entry at {address:#x}: column {entry.column!r} is out of range")
        if with_data.containing(address) is None:
            raise ElfError(f"line entry at {address:#x} is outside every section with contents")


def storage_bytes(dtype: str, shape: tuple[int, ...]) -> int:
    """Bytes that a tensor of `shape` occupies: rows of whole blocks for quantised types."""
    dt = dtypes.by_name(dtype)
    cols = shape[-1] if shape else 1
    rows = math.prod(shape[:-1])
    return rows * -(-cols // dt.block) * dt.block_bytes


def _check_io_entry(entry: IoEntry, spans: _Spans) -> None:
    what = f"I/O entry {entry.name!r}"
    if entry.role not in ROLES:
        raise ElfError(f"{what}: role {entry.role!r} is not one of {ROLES}")
    if entry.dtype not in dtypes.NAMES:
        raise ElfError(f"{what}: {entry.dtype!r} is not a J1 data type")
    shape = entry.shape
    if not isinstance(shape, tuple | list) or len(shape) > MAX_RANK:
        raise ElfError(f"{what}: shape {shape!r} must be a tuple of at most {MAX_RANK} sizes")
    if not all(isinstance(n, int) and 1 <= n < ADDRESS_LIMIT for n in shape):
        raise ElfError(f"{what}: shape {tuple(shape)!r} must have positive 64-bit sizes")
    address = _check_u64(entry.address, f"{what}: address")
    nbytes = _check_u64(entry.nbytes, f"{what}: nbytes")
    expected = storage_bytes(entry.dtype, tuple(shape))
    if nbytes != expected:
        raise ElfError(
            f"{what}: nbytes {nbytes} differs from the {expected} bytes of a "
            f"{entry.dtype}{list(shape)} tensor"
        )
    if spans.containing(address, nbytes) is None:
        raise ElfError(f"{what}: {address:#x}..{address + nbytes:#x} is not inside one section")


def _check_io(io: list[IoEntry], spans: _Spans) -> None:
    seen: set[str] = set()
    for entry in io:
        check_name(entry.name, "I/O entry")
        if entry.name in seen:
            raise ElfError(f"I/O entry {entry.name!r} is declared twice")
        seen.add(entry.name)
        _check_io_entry(entry, spans)


def _check_entry(entry: int, sections: list[Section]) -> None:
    _check_u64(entry, "entry point")
    code = [s for s in sections if s.executable]
    if code and not any(
        s.address <= entry < s.address + s.length or entry == s.address for s in code
    ):
        raise ElfError(f"entry point {entry:#x} is outside every executable section")


def check_program(program: Program, *, max_region_bytes: int = REGION_SPAN) -> None:
    """Raise ElfError (one line) unless `program` satisfies every rule in this module."""
    _check_sections(program.sections, max_region_bytes)
    _check_symbols(program.symbols, {s.name for s in program.sections})
    _check_lines(program.lines, _Spans(s for s in program.sections if not s.nobits))
    _check_io(program.io, _Spans(program.sections))
    _check_entry(program.entry, program.sections)


def canonical(program: Program) -> Program:
    """`program` in the canonical form that `read_elf(write_elf(program))` returns."""
    sections = [
        replace(s, data=bytes(s.data), size=s.size if s.nobits else len(s.data))
        for s in program.sections
    ]
    symbols = [s for s in program.symbols if s.binding == "local"]
    symbols += [s for s in program.symbols if s.binding != "local"]
    lines = sorted(program.lines, key=lambda e: e.address)
    io = [replace(e, shape=tuple(e.shape)) for e in program.io]
    return Program(sections, symbols, lines, io, program.entry)

"""Hostile input: every malformed file raises ElfError with a one-line reason, nothing else.

Files are damaged with small struct patches located by pyelftools (independent of our reader).
"""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isa.elf import (
    ElfError,
    Limits,
    Program,
    Symbol,
    check_program,
    read_elf,
    write_elf,
)
from isa.memmap import ACC_BASE, REGION_SPAN, SRAM_BASE

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
EHDR_FIELDS = [
    "ident",
    "type",
    "machine",
    "version",
    "entry",
    "phoff",
    "shoff",
    "flags",
    "ehsize",
    "phentsize",
    "phnum",
    "shentsize",
    "shnum",
    "shstrndx",
]
SHDR = struct.Struct("<IIQQQQIIQQ")
SHDR_FIELDS = [
    "name",
    "type",
    "flags",
    "addr",
    "offset",
    "size",
    "link",
    "info",
    "addralign",
    "entsize",
]
SYM = struct.Struct("<IBBHQQ")
SYM_FIELDS = ["name", "info", "other", "shndx", "value", "size"]


def rejected(data: bytes, match: str | None = None, limits: Limits | None = None) -> str:
    """The ElfError message for `data` (which must be rejected, with no other exception)."""
    kwargs = {} if limits is None else {"limits": limits}
    with pytest.raises(ElfError, match=match) as caught:
        read_elf(data, **kwargs)
    message = str(caught.value)
    assert message and "\n" not in message
    return message


def _elf(data: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(data))


def with_header(data: bytes, **changes: int) -> bytes:
    values = dict(zip(EHDR_FIELDS, EHDR.unpack_from(data), strict=True))
    values.update(changes)
    return EHDR.pack(*values.values()) + data[EHDR.size :]


def with_ident(data: bytes, index: int, value: int) -> bytes:
    return data[:index] + bytes([value]) + data[index + 1 :]


def poke(data: bytes, offset: int, blob: bytes) -> bytes:
    return data[:offset] + blob + data[offset + len(blob) :]


def section_index(data: bytes, name: str) -> int:
    elf = _elf(data)
    return next(i for i, s in enumerate(elf.iter_sections()) if s.name == name)


def with_section(data: bytes, section: str, **changes: int) -> bytes:
    elf = _elf(data)
    offset = elf["e_shoff"] + section_index(data, section) * SHDR.size
    values = dict(zip(SHDR_FIELDS, SHDR.unpack_from(data, offset), strict=True))
    values.update(changes)
    return poke(data, offset, SHDR.pack(*values.values()))


def section_offset(data: bytes, name: str) -> int:
    return _elf(data).get_section_by_name(name)["sh_offset"]


def with_symbol(data: bytes, symbol_name: str, **changes: int) -> bytes:
    symtab = _elf(data).get_section_by_name(".symtab")
    index = next(i for i, s in enumerate(symtab.iter_symbols()) if s.name == symbol_name)
    offset = symtab["sh_offset"] + index * SYM.size
    values = dict(zip(SYM_FIELDS, SYM.unpack_from(data, offset), strict=True))
    values.update(changes)
    return poke(data, offset, SYM.pack(*values.values()))


@pytest.fixture
def image(sample: Program) -> bytes:
    return write_elf(sample)


def test_every_truncation_is_rejected(image):
    for length in range(len(image)):
        rejected(image[:length])


# --- the ELF header ------------------------------------------------------------------------

HEADER_CASES = {
    "too short": lambda d: d[:10],
    "not an ELF file": lambda d: b"\x7fELG" + d[4:],
    "32-bit ELF": lambda d: with_ident(d, 4, 1),
    "unknown ELF class 3": lambda d: with_ident(d, 4, 3),
    "big-endian": lambda d: with_ident(d, 5, 2),
    "unknown data encoding 0": lambda d: with_ident(d, 5, 0),
    "ELF version 0/1": lambda d: with_ident(d, 6, 0),
    "ELF version 1/2": lambda d: with_header(d, version=2),
    "OS ABI 3": lambda d: with_ident(d, 7, 3),
    "e_type 1 is not ET_EXEC": lambda d: with_header(d, type=1),
    "e_machine 0x3e is not EM_J1": lambda d: with_header(d, machine=0x3E),
    "e_flags": lambda d: with_header(d, flags=1),
    "e_ehsize 52": lambda d: with_header(d, ehsize=52),
    "e_phentsize 32": lambda d: with_header(d, phentsize=32),
    "e_shentsize 40": lambda d: with_header(d, shentsize=40),
    "no section header table": lambda d: with_header(d, shnum=0),
    "section header table .* runs past the end": lambda d: with_header(d, shnum=0xFEFF),
    "reserved range": lambda d: with_header(d, shnum=0xFF00),
    "runs past the end of the file": lambda d: with_header(d, shoff=2**64 - 1),
    "program header table .* runs past": lambda d: with_header(d, phoff=len(d) - 8),
    "e_shstrndx 0": lambda d: with_header(d, shstrndx=0),
    "e_shstrndx 65535": lambda d: with_header(d, shstrndx=0xFFFF),
    "overlap in the file": lambda d: with_header(d, phoff=0),
}


@pytest.mark.parametrize("reason", list(HEADER_CASES))
def test_bad_headers(image, reason):
    rejected(HEADER_CASES[reason](image), reason)


def test_a_host_executable_is_rejected_by_machine():
    host = Path("/bin/true")
    if not host.exists():
        pytest.skip("no /bin/true to try")
    rejected(host.read_bytes(), "e_machine|e_type")


# --- section headers ---------------------------------------------------------------------

SECTION_CASES = {
    "contents .* run past the end": lambda d: with_section(d, ".text", offset=len(d) - 4),
    "contents .* run past the end ": lambda d: with_section(d, ".rodata", size=2**63),
    "exceed the limit": lambda d: with_section(d, ".sram", size=2**60),
    "name index .* outside .shstrtab": lambda d: with_section(d, ".text", name=0xFFFF),
    "sh_link 99 is not a section index": lambda d: with_section(d, ".text", link=99),
    "sh_addralign 3": lambda d: with_section(d, ".data", addralign=3),
    "allocatable sections of type 7": lambda d: with_section(d, ".text", type=7),
    "unsupported flags 0x402": lambda d: with_section(d, ".rodata", flags=0x402),
    "sections '.text' and '.rodata' overlap": lambda d: with_section(d, ".rodata", addr=0x1008),
    "outside every J1 memory window": lambda d: with_section(d, ".data", addr=ACC_BASE * 2),
    "runs past its memory window": lambda d: with_section(
        d, ".sram", addr=SRAM_BASE + REGION_SPAN - 256
    ),
    "overlap in the file": lambda d: with_section(d, ".rodata", offset=section_offset(d, ".text")),
    "not a string table": lambda d: with_section(d, ".shstrtab", type=1),
    "section 0 is not the null section": lambda d: with_section(d, "", addralign=1),
    "wrong type 8": lambda d: with_section(d, ".debug_line", type=8),
    "is defined twice": lambda d: with_section(
        d, ".rodata", name=_elf(d).get_section_by_name(".text")["sh_name"], addr=0x5000
    ),
    "not 16-byte aligned": lambda d: with_section(d, ".data", addr=0x3008),
    "p_filesz": lambda d: poke(d, 64 + 40, struct.pack("<Q", 0)),  # first PT_LOAD's p_memsz
}


@pytest.mark.parametrize("reason", list(SECTION_CASES))
def test_bad_sections(image, reason):
    rejected(SECTION_CASES[reason](image), reason.strip())


def test_nobits_limit_is_configurable(sample):
    data = write_elf(sample)
    rejected(data, r"sram.*exceed the limit of 0x1000\b", Limits(max_region_bytes=0x1000))
    assert read_elf(data, limits=Limits(max_region_bytes=1 << 20)).section(".sram") is not None


def test_unnamed_symbol_table_and_second_tables_are_rejected(image):
    symtab_name = _elf(image).get_section_by_name(".symtab")["sh_name"]
    rejected(with_section(image, ".symtab", name=0), "symbol table not named .symtab")
    iotab_name = _elf(image).get_section_by_name(".j1.iotab")["sh_name"]
    rejected(with_section(image, ".debug_line", name=iotab_name), "more than one .j1.iotab")
    assert symtab_name


# --- symbols -----------------------------------------------------------------------------

SYMBOL_CASES = {
    "name index .* outside .strtab": lambda d: with_symbol(d, "loop", name=0xFFFFF),
    "st_shndx 0x63 is not a loaded section": lambda d: with_symbol(d, "loop", shndx=99),
    "st_shndx 0x9 is not a loaded section": lambda d: with_symbol(d, "loop", shndx=9),
    "undefined symbol": lambda d: with_symbol(d, "loop", shndx=0),
    "binding 2 is not LOCAL or GLOBAL": lambda d: with_symbol(d, "_start", info=0x22),
    "symbol type 6": lambda d: with_symbol(d, "loop", info=0x06),
    "out of order": lambda d: with_symbol(d, "loop", info=0x10),
    "sh_info 0": lambda d: with_section(d, ".symtab", info=0),
    "sh_info 99": lambda d: with_section(d, ".symtab", info=99),
    "do not describe 24-byte symbols": lambda d: with_section(d, ".symtab", entsize=0),
    "not the null symbol": lambda d: poke(d, section_offset(d, ".symtab"), b"\x01"),
    "not a string table": lambda d: with_section(d, ".symtab", link=1),
}


@pytest.mark.parametrize("reason", list(SYMBOL_CASES))
def test_bad_symbols(image, reason):
    rejected(SYMBOL_CASES[reason](image), reason)


def test_section_symbols_are_skipped(image):
    back = read_elf(with_symbol(image, "loop", info=0x03))  # STT_SECTION
    assert "loop" not in [s.name for s in back.symbols]


def test_many_symbols_into_one_long_name_hit_the_string_budget():
    # Each symbol names a different suffix of one 4000-byte string: without a budget the
    # reader would decode ~n * 4000 bytes of names from a file of ~n * 24 bytes.
    count = 3000
    symbols = [Symbol("x" * 4000, 0)] + [Symbol(f"s{i}", 0) for i in range(count)]
    data = write_elf(Program(symbols=symbols))
    symtab = _elf(data).get_section_by_name(".symtab")
    for i in range(count):
        offset = symtab["sh_offset"] + (i + 2) * SYM.size
        data = poke(data, offset, struct.pack("<I", 1 + i))
    rejected(data, "names add up to more than twice the file size")


# --- .j1.iotab ----------------------------------------------------------------------------


def _iotab(data: bytes) -> int:
    return section_offset(data, ".j1.iotab")


IOTAB_CASES = {
    "bad magic": lambda d: poke(d, _iotab(d), b"J1IX"),
    "format version 2": lambda d: poke(d, _iotab(d) + 4, b"\x02"),
    "reserved header field": lambda d: poke(d, _iotab(d) + 6, b"\x01"),
    "reads past the end": lambda d: poke(d, _iotab(d) + 8, b"\xff\xff\xff\xff"),
    "trailing bytes": lambda d: poke(d, _iotab(d) + 8, b"\x01\x00\x00\x00"),
    "unknown role code 9": lambda d: poke(d, _iotab(d) + 15, b"\x09"),  # entry 0: x
    "not a J1 data type": lambda d: poke(d, _iotab(d) + 17, b"bf17"),
    "has rank 9": lambda d: poke(d, _iotab(d) + 21, b"\x09"),
    "positive": lambda d: poke(d, _iotab(d) + 22, bytes(8)),
    "is not inside one section": lambda d: poke(d, _iotab(d) + 38, struct.pack("<Q", 0x10FF0)),
    "has a name of 0 bytes": lambda d: poke(d, _iotab(d) + 12, b"\x00\x00"),
    "not valid UTF-8": lambda d: poke(d, _iotab(d) + 14, b"\xff"),
}


@pytest.mark.parametrize("reason", list(IOTAB_CASES))
def test_bad_iotab(image, reason):
    rejected(IOTAB_CASES[reason](image), reason)


# --- .debug_line (in place; the decoder has its own tests) ---------------------------------


def test_debug_line_damage_is_rejected(image):
    offset = section_offset(image, ".debug_line")
    rejected(poke(image, offset, struct.pack("<I", 0xFFFF)), "unit_length")
    rejected(poke(image, offset + 4, b"\x05"), "version 5")
    rejected(poke(image, offset + 4, b"\x04\x00\xff\xff"), "header_length")


# --- random damage -------------------------------------------------------------------------


def _structure_offsets(data: bytes) -> list[int]:
    """Byte offsets of the headers and tables, where damage matters most."""
    elf = _elf(data)
    spans = [(0, 64), (elf["e_phoff"], elf["e_phnum"] * 56), (elf["e_shoff"], elf["e_shnum"] * 64)]
    for name in (".symtab", ".strtab", ".shstrtab", ".debug_line", ".j1.iotab"):
        section = elf.get_section_by_name(name)
        spans.append((section["sh_offset"], section["sh_size"]))
    return [o for start, size in spans for o in range(start, start + size)]


_SAMPLE_IMAGE: list[bytes] = []


def _accepted_is_valid(data: bytes) -> None:
    try:
        program = read_elf(data)
    except ElfError as error:
        assert "\n" not in str(error)
        return
    # Whatever the reader accepts is a valid program that writes back without complaint.
    check_program(program)
    read_elf(write_elf(program))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_damage_is_an_elf_error_or_a_valid_program(sample_program, data):
    if not _SAMPLE_IMAGE:
        _SAMPLE_IMAGE.append(write_elf(sample_program()))
    image = bytearray(_SAMPLE_IMAGE[0])
    structural = _structure_offsets(bytes(image))
    for _ in range(data.draw(st.integers(1, 8))):
        where = data.draw(st.one_of(st.sampled_from(structural), st.integers(0, len(image) - 1)))
        image[where] = data.draw(st.integers(0, 255))
    _accepted_is_valid(bytes(image))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_damage_to_random_programs(program_strategy, data):
    image = bytearray(write_elf(data.draw(program_strategy)))
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(image) - 1))
        image[where] = data.draw(st.integers(0, 255))
    _accepted_is_valid(bytes(image))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_after_a_valid_header(tail):
    header = write_elf(Program())[:64]
    _accepted_is_valid(header + tail)


def test_read_elf_accepts_bytearray_and_memoryview(image, sample):
    assert read_elf(bytearray(image)) == read_elf(memoryview(image))
    assert read_elf(image).section(".text") == replace(sample.sections[0], size=80)

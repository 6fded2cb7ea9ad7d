"""The .debug_line decoder: crafted units, and agreement with pyelftools on random programs
that use every standard and extended opcode (including ones our writer never emits)."""

from __future__ import annotations

import io
import struct
from unittest import mock

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.elf import ElfError, LineEntry, Program, Section, write_elf
from isa.elf.dwarf_line import decode_line_program

STANDARD_LENGTHS = (0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1)


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def unit(
    program: bytes,
    *,
    version: int = 4,
    directories: tuple[str, ...] = ("lib",),
    files: tuple[tuple[str, int], ...] = (("a.s", 0), ("b.s", 1)),
    min_inst: int = 1,
    line_base: int = -5,
    line_range: int = 14,
    opcode_base: int = 13,
    lengths: tuple[int, ...] | None = None,
) -> bytes:
    """One .debug_line unit around `program`, built independently of the writer."""
    lengths = STANDARD_LENGTHS[: opcode_base - 1] if lengths is None else lengths
    header = bytes([min_inst]) + (b"\x01" if version >= 4 else b"")
    header += struct.pack("<BbBB", 1, line_base, line_range, opcode_base) + bytes(lengths)
    header += b"".join(d.encode() + b"\0" for d in directories) + b"\0"
    header += b"".join(n.encode() + b"\0" + uleb(d) + b"\0\0" for n, d in files) + b"\0"
    body = struct.pack("<HI", version, len(header)) + header + program
    return struct.pack("<I", len(body)) + body


def set_address(address: int) -> bytes:
    return b"\x00\x09\x02" + struct.pack("<Q", address)


END = b"\x00\x01\x01"
COPY = b"\x01"


def test_minimal_unit():
    rows = decode_line_program(unit(set_address(0x1000) + COPY + END))
    assert rows == [LineEntry(0x1000, "a.s", 1, 0)]


def test_directories_join_and_absolute_names_stand_alone():
    files = (("a.s", 0), ("b.s", 1), ("/abs/c.s", 1))
    program = set_address(0) + b"\x04\x02" + COPY + b"\x04\x03" + COPY + END
    rows = decode_line_program(unit(program, files=files))
    assert [r.file for r in rows] == ["lib/b.s", "/abs/c.s"]


def test_version_2_has_ten_standard_opcodes():
    # opcode 10 is a special opcode when opcode_base is 10: address += 0, line += -5 + 0
    program = set_address(0x40) + b"\x03" + sleb(9) + b"\x0a" + END
    rows = decode_line_program(unit(program, version=2, opcode_base=10))
    assert rows == [LineEntry(0x40, "a.s", 5, 0)]


def test_empty_section_and_several_units():
    assert decode_line_program(b"") == []
    one = unit(set_address(8) + COPY + END)
    assert len(decode_line_program(one + one)) == 2


def _unterminated_directory() -> bytes:
    header = struct.pack("<BBBbBB", 1, 1, 1, -5, 14, 13) + bytes(STANDARD_LENGTHS) + b"abc"
    body = struct.pack("<HI", 4, len(header)) + header
    return struct.pack("<I", len(body)) + body


BAD_UNITS = {
    "unknown extended opcode 0x80": unit(set_address(0) + b"\x00\x01\x80" + END),
    "reads past the end": unit(set_address(0) + b"\x02"),
    "file 3 of 2": unit(set_address(0) + b"\x04\x03" + COPY + END),
    "file 0 of 2": unit(set_address(0) + b"\x04\x00" + COPY + END),
    "version 5": unit(END, version=5),
    "line_range is 0": unit(END, line_range=0),
    "opcode_base is 0": unit(END, opcode_base=0, lengths=()),
    "declared with 2 operands": unit(END, lengths=(0, 2, *STANDARD_LENGTHS[2:])),
    "without DW_LNE_end_sequence": unit(set_address(0) + COPY),
    "past 2\\*\\*64": unit(set_address(2**64 - 4) + b"\x02\x08" + COPY + END),
    "directory 5 of 1": unit(END, files=(("a.s", 5),)),
    "is not 3 bytes long": unit(set_address(0) + b"\x00\x03\x04\x01" + END),
    "longer than 10 bytes": unit(set_address(0) + b"\x02" + b"\xff" * 11 + b"\x01" + END),
    "6-byte address": unit(b"\x00\x07\x02" + bytes(6) + END),
    "VLIW": unit(END)[:11] + b"\x02" + unit(END)[12:],  # maximum_operations_per_instruction
    "64-bit DWARF": b"\xff\xff\xff\xff" + bytes(20),
    "unit_length 0x100 runs past": struct.pack("<I", 0x100) + bytes(8),
    "header_length 0xffff runs past": unit(END)[:6] + b"\xff\xff\x00\x00" + unit(END)[10:],
    "is unterminated": _unterminated_directory(),
    "not valid UTF-8": unit(END).replace(b"a.s\0", b"\xff.s\0"),
}


@pytest.mark.parametrize("reason", list(BAD_UNITS))
def test_malformed_units_are_rejected(reason):
    with pytest.raises(ElfError, match=reason):
        decode_line_program(BAD_UNITS[reason])


# --- agreement with pyelftools on random line programs -------------------------------------

TEXT = 0x1000


@st.composite
def line_programs(draw) -> bytes:
    """A random well-formed unit using every opcode kind."""
    version = draw(st.sampled_from([2, 3, 4]))
    opcode_base = 10 if version == 2 else draw(st.sampled_from([10, 13]))
    min_inst = draw(st.sampled_from([1, 4, 8]))
    files = (("a.s", 0), ("b.s", 1), ("c.s", 2))
    body = bytearray()
    for _ in range(draw(st.integers(1, 3))):
        body += set_address(TEXT + draw(st.integers(0, 64)))
        for _ in range(draw(st.integers(0, 12))):
            kind = draw(st.integers(0, 14 if opcode_base == 13 else 11))
            if kind == 0:
                body += bytes([draw(st.integers(opcode_base, 255))])  # special
            elif kind == 1:
                body += b"\x02" + uleb(draw(st.integers(0, 40)))
            elif kind == 2:
                body += b"\x03" + sleb(draw(st.integers(-3, 50)))
            elif kind == 3:
                body += b"\x04" + uleb(draw(st.integers(1, 3)))
            elif kind == 4:
                body += b"\x05" + uleb(draw(st.integers(0, 300)))
            elif kind == 5:
                body += bytes([draw(st.sampled_from([6, 7, 8]))])  # stmt, block, const_add_pc
            elif kind == 6:
                body += b"\x09" + struct.pack("<H", draw(st.integers(0, 300)))
            elif kind == 7:
                body += b"\x00\x02\x04" + uleb(draw(st.integers(0, 127)))  # discriminator
            elif kind in (8, 9, 10, 11):
                body += COPY
            else:
                body += bytes([draw(st.sampled_from([10, 11]))]) if kind < 14 else b"\x0c\x05"
        body += END
    return unit(
        bytes(body),
        version=version,
        opcode_base=opcode_base,
        min_inst=min_inst,
        directories=("lib", "src"),
        files=files,
    )


def _pyelftools_rows(blob: bytes) -> list[tuple[int, str, int, int]]:
    stub = Program(
        [Section(".text", TEXT, bytes(8), executable=True)],
        entry=TEXT,
        lines=[LineEntry(TEXT, "stub.s", 1)],
    )
    with mock.patch("isa.elf.writer.encode_line_program", return_value=blob):
        elf = ELFFile(io.BytesIO(write_elf(stub)))
    dwarf = elf.get_dwarf_info()
    program = dwarf._parse_line_program_at_offset(0, dwarf.structs)
    directories = [d.decode() for d in program.header.include_directory]
    names = []
    for entry in program.header.file_entry:
        name = entry.name.decode()
        names.append(f"{directories[entry.dir_index - 1]}/{name}" if entry.dir_index else name)
    return [
        (e.state.address, names[e.state.file - 1], e.state.line, e.state.column)
        for e in program.get_entries()
        if e.state is not None and not e.state.end_sequence
    ]


@settings(max_examples=150, deadline=None)
@given(line_programs())
def test_decoder_agrees_with_pyelftools(blob):
    ours = [(r.address, r.file, r.line, r.column) for r in decode_line_program(blob)]
    assert ours == _pyelftools_rows(blob)

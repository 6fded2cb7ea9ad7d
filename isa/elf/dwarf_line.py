"""The `.debug_line` section: a DWARF 4 line-number program for `Program.lines`.

Writing: one unit (32-bit DWARF format, version 4) holds every line entry. Its header lists
each distinct directory in `include_directories` and each distinct file in `file_names` (a
name "dir/base.s" is stored as directory "dir" + file "base.s"; names that do not split back
exactly, such as "/x.s", are stored whole with directory index 0). Addresses are bytes
(minimum_instruction_length 1), so data addresses work too; a J1 instruction step of 8 bytes
with a line change in -5..8 fits one special opcode (line_base -5, line_range 14,
opcode_base 13). Each group of rows handed in becomes one sequence: DW_LNE_set_address,
then DW_LNS_set_file / DW_LNS_set_column when they change and a special opcode (or
DW_LNS_advance_pc + DW_LNS_advance_line + DW_LNS_copy) per row, then DW_LNS_advance_pc to the
sequence end and DW_LNE_end_sequence.

Version 4 rather than 5: binutils, pyelftools and every debugger decode it, and its inline
file table needs no `.debug_line_str`.

Reading: units of versions 2-4 in the 32-bit format, with the standard opcodes and the
extended opcodes end_sequence, set_address, define_file and set_discriminator. Anything
else — unknown extended opcodes, non-standard operand counts for standard opcodes, reads past
a unit, rows naming a file that does not exist, addresses leaving 64 bits, a sequence that
never ends — raises ElfError. Every opcode consumes at least one byte, so decoding is linear
in the section size.
"""

from __future__ import annotations

import posixpath
import struct
from collections.abc import Sequence

from isa.elf.cursor import Cursor
from isa.elf.errors import ElfError
from isa.elf.model import LineEntry
from isa.elf.rules import ADDRESS_LIMIT, MAX_NAME_BYTES

VERSION = 4
MIN_INST_LENGTH = 1
LINE_BASE = -5
LINE_RANGE = 14
OPCODE_BASE = 13
#: operand counts of standard opcodes 1..12 (DWARF 4, section 6.2.5.2)
STANDARD_OPCODE_LENGTHS = (0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1)

DW_LNS_copy, DW_LNS_advance_pc, DW_LNS_advance_line, DW_LNS_set_file = 1, 2, 3, 4
DW_LNS_set_column, DW_LNS_negate_stmt, DW_LNS_set_basic_block = 5, 6, 7
DW_LNS_const_add_pc, DW_LNS_fixed_advance_pc = 8, 9
DW_LNE_end_sequence, DW_LNE_set_address, DW_LNE_define_file = 1, 2, 3
DW_LNE_set_discriminator = 4

_WHERE = ".debug_line"


# --- writing -------------------------------------------------------------------------------


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _split(file: str) -> tuple[str, str]:
    """(directory, name) such that directory + "/" + name == file, or ("", file)."""
    directory, base = posixpath.split(file)
    if directory and base and f"{directory}/{base}" == file:
        return directory, base
    return "", file


class _FileTable:
    """The header's include_directories and file_names, in order of first use."""

    def __init__(self, files: Sequence[str]) -> None:
        self.directories: dict[str, int] = {}
        self.files: dict[str, int] = {}
        self.entries: list[tuple[str, int]] = []
        for file in files:
            if file in self.files:
                continue
            directory, base = _split(file)
            dir_index = 0
            if directory:
                dir_index = self.directories.setdefault(directory, len(self.directories) + 1)
            self.files[file] = len(self.files) + 1
            self.entries.append((base, dir_index))

    def encode(self) -> bytes:
        out = bytearray()
        for directory in self.directories:
            out += directory.encode() + b"\0"
        out += b"\0"
        for name, dir_index in self.entries:
            out += name.encode() + b"\0" + _uleb(dir_index) + b"\0\0"  # mtime 0, length 0
        out += b"\0"
        return bytes(out)


def _row(out: bytearray, address_step: int, line_step: int) -> None:
    """Append a row `address_step` bytes and `line_step` lines after the previous one."""
    if LINE_BASE <= line_step < LINE_BASE + LINE_RANGE:
        special = (line_step - LINE_BASE) + LINE_RANGE * address_step + OPCODE_BASE
        if special <= 255:
            out.append(special)
            return
    if address_step:
        out += bytes([DW_LNS_advance_pc]) + _uleb(address_step)
    if line_step:
        out += bytes([DW_LNS_advance_line]) + _sleb(line_step)
    out.append(DW_LNS_copy)


def _sequence(out: bytearray, rows: Sequence[LineEntry], end: int, files: _FileTable) -> None:
    address, file, line, column = rows[0].address, 1, 1, 0
    out += bytes([0, 9, DW_LNE_set_address]) + struct.pack("<Q", address)
    for entry in rows:
        if files.files[entry.file] != file:
            file = files.files[entry.file]
            out += bytes([DW_LNS_set_file]) + _uleb(file)
        if entry.column != column:
            column = entry.column
            out += bytes([DW_LNS_set_column]) + _uleb(column)
        _row(out, entry.address - address, entry.line - line)
        address, line = entry.address, entry.line
    if end > address:
        out += bytes([DW_LNS_advance_pc]) + _uleb(end - address)
    out += bytes([0, 1, DW_LNE_end_sequence])


def encode_line_program(sequences: Sequence[tuple[Sequence[LineEntry], int]]) -> bytes:
    """A `.debug_line` unit for `sequences`: (rows sorted by address, end address) pairs."""
    files = _FileTable([entry.file for rows, _ in sequences for entry in rows])
    header = struct.pack(
        "<BBBbBB", MIN_INST_LENGTH, 1, 1, LINE_BASE, LINE_RANGE, OPCODE_BASE
    )  # maximum_operations_per_instruction 1, default_is_stmt 1
    header += bytes(STANDARD_OPCODE_LENGTHS) + files.encode()
    program = bytearray()
    for rows, end in sequences:
        if rows:
            _sequence(program, rows, end, files)
    after_length = struct.pack("<HI", VERSION, len(header)) + header + program
    return struct.pack("<I", len(after_length)) + after_length


# --- reading -------------------------------------------------------------------------------


class _Header:
    """The fields of one unit's header that the line-program state machine needs."""

    def __init__(self, cursor: Cursor, unit_end: int) -> None:
        version = cursor.u16("version")
        if version not in (2, 3, 4):
            raise ElfError(f"{_WHERE}: DWARF line table version {version} is not supported")
        header_length = cursor.u32("header_length")
        self.program_start = cursor.pos + header_length
        if self.program_start > unit_end:
            raise ElfError(f"{_WHERE}: header_length {header_length:#x} runs past the unit")
        self.min_inst_length = cursor.u8("minimum_instruction_length")
        if version >= 4 and cursor.u8("maximum_operations_per_instruction") != 1:
            raise ElfError(f"{_WHERE}: VLIW line tables (max ops per instruction != 1)")
        cursor.u8("default_is_stmt")
        self.line_base = struct.unpack("<b", cursor.take(1, "line_base"))[0]
        self.line_range = cursor.u8("line_range")
        if self.line_range == 0:
            raise ElfError(f"{_WHERE}: line_range is 0")
        self.opcode_base = cursor.u8("opcode_base")
        if self.opcode_base == 0:
            raise ElfError(f"{_WHERE}: opcode_base is 0")
        self.operand_counts = list(cursor.take(self.opcode_base - 1, "standard_opcode_lengths"))
        for opcode, count in enumerate(self.operand_counts[:12], start=1):
            if count != STANDARD_OPCODE_LENGTHS[opcode - 1]:
                raise ElfError(f"{_WHERE}: standard opcode {opcode} declared with {count} operands")
        self.directories = self._directories(cursor)
        self.files: list[str] = []
        while True:
            name = cursor.cstring("file name", MAX_NAME_BYTES)
            if not name:
                break
            self.add_file(cursor, name)
        if cursor.pos > self.program_start:
            raise ElfError(f"{_WHERE}: header is longer than header_length {header_length:#x}")

    @staticmethod
    def _directories(cursor: Cursor) -> list[str]:
        directories = []
        while True:
            directory = cursor.cstring("include directory", MAX_NAME_BYTES)
            if not directory:
                return directories
            directories.append(directory)

    def add_file(self, cursor: Cursor, name: str) -> None:
        """Read the rest of a file entry (directory, mtime, length) and record its path."""
        dir_index = cursor.uleb("file directory index")
        cursor.uleb("file modification time")
        cursor.uleb("file length")
        if dir_index > len(self.directories):
            raise ElfError(
                f"{_WHERE}: file {name!r} names directory {dir_index} of {len(self.directories)}"
            )
        if dir_index and not name.startswith("/"):
            name = f"{self.directories[dir_index - 1]}/{name}"
        self.files.append(name)


class _Machine:
    """The DWARF line state machine registers, and the rows it has emitted."""

    def __init__(self, header: _Header, rows: list[LineEntry]) -> None:
        self.header = header
        self.rows = rows
        self.open_rows = 0  # rows emitted since the last end_sequence
        self.reset()

    def reset(self) -> None:
        self.address, self.file, self.line, self.column = 0, 1, 1, 0

    def advance(self, nbytes: int) -> None:
        self.address += nbytes
        if self.address >= ADDRESS_LIMIT:
            raise ElfError(f"{_WHERE}: address advances past 2**64")

    def advance_line(self, step: int) -> None:
        self.line += step
        if not -ADDRESS_LIMIT < self.line < ADDRESS_LIMIT:
            raise ElfError(f"{_WHERE}: line number leaves the 64-bit range")

    def emit(self) -> None:
        if not 1 <= self.file <= len(self.header.files):
            raise ElfError(
                f"{_WHERE}: row at {self.address:#x} names file {self.file} of "
                f"{len(self.header.files)}"
            )
        self.rows.append(
            LineEntry(self.address, self.header.files[self.file - 1], self.line, self.column)
        )
        self.open_rows += 1


def _extended(cursor: Cursor, machine: _Machine) -> None:
    length = cursor.uleb("extended opcode length")
    if length == 0 or length > cursor.remaining:
        raise ElfError(f"{_WHERE}: extended opcode length {length} is invalid here")
    end = cursor.pos + length
    opcode = cursor.u8("extended opcode")
    if opcode == DW_LNE_end_sequence:
        machine.open_rows = 0
        machine.reset()
    elif opcode == DW_LNE_set_address:
        if length == 9:
            machine.address = cursor.u64("address")
        elif length == 5:
            machine.address = cursor.u32("address")
        else:
            raise ElfError(f"{_WHERE}: DW_LNE_set_address with a {length - 1}-byte address")
    elif opcode == DW_LNE_define_file:
        machine.header.add_file(cursor, cursor.cstring("file name", MAX_NAME_BYTES))
    elif opcode == DW_LNE_set_discriminator:
        cursor.uleb("discriminator")
    else:
        raise ElfError(f"{_WHERE}: unknown extended opcode {opcode:#x}")
    if cursor.pos != end:
        raise ElfError(f"{_WHERE}: extended opcode {opcode:#x} is not {length} bytes long")


def _standard(cursor: Cursor, machine: _Machine, opcode: int) -> None:
    header = machine.header
    if opcode == DW_LNS_copy:
        machine.emit()
    elif opcode == DW_LNS_advance_pc:
        machine.advance(cursor.uleb("DW_LNS_advance_pc operand") * header.min_inst_length)
    elif opcode == DW_LNS_advance_line:
        machine.advance_line(cursor.sleb("DW_LNS_advance_line operand"))
    elif opcode == DW_LNS_set_file:
        machine.file = cursor.uleb("DW_LNS_set_file operand")
    elif opcode == DW_LNS_set_column:
        machine.column = cursor.uleb("DW_LNS_set_column operand")
    elif opcode == DW_LNS_const_add_pc:
        steps = (255 - header.opcode_base) // header.line_range
        machine.advance(steps * header.min_inst_length)
    elif opcode == DW_LNS_fixed_advance_pc:
        # Not scaled by minimum_instruction_length (DWARF 4, section 6.2.5.2).
        machine.advance(cursor.u16("DW_LNS_fixed_advance_pc operand"))
    else:
        # negate_stmt, basic_block, prologue_end, epilogue_begin, set_isa and vendor opcodes
        # change nothing we keep; skip their declared ULEB operands.
        for _ in range(header.operand_counts[opcode - 1]):
            cursor.uleb(f"operand of standard opcode {opcode}")


def _unit(cursor: Cursor, rows: list[LineEntry]) -> None:
    unit_length = cursor.u32("unit_length")
    if unit_length >= 0xFFFFFFF0:
        raise ElfError(f"{_WHERE}: 64-bit DWARF or reserved unit_length {unit_length:#x}")
    if unit_length > cursor.remaining:
        raise ElfError(f"{_WHERE}: unit_length {unit_length:#x} runs past the section")
    unit = Cursor(cursor.data, _WHERE, cursor.base, cursor.pos + unit_length)
    unit.pos = cursor.pos
    cursor.pos += unit_length
    header = _Header(unit, unit.end)
    unit.pos = header.program_start
    machine = _Machine(header, rows)
    while unit.remaining:
        opcode = unit.u8("opcode")
        if opcode == 0:
            _extended(unit, machine)
        elif opcode < header.opcode_base:
            _standard(unit, machine, opcode)
        else:
            adjusted = opcode - header.opcode_base
            machine.advance(adjusted // header.line_range * header.min_inst_length)
            machine.advance_line(header.line_base + adjusted % header.line_range)
            machine.emit()
    if machine.open_rows:
        raise ElfError(f"{_WHERE}: a sequence ends without DW_LNE_end_sequence")


def decode_line_program(data: bytes) -> list[LineEntry]:
    """The rows of every unit in a `.debug_line` section (end-of-sequence rows dropped)."""
    cursor = Cursor(data, _WHERE)
    rows: list[LineEntry] = []
    while cursor.remaining:
        _unit(cursor, rows)
    return rows

"""Round trips through write_elf / read_elf, and the writer's refusal of invalid programs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.elf import (
    ElfError,
    IoEntry,
    LineEntry,
    Program,
    Section,
    Symbol,
    canonical,
    read_elf,
    write_elf,
)
from isa.memmap import ACC_BASE, REGION_SPAN, SRAM_BASE


def test_sample_round_trips_field_by_field(sample):
    back = read_elf(write_elf(sample))
    assert back.entry == sample.entry
    # PROGBITS sections come back with size == len(data); the sample leaves size at 0
    assert back.sections == [replace(s, size=s.length) for s in sample.sections]
    assert back.io == sample.io
    # canonical order: locals first, then globals, each in input order
    assert [s.name for s in back.symbols] == ["loop", "msg", "_start", "N", "buf"]
    assert back.lines == sorted(sample.lines, key=lambda e: e.address)
    assert back == canonical(sample)


def test_nobits_sections_carry_only_their_size(sample):
    back = read_elf(write_elf(sample))
    sram = back.section(".sram")
    assert sram is not None and sram.nobits and sram.data == b"" and sram.size == 1 << 20


def test_write_is_deterministic_and_a_fixpoint(sample):
    data = write_elf(sample)
    assert write_elf(sample) == data
    assert write_elf(read_elf(data)) == data


def test_empty_program_round_trips():
    assert read_elf(write_elf(Program())) == Program()


def test_program_without_lines_or_io_has_no_such_sections(sample):
    bare = replace(sample, lines=[], io=[])
    data = write_elf(bare)
    assert b".debug_line" not in data and b".j1.iotab" not in data
    assert read_elf(data) == canonical(bare)


def test_progbits_size_zero_means_len_data():
    program = Program([Section(".text", 0, bytes(8), size=0, executable=True)])
    assert read_elf(write_elf(program)).sections[0].size == 8


def test_section_may_end_exactly_at_its_window_end():
    end = SRAM_BASE + REGION_SPAN
    program = Program([Section(".top", end - 16, nobits=True, size=16)])
    assert read_elf(write_elf(program)) == program


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_programs_round_trip(program_strategy, data):
    program = data.draw(program_strategy)
    image = write_elf(program)
    assert read_elf(image) == canonical(program)
    assert write_elf(read_elf(image)) == image


def _add_section(section: Section):
    return lambda p: replace(p, sections=[*p.sections, section])


def _change_text(**changes):
    return lambda p: replace(p, sections=[replace(p.sections[0], **changes), *p.sections[1:]])


def _change_io(**changes):
    return lambda p: replace(p, io=[replace(p.io[0], **changes), *p.io[1:]])


#: expected message fragment -> how to break the sample program
BREAKAGES = {
    "outside every J1 memory window": _add_section(Section(".far", ACC_BASE + REGION_SPAN)),
    "runs past its memory window": _add_section(Section(".x", SRAM_BASE - 8, bytes(16))),
    "overlap": _add_section(Section(".x", 0x1008, bytes(8))),
    "defined twice": _add_section(Section(".text", 0x9000, bytes(8))),
    "exceed the limit": _add_section(Section(".huge", ACC_BASE, nobits=True, size=1 << 40)),
    "reserved": _change_text(name=".symtab"),
    "not a power of two": _change_text(align=24),
    "not 8-byte aligned": _change_text(address=0x1004),
    "carries no data": _add_section(Section(".b", 0x9000, b"x", nobits=True, size=1)),
    "differs from its": _change_text(size=3),
    "contains a NUL": _change_text(name=".te\0xt"),
    "must be bytes": _change_text(data="8 bytes!"),
    "cannot be encoded": lambda p: replace(p, symbols=[Symbol("\ud800", 0)]),
    "no section named": lambda p: replace(p, symbols=[Symbol("s", 0, ".nope")]),
    "binding": lambda p: replace(p, symbols=[Symbol("s", 0, binding="weak")]),
    "64-bit unsigned": lambda p: replace(p, symbols=[Symbol("s", -1)]),
    "two entries for address": lambda p: replace(
        p, lines=[*p.lines, LineEntry(0x1000, "other.s", 1)]
    ),
    "outside every section with contents": lambda p: replace(
        p, lines=[LineEntry(0x4000, "a.s", 1)]
    ),
    "line 0 is out of range": lambda p: replace(p, lines=[LineEntry(0x1000, "a.s", 0)]),
    "is declared twice": lambda p: replace(p, io=[*p.io, replace(p.io[0], address=0x10200)]),
    "is not a J1 data type": _change_io(dtype="float64"),
    "role": _change_io(role="scratch"),
    "positive": _change_io(shape=(4, 0), nbytes=0),
    "differs from the 64 bytes": _change_io(nbytes=65),
    "is not inside one section": _change_io(address=0x10FF0),
    "entry point": lambda p: replace(p, entry=0x2000),
}


@pytest.mark.parametrize("reason", list(BREAKAGES))
def test_writer_rejects_invalid_programs(sample, reason):
    broken = BREAKAGES[reason](sample)
    with pytest.raises(ElfError, match=reason) as caught:
        write_elf(broken)
    assert "\n" not in str(caught.value)


def test_quantised_io_rows_are_whole_blocks(sample):
    # 40 q8_0 columns occupy two 34-byte blocks per row
    entry = IoEntry("q", "weight", "q8_0", (3, 40), 0x10200, 3 * 2 * 34)
    program = replace(sample, io=[*sample.io, entry])
    assert read_elf(write_elf(program)).io[-1] == entry


def test_bytearray_data_is_accepted_and_comes_back_as_bytes():
    program = Program([Section(".text", 0, bytearray(8), executable=True)])
    back = read_elf(write_elf(program)).sections[0]
    assert type(back.data) is bytes and back.data == bytes(8)


def test_too_many_sections_for_an_elf_section_table():
    sections = [Section(f".s{i}", 8 * i) for i in range(0xFF00)]
    with pytest.raises(ElfError, match="do not fit in an ELF section table"):
        write_elf(Program(sections))

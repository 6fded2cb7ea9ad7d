"""Shared programs for the ELF tests: one hand-made program and a hypothesis strategy.

Fixtures rather than a helper module so the tests import nothing from each other.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from isa import dtypes
from isa.elf import IoEntry, LineEntry, Program, Section, Symbol
from isa.memmap import DRAM_BASE, REGION_SPAN, REGIONS, SRAM_BASE

IO_BASE = DRAM_BASE + 0x8000_0000  # far from the generated DRAM sections (see _sections)

RESERVED = {".symtab", ".strtab", ".shstrtab", ".debug_line", ".j1.iotab", ".j1.io"}
FILES = ["main.s", "kernels/matmul.s", "/abs/dir/x.s", "/x.s", "a//b.s", "dir/", "ü/ñ.s"]


def tensor_bytes(dtype: str, shape: tuple[int, ...]) -> int:
    """Storage of a tensor, computed here independently of isa.elf.rules."""
    dt = dtypes.by_name(dtype)
    cols = shape[-1] if shape else 1
    rows = 1
    for n in shape[:-1]:
        rows *= n
    blocks = (cols + dt.block - 1) // dt.block
    return rows * blocks * dt.block_bytes


def make_sample() -> Program:
    """A small program with every feature: code, data, NOBITS, SRAM, symbols, lines, I/O."""
    text = bytes(range(8)) * 10  # ten 8-byte "instructions"
    return Program(
        sections=[
            Section(".text", 0x1000, text, executable=True),
            Section(".rodata", 0x2000, b"hello\0\0\0"),
            Section(".data", 0x3000, bytes(range(16)), writable=True, align=16),
            Section(".bss", 0x4000, nobits=True, size=0x100, writable=True),
            Section(".j1.io", 0x10000, nobits=True, size=4096, writable=True, align=64),
            Section(".sram", SRAM_BASE, nobits=True, size=1 << 20, writable=True, align=128),
        ],
        symbols=[
            Symbol("_start", 0x1000, ".text", "global", "func", 80),
            Symbol("loop", 0x1010, ".text"),
            Symbol("N", 42, None, "global"),
            Symbol("msg", 0x2000, ".rodata", "local", "object", 6),
            Symbol("buf", SRAM_BASE, ".sram", "global", "object", 1 << 20),
        ],
        lines=[
            LineEntry(0x1000 + 8 * i, "kernels/matmul.s" if i < 6 else "main.s", 3 + 7 * i % 11, i)
            for i in reversed(range(10))
        ],
        io=[
            IoEntry("x", "input", "bf16", (4, 8), 0x10000, 64),
            IoEntry("w", "weight", "q4_1", (2, 64), 0x10040, 80),
            IoEntry("y", "output", "fp32", (3,), 0x10100, 12),
            IoEntry("k", "tensor", "int8", (2, 3), 0x3000, 6),
        ],
        entry=0x1000,
    )


@pytest.fixture
def sample() -> Program:
    """A fresh copy of the hand-made sample program."""
    return make_sample()


@pytest.fixture(scope="session")
def sample_program():
    """The sample program's factory, for tests that also take hypothesis arguments."""
    return make_sample


_names = st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=12)


@st.composite
def _sections(draw) -> list[Section]:
    # Sections are laid out left to right in each window, so they never overlap.
    cursors = {
        base: base + draw(st.sampled_from([0, 0x1000, REGION_SPAN - 0x2000]))
        for base in REGIONS.values()
    }
    names = draw(st.lists(_names.filter(lambda n: n not in RESERVED), max_size=6, unique=True))
    sections = []
    for name in names:
        base = draw(st.sampled_from(list(REGIONS.values())))
        align = 1 << draw(st.integers(0, 8))
        start = -(-(cursors[base] + draw(st.integers(0, 300))) // align) * align
        nobits = draw(st.booleans())
        data = b"" if nobits else draw(st.binary(max_size=96))
        size = draw(st.integers(0, 1 << 16)) if nobits else len(data)
        if start + size > base + REGION_SPAN:
            continue
        cursors[base] = start + size
        executable = not nobits and draw(st.booleans())
        sections.append(
            Section(name, start, data, nobits, size, executable, draw(st.booleans()), align)
        )
    return sections


@st.composite
def _io(draw) -> tuple[Section | None, list[IoEntry]]:
    names = draw(st.lists(_names, max_size=5, unique=True))
    if not names:
        return None, []
    start = IO_BASE
    entries, offset = [], 0
    for name in names:
        dtype = draw(st.sampled_from(dtypes.NAMES))
        shape = tuple(draw(st.lists(st.integers(1, 70), max_size=3)))
        nbytes = tensor_bytes(dtype, shape)
        role = draw(st.sampled_from(["input", "output", "weight", "tensor"]))
        entries.append(IoEntry(name, role, dtype, shape, start + offset, nbytes))
        offset += nbytes + draw(st.integers(0, 8))
    return Section(".j1.io", start, nobits=True, size=offset, writable=True, align=64), entries


@st.composite
def programs(draw) -> Program:
    """Random valid programs: sections in every window, symbols, lines, I/O, entry."""
    sections = draw(_sections())
    io_section, io = draw(_io())
    if io_section is not None:
        sections.append(io_section)
    section_names = [None, *(s.name for s in sections)]
    symbols = [
        Symbol(
            draw(_names),
            draw(st.integers(0, 2**64 - 1)),
            draw(st.sampled_from(section_names)),
            draw(st.sampled_from(["local", "global"])),
            draw(st.sampled_from(["func", "object", "notype"])),
            draw(st.integers(0, 2**64 - 1)),
        )
        for _ in range(draw(st.integers(0, 6)))
    ]
    files = st.one_of(st.sampled_from(FILES), _names)
    lines = []
    for section in sections:
        if section.data:
            offsets = draw(st.sets(st.integers(0, len(section.data) - 1), max_size=10))
            lines += [
                LineEntry(
                    section.address + offset,
                    draw(files),
                    draw(st.one_of(st.integers(1, 200), st.integers(1, 2**31 - 1))),
                    draw(st.one_of(st.integers(0, 80), st.integers(0, 2**31 - 1))),
                )
                for offset in sorted(offsets)
            ]
    lines = draw(st.permutations(lines))
    code = [s for s in sections if s.executable]
    if code:
        section = draw(st.sampled_from(code))
        entry = section.address + draw(st.integers(0, max(section.length - 1, 0)))
    else:
        entry = draw(st.integers(0, 2**64 - 1))
    return Program(sections, symbols, list(lines), io, entry)


@pytest.fixture(scope="session")
def program_strategy() -> st.SearchStrategy[Program]:
    """The strategy of random valid programs (draw from it with `st.data()`)."""
    return programs()

"""What jasm writes, as pyelftools and binutils readelf see it: header, sections, symbols,
DWARF line table, for a program assembled from two files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from asm import Options, assemble

READELF = shutil.which("readelf")
needs_readelf = pytest.mark.skipif(READELF is None, reason="binutils readelf is not installed")

MAIN = """\
        .global _start
        .equ    ANSWER, 42
_start: li      a0, ANSWER
        call    helper
.Lskip: nop
1:      halt
        .data
table:  .dword  1, 2
        .input  x, fp32, (2, 16)
        .section .sram
sbuf:   .space  128
"""
LIB = """\
        .global helper
helper: addi    a0, a0, 1
        ret
        .bss
counter: .space 8
"""
SECTIONS = {  # name: (type, address, size, flags)
    ".text": ("SHT_PROGBITS", 0x1000, 0x30, "AX"),
    ".data": ("SHT_PROGBITS", 0x1040, 16, "WA"),
    ".bss": ("SHT_NOBITS", 0x1080, 8, "WA"),
    ".j1.io": ("SHT_NOBITS", 0x10C0, 128, "WA"),
    ".sram": ("SHT_NOBITS", 0x1_0000_0000, 128, "WA"),
}
SYMBOLS = {  # name: (value, size, type, binding, section or None for absolute)
    "_start": (0x1000, 32, "STT_FUNC", "STB_GLOBAL", ".text"),
    "helper": (0x1020, 16, "STT_FUNC", "STB_GLOBAL", ".text"),
    "table": (0x1040, 16, "STT_OBJECT", "STB_LOCAL", ".data"),
    "x": (0x10C0, 128, "STT_OBJECT", "STB_LOCAL", ".j1.io"),
    "counter": (0x1080, 8, "STT_OBJECT", "STB_LOCAL", ".bss"),
    "sbuf": (0x1_0000_0000, 128, "STT_OBJECT", "STB_LOCAL", ".sram"),
    "ANSWER": (42, 0, "STT_NOTYPE", "STB_LOCAL", None),
}
LINES = {
    0x1000: ("main.jasm", 3),
    0x1008: ("main.jasm", 4),
    0x1010: ("main.jasm", 5),
    0x1018: ("main.jasm", 6),
    0x1020: ("lib.jasm", 2),
    0x1028: ("lib.jasm", 3),
}


@pytest.fixture(scope="module")
def elf_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("elf")
    (folder / "main.jasm").write_text(MAIN)
    (folder / "lib.jasm").write_text(LIB)
    result = assemble([str(folder / "main.jasm"), str(folder / "lib.jasm")], Options())
    assert result.ok, result.text()
    path = folder / "prog.elf"
    path.write_bytes(result.elf())
    return path


def _flags(section) -> str:
    flags = section["sh_flags"]
    return "W" * bool(flags & 1) + "A" * bool(flags & 2) + "X" * bool(flags & 4)


def test_pyelftools_header_and_sections(elf_path):
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        assert elf.elfclass == 64 and elf.little_endian
        assert elf["e_type"] == "ET_EXEC" and elf["e_machine"] == 0x4A31
        assert elf["e_entry"] == 0x1000
        found = {
            s.name: (s["sh_type"], s["sh_addr"], s["sh_size"], _flags(s))
            for s in elf.iter_sections()
            if s.name in SECTIONS
        }
        assert found == SECTIONS
        names = {s.name for s in elf.iter_sections()}
        assert {".symtab", ".strtab", ".debug_line", ".j1.iotab"} <= names
        assert ".rodata" not in names  # empty sections are left out
        text = elf.get_section_by_name(".text").data()
        assert text[0x28:0x30] == (0x2047).to_bytes(8, "little")  # helper's ret


def test_pyelftools_symbols(elf_path):
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        sections = {i: s.name for i, s in enumerate(elf.iter_sections())}
        symtab = elf.get_section_by_name(".symtab")
        found = {}
        for sym in symtab.iter_symbols():
            if not sym.name:
                continue
            ndx = sym["st_shndx"]
            section = None if ndx == "SHN_ABS" else sections[ndx]
            found[sym.name] = (
                sym["st_value"],
                sym["st_size"],
                sym["st_info"]["type"],
                sym["st_info"]["bind"],
                section,
            )
        assert found == SYMBOLS  # no .L names, no numeric local labels


def test_pyelftools_line_table(elf_path):
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        dwarf = elf.get_dwarf_info()
        # jasm writes no .debug_info, so the line program is opened at its offset, 0.
        program = dwarf._parse_line_program_at_offset(0, dwarf.structs)
        files = [entry.name.decode() for entry in program.header.file_entry]
        rows = {}
        for entry in program.get_entries():
            state = entry.state
            if state is not None and not state.end_sequence:
                rows[state.address] = (Path(files[state.file - 1]).name, state.line)
        assert rows == LINES


def _readelf(*args: str) -> str:
    done = subprocess.run([READELF, *args], capture_output=True, text=True, check=True)
    assert "warning" not in done.stderr.lower(), done.stderr
    return done.stdout


@needs_readelf
def test_readelf_header_sections_symbols(elf_path):
    header = _readelf("-h", str(elf_path))
    assert re.search(r"Machine:\s+<unknown>: 0x4a31", header)
    assert re.search(r"Entry point address:\s+0x1000\b", header)
    sections = _readelf("-S", "-W", str(elf_path))
    for name, (kind, address, size, flags) in SECTIONS.items():
        columns = rf"{kind[4:]}\s+0*{address:x}\s+\S+\s+0*{size:x}\s+\S+\s+{flags}\s"
        pattern = rf"\]\s+{re.escape(name)}\s+{columns}"
        assert re.search(pattern, sections), name
    symbols = _readelf("-s", "-W", str(elf_path))
    for name, (value, size, kind, bind, section) in SYMBOLS.items():
        ndx = r"ABS" if section is None else r"\d+"
        pattern = rf"{value:016x}\s+{size}\s+{kind[4:]}\s+{bind[4:]}\s+DEFAULT\s+{ndx} {name}$"
        assert re.search(pattern, symbols, re.M), name


@needs_readelf
def test_readelf_decoded_line_table(elf_path):
    out = _readelf("--debug-dump=decodedline", str(elf_path))
    rows = {}
    for match in re.finditer(r"^(\S+\.jasm)\s+(\d+)\s+(0x[0-9a-f]+)\s", out, re.M):
        rows[int(match[3], 16)] = (match[1], int(match[2]))
    assert rows == LINES

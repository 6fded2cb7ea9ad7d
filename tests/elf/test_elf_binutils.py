"""GNU binutils (readelf, objdump) decode our headers, symbols and DWARF line table."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.elf import Program, write_elf

READELF = shutil.which("readelf")
OBJDUMP = shutil.which("objdump")
needs_readelf = pytest.mark.skipif(READELF is None, reason="binutils readelf is not installed")
needs_objdump = pytest.mark.skipif(OBJDUMP is None, reason="binutils objdump is not installed")


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "warning" not in done.stderr.lower(), done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    return done.stdout


@pytest.fixture
def elf_path(tmp_path: Path, sample: Program) -> Path:
    path = tmp_path / "prog.elf"
    path.write_bytes(write_elf(sample))
    return path


@needs_readelf
def test_readelf_header(elf_path):
    out = _run(READELF, "-h", str(elf_path))
    assert re.search(r"Class:\s+ELF64", out)
    assert re.search(r"Data:\s+2's complement, little endian", out)
    assert re.search(r"Type:\s+EXEC", out)
    assert re.search(r"Machine:\s+<unknown>: 0x4a31", out)
    assert re.search(r"Entry point address:\s+0x1000\b", out)


@needs_readelf
def test_readelf_sections(elf_path, sample):
    out = _run(READELF, "-S", "-W", str(elf_path))
    rows = {}
    for match in re.finditer(
        r"\]\s+(\S+)\s+(\w+)\s+([0-9a-f]{16})\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+([WAX]*)\s", out
    ):
        name, kind, address, size, flags = match.groups()
        rows[name] = (kind, int(address, 16), int(size, 16), flags)
    for section in sample.sections:
        flags = "W" * section.writable + "A" + "X" * section.executable
        kind = "NOBITS" if section.nobits else "PROGBITS"
        assert rows[section.name] == (kind, section.address, section.length, flags)
    for container in (".j1.iotab", ".debug_line", ".symtab", ".strtab", ".shstrtab"):
        assert container in rows


@needs_readelf
def test_readelf_symbols(elf_path, sample):
    out = _run(READELF, "-s", "-W", str(elf_path))
    rows = {}
    for match in re.finditer(
        r"^\s*\d+: ([0-9a-f]{16})\s+(\S+) (\w+)\s+(\w+)\s+\w+\s+(\w+) (\S+)$", out, re.M
    ):
        value, size, kind, bind, ndx, name = match.groups()
        rows[name] = (int(value, 16), int(size, 0), kind, bind, ndx)  # big sizes print in hex
    section_index = {s.name: str(i + 1) for i, s in enumerate(sample.sections)}
    assert len(rows) == len(sample.symbols)
    for symbol in sample.symbols:
        ndx = "ABS" if symbol.section is None else section_index[symbol.section]
        kind, binding = symbol.kind.upper(), symbol.binding.upper()
        assert rows[symbol.name] == (symbol.value, symbol.size, kind, binding, ndx)


def _decoded_rows(out: str) -> dict[int, tuple[str, int]]:
    """address -> (file, line) from a binutils decodedline listing (address 0 prints as 0)."""
    rows = {}
    for match in re.finditer(r"^(\S+)\s+(\d+)\s+(0x[0-9a-f]+|0)\s", out, re.M):
        file, line, address = match.groups()
        rows[int(address, 16)] = (file, int(line))
    return rows


def _expected_rows(program: Program) -> dict[int, tuple[str, int]]:
    # binutils print the file's base name in decodedline listings
    return {e.address: (e.file.rsplit("/", 1)[-1], e.line) for e in program.lines}


@needs_readelf
def test_readelf_decodedline(elf_path, sample):
    out = _run(READELF, "--debug-dump=decodedline", str(elf_path))
    assert _decoded_rows(out) == _expected_rows(sample)


@needs_objdump
def test_objdump_decodedline(elf_path, sample):
    out = _run(OBJDUMP, "--dwarf=decodedline", str(elf_path))
    assert _decoded_rows(out) == _expected_rows(sample)


@needs_readelf
def test_readelf_raw_line_table_lists_directories_and_files(elf_path):
    out = _run(READELF, "--debug-dump=rawline", str(elf_path))
    assert re.search(r"DWARF Version:\s+4", out)
    assert re.search(r"^\s+1\s+kernels$", out, re.M)
    assert re.search(r"^\s+1\s+1\s+0\s+0\s+matmul\.s$", out, re.M)
    assert re.search(r"^\s+2\s+0\s+0\s+0\s+main\.s$", out, re.M)


SIMPLE_FILES = ("main.s", "kernels/gemm.s", "/abs/softmax.s")


@needs_readelf
@needs_objdump
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_binutils_decode_random_line_tables(program_strategy, data, tmp_path_factory):
    program = data.draw(program_strategy)
    # Plain file names: the listing is parsed by whitespace.
    lines = [replace(e, file=SIMPLE_FILES[e.line % 3]) for e in program.lines]
    program = replace(program, lines=lines)
    path = tmp_path_factory.mktemp("random") / "prog.elf"
    path.write_bytes(write_elf(program))
    expected = _expected_rows(program)
    assert _decoded_rows(_run(READELF, "--debug-dump=decodedline", str(path))) == expected
    assert _decoded_rows(_run(OBJDUMP, "--dwarf=decodedline", str(path))) == expected

"""pyelftools, an independent ELF and DWARF reader, sees what we meant to write."""

from __future__ import annotations

import io

from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.elf import EM_J1, LineEntry, Program, Section, canonical, read_elf, write_elf

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
BINDS = {"local": "STB_LOCAL", "global": "STB_GLOBAL"}
TYPES = {"func": "STT_FUNC", "object": "STT_OBJECT", "notype": "STT_NOTYPE"}


def _elf(program: Program) -> ELFFile:
    return ELFFile(io.BytesIO(write_elf(program)))


def _check_header(elf: ELFFile, program: Program) -> None:
    assert elf.elfclass == 64 and elf.little_endian
    assert elf["e_machine"] == EM_J1  # unknown to pyelftools, so it reports the number
    assert elf["e_type"] == "ET_EXEC"
    assert elf["e_entry"] == program.entry
    assert elf["e_ident"]["EI_OSABI"] == "ELFOSABI_SYSV"
    assert elf["e_flags"] == 0


def _check_sections(elf: ELFFile, program: Program) -> None:
    for section in program.sections:
        found = elf.get_section_by_name(section.name)
        assert found is not None, section.name
        expected_flags = SHF_ALLOC
        expected_flags |= SHF_EXECINSTR if section.executable else 0
        expected_flags |= SHF_WRITE if section.writable else 0
        assert found["sh_flags"] == expected_flags
        assert found["sh_type"] == ("SHT_NOBITS" if section.nobits else "SHT_PROGBITS")
        assert found["sh_addr"] == section.address
        assert found["sh_size"] == section.length
        assert found["sh_addralign"] == section.align
        if not section.nobits:
            assert found.data() == section.data
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    assert sorted((s["p_vaddr"], s["p_memsz"]) for s in loads) == sorted(
        (s.address, s.length) for s in program.sections if s.length
    )
    for segment in loads:
        assert segment["p_offset"] % segment["p_align"] == segment["p_vaddr"] % segment["p_align"]


def _check_symbols(elf: ELFFile, program: Program) -> None:
    symtab = elf.get_section_by_name(".symtab")
    symbols = list(symtab.iter_symbols())[1:]
    expected = canonical(program).symbols
    assert len(symbols) == len(expected)
    first_global = next((i for i, s in enumerate(expected) if s.binding == "global"), None)
    assert symtab["sh_info"] == 1 + (len(expected) if first_global is None else first_global)
    for got, want in zip(symbols, expected, strict=True):
        assert got.name == want.name
        assert got["st_value"] == want.value
        assert got["st_size"] == want.size
        assert got["st_info"]["bind"] == BINDS[want.binding]
        assert got["st_info"]["type"] == TYPES[want.kind]
        if want.section is None:
            assert got["st_shndx"] == "SHN_ABS"
        else:
            assert elf.get_section(got["st_shndx"]).name == want.section


def _line_table(elf: ELFFile) -> dict[int, tuple[str, int, int]]:
    """address -> (file, line, column) from pyelftools' own line-program decoder."""
    if elf.get_section_by_name(".debug_line") is None:
        return {}
    dwarf = elf.get_dwarf_info()
    # No .debug_info points at the table, so open the unit at offset 0 directly.
    program = dwarf._parse_line_program_at_offset(0, dwarf.structs)
    directories = [d.decode() for d in program.header.include_directory]
    files = []
    for entry in program.header.file_entry:
        name = entry.name.decode()
        if entry.dir_index and not name.startswith("/"):
            name = f"{directories[entry.dir_index - 1]}/{name}"
        files.append(name)
    table = {}
    for entry in program.get_entries():
        state = entry.state
        if state is not None and not state.end_sequence:
            table[state.address] = (files[state.file - 1], state.line, state.column)
    return table


def _check_lines(elf: ELFFile, program: Program) -> None:
    assert _line_table(elf) == {e.address: (e.file, e.line, e.column) for e in program.lines}


def test_sample_as_seen_by_pyelftools(sample):
    elf = _elf(sample)
    _check_header(elf, sample)
    _check_sections(elf, sample)
    _check_symbols(elf, sample)
    _check_lines(elf, sample)
    assert _line_table(elf)[0x1000] == ("kernels/matmul.s", 3, 0)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_random_programs_as_seen_by_pyelftools(program_strategy, data):
    program = data.draw(program_strategy)
    elf = _elf(program)
    _check_header(elf, program)
    _check_sections(elf, program)
    _check_symbols(elf, program)
    _check_lines(elf, program)


def test_every_special_opcode_boundary_decodes_right():
    # Address steps around the one-byte special-opcode limit, line steps around line_base and
    # line_base + line_range, so both the special-opcode and the long encodings are exercised.
    lines, address, line = [], 0, 100
    for address_step in (0, 1, 8, 16, 17, 18, 19, 100, 5000):
        for line_step in (-6, -5, -1, 0, 1, 8, 9, 10, 1000):
            address += max(address_step, 1)
            line += line_step
            lines.append(LineEntry(address, "a.s", line, 7))
    program = Program([Section(".text", 0, bytes(address + 8), executable=True)], lines=lines)
    _check_lines(_elf(program), program)
    assert read_elf(write_elf(program)).lines == lines

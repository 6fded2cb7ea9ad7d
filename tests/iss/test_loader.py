"""Loading programs: valid ones run, malformed or hostile ones are rejected with a reason."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isa import BY_MNEMONIC, encode
from isa.elf import LineEntry, Program, Section, write_elf
from iss.runtime import BindError, Simulator


def program(*rows, address=0x1000) -> Program:
    text = b"".join(encode(BY_MNEMONIC[m], v).to_bytes(8, "little") for m, v in rows)
    lines = [LineEntry(address + 8 * i, "t.jasm", i + 1) for i in range(len(rows))]
    return Program([Section(".text", address, text, executable=True)], entry=address,
                   lines=lines)  # fmt: skip


HALT_42 = program(("addi", {"rd": 10, "rs1": 0, "imm": 42}), ("halt", {}))


def test_a_valid_program_loads_and_runs(tmp_path):
    path = tmp_path / "p.elf"
    path.write_bytes(write_elf(HALT_42))
    sim = Simulator.load(path, machine="j1-mini")
    assert sim.run() == 42
    assert sim.report().instructions == 2


def test_a_section_beyond_the_machine_memory_is_rejected():
    big = Program([Section(".text", 0x1000, bytes(8), executable=True),
                   Section(".bss", 0x200_0000, nobits=True, size=4096)], entry=0x1000)  # fmt: skip
    with pytest.raises(BindError, match=r"\.bss does not fit j1-mini"):
        Simulator(big, machine="j1-mini")


def test_missing_and_non_elf_files_are_rejected(tmp_path):
    with pytest.raises(BindError, match="No such file"):
        Simulator.load(tmp_path / "absent.elf")
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"\x7fELF not really")
    with pytest.raises(BindError, match="not a J1 program"):
        Simulator.load(junk)


ELF = write_elf(HALT_42)


@pytest.mark.parametrize("length", range(0, len(ELF), 7))
def test_every_truncation_is_rejected(tmp_path, length):
    path = tmp_path / "t.elf"
    path.write_bytes(ELF[:length])
    with pytest.raises(BindError):
        Simulator.load(path, machine="j1-mini")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(ELF) - 1), st.integers(0, 255)), min_size=1,
                max_size=8))  # fmt: skip
def test_mutated_files_load_cleanly_or_are_rejected(tmp_path_factory, mutations):
    data = bytearray(ELF)
    for offset, value in mutations:
        data[offset] = value
    path = tmp_path_factory.mktemp("m") / "m.elf"
    path.write_bytes(bytes(data))
    try:
        sim = Simulator.load(path, machine="j1-mini")
    except BindError:
        return
    try:  # whatever loads must run to a clean end: halt, a trap, or the step limit
        sim.run(max_steps=1000)
    except Exception as e:
        assert type(e).__name__ in ("Trap", "LimitReached"), e


def test_jrun_reports_a_bad_file_without_a_traceback(tmp_path):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(bytes(range(256)) * 4)
    result = subprocess.run([sys.executable, "-m", "iss", str(junk)], capture_output=True,
                            text=True)  # fmt: skip
    assert result.returncode == 1
    assert "not a J1 program" in result.stderr
    assert "Traceback" not in result.stderr

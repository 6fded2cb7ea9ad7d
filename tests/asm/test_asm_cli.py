"""The `jasm` command through click's CliRunner, and once as `python -m asm` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import isa
from asm.cli import main

PROGRAM = """\
        .global _start
_start: li    a0, 3
loop:   addi  a0, a0, -1
        bnez  a0, loop
        halt
        .data
value:  .word 7
        .input x, bf16, (2, 32)
"""
BROKEN = """\
        addi  a0, a0, 1 << 40
        ad    a0, a1, a2
        fli   f0, 1e-60
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "prog.jasm"
    path.write_text(PROGRAM)
    return path


def run(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args))
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, list(args))
    finally:
        os.chdir(old)


def test_assemble_with_explicit_and_derived_output(source, tmp_path):
    out = tmp_path / "explicit.elf"
    assert run(str(source), "-o", str(out)).exit_code == 0
    assert out.read_bytes()[:4] == b"\x7fELF"
    assert run("-o", str(tmp_path / "first.elf"), str(source)).exit_code == 0  # options first
    assert run("asm", str(source)).exit_code == 0  # the subcommand spelled out
    assert (tmp_path / "prog.elf").exists()  # derived from the first file's name


def test_errors_exit_1_with_located_diagnostics(tmp_path):
    bad = tmp_path / "bad.jasm"
    bad.write_text(BROKEN)
    result = run(str(bad), "-o", str(tmp_path / "bad.elf"))
    assert result.exit_code == 1
    err = result.stderr
    first = f"{bad}:1:23: error: imm = 1099511627776 is out of range (-2147483648..2147483647)"
    assert err.startswith(first)  # diagnostics come in source order
    assert "\n      | " + " " * 22 + "^~~~~~~\n" in err  # the caret under `1 << 40`
    assert f"{bad}:2:9: error: unknown instruction 'ad'; did you mean 'add' or 'and'?" in err
    assert "warning: 1e-60 underflows to zero in fp32" in err
    assert not (tmp_path / "bad.elf").exists()


def test_warnings_pass_unless_w_error(tmp_path):
    warn = tmp_path / "warn.jasm"
    warn.write_text("fli f0, 1e-60\nhalt\n")
    ok = run(str(warn), "-o", str(tmp_path / "w.elf"))
    assert ok.exit_code == 0 and "warning:" in ok.stderr
    strict = run(str(warn), "-W", "error", "-o", str(tmp_path / "w.elf"))
    assert (
        strict.exit_code == 1
        and "error: 1e-60 underflows to zero in fp32 [-W error]" in strict.stderr
    )


def test_defines_and_include_dirs(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "consts.jasm").write_text(".equ BASE, 100\n")
    src = tmp_path / "d.jasm"
    src.write_text('.include "consts.jasm"\n.data\n.word BASE + N + FLAG\n')
    result = run(
        str(src),
        "-I",
        str(tmp_path / "inc"),
        "-D",
        "N=0x10",
        "-D",
        "FLAG",
        "-o",
        str(tmp_path / "d.elf"),
    )
    assert result.exit_code == 0, result.output
    data = isa.elf.read_elf((tmp_path / "d.elf").read_bytes()).section(".data").data
    assert int.from_bytes(data, "little") == 100 + 16 + 1


@pytest.mark.parametrize(
    "args",
    [
        ["-Q", "x.jasm"],
        ["-D", "N=abc", "x.jasm"],
        ["-D", "1x=3", "x.jasm"],
        ["-W", "all", "x.jasm"],
        ["dis"],
        ["syms", "a", "b"],
        [],
    ],
)
def test_usage_errors_exit_2(args):
    assert run(*args).exit_code == 2


def test_unreadable_inputs_exit_1(tmp_path):
    assert run(str(tmp_path / "missing.jasm")).exit_code == 1
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"\x7fELF" + bytes(60))
    for command in ("dis", "syms"):
        result = run(command, str(junk))
        assert result.exit_code == 1
        assert "not a valid J1 program" in result.stderr
        missing = run(command, str(tmp_path / "none.elf"))
        assert missing.exit_code == 1 and "cannot read" in missing.stderr


def test_help_and_version():
    help_text = run("--help").output
    assert "Memory layout" in help_text and "SRAM_BASE" in help_text and "jasm dis" in help_text
    assert "-I" in run("asm", "--help").output
    assert run("--version").output.strip() == f"jasm {isa.__version__}"


def test_listing(source, tmp_path):
    result = run(str(source), "-o", str(tmp_path / "p.elf"), "-l", "-")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ADDRESS")
    row = next(line for line in lines if "bnez" in line)
    assert row.startswith("0000000000001010  fffffff800000a41  bne rs1=a0 rs2=zero target=0x1008")
    listing = tmp_path / "p.lst"
    assert run(str(source), "-o", str(tmp_path / "p.elf"), "--listing", str(listing)).exit_code == 0
    assert "li    a0, 3" in listing.read_text()


def test_dis_and_syms(source, tmp_path):
    elf = tmp_path / "p.elf"
    assert run(str(source), "-o", str(elf)).exit_code == 0
    dis = run("dis", str(elf)).output
    assert "_start:" in dis and "loop:" in dis
    assert "    1010:  bne a0, zero, 0x1008  # <loop>" in dis
    assert "# " + str(source) + ":3: loop:   addi  a0, a0, -1" in dis  # source interleaved
    shown = run("dis", "--show-encoding", str(elf)).output
    assert "    1000:  0000000300000a20  addi a0, zero, 3" in shown
    syms = run("syms", str(elf)).output
    assert "0000000000001000         8  func   global .text    _start" in syms
    assert "input   x                   bf16     2x32" in syms


def test_python_dash_m_asm(source, tmp_path):
    elf = tmp_path / "sub.elf"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "asm", str(source), "-o", str(elf)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    dis = subprocess.run(
        [sys.executable, "-m", "asm", "dis", str(elf)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert dis.returncode == 0 and "halt" in dis.stdout
    bad = tmp_path / "bad.jasm"
    bad.write_bytes(b"\xff\xfe junk\n")
    failed = subprocess.run(
        [sys.executable, "-m", "asm", str(bad)], capture_output=True, text=True, env=env, timeout=60
    )
    assert failed.returncode == 1
    assert "bad.jasm:1:1: error: invalid UTF-8 byte 0xff" in failed.stderr
    assert "Traceback" not in failed.stderr

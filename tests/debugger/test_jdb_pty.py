"""The real `jdb` process in a pseudo-terminal: a whole interactive session, Ctrl-C during
`continue`, and the batch mode's exit status."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from jdb_programs import LOOP, SESSION

pexpect = pytest.importorskip("pexpect")
PROMPT = r"\(jdb\)"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|[\r\x08]")


def spawn(tmp_path, source: str, *args: str):
    program = tmp_path / "prog.jasm"
    program.write_text(source)
    np.save(tmp_path / "x.npy", np.arange(32, dtype=np.float32).reshape(4, 8))
    env = dict(
        os.environ, JDB_HISTORY=str(tmp_path / "history"), PROMPT_TOOLKIT_NO_CPR="1", TERM="dumb"
    )  # fmt: skip  (a dumb terminal: no redraws in the transcript)
    child = pexpect.spawn(
        sys.executable, ["-m", "debugger.cli", str(program), *args], cwd=str(tmp_path), env=env,
        encoding="utf-8", timeout=60, dimensions=(40, 160),
    )  # fmt: skip
    child.expect(PROMPT)
    return child


def command(child, line: str, expect: str) -> str:
    """Send a command line; its output (colours stripped) up to the next prompt must match
    `expect`."""
    child.sendline(line)
    child.expect(PROMPT)
    text = ANSI.sub("", child.before)
    assert re.search(expect, text), (line, text)
    return text


def test_a_full_session(tmp_path):
    child = spawn(tmp_path, SESSION, "--in", f"x={tmp_path / 'x.npy'}")
    command(child, "break bump", r"breakpoint 1 at 0x[0-9a-f]+ in bump")
    command(child, "run", r"stop breakpoint pc=0x[0-9a-f]+ instret=\d+ number=1")
    command(child, "watch s0", r"watchpoint 2: s0")
    command(child, "continue", r"stop watchpoint .*number=2")
    command(child, "print s0", r"\$1 = 2")
    command(child, "p y.shape", r"\$2 = ")
    command(child, "reverse-stepi", r"stop step pc=0x[0-9a-f]+ instret=\d+")
    command(child, "print s0", r"\$3 = 1")
    command(child, "frobnicate", r"error: undefined command")
    command(child, "delete", "")
    command(child, "continue", r"program halted: exit status 5")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert "break bump" in (tmp_path / "history").read_text()


def test_ctrl_c_interrupts_continue_and_keeps_the_state(tmp_path):
    child = spawn(tmp_path, LOOP)
    child.sendline("continue")
    time.sleep(1.5)  # the loop runs for minutes: interrupt it
    child.sendintr()
    child.expect(PROMPT)
    assert re.search(r"stop interrupted pc=0x[0-9a-f]+ instret=\d+", ANSI.sub("", child.before))
    command(child, "print t0 > 0", r"\$1 = (True|true)")
    child.sendline("quit")
    child.expect(pexpect.EOF)


def test_batch_mode_exit_status(tmp_path):
    program = tmp_path / "prog.jasm"
    program.write_text(SESSION)
    np.save(tmp_path / "x.npy", np.arange(32, dtype=np.float32).reshape(4, 8))
    run = subprocess.run(
        [sys.executable, "-m", "debugger.cli", str(program), "--in", f"x={tmp_path / 'x.npy'}",
         "-ex", "break bump", "-ex", "run", "-ex", "info registers s0", "--batch"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr  # stopped at the breakpoint: not ended
    assert "stop breakpoint" in run.stdout and "s0" in run.stdout
    run = subprocess.run([sys.executable, "-m", "debugger.cli", str(program), "--in",
                          f"x={tmp_path / 'x.npy'}", "-ex", "run", "--batch"],
                         capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 5

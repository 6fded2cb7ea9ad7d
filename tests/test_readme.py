"""The README's commands work as written (run in a scratch directory, as a new user would)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def tool_commands() -> list[str]:
    """The command lines of the "Using the tools" block, comments stripped."""
    block = README.split("## Using the tools", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [re.split(r"\s#\s", line)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith(".")]


def test_the_readme_has_the_two_quick_start_commands():
    quick = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert re.findall(r"^make (\w+)", quick, re.M) == ["demo", "test"]


def test_tool_commands_run(tmp_path):
    (tmp_path / "programs").symlink_to(ROOT / "programs")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    commands = tool_commands()
    assert len(commands) >= 10
    for command in commands:
        argv = shlex.split(command)
        modules = {"jasm": "asm", "jrun": "iss", "jdb": "debugger.cli"}
        if argv[0] in modules:  # run the console scripts' modules directly, so the
            argv = [sys.executable, "-m", modules[argv[0]], *argv[1:]]
        elif argv[0] == "python":  # test does not depend on how the package was installed
            argv[0] = sys.executable
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
        expected = 55 if command == "jrun hello.elf" else 0
        assert result.returncode == expected, f"{command}\n{result.stdout}\n{result.stderr}"
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), 2 * x + 1)
    assert (tmp_path / "hello.lst").read_text().count("halt") >= 1
    assert (tmp_path / "trace.json").exists()


def demo_commands() -> list[list[str]]:
    """The command lines `make demo` runs, with this interpreter for the venv's."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [shlex.split(line.strip().replace("$(BIN)/python", sys.executable)) for line in recipe]


def test_the_demo_runs():
    commands = demo_commands()
    assert commands
    for argv in commands:
        if argv[-1] == "programs.smollm2":
            argv += ["--max-tokens", "3"]  # the main job, shortened: it streams, then reports
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "J1 report" in result.stdout and "tokens/J" in result.stdout

"""`jdb PROGRAM.jasm|PROGRAM.elf`: the J1 debugger's command line.

Interactive by default. `-ex CMD` runs commands first (repeatable), `-x FILE` runs a script of
commands, and `--batch` exits after them instead of prompting — with the program's outcome as
the exit status: its a0 & 255 at `halt`, 3 if it stopped at a trap, 0 if it has not ended,
and 1 if the program or a tensor cannot be loaded (as `jrun`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from iss.cli import name_value_pairs


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("program", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--in", "inputs", multiple=True, metavar="NAME=FILE",
              help="bind a tensor from .npy, .safetensors[:TENSOR] or .gguf[:TENSOR]")  # fmt: skip
@click.option("-x", "scripts", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="run the commands in FILE")  # fmt: skip
@click.option("-ex", "commands", multiple=True, metavar="CMD", help="run CMD (repeatable)")
@click.option("--batch", is_flag=True, help="exit after -ex/-x commands instead of prompting")
@click.option("--machine", default="j1", show_default=True, help="machine name or .toml")
@click.option("--history-mb", type=click.IntRange(min=1), default=1024, show_default=True,
              help="memory budget of the reverse-execution history")  # fmt: skip
@click.option("-I", "include", multiple=True, help="include directory for .jasm sources")
@click.option("-D", "defines", multiple=True, metavar="NAME=VALUE", help="assembler symbol")
def main(program, inputs, scripts, commands, batch, machine, history_mb, include, defines):
    """Debug PROGRAM on the J1 simulator, with reverse execution and tensor views."""
    from debugger.session import Session, SessionError

    try:
        session = Session.open(
            program,
            inputs=name_value_pairs(inputs, "--in"),
            machine=machine,
            include=list(include),
            defines=dict(name_value_pairs(defines, "-D")),
            budget_bytes=history_mb << 20,
        )
    except SessionError as e:
        click.echo(f"jdb: {e}", err=True)
        sys.exit(1)
    lines = [line for script in scripts for line in _script(script)] + list(commands)
    for line in lines:
        if not session.execute(line):
            sys.exit(session.outcome())
    if not batch:
        from debugger.ui import interactive

        interactive(session)
    sys.exit(session.outcome())


def _script(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError as e:
        click.echo(f"jdb: {path}: {e.strerror}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The `jasm` command: assemble (the default), `dis` and `syms`.

Exit status: 0 success, 1 assembly errors (or an unreadable or malformed ELF file), 2 usage
errors.
"""

from __future__ import annotations

import os
import sys
import textwrap

import click

import isa
from asm import assembler
from asm.directives import ALL_NAMES
from asm.listing import listing
from isa.elf import ElfError, Program, read_elf

LAYOUT_HELP = """\b
Memory layout:
  .text at DRAM 0x1000; .rodata, .data, .bss follow, each 64-byte aligned
  (.tensor constants go to .rodata); .input/.output/.weight buffers are
  reserved in .j1.io after .bss, each 64-byte aligned; `.section .sram` and
  `.section .acc` start at SRAM_BASE and ACC_BASE (on-chip buffers).
  Entry point: _start if defined, else the start of .text.
  Predefined symbols: DRAM_BASE, SRAM_BASE, ACC_BASE.
"""


class DefaultGroup(click.Group):
    """A group whose first argument, if it is no subcommand, is a file to assemble."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "--version"):
            args = ["asm", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        # No input may end in a traceback: a bug in jasm is reported as one, in one line.
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            if os.environ.get("JASM_DEBUG"):
                raise
            click.echo(
                f"jasm: internal error: {type(e).__name__}: {e} (please report it; "
                "JASM_DEBUG=1 shows the traceback)",
                err=True,
            )
            sys.exit(1)


@click.group(
    "jasm",
    cls=DefaultGroup,
    help="jasm, the J1 assembler.\n\n"
    "  jasm FILE... [-o OUT]    assemble (see `jasm asm --help`)\n\n"
    "  jasm dis PROG.elf        disassemble\n\n"
    "  jasm syms PROG.elf       list symbols and the I/O table\n\n" + LAYOUT_HELP,
    no_args_is_help=True,
)
@click.version_option(isa.__version__, prog_name="jasm", message="%(prog)s %(version)s")
def main() -> None:
    """The jasm command group."""


def _define(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    defines = {}
    for item in values:
        name, _, text = item.partition("=")
        if not name.isidentifier():
            raise click.BadParameter(f"'{name}' is not a symbol name", ctx, param)
        try:
            defines[name] = int(text.replace("_", ""), 0) if text else 1
        except ValueError:
            raise click.BadParameter(f"'{text}' is not an integer", ctx, param) from None
    return defines


@main.command(
    "asm",
    help="Assemble FILES into one J1 program (sections concatenated in command-line "
    "order, .global symbols shared).\n\n"
    + LAYOUT_HELP
    + "\n\b\nDirectives:\n"
    + textwrap.fill(" ".join(ALL_NAMES), 76, initial_indent="  ", subsequent_indent="  "),
)
@click.argument("files", nargs=-1, required=True)
@click.option("-o", "--output", metavar="OUT", help="Output ELF file (default: FILE.elf).")
@click.option(
    "-I",
    "include_dirs",
    metavar="DIR",
    multiple=True,
    help="Search DIR for .include / .incbin / .tensor files.",
)
@click.option(
    "-D",
    "defines",
    metavar="NAME=VALUE",
    multiple=True,
    callback=_define,
    help="Define an integer symbol (VALUE defaults to 1).",
)
@click.option(
    "-W",
    "warnings",
    multiple=True,
    type=click.Choice(["error"]),
    help="-W error: treat warnings as errors.",
)
@click.option(
    "-l", "--listing", "listing_file", metavar="FILE", help="Write a listing to FILE ('-': stdout)."
)
@click.option(
    "--error-limit", metavar="N", default=20, show_default=True, help="Stop after N errors."
)
def assemble_command(
    files: tuple[str, ...],
    output: str | None,
    include_dirs: tuple[str, ...],
    defines: dict,
    warnings: tuple[str, ...],
    listing_file: str | None,
    error_limit: int,
) -> None:
    """Assemble FILES (the default command)."""
    options = assembler.Options(
        list(include_dirs),
        defines,
        "error" in warnings,
        max(1, error_limit),
        listing=listing_file is not None,
    )
    result = assembler.assemble(list(files), options)
    if result.diagnostics:
        click.echo(result.text(), err=True)
    if not result.ok:
        sys.exit(1)
    output = output or os.path.splitext(files[0])[0] + ".elf"
    try:
        data = result.elf()
        with open(output, "wb") as f:
            f.write(data)
        if listing_file is not None:
            text = listing(result.records)
            if listing_file == "-":
                click.echo(text, nl=False)
            else:
                with open(listing_file, "w", encoding="utf-8") as f:
                    f.write(text)
    except ElfError as e:  # jasm checks every ELF rule first: this would be a bug in jasm
        click.echo(f"jasm: internal error: the program breaks an ELF rule: {e}", err=True)
        sys.exit(1)
    except OSError as e:
        click.echo(f"jasm: error: cannot write: {e}", err=True)
        sys.exit(1)


def _read_program(path: str) -> Program:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        click.echo(f"jasm: error: cannot read {path}: {e.strerror or e}", err=True)
        sys.exit(1)
    try:
        return read_elf(data)
    except ElfError as e:
        click.echo(f"jasm: error: {path}: not a valid J1 program: {e}", err=True)
        sys.exit(1)


@main.command("dis", help="Disassemble a J1 ELF program, with labels and source lines.")
@click.argument("program")
@click.option("--show-encoding", is_flag=True, help="Show each instruction word in hex.")
@click.option("--no-source", is_flag=True, help="Do not interleave source lines.")
def dis_command(program: str, show_encoding: bool, no_source: bool) -> None:
    """Disassemble PROGRAM."""
    from asm.disasm import SourceCache, disassembly

    parsed = _read_program(program)
    sources = None if no_source else SourceCache(os.path.dirname(program))
    click.echo(disassembly(parsed, show_encoding, sources), nl=False)


@main.command("syms", help="List the symbols and the I/O table of a J1 ELF program.")
@click.argument("program")
def syms_command(program: str) -> None:
    """List PROGRAM's symbols and I/O table."""
    from asm.disasm import symbol_table

    click.echo(symbol_table(_read_program(program)), nl=False)

"""`python -m asm` runs the `jasm` command."""

from asm.cli import main

main(prog_name="jasm")

"""The J1 executable format (ELF64 + DWARF line table + I/O table): model, writer, reader.

>>> from isa.elf import Program, Section, read_elf, write_elf
>>> program = Program([Section(".text", 0x1000, bytes(16), executable=True)], entry=0x1000)
>>> read_elf(write_elf(program)).sections[0].length
16
"""

from isa.elf.errors import ElfError
from isa.elf.model import EM_J1, IoEntry, LineEntry, Program, Section, Symbol
from isa.elf.reader import Limits, read_elf
from isa.elf.rules import canonical, check_program
from isa.elf.writer import write_elf

__all__ = [
    "EM_J1",
    "ElfError",
    "IoEntry",
    "Limits",
    "LineEntry",
    "Program",
    "Section",
    "Symbol",
    "canonical",
    "check_program",
    "read_elf",
    "write_elf",
]

"""The J1 executable format (ELF64 + DWARF line table + I/O table): model, writer, reader."""

from isa.elf.model import EM_J1, IoEntry, LineEntry, Program, Section, Symbol

__all__ = ["EM_J1", "IoEntry", "LineEntry", "Program", "Section", "Symbol"]

"""The J1 instruction-set definition: one table, and everything derived from it.

    >>> from isa import BY_MNEMONIC, encode, decode, disassemble
    >>> word = encode(BY_MNEMONIC["addi"], {"rd": 10, "rs1": 0, "imm": 42})
    >>> disassemble(decode(word))
    'addi a0, zero, 42'

`isa` imports none of the tools (assembler, simulator, debugger) that are built on it.
"""

from __future__ import annotations

from isa.checks import check_table
from isa.disasm import disassemble, operand_text
from isa.encoding import BY_MNEMONIC, EncodingError, Inst, decode, encode, split_mnemonic
from isa.pseudo import PSEUDOS, li_sequence, split_hi_lo
from isa.spec import WORD_BYTES, Field, Instruction, Kind, Pseudo
from isa.table import INSTRUCTIONS

__version__ = "0.1.0"

PSEUDO_BY_MNEMONIC: dict[str, Pseudo] = {p.mnemonic: p for p in PSEUDOS}

check_table(INSTRUCTIONS, PSEUDOS)

__all__ = [
    "BY_MNEMONIC",
    "INSTRUCTIONS",
    "PSEUDOS",
    "PSEUDO_BY_MNEMONIC",
    "WORD_BYTES",
    "EncodingError",
    "Field",
    "Inst",
    "Instruction",
    "Kind",
    "Pseudo",
    "decode",
    "disassemble",
    "encode",
    "li_sequence",
    "operand_text",
    "split_hi_lo",
    "split_mnemonic",
]

"""Bit layout shared by every J1 instruction, and small constructors for table rows.

    63                              32 31  28 27  23 22  18 17  13 12   8 7      0
    +---------------------------------+------+-----+-----+-----+-----+--------+
    |              imm                |  F   |  D  |  C  |  B  |  A  | opcode |
    +---------------------------------+------+-----+-----+-----+-----+--------+

Slots A-D hold 5-bit register numbers, F a 4-bit function code, dtype or flags, and the top
word a 32-bit immediate (or two 16-bit ones). An instruction may place a field elsewhere
when it needs to; the table checks that no two fields overlap.
"""

from __future__ import annotations

from isa import dtypes
from isa.registers import ENGINES
from isa.spec import Field, Instruction, Kind

A, B, C, D = 8, 13, 18, 23  #: register slots

#: the faults a tile operand of a compute engine (matrix, vector, activation) can raise
COMPUTE_TRAPS = (
    "out_of_bounds",
    "misaligned",
    "bad_memory",
    "tile_too_large",
    "bad_dtype",
    "shape_mismatch",
)
F = 28  #: 4-bit function / dtype / flag slot
IMM = 32  #: 32-bit immediate


def xreg(name: str, slot: int) -> Field:
    """An integer-register operand."""
    return Field(name, Kind.XREG, slot, 5)


def freg(name: str, slot: int) -> Field:
    """An fp32-register operand."""
    return Field(name, Kind.FREG, slot, 5)


def dreg(name: str, slot: int) -> Field:
    """A tile-descriptor operand."""
    return Field(name, Kind.DREG, slot, 5)


def sem(name: str, slot: int) -> Field:
    """A semaphore operand."""
    return Field(name, Kind.SEM, slot, 5)


def imm(name: str = "imm", lo: int = IMM, width: int = 32, signed: bool = True, **kw) -> Field:
    """An integer immediate (32-bit signed in the top word unless told otherwise)."""
    return Field(name, Kind.IMM, lo, width, signed, **kw)


def offset(name: str = "target") -> Field:
    """A pc-relative byte offset, written in assembly as the target address or label."""
    return Field(name, Kind.OFFSET, IMM, 32, signed=True, align=8)


def dtype(name: str = "dtype", lo: int = F) -> Field:
    """A data-type code; reserved codes do not decode."""
    return Field(name, Kind.DTYPE, lo, 4, max=len(dtypes.DTYPES) - 1)


def engine(name: str = "engine", lo: int = F) -> Field:
    """An engine code (scalar front end or one of the four engines)."""
    return Field(name, Kind.ENGINE, lo, 3, max=len(ENGINES) - 1)


def flag(name: str, bit: int) -> Field:
    """A one-bit modifier written as a mnemonic suffix."""
    return Field(name, Kind.FLAG, bit, 1)


def instr(
    mnemonic: str,
    engine: str,
    group: str,
    opcode: int,
    syntax: str,
    fields: tuple[Field, ...] | list[Field],
    summary: str,
    semantics: str,
    traps: tuple[str, ...] = (),
    funct: tuple[tuple[int, int, int], ...] = (),
) -> Instruction:
    """One table row: `opcode` fills bits 7..0, `funct` adds further fixed (lo, width, value)."""
    return Instruction(
        mnemonic=mnemonic,
        engine=engine,
        group=group,
        fields=tuple(fields),
        fixed=((0, 8, opcode), *funct),
        syntax=syntax,
        summary=summary,
        semantics=semantics,
        traps=tuple(traps),
    )

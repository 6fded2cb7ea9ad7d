"""The J1 instruction table: every instruction, gathered from one module per engine.

This list is the single source of truth. The encoder, decoder, disassembler, the
assembler's operand checks, the simulator's dispatch and docs/isa.md are derived from it.
"""

from __future__ import annotations

from isa.spec import Instruction
from isa.table import activation, engines, scalar, tiles, vector

INSTRUCTIONS: tuple[Instruction, ...] = (
    *scalar.INSTRUCTIONS,
    *tiles.INSTRUCTIONS,
    *engines.DMA,
    *engines.MATRIX,
    *vector.INSTRUCTIONS,
    *activation.INSTRUCTIONS,
    *engines.SYNC,
    *engines.SYSTEM,
)

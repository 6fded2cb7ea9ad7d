"""The J1 fault classes. Every trap the simulator raises is one of these, and every
instruction in the table lists the ones it can raise; the manual is generated from both."""

from __future__ import annotations

TRAPS: dict[str, str] = {
    "illegal_instruction": "the word does not decode (unknown opcode, a reserved bit set, "
    "a reserved dtype or engine code), or a CSR is unknown or read-only for a write",
    "misaligned": "a scalar access is not naturally aligned, a tile base is not aligned to "
    "its element size (2 bytes for quantised blocks), or a jump target is not a multiple of 8",
    "out_of_bounds": "an access, a tile or the pc lies (partly) outside every memory, "
    "or spans two memories, or a store or engine write meets write-protected memory (the "
    "loader protects .text, .rodata and the .weight buffers)",
    "bad_memory": "a tile operand lies in a memory its engine cannot use "
    "(e.g. an MXU input outside SRAM), or a destination overlaps a source it must not "
    "(`vtrans`)",
    "bad_descriptor": "a descriptor field is illegal: zero or more than 65535 rows, "
    "columns or depth, or a quantised row that is not a whole number of 32-element blocks",
    "tile_too_large": "a compute operand exceeds the engine's limits "
    "(more than 128 rows, MXU N > 512 or K > 128, depth other than 1)",
    "bad_dtype": "an operand's dtype is not allowed for the operation",
    "shape_mismatch": "operand shapes do not agree with each other as the instruction requires",
    "index_out_of_range": "a gather index is negative or not less than the table's rows",
    "loop_error": "a hardware loop would nest deeper than 4 or has an empty body",
    "sem_underflow": "a `wait`, taken in program order, finds its semaphore at zero: "
    "no earlier instruction can signal it, so real hardware would deadlock",
    "breakpoint": "an `ebreak` instruction was executed",
}

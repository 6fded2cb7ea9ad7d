"""Tile descriptors: the front end's way of naming 2-D (and, for DMA, 3-D) tensors.

A descriptor register holds: base address, rows, cols, dtype, row stride (bytes), depth and
plane stride (bytes). Element (p, i, j) lives at base + p*plane + i*stride + j*elem, with
quantised dtypes addressed per 32-element block. An engine instruction captures its
descriptors when the front end issues it, so the front end may rewrite them at once.
"""

from __future__ import annotations

from isa.table.formats import IMM, A, B, C, D, dreg, dtype, imm, instr, xreg

_G = "Tile descriptors"
_DENSE = (
    "stride = the dense row size (cols * element bytes, or cols/32 * block bytes for "
    "quantised dtypes), depth = 1, plane = rows * stride"
)

INSTRUCTIONS = [
    instr(
        "tset",
        "scalar",
        _G,
        0x70,
        "dd, rs1, rows, cols, dtype",
        (
            dreg("dd", A),
            xreg("rs1", B),
            dtype(),
            imm("rows", lo=IMM, width=16, signed=False, min=1),
            imm("cols", lo=IMM + 16, width=16, signed=False, min=1),
        ),
        "set a descriptor from a base register and immediate shape",
        f"dd = (base = x[rs1], rows, cols, dtype); {_DENSE}. Addresses are checked "
        "when an engine uses the descriptor, not here.",
        ("bad_descriptor",),
    ),
    instr(
        "tsetr",
        "scalar",
        _G,
        0x71,
        "dd, rs1, rs2, rs3, dtype",
        (dreg("dd", A), xreg("rs1", B), xreg("rs2", C), xreg("rs3", D), dtype()),
        "set a descriptor with a dynamic shape",
        f"dd = (base = x[rs1], rows = x[rs2], cols = x[rs3], dtype); {_DENSE}. Rows and "
        "cols must be 1..65535.",
        ("bad_descriptor",),
    ),
    instr(
        "tstride",
        "scalar",
        _G,
        0x72,
        "dd, rs1",
        (dreg("dd", A), xreg("rs1", B)),
        "set the row stride from a register",
        "dd.stride = x[rs1] bytes (0..2**32 - 1; 0 repeats one row); plane is unchanged",
        ("bad_descriptor",),
    ),
    instr(
        "tstridei",
        "scalar",
        _G,
        0x73,
        "dd, imm",
        (dreg("dd", A), imm(signed=False)),
        "set the row stride from an immediate",
        "dd.stride = imm bytes; plane is unchanged",
    ),
    instr(
        "tdepth",
        "scalar",
        _G,
        0x74,
        "dd, rs1, rs2",
        (dreg("dd", A), xreg("rs1", B), xreg("rs2", C)),
        "make a descriptor 3-D (DMA only)",
        "dd.depth = x[rs1] (1..65535), dd.plane = x[rs2] bytes: the tile becomes depth "
        "planes of rows x cols, plane p starting at base + p * plane",
        ("bad_descriptor",),
    ),
    instr(
        "taddr",
        "scalar",
        _G,
        0x75,
        "dd, rs1",
        (dreg("dd", A), xreg("rs1", B)),
        "set a descriptor's base address",
        "dd.base = x[rs1]; the shape is kept",
    ),
    instr(
        "taddi",
        "scalar",
        _G,
        0x76,
        "dd, imm",
        (dreg("dd", A), imm()),
        "advance a descriptor's base address",
        "dd.base = dd.base + sext(imm): steps a tile through memory inside a loop",
    ),
    instr(
        "tmov",
        "scalar",
        _G,
        0x77,
        "dd, ds",
        (dreg("dd", A), dreg("ds", B)),
        "copy a descriptor",
        "dd = ds (every field)",
    ),
]

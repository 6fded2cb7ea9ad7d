"""DMA, matrix (MXU), sync and system instructions.

Engine instructions enter their engine's in-order queue when the front end issues them and
execute there; results are defined as if every instruction ran to completion in program
order (the timing model overlaps them only where semaphores make that unobservable, and
the race detector reports programs that rely on anything else).
"""

from __future__ import annotations

from isa.table.formats import (
    COMPUTE_TRAPS,
    A,
    B,
    C,
    F,
    dreg,
    engine,
    flag,
    freg,
    imm,
    instr,
    sem,
    xreg,
)

_CAST = (
    "Elements are converted to the destination dtype as `vcvt` does without `.sat` (round to "
    "nearest even; float overflow gives Inf, or NaN for fp8e4m3; integer destinations "
    "saturate and take 0 for NaN)."
)
_DEQUANT = (
    "A copy between equal dtypes moves the bits unchanged (NaN payloads kept). "
    "A q4_1 source is dequantised per 32-element block as fp32(d) * q + fp32(m) "
    "(q = 0..15, two fp32 roundings, no fused multiply-add), a q8_0 source as fp32(d) * q "
    "(q = -128..127), exactly as GGUF defines them; the result is then converted to the "
    "destination dtype."
)
_TILE_TRAPS = ("out_of_bounds", "misaligned")

DMA = [
    instr(
        "dma.copy",
        "dma",
        "DMA",
        0x80,
        "dd, ds",
        (dreg("dd", A), dreg("ds", B)),
        "copy a 2-D/3-D strided tile between any memories, converting dtype",
        "For every plane p, row i, column j: dd[p, i, j] = convert(ds[p, i, j]). Both "
        "descriptors must have the same depth, rows and cols; they may lie in DRAM, SRAM or "
        "the accumulator memory. " + _CAST + " " + _DEQUANT + " The destination may be "
        "quantised only when the source has the same dtype: the blocks are copied unchanged. "
        "Overlapping source and destination behave as if the whole source were "
        "read first.",
        (*_TILE_TRAPS, "shape_mismatch", "bad_dtype"),
    ),
    instr(
        "dma.gather",
        "dma",
        "DMA",
        0x81,
        "dd, ds, di",
        (dreg("dd", A), dreg("ds", B), dreg("di", C)),
        "gather rows of a table by index (embeddings, KV caches)",
        "di holds dd.rows int32 indices (shape rows x 1 or 1 x rows). For each i, row i of "
        "dd = convert(row di[i] of ds). All three are 2-D (depth 1); ds.cols must equal "
        "dd.cols; ds.rows is the table "
        "length and every index must be in [0, ds.rows). Quantised tables are dequantised "
        "on the fly. " + _CAST + " " + _DEQUANT,
        (*_TILE_TRAPS, "shape_mismatch", "bad_dtype", "index_out_of_range"),
    ),
]

MATRIX = [
    instr(
        "mm",
        "matrix",
        "Matrix unit",
        0x88,
        "dc, da, db",
        (dreg("dc", A), dreg("da", B), dreg("db", C), flag("acc", F), flag("tb", F + 1)),
        "matrix multiply on the 128x128 systolic array: C (+)= A.B",
        "C[M, N] = A[M, K] . B[K, N], or C += A.B with `.acc`. With `.tb` the B tile holds "
        "B transposed (N x K), the layout of PyTorch/GGUF weight matrices. A and B lie in "
        "SRAM with the same dtype: int8, fp8e4m3, fp8e5m2, bf16, fp16 or fp32; C lies in the "
        "accumulator memory and is int32 for int8 inputs, fp32 otherwise. Limits: M <= 128, "
        "K <= 128, N <= 512 (N <= 128 with `.tb`). With `.tb`, B may instead hold GGUF "
        "block-quantised weights (q4_1 or q8_0, whole 32-weight blocks along K) for a bf16 or "
        "fp32 A: the array's weight loader dequantises each block exactly as `dma.copy` does "
        "and converts each weight to A's dtype (bf16: nearest even; fp32: exact), so the "
        "result equals the product with a copy of the dequantised weights in A's dtype; the "
        "loader reads the packed bytes, so the weights load faster than bf16 ones. Integers: "
        "exact products summed with "
        "wrap-around modulo 2**32 into C. Floats: inputs are widened exactly to fp32, "
        "products formed exactly (every product of two widened 8- or 16-bit inputs fits fp32), "
        "and the K products of each output summed with C's previous value (with `.acc`) in "
        "fp32 with round to nearest even; the order of that sum is not specified, and the "
        "partial sums of an `mm.acc` chain into one C tile need not be rounded into C "
        "between its instructions. For fp32 "
        "inputs a product may also be fused with its addition (FMA) rather than rounded "
        "first. The simulator uses the host's BLAS, so float results may differ in the last "
        "bits between hosts. NaN and Inf "
        "propagate as IEEE arithmetic does; there are no float traps.",
        COMPUTE_TRAPS,
    ),
]

SYNC = [
    instr(
        "signal",
        "sync",
        "Synchronisation",
        0x78,
        "engine, sem",
        (engine(), sem("sem", A)),
        "signal a semaphore from an engine's queue",
        "Enters `engine`'s queue; when every earlier instruction of that engine has "
        "completed, sem += 1. With engine `scalar` it takes effect at issue.",
    ),
    instr(
        "wait",
        "sync",
        "Synchronisation",
        0x79,
        "engine, sem",
        (engine(), sem("sem", A)),
        "make an engine's queue wait for a semaphore",
        "Enters `engine`'s queue; later instructions of that engine start only once sem > 0, "
        "and then sem -= 1. With engine `scalar` the front end itself stalls. Programs must "
        "be consistent in program order: the wait is checked when it issues, and a "
        "semaphore at zero then traps (no earlier instruction can ever signal it).",
        ("sem_underflow",),
    ),
    instr(
        "seminit",
        "sync",
        "Synchronisation",
        0x7A,
        "sem, imm",
        (sem("sem", A), imm(signed=False)),
        "set a semaphore's count",
        "sem = imm, at issue, from the front end (initialise before engines use it)",
    ),
    instr(
        "barrier",
        "sync",
        "Synchronisation",
        0x7B,
        "",
        (),
        "wait for every engine to drain",
        "The front end stalls until every engine queue is empty and every operation has "
        "completed; then all memory written by engines is visible to scalar loads.",
    ),
]

SYSTEM = [
    instr(
        "halt",
        "system",
        "System",
        0xF0,
        "",
        (),
        "stop the machine",
        "Waits for every engine to drain (as `barrier`), then stops; the exit status is a0.",
    ),
    instr(
        "ebreak",
        "system",
        "System",
        0xF1,
        "",
        (),
        "breakpoint",
        "Stops with a `breakpoint` trap (debuggers resume after it).",
        ("breakpoint",),
    ),
    instr(
        "print.x",
        "system",
        "System",
        0xF2,
        "rs1",
        (xreg("rs1", A),),
        "debug print of an integer register",
        "Prints `pc: name = value` (decimal and hex) on the simulator's output; no "
        "architectural effect.",
    ),
    instr(
        "print.f",
        "system",
        "System",
        0xF3,
        "fs1",
        (freg("fs1", A),),
        "debug print of an fp32 register",
        "Prints `pc: name = value` (shortest exact decimal and bits); no architectural effect.",
    ),
    instr(
        "print.t",
        "system",
        "System",
        0xF4,
        "ds",
        (dreg("ds", A),),
        "debug print of a tile",
        "Prints the descriptor and the tile it describes as a NumPy array, after waiting for "
        "every engine to drain so the values are final; no other architectural effect.",
        ("out_of_bounds", "misaligned"),
    ),
]

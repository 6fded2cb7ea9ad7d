"""DMA engine: strided 2-D/3-D copies and indexed row gathers between any memories, with dtype
conversion and GGUF dequantisation on the fly (isa/table/engines.py, DMA).

Work is counted in bytes moved: the larger of the bytes read and the bytes written, the side
that limits a transfer (a q4_1 -> bf16 copy writes 3.2x what it reads).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from isa import dtypes
from iss.engines.base import EngineOp, need
from iss.engines.common import convert
from iss.errors import Trap

#: quantised dtype name -> its dequantiser (bytes (..., blocks * block_bytes) -> float32)
DEQUANTISE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "q4_1": dtypes.unpack_q4_1,
    "q8_0": dtypes.unpack_q8_0,
}


def _converted(source: np.ndarray, source_type: dtypes.DType, dtype: dtypes.DType) -> np.ndarray:
    """Source elements in `dtype`: dequantised first if quantised; the same dtype moves as is."""
    if source_type.is_quant:
        return convert(DEQUANTISE[source_type.name](source), dtype)
    return source if source_type == dtype else dtypes.cast(source, dtype)


def _plain_destination(op: EngineOp) -> dtypes.DType:
    dtype = op.dtype("dd")
    need(not dtype.is_quant, "bad_dtype", f"{op.inst.spec.mnemonic}: dd is {dtype.name}; DMA "
         "dequantises but cannot quantise")  # fmt: skip
    return dtype


def copy(op: EngineOp) -> None:
    """dd[p, i, j] = convert(ds[p, i, j]) over every plane, row and column."""
    dtype = _plain_destination(op)
    dst, src = op.desc("dd"), op.desc("ds")
    need((dst.depth, dst.rows, dst.cols) == (src.depth, src.rows, src.cols), "shape_mismatch",
         f"dma.copy: dd is {dst.depth}x{dst.rows}x{dst.cols} but ds is "
         f"{src.depth}x{src.rows}x{src.cols} (depth x rows x cols)")  # fmt: skip
    source = op.tile("ds")
    out = op.out("dd")
    # Every path below builds the converted source before the assignment, and NumPy copies
    # an overlapping source first: the whole source is read before anything is written.
    out[...] = _converted(source, src.type, dtype)
    moved = src.depth * src.rows * max(src.row_bytes, dst.row_bytes)
    op.count(moved)


def gather(op: EngineOp) -> None:
    """Row i of dd = convert(row di[i] of table ds), for i < dd.rows."""
    dtype = _plain_destination(op)
    dst, table, index = op.desc("dd"), op.desc("ds"), op.desc("di")
    need(dst.depth == table.depth == index.depth == 1, "shape_mismatch",
         f"dma.gather: dd, ds and di must be 2-D, depths are {dst.depth}, {table.depth}, "
         f"{index.depth}")  # fmt: skip
    need(index.type.name == "int32", "bad_dtype", f"dma.gather: di is {index.type.name}, "
         "indices are int32")  # fmt: skip
    need(index.shape in ((dst.rows, 1), (1, dst.rows)), "shape_mismatch",
         f"dma.gather: di is {index.rows}x{index.cols}, must be {dst.rows}x1 or 1x{dst.rows} "
         "(one index per dd row)")  # fmt: skip
    need(table.cols == dst.cols, "shape_mismatch", f"dma.gather: ds has {table.cols} cols "
         f"but dd has {dst.cols}")  # fmt: skip
    out = op.out("dd")[0]
    rows = op.tile("di")[0].reshape(-1).astype(np.int64)
    bad = np.flatnonzero((rows < 0) | (rows >= table.rows))
    if bad.size:
        raise Trap("index_out_of_range", f"dma.gather: di[{bad[0]}] = {rows[bad[0]]} is "
                   f"outside the table's rows [0, {table.rows})")  # fmt: skip
    # Read only the span of rows the indices touch, and count only the rows gathered: an
    # embedding lookup or KV-cache read moves a few rows, not the whole table.
    first, last = int(rows.min()), int(rows.max())
    span = table._replace(base=table.base + first * table.stride, rows=last - first + 1)
    source = op.tile("ds", desc=span)[0]
    op.accesses[-1].nbytes = rows.size * table.row_bytes
    out[...] = _converted(source[rows - first], table.type, dtype)  # fancy indexing copies
    op.count(rows.size * max(table.row_bytes, dst.row_bytes))


SEMANTICS: dict[str, Callable[[EngineOp], None]] = {"dma.copy": copy, "dma.gather": gather}


def semantics(mnemonic: str) -> Callable[[EngineOp], None]:
    """The semantics function of DMA mnemonic `mnemonic`; KeyError if there is none."""
    return SEMANTICS[mnemonic]

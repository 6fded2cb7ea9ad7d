"""DMA engine: strided 2-D/3-D copies and indexed row gathers between any memories, with dtype
conversion and GGUF dequantisation on the fly (isa/table/engines.py, DMA).

Work is counted in bytes moved: the larger of the bytes read and the bytes written, the side
that limits a transfer (a q4_1 -> bf16 copy writes 3.2x what it reads).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from isa import dtypes
from iss.engines.base import EngineOp, Semantics, Work
from iss.engines.common import convert, name_of
from iss.errors import Trap
from iss.tiles import Desc


def _converted(source: np.ndarray, source_type: dtypes.DType, dtype: dtypes.DType) -> np.ndarray:
    """Source elements in `dtype`: the same dtype moves as is (quantised blocks too), a
    quantised source is dequantised first."""
    if source_type == dtype:
        return source
    if source_type.is_quant:
        return convert(dtypes.unpack(source, source_type), dtype)
    return dtypes.cast(source, dtype)


def _require_plain_destination(op: EngineOp, dd: Desc, ds: Desc) -> None:
    """bad_dtype for a quantised destination, unless the source holds the same blocks."""
    if dd.type.is_quant and dd.type != ds.type:
        raise Trap("bad_dtype", f"{name_of(op)}: dd is {dd.type.name}; DMA dequantises but "
                   "cannot quantise (it copies blocks of the same dtype unchanged)")  # fmt: skip


def copy(op: EngineOp) -> None:
    """dd[p, i, j] = convert(ds[p, i, j]) over every plane, row and column."""
    dd, ds = op.desc("dd"), op.desc("ds")
    _require_plain_destination(op, dd, ds)
    if (dd.depth, dd.rows, dd.cols) != (ds.depth, ds.rows, ds.cols):
        raise Trap("shape_mismatch", f"dma.copy: dd is {dd.depth}x{dd.rows}x{dd.cols} but ds "
                   f"is {ds.depth}x{ds.rows}x{ds.cols} (depth x rows x cols)")  # fmt: skip
    deferred = op.state.memory.deferred
    lazy = deferred is not None and dd.depth == ds.depth == 1 and dd.type == ds.type
    source = op.tile("ds", desc=ds, touch=not lazy)
    out = op.out("dd", desc=dd, touch=not lazy)
    op.count(ds.depth * ds.rows * max(ds.row_bytes, dd.row_bytes))
    if lazy and deferred.copy(dd, ds):  # iss.deferred: copied when something looks
        return
    if lazy:  # it could not be deferred: make real what the copy reads and overwrites
        deferred.touch_tile(ds, write=False)
        deferred.touch_tile(dd, write=True)
    # Every path below builds the converted source before the assignment, and NumPy copies
    # an overlapping source first: the whole source is read before anything is written.
    move(source, out, ds.type, dd.type)


def move(source: np.ndarray, out: np.ndarray, source_type: dtypes.DType,
         dtype: dtypes.DType) -> None:  # fmt: skip
    """out = source converted from `source_type` to `dtype`: the eager path of dma.copy."""
    out[...] = _converted(source, source_type, dtype)


def bound_move(source: np.ndarray, out: np.ndarray, source_type: dtypes.DType,
               dtype: dtypes.DType) -> Callable[[], None]:  # fmt: skip
    """`move` on these tiles as a call (iss.plans replays a dma.copy with it)."""
    if source_type == dtype:  # the bytes as they are (_converted returns the source)
        return functools.partial(np.copyto, out, source)
    return functools.partial(move, source, out, source_type, dtype)


def _check_gather(dd: Desc, table: Desc, index: Desc) -> None:
    """The descriptor rules of dma.gather (shape_mismatch, bad_dtype for the indices)."""
    if not dd.depth == table.depth == index.depth == 1:
        raise Trap("shape_mismatch", f"dma.gather: dd, ds and di must be 2-D; their depths are "
                   f"{dd.depth}, {table.depth}, {index.depth}")  # fmt: skip
    if index.type.name != "int32":
        raise Trap("bad_dtype", f"dma.gather: di is {index.type.name}; indices are int32")
    if index.shape not in ((dd.rows, 1), (1, dd.rows)):
        raise Trap("shape_mismatch", f"dma.gather: di is {index.rows}x{index.cols}, must be "
                   f"{dd.rows}x1 or 1x{dd.rows} (one index per dd row)")  # fmt: skip
    if table.cols != dd.cols:
        raise Trap("shape_mismatch", f"dma.gather: ds has {table.cols} cols but dd has "
                   f"{dd.cols}")  # fmt: skip


def gather(op: EngineOp) -> Work:
    """Row i of dd = convert(row di[i] of table ds), for i < dd.rows; returns the work, a
    call on the tiles that reads the indices again (iss.plans checks them first)."""
    dd, table, index = op.desc("dd"), op.desc("ds"), op.desc("di")
    _require_plain_destination(op, dd, table)
    _check_gather(dd, table, index)
    indices = op.tile("di", desc=index)[0].reshape(-1)
    rows = indices.astype(np.int64)
    bad = np.flatnonzero((rows < 0) | (rows >= table.rows))
    if bad.size:
        raise Trap("index_out_of_range", f"dma.gather: di[{bad[0]}] = {rows[bad[0]]} is "
                   f"outside the table's rows [0, {table.rows})")  # fmt: skip
    # The access is the whole table, as the engine's hazard checks see it before reading
    # the indices, but counts only the rows gathered: an embedding lookup or KV-cache read
    # moves a few rows, not the whole table. (So the timing of a gather never depends on
    # the index values, which lets iss.plans replay one.)
    source = op.tile("ds", desc=table)[0]
    op.accesses[-1] = replace(op.accesses[-1], nbytes=rows.size * table.row_bytes)
    out = op.out("dd", desc=dd)[0]
    op.count(rows.size * max(table.row_bytes, dd.row_bytes))

    def work() -> None:
        out[...] = _converted(source[indices], table.type, dd.type)  # fancy indexing copies

    work()
    return work


SEMANTICS: dict[str, Semantics] = {"dma.copy": copy, "dma.gather": gather}

#: instructions that read indices from memory: which rows they move, and whether they trap
#: (index_out_of_range), depend on memory contents; iss.plans checks the indices first
INDEXED = frozenset({"dma.gather"})


def indices_fit(indices: np.ndarray, rows: int) -> bool:
    """Whether a gather's `indices` (its di tile) all name one of its table's `rows`: then
    it does not trap."""
    return bool(indices.size == 0 or (indices.min() >= 0 and indices.max() < rows))


def semantics(mnemonic: str) -> Semantics:
    """The semantics function of DMA mnemonic `mnemonic`; KeyError if there is none."""
    return SEMANTICS[mnemonic]

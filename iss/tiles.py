"""Tile descriptors and the NumPy views they describe.

A descriptor is an immutable tuple, so an engine instruction can capture the descriptors it
names when the front end issues it. `TileAccess.view` turns one into a strided NumPy view of
the memory it lies in (no copy), after every check the ISA requires.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from isa import dtypes
from iss.errors import Trap
from iss.memory import Memory

MAX_ROWS = 128  #: rows of any compute-engine operand
MAX_FIELD = 65535  #: rows, cols and depth of any descriptor


class Desc(NamedTuple):
    """A tile descriptor register's contents."""

    base: int
    rows: int
    cols: int
    dtype: int  #: isa.dtypes code
    stride: int  #: bytes between rows
    depth: int = 1
    plane: int = 0  #: bytes between planes (DMA only)

    @property
    def type(self) -> dtypes.DType:
        """The element type."""
        return dtypes.DTYPES[self.dtype]

    @property
    def row_bytes(self) -> int:
        """Bytes of one row's data (cols are whole blocks: every constructor checks that)."""
        block, block_bytes = _BLOCKS[self.dtype]
        return self.cols // block * block_bytes

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.rows, self.cols

    def describe(self) -> str:
        """Human-readable form for traps, traces and the debugger."""
        depth = f"{self.depth}x" if self.depth != 1 else ""
        return (
            f"{depth}{self.rows}x{self.cols} {self.type.name} at {self.base:#x} "
            f"stride {self.stride}"
        )


_BLOCKS = tuple((t.block, t.block_bytes) for t in dtypes.DTYPES)

EMPTY = Desc(0, 1, 1, dtypes.by_name("fp32").code, 4, 1, 4)


def dense(base: int, rows: int, cols: int, dtype_code: int) -> Desc:
    """A densely packed descriptor (what `tset` builds); bad_descriptor on an illegal shape."""
    if not (1 <= rows <= MAX_FIELD and 1 <= cols <= MAX_FIELD):
        raise Trap("bad_descriptor", f"shape {rows}x{cols} outside 1..{MAX_FIELD}")
    dtype = dtypes.DTYPES[dtype_code]
    if cols % dtype.block:
        raise Trap(
            "bad_descriptor",
            f"{dtype.name} rows need a multiple of {dtype.block} columns, got {cols}",
        )
    stride = dtypes.row_bytes(dtype, cols)
    return Desc(base, rows, cols, dtype_code, stride, 1, rows * stride)


def alignment(dtype: dtypes.DType) -> int:
    """Byte alignment of a tile's base and stride: the element size (2 for quantised blocks)."""
    return 2 if dtype.is_quant else dtype.block_bytes


def extent(desc: Desc) -> int:
    """Bytes from the base to the end of the last row of the last plane."""
    return (desc.depth - 1) * desc.plane + (desc.rows - 1) * desc.stride + desc.row_bytes


def place(memory: Memory, desc: Desc, write: bool = True,
          touch: bool = True) -> tuple[str, np.ndarray, int, int]:  # fmt: skip
    """(memory name, its array, offset, extent) of a descriptor's tile, after the alignment
    and bounds checks (misaligned, out_of_bounds); `write` and `touch` go to Memory.locate.

    A kernel's loops name the same few hundred tiles again and again, so the checked
    geometry of each descriptor is kept per memory (descriptors are immutable values).
    """
    known = memory.places.get(desc)
    if known is None:
        align = alignment(desc.type)
        if desc.base % align or desc.stride % align or (desc.depth > 1 and desc.plane % align):
            raise Trap("misaligned", f"tile {desc.describe()} is not {align}-byte aligned")
        size = extent(desc)
        name, array, offset = memory.locate(desc.base, size, touch=False)
        if len(memory.places) >= PLACES_KEPT:
            memory.places.clear()
        known = memory.places[desc] = (name, array, offset, size)
    deferred = memory.deferred
    if touch and deferred is not None and deferred.pending:
        deferred.touch(known[0], known[2], known[2] + known[3], write, desc)
    return known


PLACES_KEPT = 1 << 16  #: descriptors whose geometry a memory remembers


def protection(memory: Memory, desc: Desc) -> str | None:
    """The name of a write-protected range (Memory.protection) a byte of the tile lies in,
    or None: an engine must not write there. Exact for strided tiles, whose extent may
    span a protected range their rows step over."""
    size = extent(desc)
    if memory.protection(desc.base, size) is None:
        return None
    rows, stride, row_bytes = desc.rows, desc.stride, desc.row_bytes
    for start, end, what in memory.protected:
        if end <= desc.base or desc.base + size <= start:
            continue
        for plane in range(desc.depth):
            first = desc.base + plane * desc.plane  # rows r with first + r*stride in
            if stride == 0:  # (start - row_bytes, end) meet the range
                meets = first < end and first + row_bytes > start
            else:
                lo = max(0, (start - row_bytes - first) // stride + 1)
                hi = min(rows - 1, -(-(end - first) // stride) - 1)
                meets = lo <= hi
            if meets:
                return what
    return None


def array_of(desc: Desc, array: np.ndarray, offset: int) -> np.ndarray:
    """The (depth, rows, cols) view of `desc`'s tile at `offset` in memory `array` (cols in
    bytes for quantised dtypes), in the descriptor's storage dtype."""
    dtype = desc.type
    item = 1 if dtype.is_quant else dtype.block_bytes
    return np.ndarray(
        shape=(desc.depth, desc.rows, desc.row_bytes // item),
        dtype=dtype.storage,
        buffer=array,
        offset=offset,
        strides=(desc.plane, desc.stride, item),
    )


def view(memory: Memory, desc: Desc, write: bool = True,
         touch: bool = True) -> tuple[np.ndarray, str, int]:  # fmt: skip
    """(array view, memory name, offset) of a descriptor's tile: `place` then `array_of`."""
    name, array, offset, _ = place(memory, desc, write, touch)
    return array_of(desc, array, offset), name, offset


def disjoint(d: Desc, e: Desc) -> bool:
    """Whether two 2-D tiles with the same row stride provably share no byte: their rows or
    their columns do not meet (side-by-side panels of one matrix interleave in address range
    but not in bytes). False when unsure."""
    stride = d.stride
    if e.stride != stride or d.depth != 1 or e.depth != 1:
        return False
    if d.row_bytes > stride or e.row_bytes > stride:  # rows overlap their neighbours
        return False
    # e's start in d's frame, where d is rows [0, rows) x bytes [0, row_bytes); e's rows may
    # run past the stride into the next row of the frame
    row, col = divmod(e.base - d.base, stride)

    def rows_apart(first: int) -> bool:
        return first + e.rows <= 0 or d.rows <= first

    if not (rows_apart(row) or col >= d.row_bytes):
        return False
    return col + e.row_bytes <= stride or rows_apart(row + 1)


def covers(d: Desc, e: Desc) -> bool:
    """Whether every byte of 2-D tile `e` is a byte of 2-D tile `d` (same memory assumed):
    e's rows lie in d's rows and columns. False when unsure (another row stride)."""
    if d.depth != 1 or e.depth != 1 or d.stride <= 0 or (e.rows > 1 and e.stride != d.stride):
        return False
    row, col = divmod(e.base - d.base, d.stride)
    return row >= 0 and row + e.rows <= d.rows and col + e.row_bytes <= d.row_bytes

"""What an engine's semantics function sees: `EngineOp`, one executing engine instruction.

Semantics functions (`def vadd(op): ...`) read their operands through `op` — tiles as NumPy
views with every ISA check applied, scalar registers as values — and write results into the
views `op.out(...)` returns. `op` records which bytes were read and written in which memory
and how much work was done; the timing, energy and race models read that record and never
look inside the semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from isa import dtypes
from isa.encoding import Inst
from iss import tiles
from iss.errors import Trap
from iss.tiles import Desc

if TYPE_CHECKING:
    from iss.state import MachineState

#: an instruction's data work as a call on the tiles its semantics resolved: what a
#: semantics function may return (iss.engines), for iss.plans to repeat
Work = Callable[[], None]

COMPUTE_ENGINES = frozenset({"matrix", "vector", "activation"})

#: memories each engine may address with its tile operands
ENGINE_MEMORIES = {
    "dma": frozenset({"dram", "sram", "acc"}),
    "matrix": frozenset({"sram", "acc"}),
    "vector": frozenset({"sram", "acc"}),
    "activation": frozenset({"sram", "acc"}),
    "system": frozenset({"dram", "sram", "acc"}),
}


@dataclass(frozen=True)
class Access:
    """One byte range an instruction touched: memory, [lo, hi) offsets, and how. Immutable:
    the same record serves every access to the same tile (EngineOp.claim keeps them)."""

    memory: str
    lo: int
    hi: int
    write: bool
    nbytes: int  #: bytes actually moved (a strided tile moves less than hi - lo)
    array: np.ndarray | None = field(default=None, repr=False)  #: the memory's bytes
    desc: Desc | None = field(default=None, repr=False)  #: the tile, for exact overlap tests
    #: the tile as a (depth, rows, cols) view of `array` (tiles.array_of), made once
    view: np.ndarray | None = field(default=None, repr=False)

    def meets(self, other: Access) -> bool:
        """Whether the two accesses may share a byte: same memory and overlapping ranges,
        unless both are tiles with one row stride whose rows or columns do not meet."""
        if self.memory != other.memory or self.hi <= other.lo or other.hi <= self.lo:
            return False
        d, e = self.desc, other.desc
        return d is None or e is None or not tiles.disjoint(d, e)


@dataclass(slots=True)
class EngineOp:
    """One engine instruction being executed, with its record of accesses and work."""

    state: MachineState
    inst: Inst
    pc: int
    engine: str
    accesses: list[Access] = field(default_factory=list)
    work: int = 0  #: MACs (matrix) or elements (vector, activation); bytes for DMA
    work_dtype: str | None = None  #: the dtype that sets the matrix unit's rate
    shape: tuple[int, ...] = ()  #: (M, K, N) of a matrix multiply, for the timing model
    weight_bytes: int = 0  #: bytes of block-quantised weights the MXU's loader reads, or 0

    # -- operands ---------------------------------------------------------------------------
    def desc(self, name: str) -> Desc:
        """The descriptor named by operand `name`."""
        return self.state.D[self.inst[name]]

    def x(self, name: str) -> int:
        """Integer register operand as a signed 64-bit value."""
        v = self.state.X[self.inst[name]]
        return v - (1 << 64) if v >> 63 else v

    def f(self, name: str) -> np.float32:
        """fp32 register operand."""
        return np.uint32(self.state.F[self.inst[name]]).view(np.float32)

    def imm(self, name: str) -> int:
        """Immediate operand."""
        return self.inst[name]

    def flag(self, name: str) -> bool:
        """Whether the flag suffix `name` is set."""
        return bool(self.inst[name])

    # -- tiles --------------------------------------------------------------------------------
    def claim(
        self,
        name: str,
        *,
        write: bool = False,
        max_rows: int | None = tiles.MAX_ROWS,
        desc: Desc | None = None,
        touch: bool = True,
    ) -> Access:
        """Check and record an access to the tile of descriptor operand `name`.

        Checks the memory is one this engine may use, and for compute engines the row limit
        and depth 1. Semantics that defer their work (iss.deferred) pass touch=False and
        settle with the deferred state themselves.
        """
        d = desc if desc is not None else self.desc(name)
        memory = self.state.memory
        key = (d, self.engine, write, max_rows)
        known = memory.claims.get(key)  # the checks depend on nothing else: keep the result
        if known is None:
            if len(memory.claims) >= tiles.PLACES_KEPT:
                memory.claims.clear()
            known = memory.claims[key] = self._check(name, d, write, max_rows)
        deferred = memory.deferred
        if touch and deferred is not None and deferred.pending:
            deferred.touch(known.memory, known.lo, known.hi, write, d)
        if memory.observer is not None:
            memory.observer(known, d)
        self.accesses.append(known)
        return known

    def _check(self, name: str, d: Desc, write: bool, max_rows: int | None) -> Access:
        """The access `claim` records, after every check (traps raise)."""
        if self.engine in COMPUTE_ENGINES:
            if d.depth != 1:
                raise Trap("tile_too_large", f"{name}: depth {d.depth}; only DMA tiles are 3-D")
            if max_rows is not None and d.rows > max_rows:
                raise Trap("tile_too_large", f"{name}: {d.rows} rows, at most {max_rows}")
        memory, array, offset, size = tiles.place(self.state.memory, d, write, touch=False)
        if memory not in ENGINE_MEMORIES[self.engine]:
            raise Trap(
                "bad_memory", f"{name}: {self.engine} cannot use {memory} (tile {d.describe()})"
            )
        if write and (what := tiles.protection(self.state.memory, d)) is not None:
            raise Trap("out_of_bounds", f"{name}: tile {d.describe()} writes the read-only "
                       f"{what}")  # fmt: skip
        nbytes = d.depth * d.rows * d.row_bytes
        view = tiles.array_of(d, array, offset)
        return Access(memory, offset, offset + size, write, nbytes, array, d, view)

    def tile(self, name: str, *, desc: Desc | None = None, **kw) -> np.ndarray:
        """The tile of descriptor operand `name` as a view (after `claim`); 2-D unless the
        engine is DMA."""
        d = desc if desc is not None else self.desc(name)
        array = self.claim(name, desc=d, **kw).view
        return array[0] if self.engine in COMPUTE_ENGINES else array

    def out(self, name: str, **kw) -> np.ndarray:
        """The destination tile of operand `name` (a writable view)."""
        return self.tile(name, write=True, **kw)

    def dtype(self, name: str) -> dtypes.DType:
        """The element type of descriptor operand `name`."""
        return self.desc(name).type

    def count(self, work: int, dtype: str | None = None) -> None:
        """Record the instruction's work (MACs or elements) for the timing and energy model."""
        self.work += work
        if dtype is not None:
            self.work_dtype = dtype


def need(condition: bool, kind: str, reason: str) -> None:
    """Raise Trap(kind, reason) unless `condition` holds: keeps semantics functions flat."""
    if not condition:
        raise Trap(kind, reason)


#: a semantics function: executes the instruction on `op`, may return its Work
Semantics = Callable[[EngineOp], Work | None]

"""The three J1 memories as NumPy byte arrays, and bounds-checked access to them.

DRAM is allocated with np.zeros, which the OS backs lazily: a 1 GiB DRAM costs only the
pages a program touches. Addresses follow isa.memmap: each memory sits in its own 4 GiB
window, and an access must lie wholly inside one memory.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from isa.machine import Machine
from isa.memmap import REGION_SPAN, REGIONS
from iss.errors import Trap
from iss.weights import WeightCache

if TYPE_CHECKING:
    from iss.deferred import Deferred

#: memory names by address >> WINDOW_BITS: each memory owns one 4 GiB window of the map
WINDOWS = tuple(REGIONS)
WINDOW_BITS = REGION_SPAN.bit_length() - 1
assert all(base == i << WINDOW_BITS for i, base in enumerate(REGIONS.values()))


def window_of(address: int) -> tuple[str, int]:
    """(memory name, offset) of an absolute address; out_of_bounds outside every memory."""
    window = address >> WINDOW_BITS
    if not 0 <= window < len(WINDOWS):
        raise Trap("out_of_bounds", f"address {address:#x} is in no memory")
    return WINDOWS[window], address - (window << WINDOW_BITS)


# width in bytes -> (unsigned, signed) little-endian struct formats
_FORMATS = {
    n: (struct.Struct("<" + u), struct.Struct("<" + s))
    for n, u, s in ((1, "B", "b"), (2, "H", "h"), (4, "I", "i"), (8, "Q", "q"))
}


class Memory:
    """DRAM, SRAM and accumulator memory of one machine."""

    def __init__(self, machine: Machine) -> None:
        self.sizes = {
            "dram": machine.dram.size_bytes,
            "sram": machine.sram.size_bytes,
            "acc": machine.acc.size_bytes,
        }
        self.arrays = {name: np.zeros(size, dtype=np.uint8) for name, size in self.sizes.items()}
        self.dram = self.arrays["dram"]
        #: write-protected address ranges (start, end, what), sorted and disjoint: the
        #: program's stores and engine writes there trap; the host may write them (`protect`)
        self.protected: tuple[tuple[int, int, str], ...] = ()
        self._starts: list[int] = []
        #: bumped when the host writes protected memory: what the program reads there is
        #: constant between bumps (iss.plans relies on it)
        self.generation = 0
        #: matrix products not yet evaluated (iss.deferred); None when deferral is off
        self.deferred: Deferred | None = None
        self.places: dict = {}  #: checked tile geometry by descriptor (iss.tiles.place)
        self.claims: dict = {}  #: checked engine accesses (iss.engines.base.EngineOp.claim)
        self.weights = WeightCache()  #: the MXU loader's dequantised weights (iss.engines.matrix)
        #: called as observer(access, desc) before an engine touches a tile (a debugger's
        #: undo log and watchpoints); None costs one check per tile operand
        self.observer = None

    def locate(self, address: int, nbytes: int, write: bool = True,
               touch: bool = True) -> tuple[str, np.ndarray, int]:  # fmt: skip
        """(memory name, its array, offset) for [address, address + nbytes), or out_of_bounds.

        Every access goes through here, so this is where deferred work (iss.deferred) that
        the access would observe, or whose sources a write would overwrite, is made real
        first; `write` says which the caller does. Only iss.deferred itself, which keeps its
        own books, passes touch=False.
        """
        name, offset = window_of(address)
        if offset + nbytes > self.sizes[name]:
            raise Trap(
                "out_of_bounds",
                f"{nbytes} bytes at {address:#x} run past the "
                f"end of {name} ({self.sizes[name]:#x} bytes)",
            )
        deferred = self.deferred
        if touch and deferred is not None and deferred.pending:
            deferred.touch(name, offset, offset + nbytes, write)
        return name, self.arrays[name], offset

    def load(self, address: int, nbytes: int, signed: bool, pc: int = 0) -> int:
        """A little-endian scalar load (naturally aligned); `pc` is for observers."""
        if address & (nbytes - 1):
            raise Trap("misaligned", f"{nbytes}-byte load from {address:#x}")
        _, array, offset = self.locate(address, nbytes, write=False)
        return _FORMATS[nbytes][signed].unpack_from(array, offset)[0]

    def store(self, address: int, nbytes: int, value: int, pc: int = 0) -> None:
        """A little-endian scalar store of the low `nbytes` of `value` (naturally aligned)."""
        array, offset = self._store_place(address, nbytes)
        _FORMATS[nbytes][False].pack_into(array, offset, value & ((1 << (8 * nbytes)) - 1))

    def bound_store(self, address: int, nbytes: int) -> Callable[[int], None]:
        """`store` to this address as a call that takes the value, its checks made (and
        deferred work there settled) now: iss.plans replays scalar stores with these."""
        array, offset = self._store_place(address, nbytes)
        pack, mask = _FORMATS[nbytes][False].pack_into, (1 << (8 * nbytes)) - 1
        return lambda value: pack(array, offset, value & mask)

    def _store_place(self, address: int, nbytes: int) -> tuple[np.ndarray, int]:
        """(array, offset) a scalar store writes, after its checks."""
        if address & (nbytes - 1):
            raise Trap("misaligned", f"{nbytes}-byte store to {address:#x}")
        what = self.protection(address, nbytes)
        if what is not None:
            raise Trap("out_of_bounds", f"store to {address:#x} in the read-only {what}")
        _, array, offset = self.locate(address, nbytes)
        return array, offset

    # -- write protection -------------------------------------------------------------------
    def protect(self, ranges: Iterable[tuple[int, int, str]]) -> None:
        """Write-protect [start, end) address ranges, each named for traps (".text", ".weight
        attn_q"), replacing the ranges protected before. Checked engine accesses are
        forgotten: an engine write is checked when its access is first claimed."""
        merged: list[tuple[int, int, str]] = []
        for start, end, what in sorted(r for r in ranges if r[1] > r[0]):
            if merged and start < merged[-1][1]:  # overlapping: one range, the first name
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2])
            else:
                merged.append((start, end, what))
        if tuple(merged) == self.protected:
            return
        self.protected = tuple(merged)
        self._starts = [start for start, _, _ in merged]
        self.claims.clear()

    def protection(self, address: int, nbytes: int) -> str | None:
        """The name of a protected range [address, address + nbytes) meets, or None."""
        # the ranges are disjoint, so their ends ascend too: only the last range starting
        # before the access ends can reach into it
        i = bisect_right(self._starts, address + nbytes - 1) - 1
        if i >= 0 and address < self.protected[i][1]:
            return self.protected[i][2]
        return None

    def constant(self, address: int, nbytes: int) -> bool:
        """Whether [address, address + nbytes) lies wholly in one protected range: the
        program cannot change it, so it holds what it held until `generation` changes."""
        i = bisect_right(self._starts, address) - 1
        return i >= 0 and address + nbytes <= self.protected[i][1]

    def read_bytes(self, address: int, nbytes: int) -> bytes:
        """Raw bytes (for loaders, debuggers and the runtime API; no alignment rule)."""
        _, array, offset = self.locate(address, nbytes, write=False)
        return array[offset : offset + nbytes].tobytes()

    def write_bytes(self, address: int, data: bytes) -> None:
        """Raw bytes, any bytes-like object (for loaders, debuggers and the runtime API;
        ignores write protection, and counts a write to protected memory in `generation`)."""
        _, array, offset = self.locate(address, len(data))
        if self.protection(address, len(data)) is not None:
            self.generation += 1
        array[offset : offset + len(data)] = np.frombuffer(data, dtype=np.uint8)

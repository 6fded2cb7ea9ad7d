"""Where things are: gdb-style locations to addresses through the program's symbols and line
table, and absolute addresses to the memory and byte ranges they name."""

from __future__ import annotations

import bisect

from isa.elf import Program
from iss import tiles
from iss.memory import window_of


class DebugError(ValueError):
    """A request the engine cannot carry out (unknown location, nothing to finish, …)."""


class Locations:
    """The symbols and line table of one program, for resolving and naming addresses."""

    def __init__(self, program: Program, text: tuple[int, int]) -> None:
        self.program = program
        #: (file, line) by instruction address
        self.lines = {entry.address: (entry.file, entry.line) for entry in program.lines}
        self._functions = sorted(
            (s.value, s.name) for s in program.symbols if text[0] <= s.value < text[1]
        )

    def resolve(self, text: str) -> int:
        """An address, as gdb reads a location: `*ADDRESS` or `0x…` (an address), `N` (line
        N of the entry's file), `file:N`, `label` or `label+offset`. DebugError if it
        names nothing."""
        text = text.strip()
        star = text.startswith("*")
        text = text.lstrip("*").strip()
        if star or text[:2].lower() == "0x":
            try:
                return int(text, 0)
            except ValueError:
                raise DebugError(f"bad address {text!r}") from None
        if ":" in text or text.isdigit():
            file, _, line = text.rpartition(":")
            addresses = self.line_addresses(file or None, int(line)) if line.isdigit() else []
            if not addresses:
                raise DebugError(f"no code at line {text}")
            return addresses[0]
        name, plus, offset = text.partition("+")
        symbol = self.program.symbol(name.strip())
        if symbol is None:
            raise DebugError(f"no symbol {name.strip()!r}")
        try:
            return symbol.value + (int(offset, 0) if plus else 0)
        except ValueError:
            raise DebugError(f"bad offset in {text!r}") from None

    def line_addresses(self, file: str | None, line: int) -> list[int]:
        """Addresses of the instructions from `file:line` (file matched by its end; None:
        the file of the entry point), in address order."""
        if file is None:
            file = self.lines.get(self.program.entry, ("", 0))[0]
        return sorted(
            a for a, (f, n) in self.lines.items()
            if n == line and (f == file or f.endswith("/" + file))
        )  # fmt: skip

    def function_of(self, pc: int) -> str | None:
        """`label+offset` of the nearest text symbol at or before `pc`."""
        i = bisect.bisect_right(self._functions, (pc, "\uffff")) - 1
        if i < 0:
            return None
        value, name = self._functions[i]
        return name if value == pc else f"{name}+{pc - value:#x}"


def place(address: int, nbytes: int) -> tuple[str, int, int]:
    """(memory, lo, hi) offsets of an absolute range (Trap when outside every memory)."""
    name, lo = window_of(address)
    return name, lo, lo + max(1, nbytes)


def tile_ranges(d: tiles.Desc) -> tuple[tuple[int, int], ...]:
    """The absolute byte ranges of a tile's rows (merged where rows are contiguous)."""
    ranges: list[tuple[int, int]] = []
    for plane in range(d.depth):
        for row in range(d.rows):
            lo = d.base + plane * d.plane + row * d.stride
            if ranges and ranges[-1][1] == lo:
                ranges[-1] = (ranges[-1][0], lo + d.row_bytes)
            else:
                ranges.append((lo, lo + d.row_bytes))
    return tuple(ranges)

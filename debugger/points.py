"""The debugger engine's records: breakpoints, watchpoints, stops, frames, performance.

Plain data, so the command layer prints them and tests compare them. Numbers are shared by
breakpoints and watchpoints, as in gdb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from iss.errors import Trap

#: every kind of Stop.kind, for the command layer's parseable output
STOP_KINDS = (
    "breakpoint", "watchpoint", "step", "finish", "until", "halted", "trap", "race",
    "interrupted", "history-start", "nan", "limit",
)  # fmt: skip


@dataclass
class Breakpoint:
    """Stop when the pc reaches `address` (before that instruction executes).

    `condition` is called with no argument when the breakpoint is reached and stops only
    if it returns true (an exception counts as true, so a broken condition is noticed);
    `ignore` hits are skipped first; a `temporary` breakpoint deletes itself when it stops.
    """

    number: int
    address: int
    condition: Callable[[], bool] | None = None
    condition_text: str = ""  #: the condition as the user wrote it, for listings
    ignore: int = 0
    temporary: bool = False
    enabled: bool = True
    hits: int = 0


@dataclass
class Watchpoint:
    """Stop after an instruction writes (`write`), reads (`read`) or touches (`access`)
    the watched location: a register (`register` = ("x"|"f"|"d"|"sem", index)) or memory
    byte ranges (`ranges` of absolute [lo, hi) addresses, e.g. a tile's rows). A write
    watchpoint stops only when the value changes."""

    number: int
    kind: str  #: write, read or access
    what: str  #: how the user named it, for listings
    register: tuple[str, int] | None = None
    ranges: tuple[tuple[int, int], ...] = ()
    condition: Callable[[], bool] | None = None
    enabled: bool = True
    hits: int = 0
    value: object = None  #: the value last seen

    def overlaps(self, lo: int, hi: int) -> bool:
        """Whether [lo, hi) touches a watched byte."""
        return any(lo < r_hi and hi > r_lo for r_lo, r_hi in self.ranges)


@dataclass(frozen=True)
class Stop:
    """Why and where a run or step stopped.

    kind: one of STOP_KINDS; pc and instret: the machine now (for a breakpoint, before the
    instruction at pc; for a watchpoint or nan, after the instruction at `at`); number: the
    breakpoint or watchpoint; old/new: a watched value before and after (int for registers,
    bytes for memory); trap: the Trap (kind, reason, pc, location) or race error.
    """

    kind: str
    pc: int
    instret: int
    number: int | None = None
    at: int | None = None  #: address of the instruction that caused a watchpoint/nan stop
    old: object = None
    new: object = None
    trap: Exception | None = None
    detail: str = ""

    def line(self) -> str:
        """One parseable line: `stop <kind> pc=0x… instret=N [number=…] [at=0x…] [detail]`."""
        parts = [f"stop {self.kind}", f"pc={self.pc:#x}", f"instret={self.instret}"]
        if self.number is not None:
            parts.append(f"number={self.number}")
        if self.at is not None:
            parts.append(f"at={self.at:#x}")
        if isinstance(self.trap, Trap):
            parts.append(f"trap={self.trap.kind}")
        if self.detail:
            parts.append(self.detail)
        return " ".join(parts)


@dataclass(frozen=True)
class Frame:
    """One call on the call stack, from `jal`/`jalr` with rd = ra."""

    call_pc: int
    return_address: int
    sp: int  #: the stack pointer at the call
    call_instret: int  #: instruction count of the call (reverse-finish goes back to it)
    target: int  #: the callee's entry


@dataclass(frozen=True)
class PerfSample:
    """Counters at one moment; subtracting two gives a region's cost."""

    instret: int
    cycles: int
    busy: dict[str, int]  #: occupancy cycles per engine
    ops: dict[str, int]  #: instructions per engine
    energy_j: float

    def __sub__(self, other: PerfSample) -> PerfSample:
        return PerfSample(
            self.instret - other.instret, self.cycles - other.cycles,
            {k: v - other.busy.get(k, 0) for k, v in self.busy.items()},
            {k: v - other.ops.get(k, 0) for k, v in self.ops.items()},
            self.energy_j - other.energy_j,
        )  # fmt: skip

    def __add__(self, other: PerfSample) -> PerfSample:
        return PerfSample(
            self.instret + other.instret, self.cycles + other.cycles,
            {k: v + other.busy.get(k, 0) for k, v in self.busy.items()},
            {k: v + other.ops.get(k, 0) for k, v in self.ops.items()},
            self.energy_j + other.energy_j,
        )  # fmt: skip

    def utilisation(self) -> dict[str, float]:
        """Busy fraction of each engine over these cycles."""
        return {k: (v / self.cycles if self.cycles else 0.0) for k, v in self.busy.items()}


@dataclass
class PerfRegion:
    """Totals between `start` and `end` addresses over a whole run: each time the pc
    reaches `start` a measurement opens, reaching `end` closes it and adds it up."""

    start: int
    end: int
    entries: int = 0
    total: PerfSample | None = None
    open: PerfSample | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EngineOpRecord:
    """One engine instruction on its timeline, kept for `info engines`."""

    pc: int
    text: str
    start: int  #: cycle it started
    busy_until: int  #: cycle its occupancy ends
    done_by: int  #: cycle by which it (and all earlier work of its engine) completed


@dataclass(frozen=True)
class EngineInfo:
    """One engine's queue and timeline at a stop."""

    name: str
    now: int  #: the front end's issue cycle
    busy: int
    ops: int
    free_at: int
    done_at: int
    recent: tuple[EngineOpRecord, ...]  #: the last few ops, oldest first

    @property
    def in_flight(self) -> tuple[EngineOpRecord, ...]:
        """Ops not yet complete at `now` (queued or executing)."""
        return tuple(r for r in self.recent if r.done_by > self.now)

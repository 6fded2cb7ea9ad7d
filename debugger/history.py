"""The execution history behind reverse execution: checkpoints plus an undo log of memory.

rr-style: going back to instruction N restores the nearest checkpoint at or before N and
runs forward again, which is deterministic. A checkpoint copies the small state (registers,
semaphores, hardware loops, pc, counters, the timing model, the race detector and whatever
the debugger engine keeps per run); memory is far too large to copy, so every 4 KiB page is
saved once, before its first write after each checkpoint (copy-on-write pre-images). Undoing
the pre-images of the intervals after checkpoint c, newest first, leaves memory as it was
at c.

The memory budget is soft: over it, old checkpoints are thinned (an interval merges into the
one before it, keeping that one's older pre-image of each page), and only when two are left
does the oldest go — so the reachable history shrinks gradually instead of refusing to run.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from isa.memmap import REGIONS
from iss.core import Core
from iss.memory import WINDOW_BITS, WINDOWS

PAGE_BITS = 12
PAGE = 1 << PAGE_BITS
DEFAULT_BUDGET = 256 << 20  #: bytes of history kept by default
SNAPSHOT_BYTES = 4096  #: what one checkpoint's copied registers and models cost, roughly
REPLAY_SECONDS = 0.05  #: re-execution time one checkpoint interval should take
MIN_INTERVAL, MAX_INTERVAL = 2_000, 2_000_000  #: instructions between checkpoints
_RACE_FIELDS = ("clocks", "tokens", "records", "races", "_seen", "_ops")
_PAGE_WINDOW_SHIFT = WINDOW_BITS - PAGE_BITS


@dataclass
class Checkpoint:
    """The machine at `instret`, and the pre-images of pages first written after it."""

    instret: int
    registers: tuple
    timing: tuple
    race: dict | None
    extra: object  #: the debugger engine's own per-run state (call stack, perf regions)
    pages: dict[int, bytes] = field(default_factory=dict)  #: page number -> bytes before


class History:
    """Checkpoints and page pre-images of one core's run, within a memory budget."""

    def __init__(self, core: Core, budget: int = DEFAULT_BUDGET,
                 save_extra: Callable[[], object] = lambda: None,
                 load_extra: Callable[[object], None] = lambda extra: None,
                 interval: int | None = None) -> None:  # fmt: skip
        """`interval`: instructions between checkpoints, fixed (tests); None adapts it."""
        self.core, self.budget, self.fixed_interval = core, budget, interval
        self.save_extra, self.load_extra = save_extra, load_extra
        memory = core.state.memory
        self._arrays = [memory.arrays[name] for name in WINDOWS]
        self._base_page = {name: base >> PAGE_BITS for name, base in REGIONS.items()}
        self.clear()

    # -- bookkeeping ------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything and checkpoint the present."""
        self.checkpoints: list[Checkpoint] = []
        self.page_bytes = 0  #: bytes of pre-images held
        self.interval = self.fixed_interval or MIN_INTERVAL * 5
        self.checkpoint()

    @property
    def start(self) -> int:
        """The earliest instruction count the history can go back to."""
        return self.checkpoints[0].instret

    @property
    def bytes_used(self) -> int:
        """Bytes the history holds (pre-images plus checkpoint copies, estimated)."""
        return self.page_bytes + SNAPSHOT_BYTES * len(self.checkpoints)

    def steps_kept(self) -> int:
        """Instructions of history reachable backwards from now."""
        return self.core.state.instret - self.start

    # -- recording --------------------------------------------------------------------------
    def save_page(self, page: int) -> None:
        """Keep page `page` (absolute address >> 12) as it is, before its first write in
        this interval. Pages in no memory are ignored: the access traps anyway."""
        window = page >> _PAGE_WINDOW_SHIFT
        if window >= len(self._arrays):
            return
        offset = (page - (window << _PAGE_WINDOW_SHIFT)) << PAGE_BITS
        data = self._arrays[window][offset : offset + PAGE].tobytes()
        self.pages[page] = data
        self.page_bytes += len(data)
        if self.page_bytes + SNAPSHOT_BYTES * len(self.checkpoints) > self.budget:
            self.next_at = 0  # checkpoint at the next block boundary, then thin

    def save_range(self, memory: str, lo: int, hi: int) -> None:
        """Pre-images of every page of [lo, hi) in `memory` not yet saved this interval."""
        base, pages = self._base_page[memory], self.pages
        for page in range(base + (lo >> PAGE_BITS), base + ((hi - 1) >> PAGE_BITS) + 1):
            if page not in pages:
                self.save_page(page)

    def checkpoint(self) -> None:
        """Copy the small state now; later page writes are logged against this checkpoint."""
        now, state = time.perf_counter(), self.core.state
        if self.checkpoints:
            # adapt the interval so that replaying one takes about REPLAY_SECONDS
            last = self.checkpoints[-1]
            steps, seconds = state.instret - last.instret, now - self._started
            if steps > 0 and seconds > 0 and self.fixed_interval is None:
                wanted = int(steps / seconds * REPLAY_SECONDS)
                self.interval = max(MIN_INTERVAL, min(MAX_INTERVAL, wanted))
            if last.instret == state.instret and not last.pages:
                self.checkpoints.pop()  # nothing happened since: replace it
        saved = _save_registers(state), self._save_timing(), self._save_race()
        self.checkpoints.append(Checkpoint(state.instret, *saved, self.save_extra()))
        self.pages = self.checkpoints[-1].pages  #: pre-images of the interval running now
        self._started = time.perf_counter()
        self.next_at = state.instret + self.interval
        self._thin()

    def _thin(self) -> None:
        """Drop checkpoints until the history fits its budget (the present always stays)."""
        while self.bytes_used > self.budget and len(self.checkpoints) > 1:
            if len(self.checkpoints) <= 2:
                gone = self.checkpoints.pop(0)  # the oldest history goes
                self.page_bytes -= sum(map(len, gone.pages.values()))
                continue
            now = self.core.state.instret
            # merge where the resulting gap is smallest relative to its age: old history
            # ends up sparse, recent history dense
            points = self.checkpoints
            k = min(
                range(1, len(points) - 1),
                key=lambda i: (
                    (points[i + 1].instret - points[i - 1].instret) / (now - points[i].instret + 1)
                ),
            )
            gone, before = points.pop(k), points[k - 1]
            for page, data in gone.pages.items():
                if page in before.pages:  # the older pre-image is the one to keep
                    self.page_bytes -= len(data)
                else:
                    before.pages[page] = data

    # -- going back -------------------------------------------------------------------------
    def restore(self, instret: int) -> Checkpoint:
        """Put the machine back at the latest checkpoint at or before `instret` (or the
        oldest one) and forget the history after it; the caller replays forward."""
        points = self.checkpoints
        index = max((i for i, c in enumerate(points) if c.instret <= instret), default=0)
        for later in reversed(points[index:]):
            self._undo(later.pages)
        for later in points[index + 1 :]:
            self.page_bytes -= sum(map(len, later.pages.values()))
        del points[index + 1 :]
        point = points[index]
        self.page_bytes -= sum(map(len, point.pages.values()))
        point.pages = self.pages = {}
        _load_registers(self.core.state, point.registers)
        self._load_timing(point.timing)
        self._load_race(point.race)
        self.load_extra(point.extra)
        self._started = time.perf_counter()
        self.next_at = point.instret + self.interval
        return point

    def _undo(self, pages: dict[int, bytes]) -> None:
        for page, data in pages.items():
            window = page >> _PAGE_WINDOW_SHIFT
            offset = (page - (window << _PAGE_WINDOW_SHIFT)) << PAGE_BITS
            self._arrays[window][offset : offset + len(data)] = memoryview(data)

    # -- the models -------------------------------------------------------------------------
    def _save_timing(self) -> tuple:
        t = self.core.timing
        events = None if t.events is None else len(t.events)
        return copy.deepcopy((t.engines, t.tokens, t.stats)), t.stall, events

    def _load_timing(self, saved: tuple) -> None:
        t = self.core.timing
        (t.engines, t.tokens, t.stats), t.stall, events = copy.deepcopy(saved[0]), *saved[1:]
        if events is not None and t.events is not None:
            del t.events[events:]

    def _save_race(self) -> dict | None:
        race = self.core.race
        if race is None:
            return None
        return copy.deepcopy({name: getattr(race, name) for name in _RACE_FIELDS})

    def _load_race(self, saved: dict | None) -> None:
        if saved is not None:
            for name, value in copy.deepcopy(saved).items():
                setattr(self.core.race, name, value)


def _save_registers(state) -> tuple:
    return (
        list(state.X), list(state.F), list(state.D), list(state.sems), state.scratch,
        [list(loop) for loop in state.loops], state.pc, state.instret, state.halted,
        state.exit_code,
    )  # fmt: skip


def _load_registers(state, saved: tuple) -> None:
    # the lists are updated in place: translated blocks and views hold them
    x, f, d, sems, state.scratch, loops, state.pc, state.instret, state.halted, exit_code = saved
    state.X[:], state.F[:], state.D[:], state.sems[:] = x, f, d, sems
    state.loops[:] = [list(loop) for loop in loops]
    state.exit_code = exit_code

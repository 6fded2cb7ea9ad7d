"""The debugger engine: breakpoints, watchpoints, stepping and reverse execution. No I/O.

Speed comes from never observing instructions one by one. Translated blocks run as in
`jrun`; the engine asks the translator to start blocks at the few addresses it must see
(breakpoints, call and return instructions, perf regions, the instruction after each writer
of a watched register) and checks those between blocks. A block that loops back to its own
start asks the engine at each iteration through `Translator.hooks`, so a conditional
breakpoint inside a tight loop costs one condition call per iteration and nothing more.
Memory writes reach the engine through a wrapped scalar `store` and `Memory.observer` (tile
operands): that is where history pre-images are saved and memory watchpoints fire — by
raising out of the block after the write, which the engine then locates exactly as the core
locates a trap.

Every run or step returns a `Stop`. Reverse execution restores a checkpoint of the
`History` and replays forward (quietly: program output is not repeated).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from debugger.history import DEFAULT_BUDGET, History
from debugger.locations import DebugError, Locations, place, tile_ranges
from debugger.points import (
    Breakpoint,
    EngineInfo,
    EngineOpRecord,
    Frame,
    PerfRegion,
    PerfSample,
    Stop,
    Watchpoint,
)
from isa import EncodingError, decode
from isa.memmap import REGIONS
from isa.registers import XREG_NAMES
from iss import tiles
from iss.core import _blas_threads, _loop_back
from iss.errors import Trap
from iss.race import RaceError
from iss.runtime import Simulator
from iss.scalar import TEMPLATES
from iss.translate import Block

RA, SP = XREG_NAMES["ra"], XREG_NAMES["sp"]
MAX_ITERATIONS = 1 << 14  #: self-loop iterations per block call, so Ctrl-C is noticed
RECENT_OPS = 8  #: engine ops kept per engine for `info engines`
_REGISTER_FIELDS = {"x": "rd", "f": "fd", "d": "dd"}
_FLOAT_KINDS = "f"


class _WatchStop(Exception):  # a control-flow signal, not an error
    """Raised out of a translated block to stop at the instruction at `pc`."""

    def __init__(self, pc: int, stop_kind: str, number: int | None, old=None, new=None,
                 before: bool = False, detail: str = "") -> None:  # fmt: skip
        super().__init__(stop_kind)
        self.pc, self.stop_kind, self.number = pc, stop_kind, number
        self.old, self.new, self.before, self.detail = old, new, before, detail


class Engine:
    """Debug one program: run, step, stop, go back. Construct with a Simulator made with
    `defer=False` (deferred work would move writes away from their instructions; it is
    settled and switched off if present)."""

    def __init__(self, sim: Simulator, *, history_budget: int = DEFAULT_BUDGET,
                 record: bool = True, checkpoint_interval: int | None = None) -> None:  # fmt: skip
        self.sim, self.core = sim, sim.core
        self.state, self.translator = self.core.state, self.core.translator
        memory = self.state.memory
        if memory.deferred is not None:
            memory.deferred.flush()
            memory.deferred = None
        self.inputs: dict[str, np.ndarray] = {}
        self.breakpoints: dict[int, Breakpoint] = {}
        self.watchpoints: dict[int, Watchpoint] = {}
        self.regions: list[PerfRegion] = []
        self.catch_nan = False
        self._next_number = 1
        self._interrupt = False
        self._quiet = False
        self._output = self.core.executor.output
        self.core.executor.output = self._print
        self.locations = Locations(sim.program, self.core.text)
        self._calls, self._returns = self._find_calls()
        self._original = {k: self.translator.namespace[k] for k in ("load", "store")}
        self.translator.call_engine = self._call_engine
        self._executor = self.core.executor
        self._targets: dict[int, int | None] = {}  #: internal stops: address -> max depth
        self._site_key: tuple[int, int] | None = None  #: the (pc, instret) last looked at
        self._site_checked = self._site_tracked = False
        self._site_stop: Stop | None = None
        self._pending: list = []  #: watch hits and nan candidates of the running engine op
        self._suppress_reads = False
        self._collect: list[Stop] | None = None
        self._fresh = True  #: not run since loading: a breakpoint at the entry stops
        self._checking = True
        self._reset_run_state()
        self.recording = record
        self.history = History(self.core, history_budget, self._save_extra, self._load_extra,
                               checkpoint_interval)  # fmt: skip
        self._last_perf = self.perf_sample()
        self._configure()

    @classmethod
    def load(cls, path: str, *, machine: str = "j1", race: str = "off",
             history_budget: int = DEFAULT_BUDGET, **kw) -> Engine:  # fmt: skip
        """Load an ELF or assemble a source (Simulator.load) and debug it."""
        sim = Simulator.load(path, machine=machine, race=race, defer=False, **kw)
        return cls(sim, history_budget=history_budget)

    # -- per-run state (checkpointed) -----------------------------------------------------
    def _reset_run_state(self) -> None:
        self.frames: list[Frame] = []
        self.recent: dict[str, deque[EngineOpRecord]] = {
            name: deque(maxlen=RECENT_OPS) for name in self.core.timing.engines
        }
        for region in self.regions:
            region.entries, region.total, region.open = 0, None, None

    def _save_extra(self) -> tuple:
        regions = [(r.entries, r.total, r.open) for r in self.regions]
        recent = {name: tuple(ops) for name, ops in self.recent.items()}
        site = (self._site_key, self._site_tracked)  # a checkpoint may follow the books
        return tuple(self.frames), recent, regions, site

    def _load_extra(self, extra: tuple) -> None:
        frames, recent, regions, (self._site_key, self._site_tracked) = extra
        self._site_checked, self._site_stop = False, None
        self.frames = list(frames)
        for name, ops in recent.items():
            self.recent[name] = deque(ops, maxlen=RECENT_OPS)
        # a region added after the checkpoint counts from there: the run is replayed
        regions = regions + [(0, None, None)] * (len(self.regions) - len(regions))
        for region, (entries, total, open_) in zip(self.regions, regions, strict=True):
            region.entries, region.total, region.open = entries, total, open_

    # -- inputs and restart ---------------------------------------------------------------
    def bind(self, name: str, value: np.ndarray, *, convert: bool = False) -> None:
        """Bind a tensor (Simulator.bind) and remember it for `restart`."""
        entry = self.sim.entry(name)
        self.history.save_range(*place(entry.address, entry.nbytes))
        self.sim.bind(name, value, convert=convert)
        self.inputs[name] = (np.array(value, copy=True), convert)
        self.history.checkpoint()

    def restart(self) -> Stop:
        """Start the program again from its entry, with the same inputs bound; breakpoints
        and watchpoints stay, history restarts."""
        self.sim.reset()
        for name, (value, convert) in self.inputs.items():
            self.sim.bind(name, value, convert=convert)
        self._reset_run_state()
        self._site_key, self._fresh = None, True
        self.history.clear()
        self._last_perf = self.perf_sample()
        return self._stop("step")

    # -- locations (debugger.locations) ----------------------------------------------------
    def resolve(self, text: str) -> int:
        """An address from a gdb-style location (see Locations.resolve)."""
        return self.locations.resolve(text)

    def line_addresses(self, file: str | None, line: int) -> list[int]:
        """Addresses of the instructions from `file:line` (see Locations.line_addresses)."""
        return self.locations.line_addresses(file, line)

    def line_of(self, pc: int) -> tuple[str, int] | None:
        """(file, line) of the instruction at `pc`, if the line table has it."""
        return self.locations.lines.get(pc)

    def function_of(self, pc: int) -> str | None:
        """`label+offset` of the nearest text symbol at or before `pc`."""
        return self.locations.function_of(pc)

    def backtrace(self) -> list[tuple[int, Frame | None]]:
        """(pc, frame) innermost first: the current pc, then each caller's return address."""
        out: list[tuple[int, Frame | None]] = [(self.state.pc, self.frames[-1] if
                                                self.frames else None)]  # fmt: skip
        for i in range(len(self.frames) - 1, -1, -1):
            out.append((self.frames[i].return_address, self.frames[i - 1] if i else None))
        return out

    # -- breakpoints and watchpoints -----------------------------------------------------
    def _number(self) -> int:
        number, self._next_number = self._next_number, self._next_number + 1
        return number

    def add_breakpoint(self, address: int, *, condition: Callable[[], bool] | None = None,
                       condition_text: str = "", temporary: bool = False,
                       ignore: int = 0) -> Breakpoint:  # fmt: skip
        """A breakpoint at `address` (use `resolve` for labels and lines)."""
        if not self.core.text[0] <= address < self.core.text[1] or address % 8:
            raise DebugError(f"{address:#x} is not an instruction address")
        bp = Breakpoint(self._number(), address, condition, condition_text, ignore, temporary)
        self.breakpoints[bp.number] = bp
        self._configure()
        return bp

    def add_watchpoint(self, *, register: tuple[str, int] | None = None,
                       address: int | None = None, nbytes: int = 8,
                       desc: tiles.Desc | None = None, kind: str = "write",
                       what: str = "", condition: Callable[[], bool] | None = None,
                       ) -> Watchpoint:  # fmt: skip
        """Watch a register (("x"|"f"|"d"|"sem", index)), `nbytes` at `address`, or the
        bytes of tile `desc` (row by row); `kind` is write, read or access. Registers can
        only be write-watched (they are not read through any hook)."""
        if kind not in ("write", "read", "access"):
            raise DebugError(f"watch kind must be write, read or access, not {kind!r}")
        ranges: tuple[tuple[int, int], ...] = ()
        if register is not None:
            if register[0] not in ("x", "f", "d", "sem") or kind != "write":
                raise DebugError("registers can be watched for writes only")
        elif desc is not None:
            ranges = tile_ranges(desc)
        elif address is not None:
            ranges = ((address, address + nbytes),)
        else:
            raise DebugError("watch needs a register, an address or a tile")
        for lo, hi in ranges:
            place(lo, hi - lo)  # out of memory -> Trap, reported by the caller
        wp = Watchpoint(self._number(), kind, what, register, ranges, condition)
        wp.value = self._watch_value(wp)
        self.watchpoints[wp.number] = wp
        self._configure()
        return wp

    def delete(self, number: int) -> None:
        """Delete breakpoint or watchpoint `number`."""
        gone = self.breakpoints.pop(number, None) or self.watchpoints.pop(number, None)
        if gone is None:
            raise DebugError(f"no breakpoint or watchpoint {number}")
        self._configure()

    def enable(self, number: int, enabled: bool = True) -> None:
        """Enable (or disable) breakpoint or watchpoint `number`."""
        point = self.breakpoints.get(number) or self.watchpoints.get(number)
        if point is None:
            raise DebugError(f"no breakpoint or watchpoint {number}")
        point.enabled = enabled
        self._configure()

    def add_perf_region(self, start: int, end: int) -> PerfRegion:
        """Aggregate counters between code addresses `start` and `end` from now on."""
        region = PerfRegion(start, end)
        self.regions.append(region)
        self._configure()
        return region

    def _watch_value(self, wp: Watchpoint):
        if wp.register is not None:
            bank, index = wp.register
            state = self.state
            return {"x": state.X, "f": state.F, "d": state.D, "sem": state.sems}[bank][index]
        return b"".join(self.state.memory.read_bytes(lo, hi - lo) for lo, hi in wp.ranges)

    def _configure(self) -> None:
        """Tell the translator where blocks must start; rebind the memory hooks."""
        sites = set(self._calls) | set(self._returns) | set(self._targets)
        sites |= {pc + 8 for pc in self._calls}  # where next and finish stop: never rebuilt
        sites |= {bp.address for bp in self.breakpoints.values() if bp.enabled}
        sites |= {r.start for r in self.regions} | {r.end for r in self.regions}
        self._sites = frozenset(sites)
        active = [w for w in self.watchpoints.values() if w.enabled]
        self._reg_watches = [w for w in active if w.register is not None]
        self._mem_watches = [w for w in active if w.register is None]
        stops = set(sites)
        for wp in self._reg_watches:
            stops |= self._writers(*wp.register)
        translator = self.translator
        rebuild = stops != translator.stops or set(translator.hooks) != sites
        translator.hooks.clear()  # blocks look their hook up on each call: no rebuild
        for address in sites:
            translator.hooks[address] = self._hook(address)
        if rebuild:
            translator.stops = frozenset(stops)
            translator.cache.clear()  # blocks were cut for the old stops
        self._bind_memory()
        self.state.memory.observer = self._observe

    def _hook(self, address: int) -> Callable[[], bool]:
        """What a self-looping block starting at `address` asks each time round. Where only
        conditional breakpoints live, a false condition answers at once: that is the whole
        cost of a conditional breakpoint in a hot loop."""
        site = self._site
        duties = address in self._calls or address in self._returns or address in self._targets
        duties = duties or any(address in (r.start, r.end) for r in self.regions)
        points = [bp for bp in self.breakpoints.values() if bp.address == address]
        if duties or not points:
            return lambda: site(address)
        engine = self

        def hook() -> bool:
            if not engine._checking:
                return False
            for bp in points:
                condition = bp.condition
                if condition is None or not bp.enabled:
                    return site(address)
                try:
                    hit = condition()
                except Exception:  # _site evaluates it again and stops
                    hit = True
                if hit:
                    return site(address)
            return False

        return hook

    def _writers(self, bank: str, index: int) -> set[int]:
        """Addresses just after each instruction that may write register bank[index]."""
        after = set()
        for pc in range(self.core.text[0], self.core.text[1], 8):
            inst = self._decode(pc)
            if inst is None:
                continue
            mnemonic = inst.spec.mnemonic
            if bank == "sem":
                hit = mnemonic in ("signal", "wait", "seminit") and inst["sem"] == index
            else:
                name = _REGISTER_FIELDS[bank]
                names = {f.name for f in inst.spec.fields}
                hit = name in names and inst[name] == index and mnemonic in TEMPLATES
            if hit:
                after.add(pc + 8)
        return after

    def _decode(self, pc: int):
        try:
            return decode(self.state.memory.load(pc, 8, False))
        except EncodingError:
            return None

    def _find_calls(self) -> tuple[set[int], set[int]]:
        """Call sites (jal/jalr writing ra) and returns (jalr to ra, writing nothing)."""
        calls, returns = set(), set()
        for pc in range(self.core.text[0], self.core.text[1], 8):
            inst = self._decode(pc)
            if inst is None or inst.spec.mnemonic not in ("jal", "jalr"):
                continue
            if inst["rd"] == RA:
                calls.add(pc)
            elif inst["rd"] == 0 and inst.spec.mnemonic == "jalr" and inst["rs1"] == RA:
                returns.add(pc)
        return calls, returns

    # -- memory hooks ---------------------------------------------------------------------
    def _bind_memory(self) -> None:
        """Wrap the scalar load/store the blocks call, only as far as recording and memory
        watchpoints need (the blocks look them up by name on each call)."""
        namespace, history = self.translator.namespace, self.history if self.recording else None
        load, store = self._original["load"], self._original["store"]
        writes = [w for w in self._mem_watches if w.kind in ("write", "access")]
        reads = [w for w in self._mem_watches if w.kind in ("read", "access")]
        checking = self

        if history is not None or writes:

            def watched_store(address: int, nbytes: int, value: int, pc: int) -> None:
                if history is not None:
                    page = address >> 12
                    if page not in history.pages:
                        history.save_page(page)
                if writes and checking._checking:
                    hits = [w for w in writes if w.overlaps(address, address + nbytes)]
                    if hits:
                        old = [checking._watch_value(w) for w in hits]
                        store(address, nbytes, value, pc)
                        checking._memory_hit(hits, old, pc)
                        return
                store(address, nbytes, value, pc)

            namespace["store"] = watched_store
        else:
            namespace["store"] = store
        if reads:

            def watched_load(address: int, nbytes: int, signed: bool, pc: int) -> int:
                if checking._checking and not checking._suppress_reads:
                    for w in reads:
                        if w.overlaps(address, address + nbytes) and checking._condition(w):
                            raise _WatchStop(pc, "watchpoint", w.number, before=True)
                return load(address, nbytes, signed, pc)

            namespace["load"] = watched_load
        else:
            namespace["load"] = load

    def _memory_hit(self, hits: list[Watchpoint], old: list, pc: int) -> None:
        for w, before in zip(hits, old, strict=True):
            after = self._watch_value(w)
            if (after != before or w.kind == "access") and self._condition(w):
                w.value = after
                raise _WatchStop(pc, "watchpoint", w.number, before, after)
            w.value = after

    def _observe(self, access, desc: tiles.Desc) -> None:
        """Memory.observer: an engine is about to touch a tile."""
        if access.write and self.recording:
            self.history.save_range(access.memory, access.lo, access.hi)
        if not self._checking:
            return
        if self._mem_watches:
            base = REGIONS[access.memory]
            lo, hi = base + access.lo, base + access.hi
            for w in self._mem_watches:
                wanted = w.kind == "access" or access.write == (w.kind == "write")
                if wanted and w.overlaps(lo, hi):
                    self._pending.append(("watch", w, self._watch_value(w)))
        if self.catch_nan and access.write and desc.type.name.startswith(("fp", "bf")):
            self._pending.append(("nan", access, desc))

    def _call_engine(self, inst, pc: int, index: int):
        """The translator's engine call: run it, keep the op for `info engines`, and stop
        on a watched tile or a new NaN."""
        pending = self._pending
        pending.clear()
        engine = getattr(getattr(inst, "spec", None), "engine", None)
        line = self.core.timing.engines.get(engine)
        count = line.count if line is not None else 0
        result = self._executor(inst, pc, index)
        if line is not None and line.count != count:
            text = self.core.instruction_text(pc)
            self.recent[engine].append(
                EngineOpRecord(pc, text, line.starts[-1], line.free_at, line.done_at)
            )
        if pending:
            self._engine_hits(pc, list(pending))
        return result

    def _engine_hits(self, pc: int, pending: list) -> None:
        for kind, a, b in pending:
            if kind == "watch":
                after = self._watch_value(a)
                if (after != b or a.kind != "write") and self._condition(a):
                    a.value = after
                    raise _WatchStop(pc, "watchpoint", a.number, b, after)
                a.value = after
            else:
                view = tiles.array_of(b, a.array, a.lo)
                view = view[0] if b.depth == 1 else view
                values = view.astype(np.float32, copy=False)
                if not np.isfinite(values).all():
                    raise _WatchStop(pc, "nan", None, detail=detail_nan(values))

    @staticmethod
    def _condition(point) -> bool:
        if point.condition is None:
            return True
        try:
            return bool(point.condition())
        except Exception:  # a failing condition stops, so the user sees it
            return True

    # -- the run loop -----------------------------------------------------------------------
    def _print(self, text: str) -> None:
        if not self._quiet:
            self._output(text)

    def interrupt(self) -> None:
        """Ask a running `cont`/`step` to stop at the next block boundary (thread-safe:
        one attribute store)."""
        self._interrupt = True

    def _stop(self, kind: str, **kw) -> Stop:
        return Stop(kind, self.state.pc, self.state.instret, **kw)

    def _site(self, pc: int, resume: bool = False) -> bool:
        """At a watched address, before its instruction: decide whether to stop, then keep
        the books (call stack, perf regions). Each is done once per (pc, instret), however
        often a block and the run loop ask; `resume` continues from a stop here."""
        state = self.state
        key = (pc, state.instret)
        if key != self._site_key:
            self._site_key, self._site_stop = key, None
            self._site_checked = self._site_tracked = False
        state.pc = pc
        if resume:
            self._site_checked, self._site_stop = True, None
        if not self._site_checked:
            self._site_checked = True
            stop = self._check_site(pc) if self._checking else None
            if stop is not None and self._collect is not None:
                self._collect.append(stop)
            elif stop is not None:
                self._site_stop = stop
        if self._site_stop is not None:
            return True
        if self._site_tracked:
            return False
        self._site_tracked = True
        if pc in self._calls:
            inst = self._decode(pc)
            target = (pc + inst["target"]) & (2**64 - 1) if inst.spec.mnemonic == "jal" else \
                (state.X[inst["rs1"]] + inst["imm"]) & (2**64 - 2)  # fmt: skip
            self.frames.append(Frame(pc, pc + 8, state.X[SP], state.instret, target))
        elif pc in self._returns:
            target = state.X[RA]
            for i in range(len(self.frames) - 1, -1, -1):
                if self.frames[i].return_address == target:
                    del self.frames[i:]
                    break
        if self.regions:
            self._regions_at(pc)
        return False

    def _check_site(self, pc: int) -> Stop | None:
        """The stop (if any) at `pc` from internal targets and breakpoints."""
        if pc in self._targets:
            depth = self._targets[pc]
            if depth is None or len(self.frames) <= depth:
                return self._stop("until")
        for bp in self.breakpoints.values():
            if bp.address != pc or not bp.enabled or not self._condition(bp):
                continue
            if self._collect is not None:  # replaying to search: counts are not touched
                return self._stop("breakpoint", number=bp.number)
            if bp.ignore > 0:
                bp.ignore -= 1
                bp.hits += 1
                continue
            bp.hits += 1
            if bp.temporary:
                del self.breakpoints[bp.number]
                self._configure()
            return self._stop("breakpoint", number=bp.number)
        return None

    def _regions_at(self, pc: int) -> None:
        for region in self.regions:
            if pc == region.end and region.open is not None:
                delta = self.perf_sample() - region.open
                region.total = delta if region.total is None else region.total + delta
                region.entries += 1
                region.open = None
            if pc == region.start:
                region.open = self.perf_sample()

    def _run(self, limit: int | None = None) -> Stop:
        """Run blocks until a stop; `limit` is an instruction count to stop at."""
        state, translator, history = self.state, self.translator, self.history
        sites, recording = self._sites, self.recording
        for wp in self._reg_watches:
            wp.value = self._watch_value(wp)
        first = True
        while True:
            if state.halted:
                return self._stop("halted")
            if self._interrupt:
                self._interrupt = False
                return self._stop("interrupted")
            pc, instret = state.pc, state.instret
            if limit is not None and instret >= limit:
                return self._stop("step")
            if recording and instret >= history.next_at:
                history.checkpoint()
            resume = first and self._collect is None and not self._fresh
            if pc in sites and self._site(pc, resume=resume):
                return self._site_stop
            first = False
            end = history.next_at if recording else instret + MAX_ITERATIONS * 64
            if limit is not None:
                end = min(end, limit)
            blk = translator.block(pc)
            left = end - instret
            if blk.length > left:
                blk = translator.block(pc, single=True)
            if blk.loops_back:
                state.budget = max(1, min(MAX_ITERATIONS, left // blk.length))
            stop = self._execute(blk)
            if stop is not None:
                if self._collect is None or stop.kind not in ("watchpoint", "nan"):
                    return stop
                self._collect.append(stop)
            if self._reg_watches and self._checking:
                stop = self._register_hit(blk.pcs[-1])
                if stop is not None:
                    if self._collect is None:
                        return stop
                    self._collect.append(stop)

    def _execute(self, blk: Block) -> Stop | None:
        """Run one block; a Stop if it trapped, raced or hit a memory watchpoint."""
        state = self.state
        try:
            nxt = blk.fn(state.X, state.F, state.D, state)
        except Trap as trap:
            self.core._locate(trap, blk)
            return self._stop("trap", trap=trap, detail=trap.kind)
        except RaceError as error:
            self.core._locate(error, blk)
            return self._stop("race", trap=error)
        except _WatchStop as hit:
            return self._watch_stop(blk, hit)
        self.core.after_block(blk, nxt)
        return None

    def _watch_stop(self, blk: Block, hit: _WatchStop) -> Stop:
        """Finish the instruction that hit (a read stops before it) and report it."""
        state = self.state
        index = blk.pcs.index(hit.pc)
        state.instret += index
        state.pc = hit.pc
        if hit.before:  # a load: run it now, without asking again
            self._suppress_reads = True
            try:
                stop = self._execute(self.translator.block(hit.pc, single=True))
            finally:
                self._suppress_reads = False
            if stop is not None:
                return stop
        else:
            state.instret += 1
            nxt = hit.pc + 8
            if state.loops and nxt == state.loops[-1][1]:
                nxt = _loop_back(state, nxt)
            state.pc = nxt
        if hit.number is not None:
            self.watchpoints[hit.number].hits += self._collect is None
        return self._stop(hit.stop_kind, number=hit.number, at=hit.pc, old=hit.old, new=hit.new,
                          detail=hit.detail)  # fmt: skip

    def _register_hit(self, writer: int) -> Stop | None:
        for wp in self._reg_watches:
            value = self._watch_value(wp)
            if value != wp.value:
                old, wp.value = wp.value, value
                if self._condition(wp):
                    wp.hits += self._collect is None
                    return self._stop("watchpoint", number=wp.number, old=old, new=value,
                                      at=writer)  # fmt: skip
        return None

    def _go(self, limit: int | None = None, *,
            targets: dict[int, int | None] | None = None) -> Stop:  # fmt: skip
        """One user-visible run: BLAS pinned, perf delta base moved, targets cleared after."""
        rebuild = targets is not None and not set(targets) <= self._sites
        self._targets = targets or {}
        if rebuild:
            self._configure()
        try:
            with _blas_threads().limit(limits=1, user_api="blas"):
                return self._run(limit)
        finally:
            self._fresh = False
            self._targets = {}
            if rebuild:
                self._configure()

    def _replay(self, limit: int, *, collect: list[Stop] | None = None,
                step: bool = False) -> Stop | list:  # fmt: skip
        """Run forward quietly to `limit` (after a restore): no stops, output or counts.
        `collect` gathers the stops it would have made; `step` goes one instruction at a
        time and returns (instret, pc, call depth) before each."""
        self._quiet, self._collect = True, collect
        self._checking = collect is not None
        interrupt, self._interrupt = self._interrupt, False
        try:
            with _blas_threads().limit(limits=1, user_api="blas"):
                if not step:
                    return self._run(limit)
                trace, state = [], self.state
                while state.instret < limit and not state.halted:
                    trace.append((state.instret, state.pc, len(self.frames)))
                    if self._run(state.instret + 1).kind != "step":
                        break
                return trace
        finally:
            self._quiet, self._collect, self._checking = False, None, True
            self._interrupt = interrupt

    # -- forward --------------------------------------------------------------------------
    def cont(self) -> Stop:
        """Run until a breakpoint, watchpoint, trap, halt, nan or interrupt."""
        return self._go()

    def stepi(self, count: int = 1) -> Stop:
        """Execute `count` instructions (fewer if something stops first)."""
        return self._go(self.state.instret + count)

    def nexti(self, count: int = 1) -> Stop:
        """Like stepi, but a call counts as one instruction (runs until it returns)."""
        stop = self._stop("step")
        for _ in range(count):
            stop = self._over_call() if self.state.pc in self._calls else self.stepi()
            if stop.kind not in ("step", "until"):
                return stop
        return self._stop("step")

    def _over_call(self) -> Stop:
        depth = len(self.frames)
        stop = self._go(targets={self.state.pc + 8: depth})
        return self._stop("step") if stop.kind == "until" else stop

    def step(self, count: int = 1, *, over_calls: bool = False) -> Stop:
        """Run to the start of the next source line (into calls; `over_calls`: gdb's next)."""
        for _ in range(count):
            start = self.line_of(self.state.pc)
            while True:
                if over_calls and self.state.pc in self._calls:
                    stop = self._over_call()
                else:
                    stop = self.stepi()
                if stop.kind != "step":
                    return stop
                line = self.line_of(self.state.pc)
                if line is not None and line != start:
                    break
        return self._stop("step")

    def next(self, count: int = 1) -> Stop:
        """Run to the next source line in this frame, stepping over calls."""
        return self.step(count, over_calls=True)

    def finish(self) -> Stop:
        """Run until the current subroutine returns to its caller."""
        if not self.frames:
            raise DebugError('"finish" not meaningful in the outermost frame')
        frame = self.frames[-1]
        stop = self._go(targets={frame.return_address: len(self.frames) - 1})
        return self._stop("finish") if stop.kind == "until" else stop

    def until(self, address: int) -> Stop:
        """Run until `address` is reached in this frame or an outer one, or this frame
        returns (gdb's `until LOCATION`: recursive calls are run over)."""
        return self._go(targets=self._frame_targets(address, len(self.frames)))

    def advance(self, address: int) -> Stop:
        """Run until `address` is reached in any frame, or this frame returns."""
        return self._go(targets=self._frame_targets(address, None))

    def _frame_targets(self, address: int, depth: int | None) -> dict[int, int | None]:
        targets = {address: depth}
        if self.frames:
            targets.setdefault(self.frames[-1].return_address, len(self.frames) - 1)
        return targets

    def goto(self, instret: int) -> Stop:
        """Put the machine at instruction count `instret` (back through the history, or
        forward without stopping). Before the history's start: stops there instead."""
        if instret < self.state.instret:
            if not self.recording:
                raise DebugError("going back needs the history: recording is off")
            if instret < self.history.start:
                self.history.restore(self.history.start)
                return self._stop("history-start")
            self.history.restore(instret)
            return self._replay(instret)
        stop = self._replay(instret) if instret > self.state.instret else self._stop("step")
        return stop

    # -- reverse --------------------------------------------------------------------------
    def reverse_stepi(self, count: int = 1) -> Stop:
        """Go back `count` instructions."""
        target = self.state.instret - count
        if target < self.history.start:
            return self.goto(target)
        stop = self.goto(target)
        return self._stop("step") if stop.kind == "step" else stop

    def reverse_continue(self) -> Stop:
        """Go back to the latest breakpoint or watchpoint hit before now (or the history's
        start)."""
        if not self.recording:
            raise DebugError("going back needs the history: recording is off")
        end = self.state.instret
        high = end
        while high > self.history.start:
            point = max(c.instret for c in self.history.checkpoints if c.instret < high)
            hits: list[Stop] = []
            self.history.restore(point)
            self._replay(high, collect=hits)
            hits = [h for h in hits if h.instret < end and h.kind != "until"]
            if hits:
                last = hits[-1]
                self.goto(last.instret)
                if last.kind == "breakpoint" and last.number in self.breakpoints:
                    self.breakpoints[last.number].hits += 1
                if last.kind == "watchpoint" and last.number in self.watchpoints:
                    self.watchpoints[last.number].hits += 1
                return last
            high = point
        self.goto(self.history.start)
        return self._stop("history-start")

    def _trace(self, low: int, high: int) -> list[tuple[int, int, int]]:
        """(instret, pc, call depth) before each instruction in [low, high): replayed one
        instruction at a time, ending back at `high`."""
        self.goto(low)
        return self._replay(high, step=True)

    def reverse_step(self, count: int = 1, *, over_calls: bool = False) -> Stop:
        """Go back to the start of the previous source line (`over_calls`: reverse-next)."""
        stop = self._stop("step")
        for _ in range(count):
            stop = self._reverse_line(over_calls)
            if stop.kind != "step":
                return stop
        return stop

    def reverse_next(self, count: int = 1) -> Stop:
        """Go back to the previous source line of this frame, stepping back over calls."""
        return self.reverse_step(count, over_calls=True)

    def _reverse_line(self, over_calls: bool) -> Stop:
        end, depth = self.state.instret, len(self.frames)
        current = self.line_of(self.state.pc)
        window = 256
        while True:
            low = max(self.history.start, end - window)
            trace = self._trace(low, end)
            if over_calls:
                trace = [t for t in trace if t[2] <= depth]
            target = _previous_line_start(trace, current, self.line_of)
            if target is not None and (target > low or low == self.history.start):
                self.goto(target)
                return self._stop("step")
            if low == self.history.start:
                self.goto(low)
                return self._stop("history-start")
            window *= 4

    def reverse_finish(self) -> Stop:
        """Go back to the call of the current subroutine."""
        if not self.frames:
            raise DebugError('"reverse-finish" not meaningful in the outermost frame')
        stop = self.goto(self.frames[-1].call_instret)
        return self._stop("finish") if stop.kind == "step" else stop

    # -- state changes --------------------------------------------------------------------
    def write_memory(self, address: int, data: bytes) -> None:
        """Change memory now (kept in the history: going back before it undoes it)."""
        self.history.save_range(*place(address, len(data)))
        self.state.memory.write_bytes(address, data)
        self.history.checkpoint()

    def write_register(self, bank: str, index: int, value) -> None:
        """Change register bank[index] ("x", "f", "d", "sem") now."""
        banks = {"x": self.state.X, "f": self.state.F, "d": self.state.D, "sem": self.state.sems}
        if bank not in banks or (bank == "x" and index == 0):
            raise DebugError(f"cannot write {bank}{index}")
        banks[bank][index] = value
        self.history.checkpoint()

    # -- performance ----------------------------------------------------------------------
    def perf_sample(self) -> PerfSample:
        """The counters now."""
        timing, instret = self.core.timing, self.state.instret
        engines = timing.engines
        return PerfSample(
            instret, timing.total_cycles(instret),
            {name: line.busy for name, line in engines.items()},
            {name: line.count for name, line in engines.items()},
            timing.energy_j(instret),
        )  # fmt: skip

    def perf_since_last_stop(self) -> PerfSample:
        """Instructions, cycles, engine busy cycles and energy since the previous call
        (the command layer calls it at each stop)."""
        now = self.perf_sample()
        delta, self._last_perf = now - self._last_perf, now
        return delta

    def engines_info(self) -> list[EngineInfo]:
        """Each engine's timeline and its last few ops (in flight when done_by > now)."""
        timing = self.core.timing
        now = timing.issue_cycle(self.state.instret)
        return [
            EngineInfo(
                name,
                now,
                line.busy,
                line.count,
                line.free_at,
                line.done_at,
                tuple(self.recent[name]),
            )
            for name, line in timing.engines.items()
        ]

    def history_info(self) -> dict[str, int]:
        """Bytes used, budget, reachable steps and checkpoints of the reverse history."""
        h = self.history
        return {
            "bytes": h.bytes_used, "budget": h.budget, "steps": h.steps_kept(),
            "checkpoints": len(h.checkpoints), "start": h.start, "interval": h.interval,
        }  # fmt: skip


def _previous_line_start(trace, current, line_of) -> int | None:
    """The instret starting the latest run of a line other than `current` in `trace`."""
    i = len(trace) - 1
    while i >= 0 and line_of(trace[i][1]) == current:
        i -= 1
    if i < 0:
        return None
    line = line_of(trace[i][1])
    while i > 0 and line_of(trace[i - 1][1]) == line:
        i -= 1
    return trace[i][0]


def detail_nan(values: np.ndarray) -> str:
    """Where the first non-finite value of an engine's output lies."""
    index = np.argwhere(~np.isfinite(values))[0]
    return f"first non-finite at {tuple(int(i) for i in index)}: {values[tuple(index)]}"

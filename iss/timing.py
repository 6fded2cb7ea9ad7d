"""The timing and energy model: per-engine timelines computed in program order.

Every instruction issues from the front end one cycle after the previous one, unless the
front end stalls (a full engine queue, `wait scalar`, `barrier`, `halt`). An engine
instruction starts when the front end has issued it, its engine has finished the previous
instruction's occupancy, every `wait` before it in that engine's queue has its semaphore
token, and every earlier instruction of its engine whose result it reads has completed. It
then occupies its engine for a throughput-bound number of cycles and completes a fixed
latency later (engines are pipelined: independent work overlaps that latency, dependent work
waits for it; whether two tiles share a byte is decided exactly for same-stride tiles, by
address range otherwise; the MXU adds into its accumulators in its pipeline, so an `mm.acc`
chain does not wait). A `signal` produces a token once every earlier instruction of its
engine has completed; a `wait` consumes the oldest token. Because engines are in order and
only semaphores connect them, one pass in program order computes every start and end time.

Occupancy per instruction (cycles), from the machine description:
  dma        the larger of ceil(bytes / dma bytes/cycle), bytes = the larger of bytes read and
             written (the engine's datapath), and ceil(DRAM bytes / DRAM bytes/cycle), DRAM
             bytes = those read from plus those written to DRAM (a DRAM-to-DRAM copy crosses
             the DRAM interface twice);
             latency = dma latency (+ DRAM latency when it touches DRAM)
  matrix     ceil(N / array cols) * ceil(max(M, K) / r), r = MACs-per-cycle[dtype] / (rows *
             cols) — a weight-stationary array loads K weight rows and streams M input rows
             per 128-column pass, r rows per cycle; latency = the array's fill latency.
             Block-quantised weights (q4_1, q8_0) reach the array through a dequantising
             loader that reads them at the bytes per cycle of one bf16 weight row (2 * cols):
             K rows of weights load in (packed bytes / (2 * cols)) cycles, not K / r, while
             A's rows stream at A's rate r (an fp32 A: 4 cycles a row).
             Row and column tiling (as the NeuronCore Tensor Engine's, AWS Neuron docs,
             nki.isa.nc_matmul 'Tiling mode'): an instruction with
             K <= rows / 2 uses one half of the array's rows and one with N <= cols / 2 one
             half of its columns, so instructions that fit disjoint quadrants run at the
             same time (`ArrayTiles`); one that writes accumulator bytes an instruction in
             flight writes waits for it (they would add into the same cells).
  vector     ceil(elements / elements-per-cycle); latency = the unit's latency
  activation likewise
Energy: MACs x pJ/MAC[dtype], elements x pJ/element, bytes x pJ/byte of each memory level
read and written (plus the DMA's own pJ/byte), pJ per fetched instruction, and static power
over the whole run.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from isa.machine import Machine
from isa.registers import ENGINES, N_SEMS
from iss.engines.base import Access, EngineOp

PJ = 1e-12
MEMORIES = ("dram", "sram", "acc")


@dataclass
class EngineTimeline:
    """One engine's in-order queue as seen by the timing model."""

    name: str
    free_at: int = 0  #: when the pipeline can accept the next instruction
    done_at: int = 0  #: when every instruction so far has completed
    ready_at: int = 0  #: earliest start allowed by the waits in the queue so far
    busy: float = 0  #: cycles of occupancy (the MXU: array-cycles / array), for utilisation
    count: int = 0  #: instructions executed
    starts: deque = field(default_factory=deque)  #: start times of the last queue_depth ops
    #: (access, cycle its bytes are written) of this engine's writes that may be in flight
    results: list = field(default_factory=list)


class ArrayTiles:
    """The MXU's four quadrants (halves of its rows x halves of its columns) and when each
    is free: where the next matrix instruction runs and when it can start."""

    def __init__(self, rows: int, cols: int) -> None:
        self.half_rows, self.half_cols = rows // 2, cols // 2
        self.free = [0, 0, 0, 0]  #: cycle each quadrant finishes its instruction
        self.writes: list[Access | None] = [None] * 4  #: its accumulator tile
        self.last_start = 0  #: instructions start in order even when they run side by side

    def place(self, op: EngineOp, earliest: int, occupancy: int) -> tuple[int, float]:
        """Start cycle of `op` and the share of the array it occupies; books the quadrants."""
        _, k, n = op.shape
        earliest = max(earliest, self.last_start)
        out = next((a for a in op.accesses if a.write), None)
        for q, written in enumerate(self.writes):
            if out and written and out.meets(written):
                earliest = max(earliest, self.free[q])
        rows = ((0,), (1,)) if k <= self.half_rows else ((0, 1),)
        cols = ((0,), (1,)) if n <= self.half_cols else ((0, 1),)
        start, quads = min(
            (max(earliest, *(self.free[2 * r + c] for r in rr for c in cc)), (rr, cc))
            for rr in rows
            for cc in cols
        )
        used = [2 * r + c for r in quads[0] for c in quads[1]]
        for q in used:
            self.free[q], self.writes[q] = start + occupancy, out
        self.last_start = start
        return start, len(used) / 4


@dataclass
class Stats:
    """Totals for the report."""

    macs: dict[str, int] = field(default_factory=dict)
    mxu_peak_cycles: float = 0.0  #: cycles the MXU would need at its peak rate
    elements: dict[str, int] = field(default_factory=dict)  #: vector / activation elements
    bytes_read: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEMORIES, 0))
    bytes_written: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEMORIES, 0))
    dma_bytes: int = 0
    dynamic_pj: float = 0.0


@dataclass
class Event:
    """One executed engine instruction on its engine's timeline (for traces)."""

    engine: str
    pc: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Timelines:
    """The timing model's engine, array and semaphore times relative to a cycle."""

    lines: dict[str, tuple]  #: engine -> (free_at, done_at, ready_at, starts, results)
    array: tuple  #: ArrayTiles' (free, writes, last_start)
    tokens: tuple[tuple[int, ...], ...]  #: each semaphore's tokens


class TimingModel:
    """Computes start/end cycles and energy as instructions execute in program order."""

    def __init__(self, machine: Machine, record_events: bool = False) -> None:
        self.m = machine
        self.record_events = record_events
        array = machine.matrix.rows * machine.matrix.cols
        #: MXU input rows streamed per cycle, by dtype (MACs per cycle / array size)
        self.rows_per_cycle = {t: r / array for t, r in machine.matrix.macs_per_cycle.items()}
        self.fill = machine.matrix.fill_latency_cycles
        #: bytes per cycle the MXU's weight loader reads: one row of bf16 weights
        self.weight_row_bytes = machine.matrix.cols * 2
        levels = {"dram": machine.dram, "sram": machine.sram, "acc": machine.acc}
        #: (memory, write) -> energy per byte
        self.pj_per_byte = {
            (name, write): level.write_pj_per_byte if write else level.read_pj_per_byte
            for name, level in levels.items()
            for write in (False, True)
        }
        self.reset()

    def reset(self) -> None:
        """Back to cycle 0 with idle engines and no statistics (a program started again)."""
        self.engines = {name: EngineTimeline(name) for name in ENGINES if name != "scalar"}
        self.array = ArrayTiles(self.m.matrix.rows, self.m.matrix.cols)
        self.tokens: list[deque[int]] = [deque() for _ in range(N_SEMS)]
        self.stall = 0  #: front-end stall cycles so far
        self.stats = Stats()
        self.events: list[Event] | None = [] if self.record_events else None
        #: (engine, busy cycles, pJ, MXU peak cycles) of each engine op, while iss.plans
        #: records; None otherwise
        self.tap: list[tuple[str, float, float, float]] | None = None

    # -- front end ----------------------------------------------------------------------
    def issue_cycle(self, instret: int) -> int:
        """Cycle at which the instruction with this retirement index issues."""
        return instret + self.stall

    def stall_until(self, instret: int, cycle: int) -> None:
        """The front end cannot issue instruction `instret` before `cycle`."""
        self.stall += max(0, cycle - self.issue_cycle(instret))

    def drained(self) -> int:
        """Cycle at which every engine has completed everything issued."""
        return max((e.done_at for e in self.engines.values()), default=0)

    # -- engine instructions --------------------------------------------------------------
    def occupancy(self, op: EngineOp) -> tuple[int, int]:
        """(occupancy, latency) cycles of an executed engine instruction."""
        m = self.m
        if op.engine == "dma":
            dram = sum(a.nbytes for a in op.accesses if a.memory == "dram")
            latency = m.dma.latency_cycles + (m.dram.latency_cycles if dram else 0)
            return m.dma_cycles(op.work, dram), latency
        if op.engine == "matrix":
            dtype = op.work_dtype or "bf16"
            m_, k, n = op.shape
            passes = -(-n // m.matrix.cols)
            rate = self.rows_per_cycle[dtype]
            if op.weight_bytes:  # packed weights: the loader takes them at the bf16 row rate
                load = op.weight_bytes / (passes * self.weight_row_bytes)
                return passes * math.ceil(max(m_ / rate, load)), self.fill
            return passes * math.ceil(max(m_, k) / rate), self.fill
        unit = m.vector if op.engine == "vector" else m.activation
        return math.ceil(op.work / unit.elements_per_cycle), unit.latency_cycles

    def engine_op(self, op: EngineOp, instret: int, text: str = "") -> None:
        """Place an executed engine instruction on its timeline and charge its energy."""
        line = self.engines[op.engine]
        issue = self.issue_cycle(instret)
        if len(line.starts) >= self.m.queue_depth:  # queue full: the front end waits
            self.stall_until(instret, line.starts[0])
            issue = self.issue_cycle(instret)
        occupancy, latency = self.occupancy(op)
        if op.engine == "matrix":
            start, share = self.array.place(op, max(issue, line.ready_at), occupancy)
            line.free_at = max(self.array.free)
        else:
            start = self._after_producers(line, op, max(issue, line.free_at, line.ready_at))
            share = 1
            line.free_at = start + occupancy
            line.results += [(a, start + occupancy + latency) for a in op.accesses if a.write]
        line.done_at = max(line.done_at, start + occupancy + latency)
        line.busy += occupancy * share
        line.count += 1
        line.starts.append(start)
        if len(line.starts) > self.m.queue_depth:
            line.starts.popleft()
        pj, peak = self._charge(op)
        if self.tap is not None:  # iss.plans replays these float sums in the same order
            self.tap.append((op.engine, occupancy * share, pj, peak))
        if self.events is not None:
            self.events.append(Event(op.engine, op.pc, text, start, start + occupancy + latency))

    @staticmethod
    def _after_producers(line: EngineTimeline, op: EngineOp, start: int) -> int:
        """When `op` may start on `line` given the results it reads: an engine overlaps its
        latency with independent work only, so an instruction that reads bytes an earlier
        one of the same engine writes waits until they are written. (The MXU is exempt: it
        writes only accumulators, and adds into them in its pipeline.)"""
        line.results = [(w, ready) for w, ready in line.results if ready > start]
        for write, ready in line.results:
            if ready > start and any(a.meets(write) for a in op.accesses if not a.write):
                start = ready
        return start

    def _charge(self, op: EngineOp) -> tuple[float, float]:
        """Add the op's bytes, work and energy to the totals; (pJ, MXU peak cycles) added."""
        m, s = self.m, self.stats
        pj = peak = 0.0
        for a in op.accesses:
            if a.write:
                s.bytes_written[a.memory] += a.nbytes
            else:
                s.bytes_read[a.memory] += a.nbytes
            pj += a.nbytes * self.pj_per_byte[a.memory, a.write]
        if op.engine == "dma":
            s.dma_bytes += op.work
            pj += op.work * m.dma.pj_per_byte
        elif op.engine == "matrix":
            dtype = op.work_dtype or "bf16"
            s.macs[dtype] = s.macs.get(dtype, 0) + op.work
            peak = op.work / m.matrix.macs_per_cycle[dtype]
            s.mxu_peak_cycles += peak
            pj += op.work * m.matrix.pj_per_mac[dtype]
        else:
            unit = m.vector if op.engine == "vector" else m.activation
            s.elements[op.engine] = s.elements.get(op.engine, 0) + op.work
            pj += op.work * unit.pj_per_element
        s.dynamic_pj += pj
        return pj, peak

    # -- synchronisation --------------------------------------------------------------------
    def signal(self, engine: str, sem: int, instret: int) -> None:
        """`signal engine, sem`: a token once the engine's earlier work has completed."""
        issue = self.issue_cycle(instret)
        done = issue if engine == "scalar" else max(issue, self.engines[engine].done_at)
        self.tokens[sem].append(done)

    def wait(self, engine: str, sem: int, instret: int) -> None:
        """`wait engine, sem`: consume the oldest token (the caller checked one exists)."""
        token = self.tokens[sem].popleft()
        if engine == "scalar":
            self.stall_until(instret, token)
        else:
            line = self.engines[engine]
            line.ready_at = max(line.ready_at, token, self.issue_cycle(instret))

    def seminit(self, sem: int, count: int, instret: int) -> None:
        """`seminit sem, count`: count tokens available from now on."""
        self.tokens[sem] = deque([self.issue_cycle(instret)] * count)

    def barrier(self, instret: int) -> None:
        """`barrier` / `halt`: the front end waits for every engine to drain."""
        self.stall_until(instret, self.drained())

    # -- shifting in time (iss.plans) --------------------------------------------------------
    def timelines(self, t0: int) -> Timelines:
        """Every cycle the model keeps, less `t0`; a cycle before t0 as 0. From a quiet t0
        (`drained() <= t0`: nothing issued before t0 can delay anything issued from t0 on)
        this is all later timing depends on, so it can be put back at another quiet t0."""

        def rel(t: int) -> int:
            return max(t - t0, 0)

        lines = {
            name: (rel(e.free_at), rel(e.done_at), rel(e.ready_at), tuple(map(rel, e.starts)),
                   tuple((a, t - t0) for a, t in e.results if t > t0))
            for name, e in self.engines.items()
        }  # fmt: skip
        array = self.array
        tiles = (tuple(map(rel, array.free)), tuple(array.writes), rel(array.last_start))
        tokens = tuple(tuple(map(rel, q)) for q in self.tokens)
        return Timelines(lines, tiles, tokens)

    def set_timelines(self, saved: Timelines, t0: int) -> None:
        """Put back `timelines(t)` of another quiet cycle t at the quiet cycle `t0`."""
        for name, (free, done, ready, starts, results) in saved.lines.items():
            e = self.engines[name]
            e.free_at, e.done_at, e.ready_at = free + t0, done + t0, ready + t0
            e.starts = deque(t + t0 for t in starts)
            e.results = [(a, t + t0) for a, t in results]
        free, writes, last = saved.array
        self.array.free = [t + t0 for t in free]
        self.array.writes = list(writes)
        self.array.last_start = last + t0
        self.tokens = [deque(t + t0 for t in q) for q in saved.tokens]

    # -- totals -------------------------------------------------------------------------
    def total_cycles(self, instret: int) -> int:
        """Cycles from the first issue until everything issued so far has completed."""
        return max(self.issue_cycle(instret), self.drained())

    def energy_j(self, instret: int) -> float:
        """Joules so far: dynamic energy, instruction fetch and static power."""
        fetch_pj = instret * self.m.scalar.pj_per_instruction
        seconds = self.m.seconds(self.total_cycles(instret))
        return (self.stats.dynamic_pj + fetch_pj) * PJ + self.m.static_power_w * seconds

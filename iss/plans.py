"""Replay plans: a kernel call recorded once, then replayed without interpreting it again.

Why: a model's decode step calls the same kernels with the same arguments every token (the
same weights, the same buffers); only the data differ. Interpreting such a call again costs
the same translated blocks and the same per-instruction bookkeeping of the engines and the
timing model each time, ~20x the NumPy work it amounts to. A plan keeps what the call did:

* the NumPy work of each engine instruction, bound to its tiles' views (`mm` and `dma.copy`
  through the engines' own eager code, every other instruction through its semantics on the
  registers it saw);
* the scalar stores, in program order with the engine work;
* the registers, semaphores and `scratch` the call leaves, and how far it moves `instret`;
* the timing model's state when it returned, relative to its issue cycle at the call.

When a plan is used — exactly the conditions under which interpreting the call again would
give the same result:

* A call is a `jal ra` into a function that makes no further `jal ra` call (a leaf: a
  kernel). Recording stops at the return to `ra` with the entry stack pointer.
* The registers whose values at the call its work depends on (`Flow`: followed through the
  executed instructions' templates, `register_uses`; a callee-saved register that is only
  spilled and reloaded is not one — its value is stored and restored as it is), the
  semaphores and `scratch` equal those recorded. Scalar control flow depends on nothing
  else: engine instructions write no register, and every value a scalar load returned is
  checked again before replaying. A `dma.gather`'s indices are data: they are checked to
  fit the table before replaying (its timing does not depend on them). Never planned: a
  call whose scalar loads, or gather indices, read what its own engine instructions wrote,
  or one that reads the `cycle` or `instret` CSR, prints or stops.
* The timing model is quiet when the call issues (`drained() <= issue cycle`): nothing
  issued before can delay anything issued from then on, so the recorded timelines shifted
  to the new issue cycle are exactly what interpreting would compute. The floating-point
  totals (busy cycles, energy) are added op by op in the recorded order, so reports are
  bit-identical.
* No hardware loop is active, no step limit, race detector, debugger observer or event
  trace is in use (those need every instruction).

Data: the replay runs the engine work eagerly (pending iss.deferred work is made real
first), so results equal an interpreted run with `defer=False` bit for bit; against a
deferred run they may differ in fp32 summation order, which the ISA leaves open. The
dequantised weights of a quantised `mm` are kept with its plan and used while the packed
bytes in SRAM are the recorded ones (a bytes comparison; otherwise dequantised again), or
without comparing when the call copied them from write-protected memory (iss.pruning, which
also drops copies the call overwrites before reading them).
"""

from __future__ import annotations

import functools
import operator
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from isa import EncodingError, Inst, decode
from isa.registers import XREG_NAMES
from isa.spec import Kind
from iss.engines import SEMANTICS, dma, matrix
from iss.engines.base import Access, EngineOp
from iss.matmul import quiet_float_product
from iss.memory import window_of
from iss.pruning import Effect, prune
from iss.scalar import TEMPLATES
from iss.timing import Timelines

if TYPE_CHECKING:
    from iss.core import Core
    from iss.translate import Block

RA, SP = XREG_NAMES["ra"], XREG_NAMES["sp"]
MAX_PLANS = 512  #: plans kept per function and live registers (the oldest go first)

Register = tuple[str, int]  #: ("X" | "F" | "D", index)

# -- which registers an instruction reads and writes ------------------------------------------
_OPERAND = re.compile(r"([XFD])\[\{(\w+)\}\]")
_ASSIGNED = re.compile(r"\s*([XFD])\[\{(\w+)\}\]\s*=(?!=)")
_LOAD = re.compile(r"\s*([XF])\[\{(\w+)\}\] = load\(.*?, (\d), ")
_STORE = re.compile(r"\s*store\(.*?, (\d), ([XF])\[\{(\w+)\}\], \{pc\}\)")
_REGISTER_FILES = {Kind.XREG: "X", Kind.FREG: "F", Kind.DREG: "D"}
_WIDTH = {"X": 8, "F": 4}  #: bytes of a whole register


def _template_uses(effect: str, jump: str | None) -> tuple[list, list, tuple | None]:
    """(operands read, operands written, memory access) of a template; operands as (file,
    field name), the access as ("load" | "store", bytes, the loaded / stored operand)."""
    reads, writes = [], []
    for statement in effect.split(";"):
        assigned = _ASSIGNED.match(statement)
        if assigned:
            writes.append(assigned.groups())
            statement = statement[assigned.end() :]
        reads += _OPERAND.findall(statement)
    access = None
    if load := _LOAD.match(effect):
        access = ("load", int(load[3]), (load[1], load[2]))
    elif store := _STORE.match(effect):
        access = ("store", int(store[1]), (store[2], store[3]))
    return reads + _OPERAND.findall(jump or ""), writes, access


_TEMPLATE_USES = {mnemonic: _template_uses(*t) for mnemonic, t in TEMPLATES.items()}


@dataclass(frozen=True)
class Uses:
    """The registers one instruction reads and writes, and its scalar memory access."""

    reads: tuple[Register, ...]
    writes: tuple[Register, ...]
    access: tuple[str, int, Register] | None = None  #: (load | store, bytes, data register)


def register_uses(inst: Inst) -> Uses:
    """What `inst` reads and writes: from its template; an instruction without one (engine,
    sync, system) reads its register operands and writes none."""
    uses = _TEMPLATE_USES.get(inst.spec.mnemonic)
    if uses is None:
        return Uses(tuple((_REGISTER_FILES[f.kind], inst[f.name]) for f in inst.spec.fields
                          if f.kind in _REGISTER_FILES), ())  # fmt: skip
    reads, writes, access = uses
    if access is not None:
        kind, nbytes, (file, name) = access
        access = (kind, nbytes, (file, inst[name]))
    read = dict.fromkeys((r, inst[f]) for r, f in reads)  # once each, in order
    return Uses(tuple(read), tuple((r, inst[f]) for r, f in writes if (r, inst[f]) != ("X", 0)),
                access)  # fmt: skip


def summary(uses: list[Uses]) -> Uses:
    """One Uses for straight-line instructions without loads and stores: the registers they
    read before writing them, and those they write."""
    reads, writes = [], set()
    for u in uses:
        reads += [r for r in u.reads if r not in writes and r not in reads]
        writes.update(u.writes)
    return Uses(tuple(reads), tuple(sorted(writes)))


class Flow:
    """Where the values in the registers came from, over a recorded call: which registers'
    values at the call the call's work depends on (its key), and which only pass through
    memory (a callee-saved register spilled and reloaded: its value is stored and restored
    as it is at replay, whatever it is)."""

    def __init__(self) -> None:
        #: register -> the register whose value at the call it holds (absent: its own),
        #: or None: a value computed by the call
        self.origin: dict[Register, Register | None] = {}
        self.used: set[Register] = set()  #: registers whose value at the call matters
        self.slots: dict[tuple[int, int], Register] = {}  #: (address, bytes) -> its origin

    def _read(self, r: Register) -> None:
        origin = self.origin.get(r, r)
        if origin is not None and origin != ("X", 0):
            self.used.add(origin)

    def instruction(self, uses: Uses, address: int | None) -> Register | None:
        """Follow one executed instruction (`address`: its load's or store's); for a store
        of a whole register holding a value from the call, that value's register."""
        access = uses.access
        data = access[2] if access else None
        for r in uses.reads:
            if r != data or access[0] != "store":
                self._read(r)
        if access is None:
            for w in uses.writes:
                self.origin[w] = None
            return None
        kind, nbytes, _ = access
        whole = _WIDTH.get(data[0]) == nbytes
        if kind == "load":
            self.origin[data] = self.slots.get((address, nbytes)) if whole else None
            return None
        self.slots = {(a, n): o for (a, n), o in self.slots.items()
                      if a + n <= address or address + nbytes <= a}  # fmt: skip
        origin = self.origin.get(data, data)
        if whole and origin is not None:
            self.slots[address, nbytes] = origin
            return origin
        self._read(data)
        return None


# -- plans ---------------------------------------------------------------------------------------
@dataclass
class Plan:
    """One recorded call: what to check, what to do, and the state it leaves."""

    loads: list[tuple[int, int, bool, int]]  #: (address, bytes, signed, value) to check
    checks: list[Callable[[], bool]]  #: more that must hold (a gather's indices fit)
    steps: list[Callable[[], None]]  #: the engine work and scalar stores, in program order
    #: (file, index, value, source) of each register the call changes: it gets `value`, or
    #: with a source register, the value that one held at the call
    registers: list[tuple[str, int, object, Register | None]]
    sems: tuple[int, ...]
    scratch: int
    ret: int  #: where execution goes on
    instret: int  #: instructions retired
    stall: int  #: front-end stall cycles added
    #: relative to the issue cycle at the call; None when the call ends quiet with the
    #: semaphores as it found them (then the timelines as they are are equivalent)
    timelines: Timelines | None
    totals: dict[tuple, int]  #: integer statistics added
    #: float totals' terms in the order interpreting adds them: (an engine's name for its
    #: busy cycles, or a Stats field, the terms)
    floats: list[tuple[str, tuple[float, ...]]]
    #: Memory.generation the plan relies on (steps trusting protected memory), or None
    generation: int | None = None


@dataclass
class Group:
    """The plans of one function whose calls read the same live registers, by their values."""

    live: tuple[list[int], list[int], list[int]]  #: X, F and D register indices
    plans: dict[tuple, Plan] = field(default_factory=dict)
    seen: set[tuple] = field(default_factory=set)  #: keys called but not recorded

    def __post_init__(self) -> None:
        self._getters = [_getter(indices) for indices in self.live]

    def key(self, X, F, D, sems, scratch: int) -> tuple:
        """The plans' key: the live registers' values, the semaphores and `scratch`."""
        gx, gf, gd = self._getters
        return gx(X), gf(F), gd(D), tuple(sems), scratch


def _getter(indices: list[int]) -> Callable[[list], tuple]:
    if not indices:
        return lambda registers: ()
    get = operator.itemgetter(*indices)
    return get if len(indices) > 1 else lambda registers: (get(registers),)


@dataclass
class _Registers:
    """The registers an engine instruction saw, for replaying its semantics (EngineOp reads
    state.X / F / D / memory only)."""

    X: tuple
    F: tuple
    D: tuple
    memory: object


class Recording:
    """A call being recorded: the engine work, scalar loads and stores, blocks executed."""

    def __init__(self, plans: Plans, pc: int) -> None:
        core = plans.core
        state, timing = core.state, core.timing
        self.core, self.pc = core, pc
        self.ret, self.sp = state.X[RA], state.X[SP]
        self.sems, self.scratch = tuple(state.sems), state.scratch
        self.entry = _Registers(tuple(state.X), tuple(state.F), tuple(state.D), None)
        self.instret, self.stall = state.instret, timing.stall
        self.t0 = timing.issue_cycle(state.instret)
        self.totals = _totals(timing)
        self.flow = Flow()
        self.seen = state.instret  #: instructions retired when the last block ended
        self.accesses: list[tuple[int, _Store | None]] = []  #: this block's loads and stores
        self.steps: list[Callable[[], None]] = []
        self.loads: list[tuple[int, int, bool, int]] = []
        self.checks: list[Callable[[], bool]] = []  #: gathers' indices fit their tables
        #: scalar stores' (address, bytes) by 8-byte word (aligned accesses stay in one)
        self.stores: dict[int, set[tuple[int, int]]] = {}
        self.written: dict[str, list[tuple[int, int]]] = {}  #: engine writes by memory
        self.effects: list[Effect] = []  #: what each step reads and writes
        self.failed = False

    # -- what the core and the executor report ------------------------------------------------
    def engine_op(self, op: EngineOp, work: Callable[[], None] | None) -> None:
        """An engine instruction executed (semantics and timing done); `work` is what its
        semantics returned: its data work as a call on its tiles, if it has one."""
        if op.inst.spec.mnemonic in dma.INDEXED:
            index = op.accesses[0]
            if self._written(index.memory, index.lo, index.hi):
                self.failed = True  # indices this call computes: not checkable up front
                return
            view, rows = index.view, op.desc("ds").rows
            self.checks.append(lambda: dma.indices_fit(view, rows))
        step, effect = _step(op, work)
        self.steps.append(step)
        self.effects.append(effect)
        for a in op.accesses:
            if a.write:
                spans = self.written.setdefault(a.memory, [])
                if not spans or spans[-1] != (a.lo, a.hi):
                    spans.append((a.lo, a.hi))

    def load(self, address: int, nbytes: int, signed: bool, value: int) -> None:
        """A scalar load returned `value`."""
        memory = self.core.state.memory
        name, _, lo = memory.locate(address, nbytes, write=False, touch=False)
        if self._written(name, lo, lo + nbytes):
            self.failed = True  # control flow could depend on the data
            return
        self.accesses.append((address, None))
        overlapping = [(a, n) for a, n in self.stores.get(address >> 3, ())
                       if address < a + n and a < address + nbytes]  # fmt: skip
        if not overlapping:
            self.loads.append((address, nbytes, signed, value))
        elif not any(a <= address and address + nbytes <= a + n for a, n in overlapping):
            self.failed = True  # partly what this call stored: not worth the bookkeeping

    def _written(self, memory: str, lo: int, hi: int) -> bool:
        """Whether an engine instruction of this call wrote a byte of [lo, hi)."""
        return any(lo < b and a < hi for a, b in self.written.get(memory, ()))

    def store(self, address: int, nbytes: int, value: int) -> None:
        """A scalar store was made."""
        self.stores.setdefault(address >> 3, set()).add((address, nbytes))
        step = _Store(self.core, address, nbytes, value)
        self.steps.append(step)
        name, lo = window_of(address)  # checked: the store was made
        self.effects.append(Effect(writes=(Access(name, lo, lo + nbytes, True, nbytes),)))
        self.accesses.append((address, step))

    def block(self, insts: list[Uses] | Uses, iterations: int) -> None:
        """A block ran `iterations` times, making this block's loads and stores: its
        instructions, or for one without loads and stores their summary (running it again
        reads nothing new: what it writes then holds the call's own values)."""
        flow = self.flow
        if isinstance(insts, Uses):
            flow.instruction(insts, None)
            return
        accesses = iter(self.accesses)
        for _ in range(iterations):
            for uses in insts:
                if uses.access is None:
                    flow.instruction(uses, None)
                    continue
                address, step = next(accesses)
                source = flow.instruction(uses, address)
                if step is not None:
                    step.source = source
        self.accesses = []

    # -- the plan -----------------------------------------------------------------------------
    def plan(self, tap: list) -> tuple[tuple, Plan]:
        """(the live registers' indices, the plan) of the finished call; `tap` is the timing
        model's record of its engine ops."""
        state, timing = self.core.state, self.core.timing
        files = {"X": state.X, "F": state.F, "D": state.D}
        indices = tuple(sorted(i for f, i in self.flow.used if f == name) for name in "XFD")
        origins = sorted(self.flow.origin.items())
        changed = [(f, i, files[f][i], o) for (f, i), o in origins if o != (f, i)]
        after = _totals(timing)
        totals = {k: v - self.totals.get(k, 0) for k, v in after.items()
                  if v != self.totals.get(k, 0)}  # fmt: skip
        quiet = timing.drained() <= timing.issue_cycle(state.instret)
        steps, trusting = prune(self.steps, self.effects, state.memory)
        plan = Plan(
            loads=self.loads,
            checks=self.checks,
            steps=steps,
            registers=changed,
            sems=tuple(state.sems),
            scratch=state.scratch,
            ret=self.ret,
            instret=state.instret - self.instret,
            stall=timing.stall - self.stall,
            timelines=None
            if quiet and self.sems == tuple(state.sems)
            else timing.timelines(self.t0),
            totals=totals,
            floats=_float_terms(tap),
            generation=state.memory.generation if trusting else None,
        )
        return indices, plan


class _Store:
    """A scalar store of a recorded call: of the value it stored, or of the value a register
    holds at the call (a register spilled)."""

    def __init__(self, core: Core, address: int, nbytes: int, value: int) -> None:
        self.core, self.value = core, value
        self.store = core.state.memory.bound_store(address, nbytes)
        self.source: Register | None = None

    def __call__(self) -> None:
        source = self.source
        if source is None:
            self.store(self.value)
        else:
            self.store(getattr(self.core.state, source[0])[source[1]])


def _step(op: EngineOp, work: Callable[[], None] | None) -> tuple[Callable[[], None], Effect]:
    """The engine work of executed `op` as a call on its tiles' views, and its Effect: `work`,
    else made here (`mm` and `dma.copy`, which iss.deferred may have left pending, run
    eagerly) or the semantics run again on the registers the instruction saw."""
    mnemonic = op.inst.spec.mnemonic
    accesses = op.accesses
    views = [a.view for a in accesses]
    if mnemonic == "dma.copy":
        source, out = views
        step = dma.bound_move(source, out, op.desc("ds").type, op.desc("dd").type)
        return step, Effect(reads=(accesses[0],), writes=(accesses[1],), copy=True)
    effect = Effect(reads=tuple(a for a in accesses if not a.write),
                    writes=tuple(a for a in accesses if a.write))  # fmt: skip
    if mnemonic == "mm":
        step, effect.trusted = _mm_step(op, *(v[0] for v in views))
        return step, effect
    if work is not None:
        return work, effect
    state = op.state
    registers = _Registers(tuple(state.X), tuple(state.F), tuple(state.D), state.memory)
    semantics, inst, pc, engine = SEMANTICS[mnemonic], op.inst, op.pc, op.engine

    def execute() -> None:
        semantics(EngineOp(registers, inst, pc, engine))

    execute.__qualname__ = mnemonic  # for profiles
    return execute, effect


def _mm_step(op: EngineOp, a, b, c) -> tuple[Callable[[], None], Callable[[], None] | None]:
    """`mm` on its tiles, and for a quantised B the call that trusts B's bytes (see `prune`):
    the weights dequantised once are used while the packed bytes are the same."""
    dtype, transposed, accumulate = op.work_dtype, op.flag("tb"), op.flag("acc")
    da, db = op.desc("da"), op.desc("db")
    if not db.type.is_quant:
        return matrix.bound_call(a, b, c, dtype, transposed, accumulate, quiet_float_product), None
    # B holds its bytes: a quantised product is never deferred, and `mm` made its tiles
    # real (iss.deferred) before multiplying
    cache = op.state.memory.weights
    packed, weights = b.tobytes(), cache.get(b, db.type, da.type)
    trusted = matrix.bound_call(a, weights, c, dtype, transposed, accumulate,
                                quiet_float_product)  # fmt: skip

    def step() -> None:
        if b.tobytes() == packed:
            trusted()
        else:  # other weights in the slot: dequantised again (or found in the cache)
            matrix.bound_call(a, cache.get(b, db.type, da.type), c, dtype, transposed,
                              accumulate, quiet_float_product)()  # fmt: skip

    return step, trusted


def _float_terms(tap: list[tuple[str, float, float, float]]) -> list[tuple[str, tuple]]:
    """The timing model's tap of a call as Plan.floats."""
    busy: dict[str, list[float]] = {}
    for engine, cycles, _, _ in tap:
        busy.setdefault(engine, []).append(cycles)
    terms = [(engine, tuple(values)) for engine, values in busy.items()]
    terms.append(("dynamic_pj", tuple(pj for _, _, pj, _ in tap)))
    terms.append(("mxu_peak_cycles", tuple(peak for _, _, _, peak in tap if peak)))
    return terms


def _add_totals(timing, plan: Plan) -> None:
    """Add a plan's statistics to the timing model's, the float ones term by term in the
    recorded order (the same sums as interpreting)."""
    s, engines = timing.stats, timing.engines
    for key, delta in plan.totals.items():
        name = key[0]
        if name == "dma_bytes":
            s.dma_bytes += delta
        elif name == "count":
            engines[key[1]].count += delta
        else:
            counts = getattr(s, name)
            counts[key[1]] = counts.get(key[1], 0) + delta
    for name, terms in plan.floats:
        owner, field_name = (engines[name], "busy") if name in engines else (s, name)
        # one addition after another, as interpreting makes them (not sum(): from Python
        # 3.12 it compensates the rounding)
        total = functools.reduce(operator.add, terms, getattr(owner, field_name))
        setattr(owner, field_name, total)


def _call_targets(core: Core) -> frozenset[int]:
    """Addresses a `jal ra` in the program's text jumps to."""
    targets = set()
    for pc in range(*core.text, 8):
        try:
            inst = decode(core.state.memory.load(pc, 8, False))
        except EncodingError:
            continue
        if inst.spec.mnemonic == "jal" and inst["rd"] == RA:
            targets.add((pc + inst["target"]) & ((1 << 64) - 1))
    return frozenset(targets)


def _totals(timing) -> dict[tuple, int]:
    """The timing model's integer statistics, flat."""
    s = timing.stats
    totals: dict[tuple, int] = {("dma_bytes",): s.dma_bytes}
    for name in ("macs", "elements", "bytes_read", "bytes_written"):
        totals.update(((name, k), v) for k, v in getattr(s, name).items())
    totals.update((("count", name), e.count) for name, e in timing.engines.items())
    return totals


# -- the plans of a core ---------------------------------------------------------------------
class Plans:
    """Records leaf calls and replays them (see the module docstring); one per Core."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.entries = _call_targets(core)  #: where calls go
        self.groups: dict[int, list[Group]] = {}
        self.never: set[int] = set()  #: functions not planned: not leaves, or unplannable
        self.recorded: Counter[int] = Counter()
        self.replays: Counter[int] = Counter()  #: by function, for tests and benchmarks
        self.recording: Recording | None = None
        self._uses: dict[int, list[Uses]] = {}  #: by block start

    # -- at a call ------------------------------------------------------------------------
    def enter(self, pc: int) -> int:
        """At call target `pc`: replay a plan and return where execution goes on, or start
        recording (when worth it) and return `pc`."""
        core = self.core
        state, timing = core.state, core.timing
        if state.loops or timing.drained() > timing.issue_cycle(state.instret):
            return pc
        stale = False  # a plan of these arguments whose data changed: the call repeats
        for group in self.groups.get(pc, ()):
            plan = group.plans.get(group.key(state.X, state.F, state.D, state.sems, state.scratch))
            if plan is not None:
                if self._holds(plan):
                    self._replay(plan)
                    self.replays[pc] += 1
                    return plan.ret
                stale = True
        if pc not in self.never and (stale or self._worth_recording(pc)):
            self._start(pc)
        return pc

    def _worth_recording(self, pc: int) -> bool:
        """Whether to record a call of `pc` no plan fits: the function's first call (which
        tells which registers its plans depend on), then a key's second call. Recording
        costs more than interpreting, so calls whose arguments never repeat (a prefill of
        one prompt, a KV-cache append at a new position) are interpreted, not recorded."""
        if not self.recorded[pc]:
            return True
        state = self.core.state
        for group in self.groups.get(pc, ()):
            key = group.key(state.X, state.F, state.D, state.sems, state.scratch)
            if key in group.seen:
                return True
            if len(group.seen) >= MAX_PLANS:
                group.seen.clear()
            group.seen.add(key)
        return False

    def _holds(self, plan: Plan) -> bool:
        """Whether the plan's scalar loads would read what they read, and its checks pass."""
        memory = self.core.state.memory
        if plan.generation is not None and plan.generation != memory.generation:
            return False
        if not all(memory.load(a, n, s) == v for a, n, s, v in plan.loads):
            return False
        if plan.checks and memory.deferred is not None:
            memory.deferred.settle()  # the checks read memory directly
        return all(check() for check in plan.checks)

    def _replay(self, plan: Plan) -> None:
        state, timing = self.core.state, self.core.timing
        memory = state.memory
        deferred = memory.deferred
        if deferred is not None:  # the steps run eagerly on real bytes
            deferred.settle()
            memory.deferred = None
        try:
            with np.errstate(all="ignore"):  # for every product (quiet_float_product)
                for step in plan.steps:
                    step()
        finally:
            memory.deferred = deferred
        files = {"X": state.X, "F": state.F, "D": state.D}
        values = [value if source is None else files[source[0]][source[1]]
                  for _, _, value, source in plan.registers]  # fmt: skip
        for (name, index, _, _), value in zip(plan.registers, values, strict=True):
            files[name][index] = value
        state.sems[:] = plan.sems
        state.scratch = plan.scratch
        t0 = timing.issue_cycle(state.instret)
        state.instret += plan.instret
        timing.stall += plan.stall
        if plan.timelines is not None:
            timing.set_timelines(plan.timelines, t0)
        _add_totals(timing, plan)
        state.pc = plan.ret

    # -- recording ------------------------------------------------------------------------
    def _start(self, pc: int) -> None:
        core = self.core
        self.recording = Recording(self, pc)
        core.timing.tap = []
        core.executor.recording = self.recording
        namespace = core.translator.namespace
        self._bindings = namespace["load"], namespace["store"]
        namespace["load"], namespace["store"] = self._load, self._store

    def _load(self, address: int, nbytes: int, signed: bool, pc: int = 0) -> int:
        value = self._bindings[0](address, nbytes, signed, pc)
        if self.recording is not None:
            self.recording.load(address, nbytes, signed, value)
        return value

    def _store(self, address: int, nbytes: int, value: int, pc: int = 0) -> None:
        self._bindings[1](address, nbytes, value, pc)
        if self.recording is not None:
            self.recording.store(address, nbytes, value)

    def stop(self) -> None:
        """Forget the recording in progress (a trap, a limit, or something a plan cannot
        hold); execution goes on as it was."""
        if self.recording is None:
            return
        core = self.core
        namespace = core.translator.namespace
        namespace["load"], namespace["store"] = self._bindings
        core.timing.tap = None
        core.executor.recording = None
        self.recording = None

    def block_done(self, blk: Block, pc: int) -> None:
        """While recording: `blk` ran and execution goes on at `pc`."""
        rec = self.recording
        state = self.core.state
        rec.block(self._block_uses(blk), (state.instret - rec.seen) // blk.length)
        rec.seen = state.instret
        if rec.failed or state.halted:
            self.never.add(rec.pc)  # what failed it does not depend on the arguments
            self.stop()
        elif pc == rec.ret and state.X[SP] == rec.sp and not state.loops:
            self._finish(rec)

    def call(self, pc: int) -> None:
        """While recording: execution enters call target `pc` (the call is not a leaf)."""
        self.never.add(self.recording.pc)
        self.stop()

    def _finish(self, rec: Recording) -> None:
        tap = self.core.timing.tap
        self.stop()
        live, plan = rec.plan(tap)
        self.recorded[rec.pc] += 1
        groups = self.groups.setdefault(rec.pc, [])
        group = next((g for g in groups if g.live == live), None)
        if group is None:
            groups.append(group := Group(live))
        if len(group.plans) >= MAX_PLANS:
            del group.plans[next(iter(group.plans))]
        entry = rec.entry
        group.plans[group.key(entry.X, entry.F, entry.D, rec.sems, rec.scratch)] = plan

    def _block_uses(self, blk: Block) -> list[Uses] | Uses:
        """A block's instructions' uses, or one summary Uses when none loads or stores."""
        uses = self._uses.get(blk.start)
        if uses is None:
            fetch = self.core.state.memory.load
            uses = [register_uses(decode(fetch(pc, 8, False))) for pc in blk.pcs]
            if all(u.access is None for u in uses):
                uses = summary(uses)
            self._uses[blk.start] = uses
        return uses

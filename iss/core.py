"""The run loop: load a program, execute translated blocks, stop precisely.

`Core` ties the state, the block translator, the engine executor and the timing model
together. It knows no instruction: the templates and the semantics registry do.
"""

from __future__ import annotations

import functools
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from threadpoolctl import ThreadpoolController

from isa import EncodingError, decode, disassemble
from isa.elf import Program
from isa.machine import Machine
from isa.memmap import DRAM_BASE
from isa.registers import CSR_BY_NUMBER, XREG_NAMES
from iss.deferred import Deferred
from iss.errors import LimitReached, Trap
from iss.executor import Executor
from iss.plans import Plans
from iss.state import MachineState
from iss.timing import TimingModel
from iss.translate import HALTED, Block, Translator

_TIME_CHECK_EVERY = 1024  #: blocks between wall-clock checks


class LoadError(ValueError):
    """A program does not fit the machine it is loaded on."""


class Core:
    """One J1 core running one program."""

    def __init__(self, machine: Machine, program: Program, *, record_events: bool = False,
                 output: Callable[[str], None] | None = None, race=None,
                 defer: bool = True, plans: bool = False) -> None:  # fmt: skip
        """`defer`: let float matrix products wait to be evaluated together (iss.deferred);
        `plans`: record kernel calls and replay them when called again alike (iss.plans)."""
        self.machine, self.program = machine, program
        self.state = MachineState(machine)
        if defer:
            self.state.memory.deferred = Deferred(self.state.memory)
        self.timing = TimingModel(machine, record_events)
        self.output = output or (lambda text: print(text, file=sys.stdout))
        self.executor = Executor(self.state, self.timing, self.output, race)
        self.race = race
        self.lines = {entry.address: entry for entry in program.lines}
        self._load()
        self.translator = Translator(
            fetch=lambda pc: self.state.memory.load(pc, 8, False),
            in_text=lambda pc: self.text[0] <= pc < self.text[1],
            call_engine=self.executor,
            bindings={
                **self._memory_bindings(),
                "csr_read": self._csr_read, "csr_write": self._csr_write,
                "loop_enter": _loop_enter, "halt": self._halt,
            },
        )  # fmt: skip
        self._find_loop_ends()
        self.plans = Plans(self) if plans else None

    # -- loading --------------------------------------------------------------------------
    def reset(self, keep: Sequence[tuple[int, int]] = ()) -> None:
        """Start the program again: registers, semaphores, counters, the timing model and
        the race detector as after loading, and every section reloaded (.bss-like ones
        zeroed, so tensors must be bound again) except the (address, length) ranges in
        `keep`. Memory outside the program's sections keeps its bytes, as DRAM does across a
        core reset; translated blocks are kept."""
        deferred = self.state.memory.deferred
        if deferred is not None:
            deferred.settle()
        self.state.reset()
        self.timing.reset()
        if self.race is not None:
            self.race.reset()
        self._load(fresh=False, keep=keep)

    def restart(self) -> None:
        """Run the program again from its entry point on the machine as it is: memory,
        counters, the timing model and the race detector carry on (a loaded chip serving its
        next request: weights and caches stay where they are, the report keeps counting).
        Only the program counter and the stack pointer start again."""
        self.state.halted = False
        self._enter()

    def _load(self, fresh: bool = True, keep: Sequence[tuple[int, int]] = ()) -> None:
        memory = self.state.memory
        for section in self.program.sections:
            if section.length == 0:
                continue
            try:
                _, array, offset = memory.locate(section.address, section.length)
            except Trap as e:
                raise LoadError(f"section {section.name} does not fit {self.machine.name}: "
                                f"{e.reason}") from None  # fmt: skip
            for lo, hi in _outside(section.address, section.length, keep):
                if section.nobits and not fresh:  # a fresh machine's memory is zero already
                    array[offset + lo : offset + hi] = 0
                elif not section.nobits:
                    memory.write_bytes(section.address + lo, section.data[lo:hi])
        text = self.program.section(".text")
        self.text = (text.address, text.address + text.length) if text else (0, 0)
        memory.protect(read_only(self.program))
        self._enter()

    def _enter(self) -> None:
        """Point the program counter at the entry and the stack pointer at the top of DRAM
        (the stack grows down from there)."""
        self.state.pc = self.program.entry
        self.state.X[XREG_NAMES["sp"]] = DRAM_BASE + self.state.memory.sizes["dram"]

    def _find_loop_ends(self) -> None:
        """Hardware-loop end addresses: blocks must not run past them."""
        for pc in range(self.text[0], self.text[1], 8):
            try:
                inst = decode(self.state.memory.load(pc, 8, False))
            except EncodingError:
                continue
            if inst.spec.mnemonic in ("loop", "loopi"):
                self.translator.loop_ends.add((pc + inst["target"]) & (2**64 - 1))

    # -- helpers bound into the generated code ------------------------------------------------
    def _memory_bindings(self) -> dict[str, Callable]:
        """Scalar load/store for the templates; with a race detector, ones that report."""
        memory, race = self.state.memory, self.race
        if race is None:
            return {"load": memory.load, "store": memory.store}

        def load(address: int, nbytes: int, signed: bool, pc: int) -> int:
            value = memory.load(address, nbytes, signed)
            name, _, offset = memory.locate(address, nbytes)
            race.scalar_access(name, offset, offset + nbytes, False, pc)
            return value

        def store(address: int, nbytes: int, value: int, pc: int) -> None:
            memory.store(address, nbytes, value)
            name, _, offset = memory.locate(address, nbytes)
            race.scalar_access(name, offset, offset + nbytes, True, pc)

        return {"load": load, "store": store}

    def _csr_read(self, state: MachineState, number: int, index: int) -> int:
        csr = CSR_BY_NUMBER.get(number)
        if csr is None:
            raise Trap("illegal_instruction", f"unknown CSR {number:#x}")
        instret = state.instret + index
        recording = self.plans and self.plans.recording
        if recording and csr.name in ("cycle", "instret"):
            recording.failed = True  # a plan replays no timing-dependent value
        values = {
            "cycle": self.timing.issue_cycle(instret), "instret": instret,
            "lcount": state.loops[-1][2] if state.loops else 0, "ldepth": len(state.loops),
            "scratch": state.scratch,
        }  # fmt: skip
        return values[csr.name]

    def _csr_write(self, state: MachineState, number: int, value: int) -> None:
        csr = CSR_BY_NUMBER.get(number)
        if csr is None or not csr.writable:
            what = "unknown" if csr is None else "read-only"
            raise Trap("illegal_instruction", f"write to {what} CSR {number:#x}")
        state.scratch = value

    def _halt(self, state: MachineState, index: int) -> None:
        # the halt's own retirement index: state.instret counts only up to its block's start
        self.timing.barrier(state.instret + index)
        state.halted = True
        state.exit_code = state.x(XREG_NAMES["a0"])

    # -- running --------------------------------------------------------------------------
    def run(self, max_steps: int | None = None, timeout: float | None = None) -> None:
        """Run until `halt`, a trap (raised, state intact), or a limit (LimitReached).

        Pending matrix products (iss.deferred) are evaluated before it returns or raises.

        BLAS is held to one thread meanwhile: tile-sized matmuls gain nothing from more, and
        on a busy 2-core host two BLAS threads were seen to make them 20-100x slower.
        """
        with _blas_threads().limit(limits=1, user_api="blas"):
            try:
                self._run(max_steps, timeout)
            finally:  # whatever stopped the run, memory then holds every result
                if self.plans is not None:
                    self.plans.stop()
                if self.state.memory.deferred is not None:
                    self.state.memory.deferred.flush()

    def _run(self, max_steps: int | None, timeout: float | None) -> None:
        state, translator = self.state, self.translator
        deadline = None if timeout is None else time.monotonic() + timeout
        pc, blocks = state.pc, 0
        plans = self._usable_plans(max_steps)
        while not state.halted:
            left = None if max_steps is None else max_steps - state.instret
            if left is not None and left <= 0:
                raise LimitReached("step", f"{max_steps} instructions executed")
            if plans is not None and pc in plans.entries:
                if plans.recording is not None:
                    plans.call(pc)
                pc = plans.enter(pc)
            blk = translator.block(pc)
            if left is not None and not blk.loops_back and blk.length > left:
                blk = translator.block(pc, single=True)
            state.budget = 1 << 62 if left is None else max(1, left // blk.length)
            pc = self._execute(blk)
            if plans is not None and plans.recording is not None:
                plans.block_done(blk, pc)
            if pc == HALTED:
                break
            blocks += 1
            checking = deadline is not None and blocks % _TIME_CHECK_EVERY == 0
            if checking and time.monotonic() > deadline:
                raise LimitReached("time", f"{timeout} s of wall-clock time")

    def _usable_plans(self, max_steps: int | None) -> Plans | None:
        """The plans, unless something needs every instruction interpreted: a step limit,
        the race detector, an event trace, a debugger's observer or stops."""
        if self.plans is None or max_steps is not None or self.race is not None:
            return None
        if self.timing.events is not None or self.state.memory.observer is not None:
            return None
        return None if self.translator.stops or self.translator.hooks else self.plans

    def step(self) -> bool:
        """Execute exactly one instruction; False once the machine has halted."""
        if self.state.halted:
            return False
        self.state.budget = 1
        return self._execute(self.translator.block(self.state.pc, single=True)) != HALTED

    def _execute(self, blk: Block) -> int:
        """Run one block; leave state.pc at the next instruction (or the trap's)."""
        state = self.state
        try:
            pc = blk.fn(state.X, state.F, state.D, state)
        except Trap as trap:
            self._locate(trap, blk)
            raise
        return self.after_block(blk, pc)

    def after_block(self, blk: Block, pc: int) -> int:
        """Leave state.pc where execution goes on after `blk` returned `pc`: at the halt, or
        through a hardware loop's branch back when `pc` is the loop's end."""
        state = self.state
        if pc == HALTED:
            state.pc = blk.pcs[-1]
            return pc
        if state.loops and pc == state.loops[-1][1]:
            pc = _loop_back(state, pc)
        state.pc = pc
        return pc

    def location(self, pc: int) -> str | None:
        """`file:line` of the source of the instruction at `pc`, if the line table has it."""
        entry = self.lines.get(pc)
        return f"{entry.file}:{entry.line}" if entry else None

    def instruction_text(self, pc: int) -> str:
        """Disassembly of the word at `pc`; `.dword` for one that does not decode (or 0 outside
        .text), which is then itself what traps."""
        word = self.state.memory.load(pc, 8, False) if self.text[0] <= pc < self.text[1] else 0
        try:
            return disassemble(decode(word), pc)
        except EncodingError:
            return f".dword {word:#018x}"

    def _locate(self, trap: Trap, blk: Block) -> None:
        """Point the trap (and the state) at the faulting instruction of `blk`."""
        index = 0
        for frame, lineno in traceback.walk_tb(trap.__traceback__):
            if frame.f_code is blk.code:
                index = blk.line_index.get(lineno, 0)
        pc = blk.pcs[index]
        trap.pc = pc
        self.state.pc = pc
        self.state.instret += index
        trap.instruction = self.instruction_text(pc)
        trap.location = self.location(pc)


@functools.cache
def _blas_threads() -> ThreadpoolController:
    """The host's BLAS thread pools, found once (the search costs ~0.3 ms a run)."""
    return ThreadpoolController()


def _loop_enter(state: MachineState, pc: int, count: int, end: int) -> int:
    """`loop`/`loopi`: push a hardware loop, or skip the body for a zero count."""
    if end <= pc + 8:
        raise Trap("loop_error", f"loop body at {pc + 8:#x} is empty")
    if count == 0:
        return end
    if len(state.loops) >= 4:
        raise Trap("loop_error", "hardware loops nest deeper than 4")
    state.loops.append([pc + 8, end, count])
    return pc + 8


def _loop_back(state: MachineState, pc: int) -> int:
    """At a loop end: start the next iteration, or retire finished loops (inner first)."""
    while state.loops and pc == state.loops[-1][1]:
        loop = state.loops[-1]
        if loop[2] > 1:
            loop[2] -= 1
            return loop[0]
        state.loops.pop()
    return pc


def _outside(address: int, length: int, keep: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The [lo, hi) offsets of [address, address + length) that no (address, length) range
    of `keep` covers."""
    parts, start = [], 0
    for at, size in sorted(keep):
        lo, hi = max(at - address, 0), min(at + size - address, length)
        if lo >= hi:
            continue
        if lo > start:
            parts.append((start, lo))
        start = max(start, hi)
    if start < length:
        parts.append((start, length))
    return parts


def read_only(program: Program) -> list[tuple[int, int, str]]:
    """The address ranges the loader write-protects: the sections that are not writable
    (.text, .rodata) and the `.weight` buffers (the program reads its weights; only the
    host binds them). A store or engine write there traps out_of_bounds."""
    ranges = [(s.address, s.address + s.length, s.name) for s in program.sections
              if not s.writable]  # fmt: skip
    ranges += [(e.address, e.address + e.nbytes, f".weight {e.name}") for e in program.io
               if e.role == "weight"]  # fmt: skip
    return ranges

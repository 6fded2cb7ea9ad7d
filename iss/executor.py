"""Runs the instructions that are not plain front-end templates: engine work (through the
semantics registry), semaphores and barriers, and the system instructions; feeds the timing
model and the race detector."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from isa import disassemble
from isa.encoding import Inst
from isa.registers import ENGINES, XREG_ABI
from iss.engines import SEMANTICS
from iss.engines.base import EngineOp
from iss.errors import Trap
from iss.scalar import fv
from iss.state import MachineState
from iss.timing import TimingModel


class Executor:
    """Executes engine, sync and system instructions against one machine state."""

    def __init__(self, state: MachineState, timing: TimingModel,
                 output: Callable[[str], None], race=None) -> None:  # fmt: skip
        self.state, self.timing, self.output, self.race = state, timing, output, race
        self.handlers: dict[str, Callable[[Inst, int, int], int | None]] = {
            "signal": self._signal, "wait": self._wait, "seminit": self._seminit,
            "barrier": self._barrier, "ebreak": self._ebreak, "print.x": self._print_x,
            "print.f": self._print_f, "print.t": self._print_t,
        }  # fmt: skip
        self.recording = None  #: the iss.plans recording in progress, told of each op

    def __call__(self, inst: Inst | Trap, pc: int, index: int) -> None:
        """Execute `inst` at `pc`, the `index`-th instruction of the running block."""
        if isinstance(inst, Trap):
            raise inst
        instret = self.state.instret + index
        handler = self.handlers.get(inst.spec.mnemonic)
        if handler is not None:
            if self.recording is not None and inst.spec.engine == "system":
                self.recording.failed = True  # output and breakpoints are not replayed
            handler(inst, pc, instret)
            return
        op = EngineOp(self.state, inst, pc, inst.spec.engine)
        work = SEMANTICS[inst.spec.mnemonic](op)
        text = disassemble(inst, pc) if self.timing.events is not None else ""
        self.timing.engine_op(op, instret, text)
        if self.race is not None:
            self.race.record(op)
        if self.recording is not None:
            self.recording.engine_op(op, work)

    # -- synchronisation ----------------------------------------------------------------
    def _signal(self, inst: Inst, pc: int, instret: int) -> None:
        self.state.sems[inst["sem"]] += 1
        self.timing.signal(ENGINES[inst["engine"]], inst["sem"], instret)
        if self.race is not None:
            self.race.signal(ENGINES[inst["engine"]], inst["sem"])

    def _wait(self, inst: Inst, pc: int, instret: int) -> None:
        sem = inst["sem"]
        if self.state.sems[sem] == 0:
            raise Trap("sem_underflow", f"sem{sem} is 0 and no earlier instruction can signal "
                       "it (a wait must follow its signal in program order)")  # fmt: skip
        self.state.sems[sem] -= 1
        self.timing.wait(ENGINES[inst["engine"]], sem, instret)
        if self.race is not None:
            self.race.wait(ENGINES[inst["engine"]], sem)

    def _seminit(self, inst: Inst, pc: int, instret: int) -> None:
        self.state.sems[inst["sem"]] = inst["imm"]
        self.timing.seminit(inst["sem"], inst["imm"], instret)
        if self.race is not None:
            self.race.seminit(inst["sem"], inst["imm"])

    def _barrier(self, inst: Inst, pc: int, instret: int) -> None:
        self.timing.barrier(instret)
        if self.race is not None:
            self.race.barrier()

    # -- system ---------------------------------------------------------------------------
    def _ebreak(self, inst: Inst, pc: int, instret: int) -> None:
        raise Trap("breakpoint", "ebreak")

    def _print_x(self, inst: Inst, pc: int, instret: int) -> None:
        v = self.state.x(inst["rs1"])
        self.output(f"{pc:#x}: {XREG_ABI[inst['rs1']]} = {v} ({v & (2**64 - 1):#x})")

    def _print_f(self, inst: Inst, pc: int, instret: int) -> None:
        bits = self.state.F[inst["fs1"]]
        self.output(f"{pc:#x}: f{inst['fs1']} = {np.float32(fv(bits))} ({bits:#010x})")

    def _print_t(self, inst: Inst, pc: int, instret: int) -> None:
        self.timing.barrier(instret)
        op = EngineOp(self.state, inst, pc, "system")
        d = op.desc("ds")
        array = op.tile("ds", max_rows=None)
        shown = array[0] if d.depth == 1 else array
        with np.printoptions(threshold=256, edgeitems=4, linewidth=100):
            self.output(f"{pc:#x}: d{inst['ds']} = {d.describe()}\n{shown}")

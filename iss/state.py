"""The whole architectural state of one J1 core, as plain data.

Registers are Python lists (the scalar hot loop indexes them directly); memories are NumPy
byte arrays (iss.memory). Nothing here knows an instruction: the run loop, the timing model,
the tracer and the debugger all observe this object.
"""

from __future__ import annotations

from isa.machine import Machine
from isa.registers import N_DREGS, N_FREGS, N_SEMS, N_XREGS
from iss import tiles
from iss.memory import Memory
from iss.scalar import fv

X_SINK = N_XREGS  #: index that writes to x0 are redirected to, so x0 always reads 0


class MachineState:
    """Registers, CSRs, semaphores, hardware-loop stack and memories of one core."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.memory = Memory(machine)
        self.reset()

    def reset(self) -> None:
        """Every register, CSR, semaphore and counter as at power-on; memory is kept."""
        self.X: list[int] = [0] * (N_XREGS + 1)  #: unsigned 64-bit values; X[32] is a sink
        self.F: list[int] = [0] * N_FREGS  #: fp32 bit patterns (bit-exact, NaN payloads kept)
        self.D: list[tiles.Desc] = [tiles.EMPTY] * N_DREGS
        self.sems: list[int] = [0] * N_SEMS
        self.scratch = 0  #: the `scratch` CSR
        self.loops: list[list[int]] = []  #: hardware loops, innermost last: [start, end, left]
        self.pc = 0
        self.instret = 0
        self.halted = False
        self.exit_code: int | None = None
        self.budget = 1  #: iterations a self-looping block may run before returning

    def x(self, index: int) -> int:
        """Integer register as a signed value."""
        v = self.X[index]
        return v - (1 << 64) if v >> 63 else v

    def f(self, index: int) -> float:
        """fp32 register as a Python float."""
        return fv(self.F[index])

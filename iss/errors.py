"""How a simulation stops abnormally: a precise trap, or a limit reached."""

from __future__ import annotations

from isa.traps import TRAPS


class Trap(Exception):  # a trap is the architectural name, not an error class
    """A J1 fault: one of isa.traps.TRAPS, at the instruction at `pc`.

    The engine semantics raise it with `kind` and `reason`; the run loop fills in `pc`,
    the instruction text and its source location before it reaches the user.
    """

    def __init__(self, kind: str, reason: str, pc: int | None = None) -> None:
        if kind not in TRAPS:
            raise ValueError(f"unknown trap kind {kind!r}")
        super().__init__(reason)
        self.kind, self.reason, self.pc = kind, reason, pc
        self.instruction: str | None = None  #: disassembly of the faulting instruction
        self.location: str | None = None  #: file:line of its source, if known

    def __str__(self) -> str:
        where = f" at {self.pc:#x}" if self.pc is not None else ""
        inst = f" ({self.instruction})" if self.instruction else ""
        loc = f" [{self.location}]" if self.location else ""
        return f"trap {self.kind}{where}{inst}{loc}: {self.reason}"


class LimitReached(Exception):  # a stop condition, with the state intact
    """The step limit or the wall-clock limit stopped the run."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what} limit reached: {detail}")
        self.what = what

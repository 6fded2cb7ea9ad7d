"""`jrun --trace`: one line per executed instruction — cycle, pc, disassembly, effects.

Tracing single-steps the core and compares register files before and after each
instruction; it costs nothing when off because the fast path never calls it.
"""

from __future__ import annotations

from collections.abc import Callable

from threadpoolctl import threadpool_limits

from isa.registers import XREG_ABI
from iss.core import Core
from iss.errors import LimitReached
from iss.scalar import fv


def effects(before: tuple, after: tuple) -> str:
    """Registers, descriptors and semaphores that changed, as `name=value` pairs."""
    (x0, f0, d0, s0), (x1, f1, d1, s1) = before, after
    parts = [f"{XREG_ABI[i]}={v:#x}" for i, (a, v) in enumerate(zip(x0, x1, strict=True))
             if a != v and i < 32]  # fmt: skip
    parts += [f"f{i}={fv(v)!r}" for i, (a, v) in enumerate(zip(f0, f1, strict=True))
              if a != v]  # fmt: skip
    parts += [f"d{i}=[{v.describe()}]" for i, (a, v) in enumerate(zip(d0, d1, strict=True))
              if a != v]  # fmt: skip
    parts += [f"sem{i}={v}" for i, (a, v) in enumerate(zip(s0, s1, strict=True)) if a != v]
    return " ".join(parts)


def _snapshot(core: Core) -> tuple:
    s = core.state
    return list(s.X), list(s.F), list(s.D), list(s.sems)


def trace_run(core: Core, write: Callable[[str], None], max_steps: int | None = None) -> None:
    """Single-step `core` to halt (or a trap, which propagates), writing one line each."""
    with threadpool_limits(limits=1, user_api="blas"):  # as Core.run does
        _trace(core, write, max_steps)


def _trace(core: Core, write: Callable[[str], None], max_steps: int | None) -> None:
    state = core.state
    while not state.halted:
        if max_steps is not None and state.instret >= max_steps:
            raise LimitReached("step", f"{max_steps} instructions executed")
        pc, cycle = state.pc, core.timing.issue_cycle(state.instret)
        text = core.instruction_text(pc)
        before = _snapshot(core)
        core.step()
        write(f"{cycle:>10}  {pc:#010x}  {text:<44} {effects(before, _snapshot(core))}".rstrip())

"""Write protection: the loader protects .text, .rodata and the .weight buffers; a program's
stores and engine writes there trap with the range's name, the host may still bind them,
and strided tiles that step over a protected buffer are not refused."""

from __future__ import annotations

import numpy as np
import pytest

from asm import assemble_text
from debugger.expr import Evaluator, ExprError
from iss.errors import Trap
from iss.runtime import Simulator

HEAD = """
        .weight w, fp32, (4, 16)
        .output y, fp32, (4, 16)
        .bss
pad:    .space  64
        .rodata
table:  .word   1, 2, 3, 4
        .section .sram
buf:    .space  4 * 16 * 4
        .text
"""


def simulator(body: str) -> Simulator:
    result = assemble_text(HEAD + body + "        li      a0, 0\n        halt\n")
    assert result.ok, result.diagnostics
    sim = Simulator(result.program, machine="j1")
    sim.bind("w", np.arange(64, dtype=np.float32).reshape(4, 16))
    return sim


def trap_of(sim: Simulator) -> Trap:
    with pytest.raises(Trap) as caught:
        sim.run()
    return caught.value


@pytest.mark.parametrize(("target", "what"), [("w + 8", ".weight w"), ("table", ".rodata"),
                                              ("_start", ".text")])  # fmt: skip
def test_a_store_to_protected_memory_traps_with_its_name(target, what):
    trap = trap_of(simulator(f"_start: li t0, {target}\n        sw zero, 0(t0)\n"))
    assert trap.kind == "out_of_bounds"
    assert f"in the read-only {what}" in trap.reason


def test_an_engine_write_to_a_weight_traps_and_leaves_it_unchanged():
    sim = simulator("""
_start: li      t0, buf
        tset    d0, t0, 4, 16, fp32
        li      t0, w
        tset    d1, t0, 4, 16, fp32
        dma.copy d1, d0
        barrier
""")
    trap = trap_of(sim)
    assert trap.kind == "out_of_bounds" and "writes the read-only .weight w" in trap.reason
    assert (sim.read("w") == np.arange(64).reshape(4, 16)).all()


def test_a_strided_tile_whose_rows_step_over_a_weight_may_write():
    # row 0 in .bss just before the .j1.io buffers, row 1 in y: the tile's extent spans w,
    # but none of its rows touches it
    sim = simulator("""
_start: li      t0, buf
        tset    d0, t0, 2, 16, fp32
        li      t0, pad
        li      t1, y
        sub     t1, t1, t0
        tset    d1, t0, 2, 16, fp32
        tstride d1, t1
        dma.copy d1, d0
        barrier
""")
    assert sim.run() == 0
    memory = sim.state.memory
    assert memory.protection(sim.entry("w").address, 4) == ".weight w"


def test_host_writes_to_protected_memory_are_counted():
    sim = simulator("_start: nop\n")
    memory = sim.state.memory
    before = memory.generation
    sim.bind("y", np.zeros((4, 16), np.float32))  # not protected
    assert memory.generation == before
    sim.bind("w", np.ones((4, 16), np.float32))
    assert memory.generation == before + 1
    assert (sim.read("w") == 1).all()


def test_the_debugger_refuses_to_write_a_weight():
    sim = simulator("_start: nop\n")
    with pytest.raises(ExprError, match=r"read-only \.weight w"):
        Evaluator(sim.state, sim.program).assign("w", "0")

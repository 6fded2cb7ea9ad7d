"""The debugger engine going forward: breakpoints, watchpoints, stepping, traps, restart,
catch nan, interrupts and the performance views — each on a small program."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from debugger.engine import DebugError, Engine
from iss.runtime import Simulator

CALLS = """
        .section .data
buf:    .space 64
        .text
_start: li   t0, 4
        li   a0, 0
        la   s0, buf
loop:   addi a0, a0, 3
        sd   a0, 0(s0)
        call sub
        addi t0, t0, -1
        bnez t0, loop
        print.x a0
        halt
sub:    addi a1, a1, 1
        sd   a1, 8(s0)
        mv   s1, ra
        call leaf
        mv   ra, s1
        ret
leaf:   addi a2, a2, 2
        ret
"""

TILES = """
        .input  x, fp32, (4, 8)
        .output y, fp32, (4, 8)
        .section .sram
buf:    .space  4 * 8 * 4
        .text
_start: li      t0, x
        tset    d0, t0, 4, 8, fp32
        li      t0, buf
        tset    d1, t0, 4, 8, fp32
        li      t0, y
        tset    d2, t0, 4, 8, fp32
        dma.copy d1, d0
        signal  dma, sem0
        wait    vector, sem0
divide: vdiv    d1, d1, d1
        signal  vector, sem1
        wait    dma, sem1
        dma.copy d2, d1
        barrier
        halt
"""


def engine(tmp_path: Path, source: str, **kw) -> Engine:
    path = tmp_path / "program.jasm"
    path.write_text(source)
    printed: list[str] = []
    sim = Simulator.load(path, machine="j1-mini", defer=False, output=printed.append)
    eng = Engine(sim, **kw)
    eng.printed = printed
    return eng


def line_number(eng: Engine, text: str) -> int:
    """The source line of the first line containing `text`."""
    lines = Path(eng.sim.program.lines[0].file).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# -- locations ------------------------------------------------------------------------------
def test_resolve_labels_lines_and_numbers(tmp_path):
    eng = engine(tmp_path, CALLS)
    sub = eng.resolve("sub")
    assert eng.resolve("*" + str(sub)) == sub == eng.resolve(hex(sub))
    assert eng.resolve("sub+8") == sub + 8
    line = line_number(eng, "sub:")
    assert eng.resolve(f"program.jasm:{line}") == sub == eng.resolve(str(line))
    assert eng.line_addresses("program.jasm", line) == [sub]
    assert eng.line_of(sub)[1] == line
    assert eng.function_of(sub + 8) == "sub+0x8"
    for bad in ("nosuch", "program.jasm:999", "sub+zz"):
        with pytest.raises(DebugError):
            eng.resolve(bad)


# -- breakpoints ----------------------------------------------------------------------------
def test_breakpoint_hits_counts_and_continue(tmp_path):
    eng = engine(tmp_path, CALLS)
    bp = eng.add_breakpoint(eng.resolve("sub"))
    values = []
    for _ in range(4):
        stop = eng.cont()
        assert (stop.kind, stop.pc, stop.number) == ("breakpoint", bp.address, bp.number)
        values.append(eng.state.x(10))
    assert values == [3, 6, 9, 12] and bp.hits == 4
    assert eng.cont().kind == "halted"
    assert len(eng.printed) == 1 and eng.printed[0].endswith("a0 = 12 (0xc)")


def test_condition_ignore_temporary_disable_delete(tmp_path):
    eng = engine(tmp_path, CALLS)
    state = eng.state
    cond = eng.add_breakpoint(eng.resolve("sub"), condition=lambda: state.x(10) == 9)
    assert eng.cont().number == cond.number and state.x(10) == 9
    eng.delete(cond.number)
    eng.restart()
    skip = eng.add_breakpoint(eng.resolve("sub"), ignore=2)
    assert eng.cont().number == skip.number and state.x(10) == 9 and skip.hits == 3
    eng.enable(skip.number, False)
    temp = eng.add_breakpoint(eng.resolve("leaf"), temporary=True)
    assert eng.cont().number == temp.number
    assert temp.number not in eng.breakpoints
    assert eng.cont().kind == "halted"
    with pytest.raises(DebugError):
        eng.delete(temp.number)
    with pytest.raises(DebugError):
        eng.add_breakpoint(eng.resolve("buf"))


def test_breakpoint_in_a_tight_loop_stops_every_iteration(tmp_path):
    source = "        li t0, 5\nloop:   addi t0, t0, -1\n        bnez t0, loop\n        halt\n"
    eng = engine(tmp_path, source)
    eng.add_breakpoint(eng.resolve("loop"))
    seen = []
    while (stop := eng.cont()).kind == "breakpoint":
        seen.append(eng.state.x(5))
    assert seen == [5, 4, 3, 2, 1] and stop.kind == "halted"
    eng.restart()
    eng.breakpoints.clear()
    state = eng.state
    bp = eng.add_breakpoint(eng.resolve("loop"), condition=lambda: state.x(5) <= 3, ignore=1)
    assert eng.cont().kind == "breakpoint" and state.x(5) == 2 and bp.hits == 2
    assert eng.cont().kind == "breakpoint" and state.x(5) == 1
    assert eng.reverse_continue().instret == 7 and state.x(5) == 2  # the stop before


# -- watchpoints ----------------------------------------------------------------------------
def test_register_watchpoint_reports_old_new_and_writer(tmp_path):
    eng = engine(tmp_path, CALLS)
    wp = eng.add_watchpoint(register=("x", 12), what="a2")
    stop = eng.cont()
    leaf = eng.resolve("leaf")
    assert (stop.kind, stop.number, stop.at, stop.old, stop.new) == (
        "watchpoint", wp.number, leaf, 0, 2
    )  # fmt: skip
    assert stop.pc == leaf + 8 and eng.state.x(12) == 2
    assert eng.cont().new == 4


def test_memory_watchpoint_on_scalar_stores(tmp_path):
    eng = engine(tmp_path, CALLS)
    buf = eng.resolve("buf")
    wp = eng.add_watchpoint(address=buf + 8, nbytes=8)
    stop = eng.cont()
    assert stop.at == eng.resolve("sub") + 8
    assert int.from_bytes(stop.old, "little") == 0 and int.from_bytes(stop.new, "little") == 1
    eng.delete(wp.number)
    read = eng.add_watchpoint(address=buf, nbytes=8, kind="read")
    assert eng.cont().kind == "halted"  # nothing loads it
    eng.delete(read.number)


def test_read_and_access_watchpoints_on_loads(tmp_path):
    source = """
        .section .data
v:      .dword 41
        .text
        la   s0, v
        ld   a0, 0(s0)
        addi a0, a0, 1
        sd   a0, 0(s0)
        halt
"""
    eng = engine(tmp_path, source)
    v = eng.resolve("v")
    eng.add_watchpoint(address=v, nbytes=8, kind="read")
    stop = eng.cont()
    assert stop.kind == "watchpoint" and eng.state.x(10) == 41  # the load has executed
    assert stop.pc == stop.at + 8
    access = eng.add_watchpoint(address=v, nbytes=8, kind="access")
    stop = eng.cont()
    assert stop.number == access.number and int.from_bytes(stop.new, "little") == 42


def test_tile_watchpoints_and_catch_nan(tmp_path):
    eng = engine(tmp_path, TILES)
    x = np.arange(32, dtype=np.float32).reshape(4, 8)  # x[0, 0] = 0: 0 / 0 is NaN
    eng.bind("x", x)
    buf = eng.resolve("buf")
    from iss.tiles import Desc

    wp = eng.add_watchpoint(desc=Desc(buf, 4, 8, 6, 32), what="buf")
    stop = eng.cont()
    assert stop.number == wp.number and stop.new == x.tobytes()  # the dma.copy
    eng.catch_nan = True
    eng.enable(wp.number, False)
    stop = eng.cont()
    assert stop.kind == "nan" and stop.at == eng.resolve("divide")
    assert "(0, 0)" in stop.detail
    reads = eng.add_watchpoint(address=eng.sim.entry("y").address, nbytes=4, kind="write")
    assert eng.cont().number == reads.number
    assert eng.cont().kind == "halted"


# -- stepping -------------------------------------------------------------------------------
def test_stepi_next_step_finish_until_backtrace(tmp_path):
    eng = engine(tmp_path, CALLS)
    assert eng.stepi(3).instret == 3
    call = eng.resolve("loop") + 16
    eng.until(call)
    assert eng.state.pc == call
    stop = eng.nexti()
    assert stop.kind == "step" and eng.state.pc == call + 8 and not eng.frames
    eng.until(call)
    stop = eng.step()  # into sub
    assert eng.state.pc == eng.resolve("sub") and len(eng.frames) == 1
    eng.stepi(3)
    stop = eng.step()  # into leaf
    assert eng.state.pc == eng.resolve("leaf")
    trace = eng.backtrace()
    assert [pc for pc, _ in trace] == [eng.resolve("leaf"), eng.resolve("sub") + 32, call + 8]
    stop = eng.finish()
    assert stop.kind == "finish" and eng.state.pc == eng.resolve("sub") + 32
    eng.next()
    stop = eng.next()
    assert eng.state.pc == call + 8 and len(eng.frames) == 0
    with pytest.raises(DebugError):
        eng.finish()
    assert eng.advance(eng.resolve("sub")).kind == "until"


def test_next_steps_over_a_call_with_a_breakpoint_inside(tmp_path):
    eng = engine(tmp_path, CALLS)
    call = eng.resolve("loop") + 16
    eng.until(call)
    bp = eng.add_breakpoint(eng.resolve("leaf"))
    stop = eng.next()
    assert stop.number == bp.number  # a breakpoint in the callee still stops


# -- traps, halts, restart, interrupt ----------------------------------------------------
def test_trap_stops_at_the_faulting_instruction(tmp_path):
    source = "        li t0, 3\n        li a0, 7\nbad:    sd a0, 0(t0)\n        halt\n"
    eng = engine(tmp_path, source)
    stop = eng.cont()
    assert stop.kind == "trap" and stop.trap.kind == "misaligned"
    assert stop.pc == eng.resolve("bad") == stop.trap.pc and stop.trap.location
    assert eng.state.x(10) == 7
    assert eng.reverse_stepi().instret == stop.instret - 1


def test_restart_binds_the_inputs_again(tmp_path):
    eng = engine(tmp_path, TILES)
    x = np.ones((4, 8), np.float32)
    eng.bind("x", x)
    assert eng.cont().kind == "halted"
    np.testing.assert_array_equal(eng.sim.read("y"), x)
    eng.restart()
    assert eng.state.instret == 0 and eng.history_info()["steps"] == 0
    assert eng.cont().kind == "halted"
    np.testing.assert_array_equal(eng.sim.read("y"), x)


def test_interrupt_stops_an_endless_loop_with_state_intact(tmp_path):
    source = "loop:   addi a0, a0, 1\n        j loop\n"
    eng = engine(tmp_path, source)
    timer = threading.Timer(0.2, eng.interrupt)
    timer.start()
    stop = eng.cont()
    timer.join()
    assert stop.kind == "interrupted" and eng.state.x(10) > 0
    count = eng.state.x(10)
    assert eng.stepi(4).instret == stop.instret + 4 and eng.state.x(10) == count + 2


# -- performance ----------------------------------------------------------------------------
def test_perf_delta_regions_and_engine_queues(tmp_path):
    eng = engine(tmp_path, TILES)
    eng.bind("x", np.ones((4, 8), np.float32))
    region = eng.add_perf_region(eng.resolve("divide"), eng.resolve("divide") + 8)
    eng.perf_since_last_stop()
    eng.add_breakpoint(eng.resolve("divide"))
    eng.cont()
    delta = eng.perf_since_last_stop()
    assert delta.instret == eng.state.instret and delta.ops["dma"] == 1
    assert delta.busy["dma"] > 0 and delta.energy_j > 0
    info = {e.name: e for e in eng.engines_info()}
    assert info["dma"].ops == 1 and info["dma"].recent[0].text.startswith("dma.copy")
    assert info["dma"].in_flight  # issued a few cycles ago, still moving bytes
    eng.cont()
    assert region.entries == 1 and region.total.ops["vector"] == 1
    assert region.total.instret == 1 and region.total.utilisation()["vector"] >= 0


def test_hardware_loop_breakpoints_watchpoints_and_no_recording(tmp_path):
    source = """
        .section .data
v:      .dword 0
        .text
        la      s0, v
        loopi   3, done
body:   addi    a0, a0, 2
        sd      a0, 0(s0)
done:   halt
"""
    path = tmp_path / "program.jasm"
    path.write_text(source)
    sim = Simulator.load(path, machine="j1-mini", defer=False)
    eng = Engine(sim, record=False)
    eng.add_breakpoint(eng.resolve("body"))
    values = []
    while (stop := eng.cont()).kind == "breakpoint":
        values.append(eng.state.x(10))
    assert values == [0, 2, 4] and stop.kind == "halted"
    with pytest.raises(DebugError):
        eng.reverse_stepi()
    eng.restart()
    eng.breakpoints.clear()
    wp = eng.add_watchpoint(address=eng.resolve("v"), nbytes=8)
    stops = []
    while (stop := eng.cont()).kind == "watchpoint":
        stops.append((stop.pc, int.from_bytes(stop.new, "little")))
    body = eng.resolve("body")
    assert stops == [(body, 2), (body, 4), (eng.resolve("done"), 6)] and wp.hits == 3

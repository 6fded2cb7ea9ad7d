"""Reverse execution: going back restores the exact machine state, reverse-continue finds the
latest stop before now, goto N equals a fresh run of N steps — as properties over random
small programs (scalar code, stores, loops, DMA and vector tiles), plus the history budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debugger.engine import Engine
from iss.runtime import Simulator

PRELUDE = """
        .section .data
mem:    .space  256
        .section .sram
s:      .space  256
        .text
_start: la      s0, mem
        tset    d0, s0, 4, 8, fp32
        li      t1, s
        tset    d1, t1, 4, 8, fp32
        addi    t1, t1, 128
        tset    d2, t1, 4, 8, fp32
"""

REGS = ("a0", "a1", "a2", "a3")


def _op(draw) -> str:
    kind = draw(st.sampled_from(("addi", "add", "sd", "sw", "ld", "dma", "vadd", "dmaout")))
    r = lambda: draw(st.sampled_from(REGS))  # noqa: E731 - a short local drawer
    if kind == "addi":
        return f"addi {r()}, {r()}, {draw(st.integers(-100, 100))}"
    if kind == "add":
        return f"add {r()}, {r()}, {r()}"
    if kind in ("sd", "ld"):
        return f"{kind} {r()}, {8 * draw(st.integers(0, 31))}(s0)"
    if kind == "sw":
        return f"sw {r()}, {4 * draw(st.integers(0, 63))}(s0)"
    return {"dma": "dma.copy d1, d0", "vadd": "vadd d2, d1, d1", "dmaout": "dma.copy d0, d2"}[kind]


@st.composite
def programs(draw) -> str:
    lines = [_op(draw) for _ in range(draw(st.integers(1, 12)))]
    body = [_op(draw) for _ in range(draw(st.integers(1, 5)))]
    tail = [_op(draw) for _ in range(draw(st.integers(0, 6)))]
    count = draw(st.integers(1, 6))
    loop = [f"li t0, {count}", "body:", *body, "addi t0, t0, -1", "bnez t0, body"]
    return PRELUDE + "\n".join("        " + x for x in [*lines, *loop, *tail, "halt"]) + "\n"


def make(tmp: Path, source: str, **kw) -> Engine:
    path = tmp / "random.jasm"
    path.write_text(source)
    sim = Simulator.load(path, machine="j1-mini", defer=False, output=lambda text: None)
    return Engine(sim, **kw)


def snapshot(eng: Engine) -> tuple:
    """Everything a program can observe, plus the timing model's clock."""
    s, memory = eng.state, eng.state.memory
    return (
        list(s.X), list(s.F), list(s.D), list(s.sems), s.pc, s.instret, s.halted,
        [list(loop) for loop in s.loops], s.scratch,
        memory.read_bytes(eng.resolve("mem"), 256), memory.read_bytes(eng.resolve("s"), 256),
        eng.core.timing.total_cycles(s.instret), len(eng.frames),
    )  # fmt: skip


def total_steps(tmp: Path, source: str) -> int:
    eng = make(tmp, source)
    assert eng.cont().kind == "halted"
    return eng.state.instret


COMMON = settings(max_examples=25, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@COMMON
@given(source=programs(), data=st.data())
def test_forward_then_back_restores_the_exact_state(tmp_path, source, data):
    end = total_steps(tmp_path, source)
    interval = data.draw(st.sampled_from((None, 3, 17)))
    eng = make(tmp_path, source, checkpoint_interval=interval)
    start = data.draw(st.integers(0, end))
    forward = data.draw(st.integers(0, end - start))
    eng.stepi(start)
    before = snapshot(eng)
    eng.stepi(forward)
    chunks = data.draw(st.lists(st.integers(1, 5), max_size=4))
    back = forward
    for chunk in chunks:  # some single or short reverse steps, then the rest at once
        if chunk <= back:
            eng.reverse_stepi(chunk)
            back -= chunk
    eng.reverse_stepi(back)
    assert snapshot(eng) == before


@COMMON
@given(source=programs(), data=st.data())
def test_reverse_continue_finds_the_previous_stop(tmp_path, source, data):
    eng = make(tmp_path, source, checkpoint_interval=data.draw(st.sampled_from((None, 5))))
    address = data.draw(st.sampled_from(sorted(eng.locations.lines)))
    eng.add_breakpoint(address)
    watched = eng.resolve("mem") + 8 * data.draw(st.integers(0, 31))
    eng.add_watchpoint(address=watched, nbytes=8)
    forward = []
    while (stop := eng.cont()).kind in ("breakpoint", "watchpoint"):
        forward.append((stop.kind, stop.instret, stop.pc, snapshot(eng)))
    assert stop.kind == "halted"
    backward = []
    while (stop := eng.reverse_continue()).kind != "history-start":
        backward.append((stop.kind, stop.instret, stop.pc, snapshot(eng)))
    assert backward == forward[::-1]
    assert eng.state.instret == 0


@COMMON
@given(source=programs(), data=st.data())
def test_goto_equals_a_fresh_run_of_n_steps(tmp_path, source, data):
    end = total_steps(tmp_path, source)
    eng = make(tmp_path, source, checkpoint_interval=data.draw(st.sampled_from((None, 4))))
    eng.cont()
    for _ in range(3):
        n = data.draw(st.integers(0, end))
        eng.goto(n)
        fresh = make(tmp_path, source)
        fresh.stepi(n)
        assert snapshot(eng) == snapshot(fresh)


CALLS = """
        li   s1, 3
again:  li   a0, 1
        call twice
        addi s1, s1, -1
        bnez s1, again
        print.x a0
        halt
twice:  add  a0, a0, a0
        add  a0, a0, a0
        ret
"""


def test_reverse_step_next_and_finish(tmp_path):
    eng = make(tmp_path, PRELUDE + CALLS)
    printed = []
    eng._output = printed.append
    twice, again = eng.resolve("twice"), eng.resolve("again")
    bp = eng.add_breakpoint(twice + 8)
    eng.cont()
    assert len(eng.frames) == 1
    assert eng.reverse_step().pc == twice
    stop = eng.reverse_finish()
    assert stop.kind == "finish" and stop.pc == again + 8 and not eng.frames  # the call
    eng.delete(bp.number)
    eng.next()
    assert eng.state.pc == again + 16 and eng.state.x(10) == 4
    stop = eng.reverse_next()  # back over the whole call
    assert stop.pc == again + 8 and eng.state.x(10) == 1
    stop = eng.reverse_step()
    assert stop.pc == again
    assert eng.cont().kind == "halted"
    eng.reverse_stepi(3)
    eng.reverse_continue()
    assert len(printed) == 1  # replays do not print again
    assert eng.cont().kind == "halted" and len(printed) == 2  # running forward does


def test_history_budget_thins_but_reaches_back(tmp_path):
    source = (
        PRELUDE
        + """
        li   t0, 3000
loop:   andi a1, t0, 31
        slli a1, a1, 3
        add  a1, a1, s0
        sd   t0, 0(a1)
        dma.copy d1, d0
        addi t0, t0, -1
        bnez t0, loop
        halt
"""
    )
    eng = make(tmp_path, source, checkpoint_interval=500, history_budget=64 << 10)
    assert eng.cont().kind == "halted"
    info = eng.history_info()
    assert info["bytes"] <= info["budget"] and 2 <= info["checkpoints"] < 21000 // 500
    assert info["steps"] == eng.state.instret  # thinned, not lost
    end = eng.state.instret
    eng.goto(end - 1234)
    fresh = make(tmp_path, source)
    fresh.stepi(end - 1234)
    assert snapshot(eng) == snapshot(fresh)
    small = make(tmp_path, source, checkpoint_interval=500, history_budget=12 << 10)
    assert small.cont().kind == "halted"
    info = small.history_info()
    assert info["bytes"] <= info["budget"] + 3 * 4096
    assert 0 < info["steps"] < small.state.instret  # the oldest history went
    assert small.goto(0).kind == "history-start" and small.state.instret == info["start"]


def test_perf_regions_survive_going_back(tmp_path):
    eng = make(tmp_path, PRELUDE + CALLS)
    twice = eng.resolve("twice")
    region = eng.add_perf_region(twice, twice + 16)
    eng.cont()
    entries, total = region.entries, region.total
    assert entries == 3 and total.instret == 6
    eng.goto(5)
    eng.cont()
    assert (region.entries, region.total) == (entries, total)


def test_memory_written_by_the_user_is_undone_going_back(tmp_path):
    eng = make(tmp_path, PRELUDE + CALLS)
    mem = eng.resolve("mem")
    eng.stepi(10)
    eng.write_memory(mem, b"\x01\x02")
    eng.stepi(5)
    assert eng.state.memory.read_bytes(mem, 2) == b"\x01\x02"
    eng.reverse_stepi(10)
    assert eng.state.memory.read_bytes(mem, 2) == b"\x00\x00"
    np.testing.assert_equal(eng.state.instret, 5)

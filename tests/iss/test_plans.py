"""Replay plans (iss.plans): a replayed kernel call leaves exactly the machine an interpreted
one does — memory, registers and the report — and a call whose inputs changed is not
replayed stale."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from asm import Options, assemble_text
from isa import decode, dtypes
from iss.plans import Flow, register_uses
from iss.runtime import Simulator

KERNELS = Path(__file__).parents[2] / "programs" / "kernels"
REPS = 5

# y = x . W^T, REPS times over, the repeat count in s1: the kernel spills and restores s1,
# whose value differs at every call, so only a plan that restores what it holds is right.
# W is an input, or a weight (write-protected: iss.pruning trusts the copies from it)
GEMV_LOOP = f"""
        .include "abi.jasm"
        .include "gemm.jasm"
        .include "qgemv.jasm"
        .input  x, fp32, (1, 64)
        .{{role}} w, q4_1, (96, 64)
        .output y, fp32, (1, 96)
        .output reps, int32, (1,)
        .text
_start: li      s1, 0
.Lloop: li      a0, y
        li      a1, x
        li      a2, w
        li      a3, 0
        li      a4, 1
        li      a5, 64
        li      a6, 96
        call    qgemv_q4_1_fp32
        addi    s1, s1, 1
        li      t0, {REPS}
        blt     s1, t0, .Lloop
        li      t0, reps
        sw      s1, 0(t0)
        li      a0, 0
        halt
"""

# out[i] = 2 * n for a count n read by a scalar load inside the leaf function
DOUBLE = """
        .input  n, int32, (1,)
        .output out, int32, (2,)
        .text
_start: li      s0, out
        li      a0, n
        mv      a1, s0
        call    double
        li      a0, n
        addi    a1, s0, 4
        call    double
        li      a0, 0
        halt
double: lw      t0, 0(a0)
        add     t0, t0, t0
        sw      t0, 0(a1)
        ret
"""


def assembled(source: str, defines: dict[str, int] | None = None):
    result = assemble_text(source, options=Options([str(KERNELS)], defines or {}))
    assert result.ok, result.diagnostics
    return result.program


def instructions(source: str) -> list:
    data = assembled(f"        .text\n_start: {source}\n        halt\n").section(".text").data
    return [decode(int.from_bytes(data[i : i + 8], "little")) for i in range(0, len(data), 8)]


def simulator(source: str, defines: dict[str, int] | None = None, **kw) -> Simulator:
    return Simulator(assembled(source, defines), machine="j1", **kw)


def gemv_inputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 64)).astype(np.float32)
    w = dtypes.pack_q4_1(rng.standard_normal((96, 64)).astype(np.float32))
    return x, w


def gemv_loop(role: str = "input") -> str:
    return GEMV_LOOP.replace("{role}", role)


# 32 x 32 chunks: six per call through the kernel's four slots, so slots are refilled
SMALL_CHUNKS = {"QGEMV_PN": 32, "QGEMV_KC": 32}


def run_gemv(plans: bool, seeds=(0,), role="input",
             defer=False) -> tuple[Simulator, list[np.ndarray]]:  # fmt: skip
    defines = SMALL_CHUNKS if role == "weight" else None
    sim = simulator(gemv_loop(role), defines, plans=plans, defer=defer)
    outputs = []
    for i, seed in enumerate(seeds):
        x, w = gemv_inputs(seed)
        if i:
            sim.restart()
        sim.bind("x", x)
        sim.bind("w", w)
        assert sim.run() == 0
        assert sim.read("reps")[0] == REPS
        outputs.append(sim.read("y"))
    return sim, outputs


@pytest.mark.parametrize("role", ["input", "weight"])
def test_replayed_calls_leave_the_interpreted_machine_bit_for_bit(role):
    planned, ys = run_gemv(plans=True, seeds=(0, 0), role=role)
    plain, want = run_gemv(plans=False, seeds=(0, 0), role=role)
    for y, expected in zip(ys, want, strict=True):
        np.testing.assert_array_equal(y, expected)
    assert planned.report() == plain.report()  # cycles, energy, utilisation, traffic
    assert planned.state.instret == plain.state.instret
    assert planned.state.X == plain.state.X and planned.state.F == plain.state.F
    assert planned.state.D == plain.state.D and planned.state.sems == plain.state.sems
    for name in ("dram", "sram", "acc"):
        assert np.array_equal(planned.state.memory.arrays[name], plain.state.memory.arrays[name])
    # the first call of the first run is recorded; every later one is replayed, but for
    # weights the second run's first: binding them again may have changed them
    recorded = 2 if role == "weight" else 1
    assert sum(planned.core.plans.replays.values()) == 2 * REPS - recorded


def step_name(step) -> str:
    if isinstance(step, functools.partial):
        return step.func.__name__
    return getattr(step, "__qualname__", type(step).__name__)


def test_a_plan_streaming_weights_skips_overwritten_copies_and_trusts_the_slots():
    # recorded while the slots' copies are deferred (iss.deferred): the weights it trusts
    # are the ones the copies bring, as an interpreted run without deferral computes
    sim, ys = run_gemv(plans=True, seeds=(0, 0), role="weight", defer=True)
    _, want = run_gemv(plans=False, seeds=(0, 0), role="weight")
    for y, expected in zip(ys, want, strict=True):
        np.testing.assert_array_equal(y, expected)
    (group,) = sim.core.plans.groups.values()
    (plan,) = (p for g in group for p in g.plans.values())
    assert plan.generation == sim.state.memory.generation  # it trusts the weights
    names = [step_name(step) for step in plan.steps]
    # six chunks each copy a block of x and one of W into one of four slots, and three
    # panels of y are copied out: 15 copies. The W blocks of the first two chunks are
    # overwritten in their slots unread (the products trust the slots): 13 run
    assert names.count("copyto") == 15 - 2
    assert names.count("quiet_float_product") == 6  # every product trusts its weights


def test_the_gemv_matches_numpy():
    _, (y,) = run_gemv(plans=True)
    x, w = gemv_inputs(0)
    weights = dtypes.unpack(w, dtypes.by_name("q4_1")).astype(np.float64)
    np.testing.assert_allclose(y, x.astype(np.float64) @ weights.T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("role", ["input", "weight"])
def test_new_weights_and_inputs_are_used_not_the_recorded_ones(role):
    _, ys = run_gemv(plans=True, seeds=(0, 1, 0), role=role)
    _, want = run_gemv(plans=False, seeds=(0, 1, 0), role=role)
    for y, expected in zip(ys, want, strict=True):
        np.testing.assert_array_equal(y, expected)


def test_a_value_read_by_a_scalar_load_is_checked_before_replaying():
    sim = simulator(DOUBLE, plans=True)
    results = []
    for n in (3, 3, 5, 5):
        if results:
            sim.restart()
        sim.bind("n", np.array([n], dtype=np.int32))
        assert sim.run() == 0
        results.append(sim.read("out").tolist())
    assert results == [[6, 6], [6, 6], [10, 10], [10, 10]]
    plans = sim.core.plans
    # the first call is recorded (the function's first); the second call site (a1 differs)
    # at its second call; both again at the first n = 5 (their loads read other values)
    assert sum(plans.recorded.values()) == 4
    assert sum(plans.replays.values()) == 3  # the other calls


def test_plans_stand_aside_for_step_limits_and_traces():
    sim = simulator(gemv_loop(), plans=True, record_events=True)
    x, w = gemv_inputs(0)
    sim.bind("x", x)
    sim.bind("w", w)
    assert sim.run() == 0
    assert not sim.core.plans.replays  # an event trace needs every instruction


@pytest.mark.parametrize(
    ("text", "reads", "writes"),
    [
        ("add a0, a1, a2", [("X", 11), ("X", 12)], [("X", 10)]),
        ("taddi d3, 64", [("D", 3)], [("D", 3)]),
        ("beq a0, zero, 16", [("X", 10), ("X", 0)], []),
        ("sd s1, 8(sp)", [("X", 2), ("X", 9)], []),
        ("addi zero, a0, 1", [("X", 10)], []),
    ],
)
def test_register_uses_come_from_the_templates(text, reads, writes):
    uses = register_uses(instructions(text)[0])
    assert sorted(uses.reads) == sorted(reads) and list(uses.writes) == writes


def test_a_spilled_register_is_not_a_dependency_but_a_used_one_is():
    insts = instructions("sd s1, 0(sp)\n        ld s1, 0(sp)\n        add t0, s2, s1")
    flow = Flow()
    assert flow.instruction(register_uses(insts[0]), 0x100) == ("X", 9)  # stores s1's value
    flow.instruction(register_uses(insts[1]), 0x100)
    assert flow.origin[("X", 9)] == ("X", 9)  # s1 holds its own value again
    flow.instruction(register_uses(insts[2]), None)
    assert flow.used == {("X", 2), ("X", 18), ("X", 9)}  # sp, s2 and, through t0, s1

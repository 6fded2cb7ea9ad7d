"""The timing model overlaps engines where semaphores allow and serialises them where they
do not; the race detector catches a missing wait; runs are deterministic."""

from __future__ import annotations

import pytest

from iss.race import RaceError
from iss.runtime import Simulator

PROLOGUE = """
        .input  x, bf16, (128, 128)
        .section .sram
a:      .space  128 * 128 * 2
b:      .space  128 * 128 * 2
        .section .acc
c:      .space  128 * 128 * 4
        .text
        li      t0, x
        tset    d0, t0, 128, 128, bf16
        li      t1, a
        tset    d1, t1, 128, 128, bf16
        li      t2, b
        tset    d2, t2, 128, 128, bf16
        li      t3, c
        tset    d3, t3, 128, 128, fp32
"""

OVERLAP = (
    PROLOGUE
    + """
        dma.copy d1, d0              ; load a
        signal  dma, sem0
        wait    matrix, sem0         ; the MXU needs a
        mm      d3, d1, d1
        dma.copy d2, d0              ; load b: nothing orders it after the MXU
        barrier
        halt
"""
)


def run(tmp_path, source: str, race: str = "error") -> Simulator:
    path = tmp_path / "t.jasm"
    path.write_text(source)
    sim = Simulator.load(path, machine="j1", race=race, record_events=True)
    sim.run()
    return sim


def events(sim: Simulator) -> list:
    return sim.core.timing.events


def test_dma_overlaps_the_mxu_where_no_semaphore_orders_them(tmp_path):
    load_a, mm, load_b = events(run(tmp_path, OVERLAP))
    assert (load_a.engine, mm.engine, load_b.engine) == ("dma", "matrix", "dma")
    assert mm.start >= load_a.end  # serialised by sem0
    assert load_b.start < mm.end  # overlapped: the DMA queue does not wait for the MXU


def test_a_wait_serialises_the_second_load_after_the_mxu(tmp_path):
    source = OVERLAP.replace("        dma.copy d2, d0              ; load b",
                             "        signal  matrix, sem1\n        wait    dma, sem1\n"
                             "        dma.copy d2, d0              ; load b")  # fmt: skip
    _, mm, load_b = events(run(tmp_path, source))
    assert load_b.start >= mm.end


def test_the_front_end_waits_at_a_barrier(tmp_path):
    sim = run(tmp_path, OVERLAP)
    last_end = max(e.end for e in events(sim))
    assert sim.report().cycles >= last_end


def test_a_missing_wait_is_a_race_naming_both_instructions(tmp_path):
    source = OVERLAP.replace("        wait    matrix, sem0         ; the MXU needs a\n", "")
    with pytest.raises(RaceError) as e:
        run(tmp_path, source)
    message = str(e.value)
    assert "matrix reads sram" in message and "dma may still be writing" in message
    lines = source.splitlines()
    dma_line = 1 + next(i for i, t in enumerate(lines) if "load a" in t)
    mm_line = 1 + next(i for i, t in enumerate(lines) if t.strip().startswith("mm "))
    assert f"t.jasm:{dma_line}" in message and f"t.jasm:{mm_line}" in message


def test_warn_mode_reports_and_continues(tmp_path):
    source = OVERLAP.replace("        wait    matrix, sem0         ; the MXU needs a\n", "")
    sim = run(tmp_path, source, race="warn")
    assert len(sim.race.races) == 1
    assert sim.state.halted


def test_same_program_same_cycles_and_energy(tmp_path):
    first, second = run(tmp_path, OVERLAP).report(), run(tmp_path, OVERLAP).report()
    assert first.as_dict() == second.as_dict()
    assert first.energy_j > 0 and first.macs == {"bf16": 128 * 128 * 128}


# Row and column tiling: two products whose contraction (K) or width (N) is at most half the
# array's run side by side in its halves, unless they add into the same accumulator bytes.
TILED = """
        .section .sram
a:      .space  128 * 128 * 2
        .section .acc
c1:     .space  128 * 128 * 4
c2:     .space  128 * 128 * 4
        .text
        li      t0, a
        tset    d0, t0, 128, {k1}, bf16       ; A of the first product (M = 128)
        tset    d1, t0, {k1}, {n1}, bf16      ; its B
        tset    d2, t0, 128, {k2}, bf16
        tset    d3, t0, {k2}, {n2}, bf16
        li      t1, c1
        tset    d4, t1, 128, {n1}, fp32
        li      t1, {second_out}
        tset    d5, t1, 128, {n2}, fp32
        mm      d4, d0, d1
        mm{acc} d5, d2, d3
        barrier
        halt
"""


def tiled_pair(tmp_path, k1, n1, k2, n2, second_out="c2", acc=""):
    source = TILED.format(k1=k1, n1=n1, k2=k2, n2=n2, second_out=second_out, acc=acc)
    first, second = events(run(tmp_path, source))
    return first, second, 128  # occupancy: M = 128 rows at one row per cycle (bf16)


@pytest.mark.parametrize(
    "k1, n1, k2, n2",
    [(64, 128, 64, 128), (128, 64, 128, 64), (64, 64, 64, 64), (64, 64, 128, 64)],
)
def test_products_that_fit_disjoint_halves_of_the_array_run_side_by_side(tmp_path, k1, n1, k2,
                                                                          n2):  # fmt: skip
    first, second, occupancy = tiled_pair(tmp_path, k1, n1, k2, n2)
    assert second.start < first.start + occupancy


@pytest.mark.parametrize(
    "k1, n1, k2, n2",
    [(128, 128, 64, 64), (64, 128, 128, 64), (64, 64, 128, 128), (128, 64, 64, 128)],
)
def test_products_that_share_a_quadrant_run_one_after_the_other(tmp_path, k1, n1, k2, n2):
    first, second, occupancy = tiled_pair(tmp_path, k1, n1, k2, n2)
    assert second.start >= first.start + occupancy


def test_products_into_the_same_accumulator_do_not_overlap(tmp_path):
    first, second, occupancy = tiled_pair(tmp_path, 64, 128, 64, 128, second_out="c1",
                                          acc=".acc")  # fmt: skip
    assert second.start >= first.start + occupancy


def test_mxu_utilisation_counts_the_share_of_the_array_in_use(tmp_path):
    sim = run(tmp_path, TILED.format(k1=64, n1=128, k2=64, n2=128, second_out="c2", acc=""))
    matrix = sim.core.timing.engines["matrix"]
    assert matrix.busy == 128  # two half-array products of 128 cycles each


def test_quantised_weights_load_at_the_packed_byte_rate(tmp_path):
    source = """
        .section .sram
x:      .space  128 * 2
w:      .space  128 * 4 * 34
        .section .acc
c:      .space  128 * 4
        .text
        li      t0, x
        tset    d0, t0, 1, 128, bf16
        li      t0, w
        tset    d1, t0, 128, 128, {wtype}
        li      t0, c
        tset    d2, t0, 1, 128, fp32
        mm.tb   d2, d0, d1
        barrier
        halt
"""
    fill = 256
    occupancy = {}
    for wtype in ("bf16", "q4_1", "q8_0"):
        (event,) = events(run(tmp_path, source.format(wtype=wtype)))
        occupancy[wtype] = event.end - event.start - fill
    # 128 x 128 weights: bf16 rows load one per cycle; packed blocks at 256 bytes per cycle
    assert occupancy == {"bf16": 128, "q4_1": 128 * 4 * 20 // 256, "q8_0": -(-128 * 4 * 34 // 256)}


# An engine overlaps its latency with independent work only: an instruction that reads what
# an earlier instruction of the same engine writes waits for it (NeuronCore: the vector
# engine's 100-cycle overhead is per dependent back-to-back instruction).
CHAIN = """
        .section .sram
x:      .space  128 * 128 * 4
y:      .space  128 * 128 * 4
z:      .space  128 * 128 * 4
        .text
        li      t0, x
        tset    d0, t0, 128, 128, fp32
        li      t0, y
        tset    d1, t0, 128, 128, fp32
        li      t0, z
        tset    d2, t0, 128, 128, fp32
        tset    d3, t0, 128, 64, fp32         ; z's left half
        tstridei d3, 512
        addi    t0, t0, 256
        tset    d4, t0, 128, 64, fp32         ; z's right half
        tstridei d4, 512
        {first}
        {second}
        barrier
        halt
"""


@pytest.mark.parametrize(
    "first, second, dependent",
    [
        ("vadd d1, d0, d0", "vmul d2, d1, d1", True),  # reads y, which vadd writes
        ("vadd d1, d0, d0", "vmul d2, d0, d0", False),  # independent
        ("vadd d3, d0, d0", "vmul d4, d4, d4", False),  # z's other half: no byte shared
        ("vadd d3, d0, d0", "vmul d1, d2, d2", True),  # all of z includes the left half
    ],
)
def test_an_engine_waits_for_its_own_results_only(tmp_path, first, second, dependent):
    source = CHAIN.format(first=first, second=second)
    if "d3" in first:  # vadd on 128 x 64 halves needs 128 x 64 sources
        source = source.replace("vadd d3, d0, d0", "vadd d3, d4, d4")
    a, b = events(run(tmp_path, source))
    assert (b.start >= a.end) is dependent


def test_an_mm_acc_chain_is_not_held_up_by_the_fill_latency(tmp_path):
    source = TILED.format(k1=128, n1=128, k2=128, n2=128, second_out="c1", acc=".acc")
    first, second = events(run(tmp_path, source))
    assert second.start == first.start + 128  # back to back, not after the 256-cycle fill


@pytest.mark.parametrize("second, races", [("d4", False), ("d2", True)])
def test_engines_writing_side_by_side_columns_do_not_race(tmp_path, second, races):
    # the vector unit writes z's left half, the activation unit z's right half (no race) or
    # all of z (a race): the detector decides overlap exactly, as the timing model does
    source = CHAIN.format(first="vadd d3, d3, d3", second=f"act.copy {second}, {second}, f0, f1")
    if races:
        with pytest.raises(RaceError):
            run(tmp_path, source)
    else:
        assert not run(tmp_path, source).race.races

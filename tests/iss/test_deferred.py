"""Deferred matrix products and DMA copies (iss.deferred) never change what a program sees:
each check runs the same program deferred and eager and compares with NumPy."""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iss import tiles
from iss.errors import Trap
from iss.runtime import Simulator
from iss.tiles import Desc

ROOT = Path(__file__).resolve().parents[2]
GEMM = ROOT / "programs" / "examples" / "gemm.jasm"
FP32 = 6  # isa.dtypes code


def simulate(tmp_path: Path, source: str, defer: bool, **inputs) -> Simulator:
    path = tmp_path / "program.jasm"
    path.write_text(source)
    sim = Simulator.from_source([path], machine="j1", race="error", defer=defer)
    for name, value in inputs.items():
        sim.bind(name, value)
    sim.run()
    return sim


@pytest.mark.parametrize(
    "m, k, n, fp32", [(256, 512, 1024, True), (384, 256, 512, False), (128, 128, 512, True)]
)
def test_gemm_deferred_matches_eager_and_numpy(m, k, n, fp32):
    storage = np.float32 if fp32 else ml_dtypes.bfloat16
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k)).astype(storage)
    b = rng.standard_normal((k, n)).astype(storage)
    results = {}
    for defer in (True, False):
        defines = {"M": m, "K": k, "N": n} | ({"FP32": 1} if fp32 else {})
        sim = Simulator.load(GEMM, defines=defines, race="error", defer=defer)
        sim.bind("a", a)
        sim.bind("b", b)
        sim.run()
        results[defer] = (sim.read("c"), sim.report(), sim.state.memory.deferred)
    reference = a.astype(np.float64) @ b.astype(np.float64)
    bound = 4e-7 * np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)) * k
    for c, _, _ in results.values():
        assert np.all(np.abs(c - reference) <= bound)
    (deferred_c, deferred_report, state), (eager_c, eager_report, _) = results.values()
    np.testing.assert_allclose(deferred_c, eager_c, rtol=1e-5, atol=1e-4)
    assert state.matmuls == 1  # every tile product merged into one matmul over the whole C
    assert state.copies == 0  # every copy was read in place by the MXU, never made
    assert deferred_report.cycles == eager_report.cycles  # timing never sees deferral
    assert deferred_report.energy_j == eager_report.energy_j


TILES = """
        .input  x, fp32, (128, 128)
        .input  y, fp32, (128, 128)
        .output out, fp32, (128, 128)
        .output out2, fp32, (128, 128)
        .section .sram
s:      .space  128 * 128 * 4
s2:     .space  128 * 128 * 4
        .section .acc
c:      .space  128 * 128 * 4
        .text
        li      t0, x
        tset    d0, t0, 128, 128, fp32
        li      t0, y
        tset    d1, t0, 128, 128, fp32
        li      t0, s
        tset    d2, t0, 128, 128, fp32
        li      t0, s2
        tset    d3, t0, 128, 128, fp32
        li      t0, c
        tset    d4, t0, 128, 128, fp32
        li      t0, out
        tset    d5, t0, 128, 128, fp32
        li      t0, out2
        tset    d6, t0, 128, 128, fp32
"""


def inputs():
    rng = np.random.default_rng(7)
    return {
        "x": rng.standard_normal((128, 128)).astype(np.float32),
        "y": rng.standard_normal((128, 128)).astype(np.float32),
    }


def both(tmp_path, body: str) -> tuple[Simulator, Simulator]:
    return tuple(simulate(tmp_path, TILES + body, defer, **inputs()) for defer in (True, False))


def test_a_copy_holds_its_source_as_it_was(tmp_path):
    # copy x to SRAM, overwrite x in DRAM (scalar store, then a DMA), read the SRAM copy
    body = """
        dma.copy d2, d0
        barrier
        li      t0, x
        li      t1, 0x40490fdb              ; pi
        sw      t1, 0(t0)
        dma.copy d0, d1                     ; x = y
        barrier
        dma.copy d5, d2                     ; out = the copy of the old x
        barrier
        halt
    """
    for sim in both(tmp_path, body):
        np.testing.assert_array_equal(sim.read("out"), inputs()["x"])


def test_mm_reads_its_operands_as_they_were(tmp_path):
    # C = x.x with x read in place from DRAM through a deferred copy; then x changes
    body = """
        dma.copy d2, d0
        signal  dma, sem0
        wait    matrix, sem0
        mm      d4, d2, d2
        signal  matrix, sem1
        wait    dma, sem1
        dma.copy d0, d1                     ; x = y after the MXU has read it
        barrier
        dma.copy d5, d4
        barrier
        halt
    """
    x = inputs()["x"]
    for sim in both(tmp_path, body):
        np.testing.assert_allclose(sim.read("out"), x @ x, rtol=1e-5, atol=1e-4)


def test_partly_overwritten_copy(tmp_path):
    # a vector op writes the top half of an SRAM copy: the rest must still be the copy
    body = """
        dma.copy d2, d0
        signal  dma, sem0
        wait    vector, sem0
        li      t0, s
        tset    d7, t0, 64, 128, fp32
        li      t1, 0x3f800000
        fmv.f.x f1, t1
        vfill   d7, f1
        signal  vector, sem1
        wait    dma, sem1
        dma.copy d5, d2
        barrier
        halt
    """
    want = inputs()["x"].copy()
    want[:64] = 1.0
    for sim in both(tmp_path, body):
        np.testing.assert_array_equal(sim.read("out"), want)


def test_stored_accumulator_and_its_copy_agree_to_the_bit(tmp_path):
    # an mm.acc chain goes to DRAM; then the vector unit copies the accumulator to SRAM
    # and on to DRAM: the two must be the same bits, evaluated once
    body = """
        dma.copy d2, d0
        dma.copy d3, d1
        signal  dma, sem0
        wait    matrix, sem0
        mm      d4, d2, d3
        mm.acc  d4, d3, d2
        signal  matrix, sem1
        wait    dma, sem1
        dma.copy d5, d4                     ; out = C
        signal  dma, sem2
        wait    vector, sem2
        vcvt    d2, d4                      ; s = C, read from the accumulator
        signal  vector, sem3
        wait    dma, sem3
        dma.copy d6, d2                     ; out2 = s
        barrier
        halt
    """
    x, y = inputs()["x"], inputs()["y"]
    for sim in both(tmp_path, body):
        out, out2 = sim.read("out"), sim.read("out2")
        np.testing.assert_array_equal(out.view(np.uint32), out2.view(np.uint32))
        np.testing.assert_allclose(out, x @ y + y @ x, rtol=1e-5, atol=1e-4)


def test_a_trap_leaves_a_pending_chain_intact(tmp_path):
    body = """
        dma.copy d2, d0
        signal  dma, sem0
        wait    matrix, sem0
        mm      d4, d2, d2
        mm.acc  d2, d2, d2                  ; C in SRAM: bad_memory
        halt
    """
    path = tmp_path / "trap.jasm"
    path.write_text(TILES + body)
    sim = Simulator.from_source([path], machine="j1", defer=True)
    x = inputs()["x"]
    sim.bind("x", x)
    with pytest.raises(Trap) as trap:
        sim.run()
    assert trap.value.kind == "bad_memory"
    c = sim.program.symbol("c").value
    got = np.frombuffer(sim.state.memory.read_bytes(c, 128 * 128 * 4), np.float32)
    np.testing.assert_allclose(got.reshape(128, 128), x @ x, rtol=1e-5, atol=1e-4)


def test_reset_runs_the_program_again(tmp_path):
    sim = Simulator.load(GEMM, defines={"M": 128, "K": 256, "N": 512, "FP32": 1})
    rng = np.random.default_rng(3)
    reports = []
    for _ in range(2):
        a = rng.standard_normal((128, 256)).astype(np.float32)
        b = rng.standard_normal((256, 512)).astype(np.float32)
        sim.bind("a", a)
        sim.bind("b", b)
        assert sim.run() == 0
        np.testing.assert_allclose(sim.read("c"), a @ b, rtol=1e-5, atol=1e-4)
        reports.append(sim.report())
        sim.reset()
    assert reports[0].cycles == reports[1].cycles
    assert reports[0].instructions == reports[1].instructions
    assert sim.state.instret == 0 and sim.state.pc == sim.program.entry


def _bytes(d: Desc) -> set[int]:
    return {d.base + r * d.stride + i for r in range(d.rows) for i in range(d.row_bytes)}


tile = st.builds(
    lambda base, rows, cols, stride_extra: Desc(
        base * 4, rows, cols, FP32, cols * 4 + stride_extra * 4
    ),
    st.integers(0, 200),
    st.integers(1, 6),
    st.integers(1, 8),
    st.integers(0, 6),
)


@settings(max_examples=1000, deadline=None)
@given(tile, tile, st.booleans())
def test_disjoint_is_never_wrong(d, e, same_stride):
    if same_stride:
        e = e._replace(stride=d.stride)
    if tiles.disjoint(d, e):
        assert not _bytes(d) & _bytes(e)


def test_a_copy_of_pending_products_read_again_through_new_descriptors(tmp_path):
    # Twice: c = s.s for new s, copy the top of c out to DRAM and back to SRAM, multiply by
    # it into another accumulator tile and read that alone. The second round's descriptors are
    # new but equal to the first's: the books once answered for them from the first round and
    # skipped making c real, so the second product read the old c.
    round_ = """
        dma.copy d2, {src}                  ; s = x, then y
        signal  dma, sem0
        wait    matrix, sem0
        mm      d4, d2, d2                  ; c = s.s, pending
        signal  matrix, sem1
        wait    dma, sem1
        li      t0, c
        tset    d7, t0, 64, 128, fp32       ; the top of c
        li      t0, stage
        tset    d8, t0, 64, 128, fp32
        dma.copy d8, d7
        li      t0, s2
        tset    d9, t0, 64, 128, fp32
        dma.copy d9, d8                     ; s2 = the top of c, through DRAM
        signal  dma, sem2
        wait    matrix, sem2
        li      t0, c2
        tset    d10, t0, 64, 128, fp32
        mm      d10, d9, d2                 ; c2 = (top of s.s) . s
        signal  matrix, sem3
        wait    vector, sem3
        vadd    d10, d10, d10               ; reads c2: evaluates its product alone
        signal  vector, sem4
        wait    dma, sem4
        li      t0, {dst}
        tset    d11, t0, 64, 128, fp32
        dma.copy d11, d10
        barrier
    """
    body = (
        "        .output stage, fp32, (64, 128)\n        .section .acc\n"
        "c2:     .space  64 * 128 * 4\n        .text\n"
        + round_.format(src="d0", dst="out")
        + round_.format(src="d1", dst="out2")
        + "        halt\n"
    )
    x, y = (inputs()[k].astype(np.float64) for k in ("x", "y"))
    for sim in both(tmp_path, body):
        for s, name in ((x, "out"), (y, "out2")):
            want = 2 * ((s @ s)[:64] @ s)
            np.testing.assert_allclose(sim.read(name)[:64], want, rtol=1e-4, atol=1e-3)

"""Vector reductions, unary operations, casts, select, transpose, iota, masks and fills, and
every trap the vector unit raises."""

from __future__ import annotations

import numpy as np
import pytest
from engine_rig import FLOATS, PLAIN, Rig, random_values, same
from hypothesis import given, settings
from hypothesis import strategies as st
from test_vector_binary import round_int

from isa import dtypes
from isa.memmap import REGIONS

PRECISION = {"fp8e4m3": 4, "fp8e5m2": 3, "bf16": 8, "fp16": 11, "fp32": 24}
SHAPES = st.tuples(st.sampled_from([1, 2, 127, 128]), st.sampled_from([1, 5, 64]))


def as_domain(x: np.ndarray, name: str) -> np.ndarray:
    """Values as the vector unit reads them: fp32 for float types (int32 never mixes in
    here), int64 for ints (exact)."""
    return x.astype(np.float32) if name in FLOATS else x.astype(np.int64)


def first_argmax(row: list) -> int:
    """Index of the first NaN, else of the first element equal to the maximum."""
    for j, value in enumerate(row):
        if value != value:
            return j
    return row.index(max(row))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["vrsum", "vrmax", "vrmin", "vrargmax"]), st.sampled_from(PLAIN),
       st.sampled_from(PLAIN), SHAPES, st.integers(0, 2**32 - 1))  # fmt: skip
def test_reductions(mnemonic, s_t, d_t, shape, seed):
    rig = Rig()
    x = random_values(np.random.default_rng(seed), shape, s_t)
    rig.put(1, x, s_t, pad=4)
    rig.place(2, (shape[0], 1), d_t, "acc")
    op = rig.run(mnemonic, dd=2, ds=1)
    v = as_domain(x, s_t)
    if mnemonic == "vrsum":
        if s_t in FLOATS:
            with np.errstate(invalid="ignore"):  # Inf - Inf
                want = np.sum(v, axis=1, dtype=np.float32)
        else:
            want = ((v.sum(axis=1) + 2**31) % 2**32 - 2**31).astype(np.int32)
    elif mnemonic == "vrargmax":
        want = np.array([first_argmax(row.tolist()) for row in v])
    else:  # Python's max / min keep the first of equal values (-0 and +0)
        pick = max if mnemonic == "vrmax" else min
        want = np.array([np.nan if np.isnan(row.astype(float)).any() else pick(row.tolist())
                         for row in v])  # fmt: skip
        want = want.astype(np.float32) if s_t in FLOATS else want.astype(np.int64)
    assert same(rig.get(2)[:, 0], dtypes.cast(np.asarray(want), dtypes.by_name(d_t)))
    assert op.work == x.size


def test_reduction_ties_and_int32_wrap(rig):
    rig.put(1, np.array([[3, 7, 7, -1], [2**31 - 1, 1, 0, 0]], np.int32), "int32")
    rig.place(2, (2, 1), "int32")
    rig.run("vrargmax", dd=2, ds=1)
    assert rig.get(2)[:, 0].tolist() == [1, 0]
    rig.run("vrsum", dd=2, ds=1)
    assert rig.get(2)[:, 0].tolist() == [16, -(2**31)]
    rig.put(3, np.array([[1.0, np.nan, 5.0, np.nan]], np.float32), "fp32")
    rig.place(4, (1, 1), "fp32")
    rig.run("vrargmax", dd=4, ds=3)
    assert rig.get(4)[0, 0] == 1.0
    rig.run("vrmin", dd=4, ds=3)
    assert np.isnan(rig.get(4)[0, 0])
    rig.put(5, np.array([[0.0, -0.0, 1.0], [-0.0, 0.0, 1.0]], np.float32), "fp32")
    rig.place(6, (2, 1), "fp32")
    rig.run("vrmin", dd=6, ds=5)  # the first of equal values
    assert np.signbit(rig.get(6)[:, 0]).tolist() == [False, True]


@pytest.mark.parametrize("s_t", PLAIN)
def test_unary(rig, s_t):
    x = random_values(np.random.default_rng(1), (16, 8), s_t)
    rig.put(1, x, s_t)
    rig.place(2, (16, 8), s_t)
    v = as_domain(x, s_t)
    if s_t in FLOATS:
        magnitude = np.abs(v.astype(np.float64))
        expected = {"vabs": magnitude, "vneg": -v.astype(np.float64)}
    else:
        wrap = (np.abs(v) + 2**31) % 2**32 - 2**31
        expected = {"vabs": wrap, "vneg": (-v + 2**31) % 2**32 - 2**31, "vnot": ~v}
    for mnemonic, values in expected.items():
        rig.run(mnemonic, dd=2, ds=1)
        want = dtypes.cast(values.astype(np.float32 if s_t in FLOATS else np.int64), s_t)
        assert same(rig.get(2), want), mnemonic
    if s_t in FLOATS:
        rig.trap("bad_dtype", "vnot", dd=2, ds=1)


def test_unary_float_sign_bits_and_int32_edges(rig):
    rig.put(1, np.array([[-0.0, -np.nan, -np.inf, 3.0]], np.float32), "fp32")
    rig.place(2, (1, 4), "fp32")
    rig.run("vabs", dd=2, ds=1)
    assert same(rig.get(2), np.array([[0.0, np.nan, np.inf, 3.0]], np.float32))
    assert not np.signbit(rig.get(2)[0, 1])  # the sign bit of NaN is cleared too
    rig.run("vneg", dd=2, ds=1)
    assert same(rig.get(2), np.array([[0.0, np.nan, np.inf, -3.0]], np.float32))
    assert not np.signbit(rig.get(2)[0, 1])  # and flipped
    assert np.signbit(rig.get(1)[0, 1])
    rig.put(3, np.array([[-(2**31), 5]], np.int32), "int32")
    rig.place(4, (1, 2), "int32")
    rig.run("vabs", dd=4, ds=3)
    assert rig.get(4).tolist() == [[-(2**31), 5]]
    rig.run("vnot", dd=4, ds=3)
    assert rig.get(4).tolist() == [[2**31 - 1, -6]]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PLAIN), st.sampled_from(PLAIN), st.booleans(), st.integers(0, 2**32 - 1))
def test_vcvt_is_dtypes_cast(s_t, d_t, saturate, seed):
    rig = Rig()
    x = random_values(np.random.default_rng(seed), (9, 12), s_t)
    rig.put(1, x, s_t)
    rig.place(2, (9, 12), d_t, pad=4)
    rig.run("vcvt.sat" if saturate else "vcvt", dd=2, ds=1)
    assert same(rig.get(2), dtypes.cast(x, d_t, saturate=saturate))


def test_vcvt_saturation_examples(rig):
    rig.put(1, np.array([[1000.0, -np.inf, np.nan, 3.7]], np.float32), "fp32")
    rig.place(2, (1, 4), "fp8e4m3")
    rig.run("vcvt", dd=2, ds=1)
    assert np.isnan(rig.get(2)[0, :3].astype(np.float32)).all()
    rig.run("vcvt.sat", dd=2, ds=1)
    assert rig.get(2).astype(np.float32).tolist()[0][:2] == [448.0, -448.0]
    rig.place(3, (1, 4), "int8")
    rig.run("vcvt", dd=3, ds=1)
    assert rig.get(3).tolist() == [[127, -128, 0, 4]]


def test_vsel_converts_each_value_and_treats_nan_as_true(rig):
    rig.put(1, np.array([[0.0, -0.0, np.nan, 2.0]], np.float32), "fp32")  # mask
    rig.put(2, np.array([[1.0, 2.0, 3.0, 300.0]], np.float32), "fp32")
    rig.put(3, np.array([[-1, -2, -3, -4]], np.int32), "int32")
    rig.place(4, (1, 4), "int8")
    rig.run("vsel", dd=4, dm=1, da=2, db=3)
    assert rig.get(4).tolist() == [[-1, -2, 3, 127]]
    rig.place(5, (1, 3), "int8")
    rig.trap("shape_mismatch", "vsel", dd=5, dm=1, da=2, db=3)
    rig.put(6, np.array([[np.nan, 0.0, -0.0, 1e-40]]).astype(np.float32), "bf16")  # bf16 mask
    rig.run("vsel", dd=4, dm=6, da=2, db=3)
    assert rig.get(4).tolist() == [[1, -2, -3, 127]]


def test_vtrans(rig):
    x = random_values(np.random.default_rng(2), (128, 40), "bf16")
    rig.put(1, x, "bf16", pad=8)
    rig.place(2, (40, 128), "fp32", "acc")
    op = rig.run("vtrans", dd=2, ds=1)
    assert same(rig.get(2), x.T.astype(np.float32))
    assert op.work == x.size
    rig.place(3, (128, 40), "fp32")
    rig.trap("shape_mismatch", "vtrans", dd=3, ds=1)
    rig.place(4, (40, 129), "fp32")
    rig.put(5, np.zeros((129, 40), np.float32), "fp32")
    rig.trap("tile_too_large", "vtrans", dd=4, ds=5)


def test_vtrans_overlap_traps_as_bad_memory(rig):
    d = rig.put(1, np.zeros((8, 8), np.float32), "fp32")
    rig.put(2, np.zeros((8, 8), np.float32), "fp32", address=d.base + 4 * 8 * 4)
    trap = rig.trap("bad_memory", "vtrans", dd=2, ds=1)
    assert "overlaps" in trap.reason
    rig.trap("bad_memory", "vtrans", dd=1, ds=1)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PLAIN), st.integers(-(2**63), 2**63 - 1) | st.integers(-1000, 1000),
       st.integers(-(2**15), 2**15 - 1), st.integers(-(2**15), 2**15 - 1))  # fmt: skip
def test_viota_is_exact_then_rounded_once(d_t, base, c1, c2):
    rig = Rig()
    rig.place(1, (5, 7), d_t)
    rig.set_x(6, base)
    rig.run("viota", dd=1, rs1=6, c1=c1, c2=c2)
    exact = [[base + c1 * i + c2 * j for j in range(7)] for i in range(5)]
    t = dtypes.by_name(d_t)
    if t.is_int:
        info = np.iinfo(t.storage)
        want = np.array([[min(max(v, info.min), info.max) for v in row] for row in exact])
    else:  # rounded once to the type's precision; cast then only decides overflow
        bits = PRECISION[d_t]
        want = np.array([[float(round_int(v, bits)) for v in row] for row in exact])
    assert same(rig.get(1), dtypes.cast(want, t))


def test_affine_rounds_once_into_narrow_types(rig):
    # 2**62 + 2**54 + 1 lies just above a bf16 tie (ulp 2**55 at 2**62): once-rounded it
    # goes up; rounding to float64 first (2**62 + 2**54, the tie) would give 2**62.
    rig.place(1, (1, 2), "bf16")
    rig.set_x(6, 2**62 + 2**54 + 1)
    rig.run("viota", dd=1, rs1=6, c1=0, c2=-2)
    assert rig.get(1).astype(np.float64).tolist() == [[2.0**62 + 2.0**55, 2.0**62]]
    rig.run("vfill.x", dd=1, rs1=6)
    assert rig.get(1).astype(np.float64).tolist() == [[2.0**62 + 2.0**55] * 2]


def test_vmask_causal(rig):
    scores = np.arange(6 * 8, dtype=np.float32).reshape(6, 8)
    rig.put(1, scores, "fp32")
    rig.place(2, (6, 8), "bf16")
    rig.set_f(3, -np.inf)
    rig.set_x(7, 2)  # query offset 2 - key offset 0
    op = rig.run("vmask", dd=2, ds=1, rs1=7, c1=1, c2=-1, fs=3)
    i, j = np.indices((6, 8))
    want = np.where(j <= i + 2, scores, -np.inf).astype(np.float32)
    assert same(rig.get(2).astype(np.float32), want)
    assert op.work == 48
    rig.set_x(7, -(2**63))  # threshold far beyond every ramp value: nothing kept
    rig.run("vmask", dd=2, ds=1, rs1=7, c1=1, c2=-1, fs=3)
    assert np.isneginf(rig.get(2).astype(np.float32)).all()
    rig.set_x(7, 2**63 - 1)
    rig.run("vmask", dd=1, ds=1, rs1=7, c1=1, c2=-1, fs=3)  # in place, everything kept
    assert same(rig.get(1), scores)


def test_fills(rig):
    rig.place(1, (3, 4), "fp8e4m3")
    rig.set_f(2, 1000.0)
    rig.run("vfill", dd=1, fs=2)
    assert np.isnan(rig.get(1).astype(np.float32)).all()  # fp8e4m3 overflow is NaN
    rig.place(3, (3, 4), "int8")
    rig.set_f(2, -2.5)
    rig.run("vfill", dd=3, fs=2)
    assert (rig.get(3) == -2).all()
    rig.set_x(4, -(2**40))
    op = rig.run("vfill.x", dd=3, rs1=4)
    assert (rig.get(3) == -128).all()
    assert op.work == 12
    rig.place(5, (2, 2), "fp32", "acc")
    rig.set_x(4, 2**24 + 1)
    rig.run("vfill.x", dd=5, rs1=4)
    assert (rig.get(5) == 2**24).all()


# -- traps -------------------------------------------------------------------------------


def test_vector_traps(rig):
    rig.put(1, np.ones((4, 32), np.float32), "fp32")
    rig.put(2, np.ones((4, 32), np.float32), "fp32")
    rig.place(3, (4, 32), "fp32")
    rig.place(4, (4, 32), "q8_0")
    trap = rig.trap("bad_dtype", "vadd", dd=3, da=1, db=4)
    assert "q8_0" in trap.reason
    rig.trap("bad_dtype", "vand", dd=3, da=1, db=2)
    rig.put(5, np.ones((4, 32), np.int32), "int32")
    rig.trap("bad_dtype", "vdiv", dd=3, da=5, db=5)
    rig.trap("bad_dtype", "vand.x", dd=3, da=1, rs=0)  # an fp32 tile makes the op fp32
    rig.put(6, np.ones((4, 32), np.float32), "fp32", "dram")
    trap = rig.trap("bad_memory", "vadd", dd=3, da=6, db=2)
    assert "dram" in trap.reason
    rig.put(7, np.ones((129, 2), np.float32), "fp32")
    rig.place(8, (129, 2), "fp32")
    rig.trap("tile_too_large", "vneg", dd=8, ds=7)
    rig.state.D[12] = rig.state.D[1]._replace(depth=2, plane=1024)
    assert "depth 2" in rig.trap("tile_too_large", "vadd", dd=3, da=12, db=2).reason
    rig.state.D[9] = rig.state.D[1]._replace(base=rig.state.D[1].base + 2)
    rig.trap("misaligned", "vadd", dd=3, da=9, db=2)
    sram_end = REGIONS["sram"] + rig.state.memory.sizes["sram"]
    rig.state.D[10] = rig.state.D[1]._replace(base=sram_end - 4 * 32 * 4 + 4)
    rig.trap("out_of_bounds", "vadd", dd=3, da=10, db=2)
    rig.trap("out_of_bounds", "vfill", dd=10, fs=0)
    rig.place(11, (4, 31), "fp32")
    rig.trap("shape_mismatch", "vadd", dd=11, da=1, db=2)
    rig.trap("shape_mismatch", "vrsum", dd=3, ds=1)
    rig.trap("shape_mismatch", "vcvt", dd=11, ds=1)
    rig.trap("shape_mismatch", "vmask", dd=11, ds=1, rs1=0, c1=0, c2=0, fs=0)


def test_alias_reads_every_source_first(rig):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    rig.put(1, x, "fp32")
    rig.state.D[2] = rig.state.D[1]._replace(stride=0)  # row 0, repeated 3 times
    rig.run("vsub", dd=1, da=2, db=1)  # dd overlaps both sources
    assert rig.get(1).tolist() == (x[0] - x).tolist()
    op = rig.run("vadd", dd=1, da=1, db=1)
    assert [a.write for a in op.accesses] == [False, False, True]
    assert {a.memory for a in op.accesses} == {"sram"}
    assert [a.nbytes for a in op.accesses] == [48, 48, 48]

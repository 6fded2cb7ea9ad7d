"""Matrix unit `mm`: every input dtype, `.acc` and `.tb`, exact int8 at K = 128 extremes,
IEEE propagation, recorded work and accesses, and every trap."""

from __future__ import annotations

import numpy as np
import pytest
from engine_rig import Rig, same
from hypothesis import given, settings
from hypothesis import strategies as st

from isa import dtypes
from isa.memmap import ACC_BASE
from iss.engines.matrix import ACCUMULATOR

INPUTS = list(ACCUMULATOR)


def small_integers(rng: np.random.Generator, shape, name: str) -> np.ndarray:
    """Values every input dtype holds exactly, small enough that every fp32 partial sum is
    exact too (|sum| <= 128 * 8 * 8): float results then do not depend on the BLAS order."""
    if name == "int8":
        return rng.integers(-128, 128, size=shape).astype(np.int8)
    return dtypes.cast(rng.integers(-8, 9, size=shape).astype(np.float64) / 2, name)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(INPUTS), st.sampled_from([1, 5, 128]), st.sampled_from([1, 7, 128]),
       st.sampled_from([1, 9, 128, 512]), st.booleans(), st.booleans(),
       st.integers(0, 2**32 - 1))  # fmt: skip
def test_mm_is_exact_on_exactly_representable_sums(name, m, k, n, accumulate, transposed, seed):
    if transposed and n > 128:
        n = 128
    rig = Rig()
    rng = np.random.default_rng(seed)
    a = small_integers(rng, (m, k), name)
    b = small_integers(rng, (k, n), name)
    rig.put(1, a, name, pad=32)
    rig.put(2, np.ascontiguousarray(b.T) if transposed else b, name)
    acc_t = ACCUMULATOR[name]
    c0 = (rng.integers(-1000, 1000, size=(m, n))).astype(dtypes.by_name(acc_t).storage)
    if n == 512:  # 128 x 512 fp32 fills j1-mini's whole accumulator memory
        rig.put(3, c0, acc_t, "acc", address=ACC_BASE)
    else:
        rig.put(3, c0, acc_t, "acc", pad=64)
    flags = ".acc" * accumulate + ".tb" * transposed
    op = rig.run(f"mm{flags}", dc=3, da=1, db=2)
    product = a.astype(np.int64) @ b.astype(np.int64) if name == "int8" else (
        a.astype(np.float64) @ b.astype(np.float64))  # fmt: skip
    want = product + c0 if accumulate else product
    assert same(rig.get(3), want.astype(c0.dtype))
    assert (op.work, op.work_dtype, op.shape) == (m * k * n, name, (m, k, n))
    assert [(x.memory, x.write) for x in op.accesses] == [
        ("sram", False),
        ("sram", False),
        ("acc", True),
    ]


def test_fp32_inputs_round_like_fp32_blas():
    rig = Rig()
    rng = np.random.default_rng(7)
    a = rng.standard_normal((64, 128)).astype(np.float32)
    b = rng.standard_normal((128, 300)).astype(np.float32)
    rig.put(1, a, "fp32")
    rig.put(2, b, "fp32")
    rig.place(3, (64, 300), "fp32", "acc")
    rig.run("mm", dc=3, da=1, db=2)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    bound = 128 * np.finfo(np.float32).eps * (np.abs(a) @ np.abs(b))
    assert (np.abs(rig.get(3) - exact) <= bound).all()


def test_int8_extremes_at_k_128_are_exact_and_accumulation_wraps(rig):
    rig.put(1, np.full((2, 128), -128, np.int8), "int8")
    rig.put(2, np.full((128, 3), -128, np.int8), "int8")
    c0 = np.array([[0, 2**31 - 2**21, -5], [-(2**31), 2**31 - 1, 7]], np.int32)
    rig.put(3, c0, "int32", "acc")
    rig.run("mm.acc", dc=3, da=1, db=2)
    full = c0.astype(np.int64) + 2**21
    assert rig.get(3).tolist() == ((full + 2**31) % 2**32 - 2**31).tolist()
    assert rig.get(3)[0, 1] == -(2**31)  # 2**31 wrapped
    rig.put(4, np.full((128, 3), 127, np.int8), "int8")
    rig.run("mm", dc=3, da=1, db=4)
    assert (rig.get(3) == -128 * 127 * 128).all()


def test_ieee_special_values_propagate(rig):
    a = np.array([[np.inf, 1.0], [np.nan, 0.0], [2e38, 2e38]], np.float32)
    b = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)
    rig.put(1, a.astype(np.float32), "fp32")
    rig.put(2, b, "fp32")
    rig.place(3, (3, 2), "fp32", "acc")
    rig.run("mm", dc=3, da=1, db=2)
    got = rig.get(3)
    assert got[0, 0] == np.inf and np.isnan(got[0, 1]) and np.isnan(got[1]).all()
    assert got[2, 0] == np.inf  # overflow of the fp32 sum


def test_mm_traps(rig):
    rig.put(1, np.ones((4, 8), np.float32), "bf16")
    rig.put(2, np.ones((8, 16), np.float32), "bf16")
    rig.place(3, (4, 16), "fp32", "acc")
    rig.run("mm", dc=3, da=1, db=2)
    # bad_dtype: wrong accumulator, mixed inputs, int32 and quantised inputs
    rig.place(4, (4, 16), "int32", "acc")
    assert "accumulate into fp32" in rig.trap("bad_dtype", "mm", dc=4, da=1, db=2).reason
    rig.put(5, np.ones((8, 16), np.float32), "fp16")
    rig.trap("bad_dtype", "mm", dc=3, da=1, db=5)
    rig.put(6, np.ones((4, 8), np.int32), "int32")
    rig.put(7, np.ones((8, 16), np.int32), "int32")
    rig.trap("bad_dtype", "mm", dc=4, da=6, db=7)
    rig.place(8, (4, 32), "q8_0")
    rig.trap("bad_dtype", "mm", dc=3, da=8, db=2)
    # tile_too_large: M, K, N and N with .tb
    rig.put(9, np.ones((129, 8), np.float32), "bf16")
    rig.place(10, (129, 16), "fp32", "acc")
    assert "M = 129" in rig.trap("tile_too_large", "mm", dc=10, da=9, db=2).reason
    rig.put(11, np.ones((4, 130), np.float32), "bf16")
    rig.put(12, np.ones((130, 16), np.float32), "bf16")
    assert "K = 130" in rig.trap("tile_too_large", "mm", dc=3, da=11, db=12).reason
    rig.put(13, np.ones((8, 513), np.float32), "bf16")
    rig.place(14, (4, 513), "fp32", "acc")
    assert "N = 513" in rig.trap("tile_too_large", "mm", dc=14, da=1, db=13).reason
    rig.put(15, np.ones((129, 8), np.float32), "bf16")
    rig.place(16, (4, 129), "fp32", "acc")
    rig.trap("tile_too_large", "mm.tb", dc=16, da=1, db=15)
    # shape_mismatch: K of B, and C
    rig.put(17, np.ones((9, 16), np.float32), "bf16")
    rig.trap("shape_mismatch", "mm", dc=3, da=1, db=17)
    rig.trap("shape_mismatch", "mm.tb", dc=3, da=1, db=2)
    rig.place(18, (4, 15), "fp32", "acc")
    rig.trap("shape_mismatch", "mm", dc=18, da=1, db=2)
    # bad_memory: inputs outside SRAM, C outside ACC
    rig.put(19, np.ones((4, 8), np.float32), "bf16", "acc")
    assert "must be in sram" in rig.trap("bad_memory", "mm", dc=3, da=19, db=2).reason
    rig.place(20, (4, 16), "fp32", "sram")
    assert "must be in acc" in rig.trap("bad_memory", "mm", dc=20, da=1, db=2).reason
    rig.put(21, np.ones((8, 16), np.float32), "bf16", "dram")
    rig.trap("bad_memory", "mm", dc=3, da=1, db=21)
    # misaligned and out_of_bounds
    rig.state.D[22] = rig.state.D[1]._replace(base=rig.state.D[1].base + 1)
    rig.trap("misaligned", "mm", dc=3, da=22, db=2)
    rig.state.D[23] = rig.state.D[3]._replace(base=ACC_BASE + (1 << 18) - 64)
    rig.trap("out_of_bounds", "mm", dc=23, da=1, db=2)


@pytest.mark.parametrize("name", INPUTS)
def test_operands_are_read_through_strided_views(rig, name):
    rng = np.random.default_rng(8)
    a = small_integers(rng, (16, 32), name)
    b = small_integers(rng, (32, 24), name)
    rig.put(1, a, name, pad=64)
    rig.put(2, b, name, pad=16)
    acc_t = ACCUMULATOR[name]
    rig.place(3, (16, 24), acc_t, "acc", pad=32)
    rig.run("mm", dc=3, da=1, db=2)
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert same(rig.get(3), want.astype(dtypes.by_name(acc_t).storage))


# Block-quantised weights: the loader dequantises exactly as GGUF (and the DMA engine) does and
# converts to A's dtype (bf16 rounds, fp32 is exact), so mm.tb on packed blocks equals the
# product with those weights.
@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["q4_1", "q8_0"]), st.sampled_from(["bf16", "fp32"]),
       st.sampled_from([1, 3, 128]),
       st.sampled_from([32, 96, 128]), st.sampled_from([1, 64, 128]), st.booleans(),
       st.integers(0, 2**32 - 1))  # fmt: skip
def test_mm_tb_on_quantised_weights_uses_their_values_in_a_dtype(name, adt, m, k, n, accumulate,
                                                                  seed):  # fmt: skip
    rig = Rig()
    rng = np.random.default_rng(seed)
    x = dtypes.cast(rng.integers(-8, 9, size=(m, k)).astype(np.float64) / 4, adt)
    packed = dtypes.pack_q4_1 if name == "q4_1" else dtypes.pack_q8_0
    blocks = packed(rng.standard_normal((n, k)).astype(np.float32))
    rig.put(1, x, adt)
    rig.put(2, blocks, name, pad=2)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    rig.put(3, c0, "fp32", "acc")
    op = rig.run("mm.acc.tb" if accumulate else "mm.tb", dc=3, da=1, db=2)
    w = dtypes.cast(dtypes.unpack(blocks, name), adt).astype(np.float64)  # fp32: exact
    want = x.astype(np.float64) @ w.T + (c0 if accumulate else 0)
    np.testing.assert_allclose(rig.get(3), want, rtol=1e-6, atol=1e-5)
    assert (op.work_dtype, op.shape, op.weight_bytes) == (adt, (m, k, n), blocks.size)


def test_quantised_weights_need_tb_and_a_bf16_or_fp32_a(rig):
    blocks = dtypes.pack_q8_0(np.ones((32, 32), np.float32))
    rig.put(1, np.ones((4, 32), np.float32), "fp32")
    rig.put(2, blocks, "q8_0")
    rig.place(3, (4, 32), "fp32", "acc")
    rig.put(5, np.ones((4, 32), np.int8), "int8")
    rig.place(6, (4, 32), "int32", "acc")
    assert "bf16 or fp32 da" in rig.trap("bad_dtype", "mm.tb", dc=6, da=5, db=2).reason
    rig.put(4, dtypes.cast(np.ones((4, 32)), "bf16"), "bf16")
    assert "`.tb`" in rig.trap("bad_dtype", "mm", dc=3, da=4, db=2).reason
    rig.run("mm.tb", dc=3, da=4, db=2)
    assert (rig.get(3) == 32).all()

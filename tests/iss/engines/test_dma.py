"""DMA engine: 2-D/3-D strided copies with conversion and GGUF dequantisation, gathers
(plain and quantised tables), overlap, recorded bytes, and every trap."""

from __future__ import annotations

import numpy as np
import pytest
from engine_rig import PLAIN, Rig, bits, random_values, same
from gguf import GGMLQuantizationType
from gguf.quants import dequantize, quantize
from hypothesis import given, settings
from hypothesis import strategies as st

from isa import dtypes
from isa.memmap import REGIONS
from iss import tiles

MEMORIES = ("dram", "sram", "acc")
GGML = {"q4_1": GGMLQuantizationType.Q4_1, "q8_0": GGMLQuantizationType.Q8_0}


def expected_copy(x: np.ndarray, s_t: str, d_t: str) -> np.ndarray:
    """Same dtype: the bits, NaN payloads included; otherwise dtypes.cast."""
    return x.copy() if s_t == d_t else dtypes.cast(x, d_t)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PLAIN), st.sampled_from(PLAIN), st.sampled_from(MEMORIES),
       st.sampled_from(MEMORIES), st.sampled_from([1, 3, 200]), st.sampled_from([1, 20]),
       st.sampled_from([0, 4, 36]), st.integers(0, 2**32 - 1))  # fmt: skip
def test_copy_2d_converts_between_any_memories(s_t, d_t, src_mem, dst_mem, rows, cols, pad, seed):
    rig = Rig()
    x = random_values(np.random.default_rng(seed), (rows, cols), s_t)
    src = rig.put(1, x, s_t, src_mem, pad)
    rig.place(2, (rows, cols), d_t, dst_mem, pad=8)
    op = rig.run("dma.copy", dd=2, ds=1)
    want = expected_copy(x, s_t, d_t)
    assert np.array_equal(bits(rig.get(2)), bits(want)) if s_t == d_t else same(rig.get(2), want)
    dst = rig.state.D[2]
    assert op.work == rows * max(src.row_bytes, dst.row_bytes)
    assert [(a.memory, a.write, a.nbytes) for a in op.accesses] == [
        (src_mem, False, rows * src.row_bytes),
        (dst_mem, True, rows * dst.row_bytes),
    ]


def put_3d(rig: Rig, reg: int, x: np.ndarray, d_t: str, memory: str, stride_pad: int,
           plane_pad: int) -> tiles.Desc:  # fmt: skip
    """A depth x rows x cols tile with padded rows and planes."""
    t = dtypes.by_name(d_t)
    depth, rows, cols = x.shape
    stride = cols * t.block_bytes + stride_pad
    plane = rows * stride + plane_pad
    base = rig.alloc(memory, depth * plane)
    desc = tiles.Desc(base, rows, cols, t.code, stride, depth, plane)
    rig.state.D[reg] = desc
    tiles.view(rig.state.memory, desc)[0][...] = x
    return desc


def test_copy_3d_strided_with_conversion(rig):
    x = random_values(np.random.default_rng(9), (3, 5, 7), "fp32")
    put_3d(rig, 1, x, "fp32", "dram", 12, 40)
    put_3d(rig, 2, np.zeros((3, 5, 7), np.float16), "fp16", "sram", 2, 6)
    op = rig.run("dma.copy", dd=2, ds=1)
    assert same(rig.get(2), dtypes.cast(x, "fp16"))
    assert op.work == 3 * 5 * 7 * 4
    # the gaps between rows and planes are untouched
    desc = rig.state.D[2]
    raw = rig.state.memory.read_bytes(desc.base, tiles.extent(desc))
    written = np.zeros(len(raw), bool)
    for p in range(3):
        for i in range(5):
            start = p * desc.plane + i * desc.stride
            written[start : start + 14] = True
    assert not any(np.frombuffer(raw, np.uint8)[~written])
    put_3d(rig, 3, np.zeros((2, 5, 7), np.float16), "fp16", "sram", 0, 0)
    rig.trap("shape_mismatch", "dma.copy", dd=3, ds=1)


@pytest.mark.parametrize("q_t", ["q4_1", "q8_0"])
@pytest.mark.parametrize("d_t", ["fp32", "bf16", "int8"])
def test_copy_dequantises_like_gguf(rig, q_t, d_t):
    x = np.random.default_rng(10).standard_normal((6, 96)).astype(np.float32) * 3
    packed = quantize(x, GGML[q_t])
    rig.put(1, packed, q_t, "dram", pad=2)
    rig.place(2, (6, 96), d_t, "sram")
    op = rig.run("dma.copy", dd=2, ds=1)
    want = dtypes.cast(dequantize(packed, GGML[q_t]), d_t)
    assert same(rig.get(2), want)
    assert op.work == 6 * max(packed.shape[1], 96 * dtypes.by_name(d_t).block_bytes)


def test_overlapping_copy_reads_the_whole_source_first(rig):
    x = np.arange(40, dtype=np.float32).reshape(8, 5)
    for d_t in ("fp32", "int32"):  # a raw move and a converting copy
        src = rig.put(1, x, "fp32", "sram")
        code = dtypes.by_name(d_t).code
        rig.state.D[2] = src._replace(base=src.base + src.stride, dtype=code)  # a row further
        rig.run("dma.copy", dd=2, ds=1)
        assert rig.get(2).tolist() == x.tolist()


@pytest.mark.parametrize("q_t", [None, "q4_1", "q8_0"])
@pytest.mark.parametrize("index_shape", ["column", "row"])
def test_gather_rows(rig, q_t, index_shape):
    table = np.random.default_rng(11).standard_normal((50, 64)).astype(np.float32)
    if q_t is None:
        desc = rig.put(1, table, "fp32", "dram", pad=16)
        rows_f32 = table
    else:
        packed = quantize(table, GGML[q_t])
        desc = rig.put(1, packed, q_t, "dram", pad=4)
        rows_f32 = dequantize(packed, GGML[q_t])
    index = np.array([7, 3, 49, 3, 20], np.int32)
    rig.put(2, index[:, None] if index_shape == "column" else index[None, :], "int32", "sram")
    rig.place(3, (5, 64), "bf16", "sram")
    op = rig.run("dma.gather", dd=3, ds=1, di=2)
    assert same(rig.get(3), dtypes.cast(rows_f32[index], "bf16"))
    # Only the rows gathered count; the access is the whole table, whatever the indices
    # (the engine's hazard checks cannot know them before reading them).
    reads = [a for a in op.accesses if not a.write]
    table_read = reads[-1]
    offset = desc.base - REGIONS["dram"]
    assert table_read.memory == "dram" and table_read.nbytes == 5 * desc.row_bytes
    assert table_read.lo == offset
    assert table_read.hi == offset + 49 * desc.stride + desc.row_bytes
    assert op.work == 5 * max(desc.row_bytes, 64 * 2)


def test_gather_traps(rig):
    rig.put(1, np.zeros((10, 8), np.float32), "fp32", "dram")
    rig.put(2, np.array([[1], [9], [10], [-1]], np.int32), "int32")
    rig.place(3, (4, 8), "fp32")
    trap = rig.trap("index_out_of_range", "dma.gather", dd=3, ds=1, di=2)
    assert "di[2] = 10" in trap.reason and "[0, 10)" in trap.reason
    rig.put(2, np.array([[1], [9], [0], [-1]], np.int32), "int32")
    assert "di[3] = -1" in rig.trap("index_out_of_range", "dma.gather", dd=3, ds=1, di=2).reason
    rig.put(4, np.zeros((4, 1), np.int8), "int8")
    rig.trap("bad_dtype", "dma.gather", dd=3, ds=1, di=4)
    rig.put(5, np.zeros((2, 2), np.int32), "int32")
    rig.trap("shape_mismatch", "dma.gather", dd=3, ds=1, di=5)
    rig.put(6, np.zeros((4, 1), np.int32), "int32")
    rig.place(7, (4, 9), "fp32")
    rig.trap("shape_mismatch", "dma.gather", dd=7, ds=1, di=6)
    rig.place(8, (4, 32), "q8_0")
    rig.put(9, np.zeros((10, 32), np.float32), "fp32", "dram")
    rig.trap("bad_dtype", "dma.gather", dd=8, ds=9, di=6)
    rig.state.D[10] = rig.state.D[1]._replace(depth=2)
    rig.trap("shape_mismatch", "dma.gather", dd=3, ds=10, di=6)
    rig.state.D[11] = rig.state.D[1]._replace(base=rig.state.D[1].base + 2)
    rig.trap("misaligned", "dma.gather", dd=3, ds=11, di=6)
    rig.state.D[12] = rig.state.D[1]._replace(base=REGIONS["dram"] + (1 << 24) - 8)
    rig.trap("out_of_bounds", "dma.gather", dd=3, ds=12, di=6)


def test_copy_traps(rig):
    rig.put(1, np.zeros((4, 32), np.float32), "fp32", "dram")
    rig.place(2, (4, 32), "q4_1")
    assert "cannot quantise" in rig.trap("bad_dtype", "dma.copy", dd=2, ds=1).reason
    rig.place(3, (4, 31), "fp32")
    rig.trap("shape_mismatch", "dma.copy", dd=3, ds=1)
    rig.place(4, (4, 32), "bf16")
    rig.state.D[5] = rig.state.D[4]._replace(base=rig.state.D[4].base + 1)
    rig.trap("misaligned", "dma.copy", dd=5, ds=1)
    rig.state.D[6] = rig.state.D[4]._replace(stride=65)
    rig.trap("misaligned", "dma.copy", dd=6, ds=1)
    rig.state.D[7] = rig.state.D[4]._replace(base=REGIONS["acc"] + (1 << 18) - 64)
    rig.trap("out_of_bounds", "dma.copy", dd=7, ds=1)
    rig.state.D[8] = rig.state.D[4]._replace(base=0x5_0000_0000)
    rig.trap("out_of_bounds", "dma.copy", dd=8, ds=1)


def test_bad_descriptors_are_refused_before_any_engine_sees_them():
    # Descriptor registers only ever hold checked descriptors (tset, tsetr, tdepth trap
    # bad_descriptor), so the engines' bad_descriptor case is the constructor's check.
    from iss.errors import Trap

    for rows, cols, dtype in ((0, 4, "fp32"), (4, 70000, "fp32"), (2, 33, "q4_1")):
        with pytest.raises(Trap) as info:
            tiles.dense(0, rows, cols, dtypes.by_name(dtype).code)
        assert info.value.kind == "bad_descriptor"


@pytest.mark.parametrize("name", ["q4_1", "q8_0"])
def test_quantised_blocks_copy_unchanged(rig, name):
    packed = dtypes.pack_q4_1 if name == "q4_1" else dtypes.pack_q8_0
    blocks = packed(np.random.default_rng(1).standard_normal((4, 64)).astype(np.float32))
    rig.put(1, blocks, name, "dram")
    rig.place(2, (4, 64), name, pad=6)  # a strided destination in SRAM
    op = rig.run("dma.copy", dd=2, ds=1)
    np.testing.assert_array_equal(rig.get(2)[:, : blocks.shape[1]], blocks)
    assert op.work == blocks.size

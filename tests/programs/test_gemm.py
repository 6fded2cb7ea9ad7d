"""The GEMM kernels (programs/kernels/gemm.jasm) against NumPy, through their stand-alone entry
program: it calls the kernel as a subroutine and exits non-zero if the call broke the calling
convention (s0-s11, f8-f15, sp), so every run also checks programs/ABI.md. The race detector
runs in error mode throughout.

Tolerances. For float inputs the MXU forms exact products of the (rounded) inputs and sums
them in fp32 in an unspecified order (docs/isa.md, `mm`); fp32 inputs may round each product
once more. The classical bound for a K-term fp32 sum is |error| <= K * u * sum |a_k b_k|,
u = 2**-24 (Higham, Accuracy and Stability of Numerical Algorithms, eq. 3.5); the bias adds
one more rounding. So the reference is the float64 product of the exactly rounded inputs and
the tolerance is (K + 2) * u * (|A| . |B| + |bias|) elementwise: tight, and valid for any
summation order. int8 is exact: compared bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import ml_dtypes
import numpy as np
import pytest
from gguf.quants import dequantize, quantize
from hypothesis import given, settings
from hypothesis import strategies as st

from iss.runtime import Simulator

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "programs" / "kernels" / "gemm_main.jasm"
U = 2.0**-24  # fp32 unit roundoff

#: DT define of gemm_main.jasm -> storage dtype of a and b in DRAM
DTYPES = {
    "fp32": (0, np.float32),
    "bf16": (1, ml_dtypes.bfloat16),
    "fp8e4m3": (2, ml_dtypes.float8_e4m3fn),
    "int8": (3, np.int8),
    "bf16x": (4, np.float32),  # fp32 in DRAM, rounded to bf16 on chip (TB=1 only)
}
#: sizes around the 128-row/column MXU tile and the 256/512 panel and chunk edges
SIZES = [1, 2, 31, 127, 128, 129, 200, 255, 257, 300]


def run_gemm(m, k, n, dtype, tb=False, bias=False, seed=0, machine="j1", **defines):
    """Run gemm_main.jasm; returns (c, reference, tolerance or None for exact)."""
    dt, storage = DTYPES[dtype]
    defines = {"M": m, "K": k, "N": n, "DT": dt, "TB": int(tb), "BIAS": int(bias), **defines}
    sim = Simulator.load(ENTRY, defines=defines, race="error", machine=machine)
    rng = np.random.default_rng(seed)
    b_shape = (n, k) if tb else (k, n)
    if dtype == "int8":
        a = rng.integers(-128, 128, (m, k)).astype(np.int8)
        b = rng.integers(-128, 128, b_shape).astype(np.int8)
        row = rng.integers(-(2**20), 2**20, n).astype(np.int32)
    else:
        a = rng.standard_normal((m, k)).astype(storage)
        b = rng.standard_normal(b_shape).astype(storage)
        row = rng.standard_normal(n).astype(np.float32)
    sim.bind("a", a)
    sim.bind("b", b)
    if bias:
        sim.bind("bias", row)
    assert sim.run() == 0, "the kernel broke the calling convention"
    c = sim.read("c")
    if dtype == "int8":
        ref = a.astype(np.int64) @ (b.T if tb else b).astype(np.int64)
        return c, ref + (row if bias else 0), None
    if dtype == "bf16x":  # what the DMA engine hands the MXU: RNE to bf16
        a, b = a.astype(ml_dtypes.bfloat16), b.astype(ml_dtypes.bfloat16)
    a64 = a.astype(np.float64)
    b64 = (b.T if tb else b).astype(np.float64)
    ref = a64 @ b64 + (row if bias else 0)
    tol = (k + 2) * U * (np.abs(a64) @ np.abs(b64) + (np.abs(row) if bias else 0))
    return c, ref, tol


def check(c, ref, tol):
    assert c.shape == ref.shape
    if tol is None:
        np.testing.assert_array_equal(c, ref)
    else:
        excess = np.abs(c - ref) - tol
        assert excess.max() <= 0, f"worst error exceeds the fp32 bound by {excess.max():.3g}"


@settings(max_examples=15, deadline=None)
@given(
    m=st.sampled_from(SIZES),
    k=st.sampled_from(SIZES),
    n=st.sampled_from([*SIZES, 511, 513]),
    dtype=st.sampled_from(["fp32", "bf16", "fp8e4m3", "int8"]),
    tb=st.booleans(),
    bias=st.booleans(),
)
def test_gemm_matches_numpy(m, k, n, dtype, tb, bias):
    check(*run_gemm(m, k, n, dtype, tb, bias))


@pytest.mark.parametrize(
    ("m", "k", "n", "dtype", "tb", "bias"),
    [
        (1, 1, 1, "bf16", False, False),  # the smallest product
        (129, 257, 513, "bf16", False, True),  # one past every tile edge
        (127, 129, 255, "fp32", True, True),
        (64, 384, 384, "bf16x", True, True),  # MiniLM's bf16 mode: fp32 X, W rounded on chip
        (130, 300, 200, "int8", False, True),
    ],
)
def test_gemm_edges(m, k, n, dtype, tb, bias):
    check(*run_gemm(m, k, n, dtype, tb, bias))


def test_int8_extremes_are_exact():
    """-128 * -128 summed over K = 1000: 16,384,000 per entry, exact in int32."""
    sim = Simulator.load(ENTRY, defines={"M": 3, "K": 1000, "N": 5, "DT": 3}, race="error")
    sim.bind("a", np.full((3, 1000), -128, np.int8))
    sim.bind("b", np.full((1000, 5), -128, np.int8))
    assert sim.run() == 0
    np.testing.assert_array_equal(sim.read("c"), np.full((3, 5), 128 * 128 * 1000, np.int32))


def test_large_panels():
    """Grown scratch regions (ABI: -D KSCRATCH / KACC) switch to 512 x 512 panels."""
    big = {"KSCRATCH": 8 << 20, "KACC": 2 << 20}
    check(*run_gemm(600, 700, 1030, "bf16", bias=True, **big))


def test_default_scratch_fits_j1_mini():
    """With the ABI's default scratch the kernel runs on the small machine too."""
    check(*run_gemm(200, 300, 260, "fp32", tb=True, bias=True, machine="j1-mini"))


def requantise(acc: np.ndarray, scale: float, zero_point: float) -> np.ndarray:
    """The requantisation gemm_int8_rq documents, step by step in fp32 (np.rint is RNE)."""
    t = np.float32(acc.astype(np.float32) * np.float32(scale))
    t = np.float32(t + np.float32(zero_point))
    return np.clip(np.rint(t), -128, 127).astype(np.int8)


@pytest.mark.parametrize(
    ("m", "k", "n", "tb", "bias", "scale", "zero_point"),
    [
        (3, 2, 5, False, False, 0.5, 1.0),  # small sums times 0.5: many exact ties (RNE)
        (130, 200, 300, False, True, 0.002, -3.0),  # saturates at both ends too
        (129, 257, 140, True, True, 0.001, 7.0),
    ],
)
def test_int8_requantised_is_bit_exact(m, k, n, tb, bias, scale, zero_point):
    defines = {"M": m, "K": k, "N": n, "DT": 5, "TB": int(tb), "BIAS": int(bias)}
    sim = Simulator.load(ENTRY, defines=defines, race="error")
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (n, k) if tb else (k, n)).astype(np.int8)
    row = rng.integers(-5000, 5000, n).astype(np.int32)
    sim.bind("a", a)
    sim.bind("b", b)
    sim.bind("qp", np.array([scale, zero_point], np.float32))
    if bias:
        sim.bind("bias", row)
    assert sim.run() == 0
    acc = a.astype(np.int64) @ (b.T if tb else b).astype(np.int64) + (row if bias else 0)
    expected = requantise(acc, scale, zero_point)
    assert {-128, 127} <= set(np.unique(expected)) or k == 2
    np.testing.assert_array_equal(sim.read("c"), expected)


CALLER = """
        .include "abi.jasm"
        .include "gemm.jasm"
        .include "qgemv.jasm"
        .include "entry.jasm"
        .input  a, bf16, (130, 200)
        .input  b, bf16, (200, 70)
        .input  x, fp32, (1, 64)
        .input  w, q4_1, (300, 64)
        .output c, fp32, (130, 70)
        .output d, fp32, (130, 70)
        .output y, fp32, (1, 300)
        .text
_start: ABI_SENTINELS
        .irp    out, c, d
        li      a0, \\out
        li      a1, a
        li      a2, b
        li      a3, 0
        li      a4, 130
        li      a5, 200
        li      a6, 70
        call    gemm_bf16
        .endr
        li      a0, y
        li      a1, x
        li      a2, w
        li      a3, 0
        li      a4, 1
        li      a5, 64
        li      a6, 300
        call    qgemv_q4_1
        li      a0, 0
        ABI_CHECK
"""


def test_kernels_link_together_and_repeat(tmp_path):
    """A model-like caller: gemm.jasm and qgemv.jasm in one program, a kernel called twice in
    a row, then another: nothing (semaphores, scratch, accumulators) leaks between calls."""
    source = tmp_path / "caller.jasm"
    source.write_text(CALLER)
    sim = Simulator.load(source, include=[str(ENTRY.parent)], race="error")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((130, 200)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((200, 70)).astype(ml_dtypes.bfloat16)
    x = rng.standard_normal((1, 64)).astype(np.float32)
    q41 = gguf.GGMLQuantizationType.Q4_1
    w = quantize(rng.standard_normal((300, 64)).astype(np.float32), q41)
    for name, value in {"a": a, "b": b, "x": x, "w": w}.items():
        sim.bind(name, value)
    assert sim.run() == 0
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    tol = 202 * U * (np.abs(a64) @ np.abs(b64))
    for out in ("c", "d"):
        check(sim.read(out), a64 @ b64, tol)
    x64 = x.astype(ml_dtypes.bfloat16).astype(np.float64)
    w64 = dequantize(w, q41).astype(ml_dtypes.bfloat16).astype(np.float64)
    check(sim.read("y"), x64 @ w64.T, 66 * U * (np.abs(x64) @ np.abs(w64).T))

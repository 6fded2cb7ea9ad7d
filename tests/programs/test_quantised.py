"""The quantised GEMM and GEMV kernels (programs/kernels/qgemm.jasm, qgemv.jasm) against the
`gguf` package's own quantiser and dequantiser, through their stand-alone entry programs (which
also check the calling convention; race detector in error mode).

Reference and tolerance: the MXU's weight loader dequantises each GGUF block exactly as gguf
does and rounds the weight to bf16 (RNE); x is rounded to bf16 (RNE) too, or bound as bf16; the
MXU sums the exact products in fp32 in an unspecified order. So the reference is the float64
product bf16(x) . bf16(gguf.dequantize(W))^T, and the tolerance the fp32 summation bound
(K + 2) * 2**-24 * (|x| . |W|^T + |bias|) (Higham, eq. 3.5; one more rounding for the bias).
The exact kernels (qgemv_*_fp32, qgemm_*_fp32) round neither: their reference is x . dequantize(W)^T
in float64 (an fp32 product of two fp32 values is rounded once more: K + 3 in the bound).
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

from isa import dtypes
from iss.runtime import Simulator

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "programs" / "kernels"
U = 2.0**-24
QTYPES = {0: gguf.GGMLQuantizationType.Q4_1, 1: gguf.GGMLQuantizationType.Q8_0}


def run_quantised(kernel, m, k, n, q, xbf16=False, bias=False, seed=0, exact=False):
    """Run KERNEL_main.jasm; returns (y, reference, tolerance)."""
    defines = {"M": m, "K": k, "N": n, "Q": q, "XBF16": int(xbf16), "BIAS": int(bias),
               "EXACT": int(exact)}  # fmt: skip
    sim = Simulator.load(KERNELS / f"{kernel}_main.jasm", defines=defines, race="error")
    rng = np.random.default_rng(seed)
    # per-row offsets and scales, so the Q4_1 minimum and the block scales vary
    w = rng.standard_normal((n, k)) * rng.uniform(0.1, 2, (n, 1)) + rng.uniform(-1, 1, (n, 1))
    blocks = quantize(w.astype(np.float32), QTYPES[q])
    x = rng.standard_normal((m, k)).astype(ml_dtypes.bfloat16 if xbf16 else np.float32)
    row = rng.standard_normal(n).astype(np.float32)
    sim.bind("x", x)
    sim.bind("w", blocks)
    if bias:
        sim.bind("bias", row)
    assert sim.run() == 0, "the kernel broke the calling convention"
    weights = dequantize(blocks, QTYPES[q])
    w64 = (weights if exact else weights.astype(ml_dtypes.bfloat16)).astype(np.float64)
    x64 = (x if exact else x.astype(ml_dtypes.bfloat16)).astype(np.float64)
    extra = np.abs(row) if bias else 0
    ref = x64 @ w64.T + (row if bias else 0)
    tol = (k + 2 + exact) * U * (np.abs(x64) @ np.abs(w64).T + extra)
    return sim.read("y"), ref, tol


def check(y, ref, tol):
    assert y.shape == ref.shape
    excess = np.abs(y - ref) - tol
    assert excess.max() <= 0, f"worst error exceeds the fp32 bound by {excess.max():.3g}"


@settings(max_examples=12, deadline=None)
@given(
    kernel=st.sampled_from(["qgemv", "qgemm"]),
    m=st.sampled_from([1, 2, 5, 8, 17, 129]),
    k=st.sampled_from([32, 96, 128, 160, 576]),
    n=st.sampled_from([1, 3, 127, 128, 129, 513, 700]),
    q=st.sampled_from([0, 1]),
    x=st.sampled_from(["fp32", "bf16", "exact"]),
    bias=st.booleans(),
)
def test_quantised_matches_gguf(kernel, m, k, n, q, x, bias):
    check(*run_quantised(kernel, m, k, n, q, x == "bf16", bias, exact=x == "exact"))


@pytest.mark.parametrize(
    ("kernel", "m", "k", "n", "q"),
    [
        ("qgemv", 1, 576, 1536, 0),  # SmolLM2's decode shapes: attention / FFN up
        ("qgemv", 1, 1536, 576, 0),  # FFN down
        ("qgemv", 1, 576, 2000, 1),  # Q8_0, like the tied embedding (49152 rows in the model)
        ("qgemm", 40, 576, 300, 0),  # prefill of a 40-token prompt
    ],
)
def test_model_shapes(kernel, m, k, n, q):
    check(*run_quantised(kernel, m, k, n, q))
    check(*run_quantised(kernel, m, k, n, q, exact=True))


@pytest.mark.parametrize("q", [0, 1])
def test_dma_dequantiser_is_ggufs(q):
    """The reference the DMA engine and the MXU's loader follow (isa.dtypes) is
    bit-identical to gguf's."""
    w = np.random.default_rng(q).standard_normal((4, 256)).astype(np.float32)
    blocks = quantize(w, QTYPES[q])
    ours = (dtypes.unpack_q8_0 if q else dtypes.unpack_q4_1)(blocks)
    np.testing.assert_array_equal(ours, dequantize(blocks, QTYPES[q]))

"""Embedding gather (programs/kernels/embed.jasm) and masked mean pooling (meanpool.jasm)
against NumPy, through their entry programs.

The gather moves or converts rows exactly as GGUF defines them (bf16 -> fp32 is exact; Q8_0
is fp32(d) * q, Q4_1 fp32(d) * q + fp32(m), the same fp32 roundings as the gguf package's
dequantize): compared bit for bit. Mean
pooling sums on the MXU in fp32 in an unspecified order: |error| <= (tokens + 1) u *
sum |x| over the kept tokens (Higham's bound for a sum of that many terms; the mask's 0/1
products are exact), then the division adds 0.5 ulp.
"""

from __future__ import annotations

import gguf
import ml_dtypes
import numpy as np
from gguf.quants import dequantize, quantize
from hypothesis import given, settings
from hypothesis import strategies as st
from rowkernels import U, run

QTYPES = {"q8_0": gguf.GGMLQuantizationType.Q8_0, "q4_1": gguf.GGMLQuantizationType.Q4_1}
DTYPE_CODE = {"fp32": 0, "bf16": 1, "q8_0": 2, "q4_1": 3}


@settings(max_examples=10, deadline=None)
@given(tokens=st.sampled_from([1, 2, 127, 128, 129, 300]), vocab=st.sampled_from([1, 50, 1000]),
       dim=st.sampled_from([32, 64, 384, 576]), dtype=st.sampled_from(list(DTYPE_CODE)),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_embed(tokens, vocab, dim, dtype, seed):
    """Quantised tables are made and dequantised for the reference by the gguf package."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, tokens).astype(np.int32)
    ids[0] = vocab - 1
    weights = rng.standard_normal((vocab, dim)).astype(np.float32)
    if dtype in QTYPES:
        table = quantize(weights, QTYPES[dtype])
        values = dequantize(table, QTYPES[dtype])
    else:
        storage = np.float32 if dtype == "fp32" else ml_dtypes.bfloat16
        table = weights.astype(storage)
        values = table.astype(np.float32)
    y = run("embed", {"ids": ids, "table": table}, TOKENS=tokens, VOCAB=vocab, DIM=dim,
            DTYPE=DTYPE_CODE[dtype])  # fmt: skip
    np.testing.assert_array_equal(y, values[ids])


@settings(max_examples=10, deadline=None)
@given(batch=st.sampled_from([1, 2, 5]), tokens=st.sampled_from([1, 7, 128, 129, 256]),
       dim=st.sampled_from([1, 64, 384, 600]), seed=st.integers(0, 2**16))  # fmt: skip
def test_meanpool(batch, tokens, dim, seed):
    check_meanpool(batch, tokens, dim, seed)


def test_meanpool_one_slot():
    """Sequences too large for two kscratch slots are pooled one after another."""
    check_meanpool(3, 300, 384, 1)


def check_meanpool(batch, tokens, dim, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, tokens, dim)).astype(np.float32)
    # padded sentences: a real prefix of 1..tokens tokens (the last one fully padded)
    lengths = rng.integers(1, tokens + 1, batch)
    mask = (np.arange(tokens)[None, :] < lengths[:, None]).astype(np.float32)
    mask[-1] = 0.0 if batch > 1 else mask[-1]
    y = run("meanpool", {"x": x, "mask": mask}, BATCH=batch, TOKENS=tokens, DIM=dim)
    x64, m64 = x.astype(np.float64), mask.astype(np.float64)[..., None]
    count = np.maximum(m64.sum(axis=1), 1e-9)
    ref = (x64 * m64).sum(axis=1) / count
    tol = (tokens + 1) * U * (np.abs(x64) * m64).sum(axis=1) / count + U * np.abs(ref)
    assert np.all(np.abs(y - ref) <= tol + 1e-30)

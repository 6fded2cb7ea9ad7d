"""programs/minilm/attention_short.jasm against a float64 NumPy attention, through its entry
program (race detector in error mode; the entry program also checks the calling convention).

fp32: scores, softmax and P.V in fp32, in an order the reference does not share: the bound is
a few hundred fp32 ulps of the largest |output|. bf16: Q, K, V and P rounded to bf16 (2**-9
relative each), so errors of about 1 % of |V| are allowed and checked to be that small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iss.runtime import Simulator

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "programs" / "minilm" / "attention_short_main.jasm"
KERNELS = ROOT / "programs" / "kernels"


def reference(qkv: np.ndarray, lengths: np.ndarray, seq: int, heads: int, dh: int) -> np.ndarray:
    """Per sequence and head: softmax(q k^T / sqrt(dh), keys < length) v, in float64."""
    width = heads * dh
    x = qkv.astype(np.float64)
    out = np.empty((x.shape[0], width))
    for b, length in enumerate(lengths):
        rows = x[b * seq : (b + 1) * seq]
        for h in range(heads):
            q, k, v = (rows[:, part * width + h * dh : part * width + (h + 1) * dh]
                       for part in range(3))  # fmt: skip
            s = q @ k[:length].T / np.sqrt(dh)
            p = np.exp(s - s.max(axis=1, keepdims=True))
            out[b * seq : (b + 1) * seq, h * dh : (h + 1) * dh] = (
                p / p.sum(axis=1, keepdims=True) @ v[:length]
            )
    return out


def run(qkv, lengths, status=0, **defines) -> np.ndarray:
    sim = Simulator.load(ENTRY, include=[str(KERNELS)], defines=defines, race="error")
    sim.bind("qkv", qkv)
    sim.bind("lengths", lengths)
    assert sim.run() == status
    assert list(sim.state.sems[:16]) == [0] * 16, "kernel semaphores not left at 0"
    return sim.read("o")


@settings(max_examples=8, deadline=None)
@given(batch=st.sampled_from([1, 2, 3]), seq=st.sampled_from([1, 5, 27, 43, 64, 128]),
       heads_dh=st.sampled_from([(12, 32), (2, 64), (5, 7), (1, 128)]),
       bf16=st.booleans(), seed=st.integers(0, 2**16))  # fmt: skip
def test_short_attention(batch, seq, heads_dh, bf16, seed):
    """Head groups of 128 // S heads (one at S = 128, all at S = 1), padding masks of any
    length 1..S, widths up to the 512-column limit."""
    heads, dh = heads_dh
    rng = np.random.default_rng(seed)
    qkv = rng.standard_normal((batch * seq, 3 * heads * dh)).astype(np.float32)
    lengths = rng.integers(1, seq + 1, batch).astype(np.int32)
    lengths[0] = seq  # one unpadded sequence
    defines = {"B": batch, "S": seq, "H": heads, "DH": dh} | ({"BF16": 1} if bf16 else {})
    out = run(qkv, lengths, **defines)
    ref = reference(qkv, lengths, seq, heads, dh)
    tol = 2e-2 if bf16 else 512 * 2.0**-24 * np.abs(ref).max()
    assert np.abs(out - ref).max() <= tol


def test_padding_is_ignored():
    """Keys past a sequence's length change nothing, however large they are."""
    rng = np.random.default_rng(3)
    qkv = rng.standard_normal((2 * 16, 3 * 64)).astype(np.float32)
    lengths = np.array([16, 9], dtype=np.int32)
    out = run(qkv, lengths, B=2, S=16, H=2, DH=32)
    qkv[16 + 9 :, 64:] = 1e30  # padding keys and values of the second sequence
    assert np.array_equal(run(qkv, lengths, B=2, S=16, H=2, DH=32)[16:], out[16:])


@pytest.mark.parametrize("seq, heads, dh", [(129, 1, 32), (8, 1, 129), (8, 17, 32)])
def test_sizes_out_of_range(seq, heads, dh):
    """S > 128, dh > 128 or H * dh > 512: status 1 and nothing written."""
    qkv = np.zeros((seq, 3 * heads * dh), dtype=np.float32)
    out = run(qkv, np.array([seq], dtype=np.int32), status=1, B=1, S=seq, H=heads, DH=dh)
    assert not out.any()

"""KV-cache append and decode-step attention (programs/kernels/kvcache.jasm).

Runs kvcache_main (kv_append, then decode_attention) with the race detector in error mode and
checks the calling convention (exit 0, s registers, sp, semaphores), that the cache holds the
new rows at positions P..P+T-1 and nothing else changed, and the attention output against a
float64 softmax over cache positions 0..P+T-1 (causal among the new tokens).
"""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from attention_ref import attention_reference, run_checked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iss.runtime import Simulator

ENTRY = Path(__file__).resolve().parents[2] / "programs" / "kernels" / "kvcache_main.jasm"
# fp32: the same error budget as flash attention (tests/programs/test_attention.py): fp32
# dot products, a twice-rounded exponent argument, one-rounding exp, fp32 sums over <= 1024
# keys — all far below 1e-5 of max|V|.
FP32_TOL = 1e-5


def decode_reference(q, kc, vc, heads, kv_heads, dh):
    """Attention of the T new tokens over the whole given cache: token i (of T) sits at
    position n - T + i and sees positions up to its own."""
    return attention_reference(q, kc, vc, heads, kv_heads, dh, causal=True)


def run_decode(maxseq, pos, tokens, heads, kv_heads, dh, *, bf16=False, seed=0):
    defines = {"MAXSEQ": maxseq, "P": pos, "T": tokens, "H": heads, "HKV": kv_heads, "DH": dh}
    if bf16:
        defines["BF16"] = 1
    sim = Simulator.load(ENTRY, defines={n: str(x) for n, x in defines.items()},
                         machine="j1-mini", race="error")  # fmt: skip
    rng = np.random.default_rng(seed)
    width = kv_heads * dh
    data = {
        "q": rng.standard_normal((tokens, heads * dh)),
        "knew": rng.standard_normal((tokens, width)),
        "vnew": rng.standard_normal((tokens, width)),
        "kcache": rng.standard_normal((maxseq, width)),
        "vcache": rng.standard_normal((maxseq, width)),
    }
    data = {name: x.astype(np.float32) for name, x in data.items()}
    for name, value in data.items():
        sim.bind(name, value)
    run_checked(sim)

    kc, vc = data["kcache"].copy(), data["vcache"].copy()
    kc[pos : pos + tokens] = data["knew"]
    vc[pos : pos + tokens] = data["vnew"]
    np.testing.assert_array_equal(sim.read("kcache"), kc)
    np.testing.assert_array_equal(sim.read("vcache"), vc)
    n = pos + tokens
    return sim.read("o"), data["q"], kc[:n], vc[:n]


CASES = [
    # maxseq, pos, tokens, heads, kv_heads, dh
    (16, 0, 1, 1, 1, 64),  # the first token: attends to itself only
    (300, 127, 1, 9, 3, 64),  # SmolLM2 heads, cache of 128
    (300, 128, 1, 9, 3, 64),  # 129: a second, one-key block
    (300, 255, 1, 12, 12, 32),  # no GQA: one job per head
    (300, 200, 4, 6, 2, 32),  # a few tokens at once: causal among them
]


@pytest.mark.parametrize("maxseq,pos,tokens,heads,kv_heads,dh", CASES)
def test_decode_step_fp32(maxseq, pos, tokens, heads, kv_heads, dh):
    out, q, kc, vc = run_decode(maxseq, pos, tokens, heads, kv_heads, dh)
    ref = decode_reference(q, kc, vc, heads, kv_heads, dh)
    np.testing.assert_allclose(out, ref, rtol=FP32_TOL, atol=FP32_TOL * np.abs(vc).max())


def test_decode_step_bf16():
    """bf16 MXU inputs: Q, K, V rounded to bf16 (the reference sees the same rounded values)
    and P rounded to bf16 (relative u = 2**-9) for both P.V and the row sums, so the output's
    weights are off by at most 2u/(1-u): |error| <= 2**-8 (1 + 2**-9) max|V| (derivation in
    test_attention.check_bf16)."""
    out, q, kc, vc = run_decode(600, 520, 1, 9, 3, 64, bf16=True)
    q, kc, vc = (x.astype(ml_dtypes.bfloat16).astype(np.float32) for x in (q, kc, vc))
    ref = decode_reference(q, kc, vc, 9, 3, 64)
    assert np.all(np.abs(out - ref) <= (2.0**-8 * 1.01 + FP32_TOL) * np.abs(vc).max())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pos=st.integers(0, 400),
    tokens=st.integers(1, 3),
    kv_heads=st.integers(1, 3),
    group=st.sampled_from([1, 3]),
    dh=st.sampled_from([32, 64]),
    seed=st.integers(0, 2**16),
)
def test_decode_step_random(pos, tokens, kv_heads, group, dh, seed):
    heads = kv_heads * group
    out, q, kc, vc = run_decode(pos + tokens + 5, pos, tokens, heads, kv_heads, dh, seed=seed)
    ref = decode_reference(q, kc, vc, heads, kv_heads, dh)
    np.testing.assert_allclose(out, ref, rtol=FP32_TOL, atol=FP32_TOL * np.abs(vc).max())

"""Flash attention (programs/kernels/attention.jasm) through its entry program.

Every run uses the race detector in error mode on the small `j1-mini` machine (the kernel's
scratch fits the ABI's minimum regions) and checks the calling convention: exit status 0,
the s registers and sp preserved, every kernel semaphore back at 0.

The reference is plain softmax(Q K^T * scale + mask) V in float64, independent of the
kernel's blocking and online rescaling.
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

ENTRY = Path(__file__).resolve().parents[2] / "programs" / "kernels" / "attention_main.jasm"


def run_attention(sq, skv, heads, kv_heads, dh, *, causal=False, kvlen=0, bf16=False,
                  seed=0, q_scale=1.0, machine="j1-mini", scratch=None):  # fmt: skip
    """Run attention_main on random normal inputs; return (output, q, k, v).

    `scratch` = (KSCRATCH, KACC) grows the kernel's regions: more K/V slots (resident
    blocks) and score buffers (a deeper pipeline) than the ABI's minimum gives."""
    defines = {"SQ": sq, "SKV": skv, "H": heads, "HKV": kv_heads, "DH": dh,
               "CAUSAL": int(causal), "KVLEN": kvlen}  # fmt: skip
    if bf16:
        defines["BF16"] = 1
    if scratch:
        defines["KSCRATCH"], defines["KACC"] = scratch
    sim = Simulator.load(ENTRY, defines={n: str(x) for n, x in defines.items()},
                         machine=machine, race="error")  # fmt: skip
    rng = np.random.default_rng(seed)
    q = (rng.standard_normal((sq, heads * dh)) * q_scale).astype(np.float32)
    k = rng.standard_normal((skv, kv_heads * dh)).astype(np.float32)
    v = rng.standard_normal((skv, kv_heads * dh)).astype(np.float32)
    for name, value in (("q", q), ("k", k), ("v", v)):
        sim.bind(name, value)
    run_checked(sim)
    return sim.read("o"), q, k, v


# fp32 tolerance. The error sources, relative to max|V| (outputs are convex combinations of
# V rows): scores are fp32 dot products of dh <= 64 terms (~dh * 2**-24 relative); the
# activation unit forms scale*s + bias with two fp32 roundings, so an exponent argument of
# size |t| <= ~40 here is off by ~|t| * 2**-24 absolute, i.e. exp is ~2.4e-6 relative off at
# worst, then rounded once; row sums and the P.V accumulation over <= 1024 keys add fp32
# rounding (~log2(n) * 2**-24 pairwise, plus one rescale per 128-key block). All together
# stay well under 1e-5 of max|V| (observed: <= 1e-6).
FP32_TOL = 1e-5


def check_fp32(out, ref, v):
    np.testing.assert_allclose(out, ref, rtol=FP32_TOL, atol=FP32_TOL * np.abs(v).max())


def check_bf16(out, q, k, v, heads, kv_heads, dh, **mask):
    """bf16 mode rounds Q, K, V (in the DMA: the reference gets the same rounded values) and
    P to bf16 (relative error u <= 2**-9); the MXU forms P.V from the rounded P~, the
    activation unit the row sums l from the fp32 P (act.exp.col.sum). So
    O = sum_j p~_j v_j / sum_j p_j and |O - O_ref| = |sum_j (p~_j - p_j) v_j| / sum_j p_j
    <= u max|v|. The check allows 2u/(1-u) max|v| = 2**-8 (1 + 2**-9) max|v| (the bound if
    l summed the rounded P~ too); the fp32 terms add FP32_TOL."""
    bf = [x.astype(ml_dtypes.bfloat16).astype(np.float32) for x in (q, k, v)]
    ref = attention_reference(*bf, heads, kv_heads, dh, **mask)
    bound = (2.0**-8 * 1.01 + FP32_TOL) * np.abs(bf[2]).max()
    assert np.all(np.abs(out - ref) <= bound), np.abs(out - ref).max()


EDGES = [
    # sq, skv, heads, kv_heads, dh, causal, kvlen
    (1, 1, 1, 1, 64, False, 0),
    (127, 127, 1, 1, 32, True, 0),
    (128, 128, 2, 2, 64, True, 0),
    (129, 129, 3, 1, 64, True, 0),  # GQA group 3 (SmolLM2's 9:3 ratio), ragged last blocks
    (129, 257, 3, 3, 64, True, 0),  # prefill continuation: causal offset 128
    (128, 300, 2, 1, 32, False, 0),
    (200, 200, 12, 12, 32, False, 150),  # MiniLM: 12 x 32, padding beyond 150 keys
    (37, 37, 5, 5, 32, False, 1),  # a single valid key
    (1, 300, 9, 3, 64, True, 0),  # decode: grouped query heads stacked as rows
    (3, 260, 4, 2, 64, True, 0),  # a few new tokens against a longer history
    (70, 1000, 2, 1, 32, True, 0),  # 8 key blocks > the 5 K/V slots: streamed, not resident
]


@pytest.mark.parametrize("sq,skv,heads,kv_heads,dh,causal,kvlen", EDGES)
def test_flash_attention_fp32_edges(sq, skv, heads, kv_heads, dh, causal, kvlen):
    out, q, k, v = run_attention(sq, skv, heads, kv_heads, dh, causal=causal, kvlen=kvlen)
    ref = attention_reference(q, k, v, heads, kv_heads, dh, causal=causal, kvlen=kvlen)
    check_fp32(out, ref, v)


def test_flash_attention_large_scores_rescale():
    """Scores spread over +-40 make every new key block move the running max."""
    out, q, k, v = run_attention(256, 384, 1, 1, 64, causal=True, q_scale=5.0, seed=3)
    check_fp32(out, attention_reference(q, k, v, 1, 1, 64, causal=True), v)


@pytest.mark.parametrize(
    "sq,skv,heads,kv_heads,dh,causal,kvlen",
    [(129, 129, 3, 1, 64, True, 0), (200, 200, 2, 2, 32, False, 77), (1, 257, 6, 2, 64, True, 0)],
)
def test_flash_attention_bf16(sq, skv, heads, kv_heads, dh, causal, kvlen):
    out, q, k, v = run_attention(sq, skv, heads, kv_heads, dh, causal=causal, kvlen=kvlen,
                                 bf16=True)  # fmt: skip
    check_bf16(out, q, k, v, heads, kv_heads, dh, causal=causal, kvlen=kvlen)


#: (KSCRATCH, KACC) on `j1`: 16 K/V slots, and 2 to 5 bf16 step score buffers (each a
#: different schedule; 5: the benchmark's) — fp32: 1 to 3
DEEP = [(2 << 20, n << 10) for n in (384, 512, 640, 768)]


@pytest.mark.parametrize("scratch", DEEP, ids=lambda s: f"kacc{s[1] >> 10}k")
@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize(
    "sq,skv,heads,kv_heads,dh,causal",
    [(300, 520, 3, 1, 64, True), (257, 640, 2, 2, 32, False), (1, 700, 9, 3, 64, True)],
)
def test_flash_attention_deep_pipeline(sq, skv, heads, kv_heads, dh, causal, bf16, scratch):
    """On `j1` with more scratch: more step score buffers (scores further ahead; bf16: the
    row maxima of a step an iteration before its softmax) and 16 K/V slots, so every kv
    head's blocks stay resident (loaded once, at first use; kv heads alternate between two
    banks of slots when both fit)."""
    out, q, k, v = run_attention(sq, skv, heads, kv_heads, dh, causal=causal, bf16=bf16,
                                 machine="j1", scratch=scratch)  # fmt: skip
    if bf16:
        check_bf16(out, q, k, v, heads, kv_heads, dh, causal=causal)
    else:
        check_fp32(out, attention_reference(q, k, v, heads, kv_heads, dh, causal=causal), v)


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("sq,skv,causal", [(130, 1800, True), (64, 1700, False)])
def test_flash_attention_deep_pipeline_streaming(sq, skv, causal, bf16):
    """The benchmark's deep pipeline (768 KiB of kacc) with 13 K/V slots (1.25 MiB of
    kscratch): 15 key blocks do not fit, so they stream through the slots as a ring."""
    out, q, k, v = run_attention(sq, skv, 2, 1, 64, causal=causal, bf16=bf16, machine="j1",
                                 scratch=(1280 << 10, 768 << 10))  # fmt: skip
    if bf16:
        check_bf16(out, q, k, v, 2, 1, 64, causal=causal)
    else:
        check_fp32(out, attention_reference(q, k, v, 2, 1, 64, causal=causal), v)


@st.composite
def shapes(draw):
    kv_heads = draw(st.integers(1, 3))
    heads = kv_heads * draw(st.sampled_from([1, 3]))
    dh = draw(st.sampled_from([32, 64]))
    causal = draw(st.booleans())
    skv = draw(st.integers(1, 300))
    sq = draw(st.integers(1, skv)) if causal else draw(st.integers(1, 300))
    kvlen = 0 if draw(st.booleans()) else draw(st.integers(1, skv))  # padding, with causal too
    return sq, skv, heads, kv_heads, dh, causal, kvlen


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), seed=st.integers(0, 2**16))
def test_flash_attention_random_shapes(shape, seed):
    sq, skv, heads, kv_heads, dh, causal, kvlen = shape
    out, q, k, v = run_attention(sq, skv, heads, kv_heads, dh, causal=causal, kvlen=kvlen,
                                 seed=seed)  # fmt: skip
    ref = attention_reference(q, k, v, heads, kv_heads, dh, causal=causal, kvlen=kvlen)
    check_fp32(out, ref, v)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), seed=st.integers(0, 2**16), deep=st.booleans())
def test_flash_attention_bf16_random_shapes(shape, seed, deep):
    """bf16 on `j1-mini` (one step score buffer) and with the benchmark's scratch on `j1`."""
    sq, skv, heads, kv_heads, dh, causal, kvlen = shape
    machine, scratch = ("j1", DEEP[-1]) if deep else ("j1-mini", None)
    out, q, k, v = run_attention(sq, skv, heads, kv_heads, dh, causal=causal, kvlen=kvlen,
                                 bf16=True, seed=seed, machine=machine,
                                 scratch=scratch)  # fmt: skip
    check_bf16(out, q, k, v, heads, kv_heads, dh, causal=causal, kvlen=kvlen)


@pytest.mark.parametrize(
    "defines",
    [
        {"SQ": 8, "SKV": 8, "DH": 65},  # the buffers hold dh <= 64
        {"SQ": 9, "SKV": 8, "CAUSAL": 1},  # causal needs Skv >= Sq
        {"SQ": 8, "SKV": 8, "H": 3, "HKV": 2},  # H must be a multiple of Hkv
        {"SQ": 8, "SKV": 8, "KVLEN": 9},  # kvlen <= Skv
    ],
)
def test_flash_attention_rejects_bad_arguments(defines):
    """Out-of-range arguments return a0 = -1 (the entry program's exit status), touching
    nothing: the output stays as bound."""
    sim = Simulator.load(ENTRY, defines={n: str(x) for n, x in defines.items()},
                         machine="j1-mini", race="error")  # fmt: skip
    o = np.full(sim.entry("o").shape, 7.0, dtype=np.float32)
    sim.bind("o", o)
    assert sim.run() == -1
    np.testing.assert_array_equal(sim.read("o"), o)

"""One token's attention over a padded KV cache with a key mask
(programs/kernels/attention_decode.jasm).

Runs attention_decode_main with the race detector in error mode, checks the calling
convention (exit 0, s registers, sp, semaphores) and the output against a float64 softmax
over the keys the mask leaves, and that arguments out of range return 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from attention_ref import run_checked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iss.runtime import Simulator

ENTRY = Path(__file__).resolve().parents[2] / "programs" / "kernels" / "attention_decode_main.jasm"
FP32_TOL = 1e-5  # as flash attention's (tests/programs/test_attention.py)


def masked_reference(q, kc, vc, mask, heads, kv_heads, dh):
    """softmax(q_h K_g^T / sqrt(dh) + mask) V_g per head, in float64."""
    group = heads // kv_heads
    out = np.empty((1, heads * dh))
    for h in range(heads):
        g = h // group
        k = kc[:, g * dh : (g + 1) * dh].astype(np.float64)
        v = vc[:, g * dh : (g + 1) * dh].astype(np.float64)
        s = q[:, h * dh : (h + 1) * dh].astype(np.float64) @ k.T / np.sqrt(dh) + mask
        p = np.exp(s - s.max())
        out[:, h * dh : (h + 1) * dh] = (p / p.sum()) @ v
    return out


def run(maxseq, length, heads, kv_heads, dh, mask, *, seed=0, machine="j1-mini"):
    defines = {"MAXSEQ": maxseq, "L": length, "H": heads, "HKV": kv_heads, "DH": dh}
    sim = Simulator.load(ENTRY, defines={n: str(x) for n, x in defines.items()},
                         machine=machine, race="error")  # fmt: skip
    rng = np.random.default_rng(seed)
    width = kv_heads * dh
    data = {
        "q": rng.standard_normal((1, heads * dh)).astype(np.float32),
        "kcache": rng.standard_normal((maxseq, width)).astype(np.float32),
        "vcache": rng.standard_normal((maxseq, width)).astype(np.float32),
        "mask": mask.astype(np.float32),
    }
    for name, value in data.items():
        sim.bind(name, value)
    return sim, data


def prefix_mask(length, seen):
    mask = np.full(length, -np.inf, np.float32)
    mask[:seen] = 0
    return mask


CASES = [
    # maxseq, L, keys seen, heads, kv_heads, dh
    (64, 64, 1, 1, 1, 64),  # the first token: one key of a padded block
    (128, 64, 37, 9, 3, 64),  # SmolLM2's heads, a bucket of 64
    (300, 256, 200, 9, 3, 64),  # two key blocks
    (300, 300, 300, 6, 6, 32),  # no padding, no GQA, a block of 44 last
]


@pytest.mark.parametrize("maxseq,length,seen,heads,kv_heads,dh", CASES)
def test_attention_over_the_keys_the_mask_leaves(maxseq, length, seen, heads, kv_heads, dh):
    mask = prefix_mask(length, seen)
    sim, d = run(maxseq, length, heads, kv_heads, dh, mask)
    run_checked(sim)
    ref = masked_reference(d["q"], d["kcache"][:length], d["vcache"][:length], mask, heads,
                           kv_heads, dh)  # fmt: skip
    scale = np.abs(d["vcache"][:seen]).max()
    np.testing.assert_allclose(sim.read("o"), ref, rtol=FP32_TOL, atol=FP32_TOL * scale)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(length=st.integers(1, 260), kv_heads=st.integers(1, 3), group=st.sampled_from([1, 3]),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_any_mask(length, kv_heads, group, seed):
    rng = np.random.default_rng(seed)
    mask = np.where(rng.random(length) < 0.5, -np.inf, 0).astype(np.float32)
    mask[rng.integers(length)] = 0  # at least one key seen
    heads = kv_heads * group
    sim, d = run(length + 3, length, heads, kv_heads, 32, mask, seed=seed)
    run_checked(sim)
    ref = masked_reference(d["q"], d["kcache"][:length], d["vcache"][:length], mask, heads,
                           kv_heads, 32)  # fmt: skip
    np.testing.assert_allclose(sim.read("o"), ref, rtol=FP32_TOL,
                               atol=FP32_TOL * np.abs(d["vcache"]).max())  # fmt: skip


@pytest.mark.parametrize(
    "heads,kv_heads,dh,length",
    [(9, 2, 64, 64), (9, 3, 129, 64), (512, 2, 64, 64), (9, 3, 64, 4096)],
)
def test_bad_arguments_return_1(heads, kv_heads, dh, length):
    """H not a multiple of Hkv, dh above 128, more than 128 heads a group, buffers past
    j1-mini's scratch: status 1, nothing written."""
    sim, _ = run(max(length, 64), length, heads, kv_heads, dh, prefix_mask(length, 1))
    assert sim.run() == 1
    assert not sim.read("o").any()

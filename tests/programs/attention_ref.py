"""What the attention tests (and benchmarks/kernel_cases_attention.py) share: the float64
NumPy reference, and the calling-convention checks of the attention entry programs."""

from __future__ import annotations

import numpy as np

PATTERN = [0x5A5A0000 + i for i in range(12)]  #: what the entry programs put in s0..s11
S_REGS = [8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]  #: x numbers of s0..s11
SP = 2


def attention_reference(q, k, v, heads, kv_heads, dh, *, causal=False, kvlen=None, scale=None):
    """softmax(Q K^T * scale + mask) V per head, in float64. Q: [Sq, H*dh], K/V: [Skv, Hkv*dh];
    query i sees keys j < kvlen and, when causal, j <= i + Skv - Sq (a decode step's tokens sit
    at the end of the cache)."""
    sq, skv = q.shape[0], k.shape[0]
    scale = 1 / np.sqrt(dh) if scale is None else scale
    kvlen = kvlen or skv
    group = heads // kv_heads
    allowed = np.arange(skv)[None, :] < kvlen
    if causal:
        allowed = allowed & (np.arange(skv)[None, :] <= np.arange(sq)[:, None] + skv - sq)
    out = np.empty((sq, heads * dh))
    for h in range(heads):
        g = h // group
        qh = q[:, h * dh : (h + 1) * dh].astype(np.float64)
        kh = k[:, g * dh : (g + 1) * dh].astype(np.float64)
        vh = v[:, g * dh : (g + 1) * dh].astype(np.float64)
        s = np.where(allowed, qh @ kh.T * scale, -np.inf)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        out[:, h * dh : (h + 1) * dh] = (p / p.sum(axis=1, keepdims=True)) @ vh
    return out


def run_checked(sim) -> None:
    """Run an entry program: it must exit 0 with s0..s11 and sp preserved and the kernel
    semaphores back at 0 (programs/ABI.md)."""
    sp = sim.state.X[SP]
    assert sim.run() == 0
    state = sim.state
    assert [state.X[r] for r in S_REGS] == PATTERN, "s registers not preserved"
    assert state.X[SP] == sp, "sp not restored"
    assert list(state.sems[:16]) == [0] * 16, "kernel semaphores not left at 0"

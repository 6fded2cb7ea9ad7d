"""Attention kernel cases for benchmarks/kernels.py: flash attention and a KV-cache decode step.

Each case runs a stand-alone entry program (programs/kernels/*_main.jasm) on random normal
inputs; `reference` is plain float64 softmax attention in NumPy on the same inputs.

FLOPs count the two matrix products only, 4 * Sq * Skv * dh per head (halved when causal, as
the roofline convention does); `bytes` is the minimum DRAM traffic: Q, K, V read once and O
written once (for the decode step: the K/V rows of the cache up to the new position, the new
K/V rows written and read, Q and O).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "programs" / "kernels"
sys.path.insert(0, str(ROOT / "tests" / "programs"))  # the tests' float64 reference

from attention_ref import attention_reference  # noqa: E402

# The entry programs grow the ABI's scratch regions (as a model program may) so the kernels
# keep every K/V block of a head resident (16 slots) and run scores steps (of two key blocks)
# ahead: 2 MiB of the 24 MiB SRAM, 768 KiB of the 2 MiB accumulator memory — fp32: 3 step
# score buffers (scores two steps ahead); bf16: 5, which its vector unit's order and its
# scores ahead of the P.V products in the MXU's queue need (the row maxima of a step an
# iteration before its softmax). bf16 measured with 512 KiB: 44 %; 640 KiB: 51 %.
SCRATCH = {"KSCRATCH": 2 << 20, "KACC": 768 << 10}


def _attention(q, k, v, heads, kv_heads, dh, causal):
    return attention_reference(q, k, v, heads, kv_heads, dh, causal=causal)


def _flash_case(seq, heads, kv_heads, dh, causal, bf16=False, target=None):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((seq, heads * dh)).astype(np.float32)
    k = rng.standard_normal((seq, kv_heads * dh)).astype(np.float32)
    v = rng.standard_normal((seq, kv_heads * dh)).astype(np.float32)
    defines = {"SQ": seq, "SKV": seq, "H": heads, "HKV": kv_heads, "DH": dh,
               "CAUSAL": int(causal), **SCRATCH}  # fmt: skip
    if bf16:
        defines["BF16"] = 1
    flops = 4 * seq * seq * dh * heads // (2 if causal else 1)
    name = f"flash_attention {seq}x{seq} h{heads}/{kv_heads} dh{dh}"
    name += " causal" if causal else ""
    name += " bf16" if bf16 else " fp32"
    return {
        "name": name,
        "source": KERNELS / "attention_main.jasm",
        "defines": {n: str(x) for n, x in defines.items()},
        "inputs": {"q": q, "k": k, "v": v},
        "reference": lambda: _attention(q, k, v, heads, kv_heads, dh, causal),
        "flops": flops,
        "bytes": 4 * (q.size * 2 + k.size + v.size),
        "dtype": "bf16" if bf16 else "fp32",
        "target": target,
    }


def _decode_case(pos, heads, kv_heads, dh, bf16=False):
    """SmolLM2-135M shaped decode step: one new token at position `pos` of a 2048 cache."""
    maxseq = 2048
    rng = np.random.default_rng(0)
    width = kv_heads * dh
    q = rng.standard_normal((1, heads * dh)).astype(np.float32)
    knew = rng.standard_normal((1, width)).astype(np.float32)
    vnew = rng.standard_normal((1, width)).astype(np.float32)
    kcache = rng.standard_normal((maxseq, width)).astype(np.float32)
    vcache = rng.standard_normal((maxseq, width)).astype(np.float32)

    def reference():
        kc, vc = kcache[: pos + 1].copy(), vcache[: pos + 1].copy()
        kc[pos], vc[pos] = knew[0], vnew[0]
        return _attention(q, kc, vc, heads, kv_heads, dh, causal=False)

    n = pos + 1
    defines = {"MAXSEQ": maxseq, "P": pos, "T": 1, "H": heads, "HKV": kv_heads, "DH": dh,
               **SCRATCH}  # fmt: skip
    if bf16:
        defines["BF16"] = 1
    return {
        "name": f"decode step cache {n} h{heads}/{kv_heads} dh{dh}" + (" bf16" if bf16 else ""),
        "source": KERNELS / "kvcache_main.jasm",
        "defines": {k: str(x) for k, x in defines.items()},
        "inputs": {"q": q, "knew": knew, "vnew": vnew, "kcache": kcache, "vcache": vcache},
        "reference": reference,
        "flops": 4 * n * dh * heads,
        # cache rows 0..pos-1 read, the new row written to and read back from the cache,
        # knew / vnew read, q read, o written
        "bytes": 4 * (2 * n * width + 2 * 2 * width + 2 * heads * dh),
        "dtype": "bf16" if bf16 else "fp32",
        "target": None,
    }


def cases() -> list[dict]:
    # At dh = 64 Q.K^T (K = dh) and P.V (N = dh) each take one half of the 128 x 128 array,
    # so the kernel issues two of each side by side (two key blocks a step). Measured: fp32
    # 89 %, causal fp32 67 % (the MXU is the bottleneck); bf16 52 % (15,643 cycles), causal
    # bf16 34 %: the bf16 MXU is 4x faster and the vector unit bounds it (two 128 x 128 row
    # maxima and the output update, ~390 cycles a step, ordered so that no instruction
    # waits out its predecessor's 100-cycle latency), plus the pipeline's fill (the first
    # job loads every K/V block) and drain. Causal bf16 has no target: its diagonal steps
    # add masks and its jobs are short, so fill and drain weigh more. MiniLM shape: 48 %
    # (dh = 32 fills half of a half array: 50 % is the ceiling). Decode steps: 48 % / 75 %
    # of the DRAM bound. See programs/kernels/attention.jasm.
    return [
        _flash_case(1024, 1, 1, 64, causal=False, target=("bound", 0.50)),
        _flash_case(1024, 1, 1, 64, causal=True, target=("bound", 0.50)),
        _flash_case(1024, 1, 1, 64, causal=False, bf16=True, target=("bound", 0.50)),
        _flash_case(1024, 1, 1, 64, causal=True, bf16=True),
        _flash_case(512, 12, 12, 32, causal=False),  # MiniLM-shaped (one 512-token sentence)
        _decode_case(1023, 9, 3, 64),  # SmolLM2-135M: 9 query heads over 3 kv heads
        _decode_case(1023, 9, 3, 64, bf16=True),
    ]

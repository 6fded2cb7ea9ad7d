"""Benchmark cases of the element-wise, normalisation and data-movement kernels for
benchmarks/kernels.py, at the sizes of the flagship models: MiniLM (hidden 384, FFN 1536,
12 heads x 32, 128-token sentences) and SmolLM2-135M (d 576, FFN 1536, 9 heads x 64,
Q8_0 embedding 49152 x 576).

Softmax, LayerNorm and RMSNorm carry a target of 70 % of their DMA bound (bytes in + out over
DRAM bandwidth). The cases below reach 88-98 % (RoPE 92-95 %, mean pooling 93 %); at 256 x
384 softmax reaches 86 %, RMSNorm 79 %, LayerNorm 70 %, and at 128 x 384 (196 KiB each way,
a 1536-cycle bound) 61 %, 56 % and 47 %: the first load's and the last store's fixed DRAM
latency (2 x 320 cycles on j1) and the first and last tiles' chains of dependent steps (each
waiting out its unit's 100-cycle latency) cannot overlap anything.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import gguf
import numpy as np
from gguf.quants import dequantize, quantize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from programs.kernels.rope import rope_table  # noqa: E402

KERNELS = ROOT / "programs" / "kernels"
DMA_TARGET = ("dma", 0.70)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def softmax_case(rows: int, cols: int, mask: bool = False) -> dict:
    rng = _rng()
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    inputs, defines = {"x": x}, {"ROWS": rows, "COLS": cols}
    m = np.zeros((1, cols), np.float32)
    scale = np.float32(1.0)
    if mask:  # attention scores: 1 / sqrt(head_dim 32), a key-padding mask row for every query
        m[0, cols * 3 // 4 :] = -10000.0
        scale = np.float32(1 / math.sqrt(32))
        inputs["mask"], defines["MASK"] = m, 2
        defines["SCALE_BITS"] = int(scale.view(np.uint32))

    def reference():
        t = scale * x + m
        e = np.exp(t - t.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return {
        "name": f"softmax{' masked' if mask else ''} {rows}x{cols}",
        "source": KERNELS / "softmax_main.jasm",
        "defines": defines,
        "inputs": inputs,
        "reference": reference,
        "flops": 5 * rows * cols,
        "bytes": 2 * x.nbytes + (m.nbytes if mask else 0),
        "dtype": None,
        "target": DMA_TARGET,
    }


def layernorm_case(rows: int, cols: int) -> dict:
    rng = _rng()
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    gamma = rng.standard_normal(cols).astype(np.float32)
    beta = rng.standard_normal(cols).astype(np.float32)

    def reference():
        mean = x.mean(axis=1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * gamma + beta

    return {
        "name": f"layernorm {rows}x{cols}",
        "source": KERNELS / "layernorm_main.jasm",
        "defines": {"ROWS": rows, "COLS": cols},
        "inputs": {"x": x, "gamma": gamma, "beta": beta},
        "reference": reference,
        "flops": 8 * rows * cols,
        "bytes": 2 * x.nbytes + gamma.nbytes + beta.nbytes,
        "dtype": None,
        "target": DMA_TARGET,
    }


def rmsnorm_case(rows: int, cols: int) -> dict:
    rng = _rng()
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    weight = rng.standard_normal(cols).astype(np.float32)

    def reference():
        return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + 1e-5) * weight

    return {
        "name": f"rmsnorm {rows}x{cols}",
        "source": KERNELS / "rmsnorm_main.jasm",
        "defines": {"ROWS": rows, "COLS": cols},
        "inputs": {"x": x, "weight": weight},
        "reference": reference,
        "flops": 4 * rows * cols,
        "bytes": 2 * x.nbytes + weight.nbytes,
        "dtype": None,
        "target": DMA_TARGET,
    }


def gelu_case(rows: int, cols: int) -> dict:
    x = _rng().standard_normal((rows, cols)).astype(np.float32)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return {
        "name": f"gelu {rows}x{cols}",
        "source": KERNELS / "gelu_main.jasm",
        "defines": {"ROWS": rows, "COLS": cols},
        "inputs": {"x": x},
        "reference": lambda: x * 0.5 * (1 + erf(x / math.sqrt(2))),
        "flops": 10 * rows * cols,
        "bytes": 2 * x.nbytes,
        "dtype": None,
        "target": None,
    }


def swiglu_case(rows: int, cols: int) -> dict:
    rng = _rng()
    gate = rng.standard_normal((rows, cols)).astype(np.float32)
    up = rng.standard_normal((rows, cols)).astype(np.float32)
    return {
        "name": f"swiglu {rows}x{cols}",
        "source": KERNELS / "swiglu_main.jasm",
        "defines": {"ROWS": rows, "COLS": cols},
        "inputs": {"gate": gate, "up": up},
        "reference": lambda: gate / (1 + np.exp(-gate)) * up,
        "flops": 5 * rows * cols,
        "bytes": 3 * gate.nbytes,
        "dtype": None,
        "target": None,
    }


def rope_case(tokens: int, heads: int, head_dim: int, base: float, half: bool) -> dict:
    rng = _rng()
    positions = 2048
    x = rng.standard_normal((tokens, heads * head_dim)).astype(np.float32)
    pos = np.arange(tokens, dtype=np.int32)
    table = rope_table(positions, head_dim, base)
    defines = {"TOKENS": tokens, "HEADS": heads, "HEAD_DIM": head_dim, "TABLE": positions}
    if half:
        defines["HALF"] = 1

    def reference():
        v = x.reshape(tokens, heads, head_dim)
        cos = table[pos, : head_dim // 2][:, None, :]
        sin = table[pos, head_dim // 2 :][:, None, :]
        x0, x1 = (
            (v[..., : head_dim // 2], v[..., head_dim // 2 :])
            if half
            else (v[..., 0::2], v[..., 1::2])
        )
        return x0 * cos - x1 * sin, x0 * sin + x1 * cos

    return {
        "name": f"rope {'half' if half else 'interleaved'} {tokens}x{heads}x{head_dim}",
        "source": KERNELS / "rope_main.jasm",
        "defines": defines,
        "inputs": {"x": x, "pos": pos, "table": table},
        "reference": reference,
        "flops": 6 * tokens * heads * head_dim // 2,
        "bytes": 2 * x.nbytes + pos.nbytes + tokens * head_dim * 4,
        "dtype": None,
        "target": None,
    }


def embed_case(tokens: int, vocab: int, dim: int) -> dict:
    rng = _rng()
    blocks = quantize(rng.standard_normal((vocab, dim)).astype(np.float32),
                      gguf.GGMLQuantizationType.Q8_0)  # fmt: skip
    table = dequantize(blocks, gguf.GGMLQuantizationType.Q8_0)
    ids = rng.integers(0, vocab, tokens).astype(np.int32)
    return {
        "name": f"embed q8_0 {tokens} of {vocab}x{dim}",
        "source": KERNELS / "embed_main.jasm",
        "defines": {"TOKENS": tokens, "VOCAB": vocab, "DIM": dim, "DTYPE": 2},
        "inputs": {"ids": ids, "table": blocks},
        "reference": lambda: table[ids],
        "flops": tokens * dim,
        "bytes": ids.nbytes + tokens * (dim // 32 * 34 + dim * 4),
        "dtype": None,
        "target": None,
    }


def meanpool_case(batch: int, tokens: int, dim: int) -> dict:
    rng = _rng()
    x = rng.standard_normal((batch, tokens, dim)).astype(np.float32)
    lengths = rng.integers(1, tokens + 1, batch)
    mask = (np.arange(tokens)[None, :] < lengths[:, None]).astype(np.float32)

    def reference():
        return (x * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)

    return {
        "name": f"meanpool {batch}x{tokens}x{dim}",
        "source": KERNELS / "meanpool_main.jasm",
        "defines": {"BATCH": batch, "TOKENS": tokens, "DIM": dim},
        "inputs": {"x": x, "mask": mask},
        "reference": reference,
        "flops": 2 * batch * tokens * dim,
        "bytes": x.nbytes + mask.nbytes + batch * dim * 4,
        "dtype": None,
        "target": None,
    }


def cases() -> list[dict]:
    """The element-wise group's cases."""
    return [
        softmax_case(512, 1024),
        softmax_case(256, 4096),
        softmax_case(1536, 128, mask=True),  # MiniLM scores: 12 heads x 128 queries, 128 keys
        layernorm_case(512, 384),  # MiniLM: 4 sentences x 128 tokens
        layernorm_case(256, 1536),
        rmsnorm_case(512, 576),  # SmolLM2 prefill of 512 tokens
        rmsnorm_case(128, 4096),
        gelu_case(512, 1536),
        swiglu_case(512, 1536),
        rope_case(512, 9, 64, 1e5, half=False),  # SmolLM2 queries, GGUF pairing
        rope_case(512, 12, 32, 1e4, half=True),
        embed_case(512, 49152, 576),
        meanpool_case(32, 128, 384),
    ]

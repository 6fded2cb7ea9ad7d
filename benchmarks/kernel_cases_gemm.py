"""Benchmark cases of the GEMM family for benchmarks/kernels.py: dense GEMMs on the MXU and the
GGUF-quantised GEMVs of SmolLM2's decode step.

The dense cases grow the kernels' scratch regions (programs/ABI.md: -D KSCRATCH / KACC), as a
whole-model program with the chip to itself would, so the kernel picks 512 x 512 C panels.

About the quantised targets: the lead's "dma" bound is the Q4_1 / Q8_0 bytes over DRAM
bandwidth, but on J1 the DMA engine that dequantises is charged the larger of the bytes it
reads and writes (iss/engines/dma.py): a Q4_1 -> bf16 copy writes 2 bytes per weight, 3.2x
what it reads, and the MXU takes bf16 weights at 128 per cycle whatever M is. So no kernel can
beat N * K / 128 cycles, which is 31 % (Q4_1) or 53 % (Q8_0) of that bound; the qgemv kernel
reaches 81-99 % of N * K / 128 (see programs/kernels/qgemv.jasm).
"""

from __future__ import annotations

from pathlib import Path

import gguf
import ml_dtypes
import numpy as np
from gguf.quants import dequantize, quantize

KERNELS = Path(__file__).resolve().parent.parent / "programs" / "kernels"
BIG_SCRATCH = {"KSCRATCH": 8 << 20, "KACC": 2 << 20}
DT = {"fp32": 0, "bf16": 1, "fp8e4m3": 2, "int8": 3}
STORAGE = {"fp32": np.float32, "bf16": ml_dtypes.bfloat16, "fp8e4m3": ml_dtypes.float8_e4m3fn}
QTYPES = {"q4_1": gguf.GGMLQuantizationType.Q4_1, "q8_0": gguf.GGMLQuantizationType.Q8_0}


def gemm_case(dtype: str, m: int, k: int, n: int, target: tuple) -> dict:
    rng = np.random.default_rng(0)
    if dtype == "int8":
        a = rng.integers(-128, 128, (m, k)).astype(np.int8)
        b = rng.integers(-128, 128, (k, n)).astype(np.int8)
        reference = lambda: a.astype(np.int32) @ b.astype(np.int32)  # noqa: E731
    else:
        a = rng.standard_normal((m, k)).astype(STORAGE[dtype])
        b = rng.standard_normal((k, n)).astype(STORAGE[dtype])
        a32, b32 = a.astype(np.float32), b.astype(np.float32)
        reference = lambda: a32 @ b32  # noqa: E731
    size = np.dtype(a.dtype).itemsize
    return {
        "name": f"gemm {dtype} {m}x{k}x{n}",
        "source": KERNELS / "gemm_main.jasm",
        "defines": {"M": m, "K": k, "N": n, "DT": DT[dtype], **BIG_SCRATCH},
        "inputs": {"a": a, "b": b},
        "reference": reference,
        "flops": 2 * m * n * k,
        "bytes": (m * k + k * n) * size + m * n * 4,
        "dtype": dtype,
        "target": target,
    }


def qgemv_case(qtype: str, m: int, k: int, n: int, target: tuple | None,
               exact: bool = False) -> dict:  # fmt: skip
    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, k)).astype(np.float32)
    blocks = quantize(w, QTYPES[qtype])
    x = rng.standard_normal((m, k)).astype(np.float32)
    weights = dequantize(blocks, QTYPES[qtype])  # the host path: dequantise, then multiply
    return {
        "name": f"qgemv {qtype}{' exact fp32' * exact} {m}x{k}x{n}",
        "source": KERNELS / "qgemv_main.jasm",
        "defines": {"M": m, "K": k, "N": n, "Q": int(qtype == "q8_0"), "EXACT": int(exact)},
        "inputs": {"x": x, "w": blocks},
        "reference": lambda: x @ weights.T,
        "flops": 2 * m * n * k,
        "bytes": blocks.nbytes + x.nbytes + m * n * 4,
        "dtype": "fp32" if exact else "bf16",
        "target": target,
    }


def cases() -> list[dict]:
    """The GEMM family's cases."""
    return [
        gemm_case("bf16", 1024, 1024, 1024, ("mxu", 0.85)),
        gemm_case("fp32", 1024, 1024, 1024, ("mxu", 0.85)),
        gemm_case("fp8e4m3", 1024, 1024, 1024, ("mxu", 0.85)),
        # int32 C (1 MiB) outweighs the MXU time at 512^3: the roofline bound is DRAM
        gemm_case("int8", 512, 512, 512, ("bound", 0.70)),
        # 0.55 MB of weights stream in ~2,200 cycles, about as long as the fixed costs around
        # them (the first chunk's DMA latency, the MXU fill, the last store): no target here;
        # the streaming rate is what the larger cases measure
        qgemv_case("q4_1", 1, 576, 1536, None),
        qgemv_case("q4_1", 1, 1536, 8192, ("dma", 0.70)),
        qgemv_case("q4_1", 1, 1536, 8192, ("dma", 0.70), exact=True),  # SmolLM2's kernel
        qgemv_case("q8_0", 1, 576, 49152, ("dma", 0.70)),
    ]

"""Simulated GEMM speed: 1024x1024x1024 through MXU tile instructions vs np.matmul.

Runs programs/examples/gemm.jasm (DMA + 128 `mm` tile products) for fp32 and bf16 inputs
and, in the same run, np.matmul on the same operands (bf16 widened to fp32 first, inside the
timed call: NumPy has no bf16 BLAS kernel).
Prints each throughput and the ratio; target >= 0.8 of NumPy's. Also checks the results.
Both sides are measured warm, interleaved, best of five: NumPy's matmul reuses its
allocator's pages, and the simulator runs the program again after `reset` (as a model's
decode loop does), with its blocks already translated and its memory pages already mapped.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import best_of  # noqa: E402, I001  (pins BLAS to one thread: import first)

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
from isa.elf import Program  # noqa: E402
from iss.runtime import Simulator  # noqa: E402

SIZE = 1024
REPEAT = 5
SOURCE = ROOT / "programs" / "examples" / "gemm.jasm"


def assemble(fp32: bool) -> Program:
    from asm import assemble_files

    defines = {"M": SIZE, "K": SIZE, "N": SIZE} | ({"FP32": 1} if fp32 else {})
    return assemble_files([str(SOURCE)], defines=defines)


def numpy_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The fastest NumPy product of these operands: BLAS in fp32 (bf16 has no BLAS kernel,
    so it is widened first, exactly, as the MXU does; fp32 is used as it is)."""
    return np.matmul(a.astype(np.float32, copy=False), b.astype(np.float32, copy=False))


def measure(dtype_name: str) -> None:
    fp32 = dtype_name == "fp32"
    storage = np.float32 if fp32 else ml_dtypes.bfloat16
    rng = np.random.default_rng(1)
    a = rng.standard_normal((SIZE, SIZE)).astype(storage)
    b = rng.standard_normal((SIZE, SIZE)).astype(storage)
    sim = Simulator(assemble(fp32), machine="j1")
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    iss_times, numpy_times = [], []
    for run in range(REPEAT + 1):  # binding and reset are not timed: only the simulation
        if run:
            sim.reset()
        sim.bind("a", a)
        sim.bind("b", b)
        seconds = best_of(sim.run, repeat=1)
        if run:  # the first run translates the program's blocks and faults memory pages in
            iss_times.append(seconds)
        numpy_times.append(best_of(lambda: numpy_matmul(a, b), repeat=1))  # interleaved:
    iss_s, numpy_s = min(iss_times), min(numpy_times)  # load drifts on a shared machine
    c = sim.read("c")
    error = float(np.abs(c - a32 @ b32).max())
    flops = 2 * SIZE**3
    iss_gf, np_gf = flops / iss_s / 1e9, flops / numpy_s / 1e9
    report = sim.report()
    print(
        f"iss_gemm {dtype_name}: ISS {iss_s * 1e3:7.1f} ms = {iss_gf:5.1f} GFLOP/s | "
        f"np.matmul {numpy_s * 1e3:6.1f} ms = {np_gf:5.1f} GFLOP/s | ratio {iss_gf / np_gf:.2f} "
        f"(target >= 0.8) | max |diff| {error:.2e} | simulated MXU {report.mxu_utilisation:.0%}"
    )


def main() -> None:
    for dtype_name in ("fp32", "bf16"):
        measure(dtype_name)


if __name__ == "__main__":
    main()

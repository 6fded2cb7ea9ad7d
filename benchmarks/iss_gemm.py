"""Simulated GEMM speed: 1024x1024x1024 through MXU tile instructions vs np.matmul.

Runs programs/examples/gemm.jasm (double-buffered DMA + `mm`) for fp32 and bf16 inputs and,
in the same run, np.matmul on the same operands (bf16 widened to fp32, as the MXU does).
Prints each throughput and the ratio; target >= 0.8 of NumPy's. Also checks the results.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import best_of  # noqa: E402  (pins BLAS to one thread first)
from isa.elf import Program  # noqa: E402
from iss.runtime import Simulator  # noqa: E402

SIZE = 1024
SOURCE = ROOT / "programs" / "examples" / "gemm.jasm"


def assemble(fp32: bool) -> Program:
    from asm import assemble_files

    defines = {"M": SIZE, "K": SIZE, "N": SIZE} | ({"FP32": 1} if fp32 else {})
    return assemble_files([str(SOURCE)], defines=defines)


def measure(dtype_name: str) -> None:
    fp32 = dtype_name == "fp32"
    storage = np.float32 if fp32 else ml_dtypes.bfloat16
    rng = np.random.default_rng(1)
    a = rng.standard_normal((SIZE, SIZE)).astype(storage)
    b = rng.standard_normal((SIZE, SIZE)).astype(storage)
    program = assemble(fp32)
    results, times = [], []
    for _ in range(3):  # machine set-up and binding are not timed: only the simulation
        sim = Simulator(program, machine="j1")
        sim.bind("a", a)
        sim.bind("b", b)
        times.append(best_of(sim.run, repeat=1))
        results.append(sim)

    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    iss_s = min(times)
    numpy_s = best_of(lambda: np.matmul(a32, b32))
    c = results[-1].read("c")
    error = float(np.abs(c - a32 @ b32).max())
    flops = 2 * SIZE**3
    iss_gf, np_gf = flops / iss_s / 1e9, flops / numpy_s / 1e9
    report = results[-1].report()
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

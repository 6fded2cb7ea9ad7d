"""`python -m programs.examples.gemm`: a double-buffered bf16 GEMM on the simulated J1.

Assembles programs/examples/gemm.jasm, binds random matrices, runs it with the race
detector on, checks the result against NumPy and prints the chip's report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ml_dtypes
import numpy as np

from iss.runtime import Simulator

SOURCE = Path(__file__).with_name("gemm.jasm")


def main(argv: list[str] | None = None) -> None:
    """Run the GEMM example and print its check and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", type=int, default=512, help="rows of A and C (multiple of 128)")
    parser.add_argument("-k", type=int, default=1024, help="cols of A (multiple of 128)")
    parser.add_argument("-n", type=int, default=1024, help="cols of B and C (multiple of 512)")
    parser.add_argument("--machine", default="j1")
    args = parser.parse_args(argv)
    defines = {"M": args.m, "K": args.k, "N": args.n}
    sim = Simulator.load(SOURCE, machine=args.machine, race="error", defines=defines)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((args.m, args.k)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((args.k, args.n)).astype(ml_dtypes.bfloat16)
    sim.bind("a", a)
    sim.bind("b", b)
    start = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - start
    c = sim.read("c")
    reference = a.astype(np.float32) @ b.astype(np.float32)
    print(
        f"J1 GEMM {args.m}x{args.k} @ {args.k}x{args.n}, bf16 in, fp32 out "
        f"(programs/examples/gemm.jasm)"
    )
    print(f"  max |C - numpy| = {np.abs(c - reference).max():.3g}  (fp32 sums in another order)")
    print(f"  host wall time {wall:.3f} s\n")
    print(sim.report().text())


if __name__ == "__main__":
    main()

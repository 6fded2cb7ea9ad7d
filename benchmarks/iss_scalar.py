"""Scalar simulation speed: a loop of 5.6M dynamic J1 instructions, in MIPS.

Baseline, measured in the same run: the same loop written directly in Python (the
arithmetic each J1 instruction does, as Python statements). Its statement rate is the
ceiling for any Python-hosted ISS, so the ratio shows how close the block translator gets.
Target: >= 10 MIPS on a 2-core machine of this class.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_of
from iss.runtime import Simulator

ITERATIONS = 700_000
BODY = 8  # instructions per iteration
SOURCE = f"""
        li   t0, {ITERATIONS}
        li   a0, 0
        li   a1, 1
loop:   add  a0, a0, a1
        xor  a1, a1, a0
        slli a2, a0, 3
        srli a3, a2, 5
        and  a4, a3, a1
        or   a5, a4, a2
        addi t0, t0, -1
        bnez t0, loop
        halt
"""


def python_loop() -> int:
    """The same computation as straight Python, with the ISS's 64-bit masking."""
    m = (1 << 64) - 1
    t0, a0, a1 = ITERATIONS, 0, 1
    while True:
        a0 = (a0 + a1) & m
        a1 = a1 ^ a0
        a2 = (a0 << 3) & m
        a3 = a2 >> 5
        a4 = a3 & a1
        a5 = a4 | a2  # noqa: F841 - kept so both sides do the same work
        t0 = (t0 - 1) & m
        if t0 == 0:
            return a0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loop.jasm"
        path.write_text(SOURCE)
        sims = []

        def run_iss() -> None:
            sim = Simulator.load(path, machine="j1-mini")
            sim.run()
            sims.append(sim)

        iss_s = best_of(run_iss)
    instructions = sims[-1].state.instret
    assert sims[-1].state.X[10] == python_loop()
    python_s = best_of(python_loop)
    iss_mips = instructions / iss_s / 1e6
    py_mips = ITERATIONS * BODY / python_s / 1e6
    print(
        f"iss_scalar: {instructions:,} instructions in {iss_s:.3f} s = {iss_mips:.1f} MIPS "
        f"(target >= 10)"
    )
    print(f"baseline:   same loop as plain Python {python_s:.3f} s = {py_mips:.1f} M stmts/s")
    print(f"ratio:      ISS / plain Python = {iss_mips / py_mips:.2f}")


if __name__ == "__main__":
    main()

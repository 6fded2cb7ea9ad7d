"""Debugger overhead: `continue` under jdb's engine vs plain `jrun`, on a scalar loop.

The engine runs with reverse recording on and one conditional breakpoint inside the loop
whose condition never holds, so every iteration pays for a condition call and each scalar
store for the undo log. Baseline, measured in the same run: Simulator.run on the same
program. Target: ratio (jdb speed / jrun speed) >= 0.5. Also printed: the reverse history's
memory cost per million instructions and how far back it reaches.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_of
from debugger.engine import Engine
from iss.runtime import Simulator

ITERATIONS = 600_000
SOURCE = f"""
        .section .data
buf:    .space  4096
        .text
        li   t0, {ITERATIONS}
        li   a0, 0
        li   a1, 1
        la   s0, buf
loop:   add  a0, a0, a1
        xor  a1, a1, a0
        slli a2, a0, 3
        srli a3, a2, 5
        andi a4, t0, 511
        slli a4, a4, 3
        add  a4, a4, s0
        sd   a3, 0(a4)
        addi t0, t0, -1
        bnez t0, loop
        halt
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loop.jasm"
        path.write_text(SOURCE)
        runs: list = []

        def plain() -> None:
            sim = Simulator.load(path, machine="j1-mini", defer=False)
            sim.run()
            runs.append(sim.state.instret)

        def debugged() -> None:
            engine = Engine.load(path, machine="j1-mini")
            state = engine.state
            engine.add_breakpoint(engine.resolve("loop"), condition=lambda: state.X[5] == 1 << 40)
            stop = engine.cont()
            assert stop.kind == "halted", stop.line()
            runs.append(engine)

        plain_s = best_of(plain)
        jdb_s = best_of(debugged)
    instructions = runs[0]
    engine = runs[-1]
    info = engine.history_info()
    ratio = plain_s / jdb_s
    per_million = info["bytes"] / (instructions / 1e6)
    print(f"jrun:  {instructions:,} instructions in {plain_s:.3f} s = "
          f"{instructions / plain_s / 1e6:.1f} MIPS")  # fmt: skip
    print(f"jdb:   same, recording + conditional breakpoint in the loop, {jdb_s:.3f} s = "
          f"{instructions / jdb_s / 1e6:.1f} MIPS")  # fmt: skip
    print(f"ratio: jdb / jrun speed = {ratio:.2f} (target >= 0.5)")
    print(f"history: {info['bytes']:,} bytes for {info['steps']:,} steps back "
          f"({info['checkpoints']} checkpoints) = {per_million / 1024:.1f} KiB "
          "per million steps")  # fmt: skip


if __name__ == "__main__":
    main()

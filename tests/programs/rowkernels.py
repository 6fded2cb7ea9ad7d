"""Running the element-wise, normalisation and data-movement kernels' entry programs.

Each `programs/kernels/NAME_main.jasm` calls its kernel as a subroutine and exits with the
kernel's status, or with 100 + n / 112 / 113 when the call broke the calling convention
(s<n>, sp, f8-f15; programs/kernels/entry.jasm), so every run here also checks
programs/ABI.md. The race detector runs in error mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iss.runtime import Simulator

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "programs" / "kernels"
U = 2.0**-24  #: fp32 unit roundoff

#: row counts around the 128-row tile limit and the tile-splitting heuristics
ROWS = [1, 2, 7, 127, 128, 129, 300]
#: column counts: odd, around a vector pass of 128 elements, model widths
COLS = [1, 3, 64, 127, 128, 129, 384, 576, 1000]


def run(
    kernel: str, inputs: dict[str, np.ndarray], status: int = 0, machine: str = "j1", **defines
) -> np.ndarray:
    """Run NAME_main.jasm with `defines`, bind `inputs`, check the exit status; return y."""
    path = KERNELS / f"{kernel}_main.jasm"
    sim = Simulator.load(path, defines=defines, race="error", machine=machine)
    for name, value in inputs.items():
        sim.bind(name, value)
    assert sim.run() == status
    return sim.read("y")


def ulps(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|y - ref| in units of the fp32 spacing at ref (ref in float64)."""
    spacing = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    return np.abs(y.astype(np.float64) - ref) / spacing


def sum_error(cols: int) -> float:
    """Relative error bound (in units of U) of NumPy's pairwise fp32 sum of `cols` terms,
    which the reductions and `.sum` side outputs use (docs/isa.md, `vrsum`): blocks of up to
    128 terms summed in 8 interleaved partial sums (<= 16 roundings each), then a pairwise
    tree (log2(cols / 128) more)."""
    return 16.0 + max(0.0, np.log2(max(cols, 1) / 128.0)) + 1.0


def bits(value: float) -> int:
    """The fp32 bit pattern of `value`, for -D SCALE_BITS / EPS_BITS (-D takes integers)."""
    return int(np.float32(value).view(np.uint32))

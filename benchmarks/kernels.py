"""The kernel library on the simulated J1: simulated cycles against each kernel's roofline bound.

For every case the kernel groups define (`benchmarks/kernel_cases_*.py`, each a `cases()`
list), runs the kernel's stand-alone entry program on the default `j1` machine and prints:
simulated cycles; the roofline bound from the machine description, max(compute time at the
MXU's peak for the case's dtype, minimum DRAM bytes at the DRAM bandwidth); the achieved
fraction of that bound (bound / cycles); per-engine utilisation; and the simulator's host wall
time next to the NumPy reference's, measured in the same run. A case with a target
(("mxu" | "dma" | "bound", fraction)) is marked ok or MISSED.

    python benchmarks/kernels.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import best_of  # noqa: E402, I001  (pins BLAS to one thread: import first)

from isa.machine import Machine, load_machine  # noqa: E402
from iss.runtime import Simulator  # noqa: E402

GROUPS = ("gemm", "elementwise", "attention")


def load_cases() -> list[dict]:
    """Every group's cases; a group whose module is missing is reported, not fatal."""
    cases = []
    for group in GROUPS:
        try:
            module = importlib.import_module(f"benchmarks.kernel_cases_{group}")
        except ModuleNotFoundError:
            print(f"(no benchmarks/kernel_cases_{group}.py: skipping {group})")
            continue
        cases += module.cases()
    return cases


def bounds(case: dict, machine: Machine) -> tuple[float, float]:
    """(compute cycles, memory cycles) of the case's roofline on `machine`."""
    dtype = case.get("dtype")
    compute = case["flops"] / (2 * machine.matrix.macs_per_cycle[dtype]) if dtype else 0.0
    memory = case["bytes"] / machine.dram.bytes_per_cycle
    return compute, memory


def achieved(case: dict, cycles: int, compute: float, memory: float) -> tuple[str, float]:
    """(which bound the target names, fraction of it reached)."""
    kind = (case.get("target") or ("roofline", 0))[0]
    bound = {"mxu": compute, "dma": memory}.get(kind, max(compute, memory))
    return ("roofline" if kind == "bound" else kind), bound / cycles


def run(case: dict, machine: Machine) -> None:
    sim = Simulator.load(case["source"], defines=case.get("defines"), machine=machine)
    for name, value in case["inputs"].items():
        sim.bind(name, value)
    start = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - start
    numpy_s = best_of(case["reference"], repeat=3)
    report = sim.report()
    compute, memory = bounds(case, machine)
    kind, fraction = achieved(case, report.cycles, compute, memory)
    target = case.get("target")
    verdict = ""
    if target:
        verdict = "ok" if fraction >= target[1] else "MISSED"
        verdict = f" (target {target[1]:.0%}: {verdict})"
    busy = " ".join(
        f"{engine} {share:.0%}" for engine, share in report.utilisation.items() if share >= 0.005
    )
    print(
        f"{case['name']}: {report.cycles:,} cycles, bound {max(compute, memory):,.0f} "
        f"(compute {compute:,.0f}, dram {memory:,.0f}) -> {fraction:.0%} of {kind} bound{verdict}"
        f"\n    utilisation {busy} | ISS {wall * 1e3:.1f} ms, NumPy {numpy_s * 1e3:.2f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    args = parser.parse_args(argv)
    machine = load_machine("j1")
    for case in load_cases():
        if args.only in case["name"]:
            run(case, machine)


if __name__ == "__main__":
    main()

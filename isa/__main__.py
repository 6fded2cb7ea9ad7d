"""`python -m isa`: a short tour of the J1 instruction set and the default machine."""

from __future__ import annotations

from collections import Counter

from isa import BY_MNEMONIC, INSTRUCTIONS, PSEUDOS, decode, disassemble, encode
from isa.machine import load_machine
from isa.registers import CATEGORIES

# A few instructions from each engine, to show the encoding and the assembler syntax.
_SAMPLES = (
    ("li-like addi", "addi", {"rd": 10, "rs1": 0, "imm": 42}),
    ("tile descriptor", "tset", {"dd": 1, "rs1": 5, "rows": 128, "cols": 128, "dtype": 4}),
    ("DMA load", "dma.copy", {"dd": 1, "ds": 0}),
    ("matmul", "mm", {"dc": 2, "da": 1, "db": 3, "acc": 1}),
    ("vector", "vmax.col", {"dd": 4, "da": 4, "db": 5}),
    ("activation", "act.exp.col.sum", {"dd": 4, "ds": 4, "fscale": 1, "dbias": 5, "dsum": 6}),
    ("sync", "wait", {"engine": 2, "sem": 0}),
)


def main() -> None:
    """Print instruction counts, a few encodings and the default machine's peaks."""
    counts = Counter(spec.engine for spec in INSTRUCTIONS)
    print(f"J1: {len(INSTRUCTIONS)} instructions, {len(PSEUDOS)} pseudo-instructions, 64-bit words")
    print("  " + ", ".join(f"{e} {counts[e]}" for e in CATEGORIES))
    print("\nSample encodings:")
    for label, mnemonic, values in _SAMPLES:
        word = encode(BY_MNEMONIC[mnemonic], values)
        print(f"  {word:016x}  {disassemble(decode(word)):40s} # {label}")
    m = load_machine("j1")
    print(f"\nMachine {m.name}: {m.description}")
    for dtype, flops in m.peak_flops_by_dtype.items():
        print(f"  peak {dtype:8s} {flops / 1e12:6.1f} TFLOP/s")
    print(f"  DRAM {m.dram_bytes_per_s / 1e9:.0f} GB/s, static power {m.static_power_w:g} W")
    print("\nFull manual: docs/isa.md (regenerate with `python -m isa.docgen`)")


if __name__ == "__main__":
    main()

"""Register files, CSRs and engine names of J1: the names the assembler accepts and the
disassembler prints. Numbers here are architectural (they appear in instruction words)."""

from __future__ import annotations

N_XREGS = 32  #: 64-bit integer registers; x0 reads as zero, writes to it are discarded
N_FREGS = 32  #: fp32 scalar registers
N_DREGS = 32  #: tile descriptor registers
N_SEMS = 32  #: counting semaphores
LOOP_DEPTH = 4  #: hardware-loop nesting levels

# RISC-V's ABI names: J1's scalar front end is RISC-V-shaped, so kernel writers read it at a glance.
XREG_ABI = (
    "zero",
    "ra",
    "sp",
    "gp",
    "tp",
    "t0",
    "t1",
    "t2",
    "s0",
    "s1",
    "a0",
    "a1",
    "a2",
    "a3",
    "a4",
    "a5",
    "a6",
    "a7",
    "s2",
    "s3",
    "s4",
    "s5",
    "s6",
    "s7",
    "s8",
    "s9",
    "s10",
    "s11",
    "t3",
    "t4",
    "t5",
    "t6",
)

XREG_NAMES: dict[str, int] = {f"x{i}": i for i in range(N_XREGS)}
XREG_NAMES.update({name: i for i, name in enumerate(XREG_ABI)})
XREG_NAMES["fp"] = 8  # frame pointer alias of s0, as in RISC-V

FREG_NAMES: dict[str, int] = {f"f{i}": i for i in range(N_FREGS)}
DREG_NAMES: dict[str, int] = {f"d{i}": i for i in range(N_DREGS)}
SEM_NAMES: dict[str, int] = {f"sem{i}": i for i in range(N_SEMS)}

# Engines, in the order of their 3-bit code in `signal`/`wait`. Every engine has its own
# in-order queue; `scalar` is the front end itself.
ENGINES = ("scalar", "dma", "matrix", "vector", "activation")
ENGINE_NAMES: dict[str, int] = {name: i for i, name in enumerate(ENGINES)}

# Instruction categories of the ISA table (an instruction's `engine`): the five engines plus
# `sync` (semaphores, barrier) and `system` (halt, breakpoints, debug print).
CATEGORIES = (*ENGINES, "sync", "system")


class Csr:
    """One control/status register: 12-bit number, name, writability, meaning."""

    def __init__(self, number: int, name: str, writable: bool, summary: str) -> None:
        self.number, self.name, self.writable, self.summary = number, name, writable, summary


CSRS: tuple[Csr, ...] = (
    Csr(0xC00, "cycle", False, "front-end cycle at which this instruction issues (timing model)"),
    Csr(0xC02, "instret", False, "instructions retired before this one"),
    Csr(0x800, "lcount", False, "iterations left in the innermost hardware loop (0 outside)"),
    Csr(0x801, "ldepth", False, "number of active hardware loops (0 to 4)"),
    Csr(0x340, "scratch", True, "free 64-bit register for software"),
)
CSR_BY_NAME: dict[str, Csr] = {c.name: c for c in CSRS}
CSR_BY_NUMBER: dict[int, Csr] = {c.number: c for c in CSRS}

"""Pseudo-instructions: assembler conveniences with their expansions into real instructions.

Expansions are assembly text with `{operand}` placeholders, except `li`, whose shortest
sequence depends on the value (`li_sequence`).
"""

from __future__ import annotations

from isa.spec import Kind, Pseudo, PseudoOperand

_X, _F, _D, _T, _I = Kind.XREG, Kind.FREG, Kind.DREG, Kind.OFFSET, Kind.IMM

# mnemonic, syntax with kinds, expansion lines, summary
_ROWS = (
    (
        "li",
        (("rd", _X), ("value", _I)),
        ("<li_sequence>",),
        "load any 64-bit constant (1 or 2 instructions: addi | lui | lui + addi)",
    ),
    (
        "la",
        (("rd", _X), ("target", _T)),
        ("auipc {rd}, {target}",),
        "load the address of a label, pc-relative",
    ),
    ("mv", (("rd", _X), ("rs", _X)), ("addi {rd}, {rs}, 0",), "copy a register"),
    ("not", (("rd", _X), ("rs", _X)), ("xori {rd}, {rs}, -1",), "bitwise not"),
    ("neg", (("rd", _X), ("rs", _X)), ("sub {rd}, zero, {rs}",), "negate"),
    ("seqz", (("rd", _X), ("rs", _X)), ("sltiu {rd}, {rs}, 1",), "set if zero"),
    ("snez", (("rd", _X), ("rs", _X)), ("sltu {rd}, zero, {rs}",), "set if not zero"),
    ("nop", (), ("addi zero, zero, 0",), "no operation"),
    ("j", (("target", _T),), ("jal zero, {target}",), "jump"),
    ("jr", (("rs", _X),), ("jalr zero, {rs}, 0",), "jump to a register"),
    ("call", (("target", _T),), ("jal ra, {target}",), "call a subroutine (ra = return address)"),
    ("ret", (), ("jalr zero, ra, 0",), "return from a subroutine"),
    ("beqz", (("rs", _X), ("target", _T)), ("beq {rs}, zero, {target}",), "branch if zero"),
    ("bnez", (("rs", _X), ("target", _T)), ("bne {rs}, zero, {target}",), "branch if not zero"),
    ("bltz", (("rs", _X), ("target", _T)), ("blt {rs}, zero, {target}",), "branch if < 0"),
    ("bgez", (("rs", _X), ("target", _T)), ("bge {rs}, zero, {target}",), "branch if >= 0"),
    ("blez", (("rs", _X), ("target", _T)), ("bge zero, {rs}, {target}",), "branch if <= 0"),
    ("bgtz", (("rs", _X), ("target", _T)), ("blt zero, {rs}, {target}",), "branch if > 0"),
    (
        "bgt",
        (("rs1", _X), ("rs2", _X), ("target", _T)),
        ("blt {rs2}, {rs1}, {target}",),
        "branch if greater (signed)",
    ),
    (
        "ble",
        (("rs1", _X), ("rs2", _X), ("target", _T)),
        ("bge {rs2}, {rs1}, {target}",),
        "branch if less or equal (signed)",
    ),
    (
        "bgtu",
        (("rs1", _X), ("rs2", _X), ("target", _T)),
        ("bltu {rs2}, {rs1}, {target}",),
        "branch if greater (unsigned)",
    ),
    (
        "bleu",
        (("rs1", _X), ("rs2", _X), ("target", _T)),
        ("bgeu {rs2}, {rs1}, {target}",),
        "branch if less or equal (unsigned)",
    ),
    ("fmv", (("fd", _F), ("fs", _F)), ("fsgnj {fd}, {fs}, {fs}",), "copy an fp32 register"),
    ("fneg", (("fd", _F), ("fs", _F)), ("fsgnjn {fd}, {fs}, {fs}",), "negate fp32"),
    ("fabs", (("fd", _F), ("fs", _F)), ("fsgnjx {fd}, {fs}, {fs}",), "fp32 absolute value"),
    (
        "vcausal",
        (("dd", _D), ("ds", _D), ("rs", _X), ("fs", _F)),
        ("vmask {dd}, {ds}, {rs}, 1, -1, {fs}",),
        "causal mask: keep ds[i, j] where j <= i + x[rs], else f[fs]",
    ),
)

PSEUDOS: tuple[Pseudo, ...] = tuple(
    Pseudo(
        mnemonic=m,
        syntax=", ".join(name for name, _ in ops),
        operands=tuple(PseudoOperand(name, kind) for name, kind in ops),
        expansion=expansion,
        summary=summary,
    )
    for m, ops, expansion, summary in _ROWS
)

_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1


def split_hi_lo(value: int) -> tuple[int, int]:
    """`%hi`/`%lo` of a 64-bit value: (hi << 32) + sext(lo) == value (mod 2**64).

    lo is signed 32-bit (what `addi` adds); hi is unsigned 32-bit (what `lui` loads).
    """
    value &= (1 << 64) - 1
    lo = value & 0xFFFF_FFFF
    lo -= (lo >> 31) << 32  # sign-extend
    hi = ((value - lo) >> 32) & 0xFFFF_FFFF
    return hi, lo


def li_sequence(value: int) -> list[tuple[str, int]]:
    """The shortest instruction sequence for `li`: [(mnemonic, immediate), ...].

    `addi rd, zero, v` for values that fit a signed 32-bit immediate, `lui rd, hi` when the
    low word is zero, else `lui` then `addi rd, rd, lo`.
    """
    value &= (1 << 64) - 1
    signed = value - (1 << 64) if value >> 63 else value
    if _I32_MIN <= signed <= _I32_MAX:
        return [("addi", signed)]
    hi, lo = split_hi_lo(value)
    return [("lui", hi)] if lo == 0 else [("lui", hi), ("addi", lo)]

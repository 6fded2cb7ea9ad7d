"""Semantics of the front-end instructions, one Python template per mnemonic.

A template is the instruction's effect as a Python statement over the register lists
(`X` integer registers as unsigned 64-bit ints, `F` fp32 bit patterns, `D` descriptors) with
`{field}` placeholders filled from the decoded word, plus, for control flow, an expression
for the next pc. iss.translate pastes templates into one Python function per basic block;
the same templates, one per block, are the single-step interpreter — so the fast path and
the reference path cannot disagree. The helper functions templates call are defined here.

Conventions inside templates: `M` = 2**64 - 1; `(v ^ SB) - SB` reads v as signed (SB = 2**63)
and `v ^ SB` orders unsigned values as signed ones; writes to x0 go to a sink register.
"""

from __future__ import annotations

import math
import struct

from iss import tiles
from iss.errors import Trap

M = (1 << 64) - 1
SB = 1 << 63
CANONICAL_NAN = 0x7FC00000
_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")


def fv(bits: int) -> float:
    """fp32 bits -> Python float (exact)."""
    return _F32.unpack(_U32.pack(bits))[0]


def fb(value: float) -> int:
    """Python float -> fp32 bits, rounded to nearest even; any NaN becomes canonical.

    Exact for +, -, *, / and sqrt of fp32 operands computed in double: double has more than
    2 * 24 + 2 significand bits, so rounding twice gives the correctly rounded fp32 result.
    """
    if value != value:
        return CANONICAL_NAN
    try:
        return _U32.unpack(_F32.pack(value))[0]
    except OverflowError:  # rounds beyond the largest fp32: IEEE overflow gives a signed Inf
        return 0xFF800000 if value < 0 else 0x7F800000


def fdiv(a: float, b: float) -> int:
    """fp32 division with IEEE results for a zero divisor."""
    if b == 0.0:
        if a != a or a == 0.0:
            return CANONICAL_NAN
        negative = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
        return 0xFF800000 if negative else 0x7F800000
    return fb(a / b)


def fsqrt(a: float) -> int:
    """fp32 square root; negative operands give the canonical NaN (sqrt(-0) = -0)."""
    return CANONICAL_NAN if a < 0 or a != a else fb(math.sqrt(a))


def fminmax(a_bits: int, b_bits: int, want_max: bool) -> int:
    """RISC-V fmin/fmax: a NaN operand yields the other; -0 < +0; two NaNs the canonical NaN."""
    a, b = fv(a_bits), fv(b_bits)
    if a != a:
        return CANONICAL_NAN if b != b else b_bits
    if b != b:
        return a_bits
    if a == b:  # only +-0 compare equal with different bits: order them by sign
        a_neg = bool(a_bits >> 31)
        return (b_bits if a_neg else a_bits) if want_max else (a_bits if a_neg else b_bits)
    return a_bits if (a > b) == want_max else b_bits


def i2f(value: int) -> int:
    """Signed 64-bit integer (unsigned representation) -> fp32 bits, rounded once to nearest
    even (going through double would round twice)."""
    n = value - (1 << 64) if value >> 63 else value
    magnitude, shift = abs(n), max(abs(n).bit_length() - 24, 0)
    if shift:
        q, r = divmod(magnitude, 1 << shift)
        half = 1 << (shift - 1)
        if r > half or (r == half and q & 1):
            q += 1
        magnitude = q << shift
    return fb(math.copysign(float(magnitude), n))


def f2i(bits: int) -> int:
    """fp32 -> signed 64-bit, toward zero, saturating; NaN gives 0 (unsigned representation)."""
    a = fv(bits)
    if a != a:
        return 0
    if a >= 2.0**63:
        return (1 << 63) - 1
    if a < -(2.0**63):
        return 1 << 63
    return int(a) & M


def sdiv(a: int, b: int) -> int:
    """Signed division toward zero; /0 gives -1; overflow gives the dividend."""
    if b == 0:
        return M
    sa, sb = (a ^ SB) - SB, (b ^ SB) - SB
    q = abs(sa) // abs(sb)
    return (q if (sa < 0) == (sb < 0) else -q) & M


def srem(a: int, b: int) -> int:
    """Signed remainder with the dividend's sign; %0 gives the dividend."""
    if b == 0:
        return a
    sa, sb = (a ^ SB) - SB, (b ^ SB) - SB
    r = abs(sa) % abs(sb)
    return (-r if sa < 0 else r) & M


def jump_target(address: int) -> int:
    """An indirect jump target, which must be instruction-aligned."""
    if address & 7:
        raise Trap("misaligned", f"jump target {address:#x} is not a multiple of 8")
    return address


def set_stride(d: tiles.Desc, stride: int) -> tiles.Desc:
    """`tstride`: a new row stride (bytes, below 2**32)."""
    if stride >> 32:
        raise Trap("bad_descriptor", f"stride {stride:#x} does not fit 32 bits")
    return d._replace(stride=stride)


def set_depth(d: tiles.Desc, depth: int, plane: int) -> tiles.Desc:
    """`tdepth`: make the tile depth planes of rows x cols, `plane` bytes apart."""
    if not 1 <= depth <= tiles.MAX_FIELD:
        raise Trap("bad_descriptor", f"depth {depth} outside 1..{tiles.MAX_FIELD}")
    if plane >> 32:
        raise Trap("bad_descriptor", f"plane stride {plane:#x} does not fit 32 bits")
    return d._replace(depth=depth, plane=plane)


_LT = "(X[{rs1}] ^ SB) < (X[{rs2}] ^ SB)"  # signed a < b
_LTU = "X[{rs1}] < X[{rs2}]"

#: mnemonic -> (effect statement, next-pc expression or None for pc + 8)
TEMPLATES: dict[str, tuple[str, str | None]] = {
    "add": ("X[{rd}] = (X[{rs1}] + X[{rs2}]) & M", None),
    "sub": ("X[{rd}] = (X[{rs1}] - X[{rs2}]) & M", None),
    "and": ("X[{rd}] = X[{rs1}] & X[{rs2}]", None),
    "or": ("X[{rd}] = X[{rs1}] | X[{rs2}]", None),
    "xor": ("X[{rd}] = X[{rs1}] ^ X[{rs2}]", None),
    "sll": ("X[{rd}] = (X[{rs1}] << (X[{rs2}] & 63)) & M", None),
    "srl": ("X[{rd}] = X[{rs1}] >> (X[{rs2}] & 63)", None),
    "sra": ("X[{rd}] = (((X[{rs1}] ^ SB) - SB) >> (X[{rs2}] & 63)) & M", None),
    "slt": (f"X[{{rd}}] = int({_LT})", None),
    "sltu": (f"X[{{rd}}] = int({_LTU})", None),
    "mul": ("X[{rd}] = (X[{rs1}] * X[{rs2}]) & M", None),
    "mulh": ("X[{rd}] = ((((X[{rs1}] ^ SB) - SB) * ((X[{rs2}] ^ SB) - SB)) >> 64) & M", None),
    "mulhu": ("X[{rd}] = (X[{rs1}] * X[{rs2}]) >> 64", None),
    "div": ("X[{rd}] = sdiv(X[{rs1}], X[{rs2}])", None),
    "divu": ("X[{rd}] = X[{rs1}] // X[{rs2}] if X[{rs2}] else M", None),
    "rem": ("X[{rd}] = srem(X[{rs1}], X[{rs2}])", None),
    "remu": ("X[{rd}] = X[{rs1}] % X[{rs2}] if X[{rs2}] else X[{rs1}]", None),
    "min": (f"X[{{rd}}] = X[{{rs1}}] if {_LT} else X[{{rs2}}]", None),
    "max": (f"X[{{rd}}] = X[{{rs2}}] if {_LT} else X[{{rs1}}]", None),
    "minu": (f"X[{{rd}}] = X[{{rs1}}] if {_LTU} else X[{{rs2}}]", None),
    "maxu": (f"X[{{rd}}] = X[{{rs2}}] if {_LTU} else X[{{rs1}}]", None),
    "addi": ("X[{rd}] = (X[{rs1}] + {imm}) & M", None),
    "andi": ("X[{rd}] = X[{rs1}] & {imm_u}", None),
    "ori": ("X[{rd}] = X[{rs1}] | {imm_u}", None),
    "xori": ("X[{rd}] = X[{rs1}] ^ {imm_u}", None),
    "slti": ("X[{rd}] = int((X[{rs1}] ^ SB) < {imm_x})", None),
    "sltiu": ("X[{rd}] = int(X[{rs1}] < {imm_u})", None),
    "slli": ("X[{rd}] = (X[{rs1}] << {imm}) & M", None),
    "srli": ("X[{rd}] = X[{rs1}] >> {imm}", None),
    "srai": ("X[{rd}] = (((X[{rs1}] ^ SB) - SB) >> {imm}) & M", None),
    "lui": ("X[{rd}] = {imm} << 32", None),
    "auipc": ("X[{rd}] = {target}", None),
    "lb": ("X[{rd}] = load((X[{rs1}] + {offset}) & M, 1, True, {pc}) & M", None),
    "lh": ("X[{rd}] = load((X[{rs1}] + {offset}) & M, 2, True, {pc}) & M", None),
    "lw": ("X[{rd}] = load((X[{rs1}] + {offset}) & M, 4, True, {pc}) & M", None),
    "ld": ("X[{rd}] = load((X[{rs1}] + {offset}) & M, 8, True, {pc}) & M", None),
    "lbu": ("X[{rd}] = load((X[{rs1}] + {offset}) & M, 1, False, {pc})", None),
    "lhu": ("X[{rd}] = load((X[{rs1}] + {offset}) & M, 2, False, {pc})", None),
    "lwu": ("X[{rd}] = load((X[{rs1}] + {offset}) & M, 4, False, {pc})", None),
    "flw": ("F[{fd}] = load((X[{rs1}] + {offset}) & M, 4, False, {pc})", None),
    "sb": ("store((X[{rs1}] + {offset}) & M, 1, X[{rs2}], {pc})", None),
    "sh": ("store((X[{rs1}] + {offset}) & M, 2, X[{rs2}], {pc})", None),
    "sw": ("store((X[{rs1}] + {offset}) & M, 4, X[{rs2}], {pc})", None),
    "sd": ("store((X[{rs1}] + {offset}) & M, 8, X[{rs2}], {pc})", None),
    "fsw": ("store((X[{rs1}] + {offset}) & M, 4, F[{fs2}], {pc})", None),
    "beq": ("pass", "{target} if X[{rs1}] == X[{rs2}] else {npc}"),
    "bne": ("pass", "{target} if X[{rs1}] != X[{rs2}] else {npc}"),
    "blt": ("pass", f"{{target}} if {_LT} else {{npc}}"),
    "bge": ("pass", f"{{npc}} if {_LT} else {{target}}"),
    "bltu": ("pass", f"{{target}} if {_LTU} else {{npc}}"),
    "bgeu": ("pass", f"{{npc}} if {_LTU} else {{target}}"),
    "jal": ("X[{rd}] = {npc}", "{target}"),
    # the target is computed and checked before rd is written, so a trap leaves rd intact
    "jalr": ("t = jump_target((X[{rs1}] + {imm}) & M); X[{rd}] = {npc}", "t"),
    "loop": ("pass", "loop_enter(S, {pc}, X[{rs1}], {target})"),
    "loopi": ("pass", "loop_enter(S, {pc}, {count}, {target})"),
    "fadd": ("F[{fd}] = fb(fv(F[{fs1}]) + fv(F[{fs2}]))", None),
    "fsub": ("F[{fd}] = fb(fv(F[{fs1}]) - fv(F[{fs2}]))", None),
    "fmul": ("F[{fd}] = fb(fv(F[{fs1}]) * fv(F[{fs2}]))", None),
    "fdiv": ("F[{fd}] = fdiv(fv(F[{fs1}]), fv(F[{fs2}]))", None),
    "fsqrt": ("F[{fd}] = fsqrt(fv(F[{fs1}]))", None),
    "fmin": ("F[{fd}] = fminmax(F[{fs1}], F[{fs2}], False)", None),
    "fmax": ("F[{fd}] = fminmax(F[{fs1}], F[{fs2}], True)", None),
    "fmadd": ("F[{fd}] = fb(fv(fb(fv(F[{fs1}]) * fv(F[{fs2}]))) + fv(F[{fs3}]))", None),
    "fsgnj": ("F[{fd}] = (F[{fs1}] & 0x7FFFFFFF) | (F[{fs2}] & 0x80000000)", None),
    "fsgnjn": ("F[{fd}] = (F[{fs1}] & 0x7FFFFFFF) | (~F[{fs2}] & 0x80000000)", None),
    "fsgnjx": ("F[{fd}] = F[{fs1}] ^ (F[{fs2}] & 0x80000000)", None),
    "feq": ("X[{rd}] = int(fv(F[{fs1}]) == fv(F[{fs2}]))", None),
    "flt": ("X[{rd}] = int(fv(F[{fs1}]) < fv(F[{fs2}]))", None),
    "fle": ("X[{rd}] = int(fv(F[{fs1}]) <= fv(F[{fs2}]))", None),
    "fcvt.f.x": ("F[{fd}] = i2f(X[{rs1}])", None),
    "fcvt.x.f": ("X[{rd}] = f2i(F[{fs1}])", None),
    "fmv.x.f": ("X[{rd}] = ((F[{fs1}] ^ 0x80000000) - 0x80000000) & M", None),
    "fmv.f.x": ("F[{fd}] = X[{rs1}] & 0xFFFFFFFF", None),
    "fli": ("F[{fd}] = {value}", None),
    "csrr": ("X[{rd}] = csr_read(S, {csr}, {index})", None),
    "csrw": ("csr_write(S, {csr}, X[{rs1}])", None),
    "tset": ("D[{dd}] = dense(X[{rs1}], {rows}, {cols}, {dtype})", None),
    "tsetr": ("D[{dd}] = dense(X[{rs1}], X[{rs2}], X[{rs3}], {dtype})", None),
    "tstride": ("D[{dd}] = set_stride(D[{dd}], X[{rs1}])", None),
    "tstridei": ("D[{dd}] = D[{dd}]._replace(stride={imm})", None),
    "tdepth": ("D[{dd}] = set_depth(D[{dd}], X[{rs1}], X[{rs2}])", None),
    # a new descriptor built as a tuple: NamedTuple._replace costs twice as much, and these
    # two step the tiles of every kernel's inner loops
    "taddr": ("D[{dd}] = new_desc(Desc, (X[{rs1}],) + D[{dd}][1:])", None),
    "taddi": ("D[{dd}] = new_desc(Desc, ((D[{dd}][0] + {imm}) & M,) + D[{dd}][1:])", None),
    "tmov": ("D[{dd}] = D[{ds}]", None),
    "halt": ("halt(S, {index})", "HALTED"),
}

#: helpers visible to templates (the state-dependent ones are bound per run in iss.translate)
HELPERS = {
    "M": M,
    "SB": SB,
    "fv": fv,
    "fb": fb,
    "fdiv": fdiv,
    "fsqrt": fsqrt,
    "fminmax": fminmax,
    "i2f": i2f,
    "f2i": f2i,
    "sdiv": sdiv,
    "srem": srem,
    "jump_target": jump_target,
    "set_stride": set_stride,
    "set_depth": set_depth,
    "dense": tiles.dense,
    "Desc": tiles.Desc,
    "new_desc": tuple.__new__,
}

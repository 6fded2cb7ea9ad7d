"""Scalar front end: integer and fp32 ALU, loads/stores, branches, calls, hardware loops, CSRs.

Integer registers are 64-bit two's complement; arithmetic wraps modulo 2**64 and never traps.
Scalar fp32 follows IEEE 754 binary32 with round-to-nearest-even; any NaN an arithmetic
instruction produces is the canonical quiet NaN 0x7fc00000 (moves keep payloads).
"""

from __future__ import annotations

from isa.spec import Field, Kind
from isa.table.formats import IMM, A, B, C, D, freg, imm, instr, offset, xreg

_R = (xreg("rd", A), xreg("rs1", B), xreg("rs2", C))
_I = (xreg("rd", A), xreg("rs1", B), imm())
_SHAMT = (xreg("rd", A), xreg("rs1", B), imm("imm", signed=False, max=63))
_MEM = ("out_of_bounds", "misaligned")

# mnemonic, opcode, summary, semantics (`rd` gets the result; a, b are x[rs1], x[rs2])
_INT_RR = (
    ("add", 0x01, "add", "rd = a + b (mod 2**64)"),
    ("sub", 0x02, "subtract", "rd = a - b (mod 2**64)"),
    ("and", 0x03, "bitwise and", "rd = a & b"),
    ("or", 0x04, "bitwise or", "rd = a | b"),
    ("xor", 0x05, "bitwise exclusive or", "rd = a ^ b"),
    ("sll", 0x06, "shift left logical", "rd = a << (b & 63), bits shifted out are lost"),
    ("srl", 0x07, "shift right logical", "rd = a >> (b & 63) with zeros shifted in"),
    ("sra", 0x08, "shift right arithmetic", "rd = a >> (b & 63) with the sign bit shifted in"),
    ("slt", 0x09, "set if less than (signed)", "rd = 1 if a < b as signed integers else 0"),
    ("sltu", 0x0A, "set if less than (unsigned)", "rd = 1 if a < b as unsigned integers else 0"),
    ("mul", 0x0B, "multiply", "rd = low 64 bits of a * b"),
    ("mulh", 0x0C, "multiply high (signed)", "rd = high 64 bits of the signed 128-bit a * b"),
    ("mulhu", 0x0D, "multiply high (unsigned)", "rd = high 64 bits of the unsigned 128-bit a * b"),
    (
        "div",
        0x0E,
        "divide (signed)",
        "rd = a / b rounded toward zero; b = 0 gives -1; -2**63 / -1 gives -2**63 (no trap)",
    ),
    ("divu", 0x0F, "divide (unsigned)", "rd = a / b as unsigned; b = 0 gives 2**64 - 1"),
    (
        "rem",
        0x10,
        "remainder (signed)",
        "rd = a - b * div(a, b), sign of a; b = 0 gives a; -2**63 rem -1 gives 0",
    ),
    ("remu", 0x11, "remainder (unsigned)", "rd = a mod b as unsigned; b = 0 gives a"),
    ("min", 0x12, "minimum (signed)", "rd = a if a < b (signed) else b"),
    ("max", 0x13, "maximum (signed)", "rd = a if a > b (signed) else b"),
    ("minu", 0x14, "minimum (unsigned)", "rd = a if a < b (unsigned) else b"),
    ("maxu", 0x15, "maximum (unsigned)", "rd = a if a > b (unsigned) else b"),
)

_INT_RI = (
    ("addi", 0x20, "add immediate", "rd = a + sext(imm) (mod 2**64)"),
    ("andi", 0x21, "and immediate", "rd = a & sext(imm)"),
    ("ori", 0x22, "or immediate", "rd = a | sext(imm)"),
    ("xori", 0x23, "exclusive or immediate", "rd = a ^ sext(imm)"),
    ("slti", 0x27, "set if less than immediate (signed)", "rd = 1 if a < sext(imm) else 0"),
    (
        "sltiu",
        0x28,
        "set if less than immediate (unsigned)",
        "rd = 1 if a < sext(imm) compared as unsigned 64-bit integers else 0",
    ),
)

_SHIFT_I = (
    ("slli", 0x24, "shift left logical immediate", "rd = a << imm"),
    ("srli", 0x25, "shift right logical immediate", "rd = a >> imm with zeros shifted in"),
    ("srai", 0x26, "shift right arithmetic immediate", "rd = a >> imm with sign bits shifted in"),
)

# mnemonic, opcode, width in bytes, signed
_LOADS = (
    ("lb", 0x30, 1, True),
    ("lh", 0x31, 2, True),
    ("lw", 0x32, 4, True),
    ("ld", 0x33, 8, True),
    ("lbu", 0x34, 1, False),
    ("lhu", 0x35, 2, False),
    ("lwu", 0x36, 4, False),
)
_STORES = (("sb", 0x38, 1), ("sh", 0x39, 2), ("sw", 0x3A, 4), ("sd", 0x3B, 8))

# mnemonic, opcode, condition on a = x[rs1], b = x[rs2]
_BRANCHES = (
    ("beq", 0x40, "a == b"),
    ("bne", 0x41, "a != b"),
    ("blt", 0x42, "a < b (signed)"),
    ("bge", 0x43, "a >= b (signed)"),
    ("bltu", 0x44, "a < b (unsigned)"),
    ("bgeu", 0x45, "a >= b (unsigned)"),
)

_FP_NAN = "A NaN result is the canonical quiet NaN 0x7fc00000."
# mnemonic, opcode, summary, semantics (a, b, c are f[rs1], f[rs2], f[rs3])
_FP_RR = (
    ("fadd", 0x50, "fp32 add", "fd = a + b, rounded to nearest even. " + _FP_NAN),
    ("fsub", 0x51, "fp32 subtract", "fd = a - b, rounded to nearest even. " + _FP_NAN),
    ("fmul", 0x52, "fp32 multiply", "fd = a * b, rounded to nearest even. " + _FP_NAN),
    (
        "fdiv",
        0x53,
        "fp32 divide",
        "fd = a / b, rounded to nearest even; x/0 is a signed Inf, 0/0 NaN. " + _FP_NAN,
    ),
    (
        "fmin",
        0x55,
        "fp32 minimum",
        "fd = the smaller of a and b, -0 < +0; if one is NaN the other is returned, if both are "
        "NaN the canonical NaN",
    ),
    (
        "fmax",
        0x56,
        "fp32 maximum",
        "fd = the larger of a and b, -0 < +0; if one is NaN the other is returned, if both are "
        "NaN the canonical NaN",
    ),
    ("fsgnj", 0x58, "sign injection", "fd = magnitude of a with the sign bit of b (bit copy)"),
    (
        "fsgnjn",
        0x59,
        "negated sign injection",
        "fd = magnitude of a with the inverted sign bit of b (bit copy)",
    ),
    (
        "fsgnjx",
        0x5A,
        "xor sign injection",
        "fd = a with its sign bit xor the sign bit of b (bit copy)",
    ),
)

_FP_CMP = (
    ("feq", 0x5B, "a == b"),
    ("flt", 0x5C, "a < b"),
    ("fle", 0x5D, "a <= b"),
)


def _int_alu() -> list:
    rows = [
        instr(
            m,
            "scalar",
            "Integer ALU",
            op,
            "rd, rs1, rs2",
            _R,
            s,
            f"{sem}, where a = x[rs1] and b = x[rs2] (64-bit); never traps",
        )
        for m, op, s, sem in _INT_RR
    ]
    rows += [
        instr(
            m,
            "scalar",
            "Integer ALU",
            op,
            "rd, rs1, imm",
            _I,
            s,
            f"{sem}, where a = x[rs1] and imm is a signed 32-bit immediate",
        )
        for m, op, s, sem in _INT_RI
    ]
    rows += [
        instr(
            m,
            "scalar",
            "Integer ALU",
            op,
            "rd, rs1, imm",
            _SHAMT,
            s,
            f"{sem}, where a = x[rs1] and imm is 0..63",
        )
        for m, op, s, sem in _SHIFT_I
    ]
    rows.append(
        instr(
            "lui",
            "scalar",
            "Integer ALU",
            0x29,
            "rd, imm",
            (xreg("rd", A), imm(signed=False)),
            "load upper immediate",
            "rd = imm << 32: sets the upper word, clears the lower (`li` pairs it with `addi`)",
        )
    )
    rows.append(
        instr(
            "auipc",
            "scalar",
            "Integer ALU",
            0x2A,
            "rd, target",
            (xreg("rd", A), Field("target", Kind.OFFSET, IMM, 32, signed=True)),
            "add pc-relative offset",
            "rd = pc + sext(offset): the address of `target` (written as a label or address), "
            "reaching +-2 GiB from the instruction; `la` expands to it",
        )
    )
    return rows


def _memory() -> list:
    load_fields = (xreg("rd", A), xreg("rs1", B), imm("offset"))
    store_fields = (xreg("rs2", C), xreg("rs1", B), imm("offset"))
    rows = [
        instr(
            m,
            "scalar",
            "Loads and stores",
            op,
            "rd, offset(rs1)",
            load_fields,
            f"load {8 * n}-bit {'signed' if s else 'unsigned'}",
            f"rd = the {n}-byte little-endian value at x[rs1] + sext(offset), "
            f"{'sign' if s else 'zero'}-extended to 64 bits; the address must be a multiple "
            f"of {n}",
            _MEM,
        )
        for m, op, n, s in _LOADS
    ]
    rows += [
        instr(
            m,
            "scalar",
            "Loads and stores",
            op,
            "rs2, offset(rs1)",
            store_fields,
            f"store {8 * n}-bit",
            f"the low {n} bytes of x[rs2] are written little-endian at x[rs1] + sext(offset); "
            f"the address must be a multiple of {n}",
            _MEM,
        )
        for m, op, n in _STORES
    ]
    rows.append(
        instr(
            "flw",
            "scalar",
            "Loads and stores",
            0x37,
            "fd, offset(rs1)",
            (freg("fd", A), xreg("rs1", B), imm("offset")),
            "load fp32",
            "fd = the 4 bytes at x[rs1] + sext(offset), bit for bit (NaN payloads kept); "
            "the address must be a multiple of 4",
            _MEM,
        )
    )
    rows.append(
        instr(
            "fsw",
            "scalar",
            "Loads and stores",
            0x3C,
            "fs2, offset(rs1)",
            (freg("fs2", C), xreg("rs1", B), imm("offset")),
            "store fp32",
            "the bits of f[fs2] are written at x[rs1] + sext(offset); the address must be a "
            "multiple of 4",
            _MEM,
        )
    )
    return rows


def _control() -> list:
    rows = [
        instr(
            m,
            "scalar",
            "Branches, calls and loops",
            op,
            "rs1, rs2, target",
            (xreg("rs1", A), xreg("rs2", B), offset()),
            f"branch if {cond}",
            f"if {cond}, pc = target (pc + sext(offset)); otherwise fall through",
            ("misaligned",),
        )
        for m, op, cond in _BRANCHES
    ]
    rows.append(
        instr(
            "jal",
            "scalar",
            "Branches, calls and loops",
            0x46,
            "rd, target",
            (xreg("rd", A), offset()),
            "jump and link",
            "rd = pc + 8; pc = target (pc + sext(offset))",
            ("misaligned",),
        )
    )
    rows.append(
        instr(
            "jalr",
            "scalar",
            "Branches, calls and loops",
            0x47,
            "rd, rs1, imm",
            (xreg("rd", A), xreg("rs1", B), imm()),
            "jump and link register",
            "t = x[rs1] + sext(imm); rd = pc + 8; pc = t. t must be a multiple of 8 (no bits are "
            "cleared)",
            ("misaligned",),
        )
    )
    loop_rule = (
        "The body is the instructions from pc + 8 up to, not including, `target`. Whenever "
        "the next pc would equal `target` while this loop is the innermost active one, the "
        "hardware either starts the next iteration at pc + 8 (no cycle spent) or, after the "
        "last iteration, retires the loop and continues at `target`. A count of 0 skips the "
        "body. Loops nest up to 4 deep; branching out of a body leaves the loop active, so "
        "programs leave only through `target`."
    )
    rows.append(
        instr(
            "loop",
            "scalar",
            "Branches, calls and loops",
            0x48,
            "rs1, target",
            (xreg("rs1", A), offset()),
            "zero-overhead hardware loop, count in a register",
            "Runs the body x[rs1] times (unsigned). " + loop_rule,
            ("loop_error",),
        )
    )
    rows.append(
        instr(
            "loopi",
            "scalar",
            "Branches, calls and loops",
            0x49,
            "count, target",
            (imm("count", lo=A, width=20, signed=False), offset()),
            "zero-overhead hardware loop, immediate count",
            "Runs the body `count` (0..1048575) times. " + loop_rule,
            ("loop_error",),
        )
    )
    return rows


def _float() -> list:
    rr = (freg("fd", A), freg("fs1", B), freg("fs2", C))
    rows = [
        instr(
            m, "scalar", "Scalar fp32", op, "fd, fs1, fs2", rr, s, f"{sem}; a = f[fs1], b = f[fs2]"
        )
        for m, op, s, sem in _FP_RR
    ]
    rows.append(
        instr(
            "fsqrt",
            "scalar",
            "Scalar fp32",
            0x54,
            "fd, fs1",
            (freg("fd", A), freg("fs1", B)),
            "fp32 square root",
            "fd = sqrt(a), correctly rounded; sqrt(-0) = -0; negative or NaN gives the "
            "canonical NaN",
        )
    )
    rows.append(
        instr(
            "fmadd",
            "scalar",
            "Scalar fp32",
            0x57,
            "fd, fs1, fs2, fs3",
            (freg("fd", A), freg("fs1", B), freg("fs2", C), freg("fs3", D)),
            "multiply-add (unfused)",
            "fd = (a * b) + c with two roundings to nearest even (not fused, so the result equals "
            "fmul then fadd). " + _FP_NAN,
        )
    )
    rows += [
        instr(
            m,
            "scalar",
            "Scalar fp32",
            op,
            "rd, fs1, fs2",
            (xreg("rd", A), freg("fs1", B), freg("fs2", C)),
            f"compare {cond}",
            f"rd = 1 if {cond} else 0; any comparison with NaN gives 0",
        )
        for m, op, cond in _FP_CMP
    ]
    rows.append(
        instr(
            "fcvt.f.x",
            "scalar",
            "Scalar fp32",
            0x5E,
            "fd, rs1",
            (freg("fd", A), xreg("rs1", B)),
            "convert signed integer to fp32",
            "fd = x[rs1] as a signed 64-bit integer, rounded to nearest even fp32",
        )
    )
    rows.append(
        instr(
            "fcvt.x.f",
            "scalar",
            "Scalar fp32",
            0x5F,
            "rd, fs1",
            (xreg("rd", A), freg("fs1", B)),
            "convert fp32 to signed integer",
            "rd = f[fs1] rounded toward zero, saturated to [-2**63, 2**63 - 1]; NaN gives 0",
        )
    )
    rows.append(
        instr(
            "fmv.x.f",
            "scalar",
            "Scalar fp32",
            0x60,
            "rd, fs1",
            (xreg("rd", A), freg("fs1", B)),
            "move fp32 bits to integer register",
            "rd = the 32 bits of f[fs1], sign-extended to 64 bits",
        )
    )
    rows.append(
        instr(
            "fmv.f.x",
            "scalar",
            "Scalar fp32",
            0x61,
            "fd, rs1",
            (freg("fd", A), xreg("rs1", B)),
            "move integer bits to fp32 register",
            "fd = the low 32 bits of x[rs1], bit for bit",
        )
    )
    rows.append(
        instr(
            "fli",
            "scalar",
            "Scalar fp32",
            0x62,
            "fd, value",
            (freg("fd", A), Field("value", Kind.FIMM, IMM, 32)),
            "load fp32 immediate",
            "fd = value, an fp32 constant held in the instruction (the assembler rounds the "
            "literal to nearest even and writes NaN as 0x7fc00000)",
        )
    )
    return rows


def _csr() -> list:
    csr_field = Field("csr", Kind.CSR, IMM, 12)
    return [
        instr(
            "csrr",
            "scalar",
            "CSRs",
            0x68,
            "rd, csr",
            (xreg("rd", A), csr_field),
            "read CSR",
            "rd = the CSR's 64-bit value (the CSR table lists them); an unknown CSR number traps",
            ("illegal_instruction",),
        ),
        instr(
            "csrw",
            "scalar",
            "CSRs",
            0x69,
            "csr, rs1",
            (csr_field, xreg("rs1", B)),
            "write CSR",
            "the CSR = x[rs1]; read-only or unknown CSRs trap",
            ("illegal_instruction",),
        ),
    ]


INSTRUCTIONS = [*_int_alu(), *_memory(), *_control(), *_float(), *_csr()]

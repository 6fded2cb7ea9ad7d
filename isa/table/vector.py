"""Vector unit: elementwise arithmetic with broadcasts, compares, selects, reductions, casts,
masks, iota and transpose over on-chip tiles (SRAM or accumulator memory, at most 128 rows).

Every binary operation exists in five broadcast forms sharing one function code:
`vOP dd, da, db` (tile with tile), `vOP.row` (db is 1 x cols, repeated down the rows),
`vOP.col` (db is rows x 1, repeated across the columns), `vOP.s` (fp32 register) and
`vOP.x` (integer register); the integer-only operations have no `.s` form.
"""

from __future__ import annotations

from isa.table.formats import COMPUTE_TRAPS, IMM, A, B, C, D, F, dreg, flag, freg, imm, instr, xreg

_G = "Vector unit"
_TRAPS = COMPUTE_TRAPS
_DOMAIN = (
    "Operands are read as fp32 if any source (a source tile's dtype or the `.s` scalar) is a "
    "float type, otherwise as int32, and the result is converted to dd's dtype as `vcvt` does "
    "without `.sat`. Integer arithmetic wraps modulo 2**32 before that conversion. dd may "
    "alias a source: every source element is read before any result is written."
)
_CMP = "1 if {} else 0 (NaN compares false, except `ne`, which is true)"

# function code, name, summary, result of a op b, domain restriction
BINARY_OPS = (
    (0, "add", "add", "a + b", ""),
    (1, "sub", "subtract", "a - b", ""),
    (2, "mul", "multiply", "a * b", ""),
    (3, "div", "divide", "a / b (IEEE: x/0 is a signed Inf, 0/0 NaN)", "float"),
    (
        4,
        "max",
        "maximum",
        "a if a > b else b (equal values, including -0 and +0, give b); NaN if either is NaN",
        "",
    ),
    (5, "min", "minimum", "a if a < b else b (equal values give b); NaN if either is NaN", ""),
    (6, "and", "bitwise and", "a & b", "int"),
    (7, "or", "bitwise or", "a | b", "int"),
    (8, "xor", "bitwise exclusive or", "a ^ b", "int"),
    (9, "shl", "shift left", "a << (b & 31)", "int"),
    (10, "shr", "arithmetic shift right", "a >> (b & 31), sign bits shifted in", "int"),
    (11, "eq", "compare equal", _CMP.format("a == b"), ""),
    (12, "ne", "compare not equal", _CMP.format("a != b"), ""),
    (13, "lt", "compare less than", _CMP.format("a < b"), ""),
    (14, "le", "compare less or equal", _CMP.format("a <= b"), ""),
    (15, "gt", "compare greater than", _CMP.format("a > b"), ""),
    (16, "ge", "compare greater or equal", _CMP.format("a >= b"), ""),
)

# suffix, opcode, kind of the third operand, how b is formed
_FORMS = (
    ("", 0x90, "tile", "b = db[i, j]; da, db and dd have the same shape"),
    (".row", 0x91, "tile", "b = db[0, j]; db is 1 x cols, da and dd have the same shape"),
    (".col", 0x92, "tile", "b = db[i, 0]; db is rows x 1, da and dd have the same shape"),
    (".s", 0x93, "freg", "b = f[fs] (fp32) for every element"),
    (
        ".x",
        0x94,
        "xreg",
        "b = x[rs] for every element (as int32 after wrapping, or rounded "
        "to fp32 when the operation is in fp32)",
    ),
)

# the row and column coefficients of `viota` and `vmask`: x + c1 * i + c2 * j
_AFFINE = (imm("c1", lo=IMM, width=16), imm("c2", lo=IMM + 16, width=16))

_THIRD = {"tile": (dreg, "db"), "freg": (freg, "fs"), "xreg": (xreg, "rs")}


def _binary() -> list:
    rows = []
    for code, name, summary, result, domain in BINARY_OPS:
        only = {"int": " Integer operands only.", "float": " Float operands only."}.get(domain, "")
        for suffix, opcode, third, b_rule in _FORMS:
            if suffix == ".s" and domain == "int":
                continue  # an fp32 scalar makes the operation fp32, which integer ops refuse
            make, third_name = _THIRD[third]
            rows.append(
                instr(
                    f"v{name}{suffix}",
                    "vector",
                    _G,
                    opcode,
                    f"dd, da, {third_name}",
                    (dreg("dd", A), dreg("da", B), make(third_name, C)),
                    f"elementwise {summary}" + (f" ({suffix[1:]} broadcast)" if suffix else ""),
                    f"dd[i, j] = {result}, where a = da[i, j] and {b_rule}.{only} {_DOMAIN}",
                    _TRAPS,
                    funct=((D, 5, code),),
                )
            )
    return rows


REDUCE_OPS = (
    (
        0,
        "vrsum",
        "row sum",
        "sum over j of ds[i, j]; floats are summed in fp32 in NumPy's "
        "pairwise order (numpy.sum of the row as a contiguous float32 array is the reference), "
        "integers in "
        "int32 with wrap-around",
    ),
    (
        1,
        "vrmax",
        "row maximum",
        "the largest ds[i, j]; NaN if the row holds a NaN; of equal values (-0, +0) the first",
    ),
    (
        2,
        "vrmin",
        "row minimum",
        "the smallest ds[i, j]; NaN if the row holds a NaN; of equal values the first",
    ),
    (
        3,
        "vrargmax",
        "row argmax",
        "the first column index j of the row's maximum (of the "
        "first NaN, if any), as an integer converted to dd's dtype",
    ),
)

UNARY_OPS = (
    (
        0,
        "vabs",
        "absolute value",
        "|ds[i, j]| (floats: sign bit cleared; int32 wraps at -2**31)",
        "",
    ),
    (1, "vneg", "negate", "-ds[i, j] (floats: sign bit flipped; int32 wraps)", ""),
    (2, "vnot", "bitwise not", "~ds[i, j]", "int"),
)


def _others() -> list:
    rows = [
        instr(
            m,
            "vector",
            _G,
            0x9A,
            "dd, ds",
            (dreg("dd", A), dreg("ds", B)),
            s,
            f"dd[i, 0] = {sem}. dd is rows x 1. Sources are read as fp32 or int32 as for "
            "binary operations and the result converted to dd's dtype.",
            _TRAPS,
            funct=((F, 4, code),),
        )
        for code, m, s, sem in REDUCE_OPS
    ]
    rows += [
        instr(
            m,
            "vector",
            _G,
            0xA0,
            "dd, ds",
            (dreg("dd", A), dreg("ds", B)),
            s,
            f"dd[i, j] = {sem}." + (" Integer operands only." if dom else "") + " " + _DOMAIN,
            _TRAPS,
            funct=((F, 4, code),),
        )
        for code, m, s, sem, dom in UNARY_OPS
    ]
    rows += [
        instr(
            "vcvt",
            "vector",
            _G,
            0x98,
            "dd, ds",
            (dreg("dd", A), dreg("ds", B), flag("sat", F)),
            "convert dtype",
            "dd[i, j] = ds[i, j] converted to dd's dtype, same shape. Floats round to "
            "nearest even with subnormals kept; NaN stays NaN. Without `.sat` float overflow "
            "gives a signed Inf (NaN for fp8e4m3, which has no Inf); with `.sat` overflow "
            "and Inf clamp to the largest finite value. Integer destinations always round "
            "to nearest even and saturate; NaN becomes 0. isa.dtypes.cast is the reference.",
            _TRAPS,
        ),
        instr(
            "vsel",
            "vector",
            _G,
            0x99,
            "dd, dm, da, db",
            (dreg("dd", A), dreg("dm", B), dreg("da", C), dreg("db", D)),
            "select",
            "dd[i, j] = da[i, j] if dm[i, j] != 0 else db[i, j] (a NaN mask element counts as "
            "nonzero); all four have the same shape; values converted to dd's dtype (bits kept "
            "unchanged when the dtype is the same).",
            _TRAPS,
        ),
        instr(
            "vtrans",
            "vector",
            _G,
            0x9B,
            "dd, ds",
            (dreg("dd", A), dreg("ds", B)),
            "transpose",
            "dd[j, i] = ds[i, j]; dd is cols x rows of ds (both <= 128 rows); "
            "values converted to dd's dtype (bits kept when the dtype is the same); dd must not "
            "overlap ds (`bad_memory`).",
            _TRAPS,
        ),
        instr(
            "viota",
            "vector",
            _G,
            0x9C,
            "dd, rs1, c1, c2",
            (
                dreg("dd", A),
                xreg("rs1", B),
                *_AFFINE,
            ),
            "fill with an affine index pattern",
            "dd[i, j] = x[rs1] + c1 * i + c2 * j, computed exactly and converted to dd's "
            "dtype (positions, column indices, ramps).",
            _TRAPS,
        ),
        instr(
            "vmask",
            "vector",
            _G,
            0x9D,
            "dd, ds, rs1, c1, c2, fs",
            (
                dreg("dd", A),
                dreg("ds", B),
                xreg("rs1", C),
                freg("fs", D),
                *_AFFINE,
            ),
            "affine mask: keep elements where an affine predicate holds",
            "dd[i, j] = ds[i, j] if x[rs1] + c1 * i + c2 * j >= 0 (exact integers) else f[fs]; "
            "values converted to dd's dtype (bits kept when the dtype is the same). Causal "
            "attention masking of a score tile at "
            "query offset q0 and key offset k0 is x[rs1] = q0 - k0, c1 = 1, c2 = -1 "
            "(`vcausal`).",
            _TRAPS,
        ),
        instr(
            "vfill",
            "vector",
            _G,
            0x9E,
            "dd, fs",
            (dreg("dd", A), freg("fs", B)),
            "fill with an fp32 register",
            "dd[i, j] = f[fs] converted to dd's dtype",
            _TRAPS,
        ),
        instr(
            "vfill.x",
            "vector",
            _G,
            0x9F,
            "dd, rs1",
            (dreg("dd", A), xreg("rs1", B)),
            "fill with an integer register",
            "dd[i, j] = x[rs1] converted to dd's dtype (integers saturate, floats round to "
            "nearest even)",
            _TRAPS,
        ),
    ]
    return rows


INSTRUCTIONS = [*_binary(), *_others()]

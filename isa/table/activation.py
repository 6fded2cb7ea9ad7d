"""Activation unit: transcendental and nonlinear functions with a fused scale and bias and
an optional row-sum side output (the softmax denominator, or a sum of squares for RMSNorm).

Four forms share each function code: `act.F dd, ds, fscale, fbias` (scalar bias),
`act.F.sum ..., dsum` (and write row sums), `act.F.col dd, ds, fscale, dbias` (bias per row
from a rows x 1 tile, e.g. a negated row maximum) and `act.F.col.sum`.
"""

from __future__ import annotations

from isa.table.formats import COMPUTE_TRAPS, IMM, A, B, C, D, F, dreg, freg, instr

_G = "Activation unit"
_TRAPS = COMPUTE_TRAPS

# function code, name, y = f(t), notes on edge cases
FUNCTIONS = (
    (0, "copy", "t", "affine copy: the fused scale and bias alone"),
    (1, "exp", "e**t", "overflow gives +Inf, -Inf gives 0"),
    (2, "log", "ln(t)", "ln(0) = -Inf, negative t gives NaN"),
    (3, "tanh", "tanh(t)", ""),
    (4, "sigmoid", "1 / (1 + e**-t)", ""),
    (
        5,
        "gelu",
        "t/2 * (1 + erf(t / sqrt(2)))",
        "the exact erf form (BERT, MiniLM); gelu(-Inf) is NaN",
    ),
    (
        6,
        "gelu_tanh",
        "t/2 * (1 + tanh(sqrt(2/pi) * (t + 0.044715 t**3)))",
        "the tanh approximation (GPT-2); -Inf gives NaN",
    ),
    (7, "silu", "t / (1 + e**-t)", "SiLU / swish (Llama's SwiGLU gate); silu(-Inf) is NaN"),
    (8, "rsqrt", "1 / sqrt(t)", "rsqrt(+0) = +Inf, rsqrt(-0) = -Inf, negative t gives NaN"),
    (9, "recip", "1 / t", "1/0 is a signed Inf"),
    (10, "sqrt", "sqrt(t)", "sqrt(-0) = -0, negative t gives NaN"),
    (11, "square", "t * t", ""),
    (12, "relu", "max(t, 0)", "-0 gives +0, NaN stays NaN"),
)

_T = (
    "t = fp32(fp32(scale * s) + bias) with s = ds[i, j] widened to fp32 (two roundings); "
    "y = {f} evaluated to float64 accuracy in a form that does not cancel (erfc(-z) for erf "
    "GELU, t / (1 + e**(-2u)) for tanh GELU) and rounded once to fp32 (nearest even){notes}; "
    "dd[i, j] = y converted to dd's dtype (as `vcvt` without `.sat`). "
)
_SUM = (
    " dsum[i, 0] = the sum over j of the fp32 y (before conversion to dd's dtype), in fp32 in "
    "NumPy's pairwise order (numpy.sum(y, axis=1, dtype=float32)), converted to dsum's dtype; "
    "dsum is rows x 1 and is written after dd."
)
_ON_CHIP = (
    " Operands lie in SRAM or the accumulator memory, at most 128 rows; dd has ds's shape; "
    "dd may alias ds."
)

# suffix, opcode, bias operand, fields beyond dd/ds/fscale, bias rule, has row sum
_FORMS = (
    ("", 0xC0, "fbias", (freg("fbias", D),), "bias = f[fbias]", False),
    (".sum", 0xC1, "fbias", (freg("fbias", D), dreg("dsum", IMM)), "bias = f[fbias]", True),
    (".col", 0xC2, "dbias", (dreg("dbias", D),), "bias = dbias[i, 0] (rows x 1)", False),
    (
        ".col.sum",
        0xC3,
        "dbias",
        (dreg("dbias", D), dreg("dsum", IMM)),
        "bias = dbias[i, 0] (rows x 1)",
        True,
    ),
)


def _rows() -> list:
    rows = []
    for code, name, formula, notes in FUNCTIONS:
        for suffix, opcode, bias, extra, bias_rule, has_sum in _FORMS:
            syntax = f"dd, ds, fscale, {bias}" + (", dsum" if has_sum else "")
            semantics = (
                f"scale = f[fscale], {bias_rule}. "
                + _T.format(f=formula, notes=f" ({notes})" if notes else "")
                + (_SUM if has_sum else "")
                + _ON_CHIP
            )
            rows.append(
                instr(
                    f"act.{name}{suffix}",
                    "activation",
                    _G,
                    opcode,
                    syntax,
                    (dreg("dd", A), dreg("ds", B), freg("fscale", C), *extra),
                    f"{name}(scale * x + bias)" + (" with row sums" if has_sum else ""),
                    semantics,
                    _TRAPS,
                    funct=((F, 4, code),),
                )
            )
    return rows


INSTRUCTIONS = _rows()

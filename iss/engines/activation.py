"""Activation unit: y = f(scale * x + bias) with an optional row-sum side output
(isa/table/activation.py holds the semantics text these functions follow).

The affine step is two fp32 roundings, done in float32 NumPy; f is evaluated in float64 and
rounded once to fp32, as the table specifies: float64's 29 extra bits make that the
correctly rounded fp32 value except for arguments extremely close to a rounding boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np

from iss.engines.base import EngineOp
from iss.engines.common import convert, read_fp32, require_plain, require_shape
from iss.engines.special import erf

Semantics = Callable[[EngineOp], None]
Function = Callable[[np.ndarray], np.ndarray]

_SQRT_2 = math.sqrt(2)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _relu(t: np.ndarray) -> np.ndarray:
    # max(t, 0) as the vector unit's vmax.s: -0 gives +0, NaN stays NaN
    return np.where((t > 0) | (t != t), t, 0.0)


#: function name -> y = f(t) on float64, for every row of isa.table.activation.FUNCTIONS.
#: The formulas are the table's, evaluated literally (so silu(-Inf) = -Inf / Inf = NaN).
FUNCTIONS: dict[str, Function] = {
    "copy": lambda t: t,
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda t: 1.0 / (1.0 + np.exp(-t)),
    "gelu": lambda t: t / 2 * (1.0 + erf(t / _SQRT_2)),
    "gelu_tanh": lambda t: t / 2 * (1.0 + np.tanh(_SQRT_2_OVER_PI * (t + 0.044715 * t**3))),
    "silu": lambda t: t / (1.0 + np.exp(-t)),
    "rsqrt": lambda t: 1.0 / np.sqrt(t),
    "recip": lambda t: 1.0 / t,
    "sqrt": np.sqrt,
    "square": lambda t: t * t,
    "relu": _relu,
}


def activate(op: EngineOp, function: Function, column_bias: bool, row_sum: bool) -> None:
    """dd = f(fp32(fp32(scale * ds) + bias)), and dsum = fp32 row sums of y with `.sum`."""
    tiles = ("dd", "ds") + (("dbias",) if column_bias else ()) + (("dsum",) if row_sum else ())
    require_plain(op, *tiles)
    rows, cols = op.desc("ds").shape
    require_shape(op, "dd", (rows, cols), "dd has ds's shape")
    if column_bias:
        require_shape(op, "dbias", (rows, 1), "dbias is rows x 1")
    if row_sum:
        require_shape(op, "dsum", (rows, 1), "dsum is rows x 1")
    source = read_fp32(op.tile("ds"), op.dtype("ds"))
    bias = read_fp32(op.tile("dbias"), op.dtype("dbias")) if column_bias else op.f("fbias")
    with np.errstate(all="ignore"):  # overflow to Inf and NaN are the specified results
        t = np.multiply(source, op.f("fscale"), dtype=np.float32)
        t += bias
        y = function(t.astype(np.float64)).astype(np.float32)
    out = op.out("dd")
    out[...] = convert(y, op.dtype("dd"))
    if row_sum:
        sums = np.sum(y, axis=1, dtype=np.float32)  # y is contiguous: NumPy's pairwise order
        op.out("dsum")[:, 0] = convert(sums, op.dtype("dsum"))
    op.count(y.size)


def semantics(mnemonic: str) -> Semantics:
    """The semantics function of activation mnemonic `act.F[.col][.sum]`; KeyError if none."""
    prefix, _, rest = mnemonic.partition(".")
    name, _, form = rest.partition(".")
    if prefix != "act" or name not in FUNCTIONS or form not in ("", "sum", "col", "col.sum"):
        raise KeyError(f"no activation semantics for {mnemonic!r}")
    return partial(activate, function=FUNCTIONS[name], column_bias=form.startswith("col"),
                   row_sum=form.endswith("sum"))  # fmt: skip

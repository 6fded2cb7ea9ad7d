"""Activation unit: y = f(scale * x + bias) with an optional row-sum side output
(isa/table/activation.py holds the semantics text these functions follow).

The affine step is two fp32 roundings, done in float32 NumPy; f is evaluated in float64 and
rounded once to fp32. Where a formula cancels in float64 — 1 + erf(z) and 1 + tanh(u) for
large negative arguments, where a last-bit difference between two libms changed GELU's fp32
result by 55,000 steps — it is evaluated in an equal form that does not (erfc(-z),
2 / (1 + e**(-2u))), so y is the fp32 rounding of the true value in the tails too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np

from iss.engines.base import EngineOp, Semantics, Work
from iss.engines.common import convert, plain_descs, read_fp32, require_shape
from iss.engines.special import erfc

Function = Callable[[np.ndarray], np.ndarray]

_SQRT_2 = math.sqrt(2)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _relu(t: np.ndarray) -> np.ndarray:
    # max(t, 0) as the vector unit's vmax.s: -0 gives +0, NaN stays NaN
    return np.where((t > 0) | (t != t), t, 0.0)


def _gelu_tanh(t: np.ndarray) -> np.ndarray:
    # t/2 * (1 + tanh(u)) = t / (1 + e**(-2u)), with u = sqrt(2/pi) * (t + 0.044715 t**3)
    return t / (1.0 + np.exp(-2.0 * _SQRT_2_OVER_PI * (t + 0.044715 * t**3)))


#: function name -> y = f(t) on float64, for every row of isa.table.activation.FUNCTIONS.
#: At infinities the formulas are evaluated as written: silu(-Inf) = -Inf / Inf = NaN.
FUNCTIONS: dict[str, Function] = {
    "copy": lambda t: t,
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda t: 1.0 / (1.0 + np.exp(-t)),
    "gelu": lambda t: t / 2 * erfc(-t / _SQRT_2),  # 1 + erf(z) = erfc(-z)
    "gelu_tanh": _gelu_tanh,
    "silu": lambda t: t / (1.0 + np.exp(-t)),
    "rsqrt": lambda t: 1.0 / np.sqrt(t),
    "recip": lambda t: 1.0 / t,
    "sqrt": np.sqrt,
    "square": lambda t: t * t,
    "relu": _relu,
}


def activate(op: EngineOp, function: Function, column_bias: bool,
             row_sum: bool) -> Work:  # fmt: skip
    """dd = f(fp32(fp32(scale * ds) + bias)), and dsum = fp32 row sums of y with `.sum`;
    returns the work, a call on the tiles (iss.plans repeats it)."""
    names = ("dd", "ds") + ("dbias",) * column_bias + ("dsum",) * row_sum
    tiles = plain_descs(op, *names)
    rows, cols = tiles["ds"].shape
    require_shape(op, "dd", tiles["dd"], (rows, cols), "dd has ds's shape")
    if column_bias:
        require_shape(op, "dbias", tiles["dbias"], (rows, 1), "dbias is rows x 1")
    if row_sum:
        require_shape(op, "dsum", tiles["dsum"], (rows, 1), "dsum is rows x 1")
    source, source_type = op.tile("ds", desc=tiles["ds"]), tiles["ds"].type
    if column_bias:
        bias_view, bias_type = op.tile("dbias", desc=tiles["dbias"]), tiles["dbias"].type
    else:
        constant = op.f("fbias")
    scale = op.f("fscale")
    out, dd_type = op.out("dd", desc=tiles["dd"]), tiles["dd"].type
    if row_sum:
        sums_out, sums_type = op.out("dsum", desc=tiles["dsum"]), tiles["dsum"].type
    op.count(rows * cols)

    def work() -> None:
        bias = read_fp32(bias_view, bias_type) if column_bias else constant
        t = np.multiply(read_fp32(source, source_type), scale, dtype=np.float32)
        t += bias
        y = function(t.astype(np.float64)).astype(np.float32)
        sums = np.sum(y, axis=1, dtype=np.float32) if row_sum else None  # pairwise order
        out[...] = convert(y, dd_type)
        if row_sum:
            sums_out[:, 0] = convert(sums, sums_type)

    with np.errstate(all="ignore"):  # overflow to Inf and NaN are the specified results
        work()
    return work


def semantics(mnemonic: str) -> Semantics:
    """The semantics function of activation mnemonic `act.F[.col][.sum]`; KeyError if none."""
    prefix, _, rest = mnemonic.partition(".")
    name, _, form = rest.partition(".")
    if prefix != "act" or name not in FUNCTIONS or form not in ("", "sum", "col", "col.sum"):
        raise KeyError(f"no activation semantics for {mnemonic!r}")
    return partial(activate, function=FUNCTIONS[name], column_bias=form.startswith("col"),
                   row_sum=form.endswith("sum"))  # fmt: skip

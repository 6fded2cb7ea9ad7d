"""Vector unit, data-layout and generated-value instructions: transpose, iota, affine mask and
fills (the arithmetic is in iss.engines.vector).

Index patterns are computed exactly: a 64-bit register plus a ramp of 16-bit coefficients
times row and column indices can need 65 bits, so iss.engines.common.affine converts the
exact sums with one rounding instead of computing them in int64 or float64.
"""

from __future__ import annotations

import numpy as np

from iss.engines.base import EngineOp, Semantics
from iss.engines.common import affine, convert, name_of, plain_descs, require_shape
from iss.errors import Trap

#: beyond this magnitude an affine predicate's threshold lies outside every ramp value
_RAMP_LIMIT = 1 << 40


def _ramp(op: EngineOp, rows: int, cols: int) -> np.ndarray:
    """c1 * i + c2 * j as int64 (|c| < 2**15, i < 2**16, j < 2**16: far below 2**40)."""
    i = np.arange(rows, dtype=np.int64)[:, None]
    j = np.arange(cols, dtype=np.int64)[None, :]
    return op.imm("c1") * i + op.imm("c2") * j


def vtrans(op: EngineOp) -> None:
    """dd[j, i] = ds[i, j] converted to dd's dtype; dd must not overlap ds (bad_memory)."""
    tiles = plain_descs(op, "dd", "ds")
    rows, cols = tiles["ds"].shape
    require_shape(op, "dd", tiles["dd"], (cols, rows), "dd is cols x rows of ds")
    source = op.tile("ds", desc=tiles["ds"])
    out = op.out("dd", desc=tiles["dd"])
    # Real transpose units stream rows into columns: an overlapping destination would be
    # overwritten while it is read, so the ISA forbids it and the simulator traps.
    if np.shares_memory(out, source):
        raise Trap("bad_memory", f"{name_of(op)}: dd ({tiles['dd'].describe()}) overlaps ds "
                   f"({tiles['ds'].describe()})")  # fmt: skip
    out[...] = convert(source, tiles["dd"].type).T
    op.count(out.size)


def viota(op: EngineOp) -> None:
    """dd[i, j] = x[rs1] + c1 * i + c2 * j, exact, converted to dd's dtype."""
    dd = plain_descs(op, "dd")["dd"]
    out = op.out("dd", desc=dd)
    out[...] = affine(op.x("rs1"), _ramp(op, *out.shape), dd.type)
    op.count(out.size)


def vmask(op: EngineOp) -> None:
    """dd[i, j] = ds[i, j] if x[rs1] + c1 * i + c2 * j >= 0 (exact) else f[fs]."""
    tiles = plain_descs(op, "dd", "ds")
    shape = tiles["ds"].shape
    require_shape(op, "dd", tiles["dd"], shape, "dd has ds's shape")
    # ramp >= -x[rs1], with the threshold clamped so that it fits int64 and stays exact
    threshold = min(max(-op.x("rs1"), -_RAMP_LIMIT), _RAMP_LIMIT)
    keep = _ramp(op, *shape) >= threshold
    dtype = tiles["dd"].type
    source = convert(op.tile("ds", desc=tiles["ds"]), dtype)
    fill = convert(np.full((1, 1), op.f("fs"), np.float32), dtype)
    out = op.out("dd", desc=tiles["dd"])
    out[...] = np.where(keep, source, fill)
    op.count(out.size)


def vfill(op: EngineOp) -> None:
    """dd[i, j] = f[fs] converted to dd's dtype."""
    dd = plain_descs(op, "dd")["dd"]
    out = op.out("dd", desc=dd)
    out[...] = convert(np.full((1, 1), op.f("fs"), np.float32), dd.type)
    op.count(out.size)


def vfill_x(op: EngineOp) -> None:
    """dd[i, j] = x[rs1] converted to dd's dtype (integers saturate, floats round once)."""
    dd = plain_descs(op, "dd")["dd"]
    out = op.out("dd", desc=dd)
    out[...] = affine(op.x("rs1"), np.zeros((1, 1), np.int64), dd.type)
    op.count(out.size)


SEMANTICS: dict[str, Semantics] = {
    "vtrans": vtrans,
    "viota": viota,
    "vmask": vmask,
    "vfill": vfill,
    "vfill.x": vfill_x,
}

"""Vector unit: elementwise arithmetic in five broadcast forms, reductions, unary operations,
casts and selects (isa/table/vector.py holds the semantics text these functions follow).

Operands are read in one compute domain: fp32 if any source (or the `.s` scalar) is a float,
else int32, where NumPy's int32 arithmetic wraps modulo 2**32 as specified. Every result is
computed into a fresh array before it is stored, so a destination may alias its sources.
The fill, mask, iota and transpose instructions live in iss.engines.vector_data.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from isa import dtypes
from isa.table import vector as table
from iss.engines import vector_data
from iss.engines.base import EngineOp, Semantics, Work
from iss.engines.common import (
    F32,
    I32,
    affine,
    convert,
    name_of,
    plain_descs,
    read_fp32,
    require_shape,
    wrap_int32,
)
from iss.errors import Trap
from iss.tiles import Desc

Binary = Callable[[np.ndarray, np.ndarray], np.ndarray]
FP32 = dtypes.by_name("fp32")
#: broadcast form -> the shape rule db follows (for trap reasons)
BROADCAST_RULE = {"": "db has da's shape", ".row": "db is 1 x cols", ".col": "db is rows x 1"}


def _shift_left(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Shift the bits as unsigned: a signed left shift that overflows is undefined in C.
    return (a.view(np.uint32) << (b & 31).astype(np.uint32)).view(np.int32)


def _compare(ufunc: np.ufunc) -> Binary:
    # bool viewed as int8 is the 1 / 0 result without a copy; cast takes it from there.
    return lambda a, b: ufunc(a, b).view(np.int8)


#: op name -> result of (a, b) in the compute domain, for every row of table.BINARY_OPS
BINARY: dict[str, Binary] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    # `a if a > b else b`: equal values (-0, +0) give b; a != a adds NaN propagation from a
    "max": lambda a, b: np.where((a > b) | (a != a), a, b),
    "min": lambda a, b: np.where((a < b) | (a != a), a, b),
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
    "shl": _shift_left,
    "shr": lambda a, b: np.right_shift(a, b & 31),  # arithmetic on int32
    "eq": _compare(np.equal),
    "ne": _compare(np.not_equal),
    "lt": _compare(np.less),
    "le": _compare(np.less_equal),
    "gt": _compare(np.greater),
    "ge": _compare(np.greater_equal),
}


def _abs(x: np.ndarray) -> np.ndarray:
    if x.dtype == F32:  # clear the sign bit, NaN included
        return (x.view(np.uint32) & np.uint32(0x7FFF_FFFF)).view(np.float32)
    return np.abs(x)  # int32: |-2**31| wraps to -2**31


def _negate(x: np.ndarray) -> np.ndarray:
    if x.dtype == F32:  # flip the sign bit, NaN included
        return (x.view(np.uint32) ^ np.uint32(0x8000_0000)).view(np.float32)
    return np.negative(x)


#: mnemonic -> unary function in the compute domain, for every row of table.UNARY_OPS
UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "vabs": _abs,
    "vneg": _negate,
    "vnot": np.invert,
}
#: op name or mnemonic -> the only domain it allows ("int" or "float"), from the table
DOMAIN_ONLY = {
    **{name: only for _, name, _, _, only in table.BINARY_OPS if only},
    **{name: only for _, name, _, _, only in table.UNARY_OPS if only},
}


def _row_sum(x: np.ndarray) -> np.ndarray:
    if x.dtype == F32:  # pairwise order needs the row as the contiguous inner loop
        return np.sum(np.ascontiguousarray(x), axis=1, dtype=np.float32)
    return np.sum(x, axis=1, dtype=np.int32)  # wraps modulo 2**32


def _first_extreme(arg: Callable[..., np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    # The value at np.argmax / np.argmin: NaN if the row holds one (both return the first
    # NaN), and of -0 and +0 the one that comes first, whatever order NumPy's max would use.
    return lambda x: np.take_along_axis(x, arg(x, axis=1)[:, None], axis=1)[:, 0]


#: mnemonic -> row reduction (rows, cols) -> (rows,), for every row of table.REDUCE_OPS
REDUCE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "vrsum": _row_sum,
    "vrmax": _first_extreme(np.argmax),
    "vrmin": _first_extreme(np.argmin),
    "vrargmax": partial(np.argmax, axis=1),  # first index of the maximum, or of the first NaN
}


def _in_fp32(tiles: dict[str, Desc], sources: tuple[str, ...]) -> bool:
    """Whether a float source puts the operation in fp32 (else it runs in int32)."""
    return any(tiles[name].type.is_float for name in sources)


def _reader(op: EngineOp, name: str, desc: Desc, in_fp32: bool) -> Callable[[], np.ndarray]:
    """Source tile `name` (claimed now) as a call that reads it as fp32 or int32 (no copy
    when it already is)."""
    view = op.tile(name, desc=desc)
    if in_fp32:
        return (lambda: view) if view.dtype == F32 else partial(read_fp32, view, desc.type)
    return (lambda: view) if view.dtype == I32 else partial(view.astype, np.int32)


def _done(work: Work) -> Work:
    """Run an instruction's work (IEEE results, Inf and NaN, are the specified ones) and
    return it, for iss.plans to repeat."""
    with np.errstate(all="ignore"):
        work()
    return work


def _require_domain(op: EngineOp, only: str, in_fp32: bool, why: str) -> None:
    """bad_dtype when an int-only operation runs in fp32 or a float-only one in int32."""
    if only and (only == "float") != in_fp32:
        domain = "fp32" if in_fp32 else "int32"
        raise Trap("bad_dtype", f"{name_of(op)}: {only} operands only, but {why} make the "
                   f"operation {domain}")  # fmt: skip


def _describe(tiles: dict[str, Desc], sources: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {tiles[name].type.name}" for name in sources)


def _scalar(op: EngineOp, form: str, in_fp32: bool) -> np.ndarray:
    """The `.s` / `.x` operand as a 1 x 1 array in the compute domain."""
    if form == ".s":
        return np.full((1, 1), op.f("fs"), F32)
    value = op.x("rs")
    if in_fp32:  # rounded once to fp32, from the full 64-bit value
        return affine(value, np.zeros((1, 1), np.int64), FP32)
    return np.full((1, 1), wrap_int32(value), I32)


def binary(op: EngineOp, name: str, form: str) -> Work:
    """dd = da OP b for one BINARY op in one broadcast form ("", .row, .col, .s, .x)."""
    tile_b = form in BROADCAST_RULE
    sources = ("da", "db") if tile_b else ("da",)
    tiles = plain_descs(op, "dd", *sources)
    in_fp32 = form == ".s" or _in_fp32(tiles, sources)
    why = _describe(tiles, sources) + (" and the fp32 scalar" if form == ".s" else "")
    _require_domain(op, DOMAIN_ONLY.get(name, ""), in_fp32, why)
    rows, cols = tiles["da"].shape
    require_shape(op, "dd", tiles["dd"], (rows, cols), "dd has da's shape")
    if tile_b:
        b_shape = {"": (rows, cols), ".row": (1, cols), ".col": (rows, 1)}[form]
        require_shape(op, "db", tiles["db"], b_shape, BROADCAST_RULE[form])
    read_a = _reader(op, "da", tiles["da"], in_fp32)
    if tile_b:
        read_b = _reader(op, "db", tiles["db"], in_fp32)
    else:
        scalar = _scalar(op, form, in_fp32)
        read_b = lambda: scalar  # noqa: E731
    out = op.out("dd", desc=tiles["dd"])
    function, dd_type = BINARY[name], tiles["dd"].type
    op.count(out.size)
    if isinstance(function, np.ufunc) and out.dtype == (F32 if in_fp32 else I32):
        # the result needs no conversion: write it in place
        return _done(lambda: function(read_a(), read_b(), out=out))

    def work() -> None:
        out[...] = convert(function(read_a(), read_b()), dd_type)

    return _done(work)


def unary(op: EngineOp, name: str) -> Work:
    """dd = f(ds) elementwise for one UNARY op (vabs, vneg, vnot)."""
    tiles = plain_descs(op, "dd", "ds")
    in_fp32 = _in_fp32(tiles, ("ds",))
    _require_domain(op, DOMAIN_ONLY.get(name, ""), in_fp32, _describe(tiles, ("ds",)))
    require_shape(op, "dd", tiles["dd"], tiles["ds"].shape, "dd has ds's shape")
    read = _reader(op, "ds", tiles["ds"], in_fp32)
    out = op.out("dd", desc=tiles["dd"])
    function, dd_type = UNARY[name], tiles["dd"].type
    op.count(out.size)

    def work() -> None:
        out[...] = convert(function(read()), dd_type)

    return _done(work)


def reduce(op: EngineOp, name: str) -> Work:
    """dd[i, 0] = a reduction over row i of ds (vrsum, vrmax, vrmin, vrargmax)."""
    tiles = plain_descs(op, "dd", "ds")
    require_shape(op, "dd", tiles["dd"], (tiles["ds"].rows, 1), "dd is rows x 1")
    read = _reader(op, "ds", tiles["ds"], _in_fp32(tiles, ("ds",)))
    out = op.out("dd", desc=tiles["dd"])
    function, dd_type = REDUCE[name], tiles["dd"].type
    op.count(tiles["ds"].rows * tiles["ds"].cols)

    def work() -> None:
        out[:, 0] = convert(function(read()), dd_type)

    return _done(work)


def vcvt(op: EngineOp) -> None:
    """dd = ds converted to dd's dtype; isa.dtypes.cast is the reference (`.sat` saturates)."""
    tiles = plain_descs(op, "dd", "ds")
    require_shape(op, "dd", tiles["dd"], tiles["ds"].shape, "dd has ds's shape")
    x = op.tile("ds", desc=tiles["ds"])
    out = op.out("dd", desc=tiles["dd"])
    out[...] = dtypes.cast(x, tiles["dd"].type, saturate=op.flag("sat"))
    op.count(out.size)


def vsel(op: EngineOp) -> None:
    """dd = da where dm != 0 (NaN counts as nonzero) else db; each converted to dd's dtype."""
    tiles = plain_descs(op, "dd", "dm", "da", "db")
    shape = tiles["dm"].shape
    for name in ("dd", "da", "db"):
        require_shape(op, name, tiles[name], shape, "dd, dm, da and db have one shape")
    dtype = tiles["dd"].type
    with np.errstate(invalid="ignore"):
        mask = op.tile("dm", desc=tiles["dm"]) != 0
    a = convert(op.tile("da", desc=tiles["da"]), dtype)
    b = convert(op.tile("db", desc=tiles["db"]), dtype)
    out = op.out("dd", desc=tiles["dd"])
    out[...] = np.where(mask, a, b)
    op.count(out.size)


_SINGLE: dict[str, Semantics] = {"vcvt": vcvt, "vsel": vsel, **vector_data.SEMANTICS}
_FORMS = ("", ".row", ".col", ".s", ".x")


def semantics(mnemonic: str) -> Semantics:
    """The semantics function of vector mnemonic `mnemonic`; KeyError if there is none."""
    if mnemonic in _SINGLE:
        return _SINGLE[mnemonic]
    if mnemonic in REDUCE:
        return partial(reduce, name=mnemonic)
    if mnemonic in UNARY:
        return partial(unary, name=mnemonic)
    name, dot, suffix = mnemonic[1:].partition(".")
    if mnemonic[0] != "v" or name not in BINARY or dot + suffix not in _FORMS:
        raise KeyError(f"no vector semantics for {mnemonic!r}")
    return partial(binary, name=name, form=dot + suffix)

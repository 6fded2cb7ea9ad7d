"""Helpers the engines' semantics share: operand checks that name the instruction, conversion
of results into a destination dtype, and the exact conversion of 64-bit integer operands."""

from __future__ import annotations

import numpy as np

from isa import dtypes
from iss.engines.base import EngineOp
from iss.errors import Trap
from iss.tiles import Desc

F32 = np.dtype(np.float32)
I32 = np.dtype(np.int32)


def name_of(op: EngineOp) -> str:
    """The instruction's table mnemonic, for trap reasons."""
    return op.inst.spec.mnemonic


def plain_descs(op: EngineOp, *operands: str) -> dict[str, Desc]:
    """The descriptors of tile operands `operands`, each read once; bad_dtype if one is
    block-quantised (only the DMA engine reads those)."""
    found = {}
    for operand in operands:
        desc = found[operand] = op.desc(operand)
        if desc.type.is_quant:
            raise Trap("bad_dtype", f"{name_of(op)}: {operand} is {desc.type.name}; only the "
                       "DMA engine reads block-quantised tiles")  # fmt: skip
    return found


def require_shape(op: EngineOp, operand: str, desc: Desc, shape: tuple[int, int],
                  rule: str) -> None:  # fmt: skip
    """shape_mismatch unless tile operand `operand` (descriptor `desc`) is `shape`."""
    if desc.shape != shape:
        raise Trap("shape_mismatch", f"{name_of(op)}: {operand} is {desc.rows}x{desc.cols}, "
                   f"must be {shape[0]}x{shape[1]} ({rule})")  # fmt: skip


def convert(x: np.ndarray, dtype: dtypes.DType) -> np.ndarray:
    """`x` in `dtype`'s storage type: unchanged when it already is, else through dtypes.cast.

    A plain type converted to itself is the identity (bits, including NaN payloads, kept):
    for computed fp32 / int32 results that is exactly what cast returns.
    """
    return x if x.dtype == dtype.storage else dtypes.cast(x, dtype)


def read_fp32(view: np.ndarray, dtype: dtypes.DType) -> np.ndarray:
    """A tile's values as fp32 (int32 rounds to nearest even); fp32 tiles are not copied."""
    return view if view.dtype == F32 else dtypes.to_fp32(view, dtype)


def wrap_int32(value: int) -> int:
    """A Python integer reduced modulo 2**32 to the int32 range."""
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def affine(base: int, offsets: np.ndarray, dtype: dtypes.DType) -> np.ndarray:
    """`base + offsets` computed exactly and converted to `dtype` with one rounding.

    `base` is any signed 64-bit value and `offsets` an int64 array with |offsets| < 2**40
    (`viota`'s ramps; zeros for a plain fill), so the exact sums may need 65 bits.
    """
    if abs(base) < 1 << 52:  # every sum is below 2**53: exact in int64 and in float64
        return dtypes.cast(base + offsets, dtype)
    if dtype.is_int:  # far outside int32: every sum saturates as the clamped one does
        return dtypes.cast(np.clip(base, -(1 << 62), 1 << 62) + offsets, dtype)
    # Round the exact sum to odd in float64 (Boldo & Melquiond, 2008): cast's own rounding of
    # that value to a float type of at most 24 bits is then the correctly rounded result.
    high = base >> 34 << 34  # at most 30 significant bits: exact in float64
    low = (base - high + offsets).astype(np.float64)  # below 2**41 in magnitude: exact
    total = np.float64(high) + low
    error = (np.float64(high) - total) + low  # Fast2Sum: total + error == base + offsets
    toward_error = np.nextafter(total, np.copysign(np.inf, error))
    odd = (total.view(np.uint64) & np.uint64(1)).astype(bool)
    return dtypes.cast(np.where((error != 0) & ~odd, toward_error, total), dtype)

"""J1 data types: the one table of element types, their conversions and the GGUF block layouts.

Everything that needs to know how a J1 value is stored or converted — the assembler's data
directives, the simulator's DMA, vector and matrix engines, the generated manual — reads it
from here. The docstrings of `cast`, `unpack_q4_1` and `unpack_q8_0` are the ISA specification
of the vector unit's `vcvt` and of the DMA engine's conversions and on-the-fly dequantisation.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

import ml_dtypes
import numpy as np

QUANT_BLOCK = 32  # elements per GGUF Q4_1 / Q8_0 block


class DTypeError(ValueError):
    """A data-type name, code, shape or value that J1 cannot represent."""


@dataclass(frozen=True)
class DType:
    """One J1 element type.

    `code` is the 4-bit value in instruction encodings (fixed forever; 9..15 reserved).
    Plain types store one element per `storage` item: `elem_bytes == block_bytes` and
    `block == 1`. Quantised types store blocks of `block` elements in `block_bytes` raw bytes
    (`storage` is uint8); they have no per-element size, so `elem_bytes` is None — use
    `row_bytes` for sizes.
    """

    name: str
    code: int
    kind: Literal["int", "float", "quant"]
    storage: np.dtype
    elem_bytes: int | None
    block: int
    block_bytes: int
    description: str

    @property
    def is_float(self) -> bool:
        """True for the floating-point types (fp8e4m3 … fp32)."""
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        """True for the two's-complement integer types (int8, int32)."""
        return self.kind == "int"

    @property
    def is_quant(self) -> bool:
        """True for the GGUF block-quantised types (q4_1, q8_0)."""
        return self.kind == "quant"

    @property
    def summary(self) -> str:
        """One line for the ISA manual: name, code, size and meaning."""
        if self.is_quant:
            size = f"{self.block_bytes} bytes per {self.block} elements"
        else:
            size = f"{self.block_bytes} byte" + ("s" if self.block_bytes > 1 else "")
        return f"{self.name} (code {self.code}, {size}): {self.description}"


def _plain(name: str, code: int, kind: Literal["int", "float"], storage, text: str) -> DType:
    storage = np.dtype(storage)
    return DType(name, code, kind, storage, storage.itemsize, 1, storage.itemsize, text)


def _quant(name: str, code: int, block_bytes: int, text: str) -> DType:
    return DType(name, code, "quant", np.dtype(np.uint8), None, QUANT_BLOCK, block_bytes, text)


DTYPES: tuple[DType, ...] = (
    _plain("int8", 0, "int", np.int8, "two's-complement integer"),
    _plain("int32", 1, "int", np.int32, "two's-complement integer (integer accumulator)"),
    _plain(
        "fp8e4m3",
        2,
        "float",
        ml_dtypes.float8_e4m3fn,
        "OCP FP8 E4M3FN: 4-bit exponent, 3-bit mantissa, no Inf, max ±448",
    ),
    _plain(
        "fp8e5m2",
        3,
        "float",
        ml_dtypes.float8_e5m2,
        "OCP FP8 E5M2: 5-bit exponent, 2-bit mantissa, IEEE Inf/NaN, max ±57344",
    ),
    _plain("bf16", 4, "float", ml_dtypes.bfloat16, "bfloat16: fp32's exponent, 7-bit mantissa"),
    _plain("fp16", 5, "float", np.float16, "IEEE 754 binary16"),
    _plain("fp32", 6, "float", np.float32, "IEEE 754 binary32 (float accumulator)"),
    _quant("q4_1", 7, 20, "GGUF Q4_1: fp16 scale d, fp16 min m, 32 × u4 q; x = d·q + m"),
    _quant("q8_0", 8, 34, "GGUF Q8_0: fp16 scale d, 32 × int8 q; x = d·q"),
)
NAMES: tuple[str, ...] = tuple(t.name for t in DTYPES)
RESERVED_CODES = range(len(DTYPES), 16)

if [t.code for t in DTYPES] != list(range(len(DTYPES))):
    raise RuntimeError("DTYPES must be listed in dense code order")

_BY_NAME = {t.name: t for t in DTYPES}
_Q4_1, _Q8_0 = _BY_NAME["q4_1"], _BY_NAME["q8_0"]
_PLAIN_STORAGE = {t.storage for t in DTYPES if not t.is_quant}


def by_name(name: str) -> DType:
    """The dtype called `name` (case-insensitive); DTypeError with a suggestion otherwise."""
    dtype = _BY_NAME.get(name.lower())
    if dtype is None:
        close = difflib.get_close_matches(name.lower(), NAMES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(NAMES)}"
        raise DTypeError(f"unknown data type '{name}'{hint}")
    return dtype


def by_code(code: int) -> DType:
    """The dtype with 4-bit encoding `code`; DTypeError for reserved or out-of-range codes."""
    if 0 <= code < len(DTYPES):
        return DTYPES[code]
    if code in RESERVED_CODES:
        raise DTypeError(f"data-type code {code} is reserved")
    raise DTypeError(f"data-type code {code} does not fit in 4 bits")


def _resolve(dtype: DType | str) -> DType:
    return dtype if isinstance(dtype, DType) else by_name(dtype)


def row_bytes(dtype: DType | str, cols: int) -> int:
    """Bytes occupied by `cols` consecutive elements; quant rows must be whole blocks."""
    dtype = _resolve(dtype)
    if cols % dtype.block:
        raise DTypeError(
            f"{dtype.name} rows must be a multiple of {dtype.block} elements, got {cols}"
        )
    return cols // dtype.block * dtype.block_bytes


def to_fp32(x: np.ndarray, dtype: DType | str) -> np.ndarray:
    """Widen `x` (an array in `dtype`'s storage type) to float32.

    Exact for every float type and int8. int32 converts with round-to-nearest-even, so
    magnitudes beyond 2**24 may round (e.g. 2**24 + 1 -> 2**24).
    """
    dtype = _resolve(dtype)
    x = np.asarray(x)
    if dtype.is_quant:
        raise DTypeError(f"{dtype.name} is block-quantised: use unpack_{dtype.name}")
    if x.dtype != dtype.storage:
        raise DTypeError(f"array holds {x.dtype}, not {dtype.name} ({dtype.storage})")
    return x.astype(np.float32)


# Source dtypes whose every value float32 holds exactly: converting through float32 adds no
# rounding step. int32, int64 and float64 sources need the float64 path below.
_EXACT_IN_F32 = {
    np.dtype(t)
    for t in (
        np.int8,
        np.float16,
        np.float32,
        ml_dtypes.bfloat16,
        ml_dtypes.float8_e4m3fn,
        ml_dtypes.float8_e5m2,
    )
}
_HOST_SOURCES = {np.dtype(np.int64), np.dtype(np.float64)}  # Python ints / floats


def _f64_to_f32_round_to_odd(x: np.ndarray) -> np.ndarray:
    """float64 -> float32 rounding to odd (truncate, then set the last bit if inexact).

    ml_dtypes converts float64 to bf16/fp8 through a float32 RNE step, which double-rounds
    (1 + 2**-8 + 2**-30 becomes bf16 1.0, not 1 + 2**-7). Rounding to odd into float32, which
    has at least 2 more significant bits than those targets at every magnitude, makes the
    second RNE step give the correctly rounded result (Boldo & Melquiond, 2008).
    """
    y = x.astype(np.float32)
    y = np.where(np.abs(y) > np.abs(x), np.nextafter(y, np.float32(0)), y)  # toward zero
    inexact = np.isfinite(x) & (y != x)
    return (y.view(np.uint32) | inexact.astype(np.uint32)).view(np.float32)


@np.errstate(over="ignore", invalid="ignore")  # overflow to Inf/NaN is the specified result
def _to_float(x: np.ndarray, dst: DType) -> np.ndarray:
    if x.dtype in _EXACT_IN_F32:
        return x.astype(np.float32).astype(dst.storage)
    wide = x.astype(np.float64)  # exact for int32 and float64; int64 beyond 2**53 rounds here
    if dst.storage in (np.float32, np.float16):  # numpy rounds float64 directly, once
        return wide.astype(dst.storage)
    return _f64_to_f32_round_to_odd(wide).astype(dst.storage)


@np.errstate(invalid="ignore")  # ml_dtypes flags NaN in isnan/isfinite of its types
def _saturate(y: np.ndarray, x: np.ndarray, dst: DType) -> np.ndarray:
    # Overflow is judged on the rounded result: only values that did not round to a finite
    # number (Inf, or NaN for fp8e4m3 which has no Inf) are clamped. NaN inputs stay NaN.
    overflow = ~np.isfinite(y) & ~np.isnan(x)
    big = ml_dtypes.finfo(dst.storage).max
    clamped = np.where(np.signbit(x), -big, big).astype(dst.storage)
    return np.where(overflow, clamped, y)


def _to_int(x: np.ndarray, dst: DType) -> np.ndarray:
    info = np.iinfo(dst.storage)
    if x.dtype.kind in "iu":
        return np.clip(x.astype(np.int64), info.min, info.max).astype(dst.storage)
    with np.errstate(invalid="ignore"):
        rounded = np.clip(np.rint(x.astype(np.float64)), info.min, info.max)
    return np.where(np.isnan(rounded), 0, rounded).astype(dst.storage)


def cast(x: np.ndarray, dst: DType | str, *, saturate: bool = False) -> np.ndarray:
    """Convert `x` to `dst`, returning an array of `dst.storage` (spec of `vcvt` and DMA casts).

    `x` holds any plain J1 type, or float64 / int64 host values (int64 beyond 2**53 first
    rounds to float64). Every other value is converted from its exact value, rounded once:

    * float -> float: round to nearest, ties to even. Subnormals are kept (no flush to zero);
      NaN stays NaN. Overflow — a result that rounds beyond the largest finite value — gives
      ±Inf, except in fp8e4m3, which has no Inf: overflow and ±Inf give NaN there. With
      `saturate` (PTX `.satfinite`) overflow and ±Inf give ±max finite instead; a value that
      rounds to max finite is max finite either way; NaN stays NaN.
    * int -> float: round to nearest even, then overflow as above (int32 1000 -> fp8e4m3 NaN,
      or 448 with `saturate`).
    * float -> int: round to nearest even, then clamp to the integer range; ±Inf clamp, NaN
      gives 0. Always saturating, whatever `saturate` says.
    * int -> int: clamp to the destination range.
    * quant destinations raise DTypeError: use `pack_q4_1` / `pack_q8_0`.
    """
    dst = _resolve(dst)
    x = np.asarray(x)
    if dst.is_quant:
        raise DTypeError(f"cannot cast to {dst.name}: quantise with pack_{dst.name}")
    if x.dtype not in _PLAIN_STORAGE | _HOST_SOURCES:
        raise DTypeError(f"cannot cast from {x.dtype}: not a plain J1 data type")
    if dst.is_int:
        return _to_int(x, dst)
    y = _to_float(x, dst)
    return _saturate(y, x, dst) if saturate else y


def scalar_bytes(value: float | int, dtype: DType | str) -> bytes:
    """Little-endian bytes of one value, for assembler data directives (`.bf16 1.5`).

    Floats round to nearest even from the exact value (integers beyond 2**53 first round to
    float64). DTypeError for: a value that overflows the type (or Inf in fp8e4m3), a
    non-integer or out-of-range value for an integer type, and the quantised types.
    """
    dtype = _resolve(dtype)
    if dtype.is_quant:
        raise DTypeError(f"{dtype.name} has no scalar encoding: values are packed in blocks")
    if dtype.is_int:
        info = np.iinfo(dtype.storage)
        if not isinstance(value, int | np.integer) or not info.min <= value <= info.max:
            raise DTypeError(
                f"{value!r} is not an integer in {dtype.name} range [{info.min}, {info.max}]"
            )
        return int(value).to_bytes(dtype.block_bytes, "little", signed=True)
    try:
        wide = np.array(float(value), dtype=np.float64)
    except OverflowError:
        raise DTypeError(f"{value!r} overflows {dtype.name}") from None
    y = cast(wide, dtype)
    # A finite value that became Inf/NaN overflowed; Inf that became NaN has no encoding.
    if np.isfinite(wide) != np.isfinite(y) or np.isnan(wide) != np.isnan(y):
        raise DTypeError(
            f"{value!r} is not representable in {dtype.name} "
            f"(max {ml_dtypes.finfo(dtype.storage).max})"
        )
    unsigned = f"u{dtype.block_bytes}"
    return y.view(unsigned).astype("<" + unsigned).tobytes()


def _blocks(x: np.ndarray, dtype: DType) -> tuple[np.ndarray, tuple[int, ...]]:
    """Float32 (n_blocks, 32) view of `x` and the shape of its packed bytes."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 0 or x.shape[-1] % QUANT_BLOCK:
        raise DTypeError(f"last dimension must be a multiple of {QUANT_BLOCK}, got {x.shape}")
    if not np.isfinite(x).all():
        raise DTypeError("cannot quantise NaN or Inf")
    return x.reshape(-1, QUANT_BLOCK), (*x.shape[:-1], row_bytes(dtype, x.shape[-1]))


def _raw_blocks(data: np.ndarray, dtype: DType) -> tuple[np.ndarray, tuple[int, ...]]:
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim == 0 or data.shape[-1] % dtype.block_bytes:
        raise DTypeError(
            f"{dtype.name} data must be uint8 with a last dimension that is a "
            f"multiple of {dtype.block_bytes}, got {data.dtype} {data.shape}"
        )
    cols = data.shape[-1] // dtype.block_bytes * dtype.block
    return data.reshape(-1, dtype.block_bytes), (*data.shape[:-1], cols)


@np.errstate(over="ignore")  # a scale beyond fp16 range is stored as Inf, as in ggml
def _fp16_bytes(v: np.ndarray) -> np.ndarray:
    return v.astype("<f2").view(np.uint8)  # RNE to fp16, stored little-endian


def _fp16_field(blocks: np.ndarray, start: int) -> np.ndarray:
    return np.ascontiguousarray(blocks[:, start : start + 2]).view("<f2").astype(np.float32)


def _reciprocal(d: np.ndarray) -> np.ndarray:
    """1/d in float32, or 0 where that is infinite (d = 0, or d so small that 1/d overflows).

    ggml only tests d == 0; for the tiny d it then scales by Inf and converts Inf/NaN to an
    integer, which is undefined in C and NumPy (x86 gives 0). Using 0 gives those same zero
    q on x86, everywhere. Such a d is 0 in fp16 anyway, so the block decodes the same.
    """
    with np.errstate(divide="ignore", over="ignore"):
        inverse = np.float32(1) / d
    return np.where(np.isinf(inverse), np.float32(0), inverse)


def pack_q8_0(x: np.ndarray) -> np.ndarray:
    """Quantise float32 `x` (..., n), n a multiple of 32, to Q8_0 bytes (..., n // 32 * 34).

    x must be finite; it is first rounded to float32. Per block, in float32 as in ggml's
    reference quantiser and gguf.quants: d = max|x| / 127, r = 1/d (0 where that is Inf),
    q = round-half-away-from-zero(x * r); d is then stored as fp16 (RNE).
    Block bytes: d (fp16 LE), then the 32 q as int8.
    """
    blocks, shape = _blocks(x, _Q8_0)
    d = np.abs(blocks).max(axis=1, keepdims=True) / np.float32(127)
    inv_d = _reciprocal(d)
    scaled = np.abs(blocks * inv_d)
    # C roundf; floor(a + 0.5) would misround 0.49999997 because the sum itself rounds up.
    magnitude = np.floor(scaled) + (scaled - np.floor(scaled) >= 0.5)
    q = np.copysign(magnitude, blocks).astype(np.int8)
    out = np.concatenate([_fp16_bytes(d), q.view(np.uint8)], axis=1)
    return out.reshape(shape)


@np.errstate(invalid="ignore")  # Inf/NaN scales decode to NaN, as specified
def unpack_q8_0(data: np.ndarray) -> np.ndarray:
    """Dequantise Q8_0 bytes (..., nb * 34) to float32 (..., nb * 32).

    x = float32(d) * float32(q). The product of an fp16 and an int8 is exact in float32, so
    no rounding happens and the result is bit-identical to gguf.quants.dequantize.
    """
    blocks, shape = _raw_blocks(data, _Q8_0)
    d = _fp16_field(blocks, 0)
    q = blocks[:, 2:].view(np.int8).astype(np.float32)
    return (q * d).reshape(shape)


def pack_q4_1(x: np.ndarray) -> np.ndarray:
    """Quantise float32 `x` (..., n), n a multiple of 32, to Q4_1 bytes (..., n // 32 * 20).

    x must be finite; it is first rounded to float32. Per block, in float32 as in ggml's
    reference quantiser and gguf.quants: m = min x, d = (max x - m) / 15, r = 1/d (0 where
    that is Inf), q = min(15, trunc((x - m) * r + 0.5)), and q = 0 wherever r = 0; d and m
    are then stored as fp16 (RNE). q uses the float32 d, not the stored one: ggml does the
    same, and matching its files matters more than a fraction of a step of error.
    Block bytes: d (fp16 LE), m (fp16 LE), then 16 bytes; byte j holds q[j] in its low nibble
    and q[j + 16] in its high nibble.
    """
    blocks, shape = _blocks(x, _Q4_1)
    lo = blocks.min(axis=1, keepdims=True)
    d = (blocks.max(axis=1, keepdims=True) - lo) / np.float32(15)
    inv_d = _reciprocal(d)
    with np.errstate(invalid="ignore"):  # Inf * 0 if max - min overflows: masked next line
        q = np.minimum(np.trunc((blocks - lo) * inv_d + np.float32(0.5)), 15)
    q = np.where(inv_d == 0, 0, q).astype(np.uint8)
    nibbles = q[:, :16] | (q[:, 16:] << np.uint8(4))
    out = np.concatenate([_fp16_bytes(d), _fp16_bytes(lo), nibbles], axis=1)
    return out.reshape(shape)


@np.errstate(invalid="ignore")  # Inf/NaN scales decode to NaN, as specified
def unpack_q4_1(data: np.ndarray) -> np.ndarray:
    """Dequantise Q4_1 bytes (..., nb * 20) to float32 (..., nb * 32).

    x = float32(d) * float32(q) + float32(m), with q[j] = low nibble of byte j and
    q[j + 16] = its high nibble. d * q (fp16 times 4 bits) is exact in float32, so the only
    rounding is the RNE addition — a fused multiply-add gives the same bits. Bit-identical to
    gguf.quants.dequantize.
    """
    blocks, shape = _raw_blocks(data, _Q4_1)
    d, m = _fp16_field(blocks, 0), _fp16_field(blocks, 2)
    nibbles = blocks[:, 4:]
    q = np.concatenate([nibbles & np.uint8(0x0F), nibbles >> np.uint8(4)], axis=1)
    return (d * q.astype(np.float32) + m).reshape(shape)


def unpack(data: np.ndarray, dtype: DType | str) -> np.ndarray:
    """Dequantise the blocks of quantised `dtype` (q4_1 or q8_0) in `data` to float32."""
    dtype = _resolve(dtype)
    if dtype is _Q4_1:
        return unpack_q4_1(data)
    if dtype is _Q8_0:
        return unpack_q8_0(data)
    raise DTypeError(f"{dtype.name} is not block-quantised")

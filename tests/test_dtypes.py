"""Tests for isa.dtypes: the type table, casts (against ml_dtypes and an exact reference) and
the GGUF Q4_1 / Q8_0 layouts (against the gguf package)."""

from __future__ import annotations

import bisect
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from gguf import GGMLQuantizationType
from gguf.quants import dequantize, quantize
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from isa import dtypes
from isa.dtypes import DTypeError, cast

FLOATS = [t for t in dtypes.DTYPES if t.is_float]
SMALL_FLOATS = [t for t in FLOATS if t.name != "fp32"]  # small enough to enumerate
UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def bits(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.view(UINT[a.dtype.itemsize])


def from_bits(pattern: int, t: dtypes.DType) -> np.ndarray:
    return np.array([pattern], UINT[t.block_bytes]).view(t.storage)


@np.errstate(invalid="ignore")  # ml_dtypes warns on isnan(NaN)
def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit, except that any NaN matches any NaN."""
    a, b = np.asarray(a), np.asarray(b)
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    return bool(np.array_equal(a_nan, b_nan) and np.array_equal(bits(a)[~a_nan], bits(b)[~b_nan]))


def max_bits(t: dtypes.DType) -> int:
    return int(bits(np.array(ml_dtypes.finfo(t.storage).max, t.storage)))


# --- an exact rounding reference, independent of ml_dtypes' conversions ---------------------

_GRIDS: dict[str, list[Fraction]] = {}


def grid(t: dtypes.DType) -> list[Fraction]:
    """Every non-negative finite value of `t` by bit pattern, plus the 'next' value past max."""
    if t.name not in _GRIDS:
        top = max_bits(t)
        values = np.arange(top + 1, dtype=UINT[t.block_bytes]).view(t.storage)
        exact = [Fraction(float(v)) for v in values.astype(np.float64)]
        ulp = exact[top] - exact[top - 1]
        _GRIDS[t.name] = [*exact, exact[top] + ulp]  # its pattern (top + 1) is odd or NaN
    return _GRIDS[t.name]


def reference_round(x: float, t: dtypes.DType) -> float:
    """Round-to-nearest-even of float `x` into `t`, as a float (Inf or NaN past max)."""
    if np.isnan(x):
        return float("nan")
    values, mag = grid(t), Fraction(abs(x)) if np.isfinite(x) else None
    top = len(values) - 2
    if mag is None or mag >= values[-1]:
        index = top + 1
    else:
        hi = bisect.bisect_left(values, mag)
        lo = hi if values[hi] == mag else hi - 1
        below, above = mag - values[lo], values[hi] - mag
        index = lo if below < above or (below == above and lo % 2 == 0) else hi
    if index > top:  # past max finite: Inf, or NaN for fp8e4m3 which has no Inf
        return float("nan") if t.name == "fp8e4m3" else float(np.copysign(np.inf, x))
    return float(np.copysign(float(values[index]), x))


# --- the table ---------------------------------------------------------------------------


def test_codes_are_unique_dense_and_in_order():
    assert [t.code for t in dtypes.DTYPES] == list(range(9))
    assert tuple(t.name for t in dtypes.DTYPES) == dtypes.NAMES
    assert len(set(dtypes.NAMES)) == len(dtypes.NAMES)


@pytest.mark.parametrize("t", dtypes.DTYPES, ids=lambda t: t.name)
def test_lookup_round_trips(t):
    assert dtypes.by_name(t.name) is t
    assert dtypes.by_name(t.name.upper()) is t
    assert dtypes.by_code(t.code) is t


@pytest.mark.parametrize("t", dtypes.DTYPES, ids=lambda t: t.name)
def test_sizes_and_kinds(t):
    assert [t.is_int, t.is_float, t.is_quant].count(True) == 1
    assert t.name in t.summary and f"code {t.code}" in t.summary
    if t.is_quant:
        assert (t.elem_bytes, t.block, t.storage) == (None, 32, np.uint8)
        assert t.block_bytes == {"q4_1": 20, "q8_0": 34}[t.name]
    else:
        assert t.elem_bytes == t.block_bytes == t.storage.itemsize and t.block == 1


def test_bad_name_suggests_the_closest():
    with pytest.raises(DTypeError, match="did you mean 'bf16'"):
        dtypes.by_name("bf61")
    with pytest.raises(DTypeError, match="fp8e4m3"):
        dtypes.by_name("fp8_e4m3")
    with pytest.raises(DTypeError, match="known: int8"):
        dtypes.by_name("zzzz")


@pytest.mark.parametrize("code", [*range(9, 16), 16, -1])
def test_bad_codes(code):
    with pytest.raises(DTypeError, match="reserved" if 9 <= code <= 15 else "4 bits"):
        dtypes.by_code(code)


def test_row_bytes():
    assert dtypes.row_bytes("int8", 7) == 7
    assert dtypes.row_bytes("bf16", 128) == 256
    assert dtypes.row_bytes(dtypes.by_name("fp32"), 5) == 20
    assert dtypes.row_bytes("q4_1", 64) == 40
    assert dtypes.row_bytes("q8_0", 96) == 102
    assert dtypes.row_bytes("q8_0", 0) == 0
    with pytest.raises(DTypeError, match="multiple of 32"):
        dtypes.row_bytes("q4_1", 33)


# --- float -> float ----------------------------------------------------------------------


@pytest.mark.parametrize("t", SMALL_FLOATS, ids=lambda t: t.name)
@pytest.mark.parametrize("low_bits", [0, 1, 2, 3, 6, 0x30, 0x31])
def test_exact_ties_round_to_even(t, low_bits):
    top = max_bits(t)
    for pattern in (low_bits, top - 1 - low_bits):  # tiny/subnormal and large magnitudes
        low, high = from_bits(pattern, t), from_bits(pattern + 1, t)
        exact_tie = (low.astype(np.float64) + high.astype(np.float64)) / 2
        tie = exact_tie.astype(np.float32)
        assert tie.astype(np.float64) == exact_tie
        even = low if pattern % 2 == 0 else high
        for sign in (1, -1):
            assert same(cast(sign * tie, t), sign * even), (t.name, tie)
        above = np.nextafter(tie, np.float32(np.inf))
        below = np.nextafter(tie, np.float32(0))
        assert same(cast(above, t), high) and same(cast(below, t), low)


def test_bf16_ties_from_float32_bit_patterns():
    f32 = np.array([0x3F808000, 0x3F818000, 0x3F808001, 0x00008000, 0x00018000], np.uint32).view(
        np.float32
    )
    assert bits(cast(f32, "bf16")).tolist() == [0x3F80, 0x3F82, 0x3F81, 0x0000, 0x0002]


@pytest.mark.parametrize("t", FLOATS, ids=lambda t: t.name)
def test_subnormals_are_preserved(t):
    mantissa_bits = ml_dtypes.finfo(t.storage).nmant
    patterns = (
        np.arange(1, 1 << mantissa_bits, dtype=np.uint64) << 0
        if t.name != "fp32"
        else np.array([1, 2, 0x400000, 0x7FFFFF], np.uint64)
    )
    sub = patterns.astype(UINT[t.block_bytes]).view(t.storage)
    assert np.all(sub.astype(np.float32) > 0)
    for signed in (sub, -sub):
        assert same(cast(signed.astype(np.float32), t), signed)
        assert same(cast(signed, "fp32"), signed.astype(np.float32))


@pytest.mark.parametrize("src", FLOATS, ids=lambda t: t.name)
@pytest.mark.parametrize("dst", FLOATS, ids=lambda t: t.name)
@pytest.mark.parametrize("saturate", [False, True])
def test_nan_stays_nan(src, dst, saturate):
    nans = np.array([np.nan, -np.nan], np.float32).astype(src.storage)
    assert np.isnan(cast(nans, dst, saturate=saturate).astype(np.float32)).all()


def test_fp8e4m3_overflow_is_nan_or_saturates():
    x = np.array([464, 465, 1000, 1e30, np.inf, -465, -np.inf, 448, -448], np.float32)
    plain = cast(x, "fp8e4m3").astype(np.float32)
    assert np.isnan(plain[1:7]).all() and plain[[0, 7, 8]].tolist() == [448, 448, -448]
    sat = cast(x, "fp8e4m3", saturate=True).astype(np.float32)
    assert sat.tolist() == [448, 448, 448, 448, 448, -448, -448, 448, -448]


@pytest.mark.parametrize("t", FLOATS, ids=lambda t: t.name)
def test_infinities_and_huge_values_saturate_to_max(t):
    big = float(ml_dtypes.finfo(t.storage).max)
    x = np.array([np.inf, -np.inf, 1e39, -1e300], np.float64)
    got = cast(x, t, saturate=True).astype(np.float64)
    assert got.tolist() == [big, -big, big, -big]
    if t.name not in ("fp8e4m3", "fp32"):
        assert cast(x[:2], t).astype(np.float64).tolist() == [np.inf, -np.inf]


@pytest.mark.parametrize("t", SMALL_FLOATS, ids=lambda t: t.name)
def test_overflow_is_decided_after_rounding(t):
    top = max_bits(t)
    big = from_bits(top, t).astype(np.float64)[0]
    half_ulp = (big - from_bits(top - 1, t).astype(np.float64)[0]) / 2
    just_below_tie = np.nextafter(np.float32(big + half_ulp), np.float32(0))
    assert cast(just_below_tie, t).astype(np.float64) == big
    assert cast(just_below_tie, t, saturate=True).astype(np.float64) == big
    tie = np.float32(big + half_ulp)  # max's mantissa is odd except in e4m3 (1.110b x 2^8)
    expected = big if t.name == "fp8e4m3" else np.inf
    assert cast(tie, t).astype(np.float64) == expected


@settings(max_examples=400)
@given(st.integers(0, 2**32 - 1), st.sampled_from(FLOATS))
def test_float32_casts_match_ml_dtypes(pattern, t):
    x = np.array([pattern], np.uint32).view(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # the reference warns; cast does not
        reference = x.astype(t.storage)
    assert same(cast(x, t), reference)


@settings(max_examples=400)
@given(st.integers(0, 2**32 - 1), st.sampled_from(FLOATS))
def test_saturating_casts(pattern, t):
    x = np.array([pattern], np.uint32).view(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # the reference warns; cast does not
        plain = x.astype(t.storage).astype(np.float32)
    got = cast(x, t, saturate=True).astype(np.float32)
    if np.isnan(x[0]) or np.isfinite(plain[0]):
        assert same(got, plain)
    else:
        assert got[0] == np.copysign(ml_dtypes.finfo(t.storage).max, x[0])


@settings(max_examples=400)
@given(st.integers(0, 2**64 - 1), st.sampled_from(SMALL_FLOATS))
def test_float64_sources_round_once(pattern, t):
    x = np.array([pattern], np.uint64).view(np.float64)
    assert same(cast(x, t).astype(np.float64), np.array([reference_round(x[0], t)]))


@settings(max_examples=400)
@given(
    st.sampled_from(SMALL_FLOATS),
    st.integers(0, 2**16),
    st.integers(-(2**20), 2**20),
    st.booleans(),
)
def test_float64_values_near_ties_round_once(t, pattern, offset, negative):
    # Midpoints between neighbours of t, nudged by amounts float32 cannot resolve.
    pattern %= max_bits(t)
    low, high = (from_bits(p, t).astype(np.float64)[0] for p in (pattern, pattern + 1))
    x = (low + high) / 2 * (1 + offset * 2.0**-50) * (-1 if negative else 1)
    assert same(cast(np.array([x]), t).astype(np.float64), np.array([reference_round(x, t)]))


def test_float64_double_rounding_example():
    # float32 would round this to the bf16 tie 1 + 2**-8, then bf16 to 1.0.
    assert bits(cast(np.array([1 + 2**-8 + 2**-30]), "bf16")).tolist() == [0x3F81]


# --- integers ----------------------------------------------------------------------------


def test_float_to_int8_rounds_even_and_saturates():
    x = np.array(
        [2.5, 3.5, -2.5, -0.5, 0.5, 1.5, 127.4, 127.5, -128.5, -129, 300, np.inf, -np.inf, np.nan],
        np.float32,
    )
    expected = [2, 4, -2, 0, 0, 2, 127, 127, -128, -128, 127, 127, -128, 0]
    for src in ("fp32", "bf16", "fp16"):
        assert cast(cast(x, src), "int8").tolist() == expected
    assert cast(x, "int8", saturate=True).dtype == np.int8


def test_float_to_int32_rounds_even_and_saturates():
    x = np.array(
        [2**31, -(2**31), 2**31 * 4, 2**24 + 0.5, 1e9 + 0.5, -1e9 - 0.5, np.inf, -np.inf, np.nan],
        np.float64,
    )
    expected = [2**31 - 1, -(2**31), 2**31 - 1, 2**24, 10**9, -(10**9), 2**31 - 1, -(2**31), 0]
    assert cast(x, "int32").tolist() == expected
    assert cast(
        np.array([np.nan, 448, -np.inf], np.float32).astype(ml_dtypes.float8_e5m2), "int32"
    ).tolist() == [0, 448, -(2**31)]


def test_int_to_int_saturates():
    x = np.array([-(2**31), -129, -128, 0, 127, 128, 2**31 - 1], np.int32)
    assert cast(x, "int8").tolist() == [-128, -128, -128, 0, 127, 127, 127]
    assert cast(cast(x, "int8"), "int32").dtype == np.int32


def test_int32_to_float_rounds_once():
    x = np.array([2**24 + 1, 2**24 + 3, 2**24 + 2**16 + 1, 1000, -1000], np.int32)
    assert cast(x, "fp32").tolist() == [2**24, 2**24 + 4, 2**24 + 2**16, 1000, -1000]
    assert cast(x[2:3], "bf16").astype(np.float64).tolist() == [2**24 + 2**17]
    assert np.isnan(cast(x[3:], "fp8e4m3").astype(np.float32)).all()
    assert cast(x[3:], "fp8e4m3", saturate=True).astype(np.float32).tolist() == [448, -448]


@settings(max_examples=300)
@given(st.integers(-(2**31), 2**31 - 1), st.sampled_from(SMALL_FLOATS))
def test_int32_to_float_matches_reference(value, t):
    got = cast(np.array([value], np.int32), t).astype(np.float64)
    assert same(got, np.array([reference_round(float(value), t)]))


@np.errstate(invalid="ignore")  # ml_dtypes warns when casting NaN back to bf16
def test_to_fp32():
    every_bf16 = np.arange(1 << 16, dtype=np.uint16).view(ml_dtypes.bfloat16)
    assert same(dtypes.to_fp32(every_bf16, "bf16").astype(ml_dtypes.bfloat16), every_bf16)
    for name in ("fp8e4m3", "fp8e5m2"):
        every = np.arange(256, dtype=np.uint8).view(dtypes.by_name(name).storage)
        assert same(cast(dtypes.to_fp32(every, name), name), every)
    ints = np.array([2**24 + 1, -7], np.int32)
    assert dtypes.to_fp32(ints, "int32").tolist() == [2**24, -7]
    with pytest.raises(DTypeError, match="not bf16"):
        dtypes.to_fp32(np.zeros(2, np.float32), "bf16")
    with pytest.raises(DTypeError, match="unpack_q8_0"):
        dtypes.to_fp32(np.zeros(34, np.uint8), "q8_0")


def test_cast_rejects_quant_and_foreign_types():
    with pytest.raises(DTypeError, match="pack_q4_1"):
        cast(np.zeros(32, np.float32), "q4_1")
    with pytest.raises(DTypeError, match="uint8"):
        cast(np.zeros(4, np.uint8), "fp32")


# --- scalar encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name", "encoded"),
    [
        (1.5, "bf16", "c03f"),
        (1.0, "fp16", "003c"),
        (448, "fp8e4m3", "7e"),
        (-57344.0, "fp8e5m2", "fb"),
        (1.0, "fp32", "0000803f"),
        (float("inf"), "bf16", "807f"),
        (-1, "int8", "ff"),
        (-2, "int32", "feffffff"),
        (1 + 2**-8 + 2**-30, "bf16", "813f"),
    ],
)
def test_scalar_bytes(value, name, encoded):
    assert dtypes.scalar_bytes(value, name).hex() == encoded


@pytest.mark.parametrize(
    ("value", "name", "message"),
    [
        (1000.0, "fp8e4m3", "not representable"),
        (float("inf"), "fp8e4m3", "not representable"),
        (1e39, "bf16", "not representable"),
        (10**400, "fp32", "overflows"),
        (128, "int8", "range"),
        (1.5, "int32", "integer"),
        (1.0, "q8_0", "blocks"),
    ],
)
def test_scalar_bytes_errors(value, name, message):
    with pytest.raises(DTypeError, match=message):
        dtypes.scalar_bytes(value, name)


# --- GGUF block layouts -------------------------------------------------------------------

QUANTS = [
    ("q8_0", GGMLQuantizationType.Q8_0, dtypes.pack_q8_0, dtypes.unpack_q8_0),
    ("q4_1", GGMLQuantizationType.Q4_1, dtypes.pack_q4_1, dtypes.unpack_q4_1),
]
QUANT_ARGS = ("name", "qtype", "pack", "unpack")
QUANT_PARAMS = [pytest.param(*quant, id=quant[0]) for quant in QUANTS]
SHAPES = [(32,), (1, 32), (8, 256), (3, 4, 64), (130, 96)]


def sample(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-4, 3, size=(*shape[:-1], 1))
    x = x.astype(np.float32)
    x.reshape(-1)[:32] = 0.25  # a constant block: d = 0
    return x


@pytest.mark.parametrize(QUANT_ARGS, QUANT_PARAMS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_quant_matches_gguf(name, qtype, pack, unpack, shape):
    x = sample(shape, seed=len(shape) * 1000 + shape[-1])
    ours, theirs = pack(x), quantize(x, qtype)
    assert ours.dtype == np.uint8 and ours.shape == (*shape[:-1], dtypes.row_bytes(name, shape[-1]))
    assert np.array_equal(ours, theirs)
    assert np.array_equal(bits(unpack(ours)), bits(dequantize(theirs, qtype)))


# Zero or 1e-30 <= |x| <= 1e30: outside it gguf converts Inf/NaN to integers (undefined).
WELL_SCALED = st.floats(float(np.float32(1e-30)), float(np.float32(1e30)), width=32).flatmap(
    lambda v: st.sampled_from([v, -v, np.float32(0)])
)


@settings(max_examples=200)
@given(
    st.sampled_from(QUANTS),
    hnp.arrays(np.float32, st.sampled_from([(32,), (2, 64)]), elements=WELL_SCALED),
)
def test_quant_matches_gguf_on_generated_data(quant, x):
    _, qtype, pack, unpack = quant
    with np.errstate(all="ignore"):  # gguf warns on the NaN that an fp16 Inf scale decodes to
        theirs = quantize(x, qtype)
        reference = dequantize(theirs, qtype)
    assert np.array_equal(pack(x), theirs)
    assert same(unpack(theirs), reference)


@settings(max_examples=100)
@given(st.sampled_from(QUANTS), st.integers(1, 4), st.randoms(use_true_random=False))
def test_dequant_of_arbitrary_bytes_matches_gguf(quant, blocks, rnd):
    name, qtype, _, unpack = quant
    data = np.frombuffer(rnd.randbytes(blocks * dtypes.row_bytes(name, 32)), np.uint8)
    with np.errstate(all="ignore"):
        assert same(unpack(data), dequantize(data, qtype))


def test_q8_0_layout_by_hand():
    block = np.concatenate(
        [np.array([1.0], "<f2").view(np.uint8), np.arange(-16, 16, dtype=np.int8).view(np.uint8)]
    )
    assert dtypes.unpack_q8_0(block).tolist() == list(range(-16, 16))
    x = np.arange(-16, 16, dtype=np.float32) * np.float32(127 / 16)  # max |x| = 127 -> d = 1
    packed = dtypes.pack_q8_0(x)
    assert packed[:2].view("<f2")[0] == 1.0 and packed[2:].view(np.int8)[[0, 1]].tolist() == [
        -127,
        -119,
    ]


def test_q8_0_rounds_half_away_from_zero():
    # max |x| = 127 makes d = 1 and 1/d = 1, so q = round(x) exactly.
    x = np.zeros(32, np.float32)
    x[:7] = [127, np.nextafter(np.float32(0.5), np.float32(0)), 0.5, 2.5, -2.5, -1.5, 126.5]
    q = dtypes.pack_q8_0(x)[2:].view(np.int8)
    assert q[:7].tolist() == [127, 0, 1, 3, -3, -2, 127]
    assert np.array_equal(dtypes.pack_q8_0(x), quantize(x, GGMLQuantizationType.Q8_0))


def test_q4_1_layout_by_hand():
    j = np.arange(16, dtype=np.uint8)
    block = np.concatenate([np.array([2.0, -1.0], "<f2").view(np.uint8), j | (15 - j) << 4])
    expected = [2 * q - 1 for q in [*range(16), *range(15, -1, -1)]]
    assert dtypes.unpack_q4_1(block).tolist() == expected
    assert np.array_equal(dtypes.pack_q4_1(np.array(expected, np.float32)), block)


@pytest.mark.parametrize(QUANT_ARGS, QUANT_PARAMS)
@pytest.mark.parametrize("values", [(0.0, 1e-40), (5e-45, 5e-45), (-3e38, 3e38)], ids=str)
def test_quant_extreme_scales_give_zero_q(name, qtype, pack, unpack, values):
    # 1/d overflows (or, for Q4_1 only, max - min does): every q is 0, deterministically.
    x = np.resize(np.array(values, np.float32), 32)
    with np.errstate(all="ignore"):
        packed = pack(x)
        assert same(unpack(packed), dequantize(packed, qtype))
    if name == "q4_1" or values[1] < 1:
        assert not packed[4 if name == "q4_1" else 2 :].any()


@pytest.mark.parametrize(QUANT_ARGS, QUANT_PARAMS)
def test_quant_errors(name, qtype, pack, unpack):
    with pytest.raises(DTypeError, match="multiple of 32"):
        pack(np.zeros(48, np.float32))
    with pytest.raises(DTypeError, match="NaN"):
        pack(np.full(32, np.nan, np.float32))
    with pytest.raises(DTypeError, match=name):
        unpack(np.zeros(dtypes.row_bytes(name, 32) + 1, np.uint8))
    with pytest.raises(DTypeError, match="uint8"):
        unpack(np.zeros(dtypes.row_bytes(name, 32), np.int8))
    assert unpack(pack(np.zeros((0, 64), np.float32))).shape == (0, 64)

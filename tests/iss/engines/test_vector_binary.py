"""Vector binary operations: every op in all five broadcast forms against an independent
reference (float64 / int64 arithmetic, rounded or wrapped once), over random dtypes, shapes,
memories, strides and aliasing."""

from __future__ import annotations

import numpy as np
import pytest
from engine_rig import FLOATS, PLAIN, Rig, random_values, same
from hypothesis import given, settings
from hypothesis import strategies as st

import isa
from isa import dtypes
from iss.engines import vector

FORMS = ("", ".row", ".col", ".s", ".x")
INTS = ("int8", "int32")
INT_ONLY = {"and", "or", "xor", "shl", "shr"}


def wrap32(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def round_int(v: int, bits: int) -> int:
    """Round a Python int to `bits` significant bits, ties to even, in exact arithmetic."""
    sign, m = (-1 if v < 0 else 1), abs(v)
    if m >= 1 << bits:
        shift = m.bit_length() - bits
        q, r = divmod(m, 1 << shift)
        half = 1 << (shift - 1)
        if r > half or (r == half and q & 1):
            q += 1
        m = q << shift
    return sign * m


def int_to_f32(v: int) -> np.float32:
    """The fp32 nearest to a Python int (ties to even)."""
    return np.float32(float(round_int(v, 24)))


def reference(name: str, a: np.ndarray, b: np.ndarray, in_fp32: bool) -> np.ndarray:
    """a OP b in the compute domain: fp32 results via float64, int32 via int64 and a wrap."""
    if in_fp32:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        nan = np.isnan(a64) | np.isnan(b64)
        with np.errstate(all="ignore"):
            arithmetic = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
            if name in arithmetic:
                return arithmetic[name](a64, b64).astype(np.float32)  # one rounding
            if name in ("max", "min"):
                pick = a64 > b64 if name == "max" else a64 < b64
                return np.where(nan, np.nan, np.where(pick, a64, b64)).astype(np.float32)
    else:
        a64, b64 = a.astype(np.int64), b.astype(np.int64)
        ints = {
            "add": a64 + b64, "sub": a64 - b64, "mul": a64 * b64,
            "max": np.where(a64 > b64, a64, b64), "min": np.where(a64 < b64, a64, b64),
            "and": a64 & b64, "or": a64 | b64, "xor": a64 ^ b64,
            "shl": a64 << (b64 & 31), "shr": a64 >> (b64 & 31),
        }  # fmt: skip
        if name in ints:
            return wrap32(ints[name])
    compares = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                "gt": np.greater, "ge": np.greater_equal}  # fmt: skip
    return compares[name](a64, b64).astype(np.int32)


def domain_value(x: np.ndarray, name: str, in_fp32: bool) -> np.ndarray:
    """A source tile's values in the compute domain (int32 -> fp32 rounds once, via float64)."""
    if in_fp32:
        return x.astype(np.float64).astype(np.float32)
    return x.astype(np.int32)


# every (op, form) pair the table has: integer-only ops have no fp32-scalar `.s` form
PAIRS = [(name, form) for name in vector.BINARY for form in FORMS
         if f"v{name}{form}" in isa.BY_MNEMONIC]  # fmt: skip


@pytest.mark.parametrize(("name", "form"), PAIRS)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_binary_op_matches_reference(name, form, data):
    rig = Rig()
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows = data.draw(st.sampled_from([1, 2, 7, 127, 128]))
    cols = data.draw(st.sampled_from([1, 3, 16, 33]))
    pick_ints = data.draw(st.booleans()) or (name in INT_ONLY and data.draw(st.booleans()))
    a_t = data.draw(st.sampled_from(INTS if pick_ints else PLAIN))
    b_t = data.draw(st.sampled_from(INTS if pick_ints else PLAIN))
    alias = data.draw(st.booleans())
    d_t = a_t if alias else data.draw(st.sampled_from(PLAIN))
    memory = data.draw(st.sampled_from(["sram", "acc"]))
    pad = data.draw(st.sampled_from([0, 4, 12]))

    a = random_values(rng, (rows, cols), a_t)
    rig.put(1, a, a_t, memory, pad)
    fields = {"dd": 1 if alias else 3, "da": 1}
    if form in ("", ".row", ".col"):
        b_shape = {"": (rows, cols), ".row": (1, cols), ".col": (rows, 1)}[form]
        b = random_values(rng, b_shape, b_t)
        rig.put(2, b, b_t, data.draw(st.sampled_from(["sram", "acc"])))
        fields["db"] = 2
        in_fp32 = a_t in FLOATS or b_t in FLOATS
    elif form == ".s":
        b = random_values(rng, (1, 1), "fp32")
        rig.set_f(4, b[0, 0])
        fields["fs"] = 4
        in_fp32 = True
    else:
        value = data.draw(st.one_of(st.integers(-300, 300), st.integers(-(2**63), 2**63 - 1)))
        rig.set_x(5, value)
        fields["rs"] = 5
        in_fp32 = a_t in FLOATS
        b = np.array([[int_to_f32(value)]]) if in_fp32 else np.array([[value]], np.int64)
    if not alias:
        rig.place(3, (rows, cols), d_t, data.draw(st.sampled_from(["sram", "acc"])), pad)

    only = vector.DOMAIN_ONLY.get(name)
    if only is not None and (only == "float") != in_fp32:
        rig.trap("bad_dtype", f"v{name}{form}", **fields)
        return
    op = rig.run(f"v{name}{form}", **fields)
    b_value = wrap32(b) if form == ".x" and not in_fp32 else domain_value(b, b_t, in_fp32)
    result = reference(name, domain_value(a, a_t, in_fp32), b_value, in_fp32)
    expected = dtypes.cast(np.broadcast_to(result, (rows, cols)), dtypes.by_name(d_t))
    assert same(rig.get(fields["dd"]), expected)
    assert op.work == rows * cols


@pytest.mark.parametrize(
    ("name", "a", "b", "expected"),
    [
        ("max", -0.0, 0.0, 0.0),  # equal values give b
        ("max", 0.0, -0.0, -0.0),
        ("min", -0.0, 0.0, 0.0),
        ("min", 0.0, -0.0, -0.0),
        ("max", np.nan, 1.0, np.nan),
        ("max", 1.0, np.nan, np.nan),
        ("min", np.nan, -np.inf, np.nan),
        ("min", -np.inf, np.nan, np.nan),
        ("eq", np.nan, np.nan, 0.0),
        ("ne", np.nan, np.nan, 1.0),
        ("lt", np.nan, 1.0, 0.0),
        ("ge", np.nan, 1.0, 0.0),
        ("eq", -0.0, 0.0, 1.0),
        ("div", 1.0, -0.0, -np.inf),
        ("div", 0.0, 0.0, np.nan),
    ],
)
def test_float_edge_cases(rig, name, a, b, expected):
    rig.put(1, np.array([[a]], np.float32), "fp32")
    rig.put(2, np.array([[b]], np.float32), "fp32")
    rig.place(3, (1, 1), "fp32")
    rig.run(f"v{name}", dd=3, da=1, db=2)
    assert same(rig.get(3), np.array([[expected]], np.float32))


def test_int32_wraps_and_int8_destination_saturates(rig):
    big = np.array([[2**31 - 1, -(2**31), 100_000, 7]], np.int32)
    rig.put(1, big, "int32")
    rig.put(2, np.array([[1, -1, 100_000, -2]], np.int32), "int32")
    rig.place(3, (1, 4), "int32")
    rig.place(4, (1, 4), "int8")
    rig.run("vadd", dd=3, da=1, db=2)
    assert rig.get(3).tolist() == [[-(2**31), 2**31 - 1, 200_000, 5]]
    rig.run("vmul", dd=3, da=1, db=2)
    assert rig.get(3).tolist() == [[2**31 - 1, -(2**31), 1_410_065_408, -14]]
    rig.run("vadd", dd=4, da=1, db=2)  # int32 result saturates into int8
    assert rig.get(4).tolist() == [[-128, 127, 127, 5]]
    rig.set_x(5, 33)  # shifts use b & 31
    rig.run("vshl.x", dd=3, da=1, rs=5)
    assert rig.get(3).tolist() == [[-2, 0, 200_000, 14]]
    rig.run("vshr.x", dd=3, da=1, rs=5)
    assert rig.get(3).tolist() == [[2**30 - 1, -(2**30), 50_000, 3]]


def test_x_scalar_wraps_to_int32_or_rounds_once_to_fp32(rig):
    rig.put(1, np.zeros((1, 1), np.int32), "int32")
    rig.put(2, np.zeros((1, 1), np.float32), "fp32")
    rig.place(3, (1, 1), "int32")
    rig.place(4, (1, 1), "fp32")
    rig.set_x(5, 2**32 + 5)
    rig.run("vadd.x", dd=3, da=1, rs=5)
    assert rig.get(3)[0, 0] == 5
    # 2**60 + 2**36 + 1 is just above an fp32 tie: one rounding goes up, float64 first would not
    rig.set_x(5, 2**60 + 2**36 + 1)
    rig.run("vadd.x", dd=4, da=2, rs=5)
    assert rig.get(4)[0, 0] == np.float32(2**60 + 2**37)


def test_row_and_col_broadcast_shapes_are_checked(rig):
    rig.put(1, np.ones((4, 8), np.float32), "fp32")
    rig.put(2, np.ones((4, 8), np.float32), "fp32")
    rig.place(3, (4, 8), "fp32")
    for form in (".row", ".col"):
        trap = rig.trap("shape_mismatch", f"vadd{form}", dd=3, da=1, db=2)
        assert "db is 4x8" in trap.reason
    rig.put(2, np.ones((1, 8), np.float32), "fp32")
    rig.trap("shape_mismatch", "vadd", dd=3, da=1, db=2)
    rig.trap("shape_mismatch", "vadd.col", dd=3, da=1, db=2)
    rig.run("vadd.row", dd=3, da=1, db=2)
    rig.place(3, (4, 7), "fp32")
    rig.trap("shape_mismatch", "vadd.row", dd=3, da=1, db=2)

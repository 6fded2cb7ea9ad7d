"""Activation unit: every function in all four forms against references evaluated with the
math module in float64, the fused scale/bias roundings, row sums, erf's accuracy, traps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine_rig import FLOATS, PLAIN, Rig, bits, random_values, same
from hypothesis import given, settings
from hypothesis import strategies as st

from isa import dtypes
from iss.engines import activation
from iss.engines.special import erf, erfc


def _exp(t: float) -> float:
    try:
        return math.exp(t)
    except OverflowError:
        return math.inf


def _log(t: float) -> float:
    if t != t or t < 0:
        return math.nan
    return -math.inf if t == 0 else math.log(t)


def _sqrt(t: float) -> float:
    return math.nan if t < 0 else math.sqrt(t)


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def _gelu_tanh(t: float) -> float:
    inner = math.sqrt(2 / math.pi) * (t + 0.044715 * (t * t * t))
    return _divide(t, 1 + _exp(-2 * inner))  # t/2 * (1 + tanh(inner)), without cancellation


def _gelu(t: float) -> float:
    return t / 2 * math.erfc(-t / math.sqrt(2))  # t/2 * (1 + erf(t/sqrt2)), without cancellation


#: the table's formulas, evaluated one element at a time with the math module
REFERENCE = {
    "copy": lambda t: t,
    "exp": _exp,
    "log": _log,
    "tanh": math.tanh,
    "sigmoid": lambda t: _divide(1.0, 1 + _exp(-t)),
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "silu": lambda t: _divide(t, 1 + _exp(-t)),
    "rsqrt": lambda t: _divide(1.0, _sqrt(t)),
    "recip": lambda t: _divide(1.0, t),
    "sqrt": _sqrt,
    "square": lambda t: t * t,
    "relu": lambda t: t if t > 0 or t != t else 0.0,
}
FORMS = ("", ".sum", ".col", ".col.sum")


def affine(s: np.ndarray, scale: np.float32, bias: np.ndarray) -> np.ndarray:
    """fp32(fp32(scale * s) + bias): float64 holds each exact result, then one fp32 rounding."""
    s32 = s.astype(np.float64).astype(np.float32)
    with np.errstate(all="ignore"):
        product = (s32.astype(np.float64) * float(scale)).astype(np.float32)
        return (product.astype(np.float64) + bias.astype(np.float64)).astype(np.float32)


def reference(name: str, t: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.array([REFERENCE[name](float(v)) for v in t.ravel()]).astype(np.float32)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in fp32 steps between finite fp32 values (0 for two NaNs)."""

    def ordered(x):
        i = x.astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(2**31) - i, i)

    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0, np.abs(ordered(a) - ordered(b)))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", list(activation.FUNCTIONS))
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_function_matches_math_reference(name, form, data):
    rig = Rig()
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows = data.draw(st.sampled_from([1, 3, 128]))
    cols = data.draw(st.sampled_from([1, 8, 17]))
    s_t = data.draw(st.sampled_from(PLAIN))
    d_t = data.draw(st.sampled_from(("fp32", "fp32", "bf16", "fp16", "int32")))
    s = random_values(rng, (rows, cols), s_t)
    scale = random_values(rng, (1, 1), "fp32", special=False)[0, 0]
    rig.put(1, s, s_t, data.draw(st.sampled_from(["sram", "acc"])), pad=4)
    rig.place(2, (rows, cols), d_t)
    rig.set_f(3, scale)
    fields = {"dd": 2, "ds": 1, "fscale": 3}
    if form.startswith(".col"):
        b_t = data.draw(st.sampled_from(FLOATS))
        bias = random_values(rng, (rows, 1), b_t, special=False)
        rig.put(4, bias, b_t, "acc")
        fields["dbias"] = 4
    else:
        bias = random_values(rng, (1, 1), "fp32", special=False)
        rig.set_f(5, bias[0, 0])
        fields["fbias"] = 5
    sum_t = data.draw(st.sampled_from(("fp32", "bf16")))
    if form.endswith(".sum"):
        rig.place(6, (rows, 1), sum_t, "acc")
        fields["dsum"] = 6
    op = rig.run(f"act.{name}{form}", **fields)

    y = reference(name, affine(s, scale, bias.astype(np.float32))).reshape(rows, cols)
    got, want = rig.get(2), dtypes.cast(y, d_t)
    exact = same(got, want)
    if not exact:  # float64 libraries may differ in the last bit: one fp32 step at most
        assert ulp_distance(got.astype(np.float32), want.astype(np.float32)).max() <= 1
    if form.endswith(".sum"):
        with np.errstate(all="ignore"):
            sums = np.sum(y, axis=1, dtype=np.float32)
        if exact:
            assert same(rig.get(6)[:, 0], dtypes.cast(sums, sum_t))
    assert op.work == rows * cols


def test_scale_and_bias_round_twice_in_fp32(rig):
    # scale * s = 1 + 2**-23 + 2**-24 exactly (a tie): fp32 rounds it to 1 + 2**-22; adding
    # bias -1 gives 2**-22. A fused multiply-add would give 1.5 * 2**-23 instead.
    s = np.array([[1 + 2**-23]], np.float32)
    rig.put(1, s, "fp32")
    rig.place(2, (1, 1), "fp32")
    rig.set_f(3, 1 + 2**-23)
    rig.set_f(4, -1.0)
    rig.run("act.copy", dd=2, ds=1, fscale=3, fbias=4)
    assert rig.get(2)[0, 0] == np.float32(2**-22)


@pytest.mark.parametrize(
    ("name", "t", "y"),
    [
        ("exp", 100.0, math.inf), ("exp", -math.inf, 0.0), ("log", 0.0, -math.inf),
        ("log", -1.0, math.nan), ("log", -0.0, -math.inf), ("rsqrt", 0.0, math.inf),
        ("rsqrt", -4.0, math.nan), ("recip", -0.0, -math.inf), ("sqrt", -1.0, math.nan),
        ("relu", -0.0, 0.0), ("relu", math.nan, math.nan), ("relu", -3.0, 0.0),
        ("sigmoid", -1000.0, 0.0), ("sigmoid", 1000.0, 1.0), ("silu", -1000.0, -0.0),
        ("gelu", 30.0, 30.0), ("gelu", -30.0, -0.0), ("gelu", math.inf, math.inf),
        ("gelu", -math.inf, math.nan), ("gelu_tanh", -math.inf, math.nan),
        ("silu", -math.inf, math.nan), ("tanh", -math.inf, -1.0), ("square", 1e20, math.inf),
    ],
)  # fmt: skip
def test_edge_cases(rig, name, t, y):
    rig.put(1, np.array([[t]], np.float32), "fp32")
    rig.place(2, (1, 1), "fp32")
    rig.set_f(3, 1.0)
    rig.set_f(4, -0.0)  # t = s exactly, -0 included
    rig.run(f"act.{name}", dd=2, ds=1, fscale=3, fbias=4)
    assert same(rig.get(2), np.array([[y]], np.float32))


def test_row_sum_is_numpy_pairwise_fp32_sum_of_y(rig):
    x = np.random.default_rng(3).standard_normal((4, 1000)).astype(np.float32)
    rig.put(1, x, "fp32")
    rig.place(2, (4, 1000), "bf16")  # dd rounds further; the sum must use the fp32 y
    rig.place(3, (4, 1), "fp32")
    rig.set_f(4, 0.5)
    rig.run("act.exp.sum", dd=2, ds=1, fscale=4, fbias=0, dsum=3)
    y = np.exp((x * np.float32(0.5)).astype(np.float64)).astype(np.float32)
    assert bits(rig.get(3)[:, 0]).tolist() == bits(np.sum(y, axis=1, dtype=np.float32)).tolist()
    assert not np.array_equal(rig.get(3)[:, 0], rig.get(2).astype(np.float32).sum(axis=1))


def test_in_place_softmax_numerator_with_column_bias(rig):
    x = np.random.default_rng(4).standard_normal((8, 64)).astype(np.float32)
    rig.put(1, x, "fp32")
    rig.put(2, -x.max(axis=1, keepdims=True), "fp32")
    rig.place(3, (8, 1), "fp32")
    rig.set_f(4, 1.0)
    op = rig.run("act.exp.col.sum", dd=1, ds=1, fscale=4, dbias=2, dsum=3)
    e = np.exp((x - x.max(axis=1, keepdims=True)).astype(np.float64)).astype(np.float32)
    assert same(rig.get(1), e)
    assert [a.write for a in op.accesses] == [False, False, True, True]


def test_erf_matches_math_erf():
    rng = np.random.default_rng(5)
    x = np.concatenate([
        rng.normal(0, 2, 200_000), rng.uniform(-7, 7, 200_000), rng.uniform(1.9, 2.1, 50_000),
        np.exp(rng.uniform(-700, 0, 50_000)) * rng.choice([-1, 1], 50_000),
        [0.0, -0.0, 2.0, -2.0, 6.0, 27.0, 1e300, np.inf, -np.inf, 5e-324],
    ])  # fmt: skip
    want = np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)
    got = erf(x)
    steps = np.abs(got - want) / np.spacing(np.abs(want))
    assert steps.max() <= 8  # float64 ulps; measured maximum 5
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert np.isnan(erf(np.array([np.nan])))[0]


def test_erfc_keeps_relative_accuracy_in_the_tail():
    x = np.concatenate([np.random.default_rng(12).uniform(2, 26.5, 100_000), [2.0, 26.0]])
    want = np.frompyfunc(math.erfc, 1, 1)(x).astype(np.float64)
    assert (np.abs(erfc(x) - want) / np.spacing(want)).max() <= 16  # measured maximum 7
    x = np.random.default_rng(13).uniform(-6, 2, 100_000)
    want = np.frompyfunc(math.erfc, 1, 1)(x).astype(np.float64)
    assert (np.abs(erfc(x) / want - 1)).max() <= 2.0**-42
    assert erfc(np.array([np.inf, -np.inf, 28.0])).tolist() == [0.0, 2.0, 0.0]
    assert np.isnan(erfc(np.array([np.nan])))[0]


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh"])
def test_gelu_matches_math_reference_in_fp32(name):
    t = np.concatenate([
        np.random.default_rng(6).normal(0, 3, 200_000), np.linspace(-40, 12, 100_001),
    ]).astype(np.float32)  # fmt: skip
    with np.errstate(all="ignore"):
        got = activation.FUNCTIONS[name](t.astype(np.float64)).astype(np.float32)
    want = reference(name, t)
    assert np.mean(got == want) >= 0.999
    assert ulp_distance(got, want).max() <= 1
    if name == "gelu":  # the formula as written agrees where float64 does not cancel
        literal = np.array([v / 2 * (1 + math.erf(v / math.sqrt(2))) for v in t.astype(float)])
        near = t > -4  # 1 + erf(z) > 6e-5: float64's absolute error stays far below fp32's
        assert np.mean(got[near] == literal[near].astype(np.float32)) >= 0.999
        assert ulp_distance(got[near], literal[near].astype(np.float32)).max() <= 1


def test_gelu_tails_keep_their_tiny_values():
    t = np.array([-10.0, -12.0, -8.0])
    got = activation.FUNCTIONS["gelu"](t).astype(np.float32)
    want = np.array([v / 2 * math.erfc(-v / math.sqrt(2)) for v in t], np.float32)
    assert np.array_equal(got, want) and (got < 0).all()  # 1 + erf(z) would give -0


def test_activation_traps(rig):
    rig.put(1, np.ones((4, 32), np.float32), "fp32")
    rig.place(2, (4, 32), "fp32")
    rig.place(3, (4, 32), "q4_1")
    rig.trap("bad_dtype", "act.exp", dd=2, ds=3, fscale=0, fbias=0)
    rig.trap("bad_dtype", "act.exp", dd=3, ds=1, fscale=0, fbias=0)
    rig.place(4, (4, 1), "fp32")
    rig.place(5, (5, 1), "fp32")
    rig.trap("shape_mismatch", "act.exp.col", dd=2, ds=1, fscale=0, dbias=5)
    rig.trap("shape_mismatch", "act.exp.sum", dd=2, ds=1, fscale=0, fbias=0, dsum=5)
    rig.trap("shape_mismatch", "act.exp.col.sum", dd=2, ds=1, fscale=0, dbias=4, dsum=2)
    rig.place(6, (4, 31), "fp32")
    rig.trap("shape_mismatch", "act.exp", dd=6, ds=1, fscale=0, fbias=0)
    rig.put(7, np.ones((4, 32), np.float32), "fp32", "dram")
    rig.trap("bad_memory", "act.relu", dd=2, ds=7, fscale=0, fbias=0)
    rig.put(8, np.ones((129, 1), np.float32), "fp32")
    rig.place(9, (129, 1), "fp32")
    rig.trap("tile_too_large", "act.relu", dd=9, ds=8, fscale=0, fbias=0)
    rig.state.D[10] = rig.state.D[1]._replace(stride=130)
    rig.trap("misaligned", "act.relu", dd=2, ds=10, fscale=0, fbias=0)
    rig.state.D[11] = rig.state.D[1]._replace(base=0x3_0000_0000)
    rig.trap("out_of_bounds", "act.relu", dd=2, ds=11, fscale=0, fbias=0)

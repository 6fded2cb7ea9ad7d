"""jdb's expression language on a real program: values, memory views, tensors, tiles,
assignment, completion, and one-line errors for everything else."""

from __future__ import annotations

import operator

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from debugger.expr import Evaluator, ExprError, parse
from isa import dtypes
from isa.memmap import SRAM_BASE
from iss.runtime import Simulator

SOURCE = """\
        .input  x, fp32, (4, 8)
        .output y, bf16, (4, 8)
        .weight w, q8_0, (2, 32)
        .equ    K, 42
        .data
vals:   .word   1, 2, 3, -4
        .section .sram
buf:    .space  4 * 8 * 4
        .text
_start: li      t0, x
        tset    d0, t0, 4, 8, fp32      ; x in DRAM
        li      t0, buf
        tset    d1, t0, 4, 8, fp32      ; its copy in SRAM
        li      t0, y
        tset    d2, t0, 4, 8, bf16
        fli     f1, 2.5
        li      a1, -7
        seminit sem4, 3
        dma.copy d1, d0
        barrier
        li      a0, 0
        halt
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Simulator:
    path = tmp_path_factory.mktemp("expr") / "prog.jasm"
    path.write_text(SOURCE)
    sim = Simulator.from_source([path], machine="j1-mini")
    sim.bind("x", np.arange(32, dtype=np.float32).reshape(4, 8))
    weights = np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32)
    sim.bind("w", dtypes.pack_q8_0(weights))
    sim.run()
    return sim


@pytest.fixture
def ev(sim) -> Evaluator:
    return Evaluator(sim.state, sim.program)


def fresh(tmp_path) -> Evaluator:
    """An evaluator over a program of its own, for tests that write to it."""
    path = tmp_path / "prog.jasm"
    path.write_text(SOURCE)
    sim = Simulator.from_source([path], machine="j1-mini")
    sim.bind("x", np.arange(32, dtype=np.float32).reshape(4, 8))
    sim.run()
    return Evaluator(sim.state, sim.program)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("0x10 >> 1 | 0b1", 9),
        ("1 << 3 + 1", 16),  # + binds tighter than <<, as in C
        ("6 & 3 == 3", 0),  # == binds tighter than &, as in C
        ("-7 // 2", -4),
        ("-7 % 3", 2),
        ("7 / 2", 3.5),
        ("~0", -1),
        ("1_000 + 0o17", 1015),
        ("1.5e3", 1500.0),
        ("!(1 == 2) && 3 > 2", True),
        ("0 || 2 < 1", False),
        ("a1", -7),
        ("x11", -7),
        ("zero", 0),
        ("sem4", 3),
        ("K", 42),
        ("K * 2 + a1", 77),
        ("mem[vals].int32", 1),
        ("dram[vals + 12].int32", -4),
        ("d1.rows * d1.cols", 32),
        ("d2.dtype", "bf16"),
        ("&sram[4]", SRAM_BASE + 4),
        ("$instret == instret", True),
    ],
)
def test_scalar_values(ev, text, expected):
    value = ev.evaluate(text)
    assert value == expected
    assert type(value) is not bool or type(expected) is bool


def test_registers_and_program_counter(ev, sim):
    assert ev.evaluate("f1") == np.float32(2.5)
    assert isinstance(ev.evaluate("f1"), np.float32)
    assert ev.evaluate("pc") == sim.state.pc
    assert ev.evaluate("sp") == ev.evaluate("x2")
    assert ev.evaluate("d1") == sim.state.D[1]
    assert ev.evaluate("vals") == sim.program.symbol("vals").value


def test_io_tensors_have_their_dtype_and_shape(ev, sim):
    x = ev.evaluate("x")
    assert x.dtype == np.float32 and x.shape == (4, 8)
    np.testing.assert_array_equal(x, np.arange(32).reshape(4, 8))
    y = ev.evaluate("y")
    assert y.dtype == ml_dtypes.bfloat16 and y.shape == (4, 8)
    w = ev.evaluate("w")  # q8_0: dequantised
    assert w.dtype == np.float32 and w.shape == (2, 32)
    np.testing.assert_allclose(w, np.linspace(-1, 1, 64).reshape(2, 32), atol=0.01)
    assert ev.evaluate("&x") == sim.io["x"].address
    assert ev.evaluate("x.sum()") == 496
    assert ev.evaluate("x[1, 2]") == 10
    np.testing.assert_array_equal(ev.evaluate("x[1:3, 2]"), [10, 18])
    np.testing.assert_array_equal(ev.evaluate("x.T[0]"), [0, 8, 16, 24])
    np.testing.assert_array_equal(ev.evaluate("x[0][:+3]"), [0, 1, 2])


def test_memory_views(ev):
    np.testing.assert_array_equal(ev.evaluate("mem[vals:+16].int32"), [1, 2, 3, -4])
    np.testing.assert_array_equal(ev.evaluate("dram[vals:vals + 8].int32"), [1, 2])
    raw = ev.evaluate("dram[vals:+4]")
    assert raw.dtype == np.uint8 and list(raw) == [1, 0, 0, 0]
    assert ev.evaluate("dram[vals:+4].u8").tolist() == [1, 0, 0, 0]
    # sram offsets and sram addresses (labels) name the same bytes
    a = ev.evaluate("sram[0:+128].fp32.reshape(4, 8)")
    b = ev.evaluate("sram[buf:+128].fp32.reshape(4,8)")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.arange(32).reshape(4, 8))  # the DMA copy landed
    np.testing.assert_array_equal(ev.evaluate("mem[buf:+16].fp32"), [0, 1, 2, 3])
    np.testing.assert_array_equal(ev.evaluate("sram[:16].fp32"), [0, 1, 2, 3])
    view = ev.evaluate("sram[0x100:+512].bf16.reshape(8, 32)")
    assert view.shape == (8, 32) and view.dtype == ml_dtypes.bfloat16
    assert ev.evaluate("acc[0:+8].int32").shape == (2,)
    assert ev.evaluate("sram[buf + 4].fp32") == 1.0


def test_reference_names_memory_without_reading_it(ev, sim):
    ref = ev.reference("sram[buf:+16].fp32")
    assert (ref.address, ref.nbytes, ref.single) == (SRAM_BASE, 16, False)
    assert ref.dtype is dtypes.by_name("fp32")
    one = ev.reference("mem[vals].int32")
    assert (one.address, one.nbytes, one.single) == (sim.program.symbol("vals").value, 4, True)
    assert ev.reference("x") is None and ev.reference("a0 + 1") is None
    with pytest.raises(ExprError, match="past the end"):
        ev.reference("sram[0xfffff:+16]")


def test_tiles(ev):
    d1 = ev.evaluate("d1")
    assert d1.describe().startswith("4x8 fp32 at 0x100000000")
    tile = ev.evaluate("*d1")
    assert tile.shape == (4, 8) and tile.dtype == np.float32
    np.testing.assert_array_equal(tile, ev.evaluate("tile(d0)"))
    np.testing.assert_array_equal(ev.evaluate("(*d1)[2]"), np.arange(16, 24))
    assert ev.evaluate("(*d1).max() > 30 && a1 < 0") is True
    assert ev.evaluate("tile(d2)").dtype == ml_dtypes.bfloat16


def test_conversions_round_to_nearest_even(ev):
    assert ev.evaluate("(1 + 1/256).bf16") == 1.0  # a tie goes to the even neighbour
    assert ev.evaluate("(1 + 3/256).bf16") == np.float32(1 + 4 / 256)
    assert ev.evaluate("x.bf16").dtype == ml_dtypes.bfloat16
    assert ev.evaluate("1000.fp8e4m3") != ev.evaluate("1000.fp8e4m3")  # overflow -> NaN
    assert ev.evaluate("300.int8") == 127  # float -> int saturates


def test_comparisons_are_elementwise_on_arrays(ev):
    mask = ev.evaluate("x > 30")
    assert mask.dtype == np.bool_ and mask.sum() == 1
    assert ev.evaluate("!(x > 30)").sum() == 31
    assert ev.truth("(x > 30).any()") is True
    assert ev.truth("a1 == -7") is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 +", "syntax error at column 4"),
        ("1 )", "syntax error at column 3"),
        ("a @ b", "unexpected character '@'"),
        ("", "empty expression"),
        ("foo", "unknown name 'foo'"),
        ("a9", "unknown name 'a9'"),
        ("sram[0xfffff:+16]", "run past the end of sram"),
        ("mem[0x5_0000_0000]", "in no memory"),
        ("x.reshape(5, 5)", "cannot reshape"),
        ("d1 + 1", "descriptor"),
        ("sram", "is a memory"),
        ("x && 1", "no single truth value"),
        ("tile(3)", "need a tile descriptor"),
        ("sram[0:+3].fp32", "not a whole number of fp32"),
        ("1 / 0", "division by zero"),
        ("1 << -1", "shift count"),
        ("x.nope", "no attribute"),
        ("x.nope()", "no method"),
        ("frob(1)", "unknown function"),
        ("x[9]", "out of bounds"),
        ("cycle", "timing model"),
        ("((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))", ""),
    ],
)
def test_errors_are_one_line(ev, text, message):
    if not message:  # deep nesting is fine, just not a crash
        assert ev.evaluate(text) == 1
        return
    with pytest.raises(ExprError) as info:
        ev.evaluate(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_syntax_error_caret():
    with pytest.raises(ExprError) as info:
        parse("sram[0x100:+]")
    error = info.value
    assert error.column == 13
    shown = error.show("sram[0x100:+]").splitlines()
    assert shown[2].index("^") == shown[1].index("]")


def test_csr_callback():
    ev = Evaluator(_state(), csr=lambda name: {"cycle": 1234}[name])
    assert ev.evaluate("cycle + 1") == 1235
    assert ev.evaluate("$cycle") == 1234


def test_convenience_variables(ev):
    ev2 = Evaluator(ev.state, ev.program, variables={"1": np.arange(3), "prev": 5})
    assert ev2.evaluate("$prev * 2") == 10
    assert ev2.evaluate("$1.sum()") == 3
    with pytest.raises(ExprError, match=r"\$nope"):
        ev2.evaluate("$nope")
    ev2.assign("$nope", "$prev + 1")
    assert ev2.evaluate("$nope") == 6 and ev2.variables["nope"] == 6


def test_assign_registers(tmp_path):
    ev = fresh(tmp_path)
    assert ev.assign("a2", "0x10") == 16
    assert ev.assign("a2", "-1") == -1
    assert ev.state.X[12] == (1 << 64) - 1  # stored as the 64-bit pattern
    assert ev.assign("f2", "1/3") == np.float32(1 / 3)
    assert ev.assign("f3", "f1") == np.float32(2.5)
    assert ev.assign("sem3", "2") == 2
    assert ev.assign("scratch", "5") == 5
    for target, message in [("x0", "hard-wired"), ("d1", "tset"), ("cycle", "read-only"),
                            ("1", "cannot assign"), ("a2 + 1", "cannot assign"),
                            ("sem3", "negative")]:  # fmt: skip
        with pytest.raises(ExprError, match=message):
            ev.assign(target, "-1" if target == "sem3" else "1")


def test_assign_memory_converts_with_rne(tmp_path):
    ev = fresh(tmp_path)
    ev.assign("sram[buf:+8].bf16", "1 + 1/256")  # tie: rounds to even, 1.0
    assert ev.evaluate("sram[buf:+4].u8").tolist() == [0x80, 0x3F, 0x80, 0x3F]
    ev.assign("sram[buf:+16].fp32", "x[1][:4] * 2")
    np.testing.assert_array_equal(ev.evaluate("sram[buf:+16].fp32"), [16, 18, 20, 22])
    ev.assign("mem[vals].int32", "99")
    assert ev.evaluate("mem[vals:+8].int32").tolist() == [99, 2]
    ev.assign("x[1, 2]", "-1.5")
    assert ev.evaluate("x[1, 2]") == -1.5
    ev.assign("y", "2.5")
    assert (ev.evaluate("y") == 2.5).all()
    ev.assign("(*d1).T[1]", "8")
    assert ev.evaluate("(*d1)[:, 1]").tolist() == [8, 8, 8, 8]
    ev.assign("tile(d1)[0, 2:4]", "5")
    assert ev.evaluate("sram[buf + 8:+8].fp32").tolist() == [5, 5]
    ev.assign("sram[buf:+128].fp32.reshape(4, 8)[3]", "3")
    assert ev.evaluate("(*d1)[3]").tolist() == [3] * 8
    ev.assign("sram[buf]", "255")
    assert ev.evaluate("sram[buf]") == 255
    with pytest.raises(ExprError, match=r"0\.\.255"):
        ev.assign("sram[buf:+4]", "300")
    with pytest.raises(ExprError, match="read-only"):
        ev.assign("mem[0x1000].int32", "1")  # .text
    with pytest.raises(ExprError, match=r"read-only \.weight w"):
        ev.assign("w", "0")
    with pytest.raises(ExprError, match="q8_0 memory is read-only"):
        ev.assign("sram[buf:+34].q8_0", "0")


def test_completion(ev):
    fragment, names = ev.complete("print sra")
    assert fragment == "sra" and names == ["sram"]
    assert "buf" in ev.complete("b")[1]
    assert {"bf16", "fp32", "u8", "reshape", "T"} <= set(ev.complete("sram[0:+4].")[1])
    assert ev.complete("sram[0:+4].bf")[1] == ["bf16"]
    assert ev.complete("d3.r")[1] == ["rows"]
    assert "$cycle" in ev.complete("$c")[1]
    assert {"x", "y", "w", "a0", "f31", "d31", "sem31"} <= set(ev.names())


def _state():
    from isa.machine import load_machine
    from iss.state import MachineState

    return MachineState(load_machine("j1-mini"))


# -- properties ---------------------------------------------------------------------------------

_OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "//": operator.floordiv,
    "%": operator.mod,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
}


@st.composite
def _arith(draw, depth=0):
    """(text, value) of a random integer expression, computed with Python's operators."""
    if depth >= 3 or draw(st.booleans()):
        n = draw(st.integers(-(1 << 70), 1 << 70))
        form = draw(st.sampled_from(["dec", "hex"]))
        text = str(abs(n)) if form == "dec" else hex(abs(n))
        return (f"(-{text})" if n < 0 else text), n
    op = draw(st.sampled_from([*_OPS, "<<", ">>", "~", "neg"]))
    left_text, left = draw(_arith(depth + 1))
    if op == "~":
        return f"~({left_text})", ~left
    if op == "neg":
        return f"-({left_text})", -left
    if op in ("<<", ">>"):
        count = draw(st.integers(0, 64))
        return f"({left_text}) {op} {count}", left << count if op == "<<" else left >> count
    right_text, right = draw(_arith(depth + 1))
    if op in ("//", "%") and right == 0:
        right_text, right = "7", 7
    return f"({left_text}) {op} ({right_text})", _OPS[op](left, right)


@settings(max_examples=150, deadline=None)
@given(_arith())
def test_integer_arithmetic_matches_python(case):
    text, expected = case
    assert Evaluator(_STATE).evaluate(text) == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_registers_read_as_signed_64_bit(value):
    ev = Evaluator(_STATE)
    ev.assign("t3", str(value))
    assert ev.evaluate("t3") == value
    assert ev.evaluate("t3 & 0xffff_ffff_ffff_ffff") == value % (1 << 64)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="x01a9f.+-*/%()[]:,&|!<>=~^ $sramdT", max_size=24))
def test_any_text_gives_a_value_or_an_expr_error(text):
    try:
        Evaluator(_STATE).evaluate(text)
    except ExprError as e:
        assert "\n" not in str(e)


_STATE = _state()

"""Property tests: every instruction encodes, decodes and disassembles consistently."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

import isa
from isa.pseudo import li_sequence, split_hi_lo
from isa.spec import Kind

MASK64 = (1 << 64) - 1


def field_values(f):
    lo = -(-f.lo_value // f.align)
    return st.integers(lo, f.hi_value // f.align).map(lambda v: v * f.align)


@st.composite
def instructions(draw):
    spec = draw(st.sampled_from(isa.INSTRUCTIONS))
    values = {f.name: draw(field_values(f)) for f in spec.fields}
    return spec, values


@settings(max_examples=3000, deadline=None)
@given(instructions(), st.integers(0, 1 << 40).map(lambda v: v * 8))
def test_decode_inverts_encode_and_disassembly_names_the_operands(case, pc):
    spec, values = case
    word = isa.encode(spec, values)
    inst = isa.decode(word)
    assert inst.spec is spec
    assert inst.as_dict() == values
    assert inst.word == word
    text = isa.disassemble(inst, pc)
    mnemonic, _, operands = text.partition(" ")
    resolved = isa.split_mnemonic(mnemonic)
    assert resolved is not None and resolved[0] is spec
    assert resolved[1] == {f.name for f in spec.flags if values[f.name]}
    expected = [isa.operand_text(f, values[f.name], pc) for f in spec.operands]
    assert re.findall(r"[^\s,()]+", operands) == expected


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, MASK64))
def test_decode_of_any_word_is_exact_or_an_error(word):
    try:
        inst = isa.decode(word)
    except isa.EncodingError:
        return
    assert inst.word == word  # no bits are dropped by a successful decode


def run_li(value):
    """Execute li_sequence with the ISA's semantics of addi and lui."""
    reg = 0
    for mnemonic, immediate in li_sequence(value):
        spec = isa.BY_MNEMONIC[mnemonic]
        field = spec.field("imm")
        assert field.fits(immediate), (mnemonic, immediate)
        reg = (reg + immediate) & MASK64 if mnemonic == "addi" else (immediate << 32) & MASK64
    return reg


@settings(max_examples=3000)
@given(
    st.one_of(
        st.integers(-(1 << 63), MASK64),
        st.sampled_from(
            [
                0,
                1,
                -1,
                2**31 - 1,
                2**31,
                -(2**31),
                -(2**31) - 1,
                2**32,
                2**63,
                MASK64,
                0x7FFF_FFFF_8000_0000,
            ]
        ),
    )
)
def test_li_reaches_every_64_bit_value_in_at_most_two_instructions(value):
    assert run_li(value) == value & MASK64
    assert len(li_sequence(value)) <= 2


def test_li_picks_the_shortest_sequence():
    assert [m for m, _ in li_sequence(5)] == ["addi"]
    assert [m for m, _ in li_sequence(-(2**31))] == ["addi"]
    assert [m for m, _ in li_sequence(1 << 32)] == ["lui"]
    assert [m for m, _ in li_sequence((1 << 32) + 1)] == ["lui", "addi"]


@given(st.integers(0, MASK64))
def test_hi_lo_split_recombines(value):
    hi, lo = split_hi_lo(value)
    assert 0 <= hi < 1 << 32 and -(1 << 31) <= lo < 1 << 31
    assert ((hi << 32) + lo) & MASK64 == value


def test_fimm_disassembles_to_a_literal_that_reads_back():
    spec = isa.BY_MNEMONIC["fli"]
    for bits, text in [
        (0x3F800000, "1.0"),
        (0x3DCCCCCD, "0.1"),
        (0x7F800000, "inf"),
        (0xFF800000, "-inf"),
        (0x7FC00000, "nan"),
        (0x00000001, "1e-45"),
    ]:
        inst = isa.decode(isa.encode(spec, {"fd": 3, "value": bits}))
        assert isa.disassemble(inst) == f"fli f3, {text}"


def test_every_operand_kind_appears():
    kinds = {f.kind for spec in isa.INSTRUCTIONS for f in spec.fields}
    assert kinds == set(Kind)

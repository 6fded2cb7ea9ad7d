"""The instruction table checks itself: these tests show the checks hold and that they bite."""

from __future__ import annotations

import dataclasses

import pytest

import isa
from isa.checks import overlaps, row_problems, table_problems
from isa.registers import CATEGORIES
from isa.spec import WORD_MASK, Kind
from isa.table.formats import A, B, dreg, imm, instr, xreg
from isa.traps import TRAPS


def test_table_is_consistent():
    assert table_problems(isa.INSTRUCTIONS, isa.PSEUDOS) == []


def test_every_engine_has_instructions():
    engines = {spec.engine for spec in isa.INSTRUCTIONS}
    assert engines == set(CATEGORIES)


@pytest.mark.parametrize("spec", isa.INSTRUCTIONS, ids=lambda s: s.mnemonic)
def test_every_bit_is_defined_once(spec):
    operand_bits = 0
    for f in spec.fields:
        assert operand_bits & f.bits == 0, f"{f.name} overlaps"
        operand_bits |= f.bits
    # every bit is an operand bit or in the mask (fixed opcode bits or reserved zeros)
    assert operand_bits | spec.mask == WORD_MASK
    assert operand_bits & spec.mask == 0
    assert spec.match & ~spec.mask == 0


@pytest.mark.parametrize("spec", isa.INSTRUCTIONS, ids=lambda s: s.mnemonic)
def test_immediates_are_checked_at_both_ends(spec):
    for f in spec.fields:
        if f.kind is Kind.FLAG:
            continue
        values = {g.name: g.lo_value for g in spec.fields if g.kind is not Kind.FLAG}
        for good in (f.lo_value, f.hi_value - (f.hi_value % f.align)):
            isa.encode(spec, {**values, f.name: good})
        for bad in (f.lo_value - 1, f.hi_value + 1):
            with pytest.raises(isa.EncodingError, match=f.name):
                isa.encode(spec, {**values, f.name: bad})


@pytest.mark.parametrize("spec", isa.INSTRUCTIONS, ids=lambda s: s.mnemonic)
def test_every_instruction_is_documented(spec):
    assert spec.summary and len(spec.semantics) > 20
    assert all(t in TRAPS for t in spec.traps)


def test_no_pair_of_encodings_overlaps():
    rows = isa.INSTRUCTIONS
    clashes = [
        (a.mnemonic, b.mnemonic)
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
        if overlaps(a, b)
    ]
    assert clashes == []


def test_overlap_check_catches_a_duplicate_opcode():
    add = isa.BY_MNEMONIC["add"]
    clone = dataclasses.replace(add, mnemonic="add2")
    problems = table_problems((*isa.INSTRUCTIONS, clone), isa.PSEUDOS)
    assert any("add and add2 overlap" in p for p in problems)


def test_row_check_catches_overlapping_fields_and_bad_syntax():
    bad = instr(
        "bad",
        "scalar",
        "x",
        0xEE,
        "rd, rs1",
        (xreg("rd", A), xreg("rs1", A)),
        "s",
        "semantics long enough",
    )
    assert any("overlaps another field" in p for p in row_problems(bad))
    bad = instr(
        "bad",
        "scalar",
        "x",
        0xEE,
        "rd",
        (xreg("rd", A), xreg("rs1", B)),
        "s",
        "semantics long enough",
    )
    assert any("does not name exactly" in p for p in row_problems(bad))
    bad = instr(
        "bad",
        "vector",
        "x",
        0xEE,
        "dd, imm",
        (dreg("dd", A), imm(lo=40)),
        "s",
        "semantics long enough",
    )
    assert any("outside the 64-bit word" in p for p in row_problems(bad))
    bad = instr("bad", "warp", "x", 0x00, "", (), "s", "semantics", ("no_such_trap",))
    problems = " ".join(row_problems(bad))
    assert "opcode 0 is reserved" in problems
    assert "unknown engine" in problems
    assert "unknown trap" in problems


def test_spellings_with_flags_are_unique_and_resolve():
    assert isa.split_mnemonic("mm.acc.tb")[1] == {"acc", "tb"}
    assert isa.split_mnemonic("mm.tb")[1] == {"tb"}
    assert isa.split_mnemonic("vcvt.sat")[0].mnemonic == "vcvt"
    assert isa.split_mnemonic("act.exp.col.sum")[0].mnemonic == "act.exp.col.sum"
    assert isa.split_mnemonic("mm.acc.acc") is None
    assert isa.split_mnemonic("mm.bogus") is None
    assert isa.split_mnemonic("dma.copy")[0].mnemonic == "dma.copy"


def test_zero_word_is_illegal():
    with pytest.raises(isa.EncodingError):
        isa.decode(0)


def test_reserved_bits_do_not_decode():
    word = isa.encode(isa.BY_MNEMONIC["add"], {"rd": 1, "rs1": 2, "rs2": 3})
    with pytest.raises(isa.EncodingError, match="not a J1 instruction"):
        isa.decode(word | 1 << 40)


def test_reserved_dtype_code_does_not_decode():
    spec = isa.BY_MNEMONIC["tset"]
    word = isa.encode(spec, {"dd": 1, "rs1": 2, "rows": 1, "cols": 1, "dtype": 0})
    with pytest.raises(isa.EncodingError, match="reserved dtype"):
        isa.decode(word | 15 << 28)

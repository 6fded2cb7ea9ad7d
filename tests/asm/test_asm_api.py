"""The assembler's Python API and diagnostics: results, exceptions, limits, listings, the line
table of expansions, and the annotated-case checker itself (it must be able to fail)."""

from __future__ import annotations

from pathlib import Path

import pytest
from asm_cases import check_case

from asm import AssemblyError, Options, assemble, assemble_files, assemble_text
from asm.listing import listing

MACRO_PROGRAM = """\
        .macro twice reg
        addi  \\reg, \\reg, 1
        addi  \\reg, \\reg, 1 << 40
        .endm
        twice a0
        .rept 2
        nop
        .endr
        halt
"""


def test_assemble_files_returns_a_program_or_raises(tmp_path):
    good = tmp_path / "good.jasm"
    good.write_text("_start: li a0, N\n halt\n")
    program = assemble_files([good], defines={"N": "0x20"})
    assert program.entry == 0x1000
    assert program.section(".text").data[4:8] == (0x20).to_bytes(4, "little")
    bad = tmp_path / "bad.jasm"
    bad.write_text("addi a0, a0, a0x\n")
    with pytest.raises(AssemblyError) as caught:
        assemble_files([bad])
    assert f"{bad}:1:14: error: undefined symbol 'a0x'" in str(caught.value)
    with pytest.raises(AssemblyError, match="-D N=zz: not an integer"):
        assemble_files([good], defines={"N": "zz"})


def test_every_stage_reports_and_errors_come_in_source_order():
    source = (
        "\n".join(
            [
                "addi a0, a0, 1 << 40",  # encoding
                "bogus a0",  # layout: unknown instruction
                ".if undefined",  # preprocessing
                ".endif",
                "addi a0,",  # syntax
            ]
        )
        + "\n"
    )
    result = assemble_text(source, "s.jasm")
    places = [(d.loc.line, d.severity) for d in result.diagnostics]
    assert places == [(1, "error"), (2, "error"), (3, "error"), (5, "error")]
    assert result.program is None


def test_error_limit():
    source = "".join(f".byte {300 + i}\n" for i in range(50))
    result = assemble_text(source, options=Options(error_limit=20))
    assert len(result.errors) == 21  # twenty, then "too many errors"
    assert result.errors[-1].message == "too many errors (20); stopping"


def test_werror_turns_warnings_into_errors():
    assert assemble_text("fli f0, 1e-60\n").ok
    strict = assemble_text("fli f0, 1e-60\n", options=Options(werror=True))
    assert not strict.ok and strict.errors[0].message.endswith("[-W error]")


def test_macro_errors_show_the_expansion_and_the_call():
    result = assemble_text(MACRO_PROGRAM, "m.jasm")
    (diag,) = result.errors
    text = diag.format()
    assert text.startswith("m.jasm:3:23: error: imm = 1099511627776 is out of range")
    assert "    3 |         addi  a0, a0, 1 << 40" in text  # the expanded line
    assert "m.jasm:5:9: note: in expansion of macro 'twice' defined at m.jasm:1:1" in text
    assert "    5 |         twice a0" in text


def test_line_table_of_expansions_and_listing():
    source = MACRO_PROGRAM.replace(" << 40", "")
    result = assemble_text(source, "m.jasm", options=Options(listing=True))
    rows = [(e.address, e.line) for e in result.program.lines]
    # macro bodies count for the calling line, .rept bodies for their own line
    assert rows == [(0x1000, 5), (0x1008, 5), (0x1010, 7), (0x1018, 7), (0x1020, 9)]
    text = listing(result.records)
    lines = text.splitlines()
    assert lines[1].endswith("m.jasm:5                twice a0")  # the call, then its expansion
    assert lines[2].startswith("0000000000001000  0000000100014a20  addi rd=a0 rs1=a0 imm=1")
    assert lines[2].endswith("m.jasm:2        +         addi  a0, a0, 1")
    assert lines[4].endswith("m.jasm:7        +         nop")  # both copies of the .rept body
    assert lines[5] == "0000000000001018  0000000000000020  addi rd=zero rs1=zero imm=0"


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "u.jasm"
    path.write_bytes(b"nop\n  nop # caf\xc3\xa9 \xff\n")
    (diag,) = assemble([str(path)]).diagnostics
    assert (diag.loc.line, diag.loc.col) == (2, 14) and "invalid UTF-8 byte 0xff" in diag.message


def test_recursive_include_through_two_files(tmp_path):
    (tmp_path / "a.jasm").write_text('.include "b.jasm"\n')
    (tmp_path / "b.jasm").write_text('nop\n.include "a.jasm"\n')
    result = assemble([str(tmp_path / "a.jasm")])
    (diag,) = result.errors
    assert "recursive .include of 'a.jasm'" in diag.message
    assert diag.notes[0][0] == "included from here"


def test_files_that_are_too_large_are_refused(tmp_path):
    big = tmp_path / "big.jasm"
    big.write_bytes(b"nop\n" * (5 << 20))
    (diag,) = assemble([str(big)]).diagnostics
    assert "file too large" in diag.message


def test_data_in_text_gets_line_rows_and_pads_with_nops():
    result = assemble_text("nop\n.dword 7\n.balign 32\nhalt\n", "d.jasm")
    assert [(e.address, e.line) for e in result.program.lines] == [
        (0x1000, 1),
        (0x1008, 2),
        (0x1010, 3),
        (0x1020, 4),
    ]
    text = result.program.section(".text").data
    assert text[0x10:0x18] == text[0:8]  # alignment padding is nop


def _case(tmp_path: Path, body: str) -> list[str]:
    folder = tmp_path / "cases" / "meta"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "case.jasm"
    path.write_text(body)
    return check_case(path)


def test_the_case_checker_can_fail(tmp_path):
    assert _case(tmp_path, "nop ; = 0x0000000000000020\n") == []
    wrong_bytes = _case(tmp_path, "nop ; = 0x0000000000000021\n")
    assert wrong_bytes and "expected bytes" in wrong_bytes[0]
    missing = _case(tmp_path, "nop ; error: something\n")
    assert missing and "expected error containing 'something'" in missing[0]
    unexpected = _case(tmp_path, ".byte 300\n")
    assert unexpected and unexpected[0].startswith("unexpected error")
    wrong_text = _case(tmp_path, ".byte 300 ; error: fits nowhere\n")
    assert len(wrong_text) == 2  # the diagnostic is unexpected and the annotation unmet
    # an expected text runs to the end of the line, `;` included
    assert len(_case(tmp_path, ".byte 300 ; error: 300 does not fit; nonsense\n")) == 2


def test_docstring_examples():
    import doctest

    import asm
    import asm.assembler

    for module in (asm, asm.assembler):
        failed, tried = doctest.testmod(module)
        assert tried and not failed

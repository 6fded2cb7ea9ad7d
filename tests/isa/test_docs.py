"""docs/isa.md is generated from the table; it must be current and cover everything."""

from __future__ import annotations

from isa import INSTRUCTIONS, PSEUDOS, docgen
from isa.registers import CATEGORIES


def test_manual_is_fresh():
    assert docgen.DOC_PATH.read_text(encoding="utf-8") == docgen.render(), (
        "docs/isa.md is stale: run `python -m isa.docgen`"
    )


def test_manual_documents_every_mnemonic_engine_and_pseudo():
    text = docgen.render()
    for spec in INSTRUCTIONS:
        assert f"### `{spec.mnemonic}` — {spec.summary}" in text
    for engine in CATEGORIES:
        assert f"engine: {engine}" in text
    for pseudo in PSEUDOS:
        assert f"`{pseudo.mnemonic}" in text


def test_encoding_diagram_covers_all_64_bits():
    for spec in INSTRUCTIONS:
        segments = docgen.encoding_segments(spec)
        assert segments[0][0] == 63 and segments[-1][1] == 0
        for (_, lo), (hi, _) in zip(
            [s[:2] for s in segments], [s[:2] for s in segments[1:]], strict=False
        ):
            assert hi == lo - 1


def test_check_mode_reports_staleness(tmp_path, capsys):
    stale = tmp_path / "isa.md"
    stale.write_text("old\n", encoding="utf-8")
    assert docgen.main(["--check", "--output", str(stale)]) == 1
    assert docgen.main(["--output", str(stale)]) == 0
    assert docgen.main(["--check", "--output", str(stale)]) == 0

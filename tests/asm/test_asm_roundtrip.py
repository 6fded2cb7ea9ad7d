"""Round trips for every instruction and pseudo-instruction of the ISA table (hypothesis):
random legal operands -> assemble -> `jasm dis` -> reassemble gives identical words."""

from __future__ import annotations

import re
import struct

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from asm import assemble_text
from asm.cli import main
from isa import INSTRUCTIONS, PSEUDOS, Inst, Kind, disassemble, encode, li_sequence
from isa.registers import DREG_NAMES, FREG_NAMES, SEM_NAMES, XREG_NAMES

TEXT = 0x1000
_DIS_LINE = re.compile(r"^\s+([0-9a-f]+):\s+(.*?)(\s+#.*)?$")


def text_words(source: str) -> list[int]:
    result = assemble_text(source)
    assert result.ok, result.text()
    data = result.program.section(".text").data
    return [int.from_bytes(data[k : k + 8], "little") for k in range(0, len(data), 8)]


def jasm_dis(source: str, tmp_path) -> list[str]:
    """Assemble `source`, run `jasm dis` on the ELF, return the instruction texts."""
    elf = tmp_path / "prog.elf"
    elf.write_bytes(assemble_text(source).elf())
    out = CliRunner().invoke(main, ["dis", str(elf), "--no-source"])
    assert out.exit_code == 0, out.output
    return [m[2] for line in out.output.splitlines() if (m := _DIS_LINE.match(line))]


def _fimm(bits: int) -> int:
    """fp32 bit patterns that text can express: NaN only as the canonical quiet NaN."""
    (value,) = struct.unpack("<f", struct.pack("<I", bits))
    return 0x7FC0_0000 if value != value else bits


def field_values(draw, spec) -> dict[str, int]:
    values = {}
    for f in spec.fields:
        if f.kind is Kind.FIMM:
            values[f.name] = _fimm(draw(st.integers(0, 2**32 - 1)))
        else:
            steps = (f.hi_value - f.lo_value) // f.align
            values[f.name] = f.lo_value + f.align * draw(st.integers(0, steps))
    return values


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_every_instruction_round_trips(data, tmp_path_factory) -> None:
    tmp_path = tmp_path_factory.mktemp("rt")
    words, lines = [], []
    for i, spec in enumerate(INSTRUCTIONS):
        values = field_values(data.draw, spec)
        word = encode(spec, values)
        inst = Inst(spec, tuple(values[f.name] for f in spec.fields))
        words.append(word)
        lines.append(disassemble(inst, TEXT + 8 * i))
    source = "\n".join(lines) + "\n"
    assert text_words(source) == words, "assembling the disassembly changed a word"
    dis = jasm_dis(source, tmp_path)
    assert len(dis) == len(INSTRUCTIONS)
    assert text_words("\n".join(dis) + "\n") == words, "jasm dis -> reassemble changed a word"


_NAMES = {
    Kind.XREG: sorted(XREG_NAMES),
    Kind.FREG: sorted(FREG_NAMES),
    Kind.DREG: sorted(DREG_NAMES),
    Kind.SEM: sorted(SEM_NAMES),
}


def pseudo_operand(draw, kind: Kind) -> str:
    if kind in _NAMES:
        return draw(st.sampled_from(_NAMES[kind]))
    if kind is Kind.OFFSET:
        return hex(8 * draw(st.integers(0, 0x0FFF_FFFF)))
    return str(draw(st.integers(-(2**63), 2**64 - 1)))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_pseudo_expands_as_the_table_says_and_round_trips(data, tmp_path_factory) -> None:
    tmp_path = tmp_path_factory.mktemp("pseudo")
    uses, expansions = [], []
    for p in PSEUDOS:
        operands = {o.name: pseudo_operand(data.draw, o.kind) for o in p.operands}
        uses.append(f"{p.mnemonic} {', '.join(operands.values())}")
        if p.mnemonic == "li":
            value = int(operands["value"])
            rd = operands["rd"]
            parts = [
                ("addi", f"{rd}, zero")
                if m == "addi" and k == 0
                else (m, rd if m == "lui" else f"{rd}, {rd}")
                for k, (m, _) in enumerate(li_sequence(value))
            ]
            expansions += [
                f"{m} {regs}, {imm}"
                for (m, regs), (_, imm) in zip(parts, li_sequence(value), strict=True)
            ]
        else:
            expansions += [line.format(**operands) for line in p.expansion]
    # Place every use at the address of its first expanded word, so targets agree.
    words = text_words("\n".join(uses) + "\n")
    assert text_words("\n".join(expansions) + "\n") == words
    dis = jasm_dis("\n".join(uses) + "\n", tmp_path)
    assert text_words("\n".join(dis) + "\n") == words


def emulate_li(words: list[int]) -> int:
    """The value a li sequence leaves in its register (addi / lui semantics of the table)."""
    value = 0
    for word in words:
        opcode, imm = word & 0xFF, word >> 32
        signed = imm - (1 << 32) if imm >> 31 else imm
        if opcode == 0x29:  # lui
            value = imm << 32
        else:  # addi rd, rs1, imm; rs1 is zero or rd
            rs1 = (word >> 13) & 31
            value = (value if rs1 else 0) + signed
    return value & (2**64 - 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**63), 2**64 - 1))
def test_li_loads_any_64_bit_value_with_the_shortest_sequence(value) -> None:
    words = text_words(f"li a0, {value}\n")
    assert emulate_li(words) == value % 2**64
    assert len(words) == len(li_sequence(value)) <= 2

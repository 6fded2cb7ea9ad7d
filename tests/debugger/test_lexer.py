"""The Pygments lexer for J1 assembly: token classes on representative lines, no error tokens
on any program in the repository, and the `pygmentize -l jasm` plugin entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pygments.lexers
import pytest
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
)

from debugger.lexer import JasmDisassemblyLexer, JasmLexer
from isa.encoding import BY_MNEMONIC
from isa.pseudo import PSEUDOS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("programs/**/*.jasm"), *ROOT.glob("tests/isa/**/*.jasm")])


def tokens(line: str, lexer=None) -> list[tuple[object, str]]:
    """Non-blank tokens of `line`."""
    lexer = lexer or JasmLexer()
    return [(tok, text) for tok, text in lexer.get_tokens(line) if text.strip()]


KINDS = {
    "label": Name.Label,
    "inst": Keyword,
    "pseudo": Keyword.Pseudo,
    "flags": Name.Decorator,
    "reg": Name.Builtin,
    "dtype": Keyword.Type,
    "engine": Name.Constant,
    "csr": Name.Variable.Magic,
    "dir": Name.Attribute,
    "macro": Name.Function,
    "arg": Name.Variable,
    "name": Name,
    "int": Number.Integer,
    "hex": Number.Hex,
    "bin": Number.Bin,
    "float": Number.Float,
    "str": String,
    "op": Operator,
    "comment": Comment.Single,
}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("_start: li a0, 0", "label:_start pseudo:li reg:a0 int:0"),
        ("1:  bnez t0, 1b ; loop", "label:1 pseudo:bnez reg:t0 label:1b comment:;"),
        ("mm.acc.tb d8, d6, d7", "inst:mm flags:.acc.tb reg:d8 reg:d6 reg:d7"),
        ("act.exp.col.sum d1, d2, f1, f2", "inst:act.exp.col.sum reg:d1 reg:d2 reg:f1 reg:f2"),
        ("tset d0, t0, 4, 8, bf16", "inst:tset reg:d0 reg:t0 int:4 int:8 dtype:bf16"),
        (".input x, fp32, (M, K)", "dir:.input name:x dtype:fp32 name:M name:K"),
        ("signal dma, sem1", "inst:signal engine:dma reg:sem1"),
        ("csrr a0, cycle", "inst:csrr reg:a0 csr:cycle"),
        ("fli f1, 2.5e-3", "inst:fli reg:f1 float:2.5e-3"),
        ("li t0, 0x1_0000 | 0b101", "pseudo:li reg:t0 hex:0x1_0000 op:| bin:0b101"),
        ('msg: .asciz "hi"', 'label:msg dir:.asciz str:"hi"'),
        (".macro tile d, base", "dir:.macro macro:tile name:d name:base"),
        ("tile d2, t0, K, TN", "macro:tile reg:d2 reg:t0 name:K name:TN"),
        (
            "\\n\\()_h: li \\rd, \\n\\()_S",
            "label:\\n\\()_h pseudo:li arg:\\rd arg:\\n arg:\\() name:_S",
        ),
        ("0x1000: add a0, a1, a2", "hex:0x1000 inst:add reg:a0 reg:a1 reg:a2"),
    ],
)
def test_representative_lines(line, expected):
    got = [(tok, text) for tok, text in tokens(line) if tok is not Punctuation]
    want = []
    for item in expected.split():
        kind, text = item.split(":", 1)
        want.append((KINDS[kind], text))
    assert [(tok, text[: len(w)]) for (tok, text), (_, w) in zip(got, want, strict=False)] == want
    assert len(got) == len(want)


def test_every_mnemonic_is_a_keyword():
    lexer = JasmLexer()
    for mnemonic in BY_MNEMONIC:
        assert tokens(f"  {mnemonic} x1", lexer)[0] == (Keyword, mnemonic)
    for pseudo in PSEUDOS:
        assert tokens(f"  {pseudo.mnemonic} x1", lexer)[0] == (Keyword.Pseudo, pseudo.mnemonic)


def test_disassembly_addresses_are_numbers():
    dis = JasmDisassemblyLexer()
    assert tokens("    10a8:  addi a0, zero, 0", dis)[:2] == [
        (Number.Hex, "10a8"),
        (Punctuation, ":"),
    ]
    assert tokens("    1000:  add a0, a0, t0", dis)[2] == (Keyword, "add")
    assert tokens("# prog.jasm:3: li a0, 0", dis) == [(Comment.Single, "# prog.jasm:3: li a0, 0")]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_error_tokens_in_repository_programs(path):
    text = path.read_text()
    kinds = JasmLexer().get_tokens(text)
    bad = [(tok, value) for tok, value in kinds if tok in Error or (tok is Text and value.strip())]
    assert bad == []


def test_registered_with_pygments():
    names = {ep.name for ep in entry_points(group="pygments.lexers")}
    if "jasm" not in names:
        pytest.skip("the j1-toolchain entry points are not installed (pip install -e .)")
    lexer = pygments.lexers.get_lexer_by_name("jasm")
    assert isinstance(lexer, JasmLexer)
    assert isinstance(pygments.lexers.get_lexer_by_name("j1asm"), JasmLexer)
    assert isinstance(pygments.lexers.get_lexer_for_filename("kernel.jasm"), JasmLexer)
    assert isinstance(pygments.lexers.get_lexer_by_name("jasm-dis"), JasmDisassemblyLexer)


def test_pygmentize_command():
    names = {ep.name for ep in entry_points(group="pygments.lexers")}
    if "jasm" not in names:
        pytest.skip("the j1-toolchain entry points are not installed (pip install -e .)")
    pygmentize = shutil.which("pygmentize", path=str(Path(sys.executable).parent))
    command = [pygmentize] if pygmentize else [sys.executable, "-m", "pygments"]
    gemm = ROOT / "programs" / "examples" / "gemm.jasm"
    result = subprocess.run([*command, "-l", "jasm", "-f", "raw", str(gemm)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert "Token.Keyword\t'mm'" in result.stdout
    assert "Token.Error" not in result.stdout

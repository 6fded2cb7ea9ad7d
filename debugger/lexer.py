"""Pygments lexers for J1 assembly (`jasm`) and for `jasm dis` output (`jasm-dis`).

Every name list comes from the tables the assembler itself uses: mnemonics and their flag
suffixes from isa.encoding.BY_MNEMONIC, pseudo-instructions from isa.pseudo.PSEUDOS,
registers, CSRs and engines from isa.registers, dtypes from isa.dtypes — so an instruction
added to the ISA table is highlighted with no change here.

Installed as a Pygments plugin (pyproject.toml, `pygments.lexers` entry points), so
`pygmentize -l jasm prog.jasm` works after `pip install -e .`. Nothing lexes as an error
token: unknown text falls back to plain `Text`, since the debugger shows any source it has.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, inherit, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

from isa import dtypes
from isa.encoding import BY_MNEMONIC
from isa.pseudo import PSEUDOS
from isa.registers import CSR_BY_NAME, DREG_NAMES, ENGINES, FREG_NAMES, SEM_NAMES, XREG_NAMES

MNEMONICS = tuple(sorted(BY_MNEMONIC))
PSEUDO_MNEMONICS = tuple(sorted(p.mnemonic for p in PSEUDOS))
FLAGS = tuple(sorted({f.name for spec in BY_MNEMONIC.values() for f in spec.flags}))
REGISTERS = tuple(sorted({*XREG_NAMES, *FREG_NAMES, *DREG_NAMES, *SEM_NAMES}))

_ALONE = r"(?![\w.$])"  # a whole word: not followed by more of a name
_START = r"(?<![\w.$\\])"  # ... and not preceded by one
_FLAGS = r"((?:\.(?:" + "|".join(FLAGS) + r"))*)"
_SUBST = r"\\(?:[A-Za-z_]\w*|\(\)|@)"  # a macro substitution: `\arg`, the `\()` joiner, `\@`
_LABEL = rf"(?:[A-Za-z_.$]|{_SUBST})(?:[\w.$]|{_SUBST})*"  # `loop`, `.L1\@`, `\name\()_head`
_NUMBERS = [
    (r"[0-9][0-9_]*\.[0-9_]+([eE][-+]?[0-9]+)?" + _ALONE, Number.Float),
    (r"[0-9][0-9_]*[eE][-+]?[0-9]+" + _ALONE, Number.Float),
    (r"0[xX][0-9a-fA-F_]+" + _ALONE, Number.Hex),
    (r"0[bB][01_]+" + _ALONE, Number.Bin),
    (r"0[oO][0-7_]+" + _ALONE, Number.Oct),
    (r"[0-9]+[bf]" + _ALONE, Name.Label),  # a reference to a numeric local label: `1b`, `2f`
    (r"[0-9][0-9_]*" + _ALONE, Number.Integer),
]


def _mnemonic_rule(names: tuple[str, ...], token) -> tuple:
    # Longest first, so `act.exp.col.sum` wins over `act.exp`; flag suffixes (`mm.acc.tb`) apart.
    alternatives = "|".join(n.replace(".", r"\.") for n in sorted(names, key=len, reverse=True))
    return (r"(" + alternatives + r")" + _FLAGS + _ALONE, bygroups(token, Name.Decorator),
            "operands")  # fmt: skip


class JasmLexer(RegexLexer):
    """J1 assembly: labels, directives, mnemonics with flag suffixes, registers, dtypes,
    numbers, strings, macro arguments and operators."""

    name = "J1 assembly"
    aliases = ["jasm", "j1asm"]  # noqa: RUF012  (Pygments reads these class attributes)
    filenames = ["*.jasm"]  # noqa: RUF012
    mimetypes = ["text/x-jasm"]  # noqa: RUF012

    tokens = {  # noqa: RUF012
        "root": [
            (r"\n", Whitespace),
            (r"[ \t\f\r]+", Whitespace),
            (r"[;#].*?$", Comment.Single),
            (r"(0[xX][0-9a-fA-F]+)(:)", bygroups(Number.Hex, Punctuation)),  # an address
            (r"([0-9]+)(:)", bygroups(Name.Label, Punctuation)),  # numeric local label
            (rf"({_LABEL})([ \t]*)(:)", bygroups(Name.Label, Whitespace, Punctuation)),
            (
                r"(\.macro)([ \t]+)([A-Za-z_][\w.]*)",
                bygroups(Name.Attribute, Whitespace, Name.Function),
                "operands",
            ),
            # Any `.name` in statement position is a directive: the list lives in the assembler
            # (asm.directives), which the lexer does not import just to colour it the same.
            (r"\.[A-Za-z_][\w.]*", Name.Attribute, "operands"),
            _mnemonic_rule(MNEMONICS, Keyword),
            _mnemonic_rule(PSEUDO_MNEMONICS, Keyword.Pseudo),
            (r"[A-Za-z_][\w.]*", Name.Function, "operands"),  # a macro call
            (_SUBST, Name.Variable, "operands"),  # `\op` as a mnemonic inside a macro body
            (r".", Text, "operands"),
        ],
        "operands": [
            (r"\n", Whitespace, "#pop"),
            (r"[ \t\f\r]+", Whitespace),
            (r"[;#].*?$", Comment.Single),
            (r'"([^"\\\n]|\\.)*"', String),
            (r"'(\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)|[^'\\\n])'", String.Char),
            (_SUBST, Name.Variable),
            (r"%(hi|lo)\b|sizeof\b", Name.Builtin),
            *_NUMBERS,
            (words(REGISTERS, prefix=_START, suffix=_ALONE), Name.Builtin),
            (words(dtypes.NAMES, prefix=_START, suffix=_ALONE), Keyword.Type),
            (words(ENGINES, prefix=_START, suffix=_ALONE), Name.Constant),
            (words(tuple(CSR_BY_NAME), prefix=_START, suffix=_ALONE), Name.Variable.Magic),
            (r"\.?[A-Za-z_$][\w.$]*", Name),  # symbols, macro parameters, section names
            (r"<<|>>|==|!=|<=|>=|&&|\|\||[-+*/%&|^<>~!=]", Operator),
            (r"[(),\[\]]", Punctuation),
            (r"\.", Name.Builtin.Pseudo),  # `.`, the current location
            (r".", Text),
        ],
    }


class JasmDisassemblyLexer(JasmLexer):
    """`jasm dis` and `isa.disassemble` output: a hex address (`1000:` or `0x1000:`) starts
    each instruction line; everything else is lexed as J1 assembly."""

    name = "J1 disassembly"
    aliases = ["jasm-dis", "j1dis"]  # noqa: RUF012
    filenames = []  # noqa: RUF012
    mimetypes = []  # noqa: RUF012

    tokens = {  # noqa: RUF012
        "root": [
            (r"((?:0[xX])?[0-9a-fA-F]+)(:)", bygroups(Number.Hex, Punctuation)),
            inherit,
        ],
    }


__all__ = ["JasmDisassemblyLexer", "JasmLexer"]

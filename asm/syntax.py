"""Parsing: text -> a list of `Stmt`, one per label and per instruction or directive.

The Lark LALR parser runs with an inline transformer (`Builder`), so no parse tree is ever
built: each line's callbacks append statements directly. Operands stay as syntax nodes —
a lark `Token` for a plain name or number (the common case, at no cost), or a small tuple
tagged with one of the node kinds below; asm.expr evaluates them later, once symbols are
known. A line that does not parse becomes an ERROR statement and parsing resumes on the
next line, so one run reports every syntax error (a skipped `.if` branch drops its own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from asm.blocks import Block, scan_blocks
from asm.diagnostics import AsmError, Diagnostic, Loc
from asm.source import MAX_LINE_CHARS, Unit

GRAMMAR = (Path(__file__).parent / "jasm.lark").read_text()

# Statement kinds
INSN, DIRECTIVE, LABEL, LOCAL_LABEL, ERROR, MACRO_DEF = range(6)

# Node kinds: the first item of every tuple node
MEM, KWARG, CHAIN, UNARY, PAREN, TUPLE, LIST, CALL = (
    "mem",
    "kwarg",
    "chain",
    "unary",
    "paren",
    "tuple",
    "list",
    "call",
)


class Stmt:
    """One statement. Layout fills in `chunk`/`offset`; `plan` caches the resolved mnemonic."""

    __slots__ = ("args", "chunk", "extra", "kind", "line", "name", "offset", "plan", "unit")

    def __init__(self, kind: int, name: Any, args: tuple, line: int, unit: Unit) -> None:
        self.kind = kind
        self.name = name  #: mnemonic / directive / label Token (message text for ERROR)
        self.args = args  #: operand nodes
        self.line = line  #: line within `unit`
        self.unit = unit
        self.chunk: Any = None
        self.offset = 0
        self.plan: Any = None
        self.extra: Any = None  #: block body, error column, precomputed values

    def __repr__(self) -> str:
        return f"Stmt({self.kind}, {self.name!r}, line {self.line})"


@v_args(inline=True)
class Builder(Transformer):
    """Inline transformer: statements are appended to `out` as their lines are parsed.

    One method per grammar rule (named as the rule or its `-> alias`); expression rules
    return tuple nodes tagged with the node kinds above.
    """

    def __init__(self) -> None:
        super().__init__()
        self.out: list[Stmt] = []
        self.unit: Unit | None = None
        self.offset = 0  # line offset after resuming behind a syntax error

    def stmt(self, name: Token, *args: Any) -> None:
        kind = DIRECTIVE if name[0] == "." else INSN
        self.out.append(Stmt(kind, name, args, name.line + self.offset, self.unit))

    def label(self, name: Token) -> None:
        self.out.append(Stmt(LABEL, name, (), name.line + self.offset, self.unit))

    def local_label(self, number: Token) -> None:
        self.out.append(Stmt(LOCAL_LABEL, number, (), number.line + self.offset, self.unit))

    def mem(self, offset: Any, lpar: Token, base: Any, rpar: Token) -> tuple:
        return (MEM, offset, base, rpar)

    def kwarg(self, name: Token, value: Any) -> tuple:
        return (KWARG, name, value)

    def chain(self, *items: Any) -> tuple:
        return (CHAIN, items)

    def unary(self, op: Token, operand: Any) -> tuple:
        return (UNARY, op, operand)

    def paren(self, lpar: Token, inner: Any, rpar: Token) -> tuple:
        return (PAREN, lpar, inner, rpar)

    def tuple(self, lpar: Token, *items: Any) -> tuple:
        return (TUPLE, lpar, items[:-1], items[-1])

    def list(self, lbrack: Token, *items: Any) -> tuple:
        return (LIST, lbrack, items[:-1], items[-1])

    def call(self, func: Token, lpar: Token, arg: Any, rpar: Token) -> tuple:
        return (CALL, func, arg, rpar)


_BUILDER = Builder()
PARSER = Lark(GRAMMAR, parser="lalr", transformer=_BUILDER, maybe_placeholders=False)
#: the grammar's rule names and aliases: every callback an inline transformer can have
RULE_NAMES = tuple(
    sorted(
        name
        for name in {str(r.alias or r.origin.name) for r in PARSER.rules}
        if not name.startswith("_") and name != "start"
    )
)


def span(node: Any) -> tuple[int, int]:
    """Columns [start, end) covered by a syntax node (iterative: nodes may nest deeply)."""
    first = node
    while type(first) is tuple:
        first = first[1] if first[0] != CHAIN else first[1][0]
    last = node
    while type(last) is tuple:
        last = last[-1] if last[0] != CHAIN else last[1][-1]
    start = getattr(first, "column", None) or 1
    end = getattr(last, "end_column", None) or start + 1
    return start, max(end, start + 1)


def source_text(node: Any, unit: Unit, line: int) -> str:
    """The exact text of an operand (macro arguments are substituted as text)."""
    start, end = span(node)
    return unit.line_text(line)[start - 1 : end - 1]


MAX_SYNTAX_ERRORS = 1000  #: parsing a text stops after this many lines that do not parse


def parse(unit: Unit) -> list[Stmt]:
    """Statements of `unit` in line order (syntax errors become ERROR statements)."""
    scan = scan_blocks(unit.text)
    text = _drop_long_lines(scan.text, scan.problems)
    if not text.endswith("\n"):
        text += "\n"
    builder = _BUILDER
    builder.out, builder.unit, builder.offset = [], unit, 0
    pos = errors = 0
    while pos < len(text):
        try:
            PARSER.parse(text[pos:] if pos else text)
            break
        except UnexpectedInput as e:
            line, col, where = _error_position(e)
            builder.out.append(_error(unit, builder.offset + line, col, _message(e)))
            end = text.find("\n", pos + where)
            errors += 1
            if end < 0 or errors >= MAX_SYNTAX_ERRORS:
                break
            builder.offset += text.count("\n", pos, end + 1)
            pos = end + 1
    stmts, builder.out = builder.out, []
    for line, message in scan.problems:
        stmts.append(_error(unit, line, 0, message))
    if scan.blocks:
        _attach_blocks(stmts, scan.blocks, unit)
    if scan.problems or scan.blocks:
        stmts.sort(key=lambda s: s.line)  # stable: same-line statements keep their order
    return stmts


def _drop_long_lines(text: str, problems: list[tuple[int, str]]) -> str:
    if len(text) <= MAX_LINE_CHARS or max(map(len, text.split("\n"))) <= MAX_LINE_CHARS:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if len(line) > MAX_LINE_CHARS:
            problems.append(
                (i + 1, f"line too long ({len(line)} characters; the limit is {MAX_LINE_CHARS})")
            )
            lines[i] = ""
    return "\n".join(lines)


def _error(unit: Unit, line: int, col: int, message: str) -> Stmt:
    stmt = Stmt(ERROR, message, (), line, unit)
    stmt.extra = col
    return stmt


def _error_position(e: UnexpectedInput) -> tuple[int, int, int]:
    """(line, column, offset into the parsed text) of a Lark error."""
    if isinstance(e, UnexpectedToken) and e.token.type != "$END":
        return e.token.line, e.token.column, e.token.start_pos
    if isinstance(e, UnexpectedCharacters):
        return e.line, e.column, e.pos_in_stream
    token = getattr(e, "token", None)
    pos = getattr(token, "start_pos", 0) or 0
    return getattr(token, "line", 1) or 1, 0, pos


_TOKEN_NAMES = {"_NL": "end of line", "$END": "end of file"}


def _message(e: UnexpectedInput) -> str:
    if isinstance(e, UnexpectedCharacters):
        char = e.char if e.char.isprintable() else repr(e.char)[1:-1]
        if char == "\\":
            return "unexpected '\\' (macro parameters are only allowed in macro bodies)"
        return f"syntax error: unexpected character '{char}'"
    token = getattr(e, "token", None)
    if token is None or token.type in _TOKEN_NAMES:
        what = _TOKEN_NAMES.get(getattr(token, "type", "$END"), "end of line")
        expected = getattr(e, "expected", set()) or set()
        if expected & {"WORD", "NUMBER", "LPAR", "UNOP"}:
            return f"syntax error: unexpected {what}: an operand is missing"
        return f"syntax error: unexpected {what}"
    text = str(token)
    text = text if len(text) < 40 else text[:37] + "..."
    if token.type == "WORD":
        return f"syntax error: unexpected '{text}' (is a comma missing?)"
    return f"syntax error: unexpected '{text}'"


def _attach_blocks(stmts: list[Stmt], blocks: list[Block], unit: Unit) -> None:
    """Give each .rept/.irp header statement its body; add a MACRO_DEF for each macro."""
    headers = {
        s.line: s for s in stmts if s.kind == DIRECTIVE and s.name in (".rept", ".irp", ".irpc")
    }
    for block in blocks:
        if block.kind == ".macro":
            stmt = Stmt(MACRO_DEF, block.kind, (), block.line, unit)
            stmt.extra = block
            stmts.append(stmt)
        elif block.line in headers:
            headers[block.line].extra = block


def diagnostic(stmt: Stmt, error: AsmError) -> Diagnostic:
    """`error` located at its node on `stmt`'s line, with the expansion notes."""
    where = error.where
    if isinstance(where, Loc):
        return Diagnostic(error.severity, error.message, where, error.notes + stmt.unit.notes())
    if type(where) is tuple and len(where) == 2 and type(where[0]) is int:
        cols = where
    elif where is not None and (type(where) is tuple or isinstance(where, Token)):
        cols = span(where)
    elif stmt.kind == ERROR:
        cols = (stmt.extra, stmt.extra + 1) if stmt.extra else (0, 0)
    elif isinstance(stmt.name, Token):
        cols = span(stmt.name)
    else:
        cols = (0, 0)
    diag = stmt.unit.diagnostic(error, stmt.line, cols)
    diag.notes[:0] = error.notes
    return diag

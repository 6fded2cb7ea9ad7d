"""Block pre-scan: lift `.macro`, `.rept`, `.irp` and `.irpc` bodies out of a text before parsing.

Bodies are text, not statements: a macro body may use `\\param` anywhere, even inside a
name, so it is parsed only once expanded. The scan finds each outermost block with one
regular-expression pass, keeps its body and blanks its lines (line numbers stay valid) so
the parser never sees them. Nested blocks stay inside the body and are lifted when it is
expanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENERS = {".macro": ".endm", ".rept": ".endr", ".irp": ".endr", ".irpc": ".endr"}
_KEYWORDS = (".macro", ".endm", ".rept", ".irp", ".endr")
_BLOCK_LINE = re.compile(
    r"^[ \t]*(?:(?:\.?[A-Za-z_][\w.]*|[0-9]+)[ \t]*:[ \t]*)*"
    r"(\.(?:macro|endm|rept|irpc|irp|endr))(?![\w.])(.*)$",
    re.M,
)


@dataclass
class Block:
    """An outermost block: its opening directive, header text and body text."""

    kind: str  #: ".macro", ".rept", ".irp" or ".irpc"
    line: int  #: line of the opening directive in the scanned text
    header: str  #: the rest of the opening line (macro name and parameters)
    body: str  #: the lines between the opening and closing directives
    body_first: int  #: line of the body's first line in the scanned text
    body_lines: int
    parsed: list | None = None  #: cache of the parsed body (.rept)


@dataclass
class Scan:
    """Result of the pre-scan: the text with block lines blanked, the blocks, the problems."""

    text: str
    blocks: list[Block]
    problems: list[tuple[int, str]]  #: (line, message)


def scan_blocks(text: str) -> Scan:
    """Find the outermost blocks of `text`; see the module docstring."""
    if not any(k in text for k in _KEYWORDS):
        return Scan(text, [], [])
    lines: list[str] | None = None
    blocks: list[Block] = []
    problems: list[tuple[int, str]] = []
    stack: list[tuple[str, int, str]] = []  # (opener, line, header)
    line_no, pos = 1, 0
    for m in _BLOCK_LINE.finditer(text):
        line_no += text.count("\n", pos, m.start())
        pos = m.start()
        word, rest = m.group(1), m.group(2)
        if word in _OPENERS:
            stack.append((word, line_no, rest))
            continue
        depth = _matching(stack, word)
        if depth is None:
            continue  # a stray terminator: left for the preprocessor to report
        for opener, at, _ in stack[depth + 1 :]:
            problems.append((at, f"'{opener}' is not closed before '{word}'"))
        opener, start, header = stack[depth]
        del stack[depth:]
        if not stack:
            if lines is None:
                lines = text.split("\n")
            blocks.append(_lift(lines, opener, start, line_no, header))
    if stack:
        opener, start, header = stack[0]
        problems.append((start, f"'{opener}' without a closing '{_OPENERS[opener]}'"))
        if lines is None:
            lines = text.split("\n")
        blocks.append(_lift(lines, opener, start, len(lines) + 1, header))
    if lines is None:
        return Scan(text, [], problems)
    return Scan("\n".join(lines), blocks, problems)


def _matching(stack: list[tuple[str, int, str]], terminator: str) -> int | None:
    """Index of the innermost open block that `terminator` closes."""
    for i in range(len(stack) - 1, -1, -1):
        if _OPENERS[stack[i][0]] == terminator:
            return i
    return None


def _lift(lines: list[str], opener: str, start: int, end: int, header: str) -> Block:
    """Cut lines start..end (1-based; end is the terminator) out of `lines`."""
    body = lines[start : end - 1]
    block = Block(opener, start, header, "\n".join(body), start + 1, len(body))
    first_blank = start if opener == ".macro" else start + 1  # rept/irp headers get parsed
    for i in range(first_blank, min(end, len(lines)) + 1):
        lines[i - 1] = ""
    return block

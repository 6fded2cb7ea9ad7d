"""Diagnostics: `file:line:col: error: message`, the source line and a caret under the span.

Every stage raises `AsmError` with the syntax node (or column span) that caused it; the stage
loop turns it into a `Diagnostic` at the statement's location (asm.source.Unit), adding one
note per macro expansion the statement came from. `Reporter` collects them up to a limit.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "note"]
_SHOWN_WIDTH = 160  # characters of a long source line shown around the caret
REPEAT_FACTOR = 50  # reports (repeats included) allowed per error of the limit


@dataclass(frozen=True)
class Loc:
    """A place in a source file: 1-based line, 1-based columns [col, end_col)."""

    path: str
    line: int
    col: int = 0  #: 0 when the whole line is meant
    end_col: int = 0
    text: str | None = None  #: the line as assembled (expanded text for macro bodies)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}" if self.col else f"{self.path}:{self.line}"


@dataclass
class Diagnostic:
    """One error or warning, with notes that locate the macro expansions it came from."""

    severity: Severity
    message: str
    loc: Loc | None = None
    notes: list[tuple[str, Loc | None]] = field(default_factory=list)

    def locations(self) -> list[Loc]:
        """The primary location and every note's, innermost first."""
        return [loc for loc in [self.loc, *(n[1] for n in self.notes)] if loc is not None]

    def format(self) -> str:
        """GCC-style text: header line, source line, caret; then the notes likewise."""
        parts = [_format_one(self.severity, self.message, self.loc)]
        parts += [_format_one("note", text, loc) for text, loc in self.notes]
        return "\n".join(parts)


def _format_one(severity: str, message: str, loc: Loc | None) -> str:
    if loc is None:
        return f"jasm: {severity}: {message}"
    head = f"{loc}: {severity}: {message}"
    if loc.text is None:
        return head
    text, col, end = _window(loc.text.expandtabs(1), loc.col, loc.end_col)
    gutter = f"{loc.line:5} | "
    lines = [head, gutter + text]
    if col:
        width = max(1, end - col)
        lines.append(" " * (len(gutter) - 2) + "| " + " " * (col - 1) + "^" + "~" * (width - 1))
    return "\n".join(lines)


def _window(text: str, col: int, end: int) -> tuple[str, int, int]:
    """Clip a long line around the caret; non-printable characters shown as `?`."""
    text = "".join(c if c.isprintable() else "?" for c in text[: col + _SHOWN_WIDTH])
    end = min(max(end, col + 1), len(text) + 2)
    if col > _SHOWN_WIDTH // 2:
        cut = col - _SHOWN_WIDTH // 2
        text, col, end = "..." + text[cut:], col - cut + 3, end - cut + 3
    if len(text) > _SHOWN_WIDTH + 10:
        text = text[: _SHOWN_WIDTH + 10] + "..."
        end = min(end, len(text) + 1)
    return text, col, end


class AsmError(Exception):
    """An error in the program being assembled, located by a syntax node or a column span.

    `where` is a lark Token, a syntax-tree tuple (asm.syntax), a (col, end_col) pair, or None
    for the whole statement.
    """

    def __init__(
        self,
        message: str,
        where: Any = None,
        severity: Severity = "error",
        notes: list[tuple[str, Loc | None]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.severity = severity
        self.notes = notes or []  #: extra places, such as the first definition of a name


class TooManyErrors(Exception):
    """Raised by the Reporter once the error limit is reached, to stop every stage."""


class Reporter:
    """Collects diagnostics; turns warnings into errors with `werror`; stops at `limit`."""

    def __init__(self, limit: int = 20, werror: bool = False) -> None:
        self.limit = limit
        self.werror = werror
        self.diagnostics: list[Diagnostic] = []
        self.errors = 0
        self.reports = 0  #: errors reported, repeats included
        self._seen: set[tuple[str, str]] = set()

    def report(self, diag: Diagnostic) -> None:
        """Record `diag` (once: a pseudo expanding an operand twice reports it once)."""
        if diag.severity == "warning" and self.werror:
            diag.severity = "error"
            diag.message += " [-W error]"
        self.reports += diag.severity == "error"
        if self.reports > REPEAT_FACTOR * self.limit:
            # Expansions can repeat one error without end; each costs its message.
            self._stop(f"too many errors ({self.reports} reported, with repeats); stopping")
        key = (diag.message, str(diag.loc))
        if key in self._seen:
            return
        self._seen.add(key)
        self.diagnostics.append(diag)
        if diag.severity == "error":
            self.errors += 1
            if self.errors >= self.limit:
                self._stop(f"too many errors ({self.limit}); stopping")

    def _stop(self, message: str) -> None:
        self.diagnostics.append(Diagnostic("error", message))
        self.errors += 1
        raise TooManyErrors

    def error(self, message: str, loc: Loc | None = None) -> None:
        """Report an error with no statement attached (files, options, linking)."""
        self.report(Diagnostic("error", message, loc))

    def warning(self, message: str, loc: Loc | None = None) -> None:
        """Report a warning with no statement attached."""
        self.report(Diagnostic("warning", message, loc))

    def text(self) -> str:
        """Every diagnostic, formatted, one block per diagnostic."""
        return "\n".join(d.format() for d in self.diagnostics)


def shown(text: object, limit: int = 60) -> str:
    """User text for a message, cut short if it is long."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'x'?` naming the closest candidates (ties by edit distance), or ''."""
    pool = list(candidates)
    close = difflib.get_close_matches(word, pool, n=20, cutoff=0.6)
    if not close and word.lower() != word:
        close = difflib.get_close_matches(word.lower(), pool, n=20, cutoff=0.6)
    if not close:
        return ""
    distances = {c: edit_distance(word.lower(), c.lower()) for c in close}
    best = min(distances.values())
    names = [f"'{c}'" for c in sorted(c for c in close if distances[c] == best)[:3]]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"; did you mean {listed}?"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, with a transposition counting as one edit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]

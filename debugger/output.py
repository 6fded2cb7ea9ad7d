"""The one path every debugger message takes, so tests read a session as strings.

Commands call `message` for results and `error` for problems (printed as one `error: ...`
line). Each message is a list of (style, text) fragments — the prompt_toolkit formatted-text
shape — so the interactive UI can colour changed elements and highlighted source, while
batch mode and tests get plain text.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

Fragments = list[tuple[str, str]]


class Output:
    """Collects or prints messages; `sink` receives each one as fragments."""

    def __init__(self, sink: Callable[[Fragments], None] | None = None) -> None:
        self.sink = sink
        self.lines: list[str] = []  #: plain text of everything said, for tests and batch runs
        self.errors = 0

    def message(self, text: str | Fragments, style: str = "") -> None:
        """A result line (or block)."""
        fragments = [(style, text)] if isinstance(text, str) else text
        self.lines.append("".join(part for _, part in fragments))
        if self.sink is not None:
            self.sink(fragments)

    def error(self, text: str) -> None:
        """One line saying what went wrong; the session goes on."""
        self.errors += 1
        self.message(f"error: {text}", "class:error")

    def text(self) -> str:
        """Everything said so far, as plain text."""
        return "\n".join(self.lines)


def plain_sink(stream: TextIO = sys.stdout) -> Callable[[Fragments], None]:
    """A sink writing fragments as plain text (batch mode, pipes)."""

    def write(fragments: Fragments) -> None:
        stream.write("".join(text for _, text in fragments) + "\n")
        stream.flush()

    return write

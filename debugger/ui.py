"""The interactive face of jdb: a prompt_toolkit session with persistent history, completion
and coloured output. Everything it shows arrives through the session's one output path
(debugger.output), so the same commands run unchanged in batch mode and in tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from debugger.session import Session

HISTORY = Path(os.environ.get("JDB_HISTORY", Path.home() / ".jdb_history"))

STYLE_RULES = {
    "error": "#ff5555 bold",
    "changed": "#ffaf00 bold",
    "stop": "#5fafff bold",
    "pc": "#5fd75f bold",
    "dim": "#808080",
}


def interactive(session: Session) -> None:
    """Read and run commands until `quit` or end of input; Ctrl-C at the prompt is ignored
    (during `continue` it interrupts the program instead, see Session.execute)."""
    from prompt_toolkit import PromptSession, print_formatted_text
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.styles import Style, merge_styles, style_from_pygments_cls
    from pygments.styles import get_style_by_name

    style = merge_styles(
        [style_from_pygments_cls(get_style_by_name("monokai")), Style.from_dict(STYLE_RULES)]
    )
    session.out.sink = lambda fragments: print_formatted_text(FormattedText(fragments), style=style)
    prompt = PromptSession(history=_history(), completer=_completer(session))
    while True:
        try:
            line = prompt.prompt("(jdb) ", style=style)
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        if not session.execute(line):
            break


def _history():
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    try:
        HISTORY.touch(exist_ok=True)
        return FileHistory(str(HISTORY))
    except OSError:  # a read-only home: keep the history for this session only
        return InMemoryHistory()


def _completer(session: Session):
    """Commands for the first word; registers, symbols, file:line and `info` topics after."""
    from prompt_toolkit.completion import Completer, Completion

    class JdbCompleter(Completer):
        def get_completions(self, document, complete_event):
            before = document.text_before_cursor
            word = document.get_word_before_cursor(WORD=True)
            first = not before.strip() or (before.strip() == word and not before.endswith(" "))
            choices = session.command_names() if first else session.completion_words(before)
            for choice in sorted(set(choices)):
                if choice.startswith(word):
                    yield Completion(choice, start_position=-len(word))

    return JdbCompleter()

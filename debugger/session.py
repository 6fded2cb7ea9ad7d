"""One jdb session: the program, its engine, the commands, and the rule that nothing a user
types can end it — every failure becomes one `error:` line."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from debugger.commands import INFO_TOPICS, Commands
from debugger.dispatch import CommandError
from debugger.engine import Engine
from debugger.expr import ExprError
from debugger.history import DEFAULT_BUDGET
from debugger.locations import DebugError
from debugger.output import Output, plain_sink
from debugger.views import ViewError
from isa.machine import MachineError
from isa.registers import DREG_NAMES, FREG_NAMES, SEM_NAMES, XREG_NAMES
from iss.errors import LimitReached, Trap
from iss.race import RaceError
from iss.runtime import BindError
from iss.tensors import TensorFileError, load_tensor

#: what a command may raise that is the user's business, not a bug: one line each
USER_ERRORS = (CommandError, DebugError, ExprError, ViewError, Trap, RaceError, LimitReached,
               BindError, TensorFileError, ValueError, OSError)  # fmt: skip


class SessionError(Exception):
    """The program or a tensor cannot be loaded: jdb cannot start."""


class Session(Commands):
    """Commands plus the loop rules: errors as lines, Ctrl-C interrupts a running program."""

    @classmethod
    def open(cls, program: str | Path, *, inputs: list[tuple[str, str]] = (),
             machine: str = "j1", include: list[str] | None = None,
             defines: dict[str, str] | None = None, budget_bytes: int = DEFAULT_BUDGET,
             output: Output | None = None) -> Session:  # fmt: skip
        """Load (or assemble) `program`, bind `inputs` ((name, tensor file spec) pairs)."""
        try:
            engine = Engine.load(str(program), machine=machine, include=include,
                                 defines=defines, history_budget=budget_bytes)  # fmt: skip
            for name, spec in inputs:
                engine.bind(name, load_tensor(spec, default_name=name))
        except (BindError, TensorFileError, MachineError, OSError) as e:
            raise SessionError(str(e)) from None
        return cls(engine, output or Output(plain_sink()))

    def execute(self, line: str) -> bool:
        """Run one command line; False once the user has quit."""
        try:
            with self._interruptible():
                self.dispatch(line)
        except USER_ERRORS as e:
            self.out.error(str(e).splitlines()[0] if str(e) else type(e).__name__)
        except Exception as e:  # a bug in jdb must still not end the session
            self.out.error(f"internal error ({type(e).__name__}): {e}")
        return not self.quit

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """While a command runs, Ctrl-C asks the engine to stop (state intact) instead of
        raising KeyboardInterrupt somewhere inside the simulator."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, lambda *_: self.engine.interrupt())
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def outcome(self) -> int:
        """The exit status: the program's a0 & 255 if it halted, 3 at a trap, else 0."""
        if self.state.halted:
            return (self.state.exit_code or 0) & 255
        if self.last_stop is not None and self.last_stop.kind in ("trap", "race"):
            return 3
        return 0

    # -- completion ---------------------------------------------------------------------------
    def command_names(self) -> list[str]:
        """Every command name and alias."""
        return [*self.commands, *self.alias_of]

    def completion_words(self, before: str) -> list[str]:
        """Candidates for the word being typed after `before` (the line so far)."""
        command = before.split()[0] if before.split() else ""
        try:
            name = self.resolve(command)
        except CommandError:
            return []
        if name == "info":
            return list(INFO_TOPICS)
        if name == "help":
            return self.command_names()
        words = [*XREG_NAMES, *FREG_NAMES, *DREG_NAMES, *SEM_NAMES, "pc"]
        words += [s.name for s in self.program.symbols] + [e.name for e in self.program.io]
        if name in ("break", "tbreak", "until", "advance", "list", "disassemble"):
            words += sorted({f"{Path(e.file).name}:{e.line}" for e in self.program.lines})
        return words

"""Layout (pass 1): give every statement its section chunk and offset, and define symbols.

Addresses are not final here (a file's `.rodata` starts after every file's `.text`), so a
label's value is a `Rel` (chunk + offset); sizes may use differences of labels already
defined in the same chunk. `li` is the one instruction whose size depends on a value: when
the value is not a constant yet it is given two words and the program is laid out again
with the addresses found (`relax` in asm.assembler), until every `li` has its shortest form.
"""

from __future__ import annotations

import contextlib

from lark import Token

from asm import directives
from asm.diagnostics import AsmError, Reporter, did_you_mean, shown
from asm.expr import NotConstant, Rel
from asm.plans import li_words, resolve, unknown_mnemonic
from asm.sections import SECTIONS, Chunk, Sym
from asm.syntax import DIRECTIVE, INSN, LABEL, LOCAL_LABEL, Stmt, diagnostic
from isa.elf.rules import MAX_NAME_BYTES
from isa.registers import DREG_NAMES, FREG_NAMES, SEM_NAMES, XREG_NAMES

REGISTER_NAMES = {*XREG_NAMES, *FREG_NAMES, *DREG_NAMES, *SEM_NAMES}


def local_name(number: str, count: int) -> str:
    """Internal name of the `count`-th definition of numeric label `number` (not exported)."""
    return f"{number}\x02{count}"


class FileLayout:
    """Pass-1 state for one command-line file; re-run from scratch on each relaxation."""

    def __init__(
        self,
        index: int,
        path: str,
        stmts: list[Stmt],
        reporter: Reporter,
        predefined: dict[str, int],
        include_dirs: list[str],
    ) -> None:
        self.index = index
        self.path = path
        self.stmts = stmts
        self.reporter = reporter
        self.predefined = predefined
        self.include_dirs = include_dirs
        self.previous: dict[str, int] | None = None  #: absolute values of the last round
        self.macro_names: tuple[str, ...] = ()  #: for "did you mean" on unknown mnemonics
        self.needs_relaxing = False

    # ---- the walk ----------------------------------------------------------------------------

    def run(self, previous: dict[str, int] | None = None, force_long: bool = False) -> None:
        """Lay out every statement; symbols and chunks are rebuilt from scratch.

        `previous`: absolute symbol values of the last round, to size `li`; `force_long`:
        give every `li` of a not-yet-constant value two words (ends relaxation).
        """
        self.previous = previous
        self.force_long = force_long
        self.needs_relaxing = False
        self.chunks: dict[str, Chunk] = {}
        self.symbols: dict[str, Sym] = {}
        for name, value in self.predefined.items():
            sym = self.symbols[name] = Sym(name)
            sym.value = value
        self.io: list[Sym] = []
        self.counts: dict[str, int] = {}
        self.chunk = self.section(".text")
        table = directives.DIRECTIVES
        for s in self.stmts:
            try:
                kind = s.kind
                if kind == INSN:
                    self.instruction(s)
                elif kind == LABEL:
                    self.label(s, str(s.name))
                elif kind == LOCAL_LABEL:
                    number = s.name.lstrip("0") or "0"
                    count = self.counts.get(number, 0) + 1
                    self.counts[number] = count
                    self.label(s, local_name(number, count))
                elif kind == DIRECTIVE:
                    handler = table.get(s.name)
                    if handler is None:
                        hint = did_you_mean(str(s.name), directives.ALL_NAMES)
                        raise AsmError(f"unknown directive '{shown(s.name)}'{hint}", s.name)
                    s.chunk, s.offset = self.chunk, self.chunk.size
                    handler.layout(s, self)
            except AsmError as e:
                s.plan = False  # encoding skips what could not be laid out
                self.reporter.report(diagnostic(s, e))

    def instruction(self, s: Stmt) -> None:
        """Place an instruction (or pseudo) in .text; its size comes from its plan."""
        plan = s.plan
        if plan is None:
            plan = s.plan = resolve(s.name)
            if plan is None:
                s.plan = False
                raise unknown_mnemonic(s.name, self.macro_names)
        elif plan is False:
            return
        chunk = self.chunk
        offset = chunk.size
        if chunk.kind.name != ".text":
            s.plan = False
            raise AsmError(f"instructions belong in .text, not {chunk.kind.name}", s.name)
        if offset & 7:
            s.plan = False
            raise AsmError(
                "instruction at an offset that is not a multiple of 8 "
                "(add .balign 8 after the data before it)",
                s.name,
            )
        words = plan.words or self.li_size(s)
        s.chunk, s.offset = chunk, offset
        chunk.size = offset + 8 * words

    def li_size(self, s: Stmt) -> int:
        """Words for `li`: exact for constants, else from the last round's addresses."""
        words = 1
        if len(s.args) == 2:
            try:
                words = li_words(s.args[1], self)
            except NotConstant:
                self.needs_relaxing = True
                words = 2
                if self.previous is not None and not self.force_long:
                    with contextlib.suppress(AsmError):
                        words = li_words(s.args[1], PreviousScope(self))
            except AsmError:
                pass  # reported when encoding
        s.extra = words
        return words

    # ---- sections and symbols ----------------------------------------------------------------

    def section(self, name: str) -> Chunk:
        """This file's chunk of section `name` (created on first use)."""
        chunk = self.chunks.get(name)
        if chunk is None:
            chunk = self.chunks[name] = Chunk(SECTIONS[name], self.index)
        return chunk

    def label(self, s: Stmt, name: str) -> None:
        """Define a label at the current place."""
        if name in REGISTER_NAMES:
            message = f"label '{name}' has the name of a register (operands read it as one)"
            self.reporter.report(diagnostic(s, AsmError(message, s.name, "warning")))
        sym = self.define(name, s)
        sym.chunk, sym.offset = self.chunk, self.chunk.size
        sym.kind = "func" if self.chunk.kind.executable else "object"
        s.chunk, s.offset = self.chunk, self.chunk.size

    def define(self, name: str, s: Stmt, variable: bool = False) -> Sym:
        """A fresh definition of `name`; AsmError if it is already defined."""
        if len(name.encode()) > MAX_NAME_BYTES:
            node = s.name if isinstance(s.name, Token) and not s.args else s.args[0]
            raise AsmError(f"name longer than {MAX_NAME_BYTES} bytes (an ELF limit)", node)
        sym = self.symbols.get(name)
        if sym is None:
            sym = self.symbols[name] = Sym(name, s)
        elif sym.defined and not (variable and sym.variable):
            from asm.symbols import definition_note, where

            node = s.name if isinstance(s.name, Token) and not s.args else s.args[0]
            message = f"symbol '{_shown(name)}' is already defined (first defined at {where(sym)})"
            raise AsmError(message, node, "error", definition_note(sym))
        else:
            sym.stmt = s
        sym.variable = variable
        return sym

    # ---- the Scope of pass-1 expressions -----------------------------------------------------

    def symbol(self, name: Token) -> int | Rel:
        sym = self.symbols.get(name)
        if sym is None or not sym.defined:
            raise NotConstant(f"'{_shown(name)}' is not defined before this line", name)
        if sym.chunk is not None:
            return Rel(sym.chunk, sym.offset)
        if sym.value is not None:
            return sym.value
        raise NotConstant(f"'{name}' is not known yet", name)

    def local(self, ref: Token) -> int | Rel:
        return self.symbol(Token("WORD", self.local_ref(ref), 0, ref.line, ref.column))

    def local_ref(self, ref: Token) -> str:
        """Internal name that `1b` / `1f` refers to at this point of the walk."""
        number, direction = ref[:-1].lstrip("0") or "0", ref[-1]
        count = self.counts.get(number, 0)
        if direction == "b":
            if count == 0:
                raise AsmError(f"no label '{number}:' before '{ref}'", ref)
            return local_name(number, count)
        return local_name(number, count + 1)

    def here(self) -> Rel:
        """`.`: the address of the statement being laid out."""
        return Rel(self.chunk, self.chunk.size)

    def sizeof(self, name: Token) -> int:
        sym = self.symbols.get(name)
        if sym is None or sym.io is None:
            raise NotConstant(
                f"'{name}' is not an .input/.output/.weight/.tensor defined before this line", name
            )
        return sym.io.nbytes


class PreviousScope:
    """Absolute values from the previous layout round, for sizing `li`."""

    def __init__(self, layout: FileLayout) -> None:
        self.layout = layout
        self.values: dict[str, int] = layout.previous or {}

    def symbol(self, name: Token) -> int:
        value = self.values.get(name)
        if value is None:
            raise NotConstant(f"'{name}' is not defined", name)
        return value

    def local(self, ref: Token) -> int:
        return self.symbol(Token("WORD", self.layout.local_ref(ref)))

    def sizeof(self, name: Token) -> int:
        return self.layout.sizeof(name)

    def here(self) -> int:
        raise NotConstant("'.' is not known yet")


def _shown(name: str) -> str:
    return name.split("\x02")[0]

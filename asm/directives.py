"""The directive table of layout and encoding: sections and symbols here, data in asm.data,
program I/O and files in asm.tensors (preprocessor directives are asm.preprocess's).

Each directive has a `layout` step (pass 1: size and symbols) and, when it writes bytes, an
`emit` step (pass 2: the bytes, with final symbol values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asm import data, tensors
from asm.diagnostics import AsmError, did_you_mean, shown
from asm.expr import NotConstant, Rel, evaluate, integer
from asm.preprocess import PREPROCESSOR
from asm.sections import USER_SECTIONS
from isa.registers import XREG_NAMES


@dataclass(frozen=True)
class Directive:
    """How one directive is laid out and, if it writes bytes, emitted."""

    layout: Callable[[Any, Any], None]
    emit: Callable[[Any, Any], None] | None = None
    syntax: str = ""


def _names(s: Any, min_count: int = 1) -> list[str]:
    if len(s.args) < min_count:
        raise AsmError(f"'{s.name}' takes symbol names")
    for arg in s.args:
        if type(arg) is tuple or arg.type != "WORD":
            raise AsmError("expected a symbol name", arg)
    return [str(a) for a in s.args]


# ---- sections --------------------------------------------------------------------------------


def _switch_to(name: str) -> Callable[[Any, Any], None]:
    def layout(s: Any, lay: Any) -> None:
        if s.args:
            raise AsmError(f"'{s.name}' takes no operands", s.args[0])
        lay.chunk = lay.section(name)

    return layout


def _section(s: Any, lay: Any) -> None:
    if len(s.args) != 1 or type(s.args[0]) is tuple or s.args[0].type != "WORD":
        raise AsmError(".section takes one section name (" + " ".join(USER_SECTIONS) + ")")
    name = str(s.args[0])
    if name not in USER_SECTIONS:
        hint = did_you_mean(name, USER_SECTIONS)
        raise AsmError(
            f"unknown section '{shown(name)}'{hint} (sections: {' '.join(USER_SECTIONS)})",
            s.args[0],
        )
    lay.chunk = lay.section(name)


# ---- symbols ---------------------------------------------------------------------------------


def _equ(s: Any, lay: Any) -> None:
    if len(s.args) != 2 or type(s.args[0]) is tuple or s.args[0].type != "WORD":
        raise AsmError(f"'{s.name}' takes a name and a value: {s.name} NAME, VALUE")
    name = s.args[0]
    if name in XREG_NAMES:
        lay.reporter.report(_warning(s, f"symbol '{name}' has the name of a register", name))
    sym = lay.define(str(name), s, variable=s.name == ".set")
    sym.chunk, sym.value, sym.expr = None, None, None
    if s.extra is not None:
        sym.value = s.extra
        return
    try:
        value = evaluate(s.args[1], lay)
    except NotConstant:
        sym.expr = s.args[1]
        return
    if isinstance(value, Rel):
        sym.chunk, sym.offset = value.chunk, value.offset
    elif type(value) is int:
        sym.value = value
    else:
        raise AsmError(f"symbol values are integers, not {value!r}", s.args[1])


def _equ_emit(s: Any, em: Any) -> None:
    if s.name == ".set":
        em.assign(str(s.args[0]), integer(s.args[1], em.scope))


def _binding(s: Any, lay: Any) -> None:
    from asm.sections import Sym

    for name in _names(s):
        sym = lay.symbols.get(name)
        if sym is None:
            sym = lay.symbols[name] = Sym(name, s)
        sym.binding = "global" if s.name in (".global", ".globl") else "local"


def _warning(s: Any, message: str, node: Any) -> Any:
    from asm.syntax import diagnostic

    return diagnostic(s, AsmError(message, node, "warning"))


Handler = Callable[[Any, Any], None]
#: name -> (layout, emit or None)
_TABLE: dict[str, tuple[Handler, Handler | None]] = {
    ".text": (_switch_to(".text"), None),
    ".data": (_switch_to(".data"), None),
    ".rodata": (_switch_to(".rodata"), None),
    ".bss": (_switch_to(".bss"), None),
    ".section": (_section, None),
    ".equ": (_equ, None),
    ".set": (_equ, _equ_emit),
    ".global": (_binding, None),
    ".globl": (_binding, None),
    ".local": (_binding, None),
    **data.DIRECTIVES,
    **tensors.DIRECTIVES,
}
DIRECTIVES: dict[str, Directive] = {name: Directive(*pair) for name, pair in _TABLE.items()}

ALL_NAMES: tuple[str, ...] = tuple(sorted({*DIRECTIVES, *PREPROCESSOR}))  #: for "did you mean"

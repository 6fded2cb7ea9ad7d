"""Macros (`.macro NAME params` ... `.endm`) and the text substitution of macro and .irp bodies.

Parameters: `name`, `name=default`, `name:req`, `name:vararg` (takes the rest of the
arguments), separated by commas (or spaces when there is no comma). A call passes arguments
by position or as `name=value`. In the body, `\\name` is replaced by the argument's text,
`\\@` by a counter unique to each expansion and `\\()` by nothing (to end a name: `\\n\\()b`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asm.blocks import Block
from asm.diagnostics import AsmError, Loc
from asm.source import Unit
from asm.syntax import KWARG, source_text

_PARAM = re.compile(r"^([A-Za-z_]\w*)(?::(req|vararg))?(?:\s*=\s*(.*))?$")
_NAME = re.compile(r"^\s*(\.?[A-Za-z_][\w.]*)\s*,?\s*(.*)$")
_REFERENCE = re.compile(r"\\([A-Za-z_]\w*|@|\(\))")


@dataclass
class Param:
    """One macro parameter."""

    name: str
    default: str | None = None
    required: bool = False
    vararg: bool = False


@dataclass
class Macro:
    """A macro definition: its parameters, its body text and where it was written."""

    name: str
    params: list[Param]
    body: Block
    definition: Loc
    path: str
    body_first: int  #: file line of the body's first line


def strip_comment(text: str) -> str:
    """`text` up to a `#` or `;` comment that is not inside a string."""
    quote = False
    for i, c in enumerate(text):
        if c == '"':
            quote = not quote
        elif c in "#;" and not quote:
            return text[:i]
    return text


def define(block: Block, unit: Unit) -> Macro:
    """Parse a `.macro` header; AsmError for a malformed one."""
    match = _NAME.match(strip_comment(block.header))
    if match is None:
        raise AsmError("expected a macro name after .macro")
    name, rest = match[1], match[2].strip()
    pieces = [p.strip() for p in rest.split(",")] if "," in rest else rest.split()
    params: list[Param] = []
    for piece in pieces:
        m = _PARAM.match(piece)
        if m is None:
            raise AsmError(f"malformed macro parameter '{piece}'")
        if any(p.name == m[1] for p in params):
            raise AsmError(f"macro parameter '{m[1]}' is declared twice")
        if params and params[-1].vararg:
            raise AsmError("only the last macro parameter can be :vararg")
        params.append(Param(m[1], m[3], m[2] == "req", m[2] == "vararg"))
    loc = unit.loc(block.line, 1, 1 + len(unit.line_text(block.line).rstrip()))
    return Macro(name, params, block, loc, unit.path, unit.file_line(block.body_first))


def bind(macro: Macro, args: tuple, unit: Unit, line: int) -> dict[str, str]:
    """Parameter name -> argument text for a call with operands `args`."""
    values: dict[str, str] = {}
    position = 0
    for i, arg in enumerate(args):
        if type(arg) is tuple and arg[0] == KWARG:
            name = str(arg[1])
            if not any(p.name == name for p in macro.params):
                raise AsmError(f"macro '{macro.name}' has no parameter '{name}'", arg)
            if name in values:
                raise AsmError(f"argument '{name}' given twice", arg)
            values[name] = source_text(arg[2], unit, line)
            continue
        if position >= len(macro.params):
            raise AsmError(
                f"too many arguments for macro '{macro.name}' ({len(macro.params)} parameters)", arg
            )
        param = macro.params[position]
        if param.vararg:
            values[param.name] = ", ".join(source_text(a, unit, line) for a in args[i:])
            break
        values[param.name] = source_text(arg, unit, line)
        position += 1
    for param in macro.params:
        if param.name not in values:
            if param.required:
                raise AsmError(f"macro '{macro.name}' needs argument '{param.name}'")
            values[param.name] = param.default or ""
    return values


_NESTED_LOOP = re.compile(r"^\s*\.irpc?\s+(\w+)", re.M)


def substitute(body: str, values: dict[str, str], counter: int, what: str) -> str:
    """`body` with every `\\name`, `\\@` and `\\()` replaced; AsmError for unknown names.

    The symbol of an `.irp`/`.irpc` nested in the body is left for that loop to replace, as
    GNU as does (so a macro may contain `.irp r, 1, 2` ... `\\r` ... `.endr`)."""
    inner = set(_NESTED_LOOP.findall(body)) - set(values)

    def replace(match: re.Match) -> str:
        key = match[1]
        if key == "@":
            return str(counter)
        if key == "()":
            return ""
        if key in inner:
            return match[0]
        if key not in values:
            line = body.count("\n", 0, match.start()) + 1
            col = match.start() - (body.rfind("\n", 0, match.start()) + 1) + 1
            where = ("body", line, col, col + len(match[0]))
            raise AsmError(f"'\\{key}' is not a parameter of {what}", where)
        return values[key]

    return _REFERENCE.sub(replace, body) if "\\" in body else body


def substitution_error_place(error: AsmError) -> tuple[int, int, int] | None:
    """(body line, column, end column) of an unknown-parameter error, if it is one."""
    where: Any = error.where
    if type(where) is tuple and len(where) == 4 and where[0] == "body":
        return where[1], where[2], where[3]
    return None

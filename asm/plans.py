"""Instruction plans: how each spelling of a mnemonic is encoded, derived from the ISA table.

A plan is made from an `Instruction`'s syntax string and fields; flags come from
`split_mnemonic`; pseudo-instructions are expanded from the table's text templates (parsed
once with the assembler's own grammar) and `li` from `isa.li_sequence`. Plans are cached per
spelling, so the hot path is a dict lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token

from asm import syntax
from asm.diagnostics import AsmError, did_you_mean, shown
from asm.expr import Scope, integer
from asm.operands import READERS, Context, read_register
from asm.source import Unit
from isa import (
    BY_MNEMONIC,
    PSEUDO_BY_MNEMONIC,
    EncodingError,
    Instruction,
    Kind,
    encode,
    li_sequence,
    split_hi_lo,
    split_mnemonic,
)
from isa.checks import spellings
from isa.encoding import range_text
from isa.table import INSTRUCTIONS

WORD = 8
_MEMORY_PART = re.compile(r"^(\w+)\((\w+)\)$")
LI_MIN, LI_MAX = -(1 << 63), (1 << 64) - 1


@dataclass
class Plan:
    """How to encode one spelling of a mnemonic (a real instruction, a pseudo or `li`)."""

    name: str
    words: int  #: instruction words emitted (0 for `li`: it depends on the value)
    spec: Instruction | None = None
    parts: tuple = ()  #: per written operand: a Field, or (offset Field, base Field)
    flags: dict[str, int] | None = None
    syntax: str = ""
    expansion: tuple = ()  #: pseudo: ((Plan, template operands), ...)
    pseudo_operands: tuple[str, ...] = ()
    readers: tuple = ()  #: per part: (reader, Field), or (None, (Field, Field)) for offset(base)


def _real_plan(name: str, spec: Instruction, flags: frozenset[str]) -> Plan:
    by_name = {f.name: f for f in spec.fields}
    parts: list[Any] = []
    for part in filter(None, (p.strip() for p in spec.syntax.split(","))):
        memory = _MEMORY_PART.match(part.replace(" ", ""))
        parts.append((by_name[memory[1]], by_name[memory[2]]) if memory else by_name[part])
    readers = tuple((None, p) if type(p) is tuple else (READERS[p.kind], p) for p in parts)
    return Plan(name, 1, spec, tuple(parts), {f: 1 for f in flags}, spec.syntax, readers=readers)


def _pseudo_plan(name: str) -> Plan:
    pseudo = PSEUDO_BY_MNEMONIC[name]
    names = tuple(o.name for o in pseudo.operands)
    if name == "li":
        return Plan(name, 0, syntax=pseudo.syntax, pseudo_operands=names)
    text = "\n".join(re.sub(r"\{(\w+)\}", r"__ph_\1", line) for line in pseudo.expansion)
    expansion = []
    for stmt in syntax.parse(Unit(f"<isa pseudo {name}>", text)):
        target = resolve(str(stmt.name))
        if stmt.kind != syntax.INSN or target is None or target.spec is None:
            raise RuntimeError(f"pseudo {name}: bad expansion {pseudo.expansion}")
        expansion.append((target, stmt.args))
    return Plan(
        name,
        len(expansion),
        syntax=pseudo.syntax,
        expansion=tuple(expansion),
        pseudo_operands=names,
    )


_PLANS: dict[str, Plan | None] = {}


def resolve(name: str) -> Plan | None:
    """The plan for a mnemonic as written (flags as suffixes; any case), or None."""
    try:
        return _PLANS[name]
    except KeyError:
        pass
    plan = None
    found = split_mnemonic(name) or split_mnemonic(name.lower())
    if found is not None:
        plan = _real_plan(name, *found)
    elif name.lower() in PSEUDO_BY_MNEMONIC:
        plan = _pseudo_plan(name.lower())
    _PLANS[name] = plan
    return plan


ALL_SPELLINGS: tuple[str, ...] = (
    *sorted({s for spec in INSTRUCTIONS for s in spellings(spec)}),
    *sorted(PSEUDO_BY_MNEMONIC),
)


def unknown_mnemonic(name: Token, macros: Any = ()) -> AsmError:
    """The error for a name that is no instruction, pseudo or macro: say what is close."""
    parts = str(name).split(".")
    for cut in range(len(parts) - 1, 0, -1):
        spec = BY_MNEMONIC.get(".".join(parts[:cut]))
        if spec is not None:
            flags = ", ".join(f.name for f in spec.flags) or "none"
            bad = ".".join(parts[cut:])
            return AsmError(f"'{spec.mnemonic}' has no flag '{bad}' (its flags: {flags})", name)
    hint = did_you_mean(str(name), [*ALL_SPELLINGS, *macros])
    return AsmError(f"unknown instruction '{shown(name)}'{hint}", name)


def encode_words(plan: Plan, args: tuple, ctx: Context, reserved: int = 0) -> list[int]:
    """The instruction words for a statement with operands `args` at address ctx.pc.

    `reserved`: the words layout gave a `li` (its long form is used if the shortest would
    be shorter, which happens only when relaxation had to give up).
    """
    if plan.spec is not None:
        return [_encode(plan, args, ctx)]
    _check_count(plan, args, len(plan.pseudo_operands))
    if not plan.expansion:
        return _li(args, ctx, reserved)
    words, pc = [], ctx.pc
    for k, (target, template) in enumerate(plan.expansion):
        ctx.pc = pc + WORD * k
        words.append(_encode(target, tuple(_fill(t, args, plan) for t in template), ctx))
    ctx.pc = pc
    return words


def _fill(template: Any, args: tuple, plan: Plan) -> Any:
    if type(template) is Token and template.startswith("__ph_"):
        return args[plan.pseudo_operands.index(template[5:])]
    if type(template) is tuple:
        return tuple(_fill(t, args, plan) for t in template)
    return template


def _check_count(plan: Plan, args: tuple, expected: int) -> None:
    if len(args) != expected:
        what = f" ({plan.syntax})" if plan.syntax else ""
        raise AsmError(
            f"'{plan.name}' takes {expected} operand{'s' * (expected != 1)}{what}, got {len(args)}",
            args[expected] if len(args) > expected else None,
        )


def _encode(plan: Plan, args: tuple, ctx: Context) -> int:
    readers = plan.readers
    if len(args) != len(readers):
        _check_count(plan, args, len(readers))
    values = plan.flags.copy() if plan.flags else {}
    for (read, f), node in zip(readers, args):  # noqa: B905 - lengths checked above
        if read is None:  # offset(base)
            offset, base = _memory(node)
            values[f[0].name] = READERS[f[0].kind](offset, f[0], ctx)
            values[f[1].name] = READERS[f[1].kind](base, f[1], ctx)
        else:
            values[f.name] = read(node, f, ctx)
    try:
        return encode(plan.spec, values)
    except EncodingError as e:
        raise _out_of_range(plan, args, values, e) from None


def _out_of_range(plan: Plan, args: tuple, values: dict, error: EncodingError) -> AsmError:
    """The located error for an operand that `isa.encode` refused."""
    for part, node in zip(plan.parts, args, strict=True):
        fields, nodes = (part, _memory(node)) if type(part) is tuple else ((part,), (node,))
        for f, n in zip(fields, nodes, strict=True):
            if f.name == error.field:
                return AsmError(f"{f.name} = {values[f.name]} is out of range ({range_text(f)})", n)
    return AsmError(str(error))


def _memory(node: Any) -> tuple[Any, Any]:
    """(offset, base) of `offset(base)`, or of `(base)` with offset 0."""
    if type(node) is tuple:
        if node[0] == syntax.MEM:
            return node[1], node[2]
        if node[0] == syntax.PAREN:
            return Token("NUMBER", "0"), node[2]
    raise AsmError("expected a memory operand such as 8(sp) or (a0)", node)


def _li(args: tuple, ctx: Context, reserved: int) -> list[int]:
    rd = read_register(args[0], Kind.XREG)
    value = li_value(args[1], ctx.scope)
    sequence = li_sequence(value)
    if reserved and len(sequence) != reserved:
        if len(sequence) > reserved:
            raise AsmError("li value changed after layout", args[1])
        sequence = list(zip(("lui", "addi"), split_hi_lo(value), strict=True))
    words, rs1 = [], 0
    for mnemonic, imm in sequence:
        spec = BY_MNEMONIC[mnemonic]
        values = {"rd": rd, "imm": imm} if mnemonic == "lui" else {"rd": rd, "rs1": rs1, "imm": imm}
        words.append(encode(spec, values))
        rs1 = rd  # the addi after a lui adds to the upper word it loaded
    return words


def li_value(node: Any, scope: Scope) -> int:
    """The value of `li`'s operand: any 64-bit integer, signed or unsigned."""
    value = integer(node, scope)
    if not LI_MIN <= value <= LI_MAX:
        raise AsmError(f"li value {value} does not fit 64 bits ({LI_MIN}..{LI_MAX})", node)
    return value


def li_words(node: Any, scope: Scope) -> int:
    """How many words `li` needs for this operand, if it is a constant already."""
    return len(li_sequence(li_value(node, scope)))

"""Operand readers, one per `isa.Kind`: a syntax node -> the value of its instruction field.

Registers by name (isa.registers, ABI names included), immediates and pc-relative targets as
constant expressions, fp32 immediates rounded to nearest even (NaN always the canonical
0x7fc00000), data types, engines and CSRs by name. Each error names what was expected.
"""

from __future__ import annotations

from typing import Any, Protocol

from lark import Token

from asm.diagnostics import AsmError, did_you_mean, shown
from asm.expr import Rel, Scope, evaluate, integer
from isa import Field, Kind
from isa import dtypes as isa_dtypes
from isa.encoding import range_text
from isa.registers import (
    CSR_BY_NAME,
    DREG_NAMES,
    ENGINE_NAMES,
    FREG_NAMES,
    SEM_NAMES,
    XREG_NAMES,
)

CANONICAL_NAN = 0x7FC0_0000
_U64 = 1 << 64


class Context(Protocol):
    """What encoding an operand needs: symbols, the instruction's address, warnings."""

    scope: Scope
    pc: int

    def warn(self, message: str, where: Any) -> None: ...


_REGISTERS = {
    Kind.XREG: ("an integer register", XREG_NAMES),
    Kind.FREG: ("an fp32 register", FREG_NAMES),
    Kind.DREG: ("a tile descriptor register", DREG_NAMES),
    Kind.SEM: ("a semaphore", SEM_NAMES),
}


def read_register(node: Any, kind: Kind) -> int:
    """Register number of a register operand, with a helpful error otherwise."""
    what, names = _REGISTERS[kind]
    if node.__class__ is Token and node.type == "WORD":
        number = names.get(node)
        if number is not None:
            return number
        for other, (other_what, other_names) in _REGISTERS.items():
            if other is not kind and node in other_names:
                raise AsmError(
                    f"expected {what}, got {other_what[other_what.index(' ') + 1 :]} '{node}'", node
                )
        hint = did_you_mean(str(node), names)
        raise AsmError(f"unknown register '{shown(node)}' (expected {what}){hint}", node)
    raise AsmError(f"expected {what}, got '{_shown(node)}'", node)


def _shown(node: Any) -> str:
    return str(node) if type(node) is not tuple else "an expression"


def _read_reg(node: Any, f: Field, ctx: Context) -> int:
    return read_register(node, f.kind)


def _read_imm(node: Any, f: Field, ctx: Context) -> int:
    return integer(node, ctx.scope)


def _read_offset(node: Any, f: Field, ctx: Context) -> int:
    target = integer(node, ctx.scope)
    offset = (target - ctx.pc + (1 << 63)) % _U64 - (1 << 63)
    if not f.fits(offset):
        raise AsmError(
            f"target {target & (_U64 - 1):#x} is {offset} bytes from this "
            f"instruction; the offset must be {range_text(f)}",
            node,
        )
    return offset


def _read_fimm(node: Any, f: Field, ctx: Context) -> int:
    value = evaluate(node, ctx.scope, floats=True)
    if isinstance(value, Rel):
        raise AsmError("expected an fp32 constant, not a label", node)
    bits = float_bits(value, isa_dtypes.by_name("fp32"), node, ctx)
    return CANONICAL_NAN if bits & 0x7FFF_FFFF > 0x7F80_0000 else bits


def float_bits(value: float | int, dtype: Any, node: Any, ctx: Context) -> int:
    """The bit pattern of `value` rounded to a float dtype; overflow is an error."""
    try:
        data = isa_dtypes.scalar_bytes(value, dtype)
    except (isa_dtypes.DTypeError, OverflowError) as e:
        raise AsmError(str(e), node) from None
    bits = int.from_bytes(data, "little")
    if value and bits & ~(1 << (8 * len(data) - 1)) == 0:
        ctx.warn(f"{value!r} underflows to zero in {dtype.name}", node)
    return bits


def _read_dtype(node: Any, f: Field, ctx: Context) -> int:
    if type(node) is tuple or node.type != "WORD":
        raise AsmError(f"expected a data type ({', '.join(isa_dtypes.NAMES)})", node)
    try:
        return isa_dtypes.by_name(str(node)).code
    except isa_dtypes.DTypeError as e:
        raise AsmError(str(e), node) from None


def _read_engine(node: Any, f: Field, ctx: Context) -> int:
    if type(node) is not tuple and node.type == "WORD" and node in ENGINE_NAMES:
        return ENGINE_NAMES[node]
    hint = did_you_mean(str(node), ENGINE_NAMES) if type(node) is not tuple else ""
    raise AsmError(f"expected an engine ({', '.join(ENGINE_NAMES)}){hint}", node)


def _read_csr(node: Any, f: Field, ctx: Context) -> int:
    if type(node) is not tuple and node.type == "WORD":
        csr = CSR_BY_NAME.get(node)
        if csr is not None:
            return csr.number
        try:
            return integer(node, ctx.scope)
        except AsmError:
            hint = did_you_mean(str(node), CSR_BY_NAME)
            raise AsmError(f"unknown CSR '{shown(node)}'{hint}", node) from None
    return integer(node, ctx.scope)


READERS = {
    Kind.XREG: _read_reg,
    Kind.FREG: _read_reg,
    Kind.DREG: _read_reg,
    Kind.SEM: _read_reg,
    Kind.IMM: _read_imm,
    Kind.FIMM: _read_fimm,
    Kind.OFFSET: _read_offset,
    Kind.DTYPE: _read_dtype,
    Kind.ENGINE: _read_engine,
    Kind.CSR: _read_csr,
}

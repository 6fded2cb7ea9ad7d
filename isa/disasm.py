"""Disassembly text, derived from each instruction's syntax string."""

from __future__ import annotations

import re
import struct

import numpy as np

from isa import dtypes
from isa.encoding import Inst
from isa.registers import CSR_BY_NUMBER, ENGINES, XREG_ABI
from isa.spec import Field, Kind

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def fimm_text(bits: int) -> str:
    """Shortest decimal text that reads back as the same fp32 (nan / inf spelled out)."""
    value = np.float32(struct.unpack("<f", struct.pack("<I", bits & 0xFFFF_FFFF))[0])
    return str(value)


def operand_text(f: Field, value: int, pc: int) -> str:
    """How the assembler writes `value` for field `f` at address `pc`."""
    match f.kind:
        case Kind.XREG:
            return XREG_ABI[value]
        case Kind.FREG:
            return f"f{value}"
        case Kind.DREG:
            return f"d{value}"
        case Kind.SEM:
            return f"sem{value}"
        case Kind.OFFSET:
            return f"{(pc + value) & (2**64 - 1):#x}"
        case Kind.DTYPE:
            return dtypes.by_code(value).name
        case Kind.ENGINE:
            return ENGINES[value]
        case Kind.CSR:
            csr = CSR_BY_NUMBER.get(value)
            return csr.name if csr else f"{value:#x}"
        case Kind.FIMM:
            return fimm_text(value)
        case _:
            return f"{value:#x}" if abs(value) >= 4096 else str(value)


def mnemonic_text(inst: Inst) -> str:
    """The mnemonic with the instruction's set flags as suffixes, in table order."""
    flags = [
        f.name
        for f, v in zip(inst.spec.fields, inst.values, strict=True)
        if f.kind is Kind.FLAG and v
    ]
    return ".".join([inst.spec.mnemonic, *flags])


def disassemble(inst: Inst, pc: int = 0) -> str:
    """Assembly text for a decoded instruction located at `pc` (branch targets are absolute)."""
    values = inst.as_dict()
    fields = {f.name: f for f in inst.spec.fields}
    operands = _NAME.sub(lambda m: operand_text(fields[m[0]], values[m[0]], pc), inst.spec.syntax)
    name = mnemonic_text(inst)
    return f"{name} {operands}" if operands else name

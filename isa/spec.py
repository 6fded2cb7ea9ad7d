"""The data types of the instruction table: operand fields, instructions, pseudo-instructions.

An instruction word is 64 bits, little-endian in memory. Every instruction names its operand
fields (kind and bit range) and its fixed bits (opcode, function code); every bit that is
neither is reserved and must be zero. `match`/`mask` are derived from that, as in Spike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

WORD_BITS = 64
WORD_BYTES = 8
WORD_MASK = (1 << WORD_BITS) - 1


class Kind(StrEnum):
    """What an operand field holds, which decides how it is written and checked."""

    XREG = "xreg"  #: integer register x0..x31 (ABI names accepted)
    FREG = "freg"  #: fp32 register f0..f31
    DREG = "dreg"  #: tile descriptor register d0..d31
    SEM = "sem"  #: semaphore sem0..sem31
    IMM = "imm"  #: integer immediate
    FIMM = "fimm"  #: fp32 immediate, stored as its IEEE bit pattern
    OFFSET = "offset"  #: pc-relative byte offset; written as the target address or label
    DTYPE = "dtype"  #: data-type code (isa.dtypes)
    ENGINE = "engine"  #: engine code (isa.registers.ENGINES)
    CSR = "csr"  #: CSR number or name
    FLAG = "flag"  #: one-bit modifier, written as a mnemonic suffix (`mm.acc`)


REGISTER_KINDS = frozenset({Kind.XREG, Kind.FREG, Kind.DREG, Kind.SEM})


@dataclass(frozen=True)
class Field:
    """One operand field of an instruction word."""

    name: str
    kind: Kind
    lo: int
    width: int
    signed: bool = False
    min: int | None = None  #: legal range; defaults to what `width`/`signed` allow
    max: int | None = None
    align: int = 1  #: the value must be a multiple of this (branch offsets: 8)

    @property
    def bits(self) -> int:
        """Mask of the bits this field occupies in the word."""
        return ((1 << self.width) - 1) << self.lo

    @property
    def lo_value(self) -> int:
        """Smallest legal value."""
        if self.min is not None:
            return self.min
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def hi_value(self) -> int:
        """Largest legal value."""
        if self.max is not None:
            return self.max
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    def fits(self, value: int) -> bool:
        """Whether `value` is a legal operand for this field."""
        return self.lo_value <= value <= self.hi_value and value % self.align == 0

    def insert(self, value: int) -> int:
        """`value` placed in its bits (two's complement for signed fields)."""
        return (value & ((1 << self.width) - 1)) << self.lo

    def extract(self, word: int) -> int:
        """This field's value in `word`, sign-extended if signed."""
        raw = (word >> self.lo) & ((1 << self.width) - 1)
        if self.signed and raw >> (self.width - 1):
            raw -= 1 << self.width
        return raw


@dataclass(frozen=True)
class Instruction:
    """One row of the instruction table."""

    mnemonic: str
    engine: str  #: one of isa.registers.CATEGORIES
    group: str  #: manual section, e.g. "Integer ALU"
    fields: tuple[Field, ...]
    fixed: tuple[tuple[int, int, int], ...]  #: (lo, width, value): opcode and function bits
    syntax: str  #: operand layout, e.g. "rd, offset(rs1)"; names are field names
    summary: str
    semantics: str
    traps: tuple[str, ...] = ()
    match: int = field(init=False)
    mask: int = field(init=False)
    field_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        match = mask = 0
        for lo, width, value in self.fixed:
            match |= value << lo
            mask |= ((1 << width) - 1) << lo
        operand_bits = 0
        for f in self.fields:
            operand_bits |= f.bits
        # Reserved bits (neither operand nor fixed) must be zero: they join the mask.
        object.__setattr__(self, "match", match)
        object.__setattr__(self, "mask", WORD_MASK & ~operand_bits)
        object.__setattr__(self, "field_index", {f.name: i for i, f in enumerate(self.fields)})

    @property
    def opcode(self) -> int:
        """The primary opcode, bits 7..0."""
        return self.match & 0xFF

    @property
    def flags(self) -> tuple[Field, ...]:
        """The one-bit modifier fields, written as mnemonic suffixes."""
        return tuple(f for f in self.fields if f.kind is Kind.FLAG)

    @property
    def operands(self) -> tuple[Field, ...]:
        """The fields written as operands, in syntax order."""
        by_name = {f.name: f for f in self.fields}
        return tuple(by_name[name] for name in syntax_names(self.syntax))

    def field(self, name: str) -> Field:
        """The field called `name`."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.mnemonic} has no field {name!r}")


@dataclass(frozen=True)
class PseudoOperand:
    """An operand of a pseudo-instruction: a name and the kind of value it takes."""

    name: str
    kind: Kind


@dataclass(frozen=True)
class Pseudo:
    """A pseudo-instruction: assembler syntax that expands to real instructions.

    `expansion` holds assembly lines with `{operand}` placeholders; `li` and `la`, whose
    shortest expansion depends on the value, name a function in isa.pseudo instead.
    """

    mnemonic: str
    syntax: str
    operands: tuple[PseudoOperand, ...]
    expansion: tuple[str, ...]
    summary: str


def syntax_names(syntax: str) -> list[str]:
    """Operand names in a syntax string, in order: "rd, imm(rs1)" -> [rd, imm, rs1]."""
    names: list[str] = []
    for part in filter(None, (p.strip() for p in syntax.split(","))):
        if "(" in part:
            outer, inner = part.rstrip(")").split("(")
            names += [outer.strip(), inner.strip()]
        else:
            names.append(part)
    return names
